"""Every source notebook runs top to bottom in grading mode (what nbgrader does
before its hidden-test cells): no cell raises and no sanity check prints FAIL on
the reference solution, no cell shows a bare value and every sanity-check cell prints
PASS/FAIL lines. The hidden-test cells are left out here: the graders are
tested item by item in test_validity.py and end to end in test_nbgrader.py."""
from __future__ import annotations


import pytest

from tests.kit import ASSIGNMENTS, ROOT, get_assignment

from tools.run_notebook import run


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_source_notebook_runs_in_grading_mode(hw):
    path = ROOT / "source" / hw / get_assignment(hw).notebook
    r = run(path, skip_hidden=True, timeout=300)
    assert not r["errors"], "\n".join(r["errors"])
    assert not r["fails"], "\n".join(r["fails"])
    assert not r["bare"], "\n".join(r["bare"])        # sanity cells print PASS/FAIL, never a bare True
    assert not r["silent"], "\n".join(r["silent"])
    print(f"{hw}: {r['seconds']:.1f} s, slowest cells {r['slowest']}")
