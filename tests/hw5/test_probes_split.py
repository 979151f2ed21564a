"""HW5's probe half stays apart from its judges (issue 12's split contract).

The probe package imports no judge module, no scikit-learn (the child of the ROC item
cannot see ``sklearn.metrics``) and not even torch at import time; it holds no reference,
threshold or expected architecture; its registry covers every item and is what the items
name; and only the held-out images of FGSM reach the child (never their labels).
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.core import get_assignment
from tests.kit import ROOT

PROBE_DIR = ROOT / "autograder" / "probes" / "hw5"
PROBE_FILES = sorted(PROBE_DIR.glob("*.py"))
JUDGE_PREFIXES = ("autograder.core", "autograder.grading", "autograder.sandbox", "autograder.hw")
# What only a judge may hold: references, thresholds, expected architectures, the held-out set.
JUDGE_ONLY = ("ref_cam", "ref_grad_cam", "ref_fgsm", "exact_shapley", "map_from_weights", "layer_output",
              "light_reference_class", "light_param_count", "vgg16_reference", "LIGHT_CONVS", "LIGHT_SIZES",
              "LIGHT_CLASSES", "TRANSFER_CLASSES", "AUG_MIN_MATCH", "AUG_MAX_UPSIDE", "FGSM_MAX_ACCURACY",
              "VIS_MARGIN", "VIS_RISE", "VIS_L2_RATIO", "HOEFFDING_DELTA", "held_out_seed", "held_out_images",
              "face_stats", "best_match", "roc_curve", "roc_auc_score", "confusion_matrix", "peak_on_box")


def test_fresh_interpreter_imports_the_probes_without_any_judge():
    code = ("import sys, autograder.probes.hw5 as p; "
            f"bad = [m for m in sys.modules if m.startswith({JUDGE_PREFIXES!r})]; "
            "libs = [m for m in ('torch', 'sklearn', 'torchvision', 'data_scripts') if m in sys.modules]; "
            "print(len(p.PROBES), bad, libs)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "9 [] []", out.stdout


@pytest.mark.parametrize("path", PROBE_FILES, ids=lambda p: p.name)
def test_probe_module_imports_only_what_a_probe_may(path: Path):
    """Top level: the standard library, numpy and autograder.probes; inside functions also
    torch, torchvision, data_scripts. Never a judge, never scikit-learn (anywhere)."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [("." * node.level) + (node.module or "")]
        else:
            continue
        for name in names:
            assert not name.startswith(("autograder.core", "autograder.grading", "autograder.sandbox", "autograder.hw",
                                        "..")), f"{path.name} imports {name}"
            assert not name.startswith(("sklearn", "torchmetrics")), f"{path.name} imports {name}"
            if id(node) in top:
                root = name.split(".")[0]
                assert root in ("__future__", "numpy", "types", "gc", "typing", "") or name.startswith(
                    ("autograder.probes", ".")), f"{path.name} imports {name} at top level"


@pytest.mark.parametrize("path", PROBE_FILES, ids=lambda p: p.name)
def test_probe_module_holds_no_judge_name(path: Path):
    tree = ast.parse(path.read_text())
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    names |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    found = sorted(names & set(JUDGE_ONLY))
    assert not found, f"{path.name} holds {found}"


def test_registry_covers_every_item_and_matches_the_items():
    from autograder.probes.hw5 import PROBES

    items = get_assignment("hw5").items
    assert set(PROBES) == {it.id for it in items}
    for it in items:
        assert PROBES[it.id] is it.probe, it.id
        assert it.probe.__module__.startswith("autograder.probes.hw5."), it.id


def test_only_fgsm_receives_data_and_never_labels():
    items = get_assignment("hw5").items
    assert [it.id for it in items if it.give] == ["hw5.fgsm"]
    given = get_assignment("hw5").item("fgsm").give(2024)
    assert list(given) == ["x"]
