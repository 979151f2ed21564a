"""U-Net, and colorization in Lab space with it (000 P1, U-Net part).

Student API:
    UNet(in_channels=1, out_channels=2, base=16, depth=3)  (an nn.Module)
        Encoder level i = 0..depth-1: DoubleConv(c_prev -> base*2**i), then MaxPool2d(2)
        (the DoubleConv's output is kept as the skip of level i). Bottleneck:
        DoubleConv(base*2**(depth-1) -> base*2**depth). Decoder level i = depth-1..0:
        ConvTranspose2d(base*2**(i+1) -> base*2**i, kernel_size=2, stride=2) (a learned
        up-convolution), concatenate with the skip of level i along the channels
        (2*base*2**i channels), DoubleConv(2*base*2**i -> base*2**i). Last: a 1x1 conv
        base -> out_channels, no activation. DoubleConv(a -> b) = two 3x3 convs with
        padding 1 (a -> b, b -> b), each followed by BatchNorm2d and ReLU.
        Input (N, in_channels, H, W) with H and W multiples of 2**depth; output
        (N, out_channels, H, W). Other sizes are not graded (the notebook's version raises).
    rgb_to_lab_channels(images) -> (L, ab)
        images: uint8 NumPy (N, H, W, 3), RGB. L = L*/100 as float32 (N, 1, H, W) in [0, 1];
        ab = (a*, b*)/110 as float32 (N, 2, H, W), about [-1, 1]; L*, a*, b* as
        skimage.color.rgb2lab gives them (D65, sRGB).
    lab_channels_to_rgb(L, ab) -> float32 (N, H, W, 3) RGB in [0, 1]
        The inverse: skimage.color.lab2rgb of (100 L, 110 a, 110 b), clipped to [0, 1].

hw4.unet: the probe builds UNet with other channel counts, bases and depths, runs it
on several sizes (batch 1 included), lists its Conv2d and ConvTranspose2d layers with
forward hooks that also record at which resolution each runs, and runs two skip tests
in eval mode: (a) every conv that runs at the bottleneck's resolution zeroed (the
bottleneck then outputs a constant): the output must still depend on the input;
(b) every conv and up-conv that runs below full resolution zeroed: only the level-0
skip is left; on a blank input, changing one pixel must still change the output around
it, and changing the pixel next to it instead must move that response by exactly one
pixel (a full-resolution path is translation-equivariant, one through a pooling is
not). A network without skips, or with a skip from the wrong level, fails (a) or (b). The
judge compares the layers with the reference's (multiset of (in, out, kernel) of the
convs: the decoder's convs must read 2c channels; the final 1x1 conv; depth
ConvTranspose2d(2c, c, 2, stride 2), interpolation alone is not a learned up-conv).

hw4.colorization: the helpers are compared with skimage.color on random colours and
photo patches (``lab_channels_to_rgb`` gets the Lab channels of other images than
``rgb_to_lab_channels``). Then the grader trains UNet(1, 2, base=8, depth=2) itself on
32x32 patches of scikit-image's photographs (``data_scripts.colorize``, the grader's own
Lab conversion) drawn from the public seed: its own loop, Adam with a one-cycle schedule,
MSE on ab, a fixed number of steps, a CPU-seconds cap. The held-out patches come from the
judge (``give``: their L channels only, drawn from ``held_out_seed``); the judge keeps
their ab channels and compares the MSE of the predicted ab with that of predicting the
training set's mean colour everywhere. Full points at a ratio <= 0.85 (the reference
reaches about 0.74-0.78); a constant model stays at 1.

The probe half is ``autograder/probes/hw4/unet.py``.
"""
from __future__ import annotations

import collections
import functools

import numpy as np

from ..core import Bad, Fail, Item, held_out_seed, unwrap
from ..judging import any_passed, convention_part, levels, status_note, time_part, trained
from ..probes.hw4.unet import (AB_SCALE, CAP_S, COLOR_CASES, L_SCALE, PATCH, STEPS, UNET_ARGS, UNET_CASES, colour_train,
                               helper_images, probe_colorization, probe_unet, rgb_inputs)

