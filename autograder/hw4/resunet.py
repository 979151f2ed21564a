"""The residual encoder of a ResUNet (003 P8; Zhang, Liu & Wang, "Road extraction by deep
residual U-Net", 2018).

Student API (a torch module):
    ResidualEncoder(in_channels, widths=(16, 32, 64, 128))
        One residual unit per level. Level 0 maps in_channels -> widths[0] at full
        resolution; level i >= 1 maps widths[i-1] -> widths[i] and halves the height and
        width (stride 2 in its first 3x3 conv and in its shortcut). A unit is two 3x3
        convs with BatchNorm and ReLU (pre-activation BN-ReLU-conv as in the paper, or
        conv-BN-ReLU as in ResNet), plus the shortcut: a 1x1 conv (with the unit's stride;
        optionally followed by BatchNorm) whenever the shape changes, the identity otherwise.
        forward(x (N, C, H, W)) -> list of len(widths) feature maps, level i of shape
        (N, widths[i], H_i, W_i) with H_0 = H and H_i = ceil(H_{i-1} / 2) (floor is accepted).

The decoder is given (:class:`ResUNetDecoder`, the same code as the notebook's): the
grader uses its own copy, never the notebook's.

The probe builds the encoder for several channel counts, widths and odd image sizes
and returns plain data: the feature shapes (train mode, with a backward pass), the
features in eval mode with random weights and BatchNorm statistics, the features with
every kxk conv zeroed and BatchNorm an identity, the 1x1 convs' weights, and the
output shape of the grader's ResUNet built on the encoder. The judge checks: the
number of levels and each level's shape (widths, downsampling); the residual
behaviour (with the convs zeroed, level i must output S(f_{i-1}) or ReLU(S(f_{i-1})),
S the unit's 1x1 shortcut conv or the identity); that the residual branch is active
with random weights; gradients reach every parameter; the ResUNet's output shape.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..core import Bad, Fail, Item
from ..hw2.resnet import _layers, _randomize, _rng, _unused

TOL = 1e-4

# (in_channels, widths, input shape). The notebook shows in_channels=1, widths=(16, 32, 64, 128) on 64x64.
CASES = [
    (1, (8, 16, 32), (2, 1, 48, 48)),
    (3, (4, 12, 16, 24), (2, 3, 37, 50)),
    (2, (6, 10), (1, 2, 20, 17)),
]
KEY = 44


@functools.lru_cache(maxsize=None)
def decoder_class():
    """The given decoder (identical to the notebook's ``ResUNetDecoder``)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class DecoderUnit(nn.Module):
        """Pre-activation residual unit: BN-ReLU-conv3x3-BN-ReLU-conv3x3 + conv1x1 shortcut."""

        def __init__(self, cin, cout):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(cin)
            self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.shortcut = nn.Conv2d(cin, cout, 1, bias=False)

        def forward(self, x):
            h = self.conv1(F.relu(self.bn1(x)))
            h = self.conv2(F.relu(self.bn2(h)))
            return h + self.shortcut(x)

    class ResUNetDecoder(nn.Module):
        def __init__(self, widths, out_channels=1):
            super().__init__()
            widths = list(widths)
            self.units = nn.ModuleList(DecoderUnit(widths[i + 1] + widths[i], widths[i])
                                       for i in range(len(widths) - 1))
            self.head = nn.Conv2d(widths[0], out_channels, 1)

        def forward(self, features):
            x = features[-1]
            for i in range(len(features) - 2, -1, -1):
                skip = features[i]
                x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
                x = self.units[i](torch.cat([x, skip], dim=1))
            return self.head(x)

    return ResUNetDecoder


def build_resunet(encoder, widths, out_channels=1):
    """The student's encoder followed by the grader's decoder, as one module."""
    import torch.nn as nn

    class ResUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder
            self.decoder = decoder_class()(widths, out_channels)

        def forward(self, x):
            return self.decoder(self.encoder(x))

    return ResUNet()


def encoder_input(seed: int, case: int, shape) -> np.ndarray:
    return _rng(seed, KEY, case, 0).normal(0.0, 1.0, shape).astype(np.float32)


# --------------------------------------------------------------------------
# Probe (child side)


def _features(ns, enc, x) -> Any:
    import torch

    out = ns.guard(enc, x.clone())
    if isinstance(out, Bad):
        return out
    if torch.is_tensor(out) or not isinstance(out, (list, tuple)):
        return Bad("missing", f"forward returned a {type(out).__name__}; return a list with one feature map per level")
    if not all(torch.is_tensor(f) for f in out):
        return Bad("missing", "forward returned a list holding something that is not a tensor")
    return list(out)


def probe_case(ns, cin, widths, xshape, seed, case) -> dict:
    import torch
    import torch.nn as nn

    torch.manual_seed(seed + case)
    enc = ns.call("ResidualEncoder", cin, widths=tuple(widths))
    if isinstance(enc, Bad):
        return {"error": enc}
    if not isinstance(enc, nn.Module):
        return {"error": Bad("type", f"ResidualEncoder(...) built a {type(enc).__name__}, not an nn.Module")}
    rec: dict = {}
    x = torch.from_numpy(encoder_input(seed, case, xshape))
    enc.train()
    feats = _features(ns, enc, x)
    if isinstance(feats, Bad):
        rec["shapes"] = feats
        return rec
    rec["shapes"] = [list(f.shape) for f in feats]
    if all(f.requires_grad for f in feats):
        g = torch.Generator().manual_seed(seed)
        back = ns.guard(lambda: sum((f * torch.randn(f.shape, generator=g)).sum() for f in feats).backward())
        rec["backward"] = back if isinstance(back, Bad) else "ok"
    else:
        rec["backward"] = Bad("missing", "a feature map does not require grad (no autograd graph)")
    rec["unused"] = _unused(enc)
    # the given decoder on top: the full ResUNet's output shape
    net = build_resunet(enc, widths)
    y = ns.guard(net, x.clone())
    rec["resunet"] = y if isinstance(y, Bad) else (list(y.shape) if torch.is_tensor(y) else Bad("type", "not a tensor"))

    convs, bns, _, _ = _layers(enc)
    rec["kxk"] = sum(1 for c in convs if tuple(c.kernel_size) != (1, 1))
    _randomize(enc, _rng(seed, KEY, case, 1))
    enc.eval()
    with torch.no_grad():
        f = _features(ns, enc, x)
    rec["rand"] = f if isinstance(f, Bad) else [t.detach().double().numpy().copy() for t in f]
    rec["proj"] = [{"in": int(c.in_channels), "out": int(c.out_channels), "stride": [int(s) for s in c.stride],
                    "w": c.weight.detach().double().numpy().copy(),
                    "b": None if c.bias is None else c.bias.detach().double().numpy().copy()}
                   for c in convs if tuple(c.kernel_size) == (1, 1) and c.groups == 1]
    with torch.no_grad():
        for c in convs:
            if tuple(c.kernel_size) != (1, 1):
                c.weight.zero_()
                if c.bias is not None:
                    c.bias.zero_()
        for b in bns:
            if b.weight is not None:
                b.weight.fill_(1.0)
                b.bias.zero_()
            if b.running_mean is not None:
                b.running_mean.zero_()
                b.running_var.fill_(1.0 - b.eps)
        f = _features(ns, enc, x)
    rec["zero"] = f if isinstance(f, Bad) else [t.detach().double().numpy().copy() for t in f]
    return rec


def probe(ns, seed):
    out = {}
    for case, (cin, widths, xshape) in enumerate(CASES):
        try:
            out[case] = probe_case(ns, cin, widths, xshape, seed, case)
        except Exception as e:  # an odd module the probe could not handle
            out[case] = {"error": Bad("error", f"{type(e).__name__} while probing the encoder: {str(e)[:150]}")}
    return out


# --------------------------------------------------------------------------
# Judge (trusted side)


def _ctx(cin, widths, xshape) -> str:
    return f"ResidualEncoder({cin}, widths={tuple(widths)}) on input {tuple(xshape)}"


def _shortcuts(rec: dict, prev: np.ndarray, cout: int, want_shape: tuple) -> list[np.ndarray]:
    """prev pushed through every candidate shortcut: a 1x1 conv prev_c -> cout of any stride
    giving ``want_shape``, or the identity when the shape does not change."""
    import torch
    import torch.nn.functional as F

    cands = []
    if tuple(prev.shape) == tuple(want_shape):
        cands.append(prev)
    xt = torch.from_numpy(prev)
    for p in rec.get("proj") or []:
        if not isinstance(p, dict) or p.get("in") != prev.shape[1] or p.get("out") != cout:
            continue
        w, b = p.get("w"), p.get("b")
        if not isinstance(w, np.ndarray) or w.shape != (cout, prev.shape[1], 1, 1):
            continue
        stride = tuple(int(s) for s in (p.get("stride") or [1, 1]))
        with torch.no_grad():
            y = F.conv2d(xt, torch.from_numpy(w), torch.from_numpy(b) if isinstance(b, np.ndarray) else None, stride=stride)
        if tuple(y.shape) == tuple(want_shape):
            cands.append(y.numpy())
    return cands


def _err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(a) + np.abs(b))), 1e-12)


