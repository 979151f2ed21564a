"""Probe-side copies of the HW2 ResNet probe helpers that HW4's residual encoder probe
uses (``_rng``, ``_layers``, ``_randomize``, ``_unused``).

They are copies of the helpers of the same names in ``autograder/hw2/resnet.py`` (a judge
module, which a probe must not import). A later issue moves both into one shared probe
toolkit; until then, keep the two in step.
"""
from __future__ import annotations

import numpy as np


def _rng(seed: int, key: int, case: int, what: int) -> np.random.Generator:
    return np.random.default_rng([seed, key, case, what])


def _layers(module):
    """The module's Conv2d, BatchNorm2d and Linear layers, and the names of other layer
    types that hold parameters."""
    import torch.nn as nn

    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    other = sorted({type(m).__name__ for m in module.modules()
                    if not isinstance(m, (nn.Conv2d, nn.BatchNorm2d, nn.Linear))
                    and any(v is not None for v in getattr(m, "_parameters", {}).values())})
    return convs, bns, linears, other


def _unused(module) -> list[str]:
    """Up to four trainable parameters that got no gradient in the last backward pass."""
    return [n for n, p in module.named_parameters() if p.requires_grad and p.grad is None][:4]


def _randomize(module, rng: np.random.Generator) -> None:
    """Random conv weights and BatchNorm parameters and statistics (eval mode then means something)."""
    import torch

    convs, bns, _, _ = _layers(module)
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