# --------------------------------------------------------------------------
# hw4.unet

def reference_layers(in_channels: int, out_channels: int, base: int, depth: int) -> tuple[list, list]:
    """(convs, up-convs) of the reference U-Net: [(in, out, kernel)] and [(in, out, kernel, stride)]."""
    convs, ups = [], []
    c = in_channels
    for i in range(depth):
        w = base * 2 ** i
        convs += [(c, w, 3), (w, w, 3)]
        c = w
    w = base * 2 ** depth
    convs += [(c, w, 3), (w, w, 3)]
    for i in reversed(range(depth)):
        w = base * 2 ** i
        ups.append((2 * w, w, 2, 2))
        convs += [(2 * w, w, 3), (w, w, 3)]
    convs.append((base, out_channels, 1))
    return convs, ups


def _ctx(kwargs: dict) -> str:
    return "UNet(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def _rec(out, case: int, ctx: str) -> dict:
    rec = out.get(str(case)) if isinstance(out, dict) else None
    if not isinstance(rec, dict):
        raise Fail(f"{ctx}: no result came back")
    if "error" in rec:
        err = rec["error"]
        raise Fail(err.describe(f"{ctx}: building it") if isinstance(err, Bad) else f"{ctx}: building it failed")
    return rec


def _fmt(t) -> str:
    return f"{t[2]}x{t[2]} conv {t[0]}->{t[1]}"


def _check_layers(rec: dict, kwargs: dict, ctx: str) -> None:
    want, _ = reference_layers(**kwargs)
    got = []
    for c in rec.get("convs") or []:
        if not isinstance(c, (list, tuple)) or len(c) != 6:
            raise Fail(f"{ctx}: its layers could not be read")
        if c[2] != c[3]:
            raise Fail(f"{ctx}: a conv with a non-square {c[2]}x{c[3]} kernel")
        if c[5] != 1:
            raise Fail(f"{ctx}: a conv with groups={c[5]}; U-Net's convs are ordinary (groups=1)")
        if c[4] != 1:
            raise Fail(f"{ctx}: a Conv2d with stride {c[4]}; downsample with MaxPool2d(2) and keep every conv at stride 1")
        got.append((int(c[0]), int(c[1]), int(c[2])))
    missing = collections.Counter(want) - collections.Counter(got)
    extra = collections.Counter(got) - collections.Counter(want)
    if not missing and not extra:
        return
    base = kwargs["base"]
    final = (base, kwargs["out_channels"], 1)
    if final in missing:
        raise Fail(f"{ctx}: no final 1x1 conv {base}->{kwargs['out_channels']} (out_channels); end with "
                   f"nn.Conv2d(base, out_channels, kernel_size=1)")
    dec = [t for t in missing if t[2] == 3 and t[0] == 2 * t[1]]
    if dec:
        t = sorted(dec)[0]
        raise Fail(f"{ctx}: no {_fmt(t)}: the first conv of each decoder level must read the up-convolved "
                   f"features concatenated with the skip of the same level (torch.cat([skip, up], dim=1): "
                   f"{t[1]} + {t[1]} = {t[0]} channels)" + (f"; found {', '.join(_fmt(e) for e in sorted(extra))} instead"
                                                           if extra else ""))
    parts = []
    if missing:
        parts.append("missing " + ", ".join(_fmt(t) + (f" (x{n})" if n > 1 else "") for t, n in sorted(missing.items())))
    if extra:
        parts.append("unexpected " + ", ".join(_fmt(t) + (f" (x{n})" if n > 1 else "") for t, n in sorted(extra.items())))
    raise Fail(f"{ctx}: its convs differ from the U-Net of the task ({'; '.join(parts)}); widths base*2**level, "
               "two 3x3 convs per level, the bottleneck at base*2**depth, a final 1x1 conv")


# The up-convolution's kernel: U-Net's 2x2 (kernel_size=2, stride=2) here; other exact doublings
# are accepted by the up-convolution part and charged in a small part of their own.
UP_KERNELS = {
    (4, 1, 0): "4x4 with stride 2 and padding 1, as pix2pix's and DCGAN's generators do",
    (3, 1, 1): "3x3 with stride 2, padding 1 and output_padding 1, as Keras's Conv2DTranspose(3, strides=2, "
               "padding='same') does",
}


