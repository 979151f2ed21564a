"""Probe half of the regression metrics: targets and predictions, band inputs, and
what the student's ``regression_metrics`` and ``rrmse_band`` return."""
from __future__ import annotations

from autograder.probes.kit.convert import as_float64
from autograder.probes.kit.seeds import rng as seeded

SIZES = [41, 250, 7]
BAND_VALUES = [0.0, 3.2, 9.99, 10.0, 14.0, 19.999, 20.0, 27.5, 29.99, 30.0, 30.01, 85.0]


def inputs(seed: int, case: int):
    n = SIZES[case]
    rng = seeded(seed, 60, case)
    if case == 1:  # skewed targets: std, IQR and range tell different stories
        y = 5.0 + rng.exponential(20.0, n)
    else:
        y = rng.uniform(20.0, 80.0, n)
    pred = y + rng.normal(rng.uniform(-2, 2), rng.uniform(3.0, 12.0), n)
    return y, pred


def probe(ns, seed):
    out: dict = {}
    for case in range(len(SIZES)):
        y, pred = inputs(seed, case)
        out[f"m/{case}"] = ns.call("regression_metrics", as_float64(y), as_float64(pred))
    out["bands"] = [ns.call("rrmse_band", float(v)) for v in BAND_VALUES]
    return out
