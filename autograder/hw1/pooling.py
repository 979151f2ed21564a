"""Max and average pooling, forward and backward, without padding: the judge.

Student API (NumPy, x of shape (N, C, H, W), k and stride ints):
    maxpool2d_forward(x, k, stride) -> out (N, C, H_out, W_out)
    maxpool2d_backward(dout, x, k, stride) -> dx
    avgpool2d_forward(x, k, stride) -> out
    avgpool2d_backward(dout, x, k, stride) -> dx
    H_out = floor((H - k) / stride) + 1, and the same for W (PyTorch's default).
The oracle is torch.nn.functional.max_pool2d / avg_pool2d in float64 with autograd.
Inputs are continuous random numbers, so no window holds a tie for its maximum.
Overlapping windows (stride < k) and global pooling (one window over the whole map)
are among the cases: gradients must add up where windows overlap.

Convention: where rows or columns are left over (no full window fits), PyTorch rounds
the output size down (``ceil_mode=False``) and Caffe, or ``ceil_mode=True``, keeps a
partial window. The main parts use sizes where both agree; the leftover cases are a
small part of their own whose reason names both.

001 Q3: a convolution followed by global max pooling. The judge gives the conv
outputs (``give``; the probe holds no convolution); the student's max pooling routes
the gradient to the arg-max, and the student's own ``conv2d_backward`` takes it to the
filter and the bias, compared with autograd through the whole chain.
The inputs and the probe are in :mod:`autograder.probes.hw1.pooling`.
"""
from __future__ import annotations

from ..core import Fail, Item
from ..probes.hw1.pooling import (CONV_MAX_CASES, LEFTOVER_CASES, POOL_CASES, conv_max_inputs, inputs,
                                  leftover_inputs, probe)
from .common import NUMPY_ONLY, expect_array, fail_if_bad, field, tensor

TOL = 1e-7
ROUNDING = ("rows and columns where no full window fits are dropped: the output size is rounded down, "
            "floor((H - k) / stride) + 1, as PyTorch does by default (ceil_mode=False); Caffe and ceil_mode=True "
            "round up and pool a partial window")


def _reference(x, dmax, davg, k, s):
    import torch.nn.functional as F

    tx = tensor(x, True)
    ym = F.max_pool2d(tx, k, s)
    ym.backward(tensor(dmax))
    ta = tensor(x, True)
    ya = F.avg_pool2d(ta, k, s)
    ya.backward(tensor(davg))
    return ym.detach().numpy(), tx.grad.numpy(), ya.detach().numpy(), ta.grad.numpy()


def _describe(x, k, s) -> str:
    kind = "global pooling, " if (x.shape[2] == k and x.shape[3] == k) else ("overlapping windows, " if s < k else "")
    return f"x {x.shape}, k={k}, stride={s}, {kind}"


def give(seed: int) -> dict:
    """The conv outputs of 001 Q3's chain (inputs for the student's max pooling)."""
    import torch.nn.functional as F

    zs = []
    for case in range(len(CONV_MAX_CASES)):
        x, w, b, _, _ = conv_max_inputs(seed, case)
        zs.append(F.conv2d(tensor(x), tensor(w), tensor(b)).numpy())
    return {"z": zs}


def judge(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(POOL_CASES)):
        x, dmax, davg, k, s = inputs(seed, case)
        got = field(out, case)
        ym, dxm, ya, dxa = _reference(x, dmax, davg, k, s)
        ctx = _describe(x, k, s).rstrip(", ")
        ctx_b = _describe(x, k, s) + "random upstream gradient"
        with ck.part("`maxpool2d_forward` output", 1):
            expect_array(field(got, "max"), ym, "`maxpool2d_forward` output", TOL, ctx)
        with ck.part("`maxpool2d_backward` dx", 1):
            expect_array(field(got, "dmax"), dxm, "`maxpool2d_backward` dx", TOL, ctx_b)
        with ck.part("`avgpool2d_forward` output", 0.75):
            expect_array(field(got, "avg"), ya, "`avgpool2d_forward` output", TOL, ctx)
        with ck.part("`avgpool2d_backward` dx", 0.75):
            expect_array(field(got, "davg"), dxa, "`avgpool2d_backward` dx", TOL, ctx_b)
    for case in range(len(LEFTOVER_CASES)):
        x, dmax, davg, k, s = leftover_inputs(seed, case)
        got = field(out, f"leftover/{case}")
        ym, dxm, ya, dxa = _reference(x, dmax, davg, k, s)
        ctx = f"x {x.shape}, k={k}, stride={s}; {ROUNDING}"
        with ck.part("`maxpool2d_forward` and the other pooling functions with leftover rows (convention: floor, not "
                     "ceil mode)", 0.5):
            expect_array(field(got, "max"), ym, "`maxpool2d_forward` output", TOL, ctx)
            expect_array(field(got, "avg"), ya, "`avgpool2d_forward` output", TOL, ctx)
            expect_array(field(got, "dmax"), dxm, "`maxpool2d_backward` dx", TOL, ctx)
            expect_array(field(got, "davg"), dxa, "`avgpool2d_backward` dx", TOL, ctx)
    for case, ((n, c, h, w), f, kc, up) in enumerate(CONV_MAX_CASES):
        x, wt, b, k, da = conv_max_inputs(seed, case)
        got = field(out, f"conv_max/{case}")
        tx, tw, tb = tensor(x, True), tensor(wt, True), tensor(b, True)
        z = F.conv2d(tx, tw, tb)
        z.retain_grad()
        a = F.max_pool2d(z, k, k)
        a.backward(tensor(da))
        upstream = "dLoss/da = 1 as in 001 Q3" if up == "ones" else "random upstream gradient"
        ctx = (f"001 Q3: x {x.shape} -> {kc}x{kc} conv with bias, {f} filter{'s' if f > 1 else ''} -> global max "
               f"pooling of each {k}x{k} conv output (k={k}, stride={k}), {upstream}")
        with ck.part("`maxpool2d_forward` / `maxpool2d_backward` after a conv (global max, 001 Q3)", 1):
            expect_array(field(got, "a"), a.detach().numpy(), "`maxpool2d_forward` (global max of the conv output)", TOL, ctx)
            expect_array(field(got, "dz"), z.grad.numpy(), "`maxpool2d_backward` dLoss/dz (only the arg-max of each map "
                         "gets the gradient)", TOL, ctx)
        with ck.part("`maxpool2d_backward` chained with your `conv2d_backward` (001 Q3)", 1):
            fail_if_bad(field(got, "dz"), "`maxpool2d_backward` (feeding your `conv2d_backward`)", ctx)
            if field(got, "dw") is None:
                raise Fail(f"`maxpool2d_backward` gave no array of the conv output's shape, so the chain through your "
                           f"`conv2d_backward` could not run ({ctx})")
            for key, ref in (("dw", tw.grad), ("db", tb.grad), ("dx", tx.grad)):
                expect_array(field(got, key), ref.numpy(), f"`conv2d_backward` {key} after your `maxpool2d_backward` "
                             f"(dLoss/{key[1:]})", TOL, ctx)


ITEMS = [
    Item("hw1.pooling", 7,
         ("maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward"),
         probe, judge, title="Max and average pooling: forward and backward, global max after a conv (001 Q3)",
         forbid=NUMPY_ONLY, give=give),
]
