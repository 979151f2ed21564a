"""Probe half of hw4.noisy_masks and hw4.caries_segmentation (judges:
``autograder/hw4/noisy.py``), on the offline dental X-rays of ``data_scripts.dental``.

hw4.noisy_masks: calls ``mask_agreement`` on cases built from the seed (hand-made masks
with a large ``smooth``, empty masks and predictions, random probabilities, both layouts)
and ``flag_noisy_masks`` on random inputs with several fractions; then
``flag_noisy_masks`` on the X-rays the judge sent (``ns.given``: the lesion
probabilities of the grader's own model, in units of 1/255, and the annotated masks,
a quarter of them corrupted). Which masks are corrupted only the judge knows.

hw4.caries_segmentation: builds ``ResidualEncoder(1, widths=(8, 16, 32))`` followed by
the given decoder, trains it with the grader's own loop and the student's
``segmentation_loss`` on training X-rays drawn from the public seed, on the masks the
student's ``flag_noisy_masks`` does not flag (003 P8: it reads the probabilities the judge
sent, ``ns.given["probs"]``, its reference model's; every mask when the flags cannot be
used), and returns its predicted masks (logit > 0) for the held-out X-rays the judge sent
(``ns.given["images"]``); only the judge holds their true masks.
"""
from __future__ import annotations

import numpy as np

from autograder.probes.kit.convert import vector
from autograder.probes.kit.seeds import rng as seeded
from autograder.probes.kit.train import budgeted_training, given_array, in_chunks
from autograder.probes.runtime import Bad

from .resunet import build_resunet

SIZE = 48
N_TRAIN = 160
WIDTHS = (8, 16, 32)
STEPS = 90
BATCH = 8
LR = 5e-3
CAP_S = 8.0


def caries_train(seed: int) -> dict:
    """The training X-rays of the caries item (public seed): 25 % of the masks corrupted."""
    from data_scripts.dental import dental_arrays

    return dental_arrays(N_TRAIN, size=SIZE, seed=10 * int(seed) + 1, noise_fraction=0.25)


# --------------------------------------------------------------------------
# hw4.caries_segmentation


def _loss_record(ns):
    """What ``segmentation_loss`` returns on a small fixed batch, as plain data."""
    import torch

    g = torch.Generator().manual_seed(0)
    z = torch.randn(2, 1, 6, 6, generator=g, requires_grad=True)
    t = (torch.rand(2, 1, 6, 6, generator=g) < 0.2).float()
    loss = ns.call("segmentation_loss", z, t)
    if isinstance(loss, Bad):
        return loss
    if not torch.is_tensor(loss):
        return {"tensor": False, "type": type(loss).__name__}
    return {"tensor": True, "shape": [int(s) for s in loss.shape], "requires_grad": bool(loss.requires_grad),
            "finite": bool(torch.isfinite(loss.detach()).all()) if loss.is_floating_point() else False}


def caries_keep(ns, train: dict, probs: np.ndarray | None) -> tuple[np.ndarray, dict]:
    """Which training masks the grader trains on (003 P8): those the student's
    ``flag_noisy_masks`` does not flag, judging them by the probabilities the judge sent
    (its reference model's). Every mask when the flags cannot be used; the record says why."""
    import torch

    n = len(train["masks"])
    if probs is None or len(probs) != n:
        return np.ones(n, dtype=bool), {"flags": Bad("missing", "the probabilities did not reach the grader's training run")}
    p = torch.from_numpy(probs.astype(np.float32) / np.float32(255.0))[:, None]
    m = torch.from_numpy(train["masks"]).float()[:, None]
    flags = _flags(ns.call("flag_noisy_masks", p, m, fraction=FLAG_FRACTION), n)
    if isinstance(flags, Bad):
        return np.ones(n, dtype=bool), {"flags": flags}
    keep = ~flags
    if keep.sum() < BATCH:  # (almost) everything flagged: nothing left to train on
        return np.ones(n, dtype=bool), {"flags": Bad("missing", f"flagged {int(flags.sum())} of {n} masks, "
                                                                 f"leaving fewer than {BATCH} to train on")}
    return keep, {"flags": flags, "kept": int(keep.sum())}


def train_caries(ns, model, train: dict, keep: np.ndarray, images: np.ndarray, seed: int) -> dict:
    """The grader's loop: the toolkit's budgeted loop, Adam (one-cycle), batches of 8 by passes
    over seeded permutations, the student's loss on the masks in ``keep``, a CPU-time cap;
    then the predicted masks (logit > 0) of ``images``, bit-packed along the rows."""
    import torch

    x = torch.from_numpy(train["images"][keep])[:, None]
    y = torch.from_numpy(train["masks"][keep]).float()[:, None]
    loss_fn = ns.get("segmentation_loss")
    res = budgeted_training(model, lambda idx, gen: loss_fn(model(x[idx]), y[idx]), len(x), steps=STEPS,
                            batch=BATCH, lr=LR, seed=seed, cap_s=CAP_S, one_cycle=0.2)
    z = torch.cat(in_chunks(lambda c: model(torch.from_numpy(c)[:, None]), images, 40))
    res["pred"] = np.packbits((z[:, 0] > 0).numpy().astype(np.uint8), axis=-1)
    return res


