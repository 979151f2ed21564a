"""Regression metrics (004 Q1(a)): the judge.

Student API (NumPy):
    regression_metrics(y_true, y_pred) -> dict with
        "mse", "rmse",
        "nrmse_mean", "nrmse_range", "nrmse_std", "nrmse_iqr"
            (RMSE / mean, / (max - min), / population std, / IQR of y_true;
             IQR = np.percentile 75 - 25, linear interpolation),
        "rrmse" = 100 * rmse / mean(y_true), in percent
    rrmse_band(rrmse_percent) -> "excellent" (< 10), "good" (10 <= r < 20),
        "fair" (20 <= r < 30), "poor" (>= 30)
Judged against the grader's own NumPy computation and scikit-learn's
mean_squared_error / root_mean_squared_error. The inputs and the probe are in
:mod:`autograder.probes.hw1.metrics`.
"""
from __future__ import annotations

import numpy as np

from ..core import Item
from ..probes.hw1.metrics import BAND_VALUES, SIZES, inputs, probe
from .common import NO_RESULT, NUMPY_ONLY, expect_dict, expect_equal, expect_number, field

KEYS = ["mse", "rmse", "nrmse_mean", "nrmse_range", "nrmse_std", "nrmse_iqr", "rrmse"]
WHAT = {
    "mse": "mean of the squared errors",
    "rmse": "square root of the MSE",
    "nrmse_mean": "RMSE / mean(y_true)",
    "nrmse_range": "RMSE / (max(y_true) - min(y_true))",
    "nrmse_std": "RMSE / population std of y_true (ddof=0)",
    "nrmse_iqr": "RMSE / (75th - 25th percentile of y_true, linear interpolation)",
    "rrmse": "100 * RMSE / mean(y_true), in percent",
}


def band(r: float) -> str:
    if r < 10:
        return "excellent"
    if r < 20:
        return "good"
    if r < 30:
        return "fair"
    return "poor"


def reference(y: np.ndarray, pred: np.ndarray) -> dict:
    from sklearn.metrics import mean_squared_error, root_mean_squared_error

    mse = float(mean_squared_error(y, pred))
    rmse = float(root_mean_squared_error(y, pred))
    own = float(np.mean((y - pred) ** 2))
    assert abs(mse - own) <= 1e-12 * own and abs(rmse - np.sqrt(own)) <= 1e-12 * rmse
    q75, q25 = np.percentile(y, [75, 25])
    return {
        "mse": mse,
        "rmse": rmse,
        "nrmse_mean": rmse / np.mean(y),
        "nrmse_range": rmse / (np.max(y) - np.min(y)),
        "nrmse_std": rmse / np.std(y),
        "nrmse_iqr": rmse / (q75 - q25),
        "rrmse": 100.0 * rmse / np.mean(y),
    }


def judge(out, seed, ck):
    for case, n in enumerate(SIZES):
        y, pred = inputs(seed, case)
        want = reference(y, pred)
        ctx = f"{n} targets{', skewed' if case == 1 else ''}"
        got = field(out, f"m/{case}")
        for key in KEYS:
            with ck.part(f"`regression_metrics()['{key}']`", 0.5 / len(SIZES)):
                d = expect_dict(got, [key], f"`regression_metrics` on {ctx}")
                expect_number(d[key], float(want[key]), f"`regression_metrics()['{key}']` ({WHAT[key]})", 1e-9, ctx)
    bands = field(out, "bands")
    bands = list(bands) if isinstance(bands, (list, tuple)) else []
    bands += [NO_RESULT] * (len(BAND_VALUES) - len(bands))  # every value is checked, whatever came back
    for v, got in zip(BAND_VALUES, bands):
        with ck.part("`rrmse_band`", 1.5 / len(BAND_VALUES)):
            expect_equal(got, band(v), f"`rrmse_band({v:g})`", "bands: < 10 excellent, [10, 20) good, [20, 30) fair, >= 30 poor")


ITEMS = [
    Item("hw1.regression_metrics", 5, ("regression_metrics", "rrmse_band"), probe, judge,
         title="Regression metrics: MSE, RMSE, NRMSE variants, RRMSE and its bands", forbid=NUMPY_ONLY),
]
