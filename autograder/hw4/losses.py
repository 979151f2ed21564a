"""The Dice coefficient, the soft Dice loss and the weighted BCE (003 P8, the loss design).

Student API (torch tensors in; the first dimension is the batch, every other dimension
belongs to one image: (N, H, W) and (N, 1, H, W) are both fine):
    dice_coefficient(pred_mask, true_mask, smooth=1.0) -> number (0-dim tensor or float)
        Binary masks (0/1 floats or bools). Per image i:
            D_i = (2 * sum(P_i * T_i) + smooth) / (sum(P_i) + sum(T_i) + smooth),
        then the mean of D_i over the batch. Two empty masks give 1.
    soft_dice_loss(logits, targets, smooth=1.0) -> scalar tensor with autograd
        P = sigmoid(logits); the soft D_i as above with P in place of the binary mask;
        loss = 1 - mean_i D_i (the same reduction: per image, then mean over the batch).
    weighted_bce_loss(logits, targets, pos_weight) -> scalar tensor with autograd
        mean over every element of -(pos_weight * t * log sigmoid(z) + (1 - t) * log(1 - sigmoid(z))),
        i.e. F.binary_cross_entropy_with_logits(logits, targets, pos_weight=...), written
        stably (log-sigmoid / log-sum-exp): logits of +-300 must give finite, exact values.

The probe (``autograder/probes/hw4/losses.py``) calls them on float32 tensors it builds
from the seed; the judge recomputes everything in float64 from the formulas above (torch autograd for the gradients and
torch's own binary_cross_entropy_with_logits for the weighted BCE). Hand-made cases use
a large ``smooth`` (so a smoothing term in the wrong place shows), empty masks, one
image and several; the gradients are taken with a random upstream weight.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item, unwrap
from .common import short as _short
from ..probes.hw4.losses import bce_cases, dice_cases, probe_bce, probe_dice, soft_cases

TOL = 2e-5  # the student's code runs in float32, the references in float64


# --------------------------------------------------------------------------
# Judge (trusted side)


def ref_dice(p: np.ndarray, t: np.ndarray, smooth: float) -> float:
    n = p.shape[0]
    p, t = p.reshape(n, -1), t.reshape(n, -1)
    return float(np.mean((2 * (p * t).sum(1) + smooth) / (p.sum(1) + t.sum(1) + smooth)))


def ref_soft_dice(z: np.ndarray, t: np.ndarray, smooth: float, up: float):
    import torch

    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(t, dtype=torch.float64)
    n = zt.shape[0]
    p = torch.sigmoid(zt).reshape(n, -1)
    tf = tt.reshape(n, -1)
    loss = 1 - ((2 * (p * tf).sum(1) + smooth) / (p.sum(1) + tf.sum(1) + smooth)).mean()
    (loss * up).backward()
    return float(loss.detach()), zt.grad.numpy()


def ref_bce(z: np.ndarray, t: np.ndarray, pw: float, up: float):
    import torch
    import torch.nn.functional as F

    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(zt, torch.tensor(t, dtype=torch.float64),
                                              pos_weight=torch.tensor(pw, dtype=torch.float64))
    (loss * up).backward()
    return float(loss.detach()), zt.grad.numpy()


def _close(got, want: float, what: str, ctx: str, hint: str = "") -> None:
    got = unwrap(got, what)
    if not isinstance(got, float) or not np.isfinite(got):
        raise Fail(f"{what} gave {_short(got)} ({ctx}){hint}")
    if abs(got - want) > TOL * max(1.0, abs(want)):
        raise Fail(f"{what} = {got:.6g}, expected {want:.6g} ({ctx}){hint}")


def _grad(rec, want: np.ndarray, what: str, ctx: str) -> None:
    g = unwrap(rec.get("grad") if isinstance(rec, dict) else None, f"{what}: backward")
    if not isinstance(g, np.ndarray):
        raise Fail(f"{what}: no gradient came back ({ctx})")
    if g.shape != want.shape:
        raise Fail(f"{what}: the gradient has shape {g.shape}, expected {want.shape} ({ctx})")
    if not np.all(np.isfinite(g)):
        raise Fail(f"{what}: the gradient contains NaN or inf ({ctx})")
    err = float(np.max(np.abs(g - want))) / max(float(np.max(np.abs(g) + np.abs(want))), 1e-12)
    if err > 1e-4:
        raise Fail(f"{what}: gradient with respect to the logits wrong, max relative error {err:.1e} ({ctx})")


def _dice_hint(got, p, t, smooth) -> str:
    if not isinstance(got, float):
        return ""
    n = p.shape[0]
    pf, tf = p.reshape(n, -1), t.reshape(n, -1)
    tries = {
        "smooth only in the denominator": np.mean((2 * (pf * tf).sum(1)) / (pf.sum(1) + tf.sum(1) + smooth)),
        "the factor 2 is missing": np.mean(((pf * tf).sum(1) + smooth) / (pf.sum(1) + tf.sum(1) + smooth)),
        "one Dice over the whole batch instead of the mean of per-image Dice":
            (2 * (pf * tf).sum() + smooth) / (pf.sum() + tf.sum() + smooth),
    }
    for why, v in tries.items():
        if abs(got - v) <= 1e-5 * max(1.0, abs(v)):
            return f": that is {why}"
    return ""


def judge_dice(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    coef = out.get("coef") if isinstance(out.get("coef"), list) else []
    soft = out.get("soft") if isinstance(out.get("soft"), list) else []
    cases = dice_cases(seed)
    groups = {"hand-made": [0, 1, 2], "empty masks": [3, 4, 5], "random masks": [6, 7, 8]}
    for name, idx in groups.items():
        with ck.part(f"dice_coefficient: {name}", 1.0):
            for i in idx:
                ctx, p, t, smooth, _ = cases[i]
                got = coef[i] if i < len(coef) else Bad("missing", "no result")
                _close(got, ref_dice(p, t, smooth), "dice_coefficient", ctx, _dice_hint(got, p, t, smooth))
    sc = soft_cases(seed)
    with ck.part("soft_dice_loss: value", 2.0):
        for i, (ctx, z, t, smooth, up) in enumerate(sc):
            rec = soft[i] if i < len(soft) and isinstance(soft[i], dict) else {"value": Bad("missing", "no result")}
            want, _ = ref_soft_dice(z, t, smooth, up)
            got = rec.get("value")
            hint = ""
            if isinstance(got, float):
                p = 1 / (1 + np.exp(-z))
                if abs(got - (1 - ref_dice(z, t, smooth))) < 1e-5:
                    hint = ": the logits were used as probabilities; apply torch.sigmoid first"
                else:
                    h = _dice_hint(1 - got, p, t, smooth)
                    hint = h
            _close(got, want, "soft_dice_loss", ctx, hint)
    with ck.part("soft_dice_loss: gradient", 1.0):
        for i, (ctx, z, t, smooth, up) in enumerate(sc):
            rec = soft[i] if i < len(soft) and isinstance(soft[i], dict) else {"value": Bad("missing", "no result")}
            unwrap(rec.get("value"), "soft_dice_loss")
            _grad(rec, ref_soft_dice(z, t, smooth, up)[1], "soft_dice_loss", ctx)


def judge_bce(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    recs = out.get("bce") if isinstance(out.get("bce"), list) else []
    cases = bce_cases(seed)

    def rec_of(i):
        return recs[i] if i < len(recs) and isinstance(recs[i], dict) else {"value": Bad("missing", "no result")}

    with ck.part("weighted_bce_loss: value", 2.0):
        for i, (ctx, z, t, pw, up) in enumerate(cases[:-1]):
            want, _ = ref_bce(z, t, pw, up)
            got = rec_of(i).get("value")
            hint = ""
            if isinstance(got, float):
                swapped, _ = ref_bce(-z, 1 - t, pw, up)
                total, _ = ref_bce(z, t, pw, up)
                if pw != 1 and abs(got - swapped) < 1e-4 * max(1, swapped):
                    hint = ": the weight is on the wrong class; pos_weight multiplies the t * log(sigmoid(z)) term (the lesions)"
                elif abs(got - total * z.size) < 1e-4 * max(1, total * z.size):
                    hint = ": that is the sum; take the mean over every element"
            _close(got, want, "weighted_bce_loss", ctx, hint)
    with ck.part("weighted_bce_loss: large logits", 1.0):
        ctx, z, t, pw, up = cases[-1]
        got = rec_of(len(cases) - 1).get("value")
        want, _ = ref_bce(z, t, pw, up)
        got = unwrap(got, "weighted_bce_loss")
        if not isinstance(got, float) or not np.isfinite(got):
            raise Fail(f"weighted_bce_loss gave {_short(got)} for {ctx}: log(sigmoid(z)) overflows; use F.logsigmoid or "
                       "the log-sum-exp form max(z, 0) - z * t + log(1 + exp(-|z|))")
        _close(got, want, "weighted_bce_loss", ctx, ": clamping the probabilities is not enough, compute log-sigmoid stably")
    with ck.part("weighted_bce_loss: gradient", 1.0):
        for i, (ctx, z, t, pw, up) in enumerate(cases):
            rec = rec_of(i)
            unwrap(rec.get("value"), "weighted_bce_loss")
            _grad(rec, ref_bce(z, t, pw, up)[1], "weighted_bce_loss", ctx)


ITEMS = [
    Item("hw4.dice", 6, ("dice_coefficient", "soft_dice_loss"), probe_dice, judge_dice,
         title="The Dice coefficient and the soft Dice loss", timeout=30),
    Item("hw4.weighted_bce", 4, ("weighted_bce_loss",), probe_bce, judge_bce,
         title="Weighted binary cross-entropy (pos_weight), numerically stable", timeout=30),
]
