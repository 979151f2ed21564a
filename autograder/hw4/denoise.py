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
from grey 32x32 patches of scikit-image's photographs drawn from the public seed (noise
sigma 0.2, Adam, MSE, fixed steps, a CPU-seconds cap). The held-out patches come from
the judge (``give``: their noisy versions only, patches and noise drawn from
``held_out_seed``); the judge keeps the clean ones and measures the PSNR of the denoised
patches against them. It must beat the noisy input's PSNR
by >= 5 dB for full points (the reference gains about 8.3 dB; an autoencoder trained to
reproduce its noisy input gains about 1.1-1.5, an identity network about 0.6).

hw4.dilated_rf: both functions on many (k, d, i, n) with even kernels and d = 1; the
expected receptive field is the gradient footprint that the layer oracle of the judges'
toolkit (autograder.judging.footprint_rfs, HW1's too) measures on a one-row copy of the stack,
the expected output size a forward pass of real ``nn.Conv2d`` layers; the stack's layers
(kernel, dilation, stride, padding, channels) and its output size on an input.

The probe half is ``autograder/probes/hw4/denoise.py``.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..core import Bad, Fail, Item, held_out_seed, unwrap
from ..judging import (any_passed, convention_part, footprint_rfs, item_of, levels, short, status_note,
                       torch_shapes_params_macs, trained)
from ..probes.hw4.denoise import (AE_SHAPES, CAP_S, PATCH, PSNR_CASES, SIGMA, STACK_CASES, STEPS, batch_inputs,
                                  probe_denoising, probe_dilated, psnr_inputs, rf_cases)

# --------------------------------------------------------------------------
# hw4.denoising_ae

TEST_N = 200                      # held-out patches (judge side; the probe gets their noisy versions)
FULL_GAIN, HALF_GAIN = 5.0, 3.0   # dB over the noisy input


def reference_psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak ** 2 / mse)


def per_image_psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    """The mean over the batch of each image's PSNR (another widely used convention)."""
    return float(np.mean([reference_psnr(x, y, peak) for x, y in zip(a, b)]))


PSNR_W, PSNR_EQUAL_W, PSNR_BATCH_W = 0.6, 0.15, 0.25   # of psnr's point


@functools.lru_cache(maxsize=4)
def _eval_set(held_seed: int) -> tuple[np.ndarray, np.ndarray]:
    from data_scripts.colorize import grey_patches

    clean = grey_patches(TEST_N, PATCH, "test", held_seed)[:, None]
    noise = np.random.default_rng([held_seed, 61, 3]).normal(0, SIGMA, clean.shape)
    return clean, np.clip(clean + noise, 0, 1).astype(np.float32)


