"""HW2's probe half (``autograder/probes/hw2/``) stands alone: a fresh interpreter
imports it without any judge, torch or data set, it has a probe for every item (the
same function the item names), and nothing in it decides points."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import autograder.hw2 as hw2
from autograder.probes.hw2 import PROBES

ROOT = Path(__file__).resolve().parents[2]
PROBE_DIR = ROOT / "autograder" / "probes" / "hw2"
JUDGES = ("autograder.core", "autograder.grading", "autograder.sandbox", "autograder.hw")


def test_every_item_has_its_probe_in_the_registry():
    assert set(PROBES) == {it.id for it in hw2.ITEMS}
    for it in hw2.ITEMS:
        assert PROBES[it.id] is it.probe, it.id


def test_probes_import_without_judges_or_torch():
    code = ("import sys, autograder.probes.hw2 as p; "
            f"bad = [m for m in sys.modules if m.startswith({JUDGES!r})]; "
            "print(len(p.PROBES), bad, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(hw2.ITEMS)), "[]", "False"], out.stdout


def _imports(tree: ast.AST) -> list[tuple[str, bool]]:
    """(module, at top level) for every import of a module."""
    top = set(map(id, tree.body))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = ("." * node.level) + (node.module or "")
            out.append((mod, id(node) in top))
    return out


def test_probe_modules_import_only_what_the_contract_allows():
    top_ok = ("__future__", "numpy", "autograder.probes", ".")
    inner_ok = top_ok + ("torch", "torchvision", "sklearn", "skimage", "scipy", "cnnkit", "data_scripts")
    stdlib = set(sys.stdlib_module_names)
    for path in sorted(PROBE_DIR.glob("*.py")):
        for mod, top in _imports(ast.parse(path.read_text())):
            root = mod.split(".")[0]
            if root in stdlib:
                continue
            allowed = top_ok if top else inner_ok
            assert mod.startswith(allowed), f"{path.name}: imports {mod} ({'top level' if top else 'in a function'})"
            assert not mod.startswith(("autograder.core", "autograder.grading", "autograder.sandbox", "autograder.hw")), mod


def test_probe_modules_hold_no_threshold_or_reference():
    """No accuracy threshold, reference module or label list of evaluation data."""
    for path in sorted(PROBE_DIR.glob("*.py")):
        text = path.read_text()
        for word in ("THRESHOLD", "reference_", "Fail(", "catsdogs_labels", "held_out"):
            assert word not in text, f"{path.name} mentions {word}"
