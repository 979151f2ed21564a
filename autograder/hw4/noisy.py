"""Noisy masks and caries segmentation (003 P8), on the offline dental X-rays of
``data_scripts.dental``: two items.

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
layouts) and ``flag_noisy_masks`` on random inputs with several fractions. If those flags
are already wrong, it stops there (the X-ray part then earns nothing). Otherwise it draws
the 160 training X-rays of the caries item (48x48, 25 % of the masks corrupted), trains
the grader's OWN reference ResUNet (its residual encoder, the given decoder, weighted
BCE + soft Dice) on ALL the masks, corrupted ones included, for 90 Adam steps (about
4 CPU s), and passes its predicted probabilities (rounded to multiples of 1/255) and the
given masks to the student's ``flag_noisy_masks``. The judge recomputes the agreement
from those probabilities, checks that the flagged images are the least agreeing ones,
rebuilds the generator's record of the corrupted masks from the seed and scores the
precision and the recall of the flags (>= 0.50 both for full points; the reference
reaches 0.68-0.70 on the grading seeds, chance is 0.25).

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
corrupted, which the grader drops itself, using the generator's record)
and 80 clean test X-rays from the seed, builds ``ResidualEncoder(1, widths=(8, 16, 32))``
followed by its own copy of the given decoder, and trains it with **its own loop**:
Adam (one-cycle schedule, peak 5e-3), batches of 8, 90 steps, the student's loss, a
CPU-time cap. It returns the predicted masks (logit > 0) of every training and test
image. The judge rebuilds the true (clean) masks from the seed and computes the Dice
over all pixels of each split: >= 0.40 on both is full marks, less earns part of the
points in steps from 0.20 up. Plain unweighted BCE stays far below on every seed.
"""
from __future__ import annotations

import functools
import time

import numpy as np

from ..core import Bad, Fail, Item

SIZE = 48
N_TRAIN, N_TEST = 160, 80
WIDTHS = (8, 16, 32)
STEPS = 90
BATCH = 8
LR = 5e-3
CAP_S = 8.0
THRESHOLD = 0.40


def data_seeds(seed: int) -> tuple[int, int]:
    return 10 * int(seed) + 1, 10 * int(seed) + 2


def caries_data(seed: int) -> tuple[dict, dict]:
    from data_scripts.dental import dental_arrays

    s_train, s_test = data_seeds(seed)
    return (dental_arrays(N_TRAIN, size=SIZE, seed=s_train, noise_fraction=0.25),
            dental_arrays(N_TEST, size=SIZE, seed=s_test, noise_fraction=0.0))


def dice_score(pred: np.ndarray, true: np.ndarray) -> float:
    """Dice over all pixels of a split (binary masks); 1.0 when both are empty."""
    p, t = pred.astype(bool), true.astype(bool)
    den = int(p.sum()) + int(t.sum())
    return 1.0 if den == 0 else 2.0 * int((p & t).sum()) / den


# --------------------------------------------------------------------------
# Probe (child side)


def _check_loss(ns) -> object:
    """One call on a small fixed batch: a finite scalar tensor with a gradient."""
    import torch

    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, 1, 6, 6, generator=g, requires_grad=True)
    t = (torch.rand(2, 1, 6, 6, generator=g) < 0.2).float()
    loss = ns.call("segmentation_loss", z, t)
    if isinstance(loss, Bad):
        return loss
    if not torch.is_tensor(loss) or loss.numel() != 1:
        return Bad("missing", f"segmentation_loss returned {type(loss).__name__ if not torch.is_tensor(loss) else tuple(loss.shape)}; "
                              "return a scalar tensor")
    if not loss.requires_grad:
        return Bad("missing", "segmentation_loss returned a tensor without autograd graph (.item(), NumPy, detach?)")
    if not bool(torch.isfinite(loss)):
        return Bad("missing", "segmentation_loss returned NaN or inf")
    return "ok"


