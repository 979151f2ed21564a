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
from the seed; the judge recomputes everything in float64 from the formulas above (torch
autograd for the gradients and torch's own binary_cross_entropy_with_logits for the
weighted BCE). Hand-made cases use a large ``smooth`` (so a smoothing term in the wrong
place shows), ``smooth=0``, empty masks, one image and several; the gradients are taken
with a random upstream weight. Every case earns its own share.

Conventions (each confined to one small part whose reason names both):
- where the smoothing term goes (0.5 of hw4.dice): this notebook adds ``smooth`` once to
  the numerator and once to the denominator; MindSpore's ``nn.DiceLoss`` and kornia's
  ``dice_loss`` (its ``eps``) add it to the denominator only, and widespread tutorial code
  counts it twice (``2 (I + s) / (|P| + |T| + s)``, or added to the intersection and to
  each sum). The value parts accept those forms (they agree with the notebook's at
  ``smooth=0``, where the cases check the rest) and this part charges them.
- the reduction over the batch (0.5 of hw4.dice): the mean of per-image Dice here;
  segmentation_models_pytorch's ``DiceLoss`` (binary mode) and nnU-Net's ``batch_dice``
  pool the sums over the whole batch. They agree on one image.
- pos_weight against a per-pixel weight map (0.5 of hw4.weighted_bce): ``pos_weight``
  multiplies only ``t log sigmoid(z)`` (torch's ``pos_weight``, TensorFlow's
  ``weighted_cross_entropy_with_logits``); a weight map (``weight=`` of
  ``F.binary_cross_entropy_with_logits``, ``1 + (pos_weight - 1) t`` or ``pos_weight``
  where ``t >= 0.5``) weights the whole per-pixel loss. They agree on 0/1 targets, and
  differ on soft targets (label smoothing), the only case that part checks.
