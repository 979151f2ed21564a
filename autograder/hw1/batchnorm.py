"""BatchNorm forward (train and eval, running statistics) and backward: the judges.

Student API (NumPy, inputs of shape (N, D)):
    batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5) -> (out, cache)
        state: dict with 'running_mean' and 'running_var', updated in place in train mode
        the PyTorch way: running = (1 - momentum) * running + momentum * batch statistic,
        with the unbiased batch variance.
    batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)
The oracle is torch.nn.functional.batch_norm, in float64, with autograd for the backward.
The inputs and the probes are in :mod:`autograder.probes.hw1.batchnorm`.
"""
from __future__ import annotations

from ..core import Bad, Item
from ..probes.hw1.batchnorm import (BACKWARD_CASES, EPS, FORWARD_CASES, MOMENTUM, backward_inputs, forward_inputs,
                                    probe_backward, probe_forward)
from .common import NUMPY_ONLY, expect_array, fail_if_bad, field, tensor

FWD = "`batchnorm_forward`"
BWD = "`batchnorm_backward`"


def judge_forward(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(FORWARD_CASES)):
        x1, x2, gamma, beta, rm0, rv0, xe = forward_inputs(seed, case)
        got = field(out, case)
        n, d = FORWARD_CASES[case]
        ctx = f"batch of {n}, {d} features"
        rm, rv = tensor(rm0), tensor(rv0)
        y1 = F.batch_norm(tensor(x1), rm, rv, tensor(gamma), tensor(beta), True, MOMENTUM, EPS).numpy()
        y2 = F.batch_norm(tensor(x2), rm, rv, tensor(gamma), tensor(beta), True, MOMENTUM, EPS).numpy()
        ye = F.batch_norm(tensor(xe), tensor(rm0), tensor(rv0), tensor(gamma), tensor(beta), False, MOMENTUM, EPS).numpy()
        with ck.part(f"{FWD} train-mode output", 3):
            expect_array(field(got, "y1"), y1, f"{FWD} train-mode output (first batch)", 1e-6, ctx)
            expect_array(field(got, "y2"), y2, f"{FWD} train-mode output (second batch)", 1e-6, ctx)
        with ck.part(f"{FWD} running statistics", 2):
            for y in (field(got, "y1"), field(got, "y2")):
                if isinstance(y, Bad) and y.kind == "error":  # the train-mode call raised: say that, not "wrong values"
                    fail_if_bad(y, f"{FWD}: state after two train-mode batches", ctx)
            expect_array(field(got, "rm"), rm.numpy(), f"{FWD}: state['running_mean'] after two train-mode batches", 1e-6,
                         ctx + ", PyTorch's momentum rule")
            expect_array(field(got, "rv"), rv.numpy(), f"{FWD}: state['running_var'] after two train-mode batches", 1e-6,
                         ctx + ", unbiased batch variance")
        with ck.part(f"{FWD} eval-mode output", 3):
            expect_array(field(got, "ye"), ye, f"{FWD} eval-mode output (uses the running statistics)", 1e-6, ctx)
            expect_array(field(got, "frozen_rm"), rm0, f"{FWD}: state['running_mean'] in eval mode (must not change)", 1e-12, ctx)
            expect_array(field(got, "frozen_rv"), rv0, f"{FWD}: state['running_var'] in eval mode (must not change)", 1e-12, ctx)


def judge_backward(out, seed, ck):
    import torch.nn.functional as F

    for case in range(len(BACKWARD_CASES)):
        x, gamma, beta, dout = backward_inputs(seed, case)
        got = field(out, case)
        n, d = BACKWARD_CASES[case]
        ctx = f"batch of {n}, {d} features, random upstream gradient"
        tx, tg, tb = tensor(x, True), tensor(gamma, True), tensor(beta, True)
        y = F.batch_norm(tx, None, None, tg, tb, True, MOMENTUM, EPS)
        y.backward(tensor(dout))
        with ck.part(f"{BWD} dx", 5):
            expect_array(field(got, "dx"), tx.grad.numpy(), f"{BWD} dx", 1e-6, ctx)
        with ck.part(f"{BWD} dgamma", 2.5):
            expect_array(field(got, "dgamma"), tg.grad.numpy(), f"{BWD} dgamma", 1e-6, ctx)
        with ck.part(f"{BWD} dbeta", 2.5):
            expect_array(field(got, "dbeta"), tb.grad.numpy(), f"{BWD} dbeta", 1e-6, ctx)


ITEMS = [
    Item("hw1.batchnorm_forward", 8, ("batchnorm_forward",), probe_forward, judge_forward,
         title="BatchNorm forward: train, eval, running statistics", forbid=NUMPY_ONLY),
    Item("hw1.batchnorm_backward", 10, ("batchnorm_forward", "batchnorm_backward"), probe_backward, judge_backward,
         title="BatchNorm backward: dx, dgamma, dbeta", forbid=NUMPY_ONLY),
]
