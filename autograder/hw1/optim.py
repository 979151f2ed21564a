"""SGD with momentum (001 Q4), in NumPy: the judge.

Student API:
    sgd_momentum_step(theta, grad, velocity, lr, beta) -> (theta_new, velocity_new)
        velocity_new = beta * velocity + lr * grad;  theta_new = theta - velocity_new
    quadratic_grad(params, x1, x2, t) -> gradient of (t - y)^2, y = a x1^2 + b x2^2 + c x1 x2 + d,
        with respect to params = [a, b, c, d] (an array of shape (4,))
    run_worked_example() -> [a, b, c, d] after 001 Q4's two samples
The oracle is torch: autograd for the gradient and torch.optim.SGD (whose velocity
is ours divided by lr, the same update for a constant lr) for whole trajectories.
The inputs and the probe (which chains the student's two functions) are in
:mod:`autograder.probes.hw1.optim`.

Convention: where the learning rate and the sign sit in the velocity (001 Q4's
``v = beta v + lr g; theta -= v``, PyTorch's ``v = beta v + g; theta -= lr v``,
CS231n's and Keras's ``v = beta v - lr g; theta += v``). All three give the same
parameters along a run from a zero velocity (the chained parts and the worked example
compare there); one step from a given velocity differs, and the main step part accepts
any of them while a small part asks for the notebook's and names the others.
"""
from __future__ import annotations

import numpy as np

from ..core import Fail, Item
from ..probes.hw1.optim import (GRAD_CASES, STEP_SHAPES, TRAJECTORY_CASES, TRAJECTORY_STEPS, grad_inputs, probe,
                                step_inputs, trajectory_inputs)
from .common import NUMPY_ONLY, expect_array, field, matches, tensor

# 001 Q4: start, hyper-parameters, samples (x1, x2, t).
WORKED_START = (1.0, -1.0, -1.0, 1.0)
WORKED_LR, WORKED_BETA = 0.1, 0.9
WORKED_SAMPLES = ((1.0, -1.0, 10.0), (2.0, 0.0, 13.0))


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


VELOCITY = {
    "pytorch": "PyTorch's convention (velocity = beta*velocity + grad, theta = theta - lr*velocity)",
    "cs231n": "CS231n's and Keras's convention (velocity = beta*velocity - lr*grad, theta = theta + velocity)",
}


def step_conventions(theta, grad, velocity, lr, beta) -> dict:
    """(new velocity, new theta) of one step from the same arguments, per convention."""
    v_nb = beta * velocity + lr * grad
    v_pt = beta * velocity + grad
    v_cs = beta * velocity - lr * grad
    return {"notebook": (v_nb, theta - v_nb), "pytorch": (v_pt, theta - lr * v_pt), "cs231n": (v_cs, theta + v_cs)}


def judge(out, seed, ck):
    steps = field(out, "step")
    for case in range(len(STEP_SHAPES)):
        theta, grad, velocity, lr, beta = step_inputs(seed, case)
        got = field(steps, case)
        ctx = f"theta of shape {STEP_SHAPES[case]}, lr={lr:.3f}, beta={beta:.3f}, random gradient and velocity"
        conventions = step_conventions(theta, grad, velocity, lr, beta)
        v_new, th_new = conventions["notebook"]
        # Main part: the step of any of the velocity conventions (they give the same
        # parameters along a run, which the chained parts below check).
        with ck.part("`sgd_momentum_step`", 1.2 / len(STEP_SHAPES)):
            if not any(matches(field(got, "velocity"), v, 1e-10) and matches(field(got, "theta"), t, 1e-10)
                       for v, t in conventions.values()):
                expect_array(field(got, "velocity"), v_new, "`sgd_momentum_step` new velocity", 1e-10,
                             ctx + "; velocity = beta*velocity + lr*grad")
                expect_array(field(got, "theta"), th_new, "`sgd_momentum_step` new theta", 1e-10,
                             ctx + "; theta = theta - new velocity")
        with ck.part("`sgd_momentum_step` (convention: lr inside the velocity, as in 001 Q4)", 0.3 / len(STEP_SHAPES)):
            for name, (v, t) in conventions.items():
                if name != "notebook" and matches(field(got, "velocity"), v, 1e-10) and matches(field(got, "theta"), t, 1e-10):
                    raise Fail(f"`sgd_momentum_step`: your step follows {VELOCITY[name]}; this notebook follows 001 Q4 "
                               f"(velocity = beta*velocity + lr*grad, theta = theta - velocity), which gives the same "
                               f"parameters along a run but another velocity ({ctx})")
            expect_array(field(got, "velocity"), v_new, "`sgd_momentum_step` new velocity", 1e-10,
                         ctx + "; velocity = beta*velocity + lr*grad")
            expect_array(field(got, "theta"), th_new, "`sgd_momentum_step` new theta", 1e-10,
                         ctx + "; theta = theta - new velocity")
    grads = field(out, "grad")
    for case in range(GRAD_CASES):
        params, x1, x2, t = grad_inputs(seed, case)
        with ck.part("`quadratic_grad`", 1.5 / GRAD_CASES):
            expect_array(field(grads, case), _torch_grad(params, x1, x2, t), "`quadratic_grad`", 1e-9,
                         f"params={np.round(params, 3).tolist()}, x1={x1:.3f}, x2={x2:.3f}, t={t:.3f}; d(t-y)^2/d[a,b,c,d]")
    trajs = field(out, "trajectory")
    for case in range(TRAJECTORY_CASES):
        start, samples, lr, beta = trajectory_inputs(seed, case)
        with ck.part("`quadratic_grad` and `sgd_momentum_step` chained", 1 / TRAJECTORY_CASES):
            expect_array(field(trajs, case), torch_trajectory(start, samples, lr, beta),
                         f"parameters after {TRAJECTORY_STEPS} steps of your `quadratic_grad` and `sgd_momentum_step`", 1e-8,
                         f"one step per sample, lr={lr:.3f}, beta={beta:.3f}, velocity starting at 0")
    with ck.part("`run_worked_example`", 1):
        got = field(out, "worked")
        if isinstance(got, (list, tuple)):
            try:
                got = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError):
                raise Fail("`run_worked_example`: should return the 4 numbers [a, b, c, d]")
        expect_array(got, worked_example_reference(), "`run_worked_example`", 1e-8,
                     "001 Q4: [a, b, c, d] after the samples (1,-1,10) and (2,0,13)")


ITEMS = [
    Item("hw1.sgd_momentum", 5, ("sgd_momentum_step", "quadratic_grad", "run_worked_example"), probe, judge,
         title="SGD with momentum: step, gradient of the quadratic model, 001 Q4 worked example", forbid=NUMPY_ONLY),
]
