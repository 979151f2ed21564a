"""Probe half of hw4.unet and hw4.colorization (judges: ``autograder/hw4/unet.py``).

hw4.unet: builds the student's ``UNet`` with several channel counts, bases and depths,
runs it on several sizes (batch 1 included), lists its Conv2d and ConvTranspose2d layers
with forward hooks that also record at which resolution each runs, and measures two skip
tests in eval mode (the bottleneck's convs zeroed; everything below full resolution
zeroed, one changed pixel moved by one column). It returns those measurements; the judge
decides.

hw4.colorization: calls the Lab helpers on images built from the seed (the inputs of
``lab_channels_to_rgb`` are the Lab channels of OTHER images than those given to
``rgb_to_lab_channels``), then trains ``UNet(1, 2, base=8, depth=2)`` with the grader's
own loop on training patches it draws from the public seed, and predicts the ab
channels of the held-out L channels the judge sent (``ns.given["L"]``); the judge alone
holds their true ab channels.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.probes.kit.convert import numpy_result
from autograder.probes.kit.seeds import normal
from autograder.probes.kit.seeds import rng as seeded
from autograder.probes.kit.train import budgeted_training, case_guard, given_array, in_chunks
from autograder.probes.runtime import Bad

# --------------------------------------------------------------------------
# hw4.unet

# (kwargs, input shapes); the first shape is run in train mode (shape and gradients).
UNET_CASES = [
    ({"in_channels": 1, "out_channels": 2, "base": 8, "depth": 2}, [(2, 1, 32, 32), (1, 1, 16, 24)]),
    ({"in_channels": 3, "out_channels": 5, "base": 4, "depth": 3}, [(2, 3, 16, 24), (1, 3, 40, 16)]),
    ({"in_channels": 2, "out_channels": 1, "base": 6, "depth": 1}, [(3, 2, 10, 14), (1, 2, 6, 6)]),
]


def unet_input(seed: int, case: int, j: int, shape) -> np.ndarray:
    return normal(shape, seed, 41, case, j)


def _out_record(y) -> Any:
    import torch

    if isinstance(y, Bad):
        return y
    if not torch.is_tensor(y):
        return Bad("type", f"forward returned a {type(y).__name__}, not a tensor")
    return {"shape": [int(s) for s in y.shape], "finite": bool(torch.isfinite(y).all()) if y.is_floating_point() else False}


def _probe_unet_case(ns, kwargs: dict, shapes: list, seed: int, case: int) -> dict:
    import torch
    import torch.nn as nn

    torch.manual_seed(seed + case)
    net = ns.call("UNet", **kwargs)
    if isinstance(net, Bad):
        return {"error": net}
    if not isinstance(net, nn.Module):
        return {"error": Bad("missing", f"built a {type(net).__name__}, not an nn.Module")}
    mods = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    rec: dict[str, Any] = {
        "convs": [[int(m.in_channels), int(m.out_channels), int(m.kernel_size[0]), int(m.kernel_size[1]),
                   int(m.stride[0]), int(m.groups)] for m in mods if isinstance(m, nn.Conv2d)],
        "ups": [[int(m.in_channels), int(m.out_channels), int(m.kernel_size[0]), int(m.kernel_size[1]),
                 int(m.stride[0]), int(m.padding[0]) if isinstance(m.padding, tuple) else -1,
                 int(m.output_padding[0])] for m in mods if isinstance(m, nn.ConvTranspose2d)],
        "upsample": sorted({type(m).__name__ for m in net.modules() if isinstance(m, (nn.Upsample, nn.UpsamplingNearest2d,
                                                                                        nn.UpsamplingBilinear2d))}),
    }
    # where every conv runs: the spatial height of its input, in the order of the calls
    seen: list = []
    hooks = [m.register_forward_hook(lambda m, inp, out, k=k: seen.append((k, int(inp[0].shape[-2]))))
             for k, m in enumerate(mods)]
    outs = []
    for j, shape in enumerate(shapes):
        x = torch.from_numpy(unet_input(seed, case, j, shape))
        if j == 0:
            net.train()
            y = ns.guard(net, x)
            outs.append(_out_record(y))
            if not isinstance(y, Bad) and torch.is_tensor(y) and y.requires_grad:
                g = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed))
                back = ns.guard(lambda: (y * g).sum().backward())
                rec["backward"] = back if isinstance(back, Bad) else "ok"
                rec["unused"] = [n for n, p in net.named_parameters() if p.requires_grad and p.grad is None][:4]
            else:
                rec["backward"] = Bad("missing", "the output does not require grad (no autograd graph)")
        else:
            net.eval()
            with torch.no_grad():
                outs.append(_out_record(ns.guard(net, x)))
    rec["outs"] = outs

    # The skip tests, on a 32x32 input (the changed pixel far from the borders), in eval mode.
    net.eval()
    c = shapes[0][1]
    h = w = max(32, 2 ** (int(kwargs["depth"]) + 1))  # the changed pixel far from the borders (exact equivariance)
    x1 = torch.from_numpy(unet_input(seed, case, 10, (1, c, h, w)))
    x2 = torch.from_numpy(unet_input(seed, case, 11, (1, c, h, w)))
    seen.clear()
    with torch.no_grad():
        y1 = ns.guard(net, x1)
    for hk in hooks:
        hk.remove()
    if isinstance(y1, Bad) or not torch.is_tensor(y1):
        rec["skip"] = y1 if isinstance(y1, Bad) else Bad("type", "forward returned no tensor")
        return rec
    heights = {}
    for k, hh in seen:
        heights.setdefault(k, hh)
    rec["heights"] = [heights.get(k, -1) for k in range(len(mods))]
    deepest = min(heights.values()) if heights else h
    depth = int(kwargs["depth"])
    saved = [(m.weight.detach().clone()) for m in mods]

    def zeroed_outputs(which, inputs):
        with torch.no_grad():
            for k, m in enumerate(mods):
                m.weight.copy_(saved[k])
                if k in which:
                    m.weight.zero_()
            res = []
            for xx in inputs:
                yy = ns.guard(net, xx)
                res.append(yy.detach().numpy().astype(np.float64) if torch.is_tensor(yy) else
                           (yy if isinstance(yy, Bad) else Bad("type", "forward returned no tensor")))
            for k, m in enumerate(mods):
                m.weight.copy_(saved[k])
        return res

    # (a) the bottleneck's convs (those running at H / 2**depth) zeroed
    deep = {k for k, hh in heights.items() if hh <= h // 2 ** depth}
    a1, a2 = zeroed_outputs(deep, [x1, x2])
    rec["deep_zeroed"] = {"n": len(deep), "deepest": int(deepest), "diff": _max_diff(a1, a2)}
    # (b) everything below full resolution zeroed, on a blank input: the response to one
    # changed pixel, and to the pixel next to it, must be the same map shifted by one
    # column (a full-resolution path is translation-equivariant; one through a pooling
    # is not, so a skip taken after the pooling fails)
    low = {k for k, hh in heights.items() if hh < h}
    r, col = h // 2, (w // 2) // 2 * 2
    x0 = torch.zeros((1, c, h, w))
    xa, xb = x0.clone(), x0.clone()
    xa[0, :, r, col] = 3.0
    xb[0, :, r, col + 1] = 3.0
    b0, ba, bb = zeroed_outputs(low, [x0, xa, xb])
    fine: dict[str, Any] = {"n": len(low)}
    bad = next((v for v in (b0, ba, bb) if isinstance(v, Bad)), None)
    if bad is not None:
        fine["error"] = bad
    elif not (b0.shape == ba.shape == bb.shape and b0.ndim == 4):
        fine["error"] = Bad("missing", "the outputs differ in shape")
    else:
        da, db = ba - b0, bb - b0
        fine["near"] = float(np.abs(da[..., max(0, r - 1):r + 2, max(0, col - 1):col + 2]).max(initial=0.0))
        fine["scale"] = float(np.abs(b0).max(initial=0.0))
        den = max(float(np.abs(da).max(initial=0.0) + np.abs(db).max(initial=0.0)), 1e-12)
        fine["shift_err"] = float(np.abs(db[..., 1:] - da[..., :-1]).max(initial=0.0)) / den
    rec["fine"] = fine
    return rec


def _max_diff(a, b):
    if isinstance(a, Bad):
        return a
    if isinstance(b, Bad):
        return b
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.shape != b.shape:
        return Bad("missing", "the two outputs differ in shape")
    return float(np.max(np.abs(a - b), initial=0.0))


def probe_unet(ns, seed):
    out = {}
    for case, (kwargs, shapes) in enumerate(UNET_CASES):
        out[str(case)] = case_guard(_probe_unet_case, ns, kwargs, shapes, seed, case)
    return out


# --------------------------------------------------------------------------
# hw4.colorization

COLOR_CASES = [(2, 8, 8), (1, 5, 7), (3, 16, 12)]  # (N, H, W) of the helper checks
L_SCALE, AB_SCALE = 100.0, 110.0
TRAIN_N, PATCH = 1500, 32
UNET_ARGS = {"in_channels": 1, "out_channels": 2, "base": 8, "depth": 2}
STEPS, BATCH, LR = 100, 32, 5e-3
CAP_S = 12.0            # CPU seconds (the reference needs about 4.5)


def _colour_images(seed: int, case: int, key: int) -> np.ndarray:
    """Random colours (some saturated, black and white included) and photo patches."""
    n, h, w = COLOR_CASES[case]
    rng = seeded(seed, key, case)
    img = rng.integers(0, 256, (n, h, w, 3)).astype(np.uint8)
    img[0, 0, 0] = (0, 0, 0)
    img[0, 0, 1] = (255, 255, 255)
    img[0, 1, 0] = (255, 0, 0)
    img[0, 1, 1] = (0, 0, 255)
    if case == 2:
        from data_scripts.colorize import photo_patches

        img = photo_patches(n, 16, "test" if key == 42 else "train", seed)[:, :h, :w].copy()
    return img


def helper_images(seed: int, case: int) -> np.ndarray:
    """The uint8 RGB images given to ``rgb_to_lab_channels`` (both sides)."""
    return _colour_images(seed, case, 42)


def lab_of(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L*/100 and (a*, b*)/110 of uint8 RGB images, float64 channels first
    (``skimage.color.rgb2lab``): how the grader makes its training pairs and the inputs
    of ``lab_channels_to_rgb``."""
    from skimage.color import rgb2lab

    lab = rgb2lab(images.astype(np.float64) / 255.0)
    return (lab[..., :1] / L_SCALE).transpose(0, 3, 1, 2), (lab[..., 1:] / AB_SCALE).transpose(0, 3, 1, 2)