def probe_caries(ns, seed):
    import torch
    import torch.nn as nn

    out: dict = {"loss": _loss_record(ns)}
    torch.manual_seed(seed)
    enc = ns.call("ResidualEncoder", 1, widths=WIDTHS)
    if isinstance(enc, Bad) or not isinstance(enc, nn.Module):
        out["build"] = enc if isinstance(enc, Bad) else Bad("missing", f"ResidualEncoder(...) built a {type(enc).__name__}, "
                                                                     "not an nn.Module")
        return out
    model = build_resunet(enc, WIDTHS)
    with torch.no_grad():
        y = ns.guard(model, torch.zeros(2, 1, SIZE, SIZE))
    if isinstance(y, Bad) or not torch.is_tensor(y):
        out["build"] = y if isinstance(y, Bad) else Bad("missing", "your encoder with the given decoder gives no tensor")
        return out
    out["build"] = [int(s) for s in y.shape]
    images = given_array(ns.given, "images", (SIZE, SIZE))
    if images is None:
        out["train"] = Bad("missing", "the held-out X-rays did not reach the grader's training run")
        return out
    train = caries_train(seed)
    probs = given_array(ns.given, "probs", (SIZE, SIZE), dtype=np.uint8)
    keep, out["masks"] = caries_keep(ns, train, probs)
    out["train"] = ns.guard(train_caries, ns, model, train, keep, images, seed)
    return out


# --------------------------------------------------------------------------
# hw4.noisy_masks

FLAG_FRACTION = 0.25

_H1 = [[0, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]]
_H2 = [[0, 0, 1, 1, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]]
_H0 = [[0] * 5] * 4
_P1 = [[0.1, 0.9, 0.8, 0.0, 0.0], [0.0, 0.7, 1.0, 0.6, 0.1], [0.0, 0.2, 0.9, 0.0, 0.0], [0.0, 0.0, 0.0, 0.3, 0.0]]
# (N, fraction) on random inputs; 9 * 0.3 and 10 * 0.12 tell rounding from rounding down and from
# Co-teaching's count (it keeps int((1 - fraction) N) and flags the rest)
FLAG_CASES = [(12, 0.25), (10, 0.1), (8, 0.5), (9, 0.3), (10, 0.12)]


def agreement_cases(seed: int) -> list:
    """(description, probs, masks, smooth, layout) -- float64 arrays holding float32 values."""
    rng = seeded(seed, 45)
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
    rng = seeded(seed, 46, case)
    masks = (rng.uniform(size=(n, 1, 10, 10)) < 0.15).astype(np.float64)
    quality = rng.permutation(np.linspace(0.05, 0.95, n))[:, None, None, None]  # distinct per image
    probs = np.where(masks > 0, quality, (1 - quality) * 0.3) * rng.uniform(0.8, 1.0, masks.shape)
    return probs.astype(np.float32).astype(np.float64), masks, fraction


def _flags(v, n: int):
    import torch

    if isinstance(v, Bad) or getattr(v, "dtype", None) in (torch.bool, np.bool_):
        return vector(v, n, dtype=bool)
    return Bad("missing", f"returned {getattr(v, 'dtype', type(v).__name__)}, expected booleans (True = flagged)")


def _tensor(a: np.ndarray, layout: str = "N1HW"):
    import torch

    t = torch.tensor(a, dtype=torch.float32)
    return t if layout == "N1HW" or t.ndim == 3 else t[:, 0]


def probe_noisy(ns, seed):
    import torch

    out: dict = {"agree": [], "flags": []}
    for _, probs, masks, smooth, layout in agreement_cases(seed):
        v = ns.call("mask_agreement", _tensor(probs, layout), _tensor(masks, layout), smooth)
        out["agree"].append(vector(v, len(probs)))
    for case in range(len(FLAG_CASES)):
        probs, masks, fraction = flag_inputs(seed, case)
        out["flags"].append(_flags(ns.call("flag_noisy_masks", _tensor(probs), _tensor(masks), fraction=fraction),
                                   len(probs)))
    # the X-rays the judge sent: its own model's probabilities (units of 1/255) and the masks
    q = given_array(ns.given, "probs", (SIZE, SIZE), dtype=np.uint8)
    m = given_array(ns.given, "masks", (SIZE, SIZE), dtype=np.uint8)
    if q is None or m is None or len(q) != len(m):
        out["xray"] = Bad("missing", "the grader's X-rays did not reach the test")
        return out
    probs = torch.from_numpy(q.astype(np.float32) / np.float32(255.0))[:, None]
    masks = torch.from_numpy(m).float()[:, None]
    out["xray"] = _flags(ns.call("flag_noisy_masks", probs, masks, fraction=FLAG_FRACTION), len(q))
    return out
