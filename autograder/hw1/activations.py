"""Activation functions and their derivatives (004 Q1(b)): the judge.

Student API (NumPy, element-wise on arrays of any shape):
    activation(name, x)       -> f(x)
    activation_grad(name, x)  -> f'(x), the element-wise derivative
    names: relu, leaky_relu (slope 0.01), prelu (a = 0.25), rrelu (eval mode: slope
    (1/8 + 1/3) / 2), elu (alpha = 1), selu, gelu (exact, erf), gelu_tanh;
    any other name raises ValueError.
The oracle is torch.nn.functional in float64, with autograd for the derivatives. The
inputs stay away from 0, where some of these functions have a kink. The inputs and
the probe are in :mod:`autograder.probes.hw1.activations`.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item
from ..probes.hw1.activations import NAMES, SHAPES, UNKNOWN, inputs, probe
from .common import NUMPY_ONLY, expect_array, field, tensor

RRELU_LOWER, RRELU_UPPER = 1.0 / 8, 1.0 / 3


def torch_activation(name: str, t):
    import torch
    import torch.nn.functional as F

    if name == "relu":
        return F.relu(t)
    if name == "leaky_relu":
        return F.leaky_relu(t, 0.01)
    if name == "prelu":
        return F.prelu(t, torch.tensor([0.25], dtype=t.dtype))
    if name == "rrelu":
        return F.rrelu(t, RRELU_LOWER, RRELU_UPPER, training=False)
    if name == "elu":
        return F.elu(t, 1.0)
    if name == "selu":
        return F.selu(t)
    if name == "gelu":
        return F.gelu(t)
    if name == "gelu_tanh":
        return F.gelu(t, approximate="tanh")
    raise KeyError(name)


def reference(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = tensor(x, True)
    y = torch_activation(name, t)
    y.sum().backward()  # element-wise, so the gradient of the sum is f'(x)
    return y.detach().numpy(), t.grad.numpy()


def _expect_value_error(got, call: str) -> None:
    if isinstance(got, Bad):
        if got.kind == "error" and got.message.startswith("ValueError"):
            return
        if got.kind == "error":
            raise Fail(f"{call} should raise ValueError for an unknown name, but the call raised {got.message}")
        raise Fail(got.describe(call))
    raise Fail(f"{call} should raise ValueError for an unknown name, but it returned a value")


def judge(out, seed, ck):
    for name in NAMES:
        f_call, g_call = f"`activation('{name}', x)`", f"`activation_grad('{name}', x)`"
        for case, shape in enumerate(SHAPES):
            x = inputs(seed, case)
            f, g = reference(name, x)
            ctx = f"input of shape {shape}, values in [-12, 12] away from 0"
            with ck.part(f_call, 0.5):
                expect_array(field(out, f"f/{name}/{case}"), f, f_call, 1e-9, ctx)
            with ck.part(g_call, 0.5):
                expect_array(field(out, f"g/{name}/{case}"), g, g_call, 1e-9, ctx + ", compared with autograd")
    for name in UNKNOWN:
        with ck.part("`activation` and `activation_grad` with an unknown name", 0.5):
            _expect_value_error(field(out, f"unknown/f/{name}"), f"`activation('{name}', x)`")
            _expect_value_error(field(out, f"unknown/g/{name}"), f"`activation_grad('{name}', x)`")


ITEMS = [
    Item("hw1.activations", 8, ("activation", "activation_grad"), probe, judge,
         title="Activations and their derivatives: ReLU family, ELU, SELU, GELU", forbid=NUMPY_ONLY),
]
