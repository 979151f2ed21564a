"""DESIGN.md's validity rules, for every graded item of every assignment:
the reference earns full points on three seeds, the blank release earns none,
every mutant (a plausible mistake) loses points, and a differently written
correct solution earns full points."""
from __future__ import annotations

import re

import pytest

from tests.kit import ASSIGNMENTS, SEEDS, cases, conventions, get_assignment, grade, reference_cells, release_cells

ITEMS = [it.id for hw in ASSIGNMENTS for it in get_assignment(hw).items]


def _param(table: int):
    out = []
    for hw in ASSIGNMENTS:
        for item, named in cases(hw)[table].items():
            for name in named:
                out.append(pytest.param(hw, item, name, id=f"{item}:{name}"))
    return out


@pytest.mark.parametrize("hw", ASSIGNMENTS)
@pytest.mark.parametrize("seed", SEEDS)
def test_reference_earns_full_points(hw, seed):
    report = grade(reference_cells(hw), hw, seed=seed)
    lost = [f"{r.id}: {r.points}/{r.max_points} ({r.reason})" for r in report.items if r.points < r.max_points]
    assert not lost, "\n".join(lost)
    assert report.total == get_assignment(hw).max_points


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_blank_release_earns_nothing(hw):
    report = grade(release_cells(hw), hw)
    earned = [f"{r.id}: {r.points} ({r.reason})" for r in report.items if r.points > 0]
    assert not earned, "\n".join(earned)
    assert all("not implemented" in r.reason or "NotImplementedError" in r.reason for r in report.items)
    # every reason names the function (or class) of the notebook it is about
    defined = {m for cell in release_cells(hw) for m in re.findall(r"^\s*(?:def|class) (\w+)", cell, re.M)}
    unnamed = [f"{r.id}: {r.reason}" for r in report.items
               if not any(f"`{name}`" in r.reason or f"{name}(" in r.reason for name in defined)]
    assert not unnamed, "\n".join(unnamed)


@pytest.mark.parametrize("hw,item,name", _param(0))
def test_mutant_loses_points(hw, item, name):
    code = cases(hw)[0][item][name]
    r = grade(reference_cells(hw) + [code], hw, items=[item]).items[0]
    assert r.points < r.max_points, f"mutant '{name}' earned full points: {r.reason}"
    assert r.reason and "all checks passed" not in r.reason


@pytest.mark.parametrize("hw,item,name", _param(1))
def test_alternative_solution_earns_full_points(hw, item, name):
    code = cases(hw)[1][item][name]
    r = grade(reference_cells(hw) + [code], hw, items=[item]).items[0]
    assert r.points == r.max_points, f"correct alternative '{name}' lost points: {r.reason}"


@pytest.mark.parametrize("item", ITEMS)
def test_every_item_has_three_mutants_and_an_alternative(item):
    hw = item.split(".")[0]
    mutants, alternatives = cases(hw)
    assert len(mutants.get(item, {})) >= 3, f"{item} needs at least three mutants"
    assert len(alternatives.get(item, {})) >= 1, f"{item} needs a differently written correct solution"


def _conventions():
    return [pytest.param(hw, item, name, id=f"{item}:{name}")
            for hw in ASSIGNMENTS for item, named in conventions(hw).items() for name in named]


@pytest.mark.parametrize("hw,item,name", _conventions())
def test_another_convention_loses_only_its_own_part(hw, item, name):
    """DESIGN.md: where a widely used library or course does it another defensible
    way, the difference costs one small part whose reason names both conventions."""
    case = conventions(hw)[item][name]
    r = grade(reference_cells(hw) + [case["code"]], hw, items=[item]).items[0]
    assert r.points < r.max_points, f"convention variant '{name}' earned full points: {r.reason}"
    assert r.points >= r.max_points - case["loses"] - 1e-9, \
        f"convention variant '{name}' lost {r.max_points - r.points:g} points, more than its part ({case['loses']:g}): {r.reason}"
    assert case["says"] in r.reason, f"the reason does not name the convention ({case['says']!r}): {r.reason}"
