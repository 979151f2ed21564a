"""One-vs-rest ROC curves with AUC, and the confusion matrix from scores (002 P5).

Student API (NumPy; scikit-learn's metrics are not available while this item is graded:
the exercise is to write them, and the judge compares them with scikit-learn):
    roc_curve_binary(y_true, scores) -> (fpr, tpr, thresholds)
        y_true: 0/1 labels (N,), scores: floats (N,), higher = more positive. One point per
        distinct score, thresholds in decreasing order, a sample counted positive when its
        score >= threshold; the first point is (0, 0) with threshold +inf. Tied scores
        move together (one point, not a staircase). Equals
        ``sklearn.metrics.roc_curve(y_true, scores, drop_intermediate=False)``.
    roc_auc(y_true, scores) -> float
        the area under that curve (trapezoids), ``sklearn.metrics.roc_auc_score``.
    one_vs_rest_auc(y_true, scores) -> (C,) array
        y_true: class indices (N,), scores: (N, C); entry c is roc_auc(y_true == c, scores[:, c]).
    confusion_from_scores(y_true, scores) -> (C, C) int array
        C = scores.shape[1]; entry [i, j] counts the samples of true class i predicted as
        class j = argmax of their scores (rows: true, columns: predicted), as
        ``sklearn.metrics.confusion_matrix(y_true, argmax, labels=range(C))``.

``sklearn.metrics`` and ``torchmetrics`` cannot be imported in the child, and a
notebook whose globals hold anything from scikit-learn or torchmetrics (a module, a
function) earns nothing here. (All of ``sklearn`` is not blocked: torch asks
``importlib.util.find_spec("sklearn")`` when it loads its compiler, and a blocked
top-level name makes that raise.)

The judge builds fixed scores from the seed: scores rounded to one decimal and small
integers (many ties), continuous scores, all scores equal, classes that are never
predicted, a class absent from ``y_true`` and the last class neither true nor
predicted (the matrix is still C x C), and compares with scikit-learn.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item, unwrap

KEY = 54


def _binary_cases(seed: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    rng = np.random.default_rng([int(seed), KEY, 0])
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


def _multi_cases(seed: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    rng = np.random.default_rng([int(seed), KEY, 1])
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


def _confusion_cases(seed: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    rng = np.random.default_rng([int(seed), KEY, 2])
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


def _arr(v):
    """A returned value as a NumPy array, or a Bad (child side)."""
    try:
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        a = np.asarray(v)
    except Exception as e:  # noqa: BLE001
        return Bad("missing", f"returned something that is not an array ({type(e).__name__})")
    if a.dtype.kind not in "biuf":
        return Bad("missing", f"returned an array of dtype {a.dtype}, not numbers")
    return a.astype(np.float64) if a.dtype.kind in "bf" else a.astype(np.int64)


LIBRARIES = ("sklearn", "torchmetrics")


def _library_names(ns) -> list[str]:
    """The student's globals that come from scikit-learn or torchmetrics (modules, functions, classes)."""
    import types

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
    out = {"roc": [], "auc": [], "ovr": [], "cm": [], "library": _library_names(ns)}
    for y, s, _ in _binary_cases(seed):
        r = ns.call("roc_curve_binary", y.copy(), s.copy())
        if isinstance(r, Bad):
            out["roc"].append(r)
        elif isinstance(r, (tuple, list)) and len(r) == 3:
            out["roc"].append([_arr(v) for v in r])
        else:
            out["roc"].append(Bad("missing", f"returned a {type(r).__name__}; return (fpr, tpr, thresholds)"))
        a = ns.call("roc_auc", y.copy(), s.copy())
        out["auc"].append(a if isinstance(a, Bad) else _arr(a))
    for y, s, _ in _multi_cases(seed):
        a = ns.call("one_vs_rest_auc", y.copy(), s.copy())
        out["ovr"].append(a if isinstance(a, Bad) else _arr(a))
    for y, s, _ in _confusion_cases(seed):
        c = ns.call("confusion_from_scores", y.copy(), s.copy())
        out["cm"].append(c if isinstance(c, Bad) else _arr(c))
    return out


def _get(lst, i):
    return lst[i] if isinstance(lst, list) and i < len(lst) else Bad("missing", "no result")


