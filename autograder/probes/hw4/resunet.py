"""Probe half of hw4.resunet_encoder (judge: ``autograder/hw4/resunet.py``), and the
given ResUNet decoder that hw4.caries_segmentation trains the student's encoder with.

The probe builds the student's ``ResidualEncoder`` for several channel counts, widths and
odd image sizes and returns plain data: the feature shapes (train mode, with a backward
pass), the features in eval mode with random weights and BatchNorm statistics, the
features with every kxk conv zeroed and BatchNorm an identity, the 1x1 convs' weights,
and the output shape of the grader's ResUNet built on the encoder.

The module helpers (``layers``, ``randomize``, ``unused``, ``branches_off``) come from the
probes' toolkit (:mod:`autograder.probes.kit.modules`), shared with HW2's ResNet probes.
"""
from __future__ import annotations

import functools
from typing import Any

import numpy as np

from autograder.probes.kit.convert import to_numpy
from autograder.probes.kit.modules import branches_off, layers, randomize, unused
from autograder.probes.kit.seeds import normal
from autograder.probes.kit.seeds import rng as seeded
from autograder.probes.kit.train import case_guard
from autograder.probes.runtime import Bad

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
    return normal(shape, seed, KEY, case, 0)


# --------------------------------------------------------------------------
# The probe


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
    rec["unused"] = unused(enc)
    # the given decoder on top: the full ResUNet's output shape
    net = build_resunet(enc, widths)
    y = ns.guard(net, x.clone())
    rec["resunet"] = y if isinstance(y, Bad) else (list(y.shape) if torch.is_tensor(y) else Bad("type", "not a tensor"))

    convs, bns, _, _ = layers(enc)
    rec["kxk"] = sum(1 for c in convs if tuple(c.kernel_size) != (1, 1))
    randomize(enc, seeded(seed, KEY, case, 1))
    enc.eval()
    with torch.no_grad():
        f = _features(ns, enc, x)
    rec["rand"] = f if isinstance(f, Bad) else [to_numpy(t, float64=True) for t in f]
    rec["proj"] = [{"in": int(c.in_channels), "out": int(c.out_channels), "stride": [int(s) for s in c.stride],
                    "w": to_numpy(c.weight, float64=True),
                    "b": None if c.bias is None else to_numpy(c.bias, float64=True)}
                   for c in convs if tuple(c.kernel_size) == (1, 1) and c.groups == 1]
    branches_off(convs, bns)
    with torch.no_grad():
        f = _features(ns, enc, x)
    rec["zero"] = f if isinstance(f, Bad) else [to_numpy(t, float64=True) for t in f]
    return rec


def probe(ns, seed):
    out = {}
    for case, (cin, widths, xshape) in enumerate(CASES):
        out[case] = case_guard(probe_case, ns, cin, widths, xshape, seed, case)
    return out
