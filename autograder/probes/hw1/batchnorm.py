"""Probe half of BatchNorm forward and backward: inputs, and what the student's
``batchnorm_forward`` / ``batchnorm_backward`` return on them."""
from __future__ import annotations

import numpy as np

from autograder.probes.kit.convert import as_float64, unpack
from autograder.probes.kit.seeds import rng as seeded

# (N, D) per case; the notebook shows (4, 3) and (8, 5), the grader uses others.
FORWARD_CASES = [(7, 5), (3, 11), (16, 2)]
BACKWARD_CASES = [(6, 4), (2, 9), (11, 3)]
EPS, MOMENTUM = 1e-5, 0.1
# At momentum 0.5 PyTorch's rule (weight of the new statistic) and Keras's / CS231n's
# (weight of the old one) give the same running statistics: the grader compares
# there, and checks the rule itself at MOMENTUM in a part of its own.
HALF = 0.5


def forward_inputs(seed: int, case: int):
    n, d = FORWARD_CASES[case]
    rng = seeded(seed, 10, case)
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
        x1, x2, gamma, beta, rm0, rv0, xe = forward_inputs(seed, case)
        state = {"running_mean": rm0.copy(), "running_var": rv0.copy()}
        y1, _ = unpack(ns.call("batchnorm_forward", as_float64(x1), gamma.copy(), beta.copy(), state, True, MOMENTUM, EPS), 2, "batchnorm_forward")
        y2, _ = unpack(ns.call("batchnorm_forward", as_float64(x2), gamma.copy(), beta.copy(), state, True, MOMENTUM, EPS), 2, "batchnorm_forward")
        rm, rv = state.get("running_mean"), state.get("running_var")
        half = {"running_mean": rm0.copy(), "running_var": rv0.copy()}
        ns.call("batchnorm_forward", as_float64(x1), gamma.copy(), beta.copy(), half, True, HALF, EPS)
        ns.call("batchnorm_forward", as_float64(x2), gamma.copy(), beta.copy(), half, True, HALF, EPS)
        frozen = {"running_mean": rm0.copy(), "running_var": rv0.copy()}
        ye, _ = unpack(ns.call("batchnorm_forward", as_float64(xe), gamma.copy(), beta.copy(), frozen, False, MOMENTUM, EPS), 2, "batchnorm_forward")
        out[case] = {"y1": y1, "y2": y2, "rm": rm, "rv": rv, "ye": ye,
                     "rm_half": half.get("running_mean"), "rv_half": half.get("running_var"),
                     "frozen_rm": frozen.get("running_mean"), "frozen_rv": frozen.get("running_var")}
    return out


def backward_inputs(seed: int, case: int):
    n, d = BACKWARD_CASES[case]
    rng = seeded(seed, 11, case)
    x = rng.normal(1.0, 2.0, (n, d))
    gamma = rng.normal(1.0, 0.5, d)
    beta = rng.normal(0.0, 1.0, d)
    dout = rng.normal(0.0, 1.0, (n, d))  # random upstream gradient: all-ones hides bugs
    return x, gamma, beta, dout


def probe_backward(ns, seed):
    out = {}
    for case in range(len(BACKWARD_CASES)):
        x, gamma, beta, dout = backward_inputs(seed, case)
        d = x.shape[1]
        state = {"running_mean": np.zeros(d), "running_var": np.ones(d)}
        _, cache = unpack(ns.call("batchnorm_forward", as_float64(x), gamma.copy(), beta.copy(), state, True, MOMENTUM, EPS), 2, "batchnorm_forward")
        dx, dgamma, dbeta = unpack(ns.call("batchnorm_backward", as_float64(dout), cache), 3, "batchnorm_backward")
        out[case] = {"dx": dx, "dgamma": dgamma, "dbeta": dbeta}
    return out