def eval_set(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out patches (judge side only): clean (kept) and noisy (sent to the probe),
    float32 (N, 1, 32, 32), from a seed only the judge can derive."""
    clean, noisy = _eval_set(held_out_seed("hw4.denoising_ae", seed))
    return clean.copy(), noisy.copy()


def give_denoising(seed: int) -> dict:
    return {"noisy": eval_set(seed)[1]}


def _check_batches(rec, seed: int, case: int) -> None:
    clean, sigma = batch_inputs(seed, case)
    ctx = f"make_denoising_batch(clean {clean.shape}, sigma={sigma})"
    if not isinstance(rec, dict):
        raise Fail(f"{ctx}: no result")
    res = unwrap(rec.get("result", Bad("missing", "no result")), ctx)
    inputs = unwrap(res[0], f"{ctx}: inputs")
    targets = unwrap(res[1], f"{ctx}: targets")
    after = rec.get("clean_after")
    if not isinstance(after, np.ndarray) or after.shape != clean.shape or not np.array_equal(after, clean):
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
    inputs, targets = np.asarray(inputs, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    again, other = rec.get("again"), rec.get("other")
    if not isinstance(again, np.ndarray) or again.shape != inputs.shape or not np.array_equal(again, inputs):
        raise Fail(f"{ctx}: two calls with generators seeded alike gave different noise; draw it with "
                   "torch.randn(..., generator=generator)")
    if isinstance(other, np.ndarray) and other.shape == inputs.shape and np.array_equal(other, inputs):
        raise Fail(f"{ctx}: generators with different seeds gave the same noise")


def judge_denoising(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    got = out.get("psnr")
    per_image = ""  # where psnr gave the mean of per-image PSNRs
    for case in range(len(PSNR_CASES)):
        with ck.part("psnr", PSNR_W / len(PSNR_CASES)):
            a, b, peak = psnr_inputs(seed, case)
            want = reference_psnr(a, b, peak)
            ctx = f"psnr on tensors {a.shape} with max_val={peak:g}"
            v = unwrap(item_of(got, case), "psnr")
            if isinstance(v, float) and abs(v - per_image_psnr(a, b, peak)) <= 1e-3 * max(1.0, abs(want)) \
                    and not abs(v - want) <= 1e-3 * max(1.0, abs(want)):
                per_image = per_image or ctx
                continue
            if not isinstance(v, float) or not abs(v - want) <= 1e-3 * max(1.0, abs(want)):
                hint = ""
                if isinstance(v, float) and abs(v - want * math.log(10)) < 1e-2 * abs(want * math.log(10)):
                    hint = " (natural log? PSNR uses log10)"
                elif isinstance(v, float) and abs(v - (want - 20 * math.log10(peak))) < 1e-3 * max(1, abs(want)):
                    hint = " (max_val ignored)"
                elif isinstance(v, float) and abs(v - want / 2) < 1e-3 * abs(want):
                    hint = " (10 log10 of max_val**2 / MSE: the square, or 20 log10(max_val / RMSE))"
                raise Fail(f"{ctx}: got {short(v, 40)}, expected {want:.4f}{hint}")
    with ck.part("psnr: equal tensors", PSNR_EQUAL_W):
        eq = unwrap(out.get("psnr_equal", Bad("missing", "no result")), "psnr of two equal tensors")
        if not isinstance(eq, float) or (not (math.isinf(eq) and eq > 0) and not eq > 100):
            raise Fail(f"psnr of two equal tensors: got {short(eq, 40)}, expected inf (MSE = 0)")
    followed = (f"psnr: this notebook takes one MSE over every element of the batch; yours averages the PSNR of "
                f"each image, as super-resolution benchmarks do (BasicSR's calculate_psnr on each image, then the "
                f"mean) and torchmetrics' PSNR with dim=(1, 2, 3) reports it ({per_image})") if per_image else ""
    convention_part(ck, "psnr: over the batch", PSNR_BATCH_W, followed, *any_passed(ck, "psnr"))
    batches = out.get("batches") if isinstance(out.get("batches"), dict) else {}
    with ck.part("make_denoising_batch", 1.0):
        for case in range(2):
            _check_batches(batches.get(str(case)), seed, case)
    shapes = out.get("shapes") if isinstance(out.get("shapes"), list) else []
    with ck.part("DenoisingAE: shapes", 1.0):
        for k, ((c, base), shape) in enumerate(AE_SHAPES):
            ctx = f"DenoisingAE({c}, {base}) on an input of shape {shape}"
            rec = unwrap(shapes[k] if k < len(shapes) else Bad("missing", "no result"), ctx)
            if not isinstance(rec, dict) or rec.get("shape") != list(shape):
                raise Fail(f"{ctx}: output shape {short(rec.get('shape')) if isinstance(rec, dict) else '?'}, "
                           f"expected {shape} (the same as the input)")
            lo, hi = rec.get("min"), rec.get("max")
            if not (isinstance(lo, float) and isinstance(hi, float) and lo >= 0.0 and hi <= 1.0):
                raise Fail(f"{ctx}: outputs range over [{short(lo, 20)}, {short(hi, 20)}]; end with a sigmoid (images "
                           "are in [0, 1])")
    who = "DenoisingAE(1, 16), trained by the grader on pairs from your make_denoising_batch"
    res = trained(out.get("train", Bad("missing", "no result")), who, ck, [("DenoisingAE: denoising", 3.0)])
    if res is None:
        return
    note = status_note(res, STEPS, capped=f"the grader's {CAP_S:g} CPU-second budget ran out after {{done}} of {{steps}} steps")
    try:
        clean, noisy = eval_set(seed)
        pred = res.get("pred")
        if isinstance(pred, Bad):
            raise Fail(pred.describe(f"{who}: its output for the {TEST_N} held-out patches"))
        if not isinstance(pred, np.ndarray) or pred.shape != clean.shape or pred.dtype.kind not in "fiu" \
                or not np.all(np.isfinite(pred)):
            raise Fail(f"{who}: its outputs for the {TEST_N} held-out patches of shape {clean.shape[1:]} are "
                       f"malformed or not finite{note}")
        gain = reference_psnr(clean, pred, 1.0) - reference_psnr(clean, noisy, 1.0)
    except Fail as e:
        with ck.part("DenoisingAE: denoising", 3.0):
            raise e
        return
    levels(ck, "DenoisingAE: denoising", gain, 3.0, (HALF_GAIN, FULL_GAIN),
           f"{who}: its outputs for {TEST_N} held-out patches are {gain:+.1f} dB PSNR over the noisy inputs "
           f"(sigma {SIGMA}); needs >= {FULL_GAIN:g} dB for full points{note}")


# --------------------------------------------------------------------------
# hw4.dilated_rf

def reference_rf(k: int, d: int, i: int) -> int:
    return int(footprint_rfs((1, 1, 1), [{"type": "conv", "out": 1, "k": k, "d": d}] * i)[-1])


def reference_size(n: int, k: int, d: int, i: int) -> int:
    return int(torch_shapes_params_macs((1, n, n), [{"type": "conv", "out": 1, "k": k, "d": d}] * i)[-1]["output_shape"][1])


def _int(v, what: str) -> int:
    v = unwrap(v, what)
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
        raise Fail(f"{what}: returned {short(v, 40)}, expected an int")
    return int(v)


def judge_dilated(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    cases = rf_cases(seed)
    rfs = out.get("rf") if isinstance(out.get("rf"), list) else []
    sizes = out.get("size") if isinstance(out.get("size"), list) else []
    with ck.part("dilated_receptive_field", 2.0):
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
    with ck.part("dilated_output_size", 1.0):
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
                    raise Fail(f"{ctx}: a conv with (in, out, kernel, dilation, stride) = {short(tuple(cv[:5]))}, expected "
                               f"({c}, {c}, ({k}, {k}), ({d}, {d}), (1, 1))")
                if cv[5] not in ([0, 0], "valid"):
                    raise Fail(f"{ctx}: a conv with padding {short(cv[5], 30)}; the stack is unpadded (padding 0)")
            if rec.get("acts", 0) < i - 1:
                raise Fail(f"{ctx}: {short(rec.get('acts'), 20)} activation layers, expected a ReLU after each conv")
            shape = unwrap(rec.get("shape"), f"{ctx} on an input of shape (1, {c}, {n}, {n + 3})")
            want = [1, c, reference_size(n, k, d, i), reference_size(n + 3, k, d, i)]
            if list(shape) != want:
                raise Fail(f"{ctx}: input (1, {c}, {n}, {n + 3}) gave {short(tuple(shape))}, expected {tuple(want)}")


ITEMS = [
    Item("hw4.denoising_ae", 6, ("psnr", "make_denoising_batch", "DenoisingAE"), probe_denoising, judge_denoising,
         title="Denoising autoencoder: PSNR, noisy/clean pairs, a grader-trained model beats the noisy input",
         timeout=60, memory_mb=3072, give=give_denoising),
    Item("hw4.dilated_rf", 4, ("dilated_receptive_field", "dilated_output_size", "dilated_stack"), probe_dilated,
         judge_dilated, title="Stacked dilated convolutions: receptive field and output size", timeout=30),
]
