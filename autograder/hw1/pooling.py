"""Max and average pooling, forward and backward, without padding.

Student API (NumPy, x of shape (N, C, H, W), k and stride ints):
    maxpool2d_forward(x, k, stride) -> out (N, C, H_out, W_out)
    maxpool2d_backward(dout, x, k, stride) -> dx
    avgpool2d_forward(x, k, stride) -> out
    avgpool2d_backward(dout, x, k, stride) -> dx
    H_out = floor((H - k) / stride) + 1, and the same for W (PyTorch's default).
The oracle is torch.nn.functional.max_pool2d / avg_pool2d in float64 with autograd.
Inputs are continuous random numbers, so no window holds a tie for its maximum.
Overlapping windows (stride < k) are among the cases: gradients must add up there.
"""
from __future__ import annotations

from ..core import Item, expect_array
from .common import NUMPY_ONLY, as_float64, rng_for, tensor

TOL = 1e-7

# (N, C, H, W, k, stride); the notebook shows other sizes.
POOL_CASES = [
    (2, 3, 6, 8, 2, 2),    # windows tile the image
    (2, 2, 8, 10, 3, 2),   # overlapping windows, a leftover row and column (floor)
    (1, 3, 6, 7, 3, 1),    # heavily overlapping
    (3, 2, 11, 10, 4, 3),  # overlapping, leftovers
    (2, 1, 5, 9, 2, 3),    # stride > k: gaps between windows
]


def _inputs(seed, case):
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
        x, dmax, davg, k, s = _inputs(seed, case)
        out[case] = {
            "max": ns.call("maxpool2d_forward", as_float64(x), k, s),
            "dmax": ns.call("maxpool2d_backward", as_float64(dmax), as_float64(x), k, s),
            "avg": ns.call("avgpool2d_forward", as_float64(x), k, s),
            "davg": ns.call("avgpool2d_backward", as_float64(davg), as_float64(x), k, s),
        }
    return out


def judge(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(POOL_CASES)):
        x, dmax, davg, k, s = _inputs(seed, case)
        got = out.get(case, {}) if isinstance(out, dict) else {}
        overlap = "overlapping windows, " if s < k else ""
        ctx = f"x {x.shape}, k={k}, stride={s}"
        ctx_b = f"x {x.shape}, k={k}, stride={s}, {overlap}random upstream gradient"
        tx = tensor(x, True)
        ym = F.max_pool2d(tx, k, s)
        ym.backward(tensor(dmax))
        ta = tensor(x, True)
        ya = F.avg_pool2d(ta, k, s)
        ya.backward(tensor(davg))
        with ck.part("max forward", 2):
            expect_array(got.get("max"), ym.detach().numpy(), "maxpool2d_forward output", TOL, ctx)
        with ck.part("max backward", 2):
            expect_array(got.get("dmax"), tx.grad.numpy(), "maxpool2d_backward dx", TOL, ctx_b)
        with ck.part("avg forward", 1.5):
            expect_array(got.get("avg"), ya.detach().numpy(), "avgpool2d_forward output", TOL, ctx)
        with ck.part("avg backward", 1.5):
            expect_array(got.get("davg"), ta.grad.numpy(), "avgpool2d_backward dx", TOL, ctx_b)


ITEMS = [
    Item("hw1.pooling", 7,
         ("maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward", "avgpool2d_backward"),
         probe, judge, title="Max and average pooling: forward and backward", forbid=NUMPY_ONLY),
]