def train_caries(ns, model, train: dict, test: dict, seed: int) -> dict:
    import torch

    keep = ~train["noisy"]
    x = torch.from_numpy(train["images"][keep])[:, None]
    y = torch.from_numpy(train["masks"][keep]).float()[:, None]
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=STEPS, pct_start=0.2)
    loss_fn = ns.get("segmentation_loss")
    order = torch.empty(0, dtype=torch.int64)
    status, done, losses = "finished", 0, []
    start = time.process_time()
    model.train()
    for _ in range(STEPS):
        if len(order) < BATCH:
            order = torch.cat([order, torch.randperm(len(x), generator=gen)])
        idx, order = order[:BATCH], order[BATCH:]
        loss = loss_fn(model(x[idx]), y[idx])
        if not torch.is_tensor(loss) or loss.numel() != 1 or not bool(torch.isfinite(loss)):
            status = "diverged"
            break
        opt.zero_grad(set_to_none=True)
        loss.reshape(()).backward()
        opt.step()
        sched.step()
        done += 1
        losses.append(float(loss.detach()))
        if time.process_time() - start > CAP_S:
            status = "capped"
            break
    seconds = time.process_time() - start
    model.eval()
    preds = []
    with torch.no_grad():
        for imgs in (train["images"], test["images"]):
            z = torch.cat([model(torch.from_numpy(imgs[i:i + 40])[:, None]) for i in range(0, len(imgs), 40)])
            preds.append(np.packbits((z[:, 0] > 0).numpy().astype(np.uint8), axis=-1))
    return {"status": status, "steps": done, "seconds": round(seconds, 2), "preds": preds,
            "loss_start": float(np.mean(losses[:5])) if losses else float("nan"),
            "loss_end": float(np.mean(losses[-5:])) if losses else float("nan")}


def probe_caries(ns, seed):
    import torch
    import torch.nn as nn

    from .resunet import build_resunet

    out: dict = {"loss": _check_loss(ns)}
    torch.manual_seed(seed)
    enc = ns.call("ResidualEncoder", 1, widths=WIDTHS)
    if isinstance(enc, Bad) or not isinstance(enc, nn.Module):
        out["build"] = enc if isinstance(enc, Bad) else Bad("missing", f"ResidualEncoder(...) built a {type(enc).__name__}")
        return out
    model = build_resunet(enc, WIDTHS)
    with torch.no_grad():
        y = ns.guard(model, torch.zeros(2, 1, SIZE, SIZE))
    if isinstance(y, Bad) or not torch.is_tensor(y) or tuple(y.shape) != (2, 1, SIZE, SIZE):
        out["build"] = y if isinstance(y, Bad) else Bad("missing", "your encoder with the given decoder does not give "
                                                                    f"(2, 1, {SIZE}, {SIZE}) logits")
        return out
    out["build"] = "ok"
    if out["loss"] != "ok":
        return out
    train, test = caries_data(seed)
    out["train"] = ns.guard(train_caries, ns, model, train, test, seed)
    return out


# --------------------------------------------------------------------------
# Judge (trusted side)


