"""Probe half of hw5.augmentation, hw5.transfer_vgg and hw5.light_vgg.

Runs in the child, beside the student's code. Here: the faces and the small data set
the augmentation is tried on, the grader's own transform given to ``augment_dataset``,
the calls that build the student's models and what is recorded about them (layers,
parameters, gradients, output shapes, the output with the grader's weights). No
expected architecture, parameter count or reference output lives here: the judge in
``autograder/hw5/transfer.py`` holds them and compares.

The transform draws and the records of returned values come from the probes' toolkit
(:mod:`autograder.probes.kit`), shared with HW2's digit augmentation.
"""
from __future__ import annotations

import gc

import numpy as np

from autograder.probes.runtime import Bad

from autograder.probes.kit.convert import safe_record, tensor_record
from autograder.probes.kit.seeds import rng as seeded
from autograder.probes.kit.transforms import transform_draws

# --------------------------------------------------------------------------
# hw5.augmentation

AUG_DRAWS = 6
AUG_N_DRAWN = 4        # drawn faces at 64 x 64
AUG_N_REAL = 2         # lfw faces at 48 x 48
AUG_COPIES = 2


def aug_images(seed: int) -> list[np.ndarray]:
    """The faces the transforms are tried on: 4 drawn faces of 64x64, then 2 real lfw faces of 48x48."""
    from data_scripts.faces import draw_face, lfw_faces

    rng = seeded(seed, 51)
    drawn = [draw_face(int(rng.integers(0, 8)), rng, 64) for _ in range(AUG_N_DRAWN)]
    real = lfw_faces(48)
    pick = rng.choice(len(real), AUG_N_REAL, replace=False)
    return drawn + [real[i] for i in pick]


