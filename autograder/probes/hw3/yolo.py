"""Probes of the TinyYOLOv2 items (000 P3): the network, the darknet weights loader,
decoding, drawing. Each builds its inputs from the seed, runs the student's code on them
and returns what it produced; the judges (``autograder/hw3/yolo.py``) rebuild the same
inputs and decide.
"""
from __future__ import annotations

import io
import struct

import numpy as np

from autograder.probes.runtime import Bad

from autograder.probes.kit.convert import as_array, describe_value, plain, to_numpy
from autograder.probes.kit.seeds import rng

# --------------------------------------------------------------------------
# Seeded weights for a sequence of layers ("conv", in, out, kernel, padding, bias) / ("bn", features).


def seeded_values(layers: list[tuple], r: np.random.Generator) -> list[dict]:
    """Random weights for a layer sequence, drawn in order (both sides draw the same)."""
    vals = []
    for layer in layers:
        if layer[0] == "conv":
            _, cin, cout, k, _, bias = layer
            std = np.float32(np.sqrt(2.0 / (cin * k * k)))
            w = r.standard_normal((cout, cin, k, k), dtype=np.float32) * std
            b = r.normal(0.0, 0.1, cout).astype(np.float32) if bias else None
            vals.append({"w": w, "b": b})
        else:
            n = layer[1]
            vals.append({"gamma": r.uniform(0.6, 1.4, n).astype(np.float32),
                         "beta": r.normal(0.0, 0.3, n).astype(np.float32),
                         "mean": r.normal(0.0, 0.3, n).astype(np.float32),
                         "var": r.uniform(0.5, 1.5, n).astype(np.float32)})
    return vals


def module_layers(module) -> tuple[list, list, list]:
    """(the Conv2d / BatchNorm2d layers of ``module`` as tuples in ``modules()`` order, the
    modules themselves, the type names of other modules that hold parameters)."""
    import torch.nn as nn

    layers, mods = [], []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            if isinstance(m.padding, str):  # "same" keeps the size (padding k // 2 for odd k), "valid" is 0
                pad = int(m.kernel_size[0]) // 2 if m.padding == "same" else 0
            else:
                pad = int(m.padding[0])
            layers.append(("conv", int(m.in_channels), int(m.out_channels), int(m.kernel_size[0]), pad,
                           m.bias is not None))
            mods.append(m)
        elif isinstance(m, nn.BatchNorm2d):
            layers.append(("bn", int(m.num_features)))
            mods.append(m)
    other = sorted({type(m).__name__ for m in module.modules()
                    if not isinstance(m, (nn.Conv2d, nn.BatchNorm2d))
                    and any(v is not None for v in getattr(m, "_parameters", {}).values())})
    return layers, mods, other


# --------------------------------------------------------------------------
# hw3.tiny_yolo

# (constructor kwargs, inputs of the eval-mode forward whose output shapes are read, input of
# the eval-mode forward with seeded weights). The notebook shows the default on 416x416 and
# (3 classes, 2 anchors) on one 320x320 image.
# (constructor kwargs, inputs whose output shape is checked, the eval-forward input). The
# eval-forward outputs (7x8, 6x5 cells) leave room away from the bottom/right border, which
# the sixth max-pool's padding reaches through the 3x3 convs after it (the last 3 rows/columns).
NET_CASES = [
    ({}, [(1, 3, 416, 416)], (1, 3, 224, 256)),
    ({"num_classes": 3, "num_anchors": 2}, [(1, 3, 320, 320), (3, 3, 64, 160)], (1, 3, 192, 160)),
]
NET_KEY = 30
TRAIN_INPUT = (2, 3, 64, 64)


def net_input(seed: int, case: int, which: int, shape) -> np.ndarray:
    return rng(seed, NET_KEY, case, which).normal(0, 1, shape).astype(np.float32)


def _conv_detail(m) -> dict:
    return {"stride": [int(s) for s in m.stride], "groups": int(m.groups), "dilation": [int(d) for d in m.dilation],
            "kernel": [int(k) for k in m.kernel_size], "padding": str(m.padding)}


def _forward_record(y) -> dict:
    """What a forward call gave: its shape, dtype kind and whether it is finite (not the values)."""
    import torch

    if isinstance(y, Bad):
        return {"error": y}
    if not torch.is_tensor(y):
        return {"error": Bad("type", f"{describe_value(y)}, not a tensor")}
    return {"shape": [int(s) for s in y.shape], "floating": bool(y.is_floating_point()),
            "finite": bool(torch.isfinite(y).all()) if y.is_floating_point() else False}


