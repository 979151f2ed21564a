"""Test distribution over pytest-xdist workers (`make test` runs `pytest -n auto --dist loadgroup`).

Tests of one module share module-scoped fixtures and caches (an nbgrader course, a
graded batch, trained models), so each module runs on one worker, except the
modules whose tests are independent gradings, which spread over all workers, and
the nbgrader tests, which share one autograded course per assignment and are
grouped per assignment.
Without xdist none of this applies.

Every process the tests start (notebook kernels, nbgrader, graders) uses one BLAS/
OpenMP thread: the workers already fill the cores, and torch's small convolutions
run many times slower when two multi-threaded processes share two cores."""
from __future__ import annotations

import os
import re

import pytest

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

SPREAD = {"test_validity.py", "test_notebooks_run.py"}
# Modules whose shared fixture is built per assignment: one group per assignment.
PER_ASSIGNMENT = {"test_nbgrader.py"}


def group_of(nodeid: str) -> str:
    """The unit a worker runs whole: the module, but each test of a SPREAD module
    alone, and one unit per assignment for PER_ASSIGNMENT modules."""
    path = nodeid.split("::", 1)[0]
    name = path.rsplit("/", 1)[-1]
    if name in SPREAD:
        return nodeid
    if name in PER_ASSIGNMENT:
        m = re.search(r"\[(?:.*-)?(hw\d+)(?:-.*)?\]$", nodeid)
        if m:
            return f"{path}::{m.group(1)}"
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's own `--dist loadgroup` does not group with pytest 9.2 (the
    group suffix it adds to node ids is not seen by its scheduler), so the kit
    schedules by scope itself: LoadScopeScheduling with the scopes above."""
    from xdist.scheduler import LoadScopeScheduling

    class KitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return KitScheduling(config, log)
