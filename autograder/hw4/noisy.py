"""Noisy masks and caries segmentation (003 P8), on the offline dental X-rays of
``data_scripts.dental``: two items. The probe half is ``autograder/probes/hw4/noisy.py``.

**hw4.noisy_masks** -- finding the corrupted masks with the small-loss idea.

Student API (torch tensors in; (N, 1, H, W) or (N, H, W), the first dimension is the batch):
    mask_agreement(probs, masks, smooth=1.0) -> (N,) tensor or array, one value per image
        probs in [0, 1] (a model's predicted lesion probabilities), masks 0/1 (the given
        annotations). The soft Dice of image i:
            A_i = (2 * sum(P_i * M_i) + smooth) / (sum(P_i) + sum(M_i) + smooth)
        (per image, never pooled over the batch; an empty mask and an empty prediction give 1).
    flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0) -> bool (N,) tensor or array
        True for the round(fraction * N) images whose masks agree least with the
        predictions (the smallest mask_agreement); ties in any order.

The probe checks ``mask_agreement`` on inputs the judge rebuilds from the seed (hand-made
masks with a large ``smooth``, empty masks and predictions, random probabilities, both
layouts) and ``flag_noisy_masks`` on random inputs with several fractions. The X-ray part
is built here, on the judge's side (``give``): 240 X-rays (48x48, 25 % of the masks
corrupted) drawn from ``held_out_seed``, and the grader's OWN reference ResUNet (its
residual encoder, the given decoder, weighted BCE + soft Dice) trained on ALL the masks,
corrupted ones included, for 150 Adam steps (about 6 CPU s, once per grading seed and
process, one thread, so the same everywhere). The probe gets its predicted probabilities
(rounded to multiples of 1/255) and the masks, and passes them to the student's
``flag_noisy_masks``. The judge recomputes the agreement from those probabilities, checks
that the flagged images are the least agreeing ones (only if the rule was right on the
random inputs), and scores the precision and the recall of the flags against the
generator's record of the corrupted masks, which never leaves this process (>= 0.50 both
for full points; the reference reaches 0.68-0.70 on the grading seeds and 0.58-0.85 on
other secrets, chance is 0.25).

Conventions of hw4.noisy_masks, each in a small part of its own: where the agreement's
smoothing term goes (0.5; the other placements of hw4.dice are accepted in the agreement's
cases, and the flags are then checked against the student's own agreement), and how many
masks are flagged (0.5): round(fraction N) here; rounding down, int(fraction N), and
Co-teaching's count (its code keeps int((1 - fraction) N) samples and drops the rest) are
accepted by the rule and the X-ray test and charged there.

**hw4.caries_segmentation** -- trained by the grader: the student's residual encoder and
the student's loss.

Student API:
    ResidualEncoder(in_channels, widths=...)   (see resunet.py)
    segmentation_loss(logits, targets) -> scalar tensor with autograd
        logits (N, 1, H, W) float, targets (N, 1, H, W) float 0/1 (lesion = 1).
        Lesions cover about 0.4 % of the pixels: a loss that copes with the imbalance is
        the point of the task. Within the grader's short budget a lesion weight is what
        works (weighted BCE with pos_weight 10-50, alone or plus soft Dice); the soft Dice
        alone and unweighted BCE + Dice are slower and often end below 0.40.

The grader (probe, child side) draws 160 training X-rays (48x48; 25 % of their masks
corrupted) from the public seed and keeps the masks the student's ``flag_noisy_masks``
does not flag (003 P8: the student's noisy-mask handling decides which masks train). The
flags are computed from lesion probabilities the judge sends (``give``): those of the
noisy-mask item's reference model, trained on other X-rays with every mask, on these
training X-rays. When the flags cannot be used, every mask trains (and the reason says
so). The grader then builds ``ResidualEncoder(1, widths=(8, 16, 32))`` followed by its own
copy of the given decoder, and trains it with **its own loop**: Adam (one-cycle schedule, peak 5e-3),
batches of 8, 90 steps, the student's loss, a CPU-time cap. It returns the predicted
masks (logit > 0) of the held-out X-rays the judge sent (``give``: 120 clean X-rays drawn
from ``held_out_seed``, images only). The judge holds their true masks and computes the
Dice over all their pixels: >= 0.40 is full marks, less earns part of the points in steps
from 0.25 up. Plain unweighted BCE stays far below on every seed. On the grading seeds
the reference (its flags, weighted BCE + soft Dice) reaches 0.54-0.62; the same loss on
every mask (no flag) 0.31-0.49; plain BCE 0.00.
"""
from __future__ import annotations