def rgb_inputs(seed: int, case: int) -> tuple[np.ndarray, np.ndarray]:
    """The float32 (L, ab) given to ``lab_channels_to_rgb`` (both sides): the Lab channels
    of other images than :func:`helper_images`."""
    L, ab = lab_of(_colour_images(seed, case, 43))
    return L.astype(np.float32), ab.astype(np.float32)


def colour_train(seed: int) -> dict:
    """The grader's training pairs (public seed): L and ab, float32 (N, 1|2, 32, 32)."""
    from data_scripts.colorize import photo_patches

    L, ab = lab_of(photo_patches(TRAIN_N, PATCH, "train", seed))
    return {"L_train": L.astype(np.float32), "ab_train": ab.astype(np.float32)}


def train_colorizer(model, data: dict, L_eval: np.ndarray, seed: int) -> dict:
    """The grader's own loop (child side): the toolkit's budgeted loop, Adam + one-cycle, MSE
    on ab, batches drawn with replacement; then the ab predicted for the held-out L channels."""
    import torch
    import torch.nn.functional as F

    X, Y = torch.from_numpy(data["L_train"]), torch.from_numpy(data["ab_train"])

    def loss_of(idx, gen):
        pred = model(X[idx])
        if not torch.is_tensor(pred) or tuple(pred.shape) != tuple(Y[idx].shape):
            raise ValueError(f"the model returned {tuple(getattr(pred, 'shape', ()))} for a batch of "
                             f"{tuple(X[idx].shape)}, expected {tuple(Y[idx].shape)}")
        return F.mse_loss(pred, Y[idx])

    res = budgeted_training(model, loss_of, len(X), steps=STEPS, batch=BATCH, lr=LR, seed=seed, cap_s=CAP_S,
                            one_cycle=0.15, sampling="random")
    pred = torch.cat(in_chunks(lambda c: model(torch.from_numpy(c)), L_eval, 100))
    res["pred"] = pred.detach().numpy().astype(np.float32)
    return res