def judge(out, seed, ck):
    from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

    out = out if isinstance(out, dict) else {}
    lib = out.get("library")
    if isinstance(lib, list) and lib:
        with ck.part("roc curve", 6.0):
            raise Fail(f"the notebook takes {', '.join(f'`{n}`' for n in lib)} from scikit-learn/torchmetrics: this "
                       "exercise is to write the ROC curve, the AUC and the confusion matrix yourself with NumPy "
                       "(compare with scikit-learn only inside the sanity check)")
        return
    with ck.part("roc curve", 2.0):
        for i, (y, s, what) in enumerate(_binary_cases(seed)):
            got = unwrap(_get(out.get("roc"), i), f"roc_curve_binary ({what})")
            want = roc_curve(y, s, drop_intermediate=False)
            for name, g, w in zip(("fpr", "tpr", "thresholds"), got, want):
                g = unwrap(g, f"roc_curve_binary ({what}): {name}")
                g = np.asarray(g, dtype=np.float64).reshape(-1) if g.ndim <= 1 else g
                if g.shape != w.shape:
                    hint = ""
                    if name == "thresholds" or len(g) != len(w):
                        if len(g) == len(w) - 1:
                            hint = " (start the curve at (0, 0) with threshold +inf)"
                        elif len(g) > len(w):
                            hint = (" (one point per DISTINCT score: tied scores cross the threshold together)"
                                    if len(np.unique(s)) < len(s) else "")
                    raise Fail(f"roc_curve_binary ({what}): {name} has {g.shape[0] if g.ndim else 0} points, expected "
                               f"{len(w)}{hint}")
                if not np.allclose(g, w, rtol=1e-6, atol=1e-9):
                    hint = ""
                    if name == "thresholds" and np.allclose(g[::-1], w):
                        hint = " (thresholds must decrease: from +inf down to the lowest score)"
                    raise Fail(f"roc_curve_binary ({what}): {name} differs from scikit-learn's roc_curve"
                               f"(drop_intermediate=False): got {np.round(g[:6], 3).tolist()}..., expected "
                               f"{np.round(w[:6], 3).tolist()}...{hint}")
    with ck.part("auc", 1.5):
        for i, (y, s, what) in enumerate(_binary_cases(seed)):
            got = unwrap(_get(out.get("auc"), i), f"roc_auc ({what})")
            if got.size != 1:
                raise Fail(f"roc_auc ({what}): returned an array of shape {got.shape}, expected one number")
            g = float(got.reshape(-1)[0])
            w = float(roc_auc_score(y, s))
            if not abs(g - w) <= 1e-6:
                raise Fail(f"roc_auc ({what}): got {g:.4f}, expected {w:.4f} (roc_auc_score): the area under the "
                           "curve by trapezoids over the points in order of decreasing threshold")
    with ck.part("one-vs-rest", 1.0):
        for i, (y, s, what) in enumerate(_multi_cases(seed)):
            got = unwrap(_get(out.get("ovr"), i), f"one_vs_rest_auc ({what})")
            w = np.array([roc_auc_score(y == c, s[:, c]) for c in range(s.shape[1])])
            if got.shape != w.shape:
                raise Fail(f"one_vs_rest_auc ({what}): shape {got.shape}, expected {w.shape}: one AUC per class")
            if not np.allclose(got, w, atol=1e-6):
                c = int(np.argmax(np.abs(got - w)))
                raise Fail(f"one_vs_rest_auc ({what}): class {c}: got {got[c]:.4f}, expected {w[c]:.4f}: class c "
                           "against all others, with the scores of column c (not the argmax predictions)")
    with ck.part("confusion matrix", 1.5):
        for i, (y, s, what) in enumerate(_confusion_cases(seed)):
            got = unwrap(_get(out.get("cm"), i), f"confusion_from_scores ({what})")
            c = s.shape[1]
            w = confusion_matrix(y, s.argmax(axis=1), labels=list(range(c)))
            if got.shape != w.shape:
                raise Fail(f"confusion_from_scores ({what}): shape {got.shape}, expected {w.shape}: C = "
                           "scores.shape[1] rows and columns, even for classes that never occur")
            if np.array_equal(got, w.T) and not np.array_equal(got, w):
                raise Fail(f"confusion_from_scores ({what}): the matrix is transposed: rows are the true classes, "
                           "columns the predicted ones")
            if not np.array_equal(got, w):
                raise Fail(f"confusion_from_scores ({what}): {int(np.abs(got - w).sum())} counts differ from "
                           "scikit-learn's confusion_matrix(y_true, scores.argmax(1), labels=range(C))")


ITEMS = [
    Item("hw5.roc_confusion", 6, ("roc_curve_binary", "roc_auc", "one_vs_rest_auc", "confusion_from_scores"),
         probe, judge, title="One-vs-rest ROC with AUC and the confusion matrix, checked against scikit-learn",
         timeout=20, forbid=("sklearn.metrics", "torchmetrics")),
]