import functools

import numpy as np

from ..core import Bad, Fail, Item, held_out_seed
from ..judging import (any_passed, convention_part, item_of, levels, short, status_note, tier_thresholds, time_part,
                       trained)
from ..probes.hw4.noisy import (CAP_S, FLAG_CASES, FLAG_FRACTION, SIZE, STEPS, WIDTHS, agreement_cases, caries_train,
                                flag_inputs, probe_caries, probe_noisy)
from ..probes.hw4.resunet import build_resunet
from ..probes.kit.train import budgeted_training, in_chunks
from .losses import NOTEBOOK, PLACEMENT_TEXT, PLACEMENTS

THRESHOLD = 0.40
N_EVAL = 120           # held-out X-rays of the caries item (judge side; the probe gets the images)
MODEL_TEXT = f"ResidualEncoder(1, widths={WIDTHS}) + the given decoder"


def dice_score(pred: np.ndarray, true: np.ndarray) -> float:
    """Dice over all pixels of a split (binary masks); 1.0 when both are empty."""
    p, t = pred.astype(bool), true.astype(bool)
    den = int(p.sum()) + int(t.sum())
    return 1.0 if den == 0 else 2.0 * int((p & t).sum()) / den


@functools.lru_cache(maxsize=4)
def _caries_eval(held_seed: int) -> dict:
    from data_scripts.dental import dental_arrays

    return dental_arrays(N_EVAL, size=SIZE, seed=held_seed, noise_fraction=0.0)


def caries_eval(seed: int) -> dict:
    """The held-out X-rays of the caries item (judge side only): ``images`` (sent to the
    probe) and ``clean_masks`` (kept), from a seed only the judge can derive."""
    return _caries_eval(held_out_seed("hw4.caries_segmentation", seed))


def give_caries(seed: int) -> dict:
    """The held-out X-rays (images only), and the reference model's probabilities for the
    training X-rays, which the student's flag_noisy_masks reads to decide which masks train."""
    return {"images": caries_eval(seed)["images"].copy(), "probs": caries_train_probs(seed).copy()}


# --------------------------------------------------------------------------
# hw4.caries_segmentation: judge


