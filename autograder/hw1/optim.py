"""SGD with momentum (001 Q4), in NumPy.

Student API:
    sgd_momentum_step(theta, grad, velocity, lr, beta) -> (theta_new, velocity_new)
        velocity_new = beta * velocity + lr * grad;  theta_new = theta - velocity_new
    quadratic_grad(params, x1, x2, t) -> gradient of (t - y)^2, y = a x1^2 + b x2^2 + c x1 x2 + d,
        with respect to params = [a, b, c, d] (an array of shape (4,))
    run_worked_example() -> [a, b, c, d] after 001 Q4's two samples
The oracle is torch: autograd for the gradient and torch.optim.SGD (whose velocity
is ours divided by lr, the same update for a constant lr) for whole trajectories.
"""
from __future__ import annotations

import numpy as np

from ..core import Fail, Item, expect_array
from .common import NUMPY_ONLY, as_float64, rng_for, tensor, unpack

# Shapes of theta in the step cases (the notebook shows (4,) and (2, 3)).
STEP_SHAPES = [(5,), (3, 4), (2, 3, 2), (1,)]
GRAD_CASES = 6
TRAJECTORY_CASES = 3
TRAJECTORY_STEPS = 5

# 001 Q4: start, hyper-parameters, samples (x1, x2, t).
WORKED_START = (1.0, -1.0, -1.0, 1.0)
WORKED_LR, WORKED_BETA = 0.1, 0.9
WORKED_SAMPLES = ((1.0, -1.0, 10.0), (2.0, 0.0, 13.0))


def _step_inputs(seed: int, case: int):
    shape = STEP_SHAPES[case]
    rng = rng_for(seed, 70, case)
    theta = rng.normal(0.0, 2.0, shape)
    grad = rng.normal(0.0, 1.0, shape)
    velocity = rng.normal(0.0, 0.5, shape)
    lr = float(rng.uniform(0.01, 0.5))
    beta = float(rng.uniform(0.5, 0.99))
    return theta, grad, velocity, lr, beta


def _grad_inputs(seed: int, case: int):
    rng = rng_for(seed, 71, case)
    params = rng.normal(0.0, 1.5, 4)
    x1, x2 = (float(v) for v in rng.normal(0.0, 1.5, 2))
    t = float(rng.normal(0.0, 5.0))
    return params, x1, x2, t


def _trajectory_inputs(seed: int, case: int):
    rng = rng_for(seed, 72, case)
    start = rng.normal(0.0, 1.0, 4)
    samples = [(float(a), float(b), float(c)) for a, b, c in
               zip(rng.uniform(-1.5, 1.5, TRAJECTORY_STEPS), rng.uniform(-1.5, 1.5, TRAJECTORY_STEPS),
                   rng.normal(0.0, 3.0, TRAJECTORY_STEPS))]
    lr = float(rng.uniform(0.005, 0.05))
    beta = float(rng.uniform(0.5, 0.95))
    return start, samples, lr, beta


def probe(ns, seed):
    out: dict = {"step": {}, "grad": {}, "trajectory": {}}
    for case in range(len(STEP_SHAPES)):
        theta, grad, velocity, lr, beta = _step_inputs(seed, case)
        th, v = unpack(ns.call("sgd_momentum_step", as_float64(theta), as_float64(grad), as_float64(velocity), lr, beta),
                       2, "sgd_momentum_step")
        out["step"][case] = {"theta": th, "velocity": v}
    for case in range(GRAD_CASES):
        params, x1, x2, t = _grad_inputs(seed, case)
        out["grad"][case] = ns.call("quadratic_grad", as_float64(params), x1, x2, t)
    for case in range(TRAJECTORY_CASES):
        start, samples, lr, beta = _trajectory_inputs(seed, case)
        theta, velocity = as_float64(start), np.zeros(4)
        result = None
        for x1, x2, t in samples:
            g = ns.call("quadratic_grad", as_float64(theta), x1, x2, t)
            if not isinstance(g, np.ndarray) and not isinstance(g, (list, tuple)):
                result = g  # a Bad value or something odd: report it
                break
            theta, velocity = unpack(ns.call("sgd_momentum_step", as_float64(theta), as_float64(g), as_float64(velocity), lr, beta),
                                     2, "sgd_momentum_step")
            if not isinstance(theta, np.ndarray) and not isinstance(theta, (list, tuple)):
                result = theta
                break
            try:
                theta, velocity = as_float64(theta), as_float64(velocity)
            except (TypeError, ValueError) as e:
                result = f"could not be turned into arrays ({e})"
                break
        out["trajectory"][case] = theta if result is None else result
    out["worked"] = ns.call("run_worked_example")
    return out


