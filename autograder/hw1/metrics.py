"""Regression metrics (004 Q1(a)).

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
mean_squared_error / root_mean_squared_error.
"""
from __future__ import annotations

import numpy as np

from ..core import Fail, Item, expect_equal, expect_number
from .common import NUMPY_ONLY, as_float64, expect_dict, rng_for

KEYS = ["mse", "rmse", "nrmse_mean", "nrmse_range", "nrmse_std", "nrmse_iqr", "rrmse"]
SIZES = [41, 250, 7]
BAND_VALUES = [0.0, 3.2, 9.99, 10.0, 14.0, 19.999, 20.0, 27.5, 29.99, 30.0, 30.01, 85.0]
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


def _inputs(seed: int, case: int):
    n = SIZES[case]
    rng = rng_for(seed, 60, case)
    if case == 1:  # skewed targets: std, IQR and range tell different stories
        y = 5.0 + rng.exponential(20.0, n)
    else:
        y = rng.uniform(20.0, 80.0, n)
    pred = y + rng.normal(rng.uniform(-2, 2), rng.uniform(3.0, 12.0), n)
    return y, pred


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


def probe(ns, seed):
    out: dict = {}
    for case in range(len(SIZES)):
        y, pred = _inputs(seed, case)
        out[f"m/{case}"] = ns.call("regression_metrics", as_float64(y), as_float64(pred))
    out["bands"] = [ns.call("rrmse_band", float(v)) for v in BAND_VALUES]
    return out


def judge(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    for case, n in enumerate(SIZES):
        y, pred = _inputs(seed, case)
        want = reference(y, pred)
        ctx = f"{n} targets{', skewed' if case == 1 else ''}"
        got = out.get(f"m/{case}")
        for key in KEYS:
            with ck.part(key, 0.5 / len(SIZES)):
                d = expect_dict(got, [key], "regression_metrics")
                expect_number(d[key], float(want[key]), f"regression_metrics()['{key}'] ({WHAT[key]})", 1e-9, ctx)
    bands = out.get("bands")
    for v, got in zip(BAND_VALUES, bands if isinstance(bands, list) else [None] * len(BAND_VALUES)):
        with ck.part("rrmse_band", 1.5 / len(BAND_VALUES)):
            if got is None:
                raise Fail("rrmse_band: no result")
            expect_equal(got, band(v), f"rrmse_band({v:g})", "bands: < 10 excellent, [10, 20) good, [20, 30) fair, >= 30 poor")


ITEMS = [
    Item("hw1.regression_metrics", 5, ("regression_metrics", "rrmse_band"), probe, judge,
         title="Regression metrics: MSE, RMSE, NRMSE variants, RRMSE and its bands", forbid=NUMPY_ONLY),
]
