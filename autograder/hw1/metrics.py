"""Regression metrics (004 Q1(a)): the judge.

Student API (NumPy):
    regression_metrics(y_true, y_pred) -> dict with
        "mse", "rmse",
        "nrmse_mean", "nrmse_max", "nrmse_range", "nrmse_std", "nrmse_iqr"
            (RMSE / mean, / max, / (max - min), / population std, / IQR of y_true;
             IQR = np.percentile 75 - 25, linear interpolation),
        "rrmse" = 100 * rmse / mean(y_true), in percent
    rrmse_band(rrmse_percent) -> "excellent" (< 10), "good" (10 <= r < 20),
        "fair" (20 <= r < 30), "poor" (>= 30)
Judged against the grader's own NumPy computation and scikit-learn's
mean_squared_error / root_mean_squared_error. The inputs and the probe are in
:mod:`autograder.probes.hw1.metrics`.

Every key is a part of its own, so a convention costs that key only, and its reason
names both: the standard deviation (population, NumPy's np.std, vs the sample one of
pandas and R), the IQR's percentiles (NumPy's linear interpolation, R's type 7, vs the
other methods, e.g. Excel's QUARTILE.EXC = 'weibull'), RRMSE in percent vs as a
fraction. The bands' boundaries (does 10 % belong to "excellent" or to "good"?) are a
small part of their own; every other value is compared in the main part.
"""
from __future__ import annotations

import numpy as np

from ..core import Fail, Item
from ..probes.hw1.metrics import BAND_VALUES, SIZES, inputs, probe
from .common import NO_RESULT, NUMPY_ONLY, expect_dict, expect_equal, expect_number, field, matches

KEYS = ["mse", "rmse", "nrmse_mean", "nrmse_max", "nrmse_range", "nrmse_std", "nrmse_iqr", "rrmse"]
WHAT = {
    "mse": "mean of the squared errors",
    "rmse": "square root of the MSE",
    "nrmse_mean": "RMSE / mean(y_true)",
    "nrmse_max": "RMSE / max(y_true)",
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
        "nrmse_max": rmse / np.max(y),
        "nrmse_range": rmse / (np.max(y) - np.min(y)),
        "nrmse_std": rmse / np.std(y),
        "nrmse_iqr": rmse / (q75 - q25),
        "rrmse": 100.0 * rmse / np.mean(y),
    }


PERCENTILE_METHODS = ("lower", "higher", "nearest", "midpoint", "inverted_cdf", "averaged_inverted_cdf",
                      "closest_observation", "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased",
                      "normal_unbiased")
BOUNDARIES = (10.0, 20.0, 30.0)


def _recognize(key: str, got, y: np.ndarray, want: dict) -> str:
    """Which other convention the student's wrong value follows, as a reason ('' if none)."""
    rmse = want["rmse"]
    if key == "nrmse_std" and matches(got, rmse / np.std(y, ddof=1), 1e-9):
        return ("you divided by the sample standard deviation (ddof=1, pandas' .std() and R's sd()); this notebook "
                "uses the population one (ddof=0, NumPy's np.std default)")
    if key == "nrmse_iqr":
        for method in PERCENTILE_METHODS:
            q75, q25 = np.percentile(y, [75, 25], method=method)
            if q75 > q25 and matches(got, rmse / (q75 - q25), 1e-9):
                return (f"your IQR uses percentiles by method='{method}'; this notebook uses NumPy's default linear "
                        f"interpolation (R's type 7, pandas' quantile)")
    if key == "rrmse" and matches(got, want["rrmse"] / 100, 1e-9):
        return "your RRMSE is a fraction; this notebook gives it in percent (100 * RMSE / mean), as the bands do"
    return ""


def judge(out, seed, ck):
    for case, n in enumerate(SIZES):
        y, pred = inputs(seed, case)
        want = reference(y, pred)
        ctx = f"{n} targets{', skewed' if case == 1 else ''}"
        got = field(out, f"m/{case}")
        for key in KEYS:
            with ck.part(f"`regression_metrics()['{key}']`", 0.5 / len(SIZES)):
                d = expect_dict(got, [key], f"`regression_metrics` on {ctx}")
                what = f"`regression_metrics()['{key}']` ({WHAT[key]})"
                try:
                    expect_number(d[key], float(want[key]), what, 1e-9, ctx)
                except Fail:
                    other = _recognize(key, d[key], y, want)
                    if other:
                        raise Fail(f"{what}: {other} ({ctx})")
                    raise
    bands = field(out, "bands")
    bands = list(bands) if isinstance(bands, (list, tuple)) else []
    bands += [NO_RESULT] * (len(BAND_VALUES) - len(bands))  # every value is checked, whatever came back
    inner = [v for v in BAND_VALUES if v not in BOUNDARIES]
    for v, got in zip(BAND_VALUES, bands):
        if v in BOUNDARIES:
            continue
        with ck.part("`rrmse_band`", 1.2 / len(inner)):
            expect_equal(got, band(v), f"`rrmse_band({v:g})`", "bands: < 10 excellent, [10, 20) good, [20, 30) fair, >= 30 poor")
    with ck.part("`rrmse_band` at the boundaries (convention: a band includes its lower bound)", 0.3):
        for v, got in zip(BAND_VALUES, bands):
            if v in BOUNDARIES:
                expect_equal(got, band(v), f"`rrmse_band({v:g})`",
                             f"{v:g} is the lower bound of '{band(v)}': in this notebook every band includes its lower "
                             f"bound; reading '10-20 %' as (10, 20] would put {v:g} in the band below")


ITEMS = [
    Item("hw1.regression_metrics", 5, ("regression_metrics", "rrmse_band"), probe, judge,
         title="Regression metrics: MSE, RMSE, NRMSE (by mean, max, range, std, IQR), RRMSE and its bands", forbid=NUMPY_ONLY),
]