"""
from __future__ import annotations

import numpy as np

from ..core import Fail, Item, unwrap
from ..judging import any_passed, convention_part, item_of, short
from ..probes.hw4.losses import BCE_LARGE, BCE_SOFT, bce_cases, dice_cases, probe_bce, probe_dice, soft_cases

TOL = 2e-5  # the student's code runs in float32, the references in float64

# hw4.dice: 6 points
COEF_W, SOFT_W, GRAD_W = 2.5, 1.5, 1.0   # dice_coefficient's cases, soft_dice_loss's values, its gradients
SMOOTH_W, BATCH_W = 0.5, 0.5             # the two convention parts

# Where the smoothing term goes: (numerator's smooth, denominator's smooth) in multiples of s, with who does it.
NOTEBOOK = "notebook"
PLACEMENTS = {
    NOTEBOOK: (1, 1),
    "denominator only": (0, 1),
    "counted twice in the numerator": (2, 1),
    "counted twice in the denominator": (1, 2),
    "added to the intersection and to each sum": (2, 2),
}
PLACEMENT_TEXT = {
    "denominator only": "adds it to the denominator only, 2|P.T| / (|P| + |T| + s), as MindSpore's nn.DiceLoss and "
                        "kornia's dice_loss (its eps) do",
    "counted twice in the numerator": "counts it twice in the numerator, 2 (|P.T| + s) / (|P| + |T| + s), as widespread "
                                      "tutorial code writes it",
    "counted twice in the denominator": "counts it twice in the denominator, (2|P.T| + s) / (|P| + s + |T| + s), adding "
                                        "it to each sum",
    "added to the intersection and to each sum": "adds it to the intersection and to each sum, 2 (|P.T| + s) / "
                                                 "((|P| + s) + (|T| + s)), counting it twice in both",
}
PER_IMAGE, POOLED = "per image", "pooled"


# --------------------------------------------------------------------------
# References (float64)


def dice_forms(p: np.ndarray, t: np.ndarray, smooth: float) -> dict[tuple[str, str], float]:
    """The Dice of every (placement, reduction) convention."""
    n = p.shape[0]
    p, t = p.reshape(n, -1), t.reshape(n, -1)
    inter, ps, ts = (p * t).sum(1), p.sum(1), t.sum(1)
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, (a, b) in PLACEMENTS.items():
            out[(name, PER_IMAGE)] = float(np.mean((2 * inter + a * smooth) / (ps + ts + b * smooth)))
            out[(name, POOLED)] = float((2 * inter.sum() + a * smooth) / (ps.sum() + ts.sum() + b * smooth))
    return out


def ref_dice(p: np.ndarray, t: np.ndarray, smooth: float) -> float:
    return dice_forms(p, t, smooth)[(NOTEBOOK, PER_IMAGE)]


def ref_soft_dice(z: np.ndarray, t: np.ndarray, smooth: float, up: float, form=(NOTEBOOK, PER_IMAGE)):
    """1 - Dice of sigmoid(z) under ``form`` (placement, reduction), and its gradient times ``up``."""
    import torch

    a, b = PLACEMENTS[form[0]]
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    tt = torch.tensor(t, dtype=torch.float64)
    n = zt.shape[0]
    p = torch.sigmoid(zt).reshape(n, -1)
    tf = tt.reshape(n, -1)
    inter, ps, ts = (p * tf).sum(1), p.sum(1), tf.sum(1)
    if form[1] == POOLED:
        inter, ps, ts = inter.sum(), ps.sum(), ts.sum()
    loss = 1 - ((2 * inter + a * smooth) / (ps + ts + b * smooth)).mean()
    (loss * up).backward()
    return float(loss.detach()), zt.grad.numpy()


def bce_forms(z: np.ndarray, t: np.ndarray, pw: float) -> dict[str, np.ndarray]:
    """The per-element weighted BCE under pos_weight (the notebook's) and two per-pixel weight maps."""
    import torch
    import torch.nn.functional as F

    zt, tt = torch.tensor(z, dtype=torch.float64), torch.tensor(t, dtype=torch.float64)
    plain = F.binary_cross_entropy_with_logits(zt, tt, reduction="none")
    return {
        NOTEBOOK: F.binary_cross_entropy_with_logits(zt, tt, pos_weight=torch.tensor(pw, dtype=torch.float64),
                                                     reduction="none").numpy(),
        "weight map 1 + (pos_weight - 1) t": ((1 + (pw - 1) * tt) * plain).numpy(),
        "weight map pos_weight where t >= 0.5": (torch.where(tt >= 0.5, pw, 1.0) * plain).numpy(),
    }


def ref_bce(z: np.ndarray, t: np.ndarray, pw: float, up: float):
    import torch
    import torch.nn.functional as F

    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(zt, torch.tensor(t, dtype=torch.float64),
                                              pos_weight=torch.tensor(pw, dtype=torch.float64))
    (loss * up).backward()
    return float(loss.detach()), zt.grad.numpy()


# --------------------------------------------------------------------------
# Checks


def _number(got, what: str, ctx: str) -> float:
    got = unwrap(got, what)
    if not isinstance(got, float) or not np.isfinite(got):
        raise Fail(f"{what} gave {short(got, as_repr=True)} ({ctx})")
    return got


def _close(got, want: float, what: str, ctx: str, hint: str = "") -> None:
    got = _number(got, what, ctx)
    if abs(got - want) > TOL * max(1.0, abs(want)):
        raise Fail(f"{what} = {got:.6g}, expected {want:.6g} ({ctx}){hint}")


def _near(got, want: float) -> bool:
    return isinstance(got, float) and np.isfinite(want) and abs(got - want) <= TOL * max(1.0, abs(want))


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
    """What a wrong Dice value looks like (mistakes, not conventions)."""
    if not isinstance(got, float):
        return ""
    n = p.shape[0]
    pf, tf = p.reshape(n, -1), t.reshape(n, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tries = {
            "the factor 2 is missing": np.mean(((pf * tf).sum(1) + smooth) / (pf.sum(1) + tf.sum(1) + smooth)),
            "the smoothing term is missing": np.mean(2 * (pf * tf).sum(1) / (pf.sum(1) + tf.sum(1))),
        }
    for why, v in tries.items():
        if np.isfinite(v) and abs(got - v) <= 1e-5 * max(1.0, abs(v)):
            return f": that is {why}"
    return ""


def _form_of(got, forms: dict[tuple[str, str], float]) -> tuple[str, str] | None:
    """The convention a value follows: the notebook's if it matches, else the first other that does."""
    if _near(got, forms[(NOTEBOOK, PER_IMAGE)]):
        return NOTEBOOK, PER_IMAGE
    return next((f for f, v in forms.items() if _near(got, v)), None)


class Conventions:
    """Where a submission followed another convention: (function, case) per convention."""

    def __init__(self):
        self.placement: dict[str, str] = {}
        self.pooled = ""

    def note(self, form, fn: str, ctx: str) -> None:
        if form[0] != NOTEBOOK:
            self.placement.setdefault(form[0], f"`{fn}` ({ctx})")
        if form[1] == POOLED and not self.pooled:
            self.pooled = f"`{fn}` ({ctx})"


# --------------------------------------------------------------------------
# hw4.dice


def judge_dice(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    coef, soft = out.get("coef"), out.get("soft")
    seen = Conventions()
    cases = dice_cases(seed)
    for i, (ctx, p, t, smooth, _) in enumerate(cases):
        with ck.part("dice_coefficient", COEF_W / len(cases)):
            got = item_of(coef, i)
            forms = dice_forms(p, t, smooth)
            form = _form_of(got, forms)
            if form is None:
                _close(got, forms[(NOTEBOOK, PER_IMAGE)], "dice_coefficient", ctx, _dice_hint(got, p, t, smooth))
            seen.note(form, "dice_coefficient", ctx)
    sc = soft_cases(seed)
    forms_of: list = []
    for i, (ctx, z, t, smooth, up) in enumerate(sc):
        rec = item_of(soft, i)
        rec = rec if isinstance(rec, dict) else {"value": rec}
        form = None
        with ck.part("soft_dice_loss: value", SOFT_W / len(sc)):
            got = rec.get("value")
            p = 1 / (1 + np.exp(-z))
            forms = {f: 1 - v for f, v in dice_forms(p, t, smooth).items()}
            form = _form_of(got, forms)
            if form is None:
                hint = ""
                if _near(got, 1 - ref_dice(z, t, smooth)):
                    hint = ": the logits were used as probabilities; apply torch.sigmoid first"
                elif isinstance(got, float):
                    hint = _dice_hint(1 - got, p, t, smooth)
                _close(got, forms[(NOTEBOOK, PER_IMAGE)], "soft_dice_loss", ctx, hint)
            seen.note(form, "soft_dice_loss", ctx)
        forms_of.append(form or (NOTEBOOK, PER_IMAGE))
    for i, (ctx, z, t, smooth, up) in enumerate(sc):
        with ck.part("soft_dice_loss: gradient", GRAD_W / len(sc)):
            rec = item_of(soft, i)
            rec = rec if isinstance(rec, dict) else {"value": rec}
            unwrap(rec.get("value"), "soft_dice_loss")
            _grad(rec, ref_soft_dice(z, t, smooth, up, forms_of[i])[1], "soft_dice_loss", ctx)
    checked, first = any_passed(ck, "dice_coefficient", "soft_dice_loss: value")
    followed = ""
    if seen.placement:
        name, where = next(iter(seen.placement.items()))
        followed = (f"dice_coefficient and soft_dice_loss: this notebook adds the smoothing term s once to the "
                    f"numerator and once to the denominator, (2|P.T| + s) / (|P| + |T| + s); yours "
                    f"{PLACEMENT_TEXT[name]} ({where})")
    convention_part(ck, "Dice: where the smoothing term goes", SMOOTH_W, followed, checked, first)
    followed = ""
    if seen.pooled:
        followed = (f"dice_coefficient and soft_dice_loss: this notebook takes the Dice of every image, then the "
                    f"mean over the batch; yours pools the sums over the whole batch into one Dice, as "
                    f"segmentation_models_pytorch's DiceLoss (binary mode) and nnU-Net's batch_dice do "
                    f"({seen.pooled})")
    convention_part(ck, "Dice: the reduction over the batch", BATCH_W, followed, checked, first)


# --------------------------------------------------------------------------
# hw4.weighted_bce

BCE_VALUE_W, BCE_LARGE_W, BCE_GRAD_W, BCE_SOFT_W = 2.0, 0.75, 0.75, 0.5


def judge_bce(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    recs = out.get("bce")
    cases = bce_cases(seed)

    def rec_of(i):
        r = item_of(recs, i)
        return r if isinstance(r, dict) else {"value": r}

    main = [i for i in range(len(cases)) if i not in (BCE_LARGE, BCE_SOFT)]
    for i in main:
        ctx, z, t, pw, up = cases[i]
        with ck.part("weighted_bce_loss: value", BCE_VALUE_W / len(main)):
            want, _ = ref_bce(z, t, pw, up)
            got = rec_of(i).get("value")
            hint = ""
            if isinstance(got, float):
                swapped, _ = ref_bce(-z, 1 - t, pw, up)
                if pw != 1 and abs(got - swapped) < 1e-4 * max(1, swapped):
                    hint = ": the weight is on the wrong class; pos_weight multiplies the t * log(sigmoid(z)) term (the lesions)"
                elif abs(got - want * z.size) < 1e-4 * max(1, want * z.size):
                    hint = ": that is the sum; take the mean over every element"
            _close(got, want, "weighted_bce_loss", ctx, hint)
    with ck.part("weighted_bce_loss: large logits", BCE_LARGE_W):
        ctx, z, t, pw, up = cases[BCE_LARGE]
        got = unwrap(rec_of(BCE_LARGE).get("value"), "weighted_bce_loss")
        want, _ = ref_bce(z, t, pw, up)
        if not isinstance(got, float) or not np.isfinite(got):
            raise Fail(f"weighted_bce_loss gave {short(got, as_repr=True)} for {ctx}: log(sigmoid(z)) overflows; use "
                       "F.logsigmoid or the log-sum-exp form max(z, 0) - z * t + log(1 + exp(-|z|))")
        _close(got, want, "weighted_bce_loss", ctx, ": clamping the probabilities is not enough, compute log-sigmoid stably")
    grads = main + [BCE_LARGE]
    for i in grads:
        ctx, z, t, pw, up = cases[i]
        with ck.part("weighted_bce_loss: gradient", BCE_GRAD_W / len(grads)):
            rec = rec_of(i)
            unwrap(rec.get("value"), "weighted_bce_loss")
            _grad(rec, ref_bce(z, t, pw, up)[1], "weighted_bce_loss", ctx)
    with ck.part("weighted_bce_loss: pos_weight on soft targets", BCE_SOFT_W):
        ctx, z, t, pw, up = cases[BCE_SOFT]
        got = _number(rec_of(BCE_SOFT).get("value"), "weighted_bce_loss", ctx)
        forms = {name: float(v.mean()) for name, v in bce_forms(z, t, pw).items()}
        if not _near(got, forms[NOTEBOOK]):
            other = next((name for name, v in forms.items() if name != NOTEBOOK and _near(got, v)), None)
            if other:
                raise Fail(f"weighted_bce_loss ({ctx}): pos_weight multiplies only the t * log(sigmoid(z)) term, as "
                           f"torch's pos_weight and TensorFlow's weighted_cross_entropy_with_logits do; yours weights the "
                           f"whole loss of each pixel with a per-pixel {other} (F.binary_cross_entropy_with_logits's "
                           f"weight=), which agrees on 0/1 targets only")
            _close(got, forms[NOTEBOOK], "weighted_bce_loss", ctx)


ITEMS = [
    Item("hw4.dice", 6, ("dice_coefficient", "soft_dice_loss"), probe_dice, judge_dice,
         title="The Dice coefficient and the soft Dice loss", timeout=30),
    Item("hw4.weighted_bce", 4, ("weighted_bce_loss",), probe_bce, judge_bce,
         title="Weighted binary cross-entropy (pos_weight), numerically stable", timeout=30),
]
