"""Probe half of hw4.denoising_ae and hw4.dilated_rf (judges: ``autograder/hw4/denoise.py``).

hw4.denoising_ae: calls ``psnr`` on pairs built from the seed, ``make_denoising_batch`` on
clean batches built from the seed (and returns ``clean`` as it is after the call, so the
judge can tell whether it was modified), builds ``DenoisingAE`` for several shapes and
records its outputs' shapes and range; then trains ``DenoisingAE(1, 16)`` with the
grader's own loop on pairs the student's ``make_denoising_batch`` makes from grey patches
drawn from the public seed, and returns its outputs for the noisy held-out patches the
judge sent (``ns.given["noisy"]``); only the judge holds their clean versions.

hw4.dilated_rf: calls ``dilated_receptive_field`` and ``dilated_output_size`` on many
(k, d, i, n) and records the layers of ``dilated_stack`` and its output shape.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.probes.kit.convert import scalar, tensor_result
from autograder.probes.kit.seeds import rng as seeded
from autograder.probes.kit.train import budgeted_training, given_array
from autograder.probes.runtime import Bad

# --------------------------------------------------------------------------
# hw4.denoising_ae

PSNR_CASES = [((2, 1, 8, 8), 1.0, 0.1), ((3, 3, 5, 7), 1.0, 0.02), ((1, 1, 16, 16), 255.0, 20.0), ((4, 2, 4, 4), 2.0, 0.5)]
SIGMA = 0.2
TRAIN_N, PATCH = 1500, 32
AE_ARGS = {"channels": 1, "base": 16}
STEPS, BATCH, LR = 300, 16, 3e-3
CAP_S = 10.0
AE_SHAPES = [((1, 16), (2, 1, 32, 32)), ((1, 16), (1, 1, 16, 24)), ((3, 8), (2, 3, 12, 20))]


def _rng(seed: int, *key: int) -> np.random.Generator:
    return seeded(seed, 61, *key)


def psnr_inputs(seed: int, case: int) -> tuple[np.ndarray, np.ndarray, float]:
    shape, peak, noise = PSNR_CASES[case]
    rng = _rng(seed, 1, case)
    a = rng.uniform(0, peak, shape).astype(np.float32)
    b = (a + rng.normal(0, noise, shape)).astype(np.float32)
    return a, b, peak


def batch_inputs(seed: int, case: int) -> tuple[np.ndarray, float]:
    """Case 0: values away from 0 and 1 (no clipping); case 1: half black, half white."""
    rng = _rng(seed, 2, case)
    if case == 0:
        return rng.uniform(0.35, 0.65, (8, 1, 16, 16)).astype(np.float32), 0.1
    x = (rng.random((8, 2, 16, 16)) < 0.5).astype(np.float32)
    return x, 0.3


def probe_batches(ns, seed: int) -> dict:
    import torch

    out: dict[str, Any] = {}
    for case in range(2):
        clean_np, sigma = batch_inputs(seed, case)
        clean = torch.from_numpy(clean_np.copy())
        r = ns.call("make_denoising_batch", clean, sigma, torch.Generator().manual_seed(seed + case))
        rec: dict[str, Any] = {"clean_after": clean.detach().numpy().copy()}
        if isinstance(r, Bad) or not isinstance(r, (tuple, list)) or len(r) != 2:
            rec["result"] = r if isinstance(r, Bad) else Bad("missing", f"returned a {type(r).__name__}, not a pair "
                                                                     "(inputs, targets)")
        else:
            rec["result"] = [tensor_result(r[0]), tensor_result(r[1])]
            again = ns.call("make_denoising_batch", clean, sigma, torch.Generator().manual_seed(seed + case))
            other = ns.call("make_denoising_batch", clean, sigma, torch.Generator().manual_seed(seed + case + 100))
            rec["again"] = tensor_result(again[0]) if isinstance(again, (tuple, list)) and len(again) == 2 else again
            rec["other"] = tensor_result(other[0]) if isinstance(other, (tuple, list)) and len(other) == 2 else other
        out[str(case)] = rec
    return out


def train_denoiser(ns, model, noisy: np.ndarray, seed: int) -> dict:
    """The grader's loop (child side): the toolkit's budgeted loop on the student's pairs, MSE,
    Adam (no schedule), batches drawn with replacement; then the model's outputs for the
    held-out noisy patches."""
    import torch
    import torch.nn.functional as F

    from data_scripts.colorize import grey_patches

    X = torch.from_numpy(grey_patches(TRAIN_N, PATCH, "train", seed)[:, None])
    make = ns.get("make_denoising_batch")

    def loss_of(idx, gen):
        inputs, targets = make(X[idx].clone(), SIGMA, gen)
        return F.mse_loss(model(inputs), targets)

    res = budgeted_training(model, loss_of, len(X), steps=STEPS, batch=BATCH, lr=LR, seed=seed, cap_s=CAP_S,
                            sampling="random")
    with torch.no_grad():
        pred = model(torch.from_numpy(noisy))
    if not torch.is_tensor(pred):
        raise ValueError(f"the model returned a {type(pred).__name__}, not a tensor")
    res["pred"] = tensor_result(pred)
    return res


def probe_denoising(ns, seed):
    import torch
    import torch.nn as nn

    out: dict[str, Any] = {"psnr": [], "batches": probe_batches(ns, seed), "shapes": []}
    for case in range(len(PSNR_CASES)):
        a, b, peak = psnr_inputs(seed, case)
        out["psnr"].append(scalar(ns.call("psnr", torch.from_numpy(b), torch.from_numpy(a), peak)))
    a, _, _ = psnr_inputs(seed, 0)
    out["psnr_equal"] = scalar(ns.call("psnr", torch.from_numpy(a), torch.from_numpy(a.copy())))
    for (c, base), shape in AE_SHAPES:
        torch.manual_seed(seed)
        m = ns.call("DenoisingAE", c, base)
        if isinstance(m, Bad) or not isinstance(m, nn.Module):
            out["shapes"].append(m if isinstance(m, Bad) else Bad("missing", f"built a {type(m).__name__}, not an nn.Module"))
            continue
        x = torch.rand(shape, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            y = ns.guard(m, x)
        if isinstance(y, Bad) or not torch.is_tensor(y):
            out["shapes"].append(y if isinstance(y, Bad) else Bad("missing", f"forward returned a {type(y).__name__}"))
        else:
            out["shapes"].append({"shape": list(y.shape), "min": float(y.min()), "max": float(y.max())})
    noisy = given_array(ns.given, "noisy", (1, PATCH, PATCH))
    if noisy is None:
        out["train"] = Bad("missing", "the held-out patches did not reach the grader's training run")
        return out
    torch.manual_seed(seed)
    model = ns.call("DenoisingAE", **AE_ARGS)
    if isinstance(model, Bad) or not isinstance(model, nn.Module):
        out["train"] = model if isinstance(model, Bad) else Bad("missing", "DenoisingAE(...) is not an nn.Module")
    else:
        out["train"] = ns.guard(train_denoiser, ns, model, noisy, seed)
    return out


# --------------------------------------------------------------------------
# hw4.dilated_rf

N_RF = 40
STACK_CASES = [(2, 3, 2, 3, 32), (1, 2, 1, 4, 20), (3, 5, 3, 2, 40)]  # (channels, k, d, i, n)


def rf_cases(seed: int) -> list[tuple[int, int, int, int]]:
    """(k, d, i, n): fixed corner cases, then random ones (even kernels, d = 1 included)."""
    fixed = [(3, 1, 1, 10), (3, 2, 1, 10), (3, 2, 3, 20), (2, 1, 4, 9), (4, 3, 2, 30), (1, 5, 3, 4), (5, 1, 1, 5),
             (7, 4, 5, 200), (2, 2, 1, 3)]
    rng = _rng(seed, 9)
    out = list(fixed)
    while len(out) < N_RF:
        k, d, i = int(rng.integers(1, 8)), int(rng.integers(1, 6)), int(rng.integers(1, 7))
        n = 1 + i * d * (k - 1) + int(rng.integers(0, 25))
        out.append((k, d, i, n))
    return out


def probe_dilated(ns, seed):
    import torch
    import torch.nn as nn

    out: dict[str, Any] = {"rf": [], "size": [], "stack": []}
    for k, d, i, n in rf_cases(seed):
        out["rf"].append(ns.call("dilated_receptive_field", k, d, i))
        out["size"].append(ns.call("dilated_output_size", n, k, d, i))
    out["size1"] = ns.call("dilated_output_size", 30, 3, 2)
    for c, k, d, i, n in STACK_CASES:
        m = ns.call("dilated_stack", c, k, d, i)
        if isinstance(m, Bad) or not isinstance(m, nn.Module):
            out["stack"].append(m if isinstance(m, Bad) else Bad("missing", f"returned a {type(m).__name__}, not an nn.Module"))
            continue
        convs = [[int(x.in_channels), int(x.out_channels), list(x.kernel_size), list(x.dilation), list(x.stride),
                  list(x.padding) if not isinstance(x.padding, str) else x.padding, x.padding_mode]
                 for x in m.modules() if isinstance(x, nn.Conv2d)]
        acts = sum(1 for x in m.modules() if isinstance(x, (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.ELU, nn.Tanh)))
        with torch.no_grad():
            y = ns.guard(m, torch.zeros(1, c, n, n + 3))
        out["stack"].append({"convs": convs, "acts": acts,
                             "shape": list(y.shape) if torch.is_tensor(y) else (y if isinstance(y, Bad) else
                                                                                  Bad("missing", "no tensor"))})
    for key in ("rf", "size"):
        out[key] = [v if isinstance(v, Bad) else (v if isinstance(v, (int, float, np.integer, np.floating))
                                                   and not isinstance(v, bool) else Bad("missing", f"a {type(v).__name__}"))
                    for v in out[key]]
    return out
