"""004 Q4, backprop by hand through a 1-D conv and overlapping maxima: the judge.

The network (004 Q4, generalized as its part (d) asks): inputs u_0..u_{n-1}, a kernel
k_0..k_{K-1} and a bias b give m = n - K + 1 conv outputs
z_j = sum_i k_i u_{j+i} + b (cross-correlation); v_j = max(0, z_j, z_{j+1}) for
j = 0..m-2 (overlapping windows: z_1 .. z_{m-2} feed two maxima each);
y = sum_j w_j v_j + a; L = 1/2 (y - t)^2. (004 Q4 itself: n = 5, K = 3, m = 3.)

Student API (NumPy):
    conv_max_grads(u, k, b, w, a, t) -> dict with
        "y" (float), "dw" (m-1,), "da" (float), "dz" (m,) = alpha, "dk" (K,), "db" (float)

The oracle is torch autograd in float64 (a max routes the gradient to its arg-max).
Cases: 004 Q4's sizes with the middle conv output winning both maxima (its gradient is
the sum of two paths) and with 0 winning a window (nothing flows through it), and
random cases of other sizes.

Convention: L = 1/2 (y - t)^2 (004 Q4, this notebook) or (y - t)^2 (PyTorch's MSELoss
without the 1/2): every gradient doubles. The main parts accept either factor; a small
part asks for the 1/2 and names both. The inputs and the probe are in
:mod:`autograder.probes.hw1.conv_max`.
"""
from __future__ import annotations

import numpy as np

from ..core import Fail, Item
from ..probes.hw1.conv_max import CASES, inputs, probe
from .common import NUMPY_ONLY, expect_array, expect_dict, expect_number, field, matches, tensor

FN = "`conv_max_grads`"
HALF = ("004 Q4 and this notebook use L = 1/2 (y - t)^2, so dL/da = y - t; without the 1/2 (PyTorch's MSELoss "
        "convention) every gradient doubles")
WHAT = {
    "dw": "dL/dw", "da": "dL/da", "dz": "dL/dz = alpha (a z that wins both maxima collects both paths)",
    "dk": "dL/dk", "db": "dL/db",
}


def reference(u, k, b, w, a, t) -> dict:
    import torch
    import torch.nn.functional as F

    tk, tb, tw, ta = tensor(k, True), tensor(b, True), tensor(w, True), tensor(a, True)
    z = F.conv1d(tensor(u)[None, None], tk[None, None])[0, 0] + tb
    z.retain_grad()
    v = torch.stack([torch.zeros_like(z[:-1]), z[:-1], z[1:]]).max(dim=0).values
    y = tw @ v + ta
    (0.5 * (y - t) ** 2).backward()
    return {"y": float(y.detach()), "dw": tw.grad.numpy(), "da": float(ta.grad), "dz": z.grad.numpy(),
            "dk": tk.grad.numpy(), "db": float(tb.grad)}


def _either(got, want, what: str, ctx: str) -> None:
    """The value at L = 1/2 (y - t)^2 or at (y - t)^2 (the convention part decides)."""
    if matches(got, 2 * np.asarray(want, dtype=np.float64), 1e-9):
        return
    if np.ndim(want) == 0:
        expect_number(got, float(want), what, 1e-9, ctx)
    else:
        expect_array(got, want, what, 1e-9, ctx)


def _describe(case: int, u, k) -> str:
    n, kk, kind = CASES[case]
    extra = {"both": "; the middle conv output wins both maxima (004 Q4's z_2)",
             "zero": "; 0 wins the first window"}.get(kind, "")
    return f"{n} inputs, {kk} kernel taps, {n - kk + 1} conv outputs{extra}"


def judge(out, seed, ck):
    for case in range(len(CASES)):
        u, k, b, w, a, t = inputs(seed, case)
        want = reference(u, k, b, w, a, t)
        ctx = _describe(case, u, k)
        got = field(out, case)
        with ck.part(f"{FN} y", 0.1):
            d = expect_dict(got, ["y"], FN)
            expect_number(d["y"], want["y"], f"{FN}: 'y' (the forward pass)", 1e-9, ctx)
        with ck.part(f"{FN} dL/dw and dL/da", 0.2):
            d = expect_dict(got, ["dw", "da"], FN)
            _either(d["dw"], want["dw"], f"{FN}: 'dw' ({WHAT['dw']})", ctx)
            _either(d["da"], want["da"], f"{FN}: 'da' ({WHAT['da']})", ctx)
        with ck.part(f"{FN} dL/dz through the maxima", 0.25):
            d = expect_dict(got, ["dz"], FN)
            _either(d["dz"], want["dz"], f"{FN}: 'dz' ({WHAT['dz']})", ctx)
        with ck.part(f"{FN} dL/dk and dL/db", 0.2):
            d = expect_dict(got, ["dk", "db"], FN)
            _either(d["dk"], want["dk"], f"{FN}: 'dk' ({WHAT['dk']})", ctx)
            _either(d["db"], want["db"], f"{FN}: 'db' ({WHAT['db']})", ctx)
    with ck.part(f"{FN} with L = 1/2 (y - t)^2 (convention: 004 Q4's, not MSELoss's)", 0.25):
        for case in range(len(CASES)):
            u, k, b, w, a, t = inputs(seed, case)
            want = reference(u, k, b, w, a, t)
            d = expect_dict(field(out, case), ["da"], FN)
            if matches(d["da"], 2 * want["da"], 1e-9):
                raise Fail(f"{FN}: 'da' is 2 (y - t): {HALF} ({_describe(case, u, k)})")
            expect_number(d["da"], want["da"], f"{FN}: 'da'", 1e-9, f"{_describe(case, u, k)}; {HALF}")


ITEMS = [
    Item("hw1.conv_max_backprop", 2, ("conv_max_grads",), probe, judge,
         title="004 Q4: backprop by hand through a 1-D conv and overlapping maxima", forbid=NUMPY_ONLY),
]
