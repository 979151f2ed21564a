"""Probe half of the ResNet items (hw2.resnet_block, hw2.resnet_cifar), and the probe
helpers the ResNeXt items share.

Runs in the child, beside the student's code: builds the student's modules, lists their
Conv2d / BatchNorm2d / Linear layers by walking ``modules()``, runs them (train mode:
output shape and gradients; eval mode with random weights and BatchNorm statistics set
here; with every kxk conv zeroed and BatchNorm an identity) and returns plain data:
the layers' settings and weights, the outputs, the feature-map sizes. No reference
module, no expected value: the judge (``autograder/hw2/resnet.py``) recomputes
everything from what comes back.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.probes.runtime import Bad

from autograder.probes.kit.convert import describe_value, shape_of, to_numpy
from autograder.probes.kit.modules import bn_info, branches_off, conv_info, layers, randomize, unused
from autograder.probes.kit.seeds import normal
from autograder.probes.kit.seeds import rng as seeded

# The names HW2's ResNet judge still imports from here (until it imports the toolkit).
_layers, _randomize, _rng, _unused = layers, randomize, seeded, unused

# (in, out, stride, input shape). The notebook shows (16, 16, 1) and (16, 32, 2) on 32x32.
BLOCK_CASES = [
    (8, 8, 1, (2, 8, 10, 10)),     # identity shortcut
    (6, 12, 2, (3, 6, 9, 11)),     # projection (channels and stride), odd sizes
    (5, 7, 1, (2, 5, 8, 8)),       # projection from the channels alone
    (12, 12, 2, (2, 12, 12, 7)),   # projection from the stride alone
    (4, 4, 1, (1, 4, 5, 6)),       # identity, batch of one
]
BLOCK_KEY = 10

# (kwargs, input shapes: the first runs in train mode with a backward, the rest in eval mode)
NET_CASES = [
    ({}, [(2, 3, 32, 32), (1, 3, 24, 40)]),
    ({"num_blocks": (1, 1, 1), "num_classes": 7, "width": 8}, [(2, 3, 32, 32), (2, 3, 36, 28)]),
    ({"num_blocks": (2, 1, 3), "num_classes": 5, "width": 4}, [(3, 3, 20, 20)]),
    ({"num_blocks": (1, 2, 1), "num_classes": 3, "width": 12}, [(2, 3, 16, 24)]),
]
NET_KEY = 11

ALONE_SHAPE = (7, 6)  # the spatial size of the input a kxk conv is run on alone
MAX_LAYERS = 256      # layers reported per module (a block has a handful)


# --------------------------------------------------------------------------
# Input builders: the same on both sides (the judge imports them).


def block_input(seed: int, key: int, case: int, shape) -> np.ndarray:
    """The block's input, float32 values."""
    return normal(shape, seed, key, case, 0)


def alone_input(seed: int, key: int, case: int, index: int, channels: int) -> np.ndarray:
    """The input the ``index``-th conv of a block is run on by itself (float32)."""
    return normal((1, channels, *ALONE_SHAPE), seed, key, case, 10 + index)


def net_input(seed: int, key: int, case: int, j: int, shape) -> np.ndarray:
    return normal(shape, seed, key, case, 20 + j)


# --------------------------------------------------------------------------
# Probe helpers (child side). Everything returned is plain data.


def _output(y) -> Any:
    """A forward pass's result as plain data: the output as an array (float64), or a Bad."""
    shape = shape_of(y)
    return shape if isinstance(shape, Bad) else to_numpy(y, float64=True)


def _train_step(ns, module, x, rec: dict, key: str) -> None:
    """Train-mode forward and backward: the output's shape and the parameters that got no gradient."""
    import torch

    module.train()
    y = ns.guard(module, x.clone())
    if isinstance(y, Bad):
        rec[key] = y
        return
    if not torch.is_tensor(y):
        rec[key] = Bad("missing", f"forward returned {describe_value(y)}, not a tensor")
        return
    rec[key] = [int(s) for s in y.shape]
    rec[key + "_finite"] = bool(torch.isfinite(y).all()) if y.is_floating_point() else False
    if y.requires_grad:
        g = torch.randn(y.shape, dtype=y.dtype)
        back = ns.guard(lambda: (y * g).sum().backward())
        rec["backward"] = back if isinstance(back, Bad) else "ok"
    else:
        rec["backward"] = Bad("missing", "the output does not require grad (no autograd graph)")
    rec["unused"] = unused(module)


