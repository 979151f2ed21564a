"""Probe half of translation equivariance: images, kernels and shifts, and what the
student's ``shift_image`` and ``equivariance_gap`` return."""
from __future__ import annotations

import numpy as np

from autograder.probes.kit.convert import as_float64
from autograder.probes.kit.seeds import rng as seeded

# (shape of x, dy, dx); the notebook shows (5, 6) and (2, 3, 4, 5) examples.
SHIFT_CASES = [
    ((7, 9), 2, 3),
    ((8, 6), -3, 1),
    ((6, 10), 0, -4),
    ((5, 5), -1, -2),
    ((3, 2, 6, 7), 1, -2),
    ((2, 3, 5, 8), -2, 3),
    ((4, 4), 0, 0),
    ((6, 7), 6, -1),   # a shift as large as the image
    ((1, 1, 4, 9), 0, 12),
]
# (H, W, KH, KW, dy, dx)
GAP_CASES = [
    (10, 12, 3, 3, 1, 2),
    (11, 9, 2, 4, -2, 1),
    (9, 13, 5, 2, 0, -3),
    (12, 12, 3, 2, 3, -1),
    (8, 10, 1, 3, -1, -2),
    (10, 7, 4, 4, 2, 0),
]


def shift_input(seed: int, case: int) -> np.ndarray:
    shape = SHIFT_CASES[case][0]
    return seeded(seed, 95, case).normal(0.0, 1.0, shape)


def gap_inputs(seed: int, case: int):
    h, w, kh, kw, dy, dx = GAP_CASES[case]
    rng = seeded(seed, 96, case)
    return rng.normal(0.0, 1.0, (h, w)), rng.normal(0.0, 1.0, (kh, kw)), dy, dx


def probe(ns, seed):
    out: dict = {"shift": {}, "gap": {}, "whole": {}}
    for case, (_, dy, dx) in enumerate(SHIFT_CASES):
        out["shift"][case] = ns.call("shift_image", as_float64(shift_input(seed, case)), dy, dx)
    for case in range(len(GAP_CASES)):
        x, w, dy, dx = gap_inputs(seed, case)
        out["gap"][case] = ns.call("equivariance_gap", as_float64(x), as_float64(w), dy, dx)
        out["whole"][case] = ns.call("equivariance_gap", as_float64(x), as_float64(w), dy, dx, interior_only=False)
    return out
