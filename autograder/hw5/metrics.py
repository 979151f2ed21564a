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

Split: the probe half (the case builders, the library scan of the notebook's globals)
is ``autograder/probes/hw5/metrics.py``, which never imports scikit-learn; this module,
the judge half, runs scikit-learn as the oracle in the grading process.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item, unwrap
from ..probes.hw5 import metrics as probe_side
from ..probes.hw5.metrics import binary_cases, confusion_cases, multi_cases
from .common import part


def _get(lst, i):
    return lst[i] if isinstance(lst, list) and i < len(lst) else Bad("missing", "no result")


def _array(v, what: str) -> np.ndarray:
    """A returned value as a numeric NumPy array (the probe sends float64 or int64)."""
    v = unwrap(v, what)
    if not isinstance(v, np.ndarray) or v.dtype.kind not in "biuf":
        raise Fail(f"{what}: returned something that is not an array of numbers")
    return v


def judge(out, seed, ck):
    from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve

    out = out if isinstance(out, dict) else {}
    lib = out.get("library")
    if isinstance(lib, list) and lib:
        names = ", ".join(f"`{n}`" for n in lib if isinstance(n, str))[:200] or "names"
        with ck.part("roc_curve_binary: curve", 6.0):
            raise Fail(f"the notebook takes {names} from scikit-learn/torchmetrics: this exercise is to write "
                       "`roc_curve_binary`, `roc_auc`, `one_vs_rest_auc` and `confusion_from_scores` yourself with "
                       "NumPy (compare with scikit-learn only inside the sanity check)")
        return
    where = [""]
    with part(ck, "roc_curve_binary: curve", 2.0, where):
        for i, (y, s, what) in enumerate(binary_cases(seed)):
            fn = f"`roc_curve_binary` ({what})"
            where[0] = fn
            got = unwrap(_get(out.get("roc"), i), fn)
            want = roc_curve(y, s, drop_intermediate=False)
            if not isinstance(got, (list, tuple)) or len(got) != 3:
                raise Fail(f"{fn}: returned something other than (fpr, tpr, thresholds)")
            for name, g, w in zip(("fpr", "tpr", "thresholds"), got, want):
                g = _array(g, f"{fn}: {name}")
                g = g.astype(np.float64).reshape(-1) if g.ndim <= 1 else g
                if g.shape != w.shape:
                    hint = ""
                    if name == "thresholds" or len(g) != len(w):
                        if len(g) == len(w) - 1:
                            hint = " (start the curve at (0, 0) with threshold +inf)"
                        elif len(g) > len(w):
                            hint = (" (one point per DISTINCT score: tied scores cross the threshold together)"
                                    if len(np.unique(s)) < len(s) else "")
                    raise Fail(f"{fn}: {name} has {g.shape[0] if g.ndim else 0} points, expected {len(w)}{hint}")
                if not np.allclose(g, w, rtol=1e-6, atol=1e-9):
                    hint = ""
                    if name == "thresholds" and np.allclose(g[::-1], w):
                        hint = " (thresholds must decrease: from +inf down to the lowest score)"
                    raise Fail(f"{fn}: {name} differs from scikit-learn's roc_curve(drop_intermediate=False): got "
                               f"{np.round(g[:6], 3).tolist()}..., expected {np.round(w[:6], 3).tolist()}...{hint}")
    with part(ck, "roc_auc: area", 1.5, where):
        for i, (y, s, what) in enumerate(binary_cases(seed)):
            fn = f"`roc_auc` ({what})"
            where[0] = fn
            got = _array(_get(out.get("auc"), i), fn)
            if got.size != 1:
                raise Fail(f"{fn}: returned an array of shape {got.shape}, expected one number")
            g = float(got.reshape(-1)[0])
            w = float(roc_auc_score(y, s))
            if not abs(g - w) <= 1e-6:
                raise Fail(f"{fn}: got {g:.4f}, expected {w:.4f} (roc_auc_score): the area under the curve by "
                           "trapezoids over the points in order of decreasing threshold")
    with part(ck, "one_vs_rest_auc: per class", 1.0, where):
        for i, (y, s, what) in enumerate(multi_cases(seed)):
            fn = f"`one_vs_rest_auc` ({what})"
            where[0] = fn
            got = _array(_get(out.get("ovr"), i), fn)
            w = np.array([roc_auc_score(y == c, s[:, c]) for c in range(s.shape[1])])
            if got.shape != w.shape:
                raise Fail(f"{fn}: shape {got.shape}, expected {w.shape}: one AUC per class")
            if not np.allclose(got, w, atol=1e-6):
                c = int(np.argmax(np.abs(got - w)))
                raise Fail(f"{fn}: class {c}: got {got[c]:.4f}, expected {w[c]:.4f}: class c against all others, "
                           "with the scores of column c (not the argmax predictions)")
    with part(ck, "confusion_from_scores: matrix", 1.5, where):
        for i, (y, s, what) in enumerate(confusion_cases(seed)):
            fn = f"`confusion_from_scores` ({what})"
            where[0] = fn
            got = _array(_get(out.get("cm"), i), fn)
            c = s.shape[1]
            w = confusion_matrix(y, s.argmax(axis=1), labels=list(range(c)))
            if got.shape != w.shape:
                raise Fail(f"{fn}: shape {got.shape}, expected {w.shape}: C = scores.shape[1] rows and columns, even "
                           "for classes that never occur")
            if np.array_equal(got, w.T) and not np.array_equal(got, w):
                raise Fail(f"{fn}: the matrix is transposed: rows are the true classes, columns the predicted ones")
            if not np.array_equal(got, w):
                raise Fail(f"{fn}: {int(np.abs(got - w).sum())} counts differ from scikit-learn's "
                           "confusion_matrix(y_true, scores.argmax(1), labels=range(C))")


ITEMS = [
    Item("hw5.roc_confusion", 6, ("roc_curve_binary", "roc_auc", "one_vs_rest_auc", "confusion_from_scores"),
         probe_side.probe, judge, title="One-vs-rest ROC with AUC and the confusion matrix, checked against scikit-learn",
         timeout=20, forbid=("sklearn.metrics", "torchmetrics")),
]
