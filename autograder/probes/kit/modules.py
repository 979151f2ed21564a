"""Looking inside the student's torch modules (child side): their layers, the parameters
that got no gradient, random weights and statistics (so that eval mode means something),
and the residual branches switched off (every kxk conv zeroed, BatchNorm an identity).
Used by the ResNet, ResNeXt and ResUNet probes."""
from __future__ import annotations

import numpy as np

from .convert import to_numpy


def layers(module):
    """The module's Conv2d, BatchNorm2d and Linear layers (in ``modules()`` order), and the
    sorted names of the other layer types that hold parameters."""
    import torch.nn as nn

    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    other = sorted({type(m).__name__ for m in module.modules()
                    if not isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))
                    and any(v is not None for v in getattr(m, "_parameters", {}).values())})
    return convs, bns, linears, other


def conv_info(c, weights: bool) -> dict:
    """A Conv2d's settings (and its weights, float64, with ``weights``)."""
    info = {"kernel": [int(k) for k in c.kernel_size], "in": int(c.in_channels), "out": int(c.out_channels),
            "stride": [int(s) for s in c.stride], "groups": int(c.groups), "bias": c.bias is not None,
            "dilation": [int(d) for d in c.dilation]}
    if weights:
        info["w"] = to_numpy(c.weight, float64=True)
        info["b"] = None if c.bias is None else to_numpy(c.bias, float64=True)
    return info


def bn_info(b) -> dict:
    """A BatchNorm2d's size, eps, affine parameters and running statistics (float64)."""
    get = lambda t: None if t is None else to_numpy(t, float64=True)  # noqa: E731
    return {"features": int(b.num_features), "eps": float(b.eps), "weight": get(b.weight), "bias": get(b.bias),
            "mean": get(b.running_mean), "var": get(b.running_var)}


def unused(module, most: int = 4) -> list[str]:
    """Up to ``most`` trainable parameters that got no gradient in the last backward pass."""
    return [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None][:most]


def randomize(module, rng: np.random.Generator) -> None:
    """Random conv weights and BatchNorm parameters and statistics (eval mode then means something)."""
    import torch

    convs, bns, _, _ = layers(module)
    with torch.no_grad():
        for c in convs:
            fan_in = max(1, c.weight[0].numel())
            c.weight.copy_(torch.from_numpy(rng.normal(0.0, 1.0 / np.sqrt(fan_in), tuple(c.weight.shape))))
            if c.bias is not None:
                c.bias.copy_(torch.from_numpy(rng.normal(0.0, 0.1, tuple(c.bias.shape))))
        for b in bns:
            n = b.num_features
            if b.weight is not None:
                b.weight.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, n)))
                b.bias.copy_(torch.from_numpy(rng.normal(0.0, 0.3, n)))
            if b.running_mean is not None:
                b.running_mean.copy_(torch.from_numpy(rng.normal(0.0, 0.3, n)))
                b.running_var.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, n)))


def branches_off(convs, bns) -> None:
    """Every kxk conv zeroed and every BatchNorm an identity in eval mode: what is left of a
    residual unit is its shortcut (the judge checks the output is that)."""
    import torch

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
