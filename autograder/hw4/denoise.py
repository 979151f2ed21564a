"""A convolutional denoising autoencoder (004 Q1(e)) and the receptive field of stacked
dilated convolutions (004 Q2, 002 T4).

Student API (torch):
    psnr(pred, target, max_val=1.0) -> float
        10 log10(max_val**2 / MSE) over all elements of the two tensors, a Python float
        (inf when they are equal).
    make_denoising_batch(clean, sigma, generator=None) -> (inputs, targets)
        clean: float tensor (N, C, H, W) in [0, 1]. inputs = clean + sigma * N(0, 1) noise
        drawn with ``torch.randn(..., generator=generator)``, clipped to [0, 1]; targets:
        what the autoencoder must learn to output. ``clean`` is not modified.
    DenoisingAE(channels=1, base=16)  (an nn.Module)
        encoder: conv3x3(channels -> base, stride 2, padding 1), ReLU,
        conv3x3(base -> 2*base, stride 2, padding 1), ReLU; decoder:
        ConvTranspose2d(2*base -> base, 2, stride 2), ReLU,
        ConvTranspose2d(base -> channels, 2, stride 2), Sigmoid. (N, C, H, W) -> the same
        shape, values in (0, 1), for H and W multiples of 4.
    dilated_receptive_field(k, d, i) -> int        1 + i d (k - 1)
    dilated_output_size(n, k, d, i=1) -> int       n - i d (k - 1) (stride 1, no padding)
    dilated_stack(channels, k, d, i) -> nn.Sequential
        i x [Conv2d(channels, channels, k, dilation=d) (stride 1, no padding), ReLU].

hw4.denoising_ae: psnr against the formula (NumPy) on several pairs and peaks;
make_denoising_batch by its statistics (noise mean 0 and standard deviation sigma where
no clipping happens, exact clipping at 0 and 1, the generator used, ``clean`` untouched)
and the targets it returns; the autoencoder's output shapes and range; then the grader
trains it with its own loop on pairs made by the student's ``make_denoising_batch``
from grey 32x32 patches of scikit-image's photographs (noise sigma 0.2, Adam, MSE,
fixed steps, a CPU-seconds cap) and measures on held-out patches (noise drawn here) the
PSNR of the denoised images against the clean ones. It must beat the noisy input's PSNR
by >= 5 dB for full points (the reference gains about 8.3 dB; an autoencoder trained to
reproduce its noisy input gains about 1.1-1.5, an identity network about 0.6).

hw4.dilated_rf: both functions on many (k, d, i, n) with even kernels and d = 1; the
expected receptive field is the gradient footprint that the HW1 layer calculator's
oracle (autograder.hw1.calculator.footprint_rfs) measures on a one-row copy of the stack,
the expected output size a forward pass of real ``nn.Conv2d`` layers; the stack's layers
(kernel, dilation, stride, padding, channels) and its output size on an input.
"""
from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..core import Bad, Fail, Item, unwrap

# --------------------------------------------------------------------------
# hw4.denoising_ae

PSNR_CASES = [((2, 1, 8, 8), 1.0, 0.1), ((3, 3, 5, 7), 1.0, 0.02), ((1, 1, 16, 16), 255.0, 20.0), ((4, 2, 4, 4), 2.0, 0.5)]
SIGMA = 0.2
TRAIN_N, TEST_N, PATCH = 1500, 200, 32
AE_ARGS = {"channels": 1, "base": 16}
STEPS, BATCH, LR = 300, 16, 3e-3
CAP_S = 10.0
FULL_GAIN, HALF_GAIN = 5.0, 3.0   # dB over the noisy input
AE_SHAPES = [((1, 16), (2, 1, 32, 32)), ((1, 16), (1, 1, 16, 24)), ((3, 8), (2, 3, 12, 20))]


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng([seed, 61, *key])


def psnr_inputs(seed: int, case: int) -> tuple[np.ndarray, np.ndarray, float]:
    shape, peak, noise = PSNR_CASES[case]
    rng = _rng(seed, 1, case)
    a = rng.uniform(0, peak, shape).astype(np.float32)
    b = (a + rng.normal(0, noise, shape)).astype(np.float32)
    return a, b, peak


def reference_psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak ** 2 / mse)


