"""Max and average pooling, forward and backward, without padding: the judge.

Student API (NumPy, x of shape (N, C, H, W), k and stride ints):
    maxpool2d_forward(x, k, stride) -> out (N, C, H_out, W_out)
    maxpool2d_backward(dout, x, k, stride) -> dx
    avgpool2d_forward(x, k, stride) -> out
    avgpool2d_backward(dout, x, k, stride) -> dx
    H_out = floor((H - k) / stride) + 1, and the same for W (PyTorch's default).
The oracle is torch.nn.functional.max_pool2d / avg_pool2d in float64 with autograd.
Inputs are continuous random numbers, so no window holds a tie for its maximum.
Overlapping windows (stride < k) are among the cases: gradients must add up there.
The inputs and the probe are in :mod:`autograder.probes.hw1.pooling`.
"""
from __future__ import annotations

from ..core import Item
from ..probes.hw1.pooling import POOL_CASES, inputs, probe
from .common import NUMPY_ONLY, expect_array, field, tensor

TOL = 1e-7


def judge(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(POOL_CASES)):
        x, dmax, davg, k, s = inputs(seed, case)
        got = field(out, case)
        overlap = "overlapping windows, " if s < k else ""
        ctx = f"x {x.shape}, k={k}, stride={s}"
        ctx_b = f"x {x.shape}, k={k}, stride={s}, {overlap}random upstream gradient"
        tx = tensor(x, True)
        ym = F.max_pool2d(tx, k, s)
        ym.backward(tensor(dmax))
        ta = tensor(x, True)
        ya = F.avg_pool2d(ta, k, s)
        ya.backward(tensor(davg))
        with ck.part("`maxpool2d_forward` output", 2):
            expect_array(field(got, "max"), ym.detach().numpy(), "`maxpool2d_forward` output", TOL, ctx)
        with ck.part("`maxpool2d_backward` dx", 2):
            expect_array(field(got, "dmax"), tx.grad.numpy(), "`maxpool2d_backward` dx", TOL, ctx_b)
        with ck.part("`avgpool2d_forward` output", 1.5):
            expect_array(field(got, "avg"), ya.detach().numpy(), "`avgpool2d_forward` output", TOL, ctx)
        with ck.part("`avgpool2d_backward` dx", 1.5):
            expect_array(field(got, "davg"), ta.grad.numpy(), "`avgpool2d_backward` dx", TOL, ctx_b)


ITEMS = [
    Item("hw1.pooling", 7,
         ("maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward"),
         probe, judge, title="Max and average pooling: forward and backward", forbid=NUMPY_ONLY),
]
