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
from ..judging import part, unexpected


def _get(lst, i):
    return lst[i] if isinstance(lst, list) and i < len(lst) else Bad("missing", "no result")


def _array(v, what: str) -> np.ndarray:
    """A returned value as a numeric NumPy array (the probe sends float64 or int64)."""
    v = unwrap(v, what)
    if not isinstance(v, np.ndarray) or v.dtype.kind not in "biuf":
        raise Fail(f"{what}: returned something that is not an array of numbers")
    return v


def judge(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    lib = out.get("library")
    if isinstance(lib, list) and lib:
        names = ", ".join(f"`{n}`" for n in lib if isinstance(n, str))[:200] or "names"
        with ck.part("roc_curve_binary: curve", 6.0):
            raise Fail(f"the notebook takes {names} from scikit-learn/torchmetrics: this exercise is to write "
                       "`roc_curve_binary`, `roc_auc`, `one_vs_rest_auc` and `confusion_from_scores` yourself with "
                       "NumPy (compare with scikit-learn only inside the sanity check)")
        return
    first: list[str] = []  # the first reason of each function, for the convention parts of a broken one
    old_start, dropped, transposed = [], [], []

    def guarded(name, weight, fn, check):
        with part(ck, name, weight, fn):
            try:
                check()
            except Exception as e:  # noqa: BLE001  (part() turns a non-Fail into the same message)
                first.append(str(e) if isinstance(e, Fail) else unexpected(fn))
                raise

    cases = binary_cases(seed)
    curve_w = (ROC_WEIGHT - FIRST_THRESHOLD_WEIGHT - ALL_POINTS_WEIGHT) / len(cases)
    for i, (y, s, what) in enumerate(cases):
        fn = f"`roc_curve_binary` ({what})"
        guarded("roc_curve_binary: curve", curve_w, fn,
                lambda y=y, s=s, fn=fn, i=i: _check_curve(_get(out.get("roc"), i), y, s, fn, old_start, dropped))
    with part(ck, "roc_curve_binary: the first threshold is +inf", FIRST_THRESHOLD_WEIGHT, "`roc_curve_binary`"):
        if old_start:
            raise Fail(f"`roc_curve_binary`: the first threshold (the point (0, 0)) is +inf in this notebook, as in "
                       f"scikit-learn 1.3 and later; yours is max(score) + 1, scikit-learn's before 1.3 ({old_start[0]})")
        if len(first) == len(cases):
            raise Fail(first[0])
    with part(ck, "roc_curve_binary: one point per distinct score", ALL_POINTS_WEIGHT, "`roc_curve_binary`"):
        if dropped:
            raise Fail(f"`roc_curve_binary`: this notebook keeps one point per distinct score "
                       f"(roc_curve(..., drop_intermediate=False)); yours drops the points on straight segments of the "
                       f"curve, as scikit-learn's default drop_intermediate=True does ({dropped[0]})")
        if len(first) == len(cases):
            raise Fail(first[0])
    for i, (y, s, what) in enumerate(cases):
        fn = f"`roc_auc` ({what})"
        guarded("roc_auc: area", 1.5 / len(cases), fn, lambda y=y, s=s, fn=fn, i=i: _check_auc(_get(out.get("auc"), i), y, s, fn))
    multi = multi_cases(seed)
    for i, (y, s, what) in enumerate(multi):
        fn = f"`one_vs_rest_auc` ({what})"
        guarded("one_vs_rest_auc: per class", 1.0 / len(multi), fn,
                lambda y=y, s=s, fn=fn, i=i: _check_ovr(_get(out.get("ovr"), i), y, s, fn))
    conf = confusion_cases(seed)
    n_before = len(first)
    for i, (y, s, what) in enumerate(conf):
        fn = f"`confusion_from_scores` ({what})"
        guarded("confusion_from_scores: matrix", (CONFUSION_WEIGHT - ROWS_WEIGHT) / len(conf), fn,
                lambda y=y, s=s, fn=fn, i=i: _check_confusion(_get(out.get("cm"), i), y, s, fn, transposed))
    with part(ck, "confusion_from_scores: rows are the true classes", ROWS_WEIGHT, "`confusion_from_scores`"):
        if transposed:
            raise Fail(f"`confusion_from_scores`: the rows must be the true classes and the columns the predicted ones "
                       f"(scikit-learn's confusion_matrix); yours is transposed, rows = predicted (the layout of "
                       f"MATLAB's plotconfusion and of Fawcett's ROC tutorial) ({transposed[0]})")
        if len(first) - n_before == len(conf):
            raise Fail(first[-1])


# Where scikit-learn's versions and other widely used conventions differ from this notebook's,
# each difference is a small part of its own; the other parts compare only what they agree on.
ROC_WEIGHT = 2.0
FIRST_THRESHOLD_WEIGHT = 0.25   # +inf (scikit-learn >= 1.3) or max(score) + 1 (before 1.3)
ALL_POINTS_WEIGHT = 0.25        # one point per distinct score, or drop_intermediate=True (the default)
CONFUSION_WEIGHT = 1.5
ROWS_WEIGHT = 0.3               # rows = true classes (scikit-learn) or rows = predicted (MATLAB, Fawcett)


def _check_curve(got, y, s, fn, old_start, dropped):
    """fpr, tpr and the thresholds after the first against scikit-learn's curve, all points or
    (recorded in ``dropped``) drop_intermediate's; the first threshold must lie above every score
    (+inf, or max + 1 recorded in ``old_start``)."""
    from sklearn.metrics import roc_curve

    got = unwrap(got, fn)
    if not isinstance(got, (list, tuple)) or len(got) != 3:
        raise Fail(f"{fn}: returned something other than (fpr, tpr, thresholds)")
    arrays = []
    for name, g in zip(("fpr", "tpr", "thresholds"), got):
        g = _array(g, f"{fn}: {name}")
        arrays.append(g.astype(np.float64).reshape(-1) if g.ndim <= 1 else g)
    full = roc_curve(y, s, drop_intermediate=False)
    short = roc_curve(y, s, drop_intermediate=True)
    for want, is_full in ((full, True), (short, False)):
        if all(g.shape == w.shape for g, w in zip(arrays, want)) and _same_curve(arrays, want):
            if not is_full and len(short[0]) != len(full[0]):
                dropped.append(fn)
            first = arrays[2][0]
            if first == np.inf:
                return
            if abs(first - (float(np.max(s)) + 1)) <= 1e-9 * max(1.0, abs(float(np.max(s)) + 1)):
                old_start.append(fn)
                return
            raise Fail(f"{fn}: the first threshold is {first:.4g}; it must lie above every score (+inf) so that the "
                       f"curve starts at (0, 0) with no sample counted positive")
    w = full
    for name, g, want in zip(("fpr", "tpr", "thresholds"), arrays, w):
        if g.shape != want.shape:
            hint = ""
            if name == "thresholds" or len(g) != len(want):
                if len(g) == len(want) - 1:
                    hint = " (start the curve at (0, 0) with threshold +inf)"
                elif len(g) > len(want):
                    hint = (" (one point per DISTINCT score: tied scores cross the threshold together)"
                            if len(np.unique(s)) < len(s) else "")
            raise Fail(f"{fn}: {name} has {g.shape[0] if g.ndim else 0} points, expected {len(want)}{hint}")
        cmp_g, cmp_w = (g[1:], want[1:]) if name == "thresholds" else (g, want)
        if not np.allclose(cmp_g, cmp_w, rtol=1e-6, atol=1e-9):
            hint = ""
            if name == "thresholds" and np.allclose(np.sort(g[1:]), np.sort(want[1:])) and np.any(np.diff(g) > 0):
                hint = " (thresholds must decrease: from +inf down to the lowest score)"
            raise Fail(f"{fn}: {name} differs from scikit-learn's roc_curve(drop_intermediate=False): got "
                       f"{np.round(g[:6], 3).tolist()}..., expected {np.round(want[:6], 3).tolist()}...{hint}")
    raise Fail(f"{fn}: the curve differs from scikit-learn's roc_curve(drop_intermediate=False)")


def _same_curve(arrays, want) -> bool:
    """fpr, tpr and the thresholds after the first (where every convention agrees) are equal."""
    fpr, tpr, thr = arrays
    return (np.allclose(fpr, want[0], rtol=1e-6, atol=1e-9) and np.allclose(tpr, want[1], rtol=1e-6, atol=1e-9)
            and np.allclose(thr[1:], want[2][1:], rtol=1e-6, atol=1e-9) and np.all(thr[:1] > np.max(want[2][1:], initial=-np.inf)))


def _check_auc(got, y, s, fn):
    from sklearn.metrics import roc_auc_score

    got = _array(got, fn)
    if got.size != 1:
        raise Fail(f"{fn}: returned an array of shape {got.shape}, expected one number")
    g = float(got.reshape(-1)[0])
    w = float(roc_auc_score(y, s))
    if not abs(g - w) <= 1e-6:
        raise Fail(f"{fn}: got {g:.4f}, expected {w:.4f} (roc_auc_score): the area under the curve by "
                   "trapezoids over the points in order of decreasing threshold")


def _check_ovr(got, y, s, fn):
    from sklearn.metrics import roc_auc_score

    got = _array(got, fn)
    w = np.array([roc_auc_score(y == c, s[:, c]) for c in range(s.shape[1])])
    if got.shape != w.shape:
        raise Fail(f"{fn}: shape {got.shape}, expected {w.shape}: one AUC per class")
    if not np.allclose(got, w, atol=1e-6):
        c = int(np.argmax(np.abs(got - w)))
        raise Fail(f"{fn}: class {c}: got {got[c]:.4f}, expected {w[c]:.4f}: class c against all others, "
                   "with the scores of column c (not the argmax predictions)")


def _check_confusion(got, y, s, fn, transposed):
    from sklearn.metrics import confusion_matrix

    got = _array(got, fn)
    c = s.shape[1]
    w = confusion_matrix(y, s.argmax(axis=1), labels=list(range(c)))
    if got.shape != w.shape:
        raise Fail(f"{fn}: shape {got.shape}, expected {w.shape}: C = scores.shape[1] rows and columns, even "
                   "for classes that never occur")
    if np.array_equal(got, w):
        return
    if np.array_equal(got, w.T):
        transposed.append(fn)
        return
    raise Fail(f"{fn}: {int(np.abs(got - w).sum())} counts differ from scikit-learn's "
               "confusion_matrix(y_true, scores.argmax(1), labels=range(C))")


ITEMS = [
    Item("hw5.roc_confusion", 6, ("roc_curve_binary", "roc_auc", "one_vs_rest_auc", "confusion_from_scores"),
         probe_side.probe, judge, title="One-vs-rest ROC with AUC and the confusion matrix, checked against scikit-learn",
         timeout=20, forbid=("sklearn.metrics", "torchmetrics")),
]
