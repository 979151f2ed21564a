"""The grader's own training of the student's model (child side), written once.

:func:`budgeted_training` is the loop every grader-trained item uses: seeded (torch's
global generator and a private one for the batches), Adam with an optional one-cycle
schedule, a fixed number of steps and a cap in CPU seconds (so a busy machine does not
shorten it), ending ``finished``, ``diverged`` (the loss is not a finite scalar),
``capped`` (the CPU budget ran out) or ``no parameters``. :func:`in_chunks` evaluates in
chunks. The judge decides what the numbers are worth.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from ..runtime import Bad
from .convert import describe_value


def epoch_batches(n: int, batch: int, gen):
    """Index batches of ``batch`` from passes over seeded permutations of ``range(n)``."""
    import torch

    order = torch.empty(0, dtype=torch.int64)
    while True:
        if len(order) < batch:
            order = torch.cat([order, torch.randperm(n, generator=gen)])
        idx, order = order[:batch], order[batch:]
        yield idx


def random_batches(n: int, batch: int, gen):
    """Index batches of ``batch`` drawn uniformly with replacement."""
    import torch

    while True:
        yield torch.randint(0, n, (batch,), generator=gen)


SAMPLERS = {"epochs": epoch_batches, "random": random_batches}


def budgeted_training(model, loss_of: Callable, n: int, *, steps: int, batch: int, lr: float, seed: int,
                      cap_s: float = float("inf"), one_cycle: float | None = None, sampling: str = "epochs",
                      track_loss: bool = False) -> dict:
    """Train ``model`` on ``n`` examples: ``loss_of(idx, gen)`` gives the loss of the batch of
    indices ``idx`` (``gen`` is the loop's seeded generator, for noise drawn per batch).

    Adam at ``lr`` (with a one-cycle schedule of ``steps`` steps peaking at ``lr`` when
    ``one_cycle`` is its ``pct_start``), batches from ``sampling`` ("epochs": passes over
    seeded permutations; "random": drawn with replacement). Stops after ``steps`` steps,
    when the loss is not a finite scalar, or when ``cap_s`` CPU seconds have passed.
    Leaves the model in eval mode; returns ``status``, ``steps`` and ``seconds`` (and the
    mean loss of the first and last tenth of the steps with ``track_loss``)."""
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    losses: list[float] = []
    status, done = "finished", 0
    start = time.process_time()  # CPU seconds: the budget does not shrink when the machine is busy
    if params:
        opt = torch.optim.Adam(params, lr=lr)
        sched = None
        if one_cycle is not None:
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=one_cycle)
        model.train()
        batches = SAMPLERS[sampling](n, batch, gen)
        for _ in range(steps):
            loss = loss_of(next(batches), gen)
            if not torch.is_tensor(loss) or loss.numel() != 1 or not bool(torch.isfinite(loss.detach()).all()):
                status = "diverged"
                break
            opt.zero_grad(set_to_none=True)
            loss.reshape(()).backward()
            opt.step()
            if sched is not None:
                sched.step()
            done += 1
            if track_loss:
                losses.append(float(loss.detach()))
            if time.process_time() - start > cap_s:
                status = "capped"
                break
    else:
        status = "no parameters"
    seconds = time.process_time() - start
    model.eval()
    out: dict[str, Any] = {"status": status, "steps": done, "seconds": round(seconds, 2)}
    if track_loss:
        k = max(1, len(losses) // 10)
        out["loss_start"] = float(np.mean(losses[:k])) if losses else float("nan")
        out["loss_end"] = float(np.mean(losses[-k:])) if losses else float("nan")
    return out


def in_chunks(forward: Callable, x, size: int, what: str = "the model") -> list:
    """``forward`` on ``x[i:i + size]`` for every chunk, without gradients: the outputs, each
    checked to be a tensor."""
    import torch

    outs = []
    with torch.no_grad():
        for i in range(0, len(x), size):
            y = forward(x[i:i + size])
            if not torch.is_tensor(y):
                raise ValueError(f"{what} returned {describe_value(y)}, not a tensor")
            outs.append(y)
    return outs


def build_module(ns, fn: str, *args, seed: int | None = None, hint: str = "", **kwargs) -> Any:
    """The student's ``fn(*args, **kwargs)`` built in the child (torch seeded with ``seed``
    first), moved to the CPU: the module, or a Bad saying why not (``hint`` added to it)."""
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    m = ns.call(fn, *args, **kwargs)
    if isinstance(m, Bad):
        return m
    if not isinstance(m, torch.nn.Module):
        what = "the class itself" if isinstance(m, type) else describe_value(m)
        return Bad("missing", f"returned {what}, not an nn.Module instance{hint}")
    moved = ns.guard(m.cpu)  # the grader runs on the CPU, whatever device the notebook used
    return moved if isinstance(moved, Bad) else m


def param_count(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def given_array(given: Any, key: str, rest: tuple, dtype=np.float32, max_n: int | None = 2000) -> np.ndarray | None:
    """``given[key]`` (what the judge sent) if it is an array of ``dtype`` and shape
    ``(n, *rest)`` with ``1 <= n <= max_n``, else None. A copy."""
    a = given.get(key) if isinstance(given, dict) else None
    if not isinstance(a, np.ndarray) or a.dtype != np.dtype(dtype) or a.ndim != 1 + len(rest) \
            or tuple(a.shape[1:]) != tuple(rest) or not 1 <= a.shape[0] <= (max_n or a.shape[0]):
        return None
    return a.copy()


def case_guard(fn: Callable, *args) -> dict:
    """``fn(*args)`` for one case; an exception the probe did not foresee (an odd module)
    becomes that case's ``{"error": Bad}``, and the other cases still run."""
    from ..runtime import error_text

    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001
        return {"error": Bad("error", f"{error_text(e)} (while the grader ran it)")}
