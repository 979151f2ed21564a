"""HW5's judges never raise on what a (possibly hostile) child returns, and every reason they
give names the student's function (rule 7 and 8 of the probe/judge split).

The reference notebook's definitions are run here, in this process, through each item's
probe (as the child would), and the plain data that comes back is then broken in many
places: each value replaced by None, a string, an empty list or dict, a Bad, a 0-d or NaN
array, a string array, a bool, a huge number... The judge must return a result for every
one of them (no exception), give no more than full points, and word every failed part with
the student's function in backquotes, without the grader's seed.
"""
from __future__ import annotations

import inspect
import random
import re

import numpy as np
import pytest
import torch

from autograder import notebook as nbmod
from autograder.core import Checker, DEFAULT_SEED, get_assignment
from autograder.probes.hw5 import PROBES
from autograder.probes.runtime import Bad, Namespace
from tests.kit import reference_cells

ASSIGNMENT = get_assignment("hw5")
ITEMS = [it.id for it in ASSIGNMENT.items]
PATHS_PER_ITEM = 12  # deep places broken per item (seeded by the item id)
WHOLE_OUTPUTS = 8    # hostile values tried as the whole output
TOP_VALUES = 4       # ... at each top-level key
DEEP_VALUES = 2      # ... at each deep place

HOSTILE = [
    None, "a string", [], {}, (), 0, -1, True, 1e308, float("nan"),
    Bad("error", "RuntimeError: boom"), Bad("type", "an object of type Foo"),
    np.zeros(()), np.array(np.nan), np.full((3,), np.nan), np.array(["a", "b"]),
    np.zeros((2, 3), dtype=np.complex128), np.ones((7, 1, 5)), [[1, 2], "x"], {"shape": "x", "value": "y"},
    {0: {"map": None}}, np.zeros((1000, 1000), dtype=np.float32),
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def plain(v):
    """What the wire gives the judge: torch tensors and NumPy scalars become arrays / numbers."""
    if isinstance(v, Bad) or v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, np.generic):
        return v.item()
    if torch.is_tensor(v):
        return v.detach().cpu().numpy()
    if isinstance(v, np.ndarray):
        return v
    if isinstance(v, tuple):
        return tuple(plain(x) for x in v)
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {plain(k): plain(x) for k, x in v.items()}
    return Bad("type", f"an object of type {type(v).__name__}")


@pytest.fixture(scope="module")
def reference_outputs():
    extracted = nbmod.extract(reference_cells("hw5"))
    namespace: dict = {"__name__": "__submission__"}
    for s in extracted.snippets:
        exec(compile(s.source, f"<code cell {s.cell}>", "exec"), namespace)
    outs = {}
    for item in ASSIGNMENT.items:
        given = item.give(DEFAULT_SEED) if item.give else None
        torch.manual_seed(DEFAULT_SEED)
        outs[item.id] = plain(PROBES[item.id](Namespace(namespace, given), DEFAULT_SEED))
    return outs


def _paths(v, prefix=()):
    yield prefix
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, prefix + (k,))
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            yield from _paths(x, prefix + (i,))


def _replace(v, path, new):
    if not path:
        return new
    k, rest = path[0], path[1:]
    if isinstance(v, dict):
        out = dict(v)
        out[k] = _replace(v[k], rest, new)
        return out
    out = list(v)
    out[k] = _replace(v[k], rest, new)
    return tuple(out) if isinstance(v, tuple) else out


def _keys_read_by(judge) -> set[str]:
    """The string keys the judge's module reads from what came back (``.get("k")``, ``["k"]``)."""
    src = inspect.getsource(inspect.getmodule(inspect.unwrap(judge)))
    return set(re.findall(r"""\.get\(["'](\w+)["']""", src)) | set(re.findall(r"""\[["'](\w+)["']\]""", src))


def _judge(item, out):
    ck = Checker(item.points)
    item.judge(out, DEFAULT_SEED, ck)  # must not raise
    points, reason = ck.result()
    assert 0 <= points <= item.points
    for _, _, ok, msg in ck.parts:
        if ok:
            continue
        assert any(f"`{fn}" in msg for fn in item.functions), f"reason does not name the student's function: {msg}"
        assert str(DEFAULT_SEED) not in msg and not re.search(r"\bseed\s*=?\s*\d", msg), msg
        assert "Traceback" not in msg and "autograder" not in msg and ".py" not in msg, msg
    return points, reason


@pytest.mark.parametrize("item_id", ITEMS)
def test_reference_output_earns_full_points(reference_outputs, item_id):
    item = ASSIGNMENT.item(item_id)
    points, reason = _judge(item, reference_outputs[item_id])
    assert points == item.points, reason


@pytest.mark.parametrize("item_id", ITEMS)
def test_judge_survives_broken_outputs(reference_outputs, item_id):
    item = ASSIGNMENT.item(item_id)
    ref = reference_outputs[item_id]
    rng = random.Random(item_id)
    for bad in rng.sample(HOSTILE, WHOLE_OUTPUTS):  # the whole output
        points, _ = _judge(item, bad)
        assert points < item.points
    paths = list(_paths(ref))[1:]
    keys = {p[-1] for p in paths if isinstance(p[-1], str)} | _keys_read_by(item.judge)
    # dicts that hold every key the probe sends or the judge reads, with values of the wrong type
    keyed = [{k: v for k in keys} for v in ("x", None, Bad("missing", "no result"), [1], np.zeros(2))]
    for bad in keyed:
        _judge(item, bad)
    top = [p for p in paths if len(p) == 1]
    rest = [p for p in paths if len(p) > 1]
    chosen = [(p, TOP_VALUES) for p in top] + [(p, DEEP_VALUES) for p in rng.sample(rest, min(PATHS_PER_ITEM, len(rest)))]
    for path, k in chosen:
        for bad in rng.sample(HOSTILE, k) + (keyed if len(path) == 1 else []):
            _judge(item, _replace(ref, path, bad))
