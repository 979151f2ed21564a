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

Conventions: LeakyReLU's default slope (PyTorch 0.01, TensorFlow 0.2, Keras 0.3) and
RReLU's eval-mode slope (PyTorch's (lower + upper)/2; the paper divides by the mean of
U(3, 8)) split the negative side only: for these two names the positive side is the
main part and the negative side a small part whose reason names both. The exact GELU
and its tanh approximation (JAX's default for gelu) differ by 5e-4 at most: for both
GELU names the main part compares to 2e-3 (relative to the largest value), and a small
part asks for the named form to 1e-9, with a reason that says which form it recognized.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item
from ..probes.hw1.activations import NAMES, SHAPES, UNKNOWN, inputs, probe
from .common import NUMPY_ONLY, expect_array, field, matches, tensor

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


# Where a library or a paper gives the same name another negative slope: the negative
# side of these two is a small part of its own (the positive side, where every
# convention agrees, is compared in the main part).
NEGATIVE_SIDE = {
    "leaky_relu": ("LeakyReLU's negative slope here is 0.01 (PyTorch's default, 004 Q1(b)); TensorFlow's "
                   "tf.nn.leaky_relu defaults to 0.2 and Keras's LeakyReLU to 0.3",
                   {"0.2": 0.2, "0.3": 0.3}),
    "rrelu": ("RReLU in eval mode multiplies negative inputs by (lower + upper) / 2 = 0.2292 (PyTorch, lower = 1/8, "
              "upper = 1/3); the RReLU paper divides them by (l + u) / 2 = 5.5 with l = 3, u = 8 (a slope of 0.1818)",
              {"2/11": 2 / 11}),
}
GELU_FORMS = ("'gelu' is the exact x Phi(x) with erf (PyTorch's and TensorFlow's default), 'gelu_tanh' the tanh "
              "approximation (JAX's default for gelu)")


def _gelu_forms(x: np.ndarray) -> dict:
    """The values (and derivatives) of the three GELU forms the handouts name."""
    exact_f, exact_g = reference("gelu", x)
    tanh_f, tanh_g = reference("gelu_tanh", x)
    s = 1 / (1 + np.exp(-1.702 * x))
    return {"exact (erf)": (exact_f, exact_g), "tanh approximation": (tanh_f, tanh_g),
            "x sigmoid(1.702 x) approximation": (x * s, s + 1.702 * x * s * (1 - s))}


def _expect_activation(got, want, what: str, ctx: str, name: str, x: np.ndarray, which: int) -> None:
    """Compare, and where the values are another GELU form, say which."""
    try:
        expect_array(got, want, what, 1e-9, ctx)
    except Fail:
        if name in ("gelu", "gelu_tanh"):
            for form, vals in _gelu_forms(x).items():
                if matches(got, vals[which], 1e-9):
                    raise Fail(f"{what}: your values are the {form} of GELU: {GELU_FORMS} ({ctx})")
        raise


def judge(out, seed, ck):
    for name in NAMES:
        f_call, g_call = f"`activation('{name}', x)`", f"`activation_grad('{name}', x)`"
        for case, shape in enumerate(SHAPES):
            x = inputs(seed, case)
            f, g = reference(name, x)
            ctx = f"input of shape {shape}, values in [-12, 12] away from 0"
            got_f, got_g = field(out, f"f/{name}/{case}"), field(out, f"g/{name}/{case}")
            calls = ((f_call, got_f, f, ctx, 0), (g_call, got_g, g, ctx + ", compared with autograd", 1))
            if name in NEGATIVE_SIDE:
                rule, others = NEGATIVE_SIDE[name]
                pos = x > 0
                for call, got, want, w_ctx, which in calls:
                    with ck.part(call, 0.35):
                        arr = expect_array(got, want, call, np.inf, w_ctx)  # type and shape
                        expect_array(arr[pos], want[pos], f"{call} for x > 0", 1e-9, w_ctx)
                    with ck.part(f"{call} for x < 0 (convention: PyTorch's slope)", 0.15):
                        arr = expect_array(got, want, call, np.inf, w_ctx)
                        neg = ~pos
                        slope = (want[neg] / x[neg]) if which == 0 else want[neg]
                        for label, other in others.items():
                            alt = other * (x[neg] if which == 0 else np.ones_like(x[neg]))
                            if matches(arr[neg], alt, 1e-9):
                                raise Fail(f"{call} for x < 0: your negative slope is {label} instead of "
                                           f"{float(slope[0]):.4g}: {rule} ({w_ctx})")
                        expect_array(arr[neg], want[neg], f"{call} for x < 0", 1e-9, f"{w_ctx}; {rule}")
            elif name in ("gelu", "gelu_tanh"):
                # The exact GELU and its tanh approximation differ by 5e-4 at most (their
                # derivatives by 4e-4 relative): the main part compares to a tolerance both
                # meet, a small part asks for this form.
                for call, got, want, w_ctx, which in calls:
                    with ck.part(call, 0.35):
                        expect_array(got, want, call, 2e-3, w_ctx)
                    with ck.part(f"{call}, this form of GELU (convention: exact for 'gelu', as PyTorch)", 0.15):
                        _expect_activation(got, want, call, w_ctx, name, x, which)
            else:
                for call, got, want, w_ctx, which in calls:
                    with ck.part(call, 0.5):
                        _expect_activation(got, want, call, w_ctx, name, x, which)
    for name in UNKNOWN:
        with ck.part("`activation` and `activation_grad` with an unknown name", 0.5):
            _expect_value_error(field(out, f"unknown/f/{name}"), f"`activation('{name}', x)`")
            _expect_value_error(field(out, f"unknown/g/{name}"), f"`activation_grad('{name}', x)`")


ITEMS = [
    Item("hw1.activations", 7, ("activation", "activation_grad"), probe, judge,
         title="Activations and their derivatives: ReLU family, ELU, SELU, GELU", forbid=NUMPY_ONLY),
]