def _probe_net_case(ns, seed: int, case: int) -> dict:
    import torch
    import torch.nn as nn

    kwargs, shape_in, fwd_in = NET_CASES[case]
    torch.manual_seed(seed + case)
    net = ns.call("TinyYOLOv2", **kwargs)
    if isinstance(net, Bad):
        return {"error": net}
    if not isinstance(net, nn.Module):
        return {"error": Bad("type", f"{describe_value(net)}, not an nn.Module")}
    try:
        layers, mods, other = module_layers(net)
        rec: dict = {"params": int(sum(p.numel() for p in net.parameters())), "layers": [list(x) for x in layers],
                     "other": other, "details": [_conv_detail(m) for m in mods if isinstance(m, nn.Conv2d)],
                     "eps": [float(m.eps) for m in mods if isinstance(m, nn.BatchNorm2d)]}
    except Exception as e:  # an odd module whose layers cannot be read
        return {"unreadable": type(e).__name__}
    if case == 0:  # every parameter used: train-mode forward and backward on a small input
        net.train()
        y = ns.guard(net, torch.from_numpy(net_input(seed, case, 5, TRAIN_INPUT)))
        if isinstance(y, Bad) or not torch.is_tensor(y):
            rec["train"] = {"error": y if isinstance(y, Bad) else Bad("type", f"{describe_value(y)}, not a tensor")}
        elif not y.requires_grad:
            rec["train"] = {"requires_grad": False}
        else:
            back = ns.guard(lambda: (y * torch.randn(y.shape)).sum().backward())
            rec["train"] = {"requires_grad": True, "backward": back if isinstance(back, Bad) else "ran",
                            "no_grad": [n for n, p in net.named_parameters() if p.requires_grad and p.grad is None][:4]}
    net.eval()
    rec["shapes"] = []
    for j, shape in enumerate(shape_in):
        x = torch.from_numpy(net_input(seed, case, 10 + j, shape))
        with torch.no_grad():
            y = ns.guard(net, x)
        rec["shapes"].append(_forward_record(y))
        del x, y
    # eval-mode output with seeded weights, set in modules() order
    if all(isinstance(layer[1], int) for layer in layers):
        vals = seeded_values(layers, rng(seed, NET_KEY, case, 1))
        with torch.no_grad():
            for m, v in zip(mods, vals):
                if isinstance(m, nn.Conv2d):
                    if tuple(m.weight.shape) != v["w"].shape:
                        break
                    m.weight.copy_(torch.from_numpy(v["w"]))
                    if m.bias is not None:
                        m.bias.copy_(torch.from_numpy(v["b"]))
                else:
                    if m.weight is not None:
                        m.weight.copy_(torch.from_numpy(v["gamma"]))
                        m.bias.copy_(torch.from_numpy(v["beta"]))
                    if m.running_mean is not None:
                        m.running_mean.copy_(torch.from_numpy(v["mean"]))
                        m.running_var.copy_(torch.from_numpy(v["var"]))
            y = ns.guard(net, torch.from_numpy(net_input(seed, case, 2, fwd_in)))
        rec["eval_out"] = y if isinstance(y, Bad) else (
            to_numpy(y) if torch.is_tensor(y) else Bad("type", f"{describe_value(y)}, not a tensor"))
    return rec


def probe_tiny_yolo(ns, seed):
    out = {}
    for case in range(len(NET_CASES)):
        try:
            out[case] = _probe_net_case(ns, seed, case)
        except Exception as e:  # an odd module the probe could not handle
            out[case] = {"unreadable": type(e).__name__}
    return out


# --------------------------------------------------------------------------
# hw3.darknet_weights

# The grader's own small darknet-style networks, handed to the student's loader.
SMALL_LAYOUTS = [
    [("conv", 3, 2, 3, 1, False), ("bn", 2), ("conv", 2, 4, 3, 1, False), ("bn", 4),
     ("conv", 4, 8, 3, 1, False), ("bn", 8), ("conv", 8, 8, 3, 1, False), ("bn", 8),
     ("conv", 8, 16, 3, 1, False), ("bn", 16), ("conv", 16, 16, 3, 1, False), ("bn", 16),
     ("conv", 16, 32, 3, 1, False), ("bn", 32), ("conv", 32, 32, 3, 1, False), ("bn", 32),
     ("conv", 32, 16, 1, 0, True)],                                   # tiny YOLO's chain, narrower
    [("conv", 3, 5, 3, 1, False), ("bn", 5), ("conv", 5, 4, 1, 0, True), ("conv", 4, 6, 3, 1, False),
     ("bn", 6), ("conv", 6, 3, 1, 0, True)],                          # a plain conv between BN convs
    [("conv", 2, 3, 3, 1, True), ("conv", 3, 4, 3, 1, False), ("bn", 4), ("conv", 4, 2, 1, 0, True)],
]

