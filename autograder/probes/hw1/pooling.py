"""Probe half of max and average pooling: inputs (with random upstream gradients of
the output's size), and what the student's four functions return."""
from __future__ import annotations

from .common import as_float64, rng_for

# (N, C, H, W, k, stride); the notebook shows other sizes.
POOL_CASES = [
    (2, 3, 6, 8, 2, 2),    # windows tile the image
    (2, 2, 8, 10, 3, 2),   # overlapping windows, a leftover row and column (floor)
    (1, 3, 6, 7, 3, 1),    # heavily overlapping
    (3, 2, 11, 10, 4, 3),  # overlapping, leftovers
    (2, 1, 5, 9, 2, 3),    # stride > k: gaps between windows
]


def inputs(seed, case):
    n, c, h, w, k, s = POOL_CASES[case]
    rng = rng_for(seed, 30, case)
    x = rng.normal(0.0, 1.0, (n, c, h, w))
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    dmax = rng.normal(0.0, 1.0, (n, c, ho, wo))
    davg = rng.normal(0.0, 1.0, (n, c, ho, wo))
    return x, dmax, davg, k, s


def probe(ns, seed):
    out = {}
    for case in range(len(POOL_CASES)):
        x, dmax, davg, k, s = inputs(seed, case)
        out[case] = {
            "max": ns.call("maxpool2d_forward", as_float64(x), k, s),
            "dmax": ns.call("maxpool2d_backward", as_float64(dmax), as_float64(x), k, s),
            "avg": ns.call("avgpool2d_forward", as_float64(x), k, s),
            "davg": ns.call("avgpool2d_backward", as_float64(davg), as_float64(x), k, s),
        }
    return out
