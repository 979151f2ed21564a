"""Convolution (cross-correlation, the way deep-learning libraries define it), 1-D and 2-D.

Student API (NumPy):
    conv1d_forward(x, w, b, stride=1, padding=0, dilation=1) -> out
        x (N, C, L), w (F, C, K), b (F,) -> out (N, F, L_out),
        L_out = floor((L + 2 padding - dilation (K - 1) - 1) / stride) + 1
    conv1d_backward(dout, x, w, b, stride=1, padding=0, dilation=1) -> (dx, dw, db)
    conv2d_forward(x, w, b, stride=1, padding=0, dilation=1) -> out
        x (N, C, H, W), w (F, C, KH, KW), b (F,); stride, padding and dilation each an
        int or a pair (along H, along W); zero padding on both sides.
    conv2d_backward(dout, x, w, b, stride=1, padding=0, dilation=1) -> (dx, dw, db)
The oracle is torch.nn.functional.conv1d / conv2d in float64, with autograd for the
backward passes and a random upstream gradient.
"""
from __future__ import annotations

from ..core import Item, expect_array
from .common import NUMPY_ONLY, as_float64, rng_for, tensor, unpack

TOL = 1e-7

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
# Which part of the grade each forward case belongs to.
CONV2D_FORWARD_PARTS = [
    ("stride 1, no padding", 2, [0, 1]),
    ("stride and padding", 3, [2, 3]),
    ("dilation and (h, w) pairs", 3, [4, 5, 6]),
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


def _describe(shape_x, shape_w, stride, padding, dilation, upstream=False):
    s = (f"x {tuple(shape_x)}, w {tuple(shape_w)}, stride={stride}, padding={padding}, "
         f"dilation={dilation}")
    return s + (", random upstream gradient" if upstream else "")


# --------------------------------------------------------------------------
# conv1d: forward and backward in one item.


def _conv1d_inputs(seed, case):
    n, c, length, f, k, s, p, d = CONV1D_CASES[case]
    rng = rng_for(seed, 20, case)
    x = rng.normal(0.0, 1.0, (n, c, length))
    w = rng.normal(0.0, 1.0, (f, c, k))
    b = rng.normal(0.0, 1.0, f)
    l_out = (length + 2 * p - d * (k - 1) - 1) // s + 1
    dout = rng.normal(0.0, 1.0, (n, f, l_out))
    return x, w, b, dout, (s, p, d)


def probe_conv1d(ns, seed):
    out = {}
    for case in range(len(CONV1D_CASES)):
        x, w, b, dout, (s, p, d) = _conv1d_inputs(seed, case)
        y = ns.call("conv1d_forward", as_float64(x), as_float64(w), as_float64(b), s, p, d)
        dx, dw, db = unpack(ns.call("conv1d_backward", as_float64(dout), as_float64(x), as_float64(w),
                                    as_float64(b), s, p, d), 3, "conv1d_backward")
        out[case] = {"y": y, "dx": dx, "dw": dw, "db": db}
    return out


def judge_conv1d(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(CONV1D_CASES)):
        x, w, b, dout, (s, p, d) = _conv1d_inputs(seed, case)
        got = out.get(case, {}) if isinstance(out, dict) else {}
        tx, tw, tb = tensor(x, True), tensor(w, True), tensor(b, True)
        y = F.conv1d(tx, tw, tb, stride=s, padding=p, dilation=d)
        y.backward(tensor(dout))
        ctx = _describe(x.shape, w.shape, s, p, d)
        with ck.part("forward", 3):
            expect_array(got.get("y"), y.detach().numpy(), "conv1d_forward output", TOL, ctx)
        ctx = _describe(x.shape, w.shape, s, p, d, upstream=True)
        with ck.part("dx", 2):
            expect_array(got.get("dx"), tx.grad.numpy(), "conv1d_backward dx", TOL, ctx)
        with ck.part("dw", 2):
            expect_array(got.get("dw"), tw.grad.numpy(), "conv1d_backward dw", TOL, ctx)
        with ck.part("db", 1):
            expect_array(got.get("db"), tb.grad.numpy(), "conv1d_backward db", TOL, ctx)


# --------------------------------------------------------------------------
# conv2d forward and backward, separate items.


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _conv2d_inputs(cases, key, seed, case):
    n, c, h, wd, f, kh, kw, s, p, d = cases[case]
    rng = rng_for(seed, key, case)
    x = rng.normal(0.0, 1.0, (n, c, h, wd))
    w = rng.normal(0.0, 1.0, (f, c, kh, kw))
    b = rng.normal(0.0, 1.0, f)
    (sh, sw), (ph, pw), (dh, dw) = _pair(s), _pair(p), _pair(d)
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    dout = rng.normal(0.0, 1.0, (n, f, ho, wo))
    return x, w, b, dout, (s, p, d)


def probe_conv2d_forward(ns, seed):
    out = {}
    for case in range(len(CONV2D_FORWARD_CASES)):
        x, w, b, _, (s, p, d) = _conv2d_inputs(CONV2D_FORWARD_CASES, 21, seed, case)
        out[case] = ns.call("conv2d_forward", as_float64(x), as_float64(w), as_float64(b), _arg(s), _arg(p), _arg(d))
    return out


def judge_conv2d_forward(out, seed, ck):
    import torch.nn.functional as F

    got = out if isinstance(out, dict) else {}
    for name, weight, cases in CONV2D_FORWARD_PARTS:
        with ck.part(name, weight):
            for case in cases:
                x, w, b, _, (s, p, d) = _conv2d_inputs(CONV2D_FORWARD_CASES, 21, seed, case)
                y = F.conv2d(tensor(x), tensor(w), tensor(b), stride=s, padding=p, dilation=d).numpy()
                expect_array(got.get(case), y, "conv2d_forward output", TOL, _describe(x.shape, w.shape, s, p, d))


def probe_conv2d_backward(ns, seed):
    out = {}
    for case in range(len(CONV2D_BACKWARD_CASES)):
        x, w, b, dout, (s, p, d) = _conv2d_inputs(CONV2D_BACKWARD_CASES, 22, seed, case)
        dx, dw, db = unpack(ns.call("conv2d_backward", as_float64(dout), as_float64(x), as_float64(w),
                                    as_float64(b), _arg(s), _arg(p), _arg(d)), 3, "conv2d_backward")
        out[case] = {"dx": dx, "dw": dw, "db": db}
    return out


def judge_conv2d_backward(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(CONV2D_BACKWARD_CASES)):
        x, w, b, dout, (s, p, d) = _conv2d_inputs(CONV2D_BACKWARD_CASES, 22, seed, case)
        got = out.get(case, {}) if isinstance(out, dict) else {}
        tx, tw, tb = tensor(x, True), tensor(w, True), tensor(b, True)
        F.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d).backward(tensor(dout))
        ctx = _describe(x.shape, w.shape, s, p, d, upstream=True)
        with ck.part("dx", 4):
            expect_array(got.get("dx"), tx.grad.numpy(), "conv2d_backward dx", TOL, ctx)
        with ck.part("dw", 4):
            expect_array(got.get("dw"), tw.grad.numpy(), "conv2d_backward dw", TOL, ctx)
        with ck.part("db", 2):
            expect_array(got.get("db"), tb.grad.numpy(), "conv2d_backward db", TOL, ctx)


ITEMS = [
    Item("hw1.conv1d", 8, ("conv1d_forward", "conv1d_backward"), probe_conv1d, judge_conv1d,
         title="1-D convolution: forward and backward, with stride, padding, dilation", forbid=NUMPY_ONLY),
    Item("hw1.conv2d_forward", 8, ("conv2d_forward",), probe_conv2d_forward, judge_conv2d_forward,
         title="2-D convolution forward: stride, padding, dilation, (h, w) pairs", forbid=NUMPY_ONLY),
    Item("hw1.conv2d_backward", 10, ("conv2d_backward",), probe_conv2d_backward, judge_conv2d_backward,
         title="2-D convolution backward: dx, dw, db", forbid=NUMPY_ONLY),
]