# (layout, header (major, minor, revision, seen), nest layers in blocks, pass the path as str)
WEIGHT_CASES = [
    (0, (0, 1, 0, 32_013_312), True, True),
    (1, (0, 2, 5, 2**33 + 17), False, False),
    (2, (1, 0, 3, 640_000), True, True),
    (0, (0, 2, 0, 12_345), False, False),
]
WEIGHT_KEY = 31


def build_darknet_model(layout: list[tuple], nested: bool):
    """An nn.Module holding the layers of ``layout`` in order (in blocks when ``nested``)."""
    import torch.nn as nn

    mods, i = [], 0
    while i < len(layout):
        _, cin, cout, k, pad, bias = layout[i]
        conv = nn.Conv2d(cin, cout, k, 1, pad, bias=bias)
        if i + 1 < len(layout) and layout[i + 1][0] == "bn":
            parts = [conv, nn.BatchNorm2d(cout), nn.LeakyReLU(0.1)]
            mods += [nn.Sequential(*parts)] if nested else parts
            i += 2
        else:
            mods.append(conv)
            i += 1
    return nn.Sequential(*mods)


def weights_file(layout: list[tuple], header: tuple, r: np.random.Generator) -> tuple[bytes, list[dict]]:
    """A darknet weights file for ``layout`` (the file format is the exercise's input) and the
    values written into it, per layer."""
    major, minor, revision, seen = header
    buf = io.BytesIO()
    buf.write(struct.pack("<3i", major, minor, revision))
    buf.write(struct.pack("<q" if major * 10 + minor >= 2 else "<i", seen))
    vals = seeded_values(layout, r)
    for i, layer in enumerate(layout):
        if layer[0] != "conv":
            continue
        if i + 1 < len(layout) and layout[i + 1][0] == "bn":
            b = vals[i + 1]
            for key in ("beta", "gamma", "mean", "var"):
                buf.write(b[key].astype("<f4").tobytes())
        else:
            buf.write(vals[i]["b"].astype("<f4").tobytes())
        buf.write(vals[i]["w"].astype("<f4").tobytes())
    return buf.getvalue(), vals


def weights_data(seed: int, case: int) -> tuple[bytes, list[dict]]:
    lay, header, _, _ = WEIGHT_CASES[case]
    return weights_file(SMALL_LAYOUTS[lay], header, rng(seed, WEIGHT_KEY, case))


def _state(model) -> list[dict]:
    """Every Conv2d's and BatchNorm2d's tensors after loading, in modules() order."""
    import torch.nn as nn

    out = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            out.append({"w": to_numpy(m.weight), "b": None if m.bias is None else to_numpy(m.bias)})
        elif isinstance(m, nn.BatchNorm2d):
            out.append({"gamma": to_numpy(m.weight), "beta": to_numpy(m.bias),
                        "mean": to_numpy(m.running_mean), "var": to_numpy(m.running_var)})
    return out


def _plain_header(v):
    try:
        return [int(x) for x in v][:8]
    except Exception:
        return Bad("type", f"{describe_value(v)}, not a tuple of 4 ints")


def _probe_weights_case(ns, seed: int, case: int) -> dict:
    import torch
    from pathlib import Path

    lay, _, nested, as_str = WEIGHT_CASES[case]
    layout = SMALL_LAYOUTS[lay]
    data, _ = weights_data(seed, case)
    path = f"model_{case}.weights"
    with open(path, "wb") as f:
        f.write(data)
    model = build_darknet_model(layout, nested)
    with torch.no_grad():
        for p in list(model.parameters()) + [b for n, b in model.named_buffers() if "running" in n]:
            p.fill_(float("nan"))  # whatever the loader leaves untouched stays NaN
    got = ns.call("load_darknet_weights", model, path if as_str else Path(path))
    rec: dict = {"header": got if isinstance(got, Bad) else _plain_header(got), "state": _state(model)}
    if case < 2:  # a file one value short, and one with a value too many
        for key, bad in (("short", data[:-4]), ("long", data + struct.pack("<f", 1.5))):
            bad_path = f"model_{case}_{key}.weights"
            with open(bad_path, "wb") as f:
                f.write(bad)
            r = ns.call("load_darknet_weights", build_darknet_model(layout, nested), bad_path)
            rec[key] = r if isinstance(r, Bad) else "returned"
    return rec


def probe_darknet_weights(ns, seed):
    out = {}
    for case in range(len(WEIGHT_CASES)):
        try:
            out[case] = _probe_weights_case(ns, seed, case)
        except Exception as e:
            out[case] = {"unreadable": type(e).__name__}
    return out


# --------------------------------------------------------------------------
# hw3.decode

