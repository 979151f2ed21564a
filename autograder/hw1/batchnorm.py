"""BatchNorm forward (train and eval, running statistics) and backward: the judges.

Student API (NumPy, inputs of shape (N, D)):
    batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5) -> (out, cache)
        state: dict with 'running_mean' and 'running_var', updated in place in train mode
        the PyTorch way: running = (1 - momentum) * running + momentum * batch statistic,
        with the unbiased batch variance.
    batchnorm_backward(dout, cache) -> (dx, dgamma, dbeta)
The oracle is torch.nn.functional.batch_norm, in float64, with autograd for the backward.

Two conventions split the running statistics, each confined to a small part of its
own (the other parts compare where the conventions agree): the momentum rule
(PyTorch's weights the new batch statistic; Keras's, TensorFlow's and CS231n's the
old value; they agree at momentum 0.5, where the main running-statistics part
compares) and the variance (PyTorch's running_var takes the unbiased batch variance,
CS231n's the biased one; the main part accepts either).
The inputs and the probes are in :mod:`autograder.probes.hw1.batchnorm`.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item
from ..probes.hw1.batchnorm import (BACKWARD_CASES, EPS, FORWARD_CASES, HALF, MOMENTUM, backward_inputs, forward_inputs,
                                    probe_backward, probe_forward)
from .common import NUMPY_ONLY, expect_array, fail_if_bad, field, matches, tensor

FWD = "`batchnorm_forward`"
BWD = "`batchnorm_backward`"


def _running(rm0, rv0, batches, momentum: float, new_weight: bool, unbiased: bool):
    """Running statistics after train-mode batches, under one of the conventions:
    ``new_weight`` (PyTorch: momentum weights the new batch statistic; else Keras,
    TensorFlow and CS231n: it weights the old running value), ``unbiased`` (PyTorch:
    the batch variance times N/(N-1); else CS231n's biased one)."""
    rm, rv = np.array(rm0, dtype=np.float64), np.array(rv0, dtype=np.float64)
    for x in batches:
        n = x.shape[0]
        mu, var = x.mean(axis=0), x.var(axis=0) * (n / (n - 1) if unbiased else 1.0)
        keep = (1 - momentum) if new_weight else momentum
        rm, rv = keep * rm + (1 - keep) * mu, keep * rv + (1 - keep) * var
    return rm, rv


def _call_failed(got, ctx: str) -> None:
    for y in (field(got, "y1"), field(got, "y2")):
        if isinstance(y, Bad) and y.kind == "error":  # the train-mode call raised: say that, not "wrong values"
            fail_if_bad(y, f"{FWD}: state after two train-mode batches", ctx)


MOMENTUM_RULES = ("running = (1 - momentum) * running + momentum * batch statistic (PyTorch's rule, this notebook's); "
                  "Keras, TensorFlow and CS231n weight the old value instead: running = momentum * running + "
                  "(1 - momentum) * batch statistic")
VARIANCE_RULES = ("running_var takes the unbiased batch variance, var * N / (N - 1) (PyTorch's convention, this "
                  "notebook's); CS231n's batchnorm_forward takes the biased one (divided by N)")


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
        rm_h, rv_h = tensor(rm0), tensor(rv0)
        for xb in (x1, x2):
            F.batch_norm(tensor(xb), rm_h, rv_h, tensor(gamma), tensor(beta), True, HALF, EPS)
        _, rv_h_biased = _running(rm0, rv0, (x1, x2), HALF, True, unbiased=False)
        _, rv_biased = _running(rm0, rv0, (x1, x2), MOMENTUM, True, unbiased=False)
        rm_keras, _ = _running(rm0, rv0, (x1, x2), MOMENTUM, False, unbiased=True)
        with ck.part(f"{FWD} train-mode output", 3):
            expect_array(field(got, "y1"), y1, f"{FWD} train-mode output (first batch)", 1e-6, ctx)
            expect_array(field(got, "y2"), y2, f"{FWD} train-mode output (second batch)", 1e-6, ctx)
        # Where the conventions agree: momentum 0.5 (both momentum rules), and either variance.
        with ck.part(f"{FWD} running statistics", 1):
            _call_failed(got, ctx)
            expect_array(field(got, "rm_half"), rm_h.numpy(), f"{FWD}: state['running_mean'] after two train-mode batches",
                         1e-6, ctx + f", momentum={HALF}")
            rv_got = field(got, "rv_half")
            if not matches(rv_got, rv_h_biased):
                expect_array(rv_got, rv_h.numpy(), f"{FWD}: state['running_var'] after two train-mode batches", 1e-6,
                             ctx + f", momentum={HALF}")
        with ck.part(f"{FWD} momentum rule (convention: PyTorch's, not Keras's)", 0.5):
            _call_failed(got, ctx)
            rm_got = field(got, "rm")
            if matches(rm_got, rm_keras):
                raise Fail(f"{FWD}: state['running_mean'] after two batches at momentum={MOMENTUM} follows the other "
                           f"momentum convention: {MOMENTUM_RULES} ({ctx})")
            expect_array(rm_got, rm.numpy(), f"{FWD}: state['running_mean'] after two train-mode batches", 1e-6,
                         ctx + f", momentum={MOMENTUM}; {MOMENTUM_RULES}")
            rv_got = field(got, "rv")
            if not matches(rv_got, rv_biased):
                expect_array(rv_got, rv.numpy(), f"{FWD}: state['running_var'] after two train-mode batches", 1e-6,
                             ctx + f", momentum={MOMENTUM}; {MOMENTUM_RULES}")
        with ck.part(f"{FWD} running variance (convention: unbiased as in PyTorch, not CS231n's biased)", 0.5):
            _call_failed(got, ctx)
            rv_got = field(got, "rv_half")
            if matches(rv_got, rv_h_biased):
                raise Fail(f"{FWD}: state['running_var'] holds the biased batch variance: {VARIANCE_RULES} ({ctx})")
            expect_array(rv_got, rv_h.numpy(), f"{FWD}: state['running_var'] after two train-mode batches", 1e-6,
                         ctx + f", momentum={HALF}; {VARIANCE_RULES}")
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
