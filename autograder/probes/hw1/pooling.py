"""Probe half of max and average pooling: inputs (with random upstream gradients of
the output's size), and what the student's four functions return; and 001 Q3's
chain (a convolution, then global max pooling) through the student's own
``maxpool2d_*`` and ``conv2d_backward``."""
from __future__ import annotations

import numpy as np

from autograder.probes.kit.convert import as_float64, unpack
from autograder.probes.kit.seeds import rng as seeded

# (N, C, H, W, k, stride); the notebook shows other sizes. In these cases the windows
# reach the last row and column, so rounding the output size down (PyTorch) and up
# (ceil mode) agree.
POOL_CASES = [
    (2, 3, 6, 8, 2, 2),    # windows tile the image
    (2, 2, 9, 11, 3, 2),   # overlapping windows
    (1, 3, 6, 7, 3, 1),    # heavily overlapping
    (3, 2, 10, 13, 4, 3),  # overlapping, rectangular
    (2, 1, 5, 8, 2, 3),    # stride > k: gaps between windows
    (3, 4, 5, 5, 5, 5),    # global pooling: one window covers the map (001 Q3)
    (2, 2, 7, 7, 7, 1),    # global pooling with stride 1
]
# Rows and columns are left over where no full window fits: PyTorch drops them (floor,
# ceil_mode=False), ceil mode keeps a partial window. The grader's convention part.
LEFTOVER_CASES = [
    (2, 2, 8, 10, 3, 2),
    (3, 2, 11, 10, 4, 3),
    (2, 1, 7, 9, 2, 3),
]
# 001 Q3: x (N, C, H, W) -> conv (F filters, KxK, bias, stride 1) -> global max pooling of
# each conv output map (k = its side) -> upstream gradient; "ones" is 001 Q3's dLoss/da = 1.
CONV_MAX_CASES = [
    ((1, 1, 3, 3), 1, 2, "ones"),
    ((3, 2, 6, 6), 2, 3, "random"),
]


def _inputs(case_list, key, seed, case):
    n, c, h, w, k, s = case_list[case]
    rng = seeded(seed, key, case)
    x = rng.normal(0.0, 1.0, (n, c, h, w))
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    dmax = rng.normal(0.0, 1.0, (n, c, ho, wo))
    davg = rng.normal(0.0, 1.0, (n, c, ho, wo))
    return x, dmax, davg, k, s


def inputs(seed, case):
    return _inputs(POOL_CASES, 30, seed, case)


def leftover_inputs(seed, case):
    return _inputs(LEFTOVER_CASES, 31, seed, case)


def conv_max_inputs(seed, case):
    """x, w, b of the convolution, the pooling window k (= the side of the conv output)
    and the upstream gradient of the pooled (N, F, 1, 1) output."""
    (n, c, h, w), f, kc, up = CONV_MAX_CASES[case]
    rng = seeded(seed, 32, case)
    x = rng.normal(0.0, 1.0, (n, c, h, w))
    wt = rng.normal(0.0, 1.0, (f, c, kc, kc))
    b = rng.normal(0.0, 1.0, f)
    da = np.ones((n, f, 1, 1)) if up == "ones" else rng.normal(0.0, 1.0, (n, f, 1, 1))
    return x, wt, b, h - kc + 1, da


def _four(ns, x, dmax, davg, k, s):
    return {
        "max": ns.call("maxpool2d_forward", as_float64(x), k, s),
        "dmax": ns.call("maxpool2d_backward", as_float64(dmax), as_float64(x), k, s),
        "avg": ns.call("avgpool2d_forward", as_float64(x), k, s),
        "davg": ns.call("avgpool2d_backward", as_float64(davg), as_float64(x), k, s),
    }


def probe(ns, seed):
    out: dict = {}
    for case in range(len(POOL_CASES)):
        out[case] = _four(ns, *inputs(seed, case))
    for case in range(len(LEFTOVER_CASES)):
        out[f"leftover/{case}"] = _four(ns, *leftover_inputs(seed, case))
    # The conv outputs come from the judge (``give``): the probe holds no convolution.
    given = ns.given if isinstance(ns.given, dict) else {}
    zs = given.get("z", [])
    for case in range(len(CONV_MAX_CASES)):
        x, w, b, k, da = conv_max_inputs(seed, case)
        if not isinstance(zs, list) or case >= len(zs):
            continue  # nothing given: the judge's checks of this case fail
        z = as_float64(zs[case])
        a = ns.call("maxpool2d_forward", as_float64(z), k, k)
        dz = ns.call("maxpool2d_backward", as_float64(da), as_float64(z), k, k)
        if isinstance(dz, np.ndarray) and dz.shape == z.shape:
            dx, dw, db = unpack(ns.call("conv2d_backward", as_float64(dz), as_float64(x), as_float64(w), as_float64(b)),
                                3, "conv2d_backward")
        else:
            dx = dw = db = None
        out[f"conv_max/{case}"] = {"a": a, "dz": dz, "dx": dx, "dw": dw, "db": db}
    return out
