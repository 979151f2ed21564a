"""Convolution (cross-correlation, the way deep-learning libraries define it), 1-D and
2-D: the judges.

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
backward passes and a random upstream gradient. The inputs and the probes are in
:mod:`autograder.probes.hw1.conv`.
"""
from __future__ import annotations

from ..core import Item
from ..probes.hw1.conv import (CONV1D_CASES, CONV2D_BACKWARD_CASES, conv1d_inputs,
                               conv2d_backward_inputs, conv2d_forward_inputs, probe_conv1d, probe_conv2d_backward,
                               probe_conv2d_forward)
from .common import NUMPY_ONLY, expect_array, field, tensor

TOL = 1e-7

# Which part of the grade each conv2d forward case belongs to.
CONV2D_FORWARD_PARTS = [
    ("stride 1, no padding", 2, [0, 1]),
    ("stride and padding", 3, [2, 3]),
    ("dilation and (h, w) pairs", 3, [4, 5, 6]),
]


def _describe(shape_x, shape_w, stride, padding, dilation, upstream=False):
    s = (f"x {tuple(shape_x)}, w {tuple(shape_w)}, stride={stride}, padding={padding}, "
         f"dilation={dilation}")
    return s + (", random upstream gradient" if upstream else "")


def judge_conv1d(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(CONV1D_CASES)):
        x, w, b, dout, (s, p, d) = conv1d_inputs(seed, case)
        got = field(out, case)
        tx, tw, tb = tensor(x, True), tensor(w, True), tensor(b, True)
        y = F.conv1d(tx, tw, tb, stride=s, padding=p, dilation=d)
        y.backward(tensor(dout))
        ctx = _describe(x.shape, w.shape, s, p, d)
        with ck.part("`conv1d_forward` output", 3):
            expect_array(field(got, "y"), y.detach().numpy(), "`conv1d_forward` output", TOL, ctx)
        ctx = _describe(x.shape, w.shape, s, p, d, upstream=True)
        with ck.part("`conv1d_backward` dx", 2):
            expect_array(field(got, "dx"), tx.grad.numpy(), "`conv1d_backward` dx", TOL, ctx)
        with ck.part("`conv1d_backward` dw", 2):
            expect_array(field(got, "dw"), tw.grad.numpy(), "`conv1d_backward` dw", TOL, ctx)
        with ck.part("`conv1d_backward` db", 1):
            expect_array(field(got, "db"), tb.grad.numpy(), "`conv1d_backward` db", TOL, ctx)


def judge_conv2d_forward(out, seed, ck):
    import torch.nn.functional as F

    for name, weight, cases in CONV2D_FORWARD_PARTS:
        for case in cases:  # each case earns its share: one wrong case does not zero the rest
            with ck.part(f"`conv2d_forward` with {name}", weight / len(cases)):
                x, w, b, _, (s, p, d) = conv2d_forward_inputs(seed, case)
                y = F.conv2d(tensor(x), tensor(w), tensor(b), stride=s, padding=p, dilation=d).numpy()
                expect_array(field(out, case), y, "`conv2d_forward` output", TOL, _describe(x.shape, w.shape, s, p, d))


def judge_conv2d_backward(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(CONV2D_BACKWARD_CASES)):
        x, w, b, dout, (s, p, d) = conv2d_backward_inputs(seed, case)
        got = field(out, case)
        tx, tw, tb = tensor(x, True), tensor(w, True), tensor(b, True)
        F.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d).backward(tensor(dout))
        ctx = _describe(x.shape, w.shape, s, p, d, upstream=True)
        with ck.part("`conv2d_backward` dx", 4):
            expect_array(field(got, "dx"), tx.grad.numpy(), "`conv2d_backward` dx", TOL, ctx)
        with ck.part("`conv2d_backward` dw", 4):
            expect_array(field(got, "dw"), tw.grad.numpy(), "`conv2d_backward` dw", TOL, ctx)
        with ck.part("`conv2d_backward` db", 2):
            expect_array(field(got, "db"), tb.grad.numpy(), "`conv2d_backward` db", TOL, ctx)


ITEMS = [
    Item("hw1.conv1d", 7, ("conv1d_forward", "conv1d_backward"), probe_conv1d, judge_conv1d,
         title="1-D convolution: forward and backward, with stride, padding, dilation", forbid=NUMPY_ONLY),
    Item("hw1.conv2d_forward", 7, ("conv2d_forward",), probe_conv2d_forward, judge_conv2d_forward,
         title="2-D convolution forward: stride, padding, dilation, (h, w) pairs", forbid=NUMPY_ONLY),
    Item("hw1.conv2d_backward", 8, ("conv2d_backward",), probe_conv2d_backward, judge_conv2d_backward,
         title="2-D convolution backward: dx, dw, db", forbid=NUMPY_ONLY),
]
