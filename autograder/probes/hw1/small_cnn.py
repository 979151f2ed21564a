"""Probe half of 002 Q3, the small 1-D CNN: sizes and parameters, and what the
student's ``small_cnn_parameter_count``, ``small_cnn_forward``, ``small_cnn_grad_wc1``
and ``small_cnn_grad_wa`` return on them."""
from __future__ import annotations

import numpy as np

from autograder.probes.kit.convert import as_float64
from autograder.probes.kit.seeds import rng as seeded

# (length, hidden, kernel, padding, pool) for the parameter count. 002 Q3 itself is
# the first; in these the pooling windows reach the end of the conv output, so rounding
# its length down (PyTorch) and up (ceil mode) agree.
COUNT_CASES = [
    (785, 20, 2, 1, 2),
    (100, 7, 3, 2, 2),
    (41, 9, 2, 1, 3),
    (57, 4, 4, 0, 2),
]
# A conv output element is left over (no full pooling window): the convention part.
LEFTOVER_COUNT_CASES = [
    (64, 5, 2, 1, 3),
    (50, 12, 4, 0, 2),
]
# (input length, hidden units, conv kernel length, pooled length, label y) for the forward
# pass and the gradients (the pooled length is the shape of W^A's second axis). The network is 002 Q3's: one zero of padding at each end, a conv with one
# kernel and a bias, ReLU, average pooling (window 2, stride 2), FC + ReLU, one sigmoid
# output. The notebook shows length 785 and 20 hidden units.
NET_CASES = [
    (23, 4, 2, 12, 1),
    (41, 6, 2, 21, 0),
    (18, 3, 3, 9, 1),
    (33, 8, 2, 17, 0),
]


def net_inputs(seed: int, case: int):
    """x, y and the parameters (scaled so that some units of each ReLU are active and
    the sigmoid is not saturated)."""
    length, hidden, kernel, p, y = NET_CASES[case]
    rng = seeded(seed, 97, case)
    x = rng.normal(0.0, 1.0, length)
    params = {
        "wc": rng.normal(0.0, 1.0, kernel),
        "bc": float(rng.normal(0.0, 0.5)),
        "wa": rng.normal(0.0, 1.0 / np.sqrt(p), (hidden, p)),
        "bm": rng.normal(0.0, 0.3, hidden),
        "wf": rng.normal(0.0, 1.0 / np.sqrt(hidden), hidden),
        "bf": float(rng.normal(0.0, 0.3)),
    }
    return x, float(y), params


def _copy(params: dict) -> dict:
    return {k: (as_float64(v) if isinstance(v, np.ndarray) else float(v)) for k, v in params.items()}


def probe(ns, seed):
    out: dict = {"count": {}, "leftover": {}, "net": {}}
    for case, (length, hidden, kernel, padding, pool) in enumerate(COUNT_CASES):
        out["count"][case] = ns.call("small_cnn_parameter_count", length, hidden, kernel, padding, pool)
    for case, (length, hidden, kernel, padding, pool) in enumerate(LEFTOVER_COUNT_CASES):
        out["leftover"][case] = ns.call("small_cnn_parameter_count", length, hidden, kernel, padding, pool)
    for case in range(len(NET_CASES)):
        x, y, params = net_inputs(seed, case)
        out["net"][case] = {
            "z": ns.call("small_cnn_forward", as_float64(x), _copy(params)),
            "wc1": ns.call("small_cnn_grad_wc1", as_float64(x), y, _copy(params)),
            "wa": ns.call("small_cnn_grad_wa", as_float64(x), y, _copy(params)),
        }
    return out