def _ups(rec: dict, ctx: str) -> list[tuple]:
    """(in, out, kernel, stride, padding, output_padding) of every ConvTranspose2d (square kernels)."""
    got = []
    for u in rec.get("ups") or []:
        if not isinstance(u, (list, tuple)) or len(u) != 7 or not all(isinstance(v, int) for v in u):
            raise Fail(f"{ctx}: its layers could not be read")
        if u[2] != u[3]:
            raise Fail(f"{ctx}: an up-convolution with a non-square {u[2]}x{u[3]} kernel")
        got.append((u[0], u[1], u[2], u[4], u[5], u[6]))
    return got


def _check_ups(rec: dict, kwargs: dict, ctx: str) -> None:
    _, want = reference_layers(**kwargs)
    got = _ups(rec, ctx)
    if not got:
        how = " (it upsamples by interpolation: " + ", ".join(rec.get("upsample") or []) + ")" if rec.get("upsample") else ""
        raise Fail(f"{ctx}: no nn.ConvTranspose2d{how}; this task asks for a learned up-convolution in each decoder "
                   f"level, nn.ConvTranspose2d(2c, c, kernel_size=2, stride=2)")
    # (in, out, stride) as the task's, each doubling the size exactly: (H - 1) 2 - 2p + k + op = 2H
    doubling = [(i, o, 2, 2) if s == 2 and k - 2 * p + op == 2 else (i, o, k, s) for i, o, k, s, p, op in got]
    if sorted(doubling) != sorted(want):
        raise Fail(f"{ctx}: up-convolutions {sorted((i, o, k, s) for i, o, k, s, _, _ in got)} as (in, out, kernel, "
                   f"stride), expected {sorted(want)}: one ConvTranspose2d(2c, c, kernel_size=2, stride=2) per decoder "
                   f"level, halving the channels and doubling the size")


def _check_up_kernel(rec: dict, kwargs: dict, ctx: str) -> None:
    _check_ups(rec, kwargs, ctx)  # the kernel counts once the up-convolutions are right
    for _, _, k, s, p, op in _ups(rec, ctx):
        if (k, p, op) != (2, 0, 0) and s == 2 and k - 2 * p + op == 2:
            how = UP_KERNELS.get((k, p, op), f"{k}x{k} with stride 2, padding {p} and output_padding {op}")
            raise Fail(f"{ctx}: the task's up-convolution is U-Net's 2x2 (Ronneberger et al.: kernel_size=2, "
                       f"stride=2); yours is {how}")


def _check_shapes(rec: dict, kwargs: dict, shapes: list, ctx: str) -> None:
    outs = rec.get("outs")
    if not isinstance(outs, list) or len(outs) != len(shapes):
        raise Fail(f"{ctx}: no output came back")
    for shape, o in zip(shapes, outs):
        o = unwrap(o, f"{ctx} on an input of shape {shape}")
        want = [shape[0], kwargs["out_channels"], shape[2], shape[3]]
        if not isinstance(o, dict) or o.get("shape") != want:
            got = tuple(o.get("shape") or ()) if isinstance(o, dict) else "?"
            raise Fail(f"{ctx}: input {shape} gave output {got}, expected {tuple(want)} (same H and W as the input; "
                       f"out_channels channels)")
        if not o.get("finite"):
            raise Fail(f"{ctx}: input {shape} gave NaN or inf")


