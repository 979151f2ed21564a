"""Probe half of SGD with momentum: inputs, the student's step and gradient, their
chaining over a few samples (the student's functions only), and the worked example."""
from __future__ import annotations

import numpy as np

from ..runtime import Bad
from autograder.probes.kit.convert import as_float64, unpack
from autograder.probes.kit.seeds import rng as seeded

# Shapes of theta in the step cases (the notebook shows (4,) and (2, 3)).
STEP_SHAPES = [(5,), (3, 4), (2, 3, 2), (1,)]
GRAD_CASES = 6
TRAJECTORY_CASES = 3
TRAJECTORY_STEPS = 5


def step_inputs(seed: int, case: int):
    shape = STEP_SHAPES[case]
    rng = seeded(seed, 70, case)
    theta = rng.normal(0.0, 2.0, shape)
    grad = rng.normal(0.0, 1.0, shape)
    velocity = rng.normal(0.0, 0.5, shape)
    lr = float(rng.uniform(0.01, 0.5))
    beta = float(rng.uniform(0.5, 0.99))
    return theta, grad, velocity, lr, beta


def grad_inputs(seed: int, case: int):
    rng = seeded(seed, 71, case)
    params = rng.normal(0.0, 1.5, 4)
    x1, x2 = (float(v) for v in rng.normal(0.0, 1.5, 2))
    t = float(rng.normal(0.0, 5.0))
    return params, x1, x2, t


def trajectory_inputs(seed: int, case: int):
    rng = seeded(seed, 72, case)
    start = rng.normal(0.0, 1.0, 4)
    samples = [(float(a), float(b), float(c)) for a, b, c in
               zip(rng.uniform(-1.5, 1.5, TRAJECTORY_STEPS), rng.uniform(-1.5, 1.5, TRAJECTORY_STEPS),
                   rng.normal(0.0, 3.0, TRAJECTORY_STEPS))]
    lr = float(rng.uniform(0.005, 0.05))
    beta = float(rng.uniform(0.5, 0.95))
    return start, samples, lr, beta


def _numeric(value, fn: str, step: int):
    """``value`` as a float64 array, or a Bad saying what the student's ``fn`` returned."""
    if isinstance(value, Bad):
        return value
    if not isinstance(value, (np.ndarray, list, tuple)):
        return Bad("missing", f"`{fn}` returned a value of type {type(value).__name__} at step {step}, not an array")
    try:
        return as_float64(value)
    except Exception:
        return Bad("missing", f"`{fn}` returned something at step {step} that is not an array of numbers")


def _trajectory(ns, start, samples, lr, beta):
    """Chain the student's ``quadratic_grad`` and ``sgd_momentum_step`` (velocity from 0)."""
    theta, velocity = as_float64(start), np.zeros(4)
    for step, (x1, x2, t) in enumerate(samples, 1):
        g = _numeric(ns.call("quadratic_grad", as_float64(theta), x1, x2, t), "quadratic_grad", step)
        if isinstance(g, Bad):
            return g
        theta, velocity = unpack(ns.call("sgd_momentum_step", as_float64(theta), g, as_float64(velocity), lr, beta),
                                 2, "sgd_momentum_step")
        theta = _numeric(theta, "sgd_momentum_step", step)
        velocity = _numeric(velocity, "sgd_momentum_step", step)
        for v in (theta, velocity):
            if isinstance(v, Bad):
                return v
    return theta


def probe(ns, seed):
    out: dict = {"step": {}, "grad": {}, "trajectory": {}}
    for case in range(len(STEP_SHAPES)):
        theta, grad, velocity, lr, beta = step_inputs(seed, case)
        th, v = unpack(ns.call("sgd_momentum_step", as_float64(theta), as_float64(grad), as_float64(velocity), lr, beta),
                       2, "sgd_momentum_step")
        out["step"][case] = {"theta": th, "velocity": v}
    for case in range(GRAD_CASES):
        params, x1, x2, t = grad_inputs(seed, case)
        out["grad"][case] = ns.call("quadratic_grad", as_float64(params), x1, x2, t)
    for case in range(TRAJECTORY_CASES):
        out["trajectory"][case] = _trajectory(ns, *trajectory_inputs(seed, case))
    out["worked"] = ns.call("run_worked_example")
    return out