VOC_ANCHORS = ((1.08, 1.19), (3.42, 4.41), (6.63, 11.38), (9.42, 5.11), (16.62, 10.52))
# (N, anchors, num_classes, S_h, S_w)
DECODE_CASES = [
    (2, VOC_ANCHORS, 20, 13, 13),
    (1, ((1.5, 0.7), (0.4, 2.2)), 3, 4, 6),
    (3, ((2.0, 1.0), (1.0, 3.0), (0.5, 0.5)), 1, 5, 3),
    (1, ((3.0, 1.2),), 4, 2, 7),
]
DECODE_KEY = 32
CONV_SHAPES = [(7, 4), (2, 5, 4), (0, 4), (3, 1, 2, 4)]
CONVERSIONS = ("xywh_to_xyxy", "xyxy_to_xywh")


def decode_input(seed: int, case: int) -> np.ndarray:
    n, anchors, c, sh, sw = DECODE_CASES[case]
    return rng(seed, DECODE_KEY, case).normal(0.0, 1.5, (n, len(anchors) * (5 + c), sh, sw)).astype(np.float32)


def boxes_input(seed: int, i: int) -> np.ndarray:
    r = rng(seed, DECODE_KEY, 100 + i)
    shape = CONV_SHAPES[i]
    b = r.uniform(-20, 120, shape)
    b[..., 2:] = r.uniform(1, 60, shape[:-1] + (2,))
    return b.astype(np.float32)


def probe_decode(ns, seed):
    import torch

    out: dict = {"decode": {}, "conv": {}}
    for case, (n, anchors, c, sh, sw) in enumerate(DECODE_CASES):
        x = torch.from_numpy(decode_input(seed, case))
        anc = [list(a) for a in anchors] if case == 2 else list(anchors)
        got = ns.call("decode_predictions", x, anc, c)
        rec: dict = {}
        if isinstance(got, Bad):
            rec["error"] = got
        elif not isinstance(got, (tuple, list)) or len(got) != 3:
            rec["error"] = Bad("type", f"{describe_value(got)} instead of a tuple (boxes, objectness, class_probs)")
        else:
            rec["parts"] = [as_array(g) for g in got]
        rec["input_after"] = to_numpy(x)
        out["decode"][case] = rec
    for i in range(len(CONV_SHAPES)):
        rec = {}
        for name in CONVERSIONS:
            b = torch.from_numpy(boxes_input(seed, i))
            rec[name] = as_array(ns.call(name, b))
            rec[name + "_input_after"] = to_numpy(b)
        out["conv"][i] = rec
    return out


# --------------------------------------------------------------------------
# hw3.draw_boxes

DRAW_KEY = 33
# (image (H, W), boxes (x1, y1, x2, y2), pass torch tensors)
DRAW_CASES = [
    ((160, 240), [(20, 30, 100, 120), (140, 20, 225, 90), (130, 105, 230, 150)], False),
    ((120, 200), [(-30, 40, 80, 150), (150, -20, 260, 70), (300, 10, 380, 60)], True),
    ((90, 130), [], False),
    ((100, 100), [(10.4, 12.6, 88.7, 91.2)], True),
]
CLASS_NAMES = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow"]


def draw_inputs(seed: int, case: int):
    (h, w), boxes, _ = DRAW_CASES[case]
    r = rng(seed, DRAW_KEY, case)
    img = r.integers(50, 206, (h, w, 3)).astype(np.uint8)
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    labels = r.integers(0, len(CLASS_NAMES), len(b))
    scores = np.round(r.uniform(0.3, 1.0, len(b)), 3)
    return img, b, labels, scores


def probe_draw_boxes(ns, seed):
    import torch

    out = {}
    for case, (_, _, as_torch) in enumerate(DRAW_CASES):
        img, b, labels, scores = draw_inputs(seed, case)
        given = img.copy()
        args = (torch.from_numpy(b).float(), torch.from_numpy(labels), torch.from_numpy(scores).float()) if as_torch \
            else (b, labels, scores)
        got = ns.call("draw_boxes", given, *args, list(CLASS_NAMES))
        rec: dict = {"input_after": np.array(given, copy=True)}
        if isinstance(got, Bad):
            rec["image"] = got
        else:
            try:
                arr = got if isinstance(got, np.ndarray) else np.asarray(plain(got))
            except Exception:
                arr = None
            if arr is None or arr.dtype.kind not in "biuf":
                rec["image"] = Bad("type", f"{describe_value(got)}, not a NumPy image")
            else:
                rec["image"] = np.array(arr, copy=True)
                rec["shares_memory"] = bool(got is given or (isinstance(got, np.ndarray) and np.shares_memory(got, given)))
        out[case] = rec
    return out