def probe_colorization(ns, seed):
    import torch
    import torch.nn as nn

    out: dict[str, Any] = {"lab": [], "rgb": []}
    for case in range(len(COLOR_CASES)):
        img = helper_images(seed, case)
        r = ns.call("rgb_to_lab_channels", img.copy())
        if isinstance(r, Bad):
            out["lab"].append(r)
        elif not isinstance(r, (tuple, list)) or len(r) != 2:
            out["lab"].append(Bad("missing", f"returned a {type(r).__name__}, not a pair (L, ab)"))
        else:
            out["lab"].append([numpy_result(r[0]), numpy_result(r[1])])
        L, ab = rgb_inputs(seed, case)
        out["rgb"].append(numpy_result(ns.call("lab_channels_to_rgb", L, ab)))
    L_eval = given_array(ns.given, "L", (1, PATCH, PATCH))
    if L_eval is None:
        out["train"] = Bad("missing", "the held-out inputs did not reach the grader's training run")
        return out
    torch.manual_seed(seed)
    model = ns.call("UNet", **UNET_ARGS)
    if isinstance(model, Bad):
        out["train"] = model
        return out
    if not isinstance(model, nn.Module):
        out["train"] = Bad("missing", f"UNet(...) built a {type(model).__name__}, not an nn.Module")
        return out
    out["train"] = ns.guard(train_colorizer, model, colour_train(seed), L_eval, seed)
    return out
