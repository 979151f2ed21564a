"""002 Q3, a small 1-D CNN: its parameter count and two gradients of its cost, the judge.

The network (002 Q3): input x of length L; one zero of padding at each end; Conv1, one
kernel W^C = [W^C_1, ..., W^C_K] (K = 2 in the question) with a bias b^C,
c_i = ReLU(W^C_1 xp_i + W^C_2 xp_{i+1} + b^C) (cross-correlation: W^C_1 is the left tap);
AVGPOOL1, a_j = (c_{2j} + c_{2j+1}) / 2 (window 2, stride 2; a left-over last c is
dropped); FC1, f_i = ReLU(sum_j W^A_ij a_j + b^M_i), H units (20 in the question);
z = sigmoid(sum_i W^F_i f_i + b^F); Cost = -y log z - (1 - y) log(1 - z), one sample.

Student API (NumPy):
    small_cnn_parameter_count(length, hidden, kernel=2, padding=1, pool=2) -> dict with
        "pooled_length", "conv", "fc1", "output", "total"
        (a conv with one kernel of `kernel` taps and a bias, zero padding `padding` at each
         end, average pooling with window and stride `pool`, rounded down)
    small_cnn_forward(x, params) -> z (a float)
    small_cnn_grad_wc1(x, y, params) -> dCost/dW^C_1 (a float)
    small_cnn_grad_wa(x, y, params) -> dCost/dW^A, of W^A's shape (H, P): entry [j, i] is
        dCost/dW^A_ji, the weight from a_i to hidden unit j
    params: {"wc": (K,), "bc": float, "wa": (H, P), "bm": (H,), "wf": (H,), "bf": float}

Every expected number comes from code: the parameter counts from real torch modules
(Conv1d, AvgPool1d, Linear) and a forward pass of an empty batch, the gradients from
torch autograd in float64, on other lengths, hidden sizes and kernel lengths than the
notebook shows, with random parameters.

Convention: where the pooling windows leave the last conv output over, PyTorch rounds
the pooled length down and ceil mode rounds it up; those sizes are a small part of their
own whose reason names both. The inputs and the probe are in
:mod:`autograder.probes.hw1.small_cnn`.
"""
from __future__ import annotations

import numpy as np

from ..core import Fail, Item
from ..probes.hw1.small_cnn import COUNT_CASES, LEFTOVER_COUNT_CASES, NET_CASES, net_inputs, probe
from .common import NUMPY_ONLY, expect_array, expect_dict, expect_number, field, matches, tensor

COUNT, FWD = "`small_cnn_parameter_count`", "`small_cnn_forward`"
G_WC1, G_WA = "`small_cnn_grad_wc1`", "`small_cnn_grad_wa`"
KEYS = {"pooled_length": 0.2, "conv": 0.2, "fc1": 0.3, "output": 0.2, "total": 0.1}
ROUNDING = ("the last conv output has no full pooling window: PyTorch's AvgPool1d (ceil_mode=False) drops it and "
            "rounds the pooled length down; ceil mode (Caffe, ceil_mode=True) keeps a partial window")


def oracle_count(length: int, hidden: int, kernel: int, padding: int, pool: int, ceil: bool = False) -> dict:
    """The parameter count of 002 Q3's network from torch modules (no arithmetic of ours)."""
    import torch
    import torch.nn as nn

    conv = nn.Conv1d(1, 1, kernel, padding=padding)
    pooled = nn.AvgPool1d(pool, stride=pool, ceil_mode=ceil)(conv(torch.zeros(0, 1, length))).shape[-1]
    fc1, output = nn.Linear(pooled, hidden), nn.Linear(hidden, 1)
    count = {"pooled_length": int(pooled)}
    for name, mod in (("conv", conv), ("fc1", fc1), ("output", output)):
        count[name] = int(sum(p.numel() for p in mod.parameters()))
    count["total"] = count["conv"] + count["fc1"] + count["output"]
    return count