def expand_inputs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Small faces (7 of 40 x 40) and their labels, given to augment_dataset."""
    from data_scripts.faces import draw_face

    rng = seeded(seed, 52)
    labels = rng.integers(0, 8, 7).astype(np.int64)
    images = np.stack([draw_face(int(c), rng, 40) for c in labels])
    return images, labels


def grader_transform(img):
    """The transform the probe passes to augment_dataset: the colour-inverted image."""
    import torch

    return torch.from_numpy((255 - np.asarray(img)).transpose(2, 0, 1).astype(np.float32) / 255.0)


def probe_augmentation(ns, seed):
    out = transform_draws(ns, "make_face_transforms", aug_images(seed), AUG_DRAWS, tensor_record)
    x, y = expand_inputs(seed)
    r = ns.call("augment_dataset", x.copy(), y.copy(), grader_transform, AUG_COPIES)
    if isinstance(r, Bad):
        out["expand"] = r
    elif isinstance(r, (tuple, list)) and len(r) == 2:
        out["expand"] = [safe_record(tensor_record, r[0]), safe_record(tensor_record, r[1])]
    else:
        out["expand"] = Bad("missing", f"returned a {type(r).__name__}; return the pair (x, y)")
    return out


# --------------------------------------------------------------------------
# hw5.transfer_vgg

TRANSFER_KWARGS = [{}, {"num_classes": 5, "pretrained": False}]
TRANSFER_INPUTS = [(2, 3, 32, 32), (1, 3, 48, 40)]


def describe_layer(m) -> list:
    """A layer as plain data: ["conv", in, out, kernel, stride, padding], ["linear", in, out, bias], ..."""
    import torch.nn as nn

    if isinstance(m, nn.Conv2d):
        if m.padding == "same":
            pad = [(int(k) - 1) * int(d) // 2 for k, d in zip(m.kernel_size, m.dilation)]
        elif m.padding == "valid":
            pad = [0, 0]
        else:
            pad = [int(p) for p in m.padding]
        return ["conv", int(m.in_channels), int(m.out_channels), [int(k) for k in m.kernel_size],
                [int(s) for s in m.stride], pad]
    if isinstance(m, nn.MaxPool2d):
        k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
        s = m.stride if isinstance(m.stride, int) else m.stride[0]
        return ["maxpool", int(k), int(s)]
    if isinstance(m, nn.Linear):
        return ["linear", int(m.in_features), int(m.out_features), m.bias is not None]
    if isinstance(m, nn.ReLU):
        return ["relu"]
    if isinstance(m, nn.Dropout):
        return ["dropout"]
    return [type(m).__name__]


def leaf_layers(module) -> list:
    return [describe_layer(m) for m in module.modules() if not list(m.children())]


def probe_transfer(ns, seed):
    import torch
    import torch.nn as nn

    out = {}
    for case, kwargs in enumerate(TRANSFER_KWARGS):
        rec: dict = {}
        out[case] = rec
        torch.manual_seed(seed + case)
        m = ns.call("build_transfer_model", **kwargs)
        if isinstance(m, Bad):
            rec["error"] = m
            continue
        if not isinstance(m, nn.Module):
            rec["error"] = Bad("missing", f"returned a {type(m).__name__}, not an nn.Module")
            continue
        m = m.cpu()
        rec["type"] = type(m).__name__
        rec["params"] = [[n, list(p.shape), bool(p.requires_grad)] for n, p in m.named_parameters()]
        feats = getattr(m, "features", None)
        rec["features"] = leaf_layers(feats) if isinstance(feats, nn.Module) else None
        cls = getattr(m, "classifier", None)
        rec["classifier"] = leaf_layers(cls) if isinstance(cls, nn.Module) else None
        head = None
        if isinstance(cls, nn.Sequential) and len(cls) > 0 and isinstance(cls[-1], nn.Linear):
            head = cls[-1]
        names = {id(p): n for n, p in m.named_parameters()}
        rec["head"] = None if head is None else [names.get(id(p)) for p in head.parameters()]
        # shapes: a train-mode forward and backward, then eval mode on another size
        g = torch.Generator().manual_seed(seed)
        m.train()
        x = torch.rand(*TRANSFER_INPUTS[0], generator=g)

        def step(x=x):
            y = m(x)
            if not torch.is_tensor(y):
                return f"a {type(y).__name__}"
            shape = list(y.shape)
            if y.requires_grad:
                (y * torch.randn(y.shape, generator=g)).sum().backward()
            return shape

        rec["shape0"] = ns.guard(step)
        # the parameters that received a nonzero gradient from that backward pass
        rec["grads"] = [n for n, p in m.named_parameters() if p.grad is not None and bool(p.grad.abs().sum() > 0)]
        m.eval()
        with torch.no_grad():
            y = ns.guard(m, torch.rand(*TRANSFER_INPUTS[1], generator=g))
        rec["shape1"] = y if isinstance(y, Bad) else (list(y.shape) if torch.is_tensor(y) else f"a {type(y).__name__}")
        if case == 0:
            opt = ns.call("make_transfer_optimizer", m, 0.0123)
            if isinstance(opt, Bad):
                rec["opt"] = opt
            elif not isinstance(opt, torch.optim.Optimizer):
                rec["opt"] = Bad("missing", f"returned a {type(opt).__name__}, not a torch.optim.Optimizer")
            else:
                groups = []
                for gr in opt.param_groups:
                    groups.append({"params": [names.get(id(p), "<not a parameter of the model>") for p in gr["params"]],
                                   "lr": float(gr.get("lr", float("nan")))})
                rec["opt"] = groups
        del m
        gc.collect()
    return out


# --------------------------------------------------------------------------
# hw5.light_vgg

LIGHT_KWARGS = [{}, {"num_outputs": 2}]
LIGHT_KEY = 53


def layer_weights(seed: int, case: int, i: int, wshape: tuple, bshape: tuple | None):
    """The weights the grader puts into layer ``i`` (convs, then Linear layers)."""
    rng = seeded(seed, LIGHT_KEY, case, i)
    fan_in = int(np.prod(wshape[1:]))
    w = rng.normal(0.0, np.sqrt(2.0 / fan_in), wshape).astype(np.float32)
    b = None if bshape is None else rng.normal(0.0, 0.05, bshape).astype(np.float32)
    return w, b


def light_input(seed: int, case: int) -> np.ndarray:
    return seeded(seed, LIGHT_KEY, case, 99).uniform(0.0, 1.0, (2, 3, 128, 128)).astype(np.float32)


def probe_light(ns, seed):
    import torch
    import torch.nn as nn

    out = {}
    for case, kwargs in enumerate(LIGHT_KWARGS):
        rec: dict = {}
        out[case] = rec
        torch.manual_seed(seed + case)
        m = ns.call("LightVGG", **kwargs)
        if isinstance(m, Bad):
            rec["error"] = m
            continue
        if not isinstance(m, nn.Module):
            rec["error"] = Bad("missing", f"built a {type(m).__name__}, not an nn.Module")
            continue
        convs = [c for c in m.modules() if isinstance(c, nn.Conv2d)]
        lins = [c for c in m.modules() if isinstance(c, nn.Linear)]
        rec["convs"] = [describe_layer(c) + [c.bias is not None] for c in convs]
        rec["linears"] = [describe_layer(c) for c in lins]
        rec["other"] = sorted({type(c).__name__ for c in m.modules() if not isinstance(c, (nn.Conv2d, nn.Linear))
                               and any(v is not None for v in getattr(c, "_parameters", {}).values())})
        rec["params"] = int(sum(p.numel() for p in m.parameters()))
        seen: list = []
        hooks = [c.register_forward_hook(lambda mod, i, o, k=k: seen.append([k, *[int(s) for s in o.shape[-2:]]]))
                 for k, c in enumerate(convs)]
        x = torch.from_numpy(light_input(seed, case))
        m.train()
        y = ns.guard(m, x.clone())
        for h in hooks:
            h.remove()
        rec["maps"] = seen
        rec["shape"] = y if isinstance(y, Bad) else (list(y.shape) if torch.is_tensor(y) else f"a {type(y).__name__}")
        # the grader's weights, eval mode: the judge computes what this output must be
        with torch.no_grad():
            for i, layer in enumerate(convs + lins):
                w, b = layer_weights(seed, case, i, tuple(layer.weight.shape),
                                     None if layer.bias is None else tuple(layer.bias.shape))
                layer.weight.copy_(torch.from_numpy(w))
                if b is not None:
                    layer.bias.copy_(torch.from_numpy(b))
            m.eval()
            y = ns.guard(m, x.clone())
        rec["eval_out"] = y if isinstance(y, Bad) else (y.detach().cpu().numpy().astype(np.float32)
                                                       if torch.is_tensor(y) else Bad("missing", f"returned a {type(y).__name__}"))
    return out
