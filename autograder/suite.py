"""Each homework's graders as a pytest suite, one test per graded item.

    pytest autograder/hw1 [--submission path/to/hw1.ipynb] [--seed N]

Without ``--submission`` the suite grades the reference solution (the source
notebook), which must pass every test. A test fails with the item's one-line
reason when the submission earns less than the item's points. These tests call the
same items as the hidden-test cells, ``python -m autograder grade`` and
``grade-all``: the grading logic is written once, in the item's probe and judge.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from .core import DEFAULT_SEED, get_assignment

ROOT = Path(__file__).resolve().parents[1]


def make_test(hw: str):
    """A parametrized pytest test over the items of ``hw``, for a test module."""
    ids = [it.id for it in get_assignment(hw).items]

    @pytest.fixture(scope="module")
    def report(request):
        from .grading import grade_cells, grade_notebook
        from . import notebook as nbmod

        path = request.config.getoption("--submission")
        seed = request.config.getoption("--seed") or DEFAULT_SEED
        if path:
            return grade_notebook(path, hw, seed=seed)
        from .notebooks import build

        return grade_cells(nbmod.code_cells(build(hw)[1]), hw, seed=seed)

    @pytest.mark.parametrize("item", ids)
    def test_item(report, item):
        r = report.item(item)
        assert r.points >= r.max_points, f"{r.points:g} / {r.max_points:g} points: {r.reason}"

    return report, test_item
