"""Test distribution over pytest-xdist workers (`make test` runs `pytest -n auto --dist loadgroup`).

Tests of one module share module-scoped fixtures and caches (an nbgrader course, a
graded batch, trained models), so each module runs on one worker, except the
modules whose tests are independent gradings, which spread over all workers, and
the nbgrader tests, which share one autograded course per assignment and are
grouped per assignment.
Without xdist the marks do nothing.

Every process the tests start (notebook kernels, nbgrader, graders) uses one BLAS/
OpenMP thread: the workers already fill the cores, and torch's small convolutions
run many times slower when two multi-threaded processes share two cores."""
from __future__ import annotations

import os

import pytest

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

SPREAD = {"test_validity.py", "test_notebooks_run.py"}
# Modules whose shared fixture is built per assignment: one group per assignment.
PER_ASSIGNMENT = {"test_nbgrader.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        if name in SPREAD:
            continue
        group = str(item.path.relative_to(config.rootpath))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if name in PER_ASSIGNMENT and "hw" in params:
            group += "::" + params["hw"]
        item.add_marker(pytest.mark.xdist_group(group))