def probe_block(ns, name: str, args: tuple, xshape: tuple, seed: int, key: int, case: int) -> dict:
    """Build one block and look at it: structure, shapes, eval output, zeroed-branch output."""
    import torch
    import torch.nn as nn

    torch.manual_seed(seed + 7 * case)
    blk = ns.call(name, *args)
    if isinstance(blk, Bad):
        return {"error": blk}
    if not isinstance(blk, nn.Module):
        return {"error": Bad("missing", f"returned {describe_value(blk)}, not an nn.Module")}
    rec: dict[str, Any] = {}
    convs, bns, linears, other = layers(blk)
    rec["params"] = int(sum(p.numel() for p in blk.parameters()))
    rec["other"] = (other + [f"Linear({m.in_features}, {m.out_features})" for m in linears])[:MAX_LAYERS]
    x = torch.from_numpy(block_input(seed, key, case, xshape))
    _train_step(ns, blk, x, rec, "train_shape")

    # Eval mode with random weights and statistics: the judge recomputes this output.
    randomize(blk, seeded(seed, key, case, 1))
    blk.eval()
    with torch.no_grad():
        y = ns.guard(blk, x.clone())
    rec["eval_out"] = _output(y)
    rec["convs"] = [conv_info(c, True) for c in convs[:MAX_LAYERS]]
    rec["bns"] = [bn_info(b) for b in bns[:MAX_LAYERS]]

    # Grouped / kxk convs run alone on a fixed input (the ResNeXt judge splits them into paths).
    alone = []
    for i, c in enumerate(convs[:MAX_LAYERS]):
        if tuple(c.kernel_size) != (1, 1):
            z = torch.from_numpy(alone_input(seed, key, case, i, c.in_channels))
            with torch.no_grad():
                alone.append(_output(ns.guard(c, z)))
        else:
            alone.append(None)
    rec["alone"] = alone

    # Every kxk conv zeroed, BatchNorm an identity: the judge checks the output is ReLU(shortcut(x)).
    branches_off(convs, bns)
    with torch.no_grad():
        y0 = ns.guard(blk, x.clone())
    rec["zeroed_out"] = _output(y0)
    return rec


def probe_net(ns, name: str, kwargs: dict, sizes: list, seed: int, key: int, case: int) -> dict:
    """Build one network: parameters, layers, output shapes and the kxk convs' output sizes."""
    import torch
    import torch.nn as nn

    torch.manual_seed(seed + 7 * case)
    net = ns.call(name, **kwargs)
    if isinstance(net, Bad):
        return {"error": net}
    if not isinstance(net, nn.Module):
        return {"error": Bad("missing", f"returned {describe_value(net)}, not an nn.Module")}
    convs, bns, linears, other = layers(net)
    rec: dict[str, Any] = {
        "params": int(sum(p.numel() for p in net.parameters())),
        "convs": [conv_info(c, False) for c in convs[:4 * MAX_LAYERS]],
        "bns": [[int(b.num_features), b.weight is not None] for b in bns[:4 * MAX_LAYERS]],
        "linears": [[int(m.in_features), int(m.out_features), m.bias is not None] for m in linears[:MAX_LAYERS]],
        "other": other[:MAX_LAYERS],
    }
    seen: list = []
    for i, c in enumerate(convs):
        if tuple(c.kernel_size) != (1, 1):
            c.register_forward_hook(lambda m, inp, out, i=i: seen.append([i, *[int(s) for s in out.shape[-2:]]]))
    for j, shape in enumerate(sizes):
        x = torch.from_numpy(net_input(seed, key, case, j, shape))
        seen.clear()
        if j == 0:
            _train_step(ns, net, x, rec, f"shape{j}")
        else:
            net.eval()
            with torch.no_grad():
                y = ns.guard(net, x)
            rec[f"shape{j}"] = y if isinstance(y, Bad) else ([int(s) for s in y.shape] if torch.is_tensor(y) else
                                                            Bad("missing", f"forward returned {describe_value(y)}, not a tensor"))
        rec[f"maps{j}"] = [list(s) for s in seen[:4 * MAX_LAYERS]]
    return rec


def _guarded(fn, what: str):
    try:
        return fn()
    except Exception as e:  # an odd module this probe could not handle
        return {"error": Bad("missing", f"the grader could not {what} ({type(e).__name__}: {str(e)[:150]})")}


# --------------------------------------------------------------------------
# The probes.


def probe_resnet_block(ns, seed):
    out = {}
    for case, (cin, cout, stride, xshape) in enumerate(BLOCK_CASES):
        out[case] = _guarded(lambda: probe_block(ns, "BasicBlock", (cin, cout, stride), xshape, seed, BLOCK_KEY, case),
                             "run the block")
    return out


def probe_resnet_cifar(ns, seed):
    out = {}
    for case, (kwargs, sizes) in enumerate(NET_CASES):
        out[case] = _guarded(lambda: probe_net(ns, "ResNetCIFAR", kwargs, sizes, seed, NET_KEY, case), "run the network")
    return out