def _check_skips(rec: dict, kwargs: dict, ctx: str) -> None:
    skip = rec.get("skip")
    if isinstance(skip, Bad):
        raise Fail(skip.describe(f"{ctx}: forward in eval mode"))
    deep, fine = rec.get("deep_zeroed"), rec.get("fine")
    if not isinstance(deep, dict) or not isinstance(fine, dict):
        raise Fail(f"{ctx}: the skip test did not run")
    if not deep.get("n"):
        raise Fail(f"{ctx}: no conv runs at the bottleneck's resolution (H / 2**depth = H / {2 ** kwargs['depth']}); "
                   f"the encoder must halve the size depth={kwargs['depth']} times")
    diff = deep.get("diff")
    if isinstance(diff, Bad):
        raise Fail(diff.describe(f"{ctx}: forward with the bottleneck's convs zeroed"))
    if not isinstance(diff, float) or not diff > 1e-6:
        raise Fail(f"{ctx}: with the bottleneck's convs zeroed, the output no longer depends on the input: "
                   "everything goes through the bottleneck, there are no skip connections (concatenate each encoder "
                   "level's output into the decoder level of the same size)")
    if isinstance(fine.get("error"), Bad):
        raise Fail(fine["error"].describe(f"{ctx}: forward with the low-resolution convs zeroed"))
    near, scale, shift = fine.get("near"), fine.get("scale"), fine.get("shift_err")
    if not isinstance(near, float) or not near > 1e-6 * max(1.0, float(scale or 0.0)):
        raise Fail(f"{ctx}: with every conv below full resolution zeroed, changing one input pixel no longer changes "
                   "the output around it: the full-resolution encoder features must be concatenated into the last "
                   "decoder level (the skip of level 0; fine detail comes from there)")
    if not isinstance(shift, float) or not shift < 1e-3:
        raise Fail(f"{ctx}: with every conv below full resolution zeroed, moving a changed input pixel by one column "
                   "does not move the output's response by one column: the skip into the last decoder level passes "
                   "through a pooling (take each skip from the encoder level's double conv, before the MaxPool2d)")


