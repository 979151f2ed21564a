"""BatchNorm forward (train and eval, running statistics) and backward.

Student API (NumPy, inputs of shape (N, D)):
    batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5) -> (out, cache)
        state: dict with 'running_mean' and 'running_var', updated in place in train mode
        the PyTorch way: running = (1 - momentum) * running + momentum * batch statistic,
        with the unbiased batch variance.
    batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)
The oracle is torch.nn.functional.batch_norm, in float64, with autograd for the backward.
"""
from __future__ import annotations

import numpy as np

from ..core import Item, expect_array
from .common import NUMPY_ONLY, as_float64, rng_for, tensor, unpack

# (N, D) per case; the notebook shows (4, 3) and (8, 5), the grader uses others.
FORWARD_CASES = [(7, 5), (3, 11), (16, 2)]
BACKWARD_CASES = [(6, 4), (2, 9), (11, 3)]
EPS, MOMENTUM = 1e-5, 0.1


def _forward_inputs(seed: int, case: int):
    n, d = FORWARD_CASES[case]
    rng = rng_for(seed, 10, case)
    x1 = rng.normal(2.0, 3.0, (n, d))
    x2 = rng.normal(-1.0, 0.5, (n, d))
    gamma = rng.normal(1.0, 0.5, d)
    beta = rng.normal(0.0, 1.0, d)
    rm0 = rng.normal(0.0, 1.0, d)
    rv0 = rng.uniform(0.5, 2.0, d)
    xe = rng.normal(0.5, 2.0, (n, d))
    return x1, x2, gamma, beta, rm0, rv0, xe


def probe_forward(ns, seed):
    out = {}
    for case in range(len(FORWARD_CASES)):
        x1, x2, gamma, beta, rm0, rv0, xe = _forward_inputs(seed, case)
        state = {"running_mean": rm0.copy(), "running_var": rv0.copy()}
        y1, _ = unpack(ns.call("batchnorm_forward", as_float64(x1), gamma.copy(), beta.copy(), state, True, MOMENTUM, EPS), 2, "batchnorm_forward")
        y2, _ = unpack(ns.call("batchnorm_forward", as_float64(x2), gamma.copy(), beta.copy(), state, True, MOMENTUM, EPS), 2, "batchnorm_forward")
        rm, rv = state.get("running_mean"), state.get("running_var")
        frozen = {"running_mean": rm0.copy(), "running_var": rv0.copy()}
        ye, _ = unpack(ns.call("batchnorm_forward", as_float64(xe), gamma.copy(), beta.copy(), frozen, False, MOMENTUM, EPS), 2, "batchnorm_forward")
        out[case] = {"y1": y1, "y2": y2, "rm": rm, "rv": rv, "ye": ye,
                     "frozen_rm": frozen.get("running_mean"), "frozen_rv": frozen.get("running_var")}
    return out


def judge_forward(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(FORWARD_CASES)):
        x1, x2, gamma, beta, rm0, rv0, xe = _forward_inputs(seed, case)
        got = out.get(case, {}) if isinstance(out, dict) else {}
        n, d = FORWARD_CASES[case]
        ctx = f"batch of {n}, {d} features"
        rm, rv = tensor(rm0), tensor(rv0)
        y1 = F.batch_norm(tensor(x1), rm, rv, tensor(gamma), tensor(beta), True, MOMENTUM, EPS).numpy()
        y2 = F.batch_norm(tensor(x2), rm, rv, tensor(gamma), tensor(beta), True, MOMENTUM, EPS).numpy()
        ye = F.batch_norm(tensor(xe), tensor(rm0), tensor(rv0), tensor(gamma), tensor(beta), False, MOMENTUM, EPS).numpy()
        with ck.part("train output", 3):
            expect_array(got.get("y1"), y1, "train-mode output", 1e-6, ctx)
            expect_array(got.get("y2"), y2, "train-mode output (second batch)", 1e-6, ctx)
        with ck.part("running stats", 2):
            expect_array(got.get("rm"), rm.numpy(), "running_mean after two batches", 1e-6, ctx + ", PyTorch's momentum rule")
            expect_array(got.get("rv"), rv.numpy(), "running_var after two batches", 1e-6, ctx + ", unbiased batch variance")
        with ck.part("eval output", 3):
            expect_array(got.get("ye"), ye, "eval-mode output (uses the running statistics)", 1e-6, ctx)
            expect_array(got.get("frozen_rm"), rm0, "running_mean in eval mode (must not change)", 1e-12, ctx)
            expect_array(got.get("frozen_rv"), rv0, "running_var in eval mode (must not change)", 1e-12, ctx)


def _backward_inputs(seed: int, case: int):
    n, d = BACKWARD_CASES[case]
    rng = rng_for(seed, 11, case)
    x = rng.normal(1.0, 2.0, (n, d))
    gamma = rng.normal(1.0, 0.5, d)
    beta = rng.normal(0.0, 1.0, d)
    dout = rng.normal(0.0, 1.0, (n, d))  # random upstream gradient: all-ones hides bugs
    return x, gamma, beta, dout


def probe_backward(ns, seed):
    out = {}
    for case in range(len(BACKWARD_CASES)):
        x, gamma, beta, dout = _backward_inputs(seed, case)
        d = x.shape[1]
        state = {"running_mean": np.zeros(d), "running_var": np.ones(d)}
        _, cache = unpack(ns.call("batchnorm_forward", as_float64(x), gamma.copy(), beta.copy(), state, True, MOMENTUM, EPS), 2, "batchnorm_forward")
        dx, dgamma, dbeta = unpack(ns.call("batchnorm_backward", as_float64(dout), cache), 3, "batchnorm_backward")
        out[case] = {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}
    return out


def judge_backward(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(BACKWARD_CASES)):
        x, gamma, beta, dout = _backward_inputs(seed, case)
        got = out.get(case, {}) if isinstance(out, dict) else {}
        n, d = BACKWARD_CASES[case]
        ctx = f"batch of {n}, {d} features, random upstream gradient"
        tx, tg, tb = tensor(x, True), tensor(gamma, True), tensor(beta, True)
        y = F.batch_norm(tx, None, None, tg, tb, True, MOMENTUM, EPS)
        y.backward(tensor(dout))
        with ck.part("dx", 5):
            expect_array(got.get("dx"), tx.grad.numpy(), "dx", 1e-6, ctx)
        with ck.part("dgamma", 2.5):
            expect_array(got.get("dgamma"), tg.grad.numpy(), "dgamma", 1e-6, ctx)
        with ck.part("dbeta", 2.5):
            expect_array(got.get("dbeta"), tb.grad.numpy(), "dbeta", 1e-6, ctx)


ITEMS = [
    Item("hw1.batchnorm_forward", 8, ("batchnorm_forward",), probe_forward, judge_forward,
         title="BatchNorm forward: train, eval, running statistics", forbid=NUMPY_ONLY),
    Item("hw1.batchnorm_backward", 10, ("batchnorm_forward", "batchnorm_backward"), probe_backward, judge_backward,
         title="BatchNorm backward: dx, dgamma, dbeta", forbid=NUMPY_ONLY),
]
