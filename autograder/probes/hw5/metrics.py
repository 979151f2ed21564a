"""Probe half of hw5.roc_confusion (one-vs-rest ROC with AUC, confusion matrix).

Runs in the child, where ``sklearn.metrics`` and ``torchmetrics`` are not available:
NumPy only (nothing from scikit-learn is imported here, even inside a function). The
case builders are imported by the judge, which compares the student's results with
scikit-learn's in its own process.
"""
from __future__ import annotations

import types

import numpy as np

from autograder.probes.runtime import Bad

from autograder.probes.kit.convert import as_numbers
from autograder.probes.kit.seeds import rng as seeded

KEY = 54


def binary_cases(seed: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    rng = seeded(seed, KEY, 0)
    cases = []
    y = rng.integers(0, 2, 30)
    y[:2] = [0, 1]
    s = np.round(np.clip(0.5 * y + rng.normal(0.25, 0.3, 30), 0, 1), 1)
    cases.append((y, s, "30 samples, scores rounded to 0.1 (ties)"))
    y = rng.integers(0, 2, 25)
    y[:2] = [1, 0]
    s = (rng.integers(0, 4, 25) + y * rng.integers(0, 2, 25)).astype(np.float64)
    cases.append((y, s, "25 samples, integer scores 0-4 (many ties)"))
    y = rng.integers(0, 2, 40)
    y[:2] = [0, 1]
    s = rng.normal(0, 1, 40) + 0.8 * y
    cases.append((y, s, "40 samples, continuous scores"))
    cases.append((np.array([0, 1, 1, 0, 1, 0]), np.full(6, 0.3), "6 samples, all scores equal"))
    y = np.array([1, 1, 0, 1, 0, 0, 0, 1])
    s = np.array([-2.0, 5.0, 3.0, 3.0, -2.0, 0.5, 7.0, 0.5])
    cases.append((y, s, "8 samples, negative scores, a tie of a positive and a negative"))
    return cases


def multi_cases(seed: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    rng = seeded(seed, KEY, 1)
    cases = []
    y = np.concatenate([np.arange(8), rng.integers(0, 8, 72)])
    z = rng.normal(0, 1, (80, 8))
    z[np.arange(80), y] += 1.2
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    cases.append((y, np.round(p, 2), "80 samples, 8 classes, softmax scores rounded to 0.01"))
    y = np.concatenate([np.arange(3), rng.integers(0, 3, 17)])
    s = rng.integers(0, 5, (20, 3)).astype(np.float64) + 0.1 * np.arange(3)  # no argmax ties across columns
    cases.append((y, s, "20 samples, 3 classes, integer scores"))
    return cases


def confusion_cases(seed: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    rng = seeded(seed, KEY, 2)
    cases = []
    y = rng.integers(0, 8, 60)
    y[y == 7] = 0                       # class 7 never occurs
    s = rng.normal(0, 1, (60, 8))
    s[np.arange(60), y] += 1.0
    s[:, 5] -= 10                       # class 5 is never predicted
    s[np.arange(0, 60, 4), 2] += 3      # class 2 is predicted too often: an asymmetric matrix
    cases.append((y, s, "60 samples, 8 classes, class 7 never true, class 5 never predicted"))
    y = rng.integers(0, 4, 25)
    s = rng.uniform(0, 1, (25, 4))
    s[:, 1] += 0.3
    cases.append((y, s, "25 samples, 4 classes"))
    y = rng.integers(0, 4, 20)
    s = rng.normal(0, 1, (20, 5))
    s[:, 4] -= 10                       # the last class neither occurs nor is predicted
    cases.append((y, s, "20 samples, 5 classes, class 4 neither true nor predicted"))
    return cases


LIBRARIES = ("sklearn", "torchmetrics")


def library_names(ns) -> list[str]:
    """The student's globals that come from scikit-learn or torchmetrics (modules, functions, classes)."""
    found = []
    for name, v in list(ns.globals.items()):
        try:
            mod = v.__name__ if isinstance(v, types.ModuleType) else getattr(v, "__module__", None)
        except Exception:  # noqa: BLE001  an object whose attributes raise
            continue
        if isinstance(mod, str) and mod.split(".")[0] in LIBRARIES:
            found.append(str(name))
    return sorted(found)[:5]


def probe(ns, seed):
    out = {"roc": [], "auc": [], "ovr": [], "cm": [], "library": library_names(ns)}
    for y, s, _ in binary_cases(seed):
        r = ns.call("roc_curve_binary", y.copy(), s.copy())
        if isinstance(r, Bad):
            out["roc"].append(r)
        elif isinstance(r, (tuple, list)) and len(r) == 3:
            out["roc"].append([as_numbers(v) for v in r])
        else:
            out["roc"].append(Bad("missing", f"returned a {type(r).__name__}; return (fpr, tpr, thresholds)"))
        a = ns.call("roc_auc", y.copy(), s.copy())
        out["auc"].append(a if isinstance(a, Bad) else as_numbers(a))
    for y, s, _ in multi_cases(seed):
        a = ns.call("one_vs_rest_auc", y.copy(), s.copy())
        out["ovr"].append(a if isinstance(a, Bad) else as_numbers(a))
    for y, s, _ in confusion_cases(seed):
        c = ns.call("confusion_from_scores", y.copy(), s.copy())
        out["cm"].append(c if isinstance(c, Bad) else as_numbers(c))
    return out
