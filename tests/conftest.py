"""Test distribution over pytest-xdist workers (`make test` runs `pytest -n auto --dist loadgroup`).

Tests of one module share module-scoped fixtures and caches (an nbgrader course, a
graded batch, trained models), so each module runs on one worker, except the
modules whose tests are independent gradings: those spread over all workers.
Without xdist the marks do nothing."""
from __future__ import annotations

import pytest

SPREAD = {"test_validity.py", "test_notebooks_run.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        if name not in SPREAD:
            item.add_marker(pytest.mark.xdist_group(str(item.path.relative_to(config.rootpath))))