def _preds(res: dict, k: int, n: int) -> np.ndarray:
    preds = res.get("preds")
    if not isinstance(preds, (list, tuple)) or len(preds) <= k:
        raise Fail("no predicted masks came back")
    p = preds[k]
    if not isinstance(p, np.ndarray) or p.dtype != np.uint8 or p.shape != (n, SIZE, SIZE // 8):
        raise Fail("the predicted masks are malformed")
    return np.unpackbits(p, axis=-1)[..., :SIZE]


def _tiers(ck, name: str, value: float, weight: float, tiers: int, what: str, note: str) -> None:
    floor = THRESHOLD / 2
    reached = sum(1 for i in range(1, tiers + 1) if value >= floor + (THRESHOLD - floor) * i / tiers - 1e-9)
    if reached:
        with ck.part(name, weight * reached / tiers):
            pass
    if reached < tiers:
        with ck.part(name, weight * (tiers - reached) / tiers):
            raise Fail(f"{what} {value:.2f} after the grader's training, below the {THRESHOLD:.2f} needed for full "
                       f"points{note}")


def judge_caries(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    parts = [("model and loss", 1.0), ("time", 1.0), ("test dice", 5.0), ("train dice", 3.0)]
    total = sum(w for _, w in parts)
    loss, build = out.get("loss"), out.get("build")
    if isinstance(build, Bad) or build != "ok":
        with ck.part("model and loss", total):
            raise Fail(build.describe("ResidualEncoder(1, widths=(8, 16, 32))") if isinstance(build, Bad)
                       else "the model could not be built")
        return
    if isinstance(loss, Bad) or loss != "ok":
        with ck.part("model and loss", total):
            raise Fail(loss.describe("segmentation_loss") if isinstance(loss, Bad) else "segmentation_loss could not be checked")
        return
    with ck.part("model and loss", 1.0):
        pass
    res = out.get("train")
    if not isinstance(res, dict):
        with ck.part("time", total - 1.0):
            raise Fail(res.describe("training with segmentation_loss") if isinstance(res, Bad) else "the model was not trained")
        return
    status = res.get("status")
    with ck.part("time", 1.0):
        if status == "capped":
            raise Fail(f"training too slow: the grader's {CAP_S:g} s CPU budget ran out after {res.get('steps')} of "
                       f"{STEPS} steps; keep the encoder to two 3x3 convs per level")
    note = {"diverged": f" (the loss became NaN/inf or not a scalar after {res.get('steps')} steps)",
            "capped": f" (only {res.get('steps')} of {STEPS} steps fitted in the time budget)"}.get(status, "")
    train, test = caries_data(seed)
    try:
        d_test = dice_score(_preds(res, 1, N_TEST), test["clean_masks"])
        d_train = dice_score(_preds(res, 0, N_TRAIN), train["clean_masks"])
    except Fail as e:
        with ck.part("test dice", 8.0):
            raise e
        return
    if d_test < THRESHOLD / 2 and d_train < THRESHOLD / 2 and not note:
        note = ("; with ~0.4 % lesion pixels plain BCE learns to predict 'healthy' everywhere: weight the lesions "
                "(pos_weight 10-50, alone or plus a soft Dice term)")
    _tiers(ck, "test dice", d_test, 5.0, 5, f"Dice on the {N_TEST} test X-rays", note)
    _tiers(ck, "train dice", d_train, 3.0, 3, f"Dice on the {N_TRAIN} training X-rays", note)


# ==========================================================================
# hw4.noisy_masks: the small-loss idea (the grader's own model, the student's rule)

AGREE_TOL = 2e-5       # the student computes in float32, the judge in float64
FLAG_STEPS = 90        # the reference ResUNet's training on every mask, noisy included
FLAG_PW = 10.0         # its loss: weighted BCE (pos_weight) + soft Dice
FLAG_FRACTION = 0.25
FOUND_FULL, FOUND_HALF = 0.50, 0.35   # precision and recall against the generator's record
FLAG_CAP_S = 10.0

_H1 = [[0, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]]
_H2 = [[0, 0, 1, 1, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]]
_H0 = [[0] * 5] * 4
_P1 = [[0.1, 0.9, 0.8, 0.0, 0.0], [0.0, 0.7, 1.0, 0.6, 0.1], [0.0, 0.2, 0.9, 0.0, 0.0], [0.0, 0.0, 0.0, 0.3, 0.0]]
FLAG_CASES = [(12, 0.25), (10, 0.1), (8, 0.5), (9, 0.3)]   # (N, fraction) on random inputs


def agreement_cases(seed: int) -> list:
    """(description, probs, masks, smooth, layout) -- float64 arrays holding float32 values."""
    rng = np.random.default_rng([int(seed), 45])
    f32 = lambda a: np.asarray(a, dtype=np.float32).astype(np.float64)  # noqa: E731
    cases = [
        ("hand-made 4x5 probabilities and mask, smooth=100", f32([[_P1]]), f32([[_H1]]), 100.0, "N1HW"),
        ("a batch of 3 hand-made images, smooth=1", f32([[_P1], [_H2], [_P1]]), f32([[_H1], [_H1], [_H2]]), 1.0, "N1HW"),
        ("empty masks and empty predictions, smooth=1", f32([[_H0], [_H0]]), f32([[_H0], [_H0]]), 1.0, "N1HW"),
        ("an empty mask, a confident prediction, smooth=10", f32([[_P1], [_H0]]), f32([[_H0], [_H1]]), 10.0, "N1HW"),
        ("shape (N, H, W), smooth=5", f32([_P1, _H1, _H0]), f32([_H2, _H1, _H1]), 5.0, "NHW"),
    ]
    for n, h, w, p, smooth in [(6, 9, 7, 0.3, 1.0), (4, 16, 12, 0.05, 20.0), (5, 8, 8, 0.5, 0.5)]:
        probs = f32(rng.uniform(size=(n, 1, h, w)) ** 3)
        masks = f32(rng.uniform(size=(n, 1, h, w)) < p)
        masks[-1] = 0.0
        cases.append((f"random probabilities, batch of {n}, {h}x{w}, smooth={smooth:g}", probs, masks, smooth, "N1HW"))
    return cases


def flag_inputs(seed: int, case: int) -> tuple[np.ndarray, np.ndarray, float]:
    n, fraction = FLAG_CASES[case]
    rng = np.random.default_rng([int(seed), 46, case])
    masks = (rng.uniform(size=(n, 1, 10, 10)) < 0.15).astype(np.float64)
    quality = rng.permutation(np.linspace(0.05, 0.95, n))[:, None, None, None]  # distinct per image
    probs = np.where(masks > 0, quality, (1 - quality) * 0.3) * rng.uniform(0.8, 1.0, masks.shape)
    return probs.astype(np.float32).astype(np.float64), masks, fraction


def ref_agreement(probs: np.ndarray, masks: np.ndarray, smooth: float) -> np.ndarray:
    p = np.asarray(probs, np.float64).reshape(len(probs), -1)
    m = np.asarray(masks, np.float64).reshape(len(masks), -1)
    return (2 * (p * m).sum(1) + smooth) / (p.sum(1) + m.sum(1) + smooth)


def n_flagged(n: int, fraction: float) -> int:
    return int(round(fraction * n))


@functools.lru_cache(maxsize=None)
def reference_encoder_class():
    """The grader's own residual encoder (the notebook's reference solution)."""
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


def reference_probs(seed: int) -> tuple[np.ndarray, dict]:
    """Train the grader's reference ResUNet on every training mask of the caries item's data
    (corrupted ones included) and return its lesion probabilities, as uint8 (N, H, W) in units
    of 1/255, with the CPU seconds and steps."""
    import torch

    from .resunet import build_resunet

    train, _ = caries_data(seed)
    torch.manual_seed(seed)
    model = build_resunet(reference_encoder_class()(1, WIDTHS), WIDTHS)
    x = torch.from_numpy(train["images"])[:, None]
    y = torch.from_numpy(train["masks"]).float()[:, None]
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=FLAG_STEPS, pct_start=0.2)
    order = torch.empty(0, dtype=torch.int64)
    done, start = 0, time.process_time()
    model.train()
    for _ in range(FLAG_STEPS):
        if len(order) < BATCH:
            order = torch.cat([order, torch.randperm(len(x), generator=gen)])
        idx, order = order[:BATCH], order[BATCH:]
        loss = reference_loss(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        done += 1
        if time.process_time() - start > FLAG_CAP_S:
            break
    seconds = time.process_time() - start
    model.eval()
    with torch.no_grad():
        p = torch.cat([torch.sigmoid(model(x[i:i + 40])) for i in range(0, len(x), 40)])[:, 0]
    q = np.rint(p.double().numpy() * 255.0).astype(np.uint8)
    return q, {"steps": done, "seconds": round(seconds, 2)}


# --------------------------------------------------------------------------
# Probe (child side)


def _vector(v, n: int, dtype=np.float64):
    """A student's (N,) result as a NumPy array, or a Bad saying what is wrong."""
    import torch

    if isinstance(v, Bad):
        return v
    if torch.is_tensor(v):
        v = v.detach().cpu().numpy()
    if isinstance(v, (list, tuple)):
        try:
            v = np.asarray(v)
        except Exception:
            return Bad("type", f"a {type(v).__name__} that is not a vector")
    if not isinstance(v, np.ndarray):
        return Bad("type", f"a {type(v).__name__}; return a tensor or array of shape ({n},)")
    if v.shape != (n,):
        return Bad("missing", f"returned shape {v.shape}, expected ({n},): one value per image"
                   + (" (a single number: it is pooled over the batch)" if v.size == 1 and n > 1 else ""))
    try:
        return v.astype(dtype)
    except Exception:
        return Bad("type", f"an array of {v.dtype}")


def _tensor(a: np.ndarray, layout: str = "N1HW"):
    import torch

    t = torch.tensor(a, dtype=torch.float32)
    return t if layout == "N1HW" or t.ndim == 3 else t[:, 0]


def probe_noisy(ns, seed):
    import torch

    out: dict = {"agree": [], "flags": []}
    for _, probs, masks, smooth, layout in agreement_cases(seed):
        v = ns.call("mask_agreement", _tensor(probs, layout), _tensor(masks, layout), smooth)
        out["agree"].append(_vector(v, len(probs)))
    for case in range(len(FLAG_CASES)):
        probs, masks, fraction = flag_inputs(seed, case)
        v = ns.call("flag_noisy_masks", _tensor(probs), _tensor(masks), fraction=fraction)
        out["flags"].append(_vector(v, len(probs), dtype=bool)
                            if isinstance(v, Bad) or getattr(v, "dtype", None) in (torch.bool, np.bool_)
                            else Bad("missing", f"returned {getattr(v, 'dtype', type(v).__name__)}, expected booleans "
                                                "(True = flagged)"))
    # no training when the rule already fails on the random inputs (this only saves time: the
    # judge checks the flags again from scratch)
    for case, flags in enumerate(out["flags"]):
        probs, masks, fraction = flag_inputs(seed, case)
        try:
            _check_rule(flags, ref_agreement(probs, masks, 1.0), fraction, "")
        except Exception:
            out["skipped"] = True
            return out
    # the grader's own model, trained on every mask, noisy ones included; its probabilities
    # are fixed here before the student's function sees a copy of them
    q, info = reference_probs(seed)
    out["probs"], out["info"] = q, info
    train, _ = caries_data(seed)
    probs = torch.from_numpy(q.astype(np.float32) / np.float32(255.0))[:, None]
    masks = torch.from_numpy(train["masks"]).float()[:, None]
    v = ns.call("flag_noisy_masks", probs, masks, fraction=FLAG_FRACTION)
    out["xray"] = (_vector(v, len(q), dtype=bool)
                   if isinstance(v, Bad) or getattr(v, "dtype", None) in (torch.bool, np.bool_)
                   else Bad("missing", f"returned {getattr(v, 'dtype', type(v).__name__)}, expected booleans (True = flagged)"))
    return out


# --------------------------------------------------------------------------
# Judge (trusted side)


def _agreement_hint(got: np.ndarray, probs, masks, smooth) -> str:
    p = probs.reshape(len(probs), -1)
    m = masks.reshape(len(masks), -1)
    inter, total = (p * m).sum(1), p.sum(1) + m.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        guesses = {
            "no smoothing term": 2 * inter / total,
            "smooth only in the denominator": 2 * inter / (total + smooth),
            "smooth only in the numerator": (2 * inter + smooth) / total,
            "2 * smooth in the numerator": (2 * inter + 2 * smooth) / (total + smooth),
            "no factor 2": (inter + smooth) / (total + smooth),
            "one Dice over the whole batch": np.full(len(p), (2 * inter.sum() + smooth) / (total.sum() + smooth)),
            "1 - Dice (a loss, not an agreement)": 1 - (2 * inter + smooth) / (total + smooth),
            "the hard prediction (probs > 0.5)": (2 * ((p > 0.5) * m).sum(1) + smooth) / ((p > 0.5).sum(1) + m.sum(1) + smooth),
        }
    for name, g in guesses.items():
        if np.all(np.isfinite(g)) and np.allclose(got, g, rtol=1e-4, atol=1e-6):
            return f" (looks like {name})"
    return ""


def _check_rule(flags, agree: np.ndarray, fraction: float, ctx: str) -> None:
    if isinstance(flags, Bad):
        raise Fail(flags.describe(f"flag_noisy_masks on {ctx}"))
    if not isinstance(flags, np.ndarray) or flags.shape != agree.shape:
        raise Fail(f"flag_noisy_masks on {ctx}: the flags could not be read back")
    k = n_flagged(len(agree), fraction)
    got = int(flags.sum())
    if got != k:
        raise Fail(f"flag_noisy_masks(..., fraction={fraction:g}) on {ctx}: flagged {got} of {len(agree)} images, "
                   f"expected round({fraction:g} * {len(agree)}) = {k}")
    if k and k < len(agree) and agree[flags].max() > agree[~flags].min() + 1e-6:
        top = agree[flags].min() >= np.sort(agree)[::-1][k - 1] - 1e-9
        raise Fail(f"flag_noisy_masks on {ctx}: the flagged images are not the {k} with the LOWEST agreement"
                   + (" (you flagged the best-agreeing ones)" if top else
                      f" (a flagged mask agrees {agree[flags].max():.3f}, an unflagged one only {agree[~flags].min():.3f})"))


def judge_noisy(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    cases = agreement_cases(seed)
    got_all = out.get("agree")
    with ck.part("mask_agreement", 2.5):
        if not isinstance(got_all, list) or len(got_all) != len(cases):
            raise Fail("mask_agreement: no results came back")
        for (desc, probs, masks, smooth, _), got in zip(cases, got_all):
            if isinstance(got, Bad):
                raise Fail(got.describe(f"mask_agreement on {desc}"))
            want = ref_agreement(probs, masks, smooth)
            if not isinstance(got, np.ndarray) or got.shape != want.shape:
                raise Fail(f"mask_agreement on {desc}: the result could not be read back")
            if not np.all(np.isfinite(got)):
                raise Fail(f"mask_agreement on {desc}: NaN or inf (an empty mask and an empty prediction must give 1)"
                           + _agreement_hint(got, probs, masks, smooth))
            err = float(np.max(np.abs(got - want)))
            if err > AGREE_TOL:
                raise Fail(f"mask_agreement on {desc}: got {np.round(got, 4).tolist()}, expected "
                           f"{np.round(want, 4).tolist()}{_agreement_hint(got, probs, masks, smooth)}")
    flags_all = out.get("flags")
    with ck.part("flag rule", 1.5):
        if not isinstance(flags_all, list) or len(flags_all) != len(FLAG_CASES):
            raise Fail("flag_noisy_masks: no results came back")
        for case, flags in enumerate(flags_all):
            probs, masks, fraction = flag_inputs(seed, case)
            n = len(probs)
            _check_rule(flags, ref_agreement(probs, masks, 1.0), fraction, f"{n} random images")
    if out.get("skipped"):
        with ck.part("noisy masks found", 2.0):
            raise Fail("the X-ray test did not run: flag_noisy_masks must first flag the round(fraction * N) "
                       "least-agreeing images of the random inputs")
        return
    q, flags = out.get("probs"), out.get("xray")
    train, _ = caries_data(seed)
    n = len(train["masks"])
    try:
        if not isinstance(q, np.ndarray) or q.dtype != np.uint8 or q.shape != train["masks"].shape:
            raise Fail("the grader's predictions did not come back")
        agree = ref_agreement(q.astype(np.float32).astype(np.float64) / 255.0, train["masks"], 1.0)
        _check_rule(flags, agree, FLAG_FRACTION, f"the grader's {n} training X-rays")
    except Fail as e:
        with ck.part("noisy masks found", 2.0):
            raise e
        return
    truth = np.asarray(train["noisy"], dtype=bool)
    hit = int((flags & truth).sum())
    precision, recall = hit / max(int(flags.sum()), 1), hit / max(int(truth.sum()), 1)
    low = min(precision, recall)
    msg = (f"on the grader's {n} X-rays your flags have precision {precision:.2f} and recall {recall:.2f} against "
           f"the generator's record of corrupted masks")
    for need in (FOUND_HALF, FOUND_FULL):
        with ck.part("noisy masks found", 1.0):
            if low < need:
                raise Fail(f"{msg}; {FOUND_FULL:.2f} needed for full points")


ITEMS = [
    Item("hw4.noisy_masks", 6, ("mask_agreement", "flag_noisy_masks"), probe_noisy, judge_noisy,
         title="Noisy masks: the soft Dice agreement and the least-agreeing masks flagged", timeout=60,
         memory_mb=3072),
    Item("hw4.caries_segmentation", 10, ("ResidualEncoder", "segmentation_loss"), probe_caries, judge_caries,
         title="Caries segmentation: the grader trains your ResUNet with your loss to Dice >= 0.40", timeout=60,
         memory_mb=3072),
]
