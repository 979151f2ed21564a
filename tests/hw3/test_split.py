"""HW3's items are split into probes (autograder/probes/hw3, beside the student's code) and
judges (autograder/hw3): the probes import no judge and hold no answer, what the judge sends
to the template-matching probe says nothing about where the templates were cut, and no judge
raises on whatever a (possibly hostile) child sends back."""
from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.core import Bad, Checker
from autograder.hw3 import ITEMS, matching, yolo
from autograder.probes.hw3 import PROBES
from autograder.probes.hw3.matching import GIVEN_KEYS, unpack_matching
from autograder.probes.runtime import Namespace
from tests.kit import ROOT, reference_cells

PROBE_DIR = ROOT / "autograder" / "probes" / "hw3"
TOP_ALLOWED = ("numpy", "autograder.probes")
INNER_ALLOWED = TOP_ALLOWED + ("torch", "data_scripts", "pathlib")


def test_every_item_has_its_probe_in_the_registry():
    assert set(PROBES) == {it.id for it in ITEMS}
    for it in ITEMS:
        assert PROBES[it.id] is it.probe, it.id
        assert it.probe.__module__.startswith("autograder.probes.hw3."), it.id


def test_probes_import_without_any_judge():
    code = ("import sys, autograder.probes.hw3 as p; "
            "bad = [m for m in sys.modules if m.startswith(('autograder.core', 'autograder.grading', "
            "'autograder.sandbox', 'autograder.hw'))]; "
            "print(len(p.PROBES), bad, [m for m in ('torch', 'torchvision') if m in sys.modules])")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "8 [] []"


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node, a.name
        elif isinstance(node, ast.ImportFrom):
            yield node, ("." * node.level) + (node.module or "")


