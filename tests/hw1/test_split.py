"""HW1's items are split into probes (``autograder/probes/hw1``, beside student code)
and judges (``autograder/hw1``): the probes import no judge and no torch, every item
has its probe, and a judge never raises on what a (possibly hostile) child returns,
and its reasons name the student's function, never the grader's internals."""
from __future__ import annotations

import ast
import functools
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.core import Checker, get_assignment
from autograder.probes.runtime import Bad, Namespace
from tests.kit import ROOT, reference_cells

PROBE_DIR = ROOT / "autograder" / "probes" / "hw1"
ITEMS = get_assignment("hw1").items
ODD_SEED = 918273  # a seed no reason may show


def test_probes_import_without_judges_or_torch():
    code = ("import sys, autograder.probes.hw1 as p; "
            "bad = [m for m in sys.modules if m.startswith(('autograder.core', 'autograder.grading', "
            "'autograder.sandbox', 'autograder.hw'))]; "
            "print(len(p.PROBES), bad, 'torch' in sys.modules, 'sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(ITEMS)), "[]", "False", "False"]


def test_every_item_has_its_probe_in_the_registry():
    from autograder.probes.hw1 import PROBES

    assert set(PROBES) == {it.id for it in ITEMS}
    for it in ITEMS:
        assert it.probe is PROBES[it.id], it.id
        assert it.probe.__module__.startswith("autograder.probes.hw1."), it.id
        assert it.judge.__module__.startswith("autograder.hw1."), it.id


ALLOWED_TOP = ("numpy", "autograder.probes")


@pytest.mark.parametrize("path", sorted(PROBE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_probe_modules_import_only_numpy_and_probes(path):
    """Rule 2 (HW1: NumPy only, even inside functions) and rule 9 (no judge module)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: .x is autograder.probes.hw1.x, ..x is autograder.probes.x
                assert node.level <= 2, f"{path.name}: a relative import leaves autograder.probes"
                continue
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            ok = top in sys.stdlib_module_names or name == "numpy" or name.startswith(ALLOWED_TOP)
            assert ok, f"{path.name}: imports {name}"


# --------------------------------------------------------------------------
# Judges against odd outputs.


@functools.lru_cache(maxsize=None)
def _reference_namespace() -> dict:
    from autograder import notebook as nbmod
    from tests.forked import load_definitions

    namespace: dict = {"__name__": "__submission__"}
    load_definitions(nbmod.extract(reference_cells("hw1")).snippets, namespace)
    return namespace


@functools.lru_cache(maxsize=None)
def _reference_out(item_id: str, seed: int):
    item = next(it for it in ITEMS if it.id == item_id)
    given = item.give(seed) if item.give else None  # what the judge sends the probe (pooling: conv outputs)
    return item.probe(Namespace(_reference_namespace(), given), seed)


GARBAGE = [
    None, "a string", True, 0, 1e308, float("nan"), float("-inf"),
    np.array(3.0), np.array("text"), np.array(["a", "b"]), np.zeros((2, 2), dtype=complex),
    np.full((3,), np.nan), np.zeros((0,)), np.zeros((1, 1, 1, 1, 1)), np.array([True, False]),
    [1, "a"], (None,), {"k": 1}, {("t", 1): [2]}, Bad("error", "RuntimeError in `f`"), Bad("type", "an object"),
]


def _leaves_replaced(value, pick):
    if isinstance(value, dict):
        return {k: _leaves_replaced(v, pick) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not (value and all(isinstance(v, (int, float)) for v in value)):
        return type(value)(_leaves_replaced(v, pick) for v in value)
    return pick()


def _truncated(value):
    """Every list emptied, every dict missing its first key."""
    if isinstance(value, dict):
        return {k: _truncated(v) for i, (k, v) in enumerate(value.items()) if i}
    if isinstance(value, (list, tuple)):
        return type(value)()
    return value


def _stringified_keys(value):
    if isinstance(value, dict):
        return {str(k): _stringified_keys(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stringified_keys(v) for v in value]
    return value


def _variants(ref):
    for g in GARBAGE:
        yield f"whole out {g!r}"[:40], g
    for start in range(len(GARBAGE)):
        cycle = itertools.cycle(GARBAGE[start:] + GARBAGE[:start])
        yield f"leaves from {start}", _leaves_replaced(ref, lambda: next(cycle))
    yield "truncated", _truncated(ref)
    if isinstance(ref, dict):
        for key in ref:  # one result left out: its checks must still run (and fail)
            yield f"without {key!r}", {k: v for k, v in ref.items() if k != key}
        for key, value in ref.items():
            if isinstance(value, list):
                yield f"{key!r} emptied", {**ref, key: []}
                yield f"{key!r} cut short", {**ref, key: value[:1]}
    yield "string keys, lists for tuples", _stringified_keys(ref)  # may equal ref (string keys already)


FORBIDDEN_IN_REASONS = (str(ODD_SEED), "Traceback", ".py", "autograder", "probe", "judge", "_inputs", "rng_for",
                        "seed=", "internal grader error")


def _check_reasons(item, ck: Checker, label: str) -> None:
    for name, _, ok, msg in ck.parts:
        if ok:
            continue
        for text in (name, msg):
            assert not any(f in text for f in FORBIDDEN_IN_REASONS), f"{item.id} [{label}]: {text!r}"
            assert any(f"`{fn}" in text for fn in item.functions), \
                f"{item.id} [{label}]: the reason does not name the student's function: {text!r}"


@pytest.mark.parametrize("item", ITEMS, ids=lambda it: it.id)
def test_judge_never_raises_on_odd_outputs_and_names_the_function(item):
    ref = _reference_out(item.id, ODD_SEED)
    ck = Checker(item.points)
    item.judge(ref, ODD_SEED, ck)
    assert ck.result()[0] == item.points, ck.result()[1]
    for label, out in _variants(ref):
        ck = Checker(item.points)
        item.judge(out, ODD_SEED, ck)  # must not raise
        points, reason = ck.result()
        if not label.startswith("string keys"):
            assert points < item.points, f"{item.id} [{label}]: full points for an odd output"
        _check_reasons(item, ck, label)