def _feature_list(v, n: int, what: str) -> list[np.ndarray]:
    if isinstance(v, Bad):
        raise Fail(v.describe(what))
    if not isinstance(v, list) or len(v) != n or not all(isinstance(a, np.ndarray) for a in v):
        raise Fail(f"{what}: the feature maps could not be read back")
    return v


def judge(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(CASES)
    for case, (cin, widths, xshape) in enumerate(CASES):
        rec = out.get(case)
        ctx = _ctx(cin, widths, xshape)
        rec = rec if isinstance(rec, dict) else {"error": Bad("missing", "no result came back")}
        err = rec.get("error")
        parts = [("levels and shapes", 3.0), ("residual", 3.0), ("residual branch", 1.0), ("gradients and decoder", 1.0)]
        if err is not None:
            with ck.part("levels and shapes", sum(w for _, w in parts) / n):
                raise Fail(err.describe(ctx) if isinstance(err, Bad) else f"{ctx}: could not be built")
            continue
        shapes = rec.get("shapes")
        with ck.part("levels and shapes", 3.0 / n):
            if isinstance(shapes, Bad):
                raise Fail(shapes.describe(f"{ctx}: forward"))
            if not isinstance(shapes, list) or len(shapes) != len(widths):
                raise Fail(f"{ctx}: forward returned {len(shapes) if isinstance(shapes, list) else '?'} feature maps, "
                           f"expected {len(widths)} (one per level, the full-resolution one first)")
            h, w = xshape[2], xshape[3]
            for i, (s, c) in enumerate(zip(shapes, widths)):
                if i > 0:
                    ok_h = {(h + 1) // 2, h // 2}
                    ok_w = {(w + 1) // 2, w // 2}
                else:
                    ok_h, ok_w = {h}, {w}
                if len(s) != 4 or s[0] != xshape[0] or s[1] != c or s[2] not in ok_h or s[3] not in ok_w:
                    want = f"({xshape[0]}, {c}, {max(ok_h)}, {max(ok_w)})"
                    hint = (" (level 0 keeps the input size; every later level halves it once)" if len(s) == 4 and s[1] == c
                            else f" (level {i} has widths[{i}] = {c} channels)")
                    raise Fail(f"{ctx}: level {i} has shape {tuple(s)}, expected {want}{hint}")
                h, w = s[2], s[3]
        x = encoder_input(seed, case, xshape).astype(np.float64)
        with ck.part("residual", 3.0 / n):
            zero = _feature_list(rec.get("zero"), len(widths), f"{ctx} with its 3x3 convs zeroed")
            prev = x
            for i, (f, c) in enumerate(zip(zero, widths)):
                cands = _shortcuts(rec, prev, c, f.shape)
                if not cands:
                    raise Fail(f"{ctx}: level {i} changes the shape ({prev.shape[1]} -> {c} channels"
                               f"{', stride 2' if i else ''}) but no 1x1 shortcut conv {prev.shape[1]} -> {c} with that "
                               "stride was found")
                best = min(min(_err(f, s), _err(f, np.maximum(s, 0))) for s in cands)
                if best > TOL:
                    raise Fail(f"{ctx}: with every 3x3 conv zeroed (and BatchNorm an identity) level {i} must output its "
                               f"shortcut of {'level ' + str(i - 1) if i else 'the input'} (or ReLU of it), got something else "
                               f"(max relative error {best:.1e}): add the shortcut to the residual branch")
                prev = f
        with ck.part("residual branch", 1.0 / n):
            if int(rec.get("kxk") or 0) < 2 * len(widths):
                raise Fail(f"{ctx}: {rec.get('kxk')} 3x3 convs found, expected at least two per level ({2 * len(widths)})")
            rand = _feature_list(rec.get("rand"), len(widths), f"{ctx} in eval mode")
            prev = x
            for i, f in enumerate(rand):
                cands = _shortcuts(rec, prev, widths[i], f.shape)
                if cands and min(min(_err(f, s), _err(f, np.maximum(s, 0))) for s in cands) < 1e-3:
                    raise Fail(f"{ctx}: level {i} outputs only its shortcut: the residual branch (the 3x3 convs) "
                               "does not reach the output")
                prev = f
        with ck.part("gradients and decoder", 1.0 / n):
            back = rec.get("backward")
            if isinstance(back, Bad):
                raise Fail(back.describe(f"{ctx}: backward through the feature maps"))
            unused = rec.get("unused") or []
            if unused:
                raise Fail(f"{ctx}: parameter(s) {', '.join(map(str, unused))} got no gradient: a layer is defined in "
                           "__init__ but not used in forward")
            y = rec.get("resunet")
            if isinstance(y, Bad):
                raise Fail(y.describe(f"{ctx}: the given decoder on your features"))
            if list(y or []) != [xshape[0], 1, xshape[2], xshape[3]]:
                raise Fail(f"{ctx}: the ResUNet (your encoder + the given decoder) outputs {y}, expected "
                           f"{[xshape[0], 1, xshape[2], xshape[3]]}")


ITEMS = [
    Item("hw4.resunet_encoder", 8, ("ResidualEncoder",), probe, judge,
         title="The residual encoder of a ResUNet", timeout=40),
]