def batch_inputs(seed: int, case: int) -> tuple[np.ndarray, float]:
    """Case 0: values away from 0 and 1 (no clipping); case 1: half black, half white."""
    rng = _rng(seed, 2, case)
    if case == 0:
        return rng.uniform(0.35, 0.65, (8, 1, 16, 16)).astype(np.float32), 0.1
    x = (rng.random((8, 2, 16, 16)) < 0.5).astype(np.float32)
    return x, 0.3


def test_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out clean patches and their noisy versions (both sides), float32 (N, 1, 32, 32)."""
    from data_scripts.colorize import grey_patches

    clean = grey_patches(TEST_N, PATCH, "test", seed)[:, None]
    noisy = np.clip(clean + _rng(seed, 3).normal(0, SIGMA, clean.shape), 0, 1).astype(np.float32)
    return clean, noisy


def _float(v) -> Any:
    import torch

    if isinstance(v, Bad):
        return v
    if torch.is_tensor(v) and v.numel() == 1:
        return float(v.detach())
    if isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, bool):
        return float(v)
    return Bad("missing", f"returned a {type(v).__name__}, not a number")


def _tensor_array(v, what: str = "") -> Any:
    import torch

    if isinstance(v, Bad):
        return v
    if not torch.is_tensor(v):
        return Bad("missing", f"returned a {type(v).__name__}, not a torch tensor")
    return v.detach().cpu().numpy().astype(np.float32) if v.numel() <= 10 ** 6 else Bad("missing", "a huge tensor")


def probe_batches(ns, seed: int) -> dict:
    import torch

    out: dict[str, Any] = {}
    for case in range(2):
        clean_np, sigma = batch_inputs(seed, case)
        clean = torch.from_numpy(clean_np.copy())
        r = ns.call("make_denoising_batch", clean, sigma, torch.Generator().manual_seed(seed + case))
        rec: dict[str, Any] = {"untouched": bool(torch.equal(clean, torch.from_numpy(clean_np)))}
        if isinstance(r, Bad) or not isinstance(r, (tuple, list)) or len(r) != 2:
            rec["result"] = r if isinstance(r, Bad) else Bad("missing", f"returned a {type(r).__name__}, not a pair "
                                                                     "(inputs, targets)")
        else:
            rec["result"] = [_tensor_array(r[0]), _tensor_array(r[1])]
            again = ns.call("make_denoising_batch", clean, sigma, torch.Generator().manual_seed(seed + case))
            other = ns.call("make_denoising_batch", clean, sigma, torch.Generator().manual_seed(seed + case + 100))
            rec["again"] = _tensor_array(again[0]) if isinstance(again, (tuple, list)) and len(again) == 2 else again
            rec["other"] = _tensor_array(other[0]) if isinstance(other, (tuple, list)) and len(other) == 2 else other
        out[str(case)] = rec
    return out


def train_denoiser(ns, model, seed: int) -> dict:
    """The grader's loop (child side): the student's pairs, MSE, Adam; then the held-out outputs."""
    import torch
    import torch.nn.functional as F

    from data_scripts.colorize import grey_patches

    X = torch.from_numpy(grey_patches(TRAIN_N, PATCH, "train", seed)[:, None])
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    make = ns.get("make_denoising_batch")
    params = [p for p in model.parameters() if p.requires_grad]
    status, done = "finished", 0
    start = time.process_time()
    if params:
        opt = torch.optim.Adam(params, lr=LR)
        model.train()
        for _ in range(STEPS):
            idx = torch.randint(0, len(X), (BATCH,), generator=gen)
            inputs, targets = make(X[idx].clone(), SIGMA, gen)
            loss = F.mse_loss(model(inputs), targets)
            if not torch.isfinite(loss):
                status = "diverged"
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
            if time.process_time() - start > CAP_S:
                status = "capped"
                break
    else:
        status = "no parameters"
    seconds = time.process_time() - start
    _, noisy = test_data(seed)
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(noisy))
    if not torch.is_tensor(pred) or tuple(pred.shape) != noisy.shape:
        raise ValueError(f"the model maps {noisy.shape} to {tuple(getattr(pred, 'shape', ()))}")
    return {"status": status, "steps": done, "seconds": round(seconds, 2), "pred": pred.numpy().astype(np.float32)}


def probe_denoising(ns, seed):
    import torch
    import torch.nn as nn

    out: dict[str, Any] = {"psnr": [], "batches": probe_batches(ns, seed), "shapes": []}
    for case in range(len(PSNR_CASES)):
        a, b, peak = psnr_inputs(seed, case)
        out["psnr"].append(_float(ns.call("psnr", torch.from_numpy(b), torch.from_numpy(a), peak)))
    a, _, _ = psnr_inputs(seed, 0)
    out["psnr_equal"] = _float(ns.call("psnr", torch.from_numpy(a), torch.from_numpy(a.copy())))
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
    torch.manual_seed(seed)
    model = ns.call("DenoisingAE", **AE_ARGS)
    if isinstance(model, Bad) or not isinstance(model, nn.Module):
        out["train"] = model if isinstance(model, Bad) else Bad("missing", "DenoisingAE(...) is not an nn.Module")
    else:
        out["train"] = ns.guard(train_denoiser, ns, model, seed)
    return out


def _check_batches(rec: Any, seed: int, case: int) -> None:
    clean, sigma = batch_inputs(seed, case)
    ctx = f"make_denoising_batch(clean {clean.shape}, sigma={sigma})"
    if not isinstance(rec, dict):
        raise Fail(f"{ctx}: no result")
    res = unwrap(rec.get("result", Bad("missing", "no result")), ctx)
    inputs = unwrap(res[0], f"{ctx}: inputs")
    targets = unwrap(res[1], f"{ctx}: targets")
    if not rec.get("untouched"):
        raise Fail(f"{ctx}: modified `clean` in place (use out-of-place operations, e.g. clean + noise)")
    for v, name in ((inputs, "inputs"), (targets, "targets")):
        if v.shape != clean.shape:
            raise Fail(f"{ctx}: {name} have shape {v.shape}, expected {clean.shape}")
        if not np.all(np.isfinite(v)):
            raise Fail(f"{ctx}: {name} contain NaN or inf")
    if float(np.max(np.abs(targets - clean))) > 1e-6:
        hint = " (the noisy images? then the autoencoder only learns to copy its input, noise and all)" \
            if float(np.max(np.abs(targets - inputs))) < 1e-6 else ""
        raise Fail(f"{ctx}: the targets are not the clean images{hint}; a denoising autoencoder maps noisy inputs to "
                   "clean targets")
    if inputs.min() < -1e-6 or inputs.max() > 1 + 1e-6:
        raise Fail(f"{ctx}: inputs range over [{inputs.min():.3g}, {inputs.max():.3g}]; clip them to [0, 1] "
                   "(torch.clamp), they are images")
    noise = (inputs - clean).astype(np.float64)
    if case == 0:
        sd, mean = float(noise.std()), float(noise.mean())
        if not 0.9 * sigma <= sd <= 1.1 * sigma or abs(mean) > 0.1 * sigma:
            raise Fail(f"{ctx}: the noise has mean {mean:.3g} and standard deviation {sd:.3g}, expected 0 and "
                       f"sigma = {sigma} (Gaussian: sigma * torch.randn(clean.shape, generator=generator))")
    else:
        for level in (0.0, 1.0):
            at = inputs[clean == level]
            share = float(np.mean(np.abs(at - level) < 1e-6))
            if not 0.4 <= share <= 0.6:
                raise Fail(f"{ctx}: {share:.0%} of the pixels that are {level:g} in `clean` stay {level:g} after the "
                           "noise, expected about half: add the Gaussian noise, then clip to [0, 1]")
    again, other = rec.get("again"), rec.get("other")
    if not isinstance(again, np.ndarray) or again.shape != inputs.shape or not np.array_equal(again, inputs):
        raise Fail(f"{ctx}: two calls with generators seeded alike gave different noise; draw it with "
                   "torch.randn(..., generator=generator)")
    if isinstance(other, np.ndarray) and other.shape == inputs.shape and np.array_equal(other, inputs):
        raise Fail(f"{ctx}: generators with different seeds gave the same noise")


def judge_denoising(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    got = out.get("psnr") if isinstance(out.get("psnr"), list) else []
    with ck.part("psnr", 1.0):
        for case in range(len(PSNR_CASES)):
            a, b, peak = psnr_inputs(seed, case)
            want = reference_psnr(a, b, peak)
            v = unwrap(got[case] if case < len(got) else Bad("missing", "no result"), "psnr")
            if not isinstance(v, float) or not abs(v - want) <= 1e-3 * max(1.0, abs(want)):
                hint = ""
                if isinstance(v, float) and abs(v - want * math.log(10)) < 1e-2 * abs(want * math.log(10)):
                    hint = " (natural log? PSNR uses log10)"
                elif isinstance(v, float) and abs(v - (want - 20 * math.log10(peak))) < 1e-3 * max(1, abs(want)):
                    hint = " (max_val ignored)"
                elif isinstance(v, float) and abs(v - want / 2) < 1e-3 * abs(want):
                    hint = " (10 log10 of max_val**2 / MSE: the square, or 20 log10(max_val / RMSE))"
                raise Fail(f"psnr on tensors {a.shape} with max_val={peak:g}: got {v}, expected {want:.4f}{hint}")
        eq = out.get("psnr_equal")
        if isinstance(eq, float) and not (math.isinf(eq) and eq > 0) and not eq > 100:
            raise Fail(f"psnr of two equal tensors: got {eq}, expected inf (MSE = 0)")
    batches = out.get("batches") if isinstance(out.get("batches"), dict) else {}
    with ck.part("make_denoising_batch", 1.0):
        for case in range(2):
            _check_batches(batches.get(str(case)), seed, case)
    shapes = out.get("shapes") if isinstance(out.get("shapes"), list) else []
    with ck.part("autoencoder shapes", 1.0):
        for k, ((c, base), shape) in enumerate(AE_SHAPES):
            ctx = f"DenoisingAE({c}, {base}) on an input of shape {shape}"
            rec = unwrap(shapes[k] if k < len(shapes) else Bad("missing", "no result"), ctx)
            if not isinstance(rec, dict) or rec.get("shape") != list(shape):
                raise Fail(f"{ctx}: output shape {tuple(rec.get('shape') or ()) if isinstance(rec, dict) else '?'}, "
                           f"expected {shape} (the same as the input)")
            lo, hi = rec.get("min"), rec.get("max")
            if not (isinstance(lo, float) and isinstance(hi, float) and lo >= 0.0 and hi <= 1.0):
                raise Fail(f"{ctx}: outputs range over [{lo}, {hi}]; end with a sigmoid (images are in [0, 1])")
    res = out.get("train", Bad("missing", "no result"))
    if not isinstance(res, dict):
        with ck.part("denoising", 3.0):
            raise Fail(res.describe("training DenoisingAE(1, 16)") if isinstance(res, Bad) else "the model was not trained")
        return
    status, done = res.get("status"), res.get("steps")
    note = {"diverged": f" (the loss became NaN/inf after {done} steps)",
            "capped": f" (the grader's {CAP_S:g} CPU-second budget ran out after {done} of {STEPS} steps)",
            "no parameters": " (the model has no trainable parameters)"}.get(status, "")
    try:
        clean, noisy = test_data(seed)
        pred = res.get("pred")
        if not isinstance(pred, np.ndarray) or pred.shape != clean.shape or not np.all(np.isfinite(pred)):
            raise Fail("the trained model's outputs are malformed or not finite" + note)
        gain = reference_psnr(clean, pred, 1.0) - reference_psnr(clean, noisy, 1.0)
    except Fail as e:
        with ck.part("denoising", 3.0):
            raise e
        return
    msg = (f"after the grader's training the denoised held-out patches are {gain:+.1f} dB PSNR over the noisy ones "
           f"(sigma {SIGMA}); needs >= {FULL_GAIN:g} dB for full points{note}")
    if gain >= HALF_GAIN:
        with ck.part("denoising", 3.0 if gain >= FULL_GAIN else 1.5):
            pass
    if gain < FULL_GAIN:
        with ck.part("denoising", 3.0 if gain < HALF_GAIN else 1.5):
            raise Fail(msg)


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


def reference_rf(k: int, d: int, i: int) -> int:
    from ..hw1.calculator import footprint_rfs

    return int(footprint_rfs((1, 1, 1), [{"type": "conv", "out": 1, "k": k, "d": d}] * i)[-1])


def reference_size(n: int, k: int, d: int, i: int) -> int:
    from ..hw1.calculator import torch_shapes_params_macs

    return int(torch_shapes_params_macs((1, n, n), [{"type": "conv", "out": 1, "k": k, "d": d}] * i)[-1]["output_shape"][1])


def _int(v, what: str) -> int:
    v = unwrap(v, what)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
        raise Fail(f"{what}: returned {v!r}, expected an int")
    return int(v)


def judge_dilated(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    cases = rf_cases(seed)
    rfs = out.get("rf") if isinstance(out.get("rf"), list) else []
    sizes = out.get("size") if isinstance(out.get("size"), list) else []
    with ck.part("receptive field", 2.0):
        for j, (k, d, i, n) in enumerate(cases):
            what = f"dilated_receptive_field(k={k}, d={d}, i={i})"
            got = _int(rfs[j] if j < len(rfs) else Bad("missing", "no result"), what)
            want = reference_rf(k, d, i)
            if got != want:
                hint = ""
                if got == 1 + i * (k - 1) and d > 1:
                    hint = " (the dilation d is missing: a dilated kxk kernel spans d(k-1)+1 pixels)"
                elif got == i * d * (k - 1):
                    hint = " (off by one: one layer of a 1x1 kernel sees 1 pixel)"
                raise Fail(f"{what}: got {got}, expected {want} (the span of the input pixels one output unit of {i} "
                           f"stacked {k}x{k} convs with dilation {d} depends on){hint}")
    with ck.part("output size", 1.0):
        for j, (k, d, i, n) in enumerate(cases):
            what = f"dilated_output_size(n={n}, k={k}, d={d}, i={i})"
            got = _int(sizes[j] if j < len(sizes) else Bad("missing", "no result"), what)
            want = reference_size(n, k, d, i)
            if got != want:
                raise Fail(f"{what}: got {got}, expected {want} (stride 1, no padding: each layer removes d(k-1) "
                           "rows and columns)")
        got = _int(out.get("size1", Bad("missing", "no result")), "dilated_output_size(30, 3, 2)")
        if got != 26:
            raise Fail(f"dilated_output_size(30, 3, 2) (i left at its default, 1): got {got}, expected 26")
    stacks = out.get("stack") if isinstance(out.get("stack"), list) else []
    with ck.part("dilated_stack", 1.0):
        for j, (c, k, d, i, n) in enumerate(STACK_CASES):
            ctx = f"dilated_stack({c}, k={k}, d={d}, i={i})"
            rec = unwrap(stacks[j] if j < len(stacks) else Bad("missing", "no result"), ctx)
            if not isinstance(rec, dict):
                raise Fail(f"{ctx}: no result")
            convs = rec.get("convs") or []
            if len(convs) != i:
                raise Fail(f"{ctx}: {len(convs)} Conv2d layers, expected i = {i}")
            for cv in convs:
                if cv[:5] != [c, c, [k, k], [d, d], [1, 1]]:
                    raise Fail(f"{ctx}: a conv with (in, out, kernel, dilation, stride) = {tuple(cv[:5])}, expected "
                               f"({c}, {c}, ({k}, {k}), ({d}, {d}), (1, 1))")
                if cv[5] not in ([0, 0], "valid"):
                    raise Fail(f"{ctx}: a conv with padding {cv[5]}; the stack is unpadded (padding 0)")
            if rec.get("acts", 0) < i - 1:
                raise Fail(f"{ctx}: {rec.get('acts')} activation layers, expected a ReLU after each conv")
            shape = unwrap(rec.get("shape"), f"{ctx} on an input of shape (1, {c}, {n}, {n + 3})")
            want = [1, c, reference_size(n, k, d, i), reference_size(n + 3, k, d, i)]
            if list(shape) != want:
                raise Fail(f"{ctx}: input (1, {c}, {n}, {n + 3}) gave {tuple(shape)}, expected {tuple(want)}")


ITEMS = [
    Item("hw4.denoising_ae", 6, ("psnr", "make_denoising_batch", "DenoisingAE"), probe_denoising, judge_denoising,
         title="Denoising autoencoder: PSNR, noisy/clean pairs, a grader-trained model beats the noisy input",
         timeout=60, memory_mb=3072),
    Item("hw4.dilated_rf", 4, ("dilated_receptive_field", "dilated_output_size", "dilated_stack"), probe_dilated,
         judge_dilated, title="Stacked dilated convolutions: receptive field and output size", timeout=30),
]