@pytest.mark.parametrize("path", sorted(PROBE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_probe_modules_import_only_what_a_probe_may(path):
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    for node, name in _imports(tree):
        if name.startswith(".") or name == "__future__":
            continue
        allowed = TOP_ALLOWED if id(node) in top else INNER_ALLOWED
        root = name.split(".")[0]
        stdlib = root in sys.stdlib_module_names
        assert stdlib or any(name == a or name.startswith(a + ".") for a in allowed), (path.name, name)
        assert "torchvision" not in name and not name.startswith("autograder.hw"), (path.name, name)


def test_no_probe_holds_a_reference_or_torchvision():
    """The references and oracles live in the judge modules only."""
    words = ("torchvision", "reference_", "hand_iou", "darknet_layout", "darknet_forward", "AP_HAND_WANT",
             "expected", "held_out_seed", "true_box")
    for path in PROBE_DIR.glob("*.py"):
        text = path.read_text()
        for w in words:
            if w == "torchvision" and path.name == "boxes.py":
                # the module docstring says that it does not use it
                text_code = "\n".join(l for l in text.splitlines() if "torchvision" not in l or "import" in l)
                assert "import torchvision" not in text_code
                continue
            assert w not in text, (path.name, w)


def test_the_small_weights_network_is_tiny_yolo_narrowed():
    assert yolo.SMALL_LAYOUTS[0] == yolo.darknet_layout(3, 2, widths=(2, 4, 8, 8, 16, 16, 32, 32))


# ----------------------------------------------------------------------------- held-out matching cases


def test_the_matching_cases_are_held_out_and_small():
    given = matching.give(2024)
    assert set(given) == set(GIVEN_KEYS)
    assert all(isinstance(v, np.ndarray) for v in given.values())
    assert sum(v.nbytes for v in given.values()) < 4 * 2**20
    cases = matching.heldout_cases(2024)
    unpacked = unpack_matching(given)
    assert len(unpacked) == len(cases) == matching.N_CASES + matching.N_CASES_S2
    for (stride, border, name, size, template), c in zip(unpacked, cases):
        assert (stride, border, name) == c[:3] and size == max(c[3].shape[:2])
        assert np.array_equal(template, c[4])
    # not the cases a child could draw from the public seed
    public = matching.matching_set(2024)
    assert not any(np.array_equal(a[4], b[4]) for a, b in zip(public, cases) if a[4].shape == b[4].shape)


def test_the_held_out_cases_follow_the_course_secret(monkeypatch):
    before = matching.give(1)["templates"]
    monkeypatch.setenv("COURSE_KIT_SECRET", "another course")
    after = matching.give(1)["templates"]
    assert before.shape != after.shape or not np.array_equal(before, after)


def test_the_matching_probe_reads_only_what_it_is_given():
    """Without the judge's cases the probe has nothing to match, and says so."""
    calls = []

    def match_template_cnn(*a):
        calls.append(a)
        return np.zeros(4)

    ns = Namespace({"feature_ncc": lambda s, t: s[0, : s.shape[1] - t.shape[1] + 1, : s.shape[2] - t.shape[2] + 1],
                    "match_template_cnn": match_template_cnn}, given=None)
    out = PROBES["hw3.template_matching"](ns, 2024)
    assert isinstance(out["match"], Bad) and not calls


# ----------------------------------------------------------------------------- hostile outputs


@functools.lru_cache(maxsize=None)
def _reference_outputs(tmp: str) -> dict:
    """Every probe's output for the reference solution, run in this process."""
    from autograder import notebook as nbmod

    ns: dict = {"__name__": "__submission__"}
    for s in nbmod.extract(reference_cells("hw3")).snippets:
        try:
            exec(compile(s.source, f"<cell {s.cell}>", "exec"), ns)
        except Exception:
            pass
    cwd = os.getcwd()
    os.chdir(tmp)
    try:
        return {it.id: it.probe(Namespace(ns, it.give(2024) if it.give else None), 2024) for it in ITEMS}
    finally:
        os.chdir(cwd)


def _judge(item, out) -> tuple[float, str]:
    ck = Checker(item.points)
    item.judge(out, 2024, ck)  # must not raise
    return ck.result()


JUNK = [None, "a string", 7, -1.5, float("nan"), True, [], {}, (), [None] * 3, {"x": 1},
        Bad("type", "an object of type Foo"), Bad("error", "RuntimeError: boom"),
        np.zeros(()), np.zeros((0,)), np.full((3, 2), np.nan), np.arange(5), np.ones((2, 2, 2, 2, 2)),
        np.array([True, False]), np.zeros((4,), dtype=np.complex128), np.array([1e308, -1e308, np.inf, 0])]


def _paths(v, prefix=(), depth=0):
    """Every path to a value inside ``v`` (dict keys and list indices), lists cut at 3 items."""
    yield prefix
    if depth > 5:
        return
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, prefix + (k,), depth + 1)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(list(v)[:3]):
            yield from _paths(x, prefix + (i,), depth + 1)


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


@pytest.mark.parametrize("item", ITEMS, ids=lambda it: it.id)
def test_judges_never_raise_on_what_a_child_sends(item, tmp_path_factory):
    ref = _reference_outputs(str(tmp_path_factory.getbasetemp()))[item.id]
    pts, reason = _judge(item, ref)
    assert pts == item.points, reason
    for junk in JUNK[::3]:  # the whole result replaced
        pts, reason = _judge(item, junk)
        assert pts == 0 and "internal" not in reason, (junk, reason)
    paths = list(_paths(ref))[1:]
    rng = np.random.default_rng(0)
    budget = 10 if item.id in ("hw3.template_matching", "hw3.tiny_yolo", "hw3.mean_ap") else 30
    chosen = [paths[i] for i in rng.choice(len(paths), min(budget, len(paths)), replace=False)]
    for path in chosen:
        junk = JUNK[int(rng.integers(len(JUNK)))]
        pts, reason = _judge(item, _replace(ref, path, junk))
        assert 0 <= pts <= item.points, (path, junk)
        assert "Traceback" not in reason and "seed" not in reason.lower(), (path, reason)
