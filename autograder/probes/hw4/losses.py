"""Probe half of hw4.dice and hw4.weighted_bce (judges: ``autograder/hw4/losses.py``).

The cases (hand-made masks with a large ``smooth``, empty masks, random masks, logits of
+-300) are built here from the seed, and the judge builds the same ones; the probe calls
``dice_coefficient``, ``soft_dice_loss`` and ``weighted_bce_loss`` on float32 tensors
and returns their values and the gradients with respect to the logits (a random upstream
weight). Nothing here knows the expected values.
"""
from __future__ import annotations

import numpy as np

from autograder.probes.kit.convert import scalar
from autograder.probes.kit.seeds import rng as seeded
from autograder.probes.runtime import Bad

ONE_NUMBER = "return one number (the mean over the batch)"

# hand-made dice cases: (name, pred, true, smooth); pred/true lists of images
_A = [[0, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]]
_B = [[0, 0, 1, 1, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]]
_Z = [[0] * 5] * 4
_C = [[1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]


def dice_cases(seed: int):
    rng = seeded(seed, 41)
    cases = [
        ("two hand-made 4x5 masks, smooth=100", np.array([_A]), np.array([_B]), 100.0, "NHW"),
        ("a batch of 3 hand-made masks, smooth=1", np.array([_A, _B, _C]), np.array([_B, _B, _A]), 1.0, "NHW"),
        ("a batch of 2, smooth=10, shape (N, 1, H, W)", np.array([[_A], [_C]]), np.array([[_C], [_C]]), 10.0, "N1HW"),
        ("both masks empty, smooth=1", np.array([_Z, _Z]), np.array([_Z, _Z]), 1.0, "NHW"),
        ("prediction empty, truth not, smooth=1", np.array([_Z]), np.array([_A]), 1.0, "NHW"),
        ("prediction empty, truth not, smooth=100", np.array([_Z, _A]), np.array([_A, _A]), 100.0, "NHW"),
    ]
    for k, (n, h, w, p, smooth) in enumerate([(4, 9, 7, 0.3, 1.0), (3, 16, 16, 0.05, 5.0), (6, 5, 11, 0.6, 0.0)]):
        t = (rng.uniform(size=(n, 1, h, w)) < p).astype(np.float64)
        q = (rng.uniform(size=(n, 1, h, w)) < p).astype(np.float64)
        q[0] = t[0]  # one image predicted exactly
        cases.append((f"random masks, batch of {n}, {h}x{w}, smooth={smooth:g}", q, t, smooth, "N1HW"))
    # smooth = 0 and no empty pair: every placement of the smoothing term agrees here
    cases.append(("two hand-made 4x5 masks, smooth=0", np.array([_A]), np.array([_B]), 0.0, "NHW"))
    cases.append(("a batch of 3 hand-made masks, smooth=0", np.array([_A, _B, _C]), np.array([_B, _B, _A]), 0.0, "NHW"))
    return cases


def soft_cases(seed: int):
    rng = seeded(seed, 42)
    out = []
    for n, h, w, smooth, shape in [(3, 6, 5, 1.0, "N1HW"), (2, 8, 8, 50.0, "N1HW"), (1, 7, 9, 1.0, "NHW"), (5, 4, 6, 3.0, "N1HW"),
                                   (4, 5, 5, 0.0, "N1HW"), (1, 6, 6, 0.0, "NHW")]:
        dims = (n, 1, h, w) if shape == "N1HW" else (n, h, w)
        z = rng.normal(0.0, 2.5, dims)
        t = (rng.uniform(size=dims) < 0.3).astype(np.float64)
        up = rng.normal(1.0, 0.5)
        out.append((f"batch of {n}, shape {dims}, smooth={smooth:g}", z, t, smooth, up))
    return out


def bce_cases(seed: int):
    rng = seeded(seed, 43)
    out = []
    for n, h, w, pw, scale in [(2, 5, 6, 5.0, 3.0), (3, 1, 8, 1.0, 2.0), (1, 6, 6, 30.0, 4.0), (4, 4, 4, 0.25, 3.0)]:
        dims = (n, 1, h, w)
        out.append((f"shape {dims}, pos_weight={pw:g}", rng.normal(0.0, scale, dims),
                    (rng.uniform(size=dims) < 0.3).astype(np.float64), pw, rng.normal(1.0, 0.5)))
    z = rng.choice([-300.0, -120.0, -40.0, 40.0, 120.0, 300.0], size=(2, 1, 3, 4))
    out.append(("large logits (+-40 to +-300), pos_weight=3", z, (rng.uniform(size=z.shape) < 0.5).astype(np.float64), 3.0, 1.0))
    # soft targets (label smoothing 0.1: 0.05 and 0.95), where pos_weight and a per-pixel weight map differ
    rng = seeded(seed, 43, 1)
    dims = (2, 1, 5, 5)
    t = np.where(rng.uniform(size=dims) < 0.3, 0.95, 0.05)
    out.append(("soft targets 0.05 / 0.95 (label smoothing 0.1), pos_weight=5", rng.normal(0.0, 2.0, dims), t, 5.0,
                rng.normal(1.0, 0.5)))
    return out


BCE_LARGE, BCE_SOFT = 4, 5  # indices in bce_cases: the large logits, the soft targets


def _shape(a: np.ndarray, kind: str) -> np.ndarray:
    return a if kind == "N1HW" or a.ndim == 3 else a[:, 0]


# --------------------------------------------------------------------------
# The probes


def _loss_record(ns, fn: str, z, t, arg, up) -> dict:
    import torch

    zt = torch.tensor(z, dtype=torch.float32, requires_grad=True)
    tt = torch.tensor(t, dtype=torch.float32)
    loss = ns.call(fn, zt, tt, arg)
    if isinstance(loss, Bad):
        return {"value": loss}
    if not torch.is_tensor(loss):
        return {"value": Bad("type", f"a {type(loss).__name__}; return a torch tensor (the graph is needed for training)")}
    if loss.numel() != 1:
        return {"value": Bad("type", f"a tensor of shape {tuple(loss.shape)}; return one number (the mean)")}
    rec = {"value": float(loss.detach().double().reshape(()).item())}
    if not loss.requires_grad:
        rec["grad"] = Bad("missing", "the loss does not require grad: it was computed outside autograd (.item(), NumPy, detach)")
        return rec
    back = ns.guard(lambda: (loss.reshape(()) * up).backward())
    if isinstance(back, Bad):
        rec["grad"] = back
    elif zt.grad is None:
        rec["grad"] = Bad("missing", "no gradient reached the logits")
    else:
        rec["grad"] = zt.grad.detach().double().numpy().copy()
    return rec


def probe_dice(ns, seed):
    import torch

    out = {"coef": [], "soft": []}
    for _, p, t, smooth, kind in dice_cases(seed):
        pt = torch.tensor(_shape(p, kind), dtype=torch.float32)
        tt = torch.tensor(_shape(t, kind), dtype=torch.float32)
        out["coef"].append(scalar(ns.call("dice_coefficient", pt, tt, smooth), ONE_NUMBER))
    for _, z, t, smooth, up in soft_cases(seed):
        out["soft"].append(_loss_record(ns, "soft_dice_loss", z, t, smooth, up))
    return out


def probe_bce(ns, seed):
    return {"bce": [_loss_record(ns, "weighted_bce_loss", z, t, pw, up) for _, z, t, pw, up in bce_cases(seed)]}
