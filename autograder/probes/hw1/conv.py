"""Probe half of 1-D and 2-D convolution: inputs (with a random upstream gradient of
the output's size), and what the student's forward and backward passes return."""
from __future__ import annotations

from autograder.probes.kit.convert import as_float64, unpack
from autograder.probes.kit.seeds import rng as seeded

# (N, C, L, F, K, stride, padding, dilation). The notebook shows other sizes.
CONV1D_CASES = [
    (2, 3, 11, 4, 3, 1, 0, 1),
    (3, 2, 13, 3, 3, 2, 1, 1),
    (2, 3, 16, 2, 3, 1, 2, 2),
    (1, 4, 19, 3, 4, 3, 2, 2),
    (2, 1, 10, 5, 2, 2, 0, 3),
]

# (N, C, H, W, F, KH, KW, stride, padding, dilation): ints and (h, w) pairs.
CONV2D_FORWARD_CASES = [
    (2, 3, 7, 6, 4, 3, 3, 1, 0, 1),
    (3, 2, 8, 9, 3, 3, 2, 1, 0, 1),
    (2, 3, 9, 8, 2, 3, 3, 2, 1, 1),
    (1, 2, 10, 11, 3, 4, 3, 3, 2, 1),
    (2, 2, 11, 9, 3, 3, 3, 1, 2, 2),
    (2, 3, 9, 12, 2, 2, 3, (1, 2), (2, 1), (2, 1)),
    (1, 2, 12, 10, 3, 3, 2, (3, 1), (0, 2), (1, 3)),
]

CONV2D_BACKWARD_CASES = [
    (2, 3, 7, 6, 4, 3, 3, 1, 0, 1),
    (3, 2, 9, 8, 3, 3, 2, 2, 1, 1),
    (2, 2, 10, 11, 2, 3, 3, 1, 2, 2),
    (2, 3, 9, 12, 3, 2, 3, (1, 2), (2, 1), (2, 1)),
    (1, 2, 12, 10, 2, 3, 2, (3, 1), (0, 2), (1, 3)),
]


def _arg(v):
    """A copy of an int-or-pair argument, so the student's code sees a fresh value."""
    return tuple(v) if isinstance(v, (tuple, list)) else int(v)


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def conv1d_inputs(seed, case):
    n, c, length, f, k, s, p, d = CONV1D_CASES[case]
    rng = seeded(seed, 20, case)
    x = rng.normal(0.0, 1.0, (n, c, length))
    w = rng.normal(0.0, 1.0, (f, c, k))
    b = rng.normal(0.0, 1.0, f)
    # the upstream gradient has the output's length (the formula in the notebook)
    l_out = (length + 2 * p - d * (k - 1) - 1) // s + 1
    dout = rng.normal(0.0, 1.0, (n, f, l_out))
    return x, w, b, dout, (s, p, d)


def probe_conv1d(ns, seed):
    out = {}
    for case in range(len(CONV1D_CASES)):
        x, w, b, dout, (s, p, d) = conv1d_inputs(seed, case)
        y = ns.call("conv1d_forward", as_float64(x), as_float64(w), as_float64(b), s, p, d)
        dx, dw, db = unpack(ns.call("conv1d_backward", as_float64(dout), as_float64(x), as_float64(w),
                                    as_float64(b), s, p, d), 3, "conv1d_backward")
        out[case] = {"y": y, "dx": dx, "dw": dw, "db": db}
    return out


def conv2d_inputs(cases, key, seed, case):
    n, c, h, wd, f, kh, kw, s, p, d = cases[case]
    rng = seeded(seed, key, case)
    x = rng.normal(0.0, 1.0, (n, c, h, wd))
    w = rng.normal(0.0, 1.0, (f, c, kh, kw))
    b = rng.normal(0.0, 1.0, f)
    (sh, sw), (ph, pw), (dh, dw) = _pair(s), _pair(p), _pair(d)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    dout = rng.normal(0.0, 1.0, (n, f, ho, wo))
    return x, w, b, dout, (s, p, d)


def conv2d_forward_inputs(seed, case):
    return conv2d_inputs(CONV2D_FORWARD_CASES, 21, seed, case)


def conv2d_backward_inputs(seed, case):
    return conv2d_inputs(CONV2D_BACKWARD_CASES, 22, seed, case)


def probe_conv2d_forward(ns, seed):
    out = {}
    for case in range(len(CONV2D_FORWARD_CASES)):
        x, w, b, _, (s, p, d) = conv2d_forward_inputs(seed, case)
        out[case] = ns.call("conv2d_forward", as_float64(x), as_float64(w), as_float64(b), _arg(s), _arg(p), _arg(d))
    return out


def probe_conv2d_backward(ns, seed):
    out = {}
    for case in range(len(CONV2D_BACKWARD_CASES)):
        x, w, b, dout, (s, p, d) = conv2d_backward_inputs(seed, case)
        dx, dw, db = unpack(ns.call("conv2d_backward", as_float64(dout), as_float64(x), as_float64(w),
                                    as_float64(b), _arg(s), _arg(p), _arg(d)), 3, "conv2d_backward")
        out[case] = {"dx": dx, "dw": dw, "db": db}
    return out
