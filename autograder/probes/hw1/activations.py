"""Probe half of the activations item: inputs away from the kinks, and what the
student's ``activation`` and ``activation_grad`` return for every name."""
from __future__ import annotations

import numpy as np

from autograder.probes.kit.convert import as_float64
from autograder.probes.kit.seeds import rng as seeded

NAMES = ("relu", "leaky_relu", "prelu", "rrelu", "elu", "selu", "gelu", "gelu_tanh")
SHAPES = [(6, 9), (4, 5, 7), (33,)]
UNKNOWN = ("swish", "sigmoid_relu")


def inputs(seed: int, case: int) -> np.ndarray:
    rng = seeded(seed, 50, case)
    z = rng.normal(0.0, 3.0, SHAPES[case])
    x = np.where(z < 0, -1.0, 1.0) * (0.05 + np.abs(z))  # no input closer than 0.05 to a kink
    return np.clip(x, -12.0, 12.0)


def probe(ns, seed):
    out: dict = {}
    for case in range(len(SHAPES)):
        x = inputs(seed, case)
        for name in NAMES:
            out[f"f/{name}/{case}"] = ns.call("activation", name, as_float64(x))
            out[f"g/{name}/{case}"] = ns.call("activation_grad", name, as_float64(x))
    x = inputs(seed, 0)
    for name in UNKNOWN:
        out[f"unknown/f/{name}"] = ns.call("activation", name, as_float64(x))
        out[f"unknown/g/{name}"] = ns.call("activation_grad", name, as_float64(x))
    return out