def reference(x: np.ndarray, y: float, params: dict):
    """z, dCost/dW^C_1 and dCost/dW^A by torch autograd, float64."""
    import torch
    import torch.nn.functional as F

    wc, wa = tensor(params["wc"], True), tensor(params["wa"], True)
    xp = F.pad(tensor(x)[None, None], (1, 1))
    c = F.relu(F.conv1d(xp, wc[None, None]) + params["bc"])
    a = F.avg_pool1d(c, 2, 2)[0, 0]
    f = F.relu(wa @ a + tensor(params["bm"]))
    z = torch.sigmoid(tensor(params["wf"]) @ f + params["bf"])
    cost = F.binary_cross_entropy(z, torch.tensor(y, dtype=torch.float64), reduction="sum")
    cost.backward()
    return float(z.detach()), float(wc.grad[0]), wa.grad.numpy()


def _describe_count(case) -> str:
    length, hidden, kernel, padding, pool = case
    tag = " (002 Q3's network)" if case == COUNT_CASES[0] else ""
    return f"length={length}, hidden={hidden}, kernel={kernel}, padding={padding}, pool={pool}{tag}"


def judge(out, seed, ck):
    counts = field(out, "count")
    for case, spec in enumerate(COUNT_CASES):
        want = oracle_count(*spec)
        ctx = _describe_count(spec)
        got = field(counts, case)
        for key, weight in KEYS.items():
            with ck.part(f"{COUNT} {key}", weight):
                d = expect_dict(got, [key], f"{COUNT}({ctx})")
                expect_number(d[key], want[key], f"{COUNT}: '{key}'", 0, ctx)
    leftovers = field(out, "leftover")
    for case, spec in enumerate(LEFTOVER_COUNT_CASES):
        want, ceil = oracle_count(*spec), oracle_count(*spec, ceil=True)
        ctx = _describe_count(spec)
        with ck.part(f"{COUNT} with a left-over conv output (convention: floor, not ceil mode)", 0.25):
            d = expect_dict(field(leftovers, case), list(KEYS), f"{COUNT}({ctx})")
            if all(matches(d[k], ceil[k], 0) for k in KEYS):
                raise Fail(f"{COUNT}: your counts round the pooled length up ({ceil['pooled_length']}, expected "
                           f"{want['pooled_length']}): {ROUNDING} ({ctx})")
            for key in KEYS:
                expect_number(d[key], want[key], f"{COUNT}: '{key}'", 0, f"{ctx}; {ROUNDING}")
    nets = field(out, "net")
    for case, (length, hidden, kernel, pooled, y) in enumerate(NET_CASES):
        x, y, params = net_inputs(seed, case)
        z, g_wc1, g_wa = reference(x, y, params)
        got = field(nets, case)
        ctx = f"input of length {length}, {hidden} hidden units, conv kernel of {kernel}, y = {y:g}, random parameters"
        with ck.part(FWD, 0.25):
            expect_number(field(got, "z"), z, f"{FWD} z", 1e-9, ctx)
        with ck.part(G_WC1, 0.5):
            expect_number(field(got, "wc1"), g_wc1, f"{G_WC1}: dCost/dW^C_1", 1e-7, ctx + ", compared with autograd")
        with ck.part(G_WA, 0.5):
            expect_array(field(got, "wa"), g_wa, f"{G_WA}: dCost/dW^A", 1e-7,
                         ctx + f", W^A of shape {g_wa.shape} (hidden unit, pooled position), compared with autograd")


ITEMS = [
    Item("hw1.small_cnn_1d", 5,
         ("small_cnn_parameter_count", "small_cnn_forward", "small_cnn_grad_wc1", "small_cnn_grad_wa"),
         probe, judge, title="002 Q3: a small 1-D CNN, its parameter count and dCost/dW^C_1, dCost/dW^A by hand",
         forbid=NUMPY_ONLY),
]