def _preds(res: dict, n: int, who: str) -> np.ndarray:
    p = res.get("pred")
    if not isinstance(p, np.ndarray) or p.dtype != np.uint8 or p.shape != (n, SIZE, SIZE // 8):
        raise Fail(f"{who}: its predicted masks for the {n} held-out X-rays are malformed (expected one "
                   f"{SIZE}x{SIZE} mask per X-ray)")
    return np.unpackbits(p, axis=-1)[..., :SIZE]


def _loss_problem(loss) -> str | None:
    """Why the record of ``segmentation_loss`` on a small batch is not a usable loss, or None."""
    if isinstance(loss, Bad):
        return loss.describe("segmentation_loss on a batch of 2 (N, 1, 6, 6) logits")
    if not isinstance(loss, dict):
        return "segmentation_loss could not be checked"
    if loss.get("tensor") is not True:
        return (f"segmentation_loss returned {short(loss.get('type'), 40)} on a batch of 2 (N, 1, 6, 6) logits; "
                "return a scalar tensor (with its autograd graph, for training)")
    shape = loss.get("shape")
    if not isinstance(shape, list) or int(np.prod(shape)) != 1:
        return (f"segmentation_loss returned a tensor of shape {short(shape, 40)} on a batch of 2 (N, 1, 6, 6) "
                "logits; return a scalar tensor (the mean)")
    if loss.get("requires_grad") is not True:
        return "segmentation_loss returned a tensor without autograd graph (.item(), NumPy, detach?)"
    if loss.get("finite") is not True:
        return "segmentation_loss returned NaN or inf on a batch of 2 (N, 1, 6, 6) logits"
    return None


def _setup_problem(build, loss) -> str | None:
    """Why the student's model or loss cannot be trained, or None."""
    if isinstance(build, Bad):
        return build.describe(f"ResidualEncoder(1, widths={WIDTHS})")
    if build != [2, 1, SIZE, SIZE]:
        return (f"{MODEL_TEXT}: on a batch of (2, 1, {SIZE}, {SIZE}) X-rays the model gives {short(build, 40)}, "
                f"expected logits of shape (2, 1, {SIZE}, {SIZE})")
    return _loss_problem(loss)


def judge_caries(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    total = 10.0  # model and loss 1, time 1, Dice 8
    try:
        problem = _setup_problem(out.get("build"), out.get("loss"))
    except Exception:  # an odd record: it cannot count
        problem = "ResidualEncoder and segmentation_loss: the result could not be read back"
    with ck.part("ResidualEncoder and segmentation_loss", total if problem else 1.0):
        if problem:  # no model or no usable loss: nothing else can count
            raise Fail(problem)
    if problem:
        return
    res = out.get("train")
    who = f"{MODEL_TEXT}, trained by the grader with your segmentation_loss"
    res = trained(res, who, ck, [("segmentation_loss training: Dice", total - 1.0)])
    if res is None:
        return
    time_part(ck, "segmentation_loss training: time", 1.0, res,
              f"{who}: too slow, the grader's {CAP_S:g} s CPU budget ran out after {{done}} of {{steps}} steps; keep "
              "the encoder to two 3x3 convs per level", STEPS)
    note = status_note(res, STEPS, diverged="the loss became NaN/inf or not a scalar") if res.get("status") in (
        "diverged", "capped") else ""
    data = caries_eval(seed)
    try:
        d = dice_score(_preds(res, N_EVAL, who), data["clean_masks"])
    except Fail as e:
        with ck.part("segmentation_loss training: Dice", 8.0):
            raise e
        return
    if d < THRESHOLD / 2 and not note:
        note = ("; with ~0.4 % lesion pixels plain BCE learns to predict 'healthy' everywhere: weight the lesions "
                "(pos_weight 10-50, alone or plus a soft Dice term)")
    note += _masks_note(out.get("masks"))
    levels(ck, "segmentation_loss training: Dice", d, 8.0, tier_thresholds(THRESHOLD / 2, THRESHOLD, 4),
           f"{who}: Dice on {N_EVAL} held-out X-rays {d:.2f}, below the {THRESHOLD:.2f} needed for full points{note}")


def _masks_note(rec) -> str:
    """What the reason says about the masks the grader trained on (003 P8: the student's flags chose them)."""
    flags = rec.get("flags") if isinstance(rec, dict) else None
    if isinstance(flags, Bad):
        return ("; it trained on every mask, the corrupted ones included: "
                + flags.describe("flag_noisy_masks on the training X-rays"))
    if isinstance(flags, np.ndarray) and flags.dtype == np.bool_ and not flags.any():
        return "; your flag_noisy_masks flagged no training mask, so it trained on the corrupted ones too"
    return ""


# ==========================================================================
# hw4.noisy_masks: the small-loss idea (the grader's own model, the student's rule)

AGREE_TOL = 2e-5       # the student computes in float32, the judge in float64
N_XRAY = 240           # X-rays of the noisy-mask test (judge side), a quarter of their masks corrupted
FLAG_STEPS = 150       # the reference ResUNet's training on every mask, noisy included
FLAG_PW = 10.0         # its loss: weighted BCE (pos_weight) + soft Dice
FOUND_FULL, FOUND_HALF = 0.50, 0.35   # precision and recall against the generator's record
FLAG_LR, FLAG_BATCH = 5e-3, 8


def ref_agreement(probs: np.ndarray, masks: np.ndarray, smooth: float) -> np.ndarray:
    p = np.asarray(probs, np.float64).reshape(len(probs), -1)
    m = np.asarray(masks, np.float64).reshape(len(masks), -1)
    return (2 * (p * m).sum(1) + smooth) / (p.sum(1) + m.sum(1) + smooth)


def n_flagged(n: int, fraction: float) -> int:
    return int(round(fraction * n))


@functools.lru_cache(maxsize=None)
def reference_encoder_class():
    """The grader's own residual encoder (the notebook's reference solution; judge side only)."""
    import torch.nn as nn
    import torch.nn.functional as F

    class ReferenceEncoder(nn.Module):
        def __init__(self, in_channels, widths):
            super().__init__()
            self.units = nn.ModuleList()
            cin = in_channels
            for i, cout in enumerate(widths):
                stride = 1 if i == 0 else 2
                unit = nn.Module()
                unit.pre = None if i == 0 else nn.BatchNorm2d(cin)
                unit.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
                unit.bn = nn.BatchNorm2d(cout)
                unit.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
                unit.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                self.units.append(unit)
                cin = cout

        def forward(self, x):
            features = []
            for unit in self.units:
                h = x if unit.pre is None else F.relu(unit.pre(x))
                h = unit.conv2(F.relu(unit.bn(unit.conv1(h))))
                x = h + unit.shortcut(x)
                features.append(x)
            return features

    return ReferenceEncoder


def reference_loss(logits, targets):
    """Weighted BCE (pos_weight FLAG_PW) + soft Dice (smooth 1), per image then mean."""
    import torch
    import torch.nn.functional as F

    bce = F.binary_cross_entropy_with_logits(logits, targets, pos_weight=torch.tensor(FLAG_PW))
    p, t = torch.sigmoid(logits).flatten(1), targets.flatten(1)
    dice = (2 * (p * t).sum(1) + 1.0) / (p.sum(1) + t.sum(1) + 1.0)
    return bce + (1 - dice).mean()


def _one_thread_probs(model, images: np.ndarray) -> np.ndarray:
    """The model's lesion probabilities for ``images`` (N, H, W), as uint8 in units of 1/255, on one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        x = torch.from_numpy(images)[:, None]
        p = torch.cat([torch.sigmoid(z) for z in in_chunks(model, x, 40)])[:, 0]
    finally:
        torch.set_num_threads(threads)
    return np.rint(p.double().numpy() * 255.0).astype(np.uint8)


def reference_model(train: dict, seed: int):
    """The grader's reference ResUNet trained on every mask of ``train`` (corrupted ones
    included) with the toolkit's loop, in eval mode, with the CPU seconds and steps. One
    thread and private RNG state: the same bytes in every process, and the caller's RNGs
    untouched."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_resunet(reference_encoder_class()(1, WIDTHS), WIDTHS)
            x = torch.from_numpy(train["images"])[:, None]
            y = torch.from_numpy(train["masks"]).float()[:, None]
            res = budgeted_training(model, lambda idx, gen: reference_loss(model(x[idx]), y[idx]), len(x),
                                    steps=FLAG_STEPS, batch=FLAG_BATCH, lr=FLAG_LR, seed=seed, one_cycle=0.2)
    finally:
        torch.set_num_threads(threads)
    return model, {"steps": res["steps"], "seconds": res["seconds"]}


def reference_probs(train: dict, seed: int) -> tuple[np.ndarray, dict]:
    """The reference model's probabilities for its own training X-rays (uint8, units of 1/255)."""
    model, info = reference_model(train, seed)
    return _one_thread_probs(model, train["images"]), info


@functools.lru_cache(maxsize=4)
def _xray_set(held_seed: int) -> dict:
    from data_scripts.dental import dental_arrays

    train = dental_arrays(N_XRAY, size=SIZE, seed=held_seed, noise_fraction=0.25)
    model, info = reference_model(train, held_seed % 2 ** 31)
    return {"probs": _one_thread_probs(model, train["images"]), "masks": train["masks"],
            "noisy": np.asarray(train["noisy"], dtype=bool), "clean_masks": train["clean_masks"], "info": info,
            "model": model}


def xray_set(seed: int) -> dict:
    """The X-ray part of hw4.noisy_masks (judge side only): the reference model's
    probabilities and the annotated masks (sent to the probe), and the generator's record
    of the corrupted masks (kept), from a seed only the judge can derive."""
    return _xray_set(held_out_seed("hw4.noisy_masks", seed))


@functools.lru_cache(maxsize=4)
def _caries_train_probs(held_seed: int, seed: int) -> np.ndarray:
    return _one_thread_probs(_xray_set(held_seed)["model"], caries_train(seed)["images"])


def caries_train_probs(seed: int) -> np.ndarray:
    """hw4.caries_segmentation (003 P8): the lesion probabilities the student's
    ``flag_noisy_masks`` judges the caries training masks by: the noisy-mask item's
    reference model (trained on other X-rays, every mask included) on the caries item's
    training X-rays (drawn from the public seed), uint8 in units of 1/255."""
    return _caries_train_probs(held_out_seed("hw4.noisy_masks", seed), int(seed))


def give_noisy(seed: int) -> dict:
    s = xray_set(seed)
    return {"probs": s["probs"].copy(), "masks": s["masks"].copy()}


# --------------------------------------------------------------------------
# hw4.noisy_masks: judge


# Where the smoothing term goes (as in hw4.dice): the other placements are accepted in the agreement's
# cases (and the flags are checked against the student's own agreement) and charged in a small part.
AGREE_W, AGREE_SMOOTH_W, RULE_W, COUNT_W, XRAY_W = 2.0, 0.5, 1.0, 0.5, 2.0


def agreement_forms(probs, masks, smooth: float) -> dict[str, np.ndarray]:
    p = np.asarray(probs, np.float64).reshape(len(probs), -1)
    m = np.asarray(masks, np.float64).reshape(len(masks), -1)
    inter, total = (p * m).sum(1), p.sum(1) + m.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {name: (2 * inter + a * smooth) / (total + b * smooth) for name, (a, b) in PLACEMENTS.items()}


def _agreement_hint(got: np.ndarray, probs, masks, smooth) -> str:
    """What a wrong agreement looks like (mistakes; the other placements of smooth are conventions)."""
    p = probs.reshape(len(probs), -1)
    m = masks.reshape(len(masks), -1)
    inter, total = (p * m).sum(1), p.sum(1) + m.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        guesses = {
            "no smoothing term": 2 * inter / total,
            "no factor 2": (inter + smooth) / (total + smooth),
            "one Dice over the whole batch": np.full(len(p), (2 * inter.sum() + smooth) / (total.sum() + smooth)),
            "1 - Dice (a loss, not an agreement)": 1 - (2 * inter + smooth) / (total + smooth),
            "the hard prediction (probs > 0.5)": (2 * ((p > 0.5) * m).sum(1) + smooth) / ((p > 0.5).sum(1) + m.sum(1) + smooth),
        }
    for name, g in guesses.items():
        if np.all(np.isfinite(g)) and np.allclose(got, g, rtol=1e-4, atol=1e-6):
            return f" (looks like {name})"
    return ""


def _counts(n: int, fraction: float) -> dict[str, int]:
    """How many to flag: the notebook's round(fraction N), rounded down, and Co-teaching's count."""
    return {NOTEBOOK: n_flagged(n, fraction), "rounded down": int(fraction * n),
            "Co-teaching": n - int((1 - fraction) * n)}


def _check_rule(flags, agree: np.ndarray, fraction: float, ctx: str) -> str:
    """Checks the flags against ``agree``; returns which count convention they follow."""
    if isinstance(flags, Bad):
        raise Fail(flags.describe(f"flag_noisy_masks on {ctx}"))
    if not isinstance(flags, np.ndarray) or flags.dtype != np.bool_ or flags.shape != agree.shape:
        raise Fail(f"flag_noisy_masks on {ctx}: the flags could not be read back (expected {len(agree)} booleans)")
    counts = _counts(len(agree), fraction)
    k = int(flags.sum())
    if k not in counts.values():
        raise Fail(f"flag_noisy_masks(..., fraction={fraction:g}) on {ctx}: flagged {k} of {len(agree)} images, "
                   f"expected round({fraction:g} * {len(agree)}) = {counts[NOTEBOOK]}")
    if k and k < len(agree) and agree[flags].max() > agree[~flags].min() + 1e-6:
        top = agree[flags].min() >= np.sort(agree)[::-1][k - 1] - 1e-9
        raise Fail(f"flag_noisy_masks on {ctx}: the flagged images are not the {k} with the LOWEST agreement"
                   + (" (you flagged the best-agreeing ones)" if top else
                      f" (a flagged mask agrees {agree[flags].max():.3f}, an unflagged one only {agree[~flags].min():.3f})"))
    return next(name for name, c in counts.items() if c == k)


def _count_reason(name: str, n: int, fraction: float) -> str:
    k = _counts(n, fraction)
    if name == "Co-teaching":
        how = (f"keeps int((1 - fraction) * N) = {n - k[name]} and flags the other {k[name]}, as Co-teaching's code "
               "(Han et al., 2018) counts the samples it remembers")
    else:
        how = f"rounds down, int(fraction * N) = {k[name]}"
    return (f"flag_noisy_masks(..., fraction={fraction:g}) on {n} images: this notebook flags round(fraction * N) = "
            f"{k[NOTEBOOK]}; yours {how}")


def judge_noisy(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    cases = agreement_cases(seed)
    got_all = out.get("agree")
    placement = None  # the first other placement of smooth the agreement follows: (name, case)
    for i, (desc, probs, masks, smooth, _) in enumerate(cases):
        with ck.part("mask_agreement", AGREE_W / len(cases)):
            got = item_of(got_all, i)
            if isinstance(got, Bad):
                raise Fail(got.describe(f"mask_agreement on {desc}"))
            forms = agreement_forms(probs, masks, smooth)
            want = forms[NOTEBOOK]
            if not isinstance(got, np.ndarray) or got.shape != want.shape or got.dtype.kind not in "fiu":
                raise Fail(f"mask_agreement on {desc}: the result could not be read back (expected {len(want)} "
                           "numbers, one per image)")
            if not np.all(np.isfinite(got)):
                raise Fail(f"mask_agreement on {desc}: NaN or inf (an empty mask and an empty prediction must give 1)"
                           + _agreement_hint(got, probs, masks, smooth))
            name = next((n for n, f in forms.items() if np.all(np.isfinite(f)) and float(np.max(np.abs(got - f))) <= AGREE_TOL),
                        None)
            if name is None:
                raise Fail(f"mask_agreement on {desc}: got {np.round(got, 4).tolist()}, expected "
                           f"{np.round(want, 4).tolist()}{_agreement_hint(got, probs, masks, smooth)}")
            if name != NOTEBOOK and placement is None:
                placement = (name, desc)
    followed = "" if placement is None else (
        f"mask_agreement: this notebook adds the smoothing term s once to the numerator and once to the "
        f"denominator, (2 sum(P M) + s) / (sum(P) + sum(M) + s); yours {PLACEMENT_TEXT[placement[0]]} "
        f"(on {placement[1]})")
    convention_part(ck, "mask_agreement: where the smoothing term goes", AGREE_SMOOTH_W, followed,
                    *any_passed(ck, "mask_agreement"))
    agreement = (lambda p, m, s: agreement_forms(p, m, s)[placement[0]]) if placement else ref_agreement
    flags_all = out.get("flags")
    counted = []  # (count convention, N, fraction) of every random case
    try:  # the rule on the random inputs, with the student's own placement of smooth; the X-rays count once it is right
        if not isinstance(flags_all, list) or len(flags_all) != len(FLAG_CASES):
            raise Fail("flag_noisy_masks: no results came back")
        for case, flags in enumerate(flags_all):
            probs, masks, fraction = flag_inputs(seed, case)
            counted.append((_check_rule(flags, agreement(probs, masks, 1.0), fraction, f"{len(probs)} random images"),
                            len(probs), fraction))
        rule = None
    except Fail as e:
        rule = str(e)
    except Exception:  # an odd result
        rule = "flag_noisy_masks on random images: the flags could not be read back"
    with ck.part("flag_noisy_masks: the rule", RULE_W if rule is None else RULE_W + COUNT_W + XRAY_W):
        if rule is not None:  # the count and the X-rays count once the rule is right
            raise Fail(rule + " (the test on the grader's X-rays counts once the rule is right)")
    if rule is not None:
        return
    other = next((c for c in counted if c[0] != NOTEBOOK), None)
    convention_part(ck, "flag_noisy_masks: how many are flagged", COUNT_W, _count_reason(*other) if other else "",
                    True, "")
    xs = xray_set(seed)
    n = len(xs["masks"])
    ctx = f"the grader's {n} X-rays"
    try:
        agree = agreement(xs["probs"].astype(np.float32).astype(np.float64) / 255.0, xs["masks"], 1.0)
        flags = xs_flags = out.get("xray")
        _check_rule(flags, agree, FLAG_FRACTION, ctx)
    except Fail as e:
        with ck.part("flag_noisy_masks: noisy X-ray masks found", XRAY_W):
            raise e
        return
    truth = xs["noisy"]
    hit = int((xs_flags & truth).sum())
    precision, recall = hit / max(int(xs_flags.sum()), 1), hit / max(int(truth.sum()), 1)
    levels(ck, "flag_noisy_masks: noisy X-ray masks found", min(precision, recall), XRAY_W, (FOUND_HALF, FOUND_FULL),
           f"flag_noisy_masks on {ctx}: your flags have precision {precision:.2f} and recall {recall:.2f} against "
           f"the record of the corrupted masks; {FOUND_FULL:.2f} needed for full points")


ITEMS = [
    Item("hw4.noisy_masks", 6, ("mask_agreement", "flag_noisy_masks"), probe_noisy, judge_noisy,
         title="Noisy masks: the soft Dice agreement and the least-agreeing masks flagged", timeout=60,
         memory_mb=3072, give=give_noisy),
    Item("hw4.caries_segmentation", 10, ("ResidualEncoder", "segmentation_loss"), probe_caries, judge_caries,
         title="Caries segmentation: the grader trains your ResUNet with your loss to Dice >= 0.40", timeout=60,
         memory_mb=3072, give=give_caries),
]