def _torch_grad(params, x1, x2, t) -> np.ndarray:
    p = tensor(params, True)
    y = p[0] * x1 ** 2 + p[1] * x2 ** 2 + p[2] * x1 * x2 + p[3]
    ((t - y) ** 2).backward()
    return p.grad.numpy().copy()


def torch_trajectory(start, samples, lr: float, beta: float) -> np.ndarray:
    """The final parameters after one momentum step per sample, by torch.optim.SGD."""
    import torch

    p = tensor(start, True)
    opt = torch.optim.SGD([p], lr=lr, momentum=beta)
    for x1, x2, t in samples:
        opt.zero_grad()
        y = p[0] * x1 ** 2 + p[1] * x2 ** 2 + p[2] * x1 * x2 + p[3]
        ((t - y) ** 2).backward()
        opt.step()
    return p.detach().numpy().copy()


def worked_example_reference() -> np.ndarray:
    return torch_trajectory(np.array(WORKED_START), WORKED_SAMPLES, WORKED_LR, WORKED_BETA)


def judge(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    steps = out.get("step", {}) if isinstance(out.get("step"), dict) else {}
    for case in range(len(STEP_SHAPES)):
        theta, grad, velocity, lr, beta = _step_inputs(seed, case)
        got = steps.get(case, {})
        v_new = beta * velocity + lr * grad
        ctx = f"theta of shape {STEP_SHAPES[case]}, lr={lr:.3f}, beta={beta:.3f}, random gradient and velocity"
        with ck.part("step", 1.5 / len(STEP_SHAPES)):
            expect_array(got.get("velocity"), v_new, "sgd_momentum_step velocity", 1e-10, ctx + "; velocity = beta*velocity + lr*grad")
            expect_array(got.get("theta"), theta - v_new, "sgd_momentum_step theta", 1e-10, ctx + "; theta = theta - new velocity")
    grads = out.get("grad", {}) if isinstance(out.get("grad"), dict) else {}
    for case in range(GRAD_CASES):
        params, x1, x2, t = _grad_inputs(seed, case)
        with ck.part("gradient", 1.5 / GRAD_CASES):
            expect_array(grads.get(case), _torch_grad(params, x1, x2, t), "quadratic_grad", 1e-9,
                         f"params={np.round(params, 3).tolist()}, x1={x1:.3f}, x2={x2:.3f}, t={t:.3f}; d(t-y)^2/d[a,b,c,d]")
    trajs = out.get("trajectory", {}) if isinstance(out.get("trajectory"), dict) else {}
    for case in range(TRAJECTORY_CASES):
        start, samples, lr, beta = _trajectory_inputs(seed, case)
        with ck.part("trajectory", 1 / TRAJECTORY_CASES):
            got = trajs.get(case)
            if isinstance(got, str):
                raise Fail(f"trajectory: the values {got}")
            expect_array(got, torch_trajectory(start, samples, lr, beta), "parameters after 5 momentum steps", 1e-8,
                         f"your quadratic_grad and sgd_momentum_step chained, lr={lr:.3f}, beta={beta:.3f}, velocity starting at 0")
    with ck.part("worked example", 1):
        got = out.get("worked")
        if isinstance(got, (list, tuple)):
            try:
                got = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError):
                raise Fail("run_worked_example: should return the 4 numbers [a, b, c, d]")
        expect_array(got, worked_example_reference(), "run_worked_example", 1e-8,
                     "001 Q4: [a, b, c, d] after the samples (1,-1,10) and (2,0,13)")


ITEMS = [
    Item("hw1.sgd_momentum", 5, ("sgd_momentum_step", "quadratic_grad", "run_worked_example"), probe, judge,
         title="SGD with momentum: step, gradient of the quadratic model, 001 Q4 worked example", forbid=NUMPY_ONLY),
]
