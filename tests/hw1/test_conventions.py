"""Issue 13 for HW1: a convention costs only its own part, and one wrong case does not
zero a function.

tests/test_validity.py grades every convention variant (``CONVENTIONS`` in
``tests/hw1/cases_*.py``) through the real grading path: it loses something, no more
than its ``loses``, and its reason says ``says``. Here the same variants run in this
process, probe then judge, so the test can see the parts: the parts that fail are the
variant's convention part and nothing else, ``loses`` is that part's share of the item,
and the reason names both conventions. Every convention part an HW1 judge has is
covered by a variant. And a function that is wrong in one case only keeps the points
of its other cases."""
from __future__ import annotations

import functools
import importlib
import re

import numpy as np
import pytest

from autograder import notebook as nbmod
from autograder.core import DEFAULT_SEED, Checker, get_assignment
from autograder.probes.runtime import Namespace
from tests.forked import load_definitions
from tests.kit import ROOT, reference_cells

ASSIGNMENT = get_assignment("hw1")


def _variants() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for f in sorted((ROOT / "tests" / "hw1").glob("cases_*.py")):
        mod = importlib.import_module(f"tests.hw1.{f.stem}")
        for item, named in getattr(mod, "CONVENTIONS", {}).items():
            out.setdefault(item, {}).update(named)
    return out


VARIANTS = _variants()


def _namespace(extra: str = "") -> dict:
    ns: dict = {"__name__": "__submission__"}
    cells = reference_cells("hw1") + ([extra] if extra else [])
    load_definitions(nbmod.extract(cells).snippets, ns)
    return ns


def _judge(item_id: str, ns: dict, seed: int = DEFAULT_SEED) -> Checker:
    item = ASSIGNMENT.item(item_id)
    out = item.probe(Namespace(ns, item.give(seed) if item.give else None), seed)
    ck = Checker(item.points)
    item.judge(out, seed, ck)
    return ck


@functools.lru_cache(maxsize=None)
def _reference_parts(item_id: str) -> tuple[tuple[str, float], ...]:
    ck = _judge(item_id, _namespace())
    assert all(ok for _, _, ok, _ in ck.parts), item_id
    return tuple((name, w) for name, w, _, _ in ck.parts)


def _share(item_id: str, part: str) -> float:
    parts = _reference_parts(item_id)
    return ASSIGNMENT.item(item_id).points * sum(w for n, w in parts if part in n) / sum(w for _, w in parts)


@pytest.mark.parametrize("item_id,name", [(i, n) for i, named in VARIANTS.items() for n in named],
                         ids=lambda v: str(v))
def test_a_convention_variant_fails_its_own_part_only(item_id, name):
    case = VARIANTS[item_id][name]
    ck = _judge(item_id, _namespace(case["code"]))
    failed = [(n, msg) for n, _, ok, msg in ck.parts if not ok]
    assert failed, f"{name}: no part failed"
    others = sorted({n for n, _ in failed if case["part"] not in n})
    assert not others, f"{name}: parts other than its convention part failed: {others}"
    share = _share(item_id, case["part"])
    assert share <= case["loses"] <= share + 0.03, f"{name}: 'loses' is {case['loses']}, its part is worth {share:.3f}"
    reason = ck.result()[1]
    for word in case["names"]:
        assert word in reason, f"{name}: the reason does not name {word!r}: {reason}"


def test_every_convention_part_has_a_variant():
    for item in ASSIGNMENT.items:
        parts = {n for n, _ in _reference_parts(item.id) if "(convention" in n}
        covered = {n for n in parts for case in VARIANTS.get(item.id, {}).values() if case["part"] in n}
        assert parts == covered, f"{item.id}: convention parts without a variant: {sorted(parts - covered)}"


# --------------------------------------------------------------------------
# Partial credit inside a function.


def _spoil(value):
    """A wrong value of the same kind (numbers moved by one, a string changed)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float, np.floating, np.integer)):
        return value + 1.0
    if isinstance(value, np.ndarray):
        return value + 1.0 if value.dtype.kind in "fiu" else value
    if isinstance(value, str):
        return value + "?"
    if isinstance(value, dict):
        return {k: _spoil(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_spoil(v) for v in value)
    return value


def _names(fn: str, part: str) -> bool:
    """Whether a part's name names the function (`fn` or `fn(...)`)."""
    return re.search(f"`{re.escape(fn)}[`(]", part) is not None


def _graded_functions():
    out = []
    for item in ASSIGNMENT.items:
        parts = _reference_parts(item.id)
        for fn in item.functions:
            if sum(bool(_names(fn, n)) for n, _ in parts) >= 2:  # a function checked in several cases
                out.append(pytest.param(item.id, fn, id=f"{item.id}:{fn}"))
    return out


@pytest.mark.parametrize("item_id,fn", _graded_functions())
def test_one_wrong_case_does_not_zero_a_function(item_id, fn):
    """The function answers wrongly on its first call only: a part of it fails, and the
    other cases of the same function still earn their share."""
    ns = _namespace()
    original, calls = ns[fn], []

    def first_call_wrong(*args, **kwargs):
        calls.append(1)
        value = original(*args, **kwargs)
        return _spoil(value) if len(calls) == 1 else value

    ns[fn] = first_call_wrong
    ck = _judge(item_id, ns)
    mine = [(n, ok) for n, _, ok, _ in ck.parts if _names(fn, n)]
    assert any(not ok for _, ok in mine), f"{fn}: the spoiled first call went unnoticed"
    assert any(ok for _, ok in mine), f"{fn}: one wrong case zeroed every part of the function"
    points = ck.result()[0]
    assert 0 < points < ASSIGNMENT.item(item_id).points