def judge_unet(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(UNET_CASES)
    for case, (kwargs, shapes) in enumerate(UNET_CASES):
        ctx = _ctx(kwargs)
        with ck.part("UNet: output shape", 2 / n):
            _check_shapes(_rec(out, case, ctx), kwargs, shapes, ctx)
        with ck.part("UNet: layers", 2 / n):
            _check_layers(_rec(out, case, ctx), kwargs, ctx)
        with ck.part("UNet: up-convolution", 0.75 / n):
            _check_ups(_rec(out, case, ctx), kwargs, ctx)
        with ck.part("UNet: the up-convolution's kernel", 0.25 / n):
            _check_up_kernel(_rec(out, case, ctx), kwargs, ctx)
        with ck.part("UNet: skip connections", 2 / n):
            _check_skips(_rec(out, case, ctx), kwargs, ctx)
        with ck.part("UNet: gradients", 1 / n):
            rec = _rec(out, case, ctx)
            back = rec.get("backward")
            if isinstance(back, Bad):
                raise Fail(back.describe(f"{ctx}: backward through the output"))
            if back != "ok":
                raise Fail(f"{ctx}: backward through the output did not run")
            unused = [str(u) for u in rec.get("unused") or []]
            if unused:
                raise Fail(f"{ctx}: parameter(s) {', '.join(unused)} got no gradient: a layer is defined in __init__ "
                           "but not used in forward")


# --------------------------------------------------------------------------
# hw4.colorization

TEST_N = 300            # held-out patches (judge side; the probe gets their L channels)
FULL_RATIO = 0.85       # held-out MSE / MSE of the mean colour: full points at or below
HALF_RATIO = 0.95       # half of the training points at or below
UNET_TEXT = "UNet(" + ", ".join(f"{k}={v}" for k, v in UNET_ARGS.items()) + ")"


def reference_lab(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The expected (L, ab) of ``rgb_to_lab_channels``: skimage's rgb2lab, scaled, channels first."""
    from skimage.color import rgb2lab

    lab = rgb2lab(images.astype(np.float64) / 255.0)
    return (lab[..., :1] / L_SCALE).transpose(0, 3, 1, 2), (lab[..., 1:] / AB_SCALE).transpose(0, 3, 1, 2)


def reference_rgb(L: np.ndarray, ab: np.ndarray) -> np.ndarray:
    from skimage.color import lab2rgb

    lab = np.concatenate([L * L_SCALE, ab * AB_SCALE], axis=1).transpose(0, 2, 3, 1)
    return np.clip(lab2rgb(lab.astype(np.float64)), 0.0, 1.0)


@functools.lru_cache(maxsize=4)
def _eval_set(held_seed: int) -> tuple[np.ndarray, np.ndarray]:
    from data_scripts.colorize import photo_patches

    L, ab = reference_lab(photo_patches(TEST_N, PATCH, "test", held_seed))
    return L.astype(np.float32), ab.astype(np.float32)


def eval_set(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out patches (judge side only): their L channels (sent to the probe) and
    their true ab channels (kept), from a seed only the judge can derive."""
    L, ab = _eval_set(held_out_seed("hw4.colorization", seed))
    return L.copy(), ab.copy()


def give_colorization(seed: int) -> dict:
    return {"L": eval_set(seed)[0]}


@functools.lru_cache(maxsize=4)
def _train_mean(seed: int) -> np.ndarray:
    return colour_train(seed)["ab_train"].astype(np.float64).mean(axis=(0, 2, 3), keepdims=True)


def colour_ratio(pred: np.ndarray, ab_eval: np.ndarray, seed: int) -> float:
    """Held-out MSE of ``pred`` over that of the training set's mean colour (a constant)."""
    mean = _train_mean(seed)
    base = float(np.mean((ab_eval.astype(np.float64) - mean) ** 2))
    mse = float(np.mean((pred.astype(np.float64) - ab_eval) ** 2))
    return mse / base


# The L channel's scaling: L*/100 in [0, 1] here; pix2pix's colorization data set uses L*/50 - 1 in [-1, 1]
# (and the same ab / 110). Accepted by both helpers' parts, charged in a small part of its own.
PIX2PIX_L = "L*/50 - 1 in [-1, 1], as pix2pix's colorization data set does"


def _check_pair(got, img: np.ndarray, ctx: str) -> str:
    """The (L, ab) of rgb_to_lab_channels; returns the L scaling it follows ("" for the notebook's)."""
    if isinstance(got, Bad):
        raise Fail(got.describe(ctx))
    L_want, ab_want = reference_lab(img)
    scaling = ""
    for v, want, name, rng in ((got[0], L_want, "L", "[0, 1]: L*/100"), (got[1], ab_want, "ab", "(a*, b*)/110")):
        if isinstance(v, Bad):
            raise Fail(v.describe(f"{ctx}: {name}"))
        if v.shape != want.shape:
            raise Fail(f"{ctx}: {name} has shape {v.shape}, expected {want.shape} (channels first: (N, "
                       f"{want.shape[1]}, H, W))")
        if v.dtype != np.float32:
            raise Fail(f"{ctx}: {name} has dtype {v.dtype}, expected float32")
        if not np.all(np.isfinite(v)):
            raise Fail(f"{ctx}: {name} contains NaN or inf")
        err = float(np.max(np.abs(v.astype(np.float64) - want)))
        if name == "L" and err > 2e-3 and float(np.max(np.abs(v.astype(np.float64) - (2 * want - 1)))) <= 4e-3:
            scaling, err = PIX2PIX_L, 0.0
        if err > 2e-3:
            hint = ""
            if name == "L" and abs(float(v.max()) - 100 * float(want.max())) < 1:
                hint = " (divide L* by 100)"
            elif name == "ab" and np.allclose(v, want * AB_SCALE, atol=0.5):
                hint = " (divide a* and b* by 110)"
            elif name == "L" and float(np.abs(v - want).mean()) > 0.05:
                hint = " (use skimage.color.rgb2lab on RGB values in [0, 1]; not a grey-level mean)"
            raise Fail(f"{ctx}: {name} differs from skimage.color.rgb2lab scaled to {rng} by up to {err:.3g}{hint}")
    return scaling


def judge_colorization(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    labs = out.get("lab") if isinstance(out.get("lab"), list) else []
    rgbs = out.get("rgb") if isinstance(out.get("rgb"), list) else []
    n = len(COLOR_CASES)
    scaling = ""  # the first other L scaling a helper follows, with where
    for case in range(n):
        img = helper_images(seed, case)
        ctx = f"rgb_to_lab_channels on uint8 images of shape {img.shape}"
        with ck.part("rgb_to_lab_channels", 1.75 / n):
            other = _check_pair(labs[case] if case < len(labs) else Bad("missing", "no result"), img, ctx)
            scaling = scaling or (other and f"{other} ({ctx})")
        with ck.part("lab_channels_to_rgb", 0.75 / n):
            L, ab = rgb_inputs(seed, case)
            want = reference_rgb(L.astype(np.float64), ab.astype(np.float64))
            got = rgbs[case] if case < len(rgbs) else Bad("missing", "no result")
            c2 = f"lab_channels_to_rgb on L {L.shape} and ab {ab.shape}"
            got = unwrap(got, c2)
            if got.shape != want.shape:
                raise Fail(f"{c2}: shape {got.shape}, expected {want.shape} ((N, H, W, 3), channels last)")
            if not np.all(np.isfinite(got)):
                raise Fail(f"{c2}: contains NaN or inf")
            err = float(np.max(np.abs(got.astype(np.float64) - want)))
            if err > 2e-3:
                pix = reference_rgb((L.astype(np.float64) + 1) / 2, ab.astype(np.float64))
                if float(np.max(np.abs(got.astype(np.float64) - pix))) <= 2e-3:
                    scaling = scaling or f"{PIX2PIX_L} ({c2}: it reads L as L*/50 - 1)"
                    continue
                hint = " (values 0-255? return floats in [0, 1])" if float(got.max()) > 2 else ""
                raise Fail(f"{c2}: differs from skimage.color.lab2rgb of (100 L, 110 a, 110 b) by up to {err:.3g}{hint}")
    followed = (f"rgb_to_lab_channels and lab_channels_to_rgb: this notebook's L channel is L*/100 in [0, 1]; "
                f"yours is {scaling}") if scaling else ""
    convention_part(ck, "Lab helpers: the scaling of L", 0.5, followed,
                    *any_passed(ck, "rgb_to_lab_channels", "lab_channels_to_rgb"))

    who = f"{UNET_TEXT} trained by the grader"
    res = trained(out.get("train", Bad("missing", "no result")), who, ck, [("UNet: colour error", 5.0)])
    if res is None:
        return
    time_part(ck, "UNet: training time", 0.5, res,
              f"{who}: too slow, the grader's {CAP_S:g} CPU-second budget ran out after {{done}} of {{steps}} steps; "
              "keep the U-Net of the task (no extra layers)", STEPS)
    note = status_note(res, STEPS)
    try:
        _, ab_eval = eval_set(seed)
        pred = res.get("pred")
        if not isinstance(pred, np.ndarray) or pred.shape != ab_eval.shape or pred.dtype.kind not in "fiu":
            raise Fail(f"{who}: its ab predictions for the {TEST_N} held-out patches are malformed (expected "
                       f"{ab_eval.shape[1:]} per patch)")
        if not np.all(np.isfinite(pred)):
            raise Fail(f"{who}: it predicts NaN or inf{note}")
        ratio = colour_ratio(pred, ab_eval, seed)
    except Fail as e:
        with ck.part("UNet: colour error", 4.5):
            raise e
        return
    levels(ck, "UNet: colour error", ratio, 4.5, (HALF_RATIO, FULL_RATIO),
           f"{who}: its ab error on {TEST_N} held-out patches is {ratio:.2f} x that of predicting the mean colour "
           f"everywhere; needs <= {FULL_RATIO} for full points{note}", higher_is_better=False)


ITEMS = [
    Item("hw4.unet", 8, ("UNet",), probe_unet, judge_unet,
         title="U-Net: shapes, layers, learned up-convolutions, skip connections", timeout=60),
    Item("hw4.colorization", 8, ("rgb_to_lab_channels", "lab_channels_to_rgb", "UNet"), probe_colorization,
         judge_colorization, title="Colorization: Lab helpers; the grader-trained U-Net beats the mean colour",
         timeout=90, memory_mb=3072, give=give_colorization),
]
