"""TinyYOLOv2 for VOC (000 P3): the network, darknet's weights file, decoding, drawing.

Student API:
    TinyYOLOv2(num_classes=20, num_anchors=5)            (an nn.Module)
        darknet's yolov2-tiny-voc.cfg layer by layer. Eight 3x3 convs (padding 1, stride 1,
        NO bias) with 16, 32, 64, 128, 256, 512, 1024, 1024 filters, each followed by
        BatchNorm2d and LeakyReLU(0.1); a 2x2 max-pool with stride 2 after each of the first
        five; after the sixth a 2x2 max-pool with stride 1 on the map padded by one row at the
        bottom and one column at the right, repeating the last row/column (darknet ignores the
        cells outside the map; replicate padding is the same thing), so 13x13 stays 13x13;
        last a 1x1 conv (padding 0) WITH bias to num_anchors * (5 + num_classes) channels and
        no activation. (N, 3, H, W) -> (N, A*(5+C), H/32, W/32): 416x416 -> 13x13.
        The Conv2d and BatchNorm2d modules must appear in ``modules()`` in darknet's order:
        conv1, bn1, conv2, bn2, ..., conv8, bn8, conv9 (the weights loader relies on it).
    load_darknet_weights(model, path) -> (major, minor, revision, seen)
        Reads a darknet ``.weights`` file (little endian): int32 major, minor, revision;
        ``seen`` (images seen in training) as int64 when major*10 + minor >= 2, else int32;
        then float32 values, for each Conv2d of ``model`` in ``modules()`` order: if the conv
        is directly followed by a BatchNorm2d (the next Conv2d/BatchNorm2d in that order):
        the BN's bias (beta), weight (gamma), running_mean, running_var, then the conv
        weight; otherwise the conv bias, then the conv weight. Weights are stored as
        (out, in, kh, kw) in C order, as in torch. Copies the values into the model in
        place and returns the header as ints. A file with too few or too many values for
        the model raises ValueError (nothing is silently ignored).
    decode_predictions(output, anchors, num_classes) -> (boxes, objectness, class_probs)
        ``output`` (N, A*(5+C), S_h, S_w), channel a*(5+C)+j of anchor a holds
        j = 0..4: tx, ty, tw, th, to, then C class scores; ``anchors`` A pairs (w, h) in
        grid cells. Box k = a*S_h*S_w + row*S_w + col (anchor, then row, then column) is
            cx = (col + sigmoid(tx)) / S_w,  cy = (row + sigmoid(ty)) / S_h,
            w = anchor_w * exp(tw) / S_w,    h = anchor_h * exp(th) / S_h,
        i.e. (cx, cy, w, h) as fractions of the image width and height. boxes (N, K, 4),
        objectness = sigmoid(to) (N, K), class_probs = softmax of the class scores (N, K, C),
        K = A*S_h*S_w. The input is left unchanged.
    xywh_to_xyxy(boxes), xyxy_to_xywh(boxes)
        (..., 4) tensors, (cx, cy, w, h) <-> (x1, y1, x2, y2); a new tensor of the same shape.
    draw_boxes(image, boxes, labels, scores, class_names) -> new image
        ``image`` uint8 (H, W, 3); ``boxes`` (K, 4) (x1, y1, x2, y2) in pixels (NumPy or
        torch; boxes may reach outside the image); ``labels`` (K,) class indices; ``scores``
        (K,). Returns a new uint8 (H, W, 3) array with the boxes' outlines (not filled)
        drawn, optionally with a text label; the given image is not changed.

The judges rebuild every input from the seed and compute every reference themselves:
the network's layout and parameter count from a reference built on the meta device, its
eval-mode output from the same seeded weights with a float64 functional darknet forward;
the weights files from the seed (the probe writes them in the child, the judge compares
each loaded tensor with the values it wrote); decoding in float64 NumPy; the box edges
and interiors of the drawn images from the known boxes.
"""
from __future__ import annotations

import io
import struct

import numpy as np

from ..core import Bad, Fail, Item, expect_array, rel_error, unwrap

VOC_ANCHORS = ((1.08, 1.19), (3.42, 4.41), (6.63, 11.38), (9.42, 5.11), (16.62, 10.52))
WIDTHS = (16, 32, 64, 128, 256, 512, 1024, 1024)
TOL = 1e-4


def _rng(*key) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def _describe_value(v) -> str:
    return "None" if v is None else f"a {type(v).__name__}"


def darknet_layout(num_classes: int = 20, num_anchors: int = 5, widths=WIDTHS) -> list[tuple]:
    """The Conv2d / BatchNorm2d sequence of yolov2-tiny-voc.cfg:
    ("conv", in, out, kernel, padding, bias) and ("bn", features)."""
    out, cin = [], 3
    for w in widths:
        out += [("conv", cin, w, 3, 1, False), ("bn", w)]
        cin = w
    out.append(("conv", cin, num_anchors * (5 + num_classes), 1, 0, True))
    return out


def layout_param_count(layout) -> int:
    total = 0
    for layer in layout:
        if layer[0] == "conv":
            _, cin, cout, k, _, bias = layer
            total += cout * cin * k * k + (cout if bias else 0)
        else:
            total += 2 * layer[1]
    return total


def reference_param_count(num_classes: int, num_anchors: int) -> int:
    """Parameters of a reference TinyYOLOv2 built with torch on the meta device (no memory)."""
    import torch
    import torch.nn as nn

    layers: list = []
    with torch.device("meta"):
        for kind, *args in darknet_layout(num_classes, num_anchors):
            if kind == "conv":
                cin, cout, k, pad, bias = args
                layers.append(nn.Conv2d(cin, cout, k, 1, pad, bias=bias))
            else:
                layers += [nn.BatchNorm2d(args[0]), nn.LeakyReLU(0.1)]
        net = nn.Sequential(*layers)
    return int(sum(p.numel() for p in net.parameters()))


def _seeded_values(layers: list[tuple], rng: np.random.Generator) -> list[dict]:
    """Random weights for a layer sequence, drawn in order (both sides draw the same)."""
    vals = []
    for layer in layers:
        if layer[0] == "conv":
            _, cin, cout, k, _, bias = layer
            std = np.float32(np.sqrt(2.0 / (cin * k * k)))
            w = rng.standard_normal((cout, cin, k, k), dtype=np.float32) * std
            b = rng.normal(0.0, 0.1, cout).astype(np.float32) if bias else None
            vals.append({"w": w, "b": b})
        else:
            n = layer[1]
            vals.append({"gamma": rng.uniform(0.6, 1.4, n).astype(np.float32),
                         "beta": rng.normal(0.0, 0.3, n).astype(np.float32),
                         "mean": rng.normal(0.0, 0.3, n).astype(np.float32),
                         "var": rng.uniform(0.5, 1.5, n).astype(np.float32)})
    return vals


def darknet_forward(x: np.ndarray, layers: list[tuple], vals: list[dict], eps: list[float]):
    """The darknet forward in float64 with torch.nn.functional (judge side)."""
    import torch
    import torch.nn.functional as F

    h = torch.from_numpy(x.astype(np.float64))
    t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float64))  # noqa: E731
    convs = [i for i, layer in enumerate(layers) if layer[0] == "conv"]
    with torch.no_grad():
        for n, i in enumerate(convs):
            _, cin, cout, k, pad, bias = layers[i]
            v = vals[i]
            h = F.conv2d(h, t(v["w"]), t(v["b"]) if v["b"] is not None else None, padding=pad)
            if i + 1 < len(layers) and layers[i + 1][0] == "bn":
                b = vals[i + 1]
                h = F.batch_norm(h, t(b["mean"]), t(b["var"]), t(b["gamma"]), t(b["beta"]), False, 0.0, eps[n])
                h = F.leaky_relu(h, 0.1)
                if n < 5:
                    h = F.max_pool2d(h, 2, 2)
                elif n == 5:
                    h = F.max_pool2d(F.pad(h, (0, 1, 0, 1), mode="replicate"), 2, 1)
    return h.numpy()


def _module_layers(module) -> tuple[list, list, list]:
    """(layers as tuples, the modules themselves, other parameter-holding module types)."""
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

# (constructor kwargs, inputs checked for the output shape, input of the eval-mode recompute).
# The notebook shows the default on 416x416 and (3 classes, 2 anchors) on one 320x320 image.
NET_CASES = [
    ({}, [(1, 3, 416, 416)], (2, 3, 96, 128)),
    ({"num_classes": 3, "num_anchors": 2}, [(1, 3, 320, 320), (3, 3, 64, 160)], (1, 3, 128, 64)),
]
NET_KEY = 30


def _conv_detail(m) -> dict:
    return {"stride": [int(s) for s in m.stride], "groups": int(m.groups), "dilation": [int(d) for d in m.dilation],
            "kernel": [int(k) for k in m.kernel_size], "padding": str(m.padding)}


def _probe_net_case(ns, seed: int, case: int) -> dict:
    import torch
    import torch.nn as nn

    kwargs, shape_in, fwd_in = NET_CASES[case]
    torch.manual_seed(seed + case)
    net = ns.call("TinyYOLOv2", **kwargs)
    if isinstance(net, Bad):
        return {"error": net}
    if not isinstance(net, nn.Module):
        return {"error": Bad("type", f"TinyYOLOv2(...) built {_describe_value(net)}, not an nn.Module")}
    layers, mods, other = _module_layers(net)
    rec: dict = {"params": int(sum(p.numel() for p in net.parameters())), "layers": [list(x) for x in layers],
                 "other": other, "details": [_conv_detail(m) for m in mods if isinstance(m, nn.Conv2d)],
                 "eps": [float(m.eps) for m in mods if isinstance(m, nn.BatchNorm2d)]}
    if case == 0:  # every parameter used: train-mode forward and backward on a small input
        net.train()
        y = ns.guard(net, torch.from_numpy(_rng(seed, NET_KEY, case, 5).normal(0, 1, (2, 3, 64, 64)).astype(np.float32)))
        if isinstance(y, Bad) or not torch.is_tensor(y):
            rec["backward"] = y if isinstance(y, Bad) else Bad("type", f"forward returned {_describe_value(y)}")
        elif not y.requires_grad:
            rec["backward"] = Bad("missing", "the output does not require grad")
        else:
            back = ns.guard(lambda: (y * torch.randn(y.shape)).sum().backward())
            rec["backward"] = back if isinstance(back, Bad) else "ok"
            rec["unused"] = [n for n, p in net.named_parameters() if p.requires_grad and p.grad is None][:4]
    net.eval()
    rec["shapes"] = []
    for j, shape in enumerate(shape_in):
        x = torch.from_numpy(_rng(seed, NET_KEY, case, 10 + j).normal(0, 1, shape).astype(np.float32))
        with torch.no_grad():
            y = ns.guard(net, x)
        if isinstance(y, Bad) or not torch.is_tensor(y):
            rec["shapes"].append(y if isinstance(y, Bad) else Bad("type", f"forward returned {_describe_value(y)}, not a tensor"))
        else:
            ok = bool(torch.isfinite(y).all()) if y.is_floating_point() else False
            rec["shapes"].append([int(s) for s in y.shape] + ([] if ok else ["not finite"]))
        del x, y
    # eval-mode output with seeded weights, set in modules() order
    if all(isinstance(layer[1], int) for layer in layers):
        vals = _seeded_values(layers, _rng(seed, NET_KEY, case, 1))
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
            xf = torch.from_numpy(_rng(seed, NET_KEY, case, 2).normal(0, 1, fwd_in).astype(np.float32))
            y = ns.guard(net, xf)
        rec["eval_out"] = y if (isinstance(y, Bad) or torch.is_tensor(y)) else Bad("type", f"forward returned {_describe_value(y)}")
    return rec


def probe_tiny_yolo(ns, seed):
    out = {}
    for case in range(len(NET_CASES)):
        try:
            out[case] = _probe_net_case(ns, seed, case)
        except Exception as e:  # an odd module the probe could not handle
            out[case] = {"error": Bad("error", f"{type(e).__name__} while probing the network: {str(e)[:150]}")}
    return out


def _ctx(kwargs: dict) -> str:
    return "TinyYOLOv2(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"


def _record_error(rec, ctx: str) -> dict:
    if not isinstance(rec, dict):
        raise Fail(f"{ctx}: no result came back")
    if "error" in rec:
        err = rec["error"]
        raise Fail(err.describe(ctx) if isinstance(err, Bad) else f"{ctx}: building it failed")
    return rec


def _layer_text(layer) -> str:
    if layer[0] == "conv":
        _, cin, cout, k, pad, bias = layer
        return f"Conv2d({cin}, {cout}, {k}, padding={pad}{', bias' if bias else ', no bias'})"
    return f"BatchNorm2d({layer[1]})"


def check_layout(rec: dict, want: list, ctx: str) -> None:
    got = [tuple(x) if isinstance(x, (list, tuple)) else None for x in rec.get("layers") or []]
    other = rec.get("other") or []
    if other:
        raise Fail(f"{ctx}: unexpected layers with parameters ({', '.join(map(str, other))}); darknet's tiny YOLO "
                   f"has only Conv2d and BatchNorm2d layers with parameters")
    convs = [x for x in got if x and x[0] == "conv"]
    bns = [x for x in got if x and x[0] == "bn"]
    if len(convs) != 9 or len(bns) != 8:
        raise Fail(f"{ctx}: {len(convs)} Conv2d and {len(bns)} BatchNorm2d layers, expected 9 convs "
                   f"(8 3x3 convs with 16, 32, ..., 1024, 1024 filters, then a 1x1 conv) and 8 BatchNorm2d")
    for i, (g, w) in enumerate(zip(convs, [x for x in want if x[0] == "conv"])):
        if g[1:5] != w[1:5]:
            raise Fail(f"{ctx}: conv {i + 1} is {_layer_text(g)}, expected {_layer_text(w)}")
        if g[5] != w[5]:
            why = ("it is followed by BatchNorm, whose beta is the shift (darknet stores no conv bias there)"
                   if not w[5] else "the last conv has no BatchNorm after it, so it needs its own bias")
            raise Fail(f"{ctx}: conv {i + 1} has {'a' if g[5] else 'no'} bias, expected {'a' if w[5] else 'no'} bias: {why}")
    for i, d in enumerate(rec.get("details") or []):
        if isinstance(d, dict) and (d.get("stride") != [1, 1] or d.get("groups") != 1 or d.get("dilation") != [1, 1]):
            raise Fail(f"{ctx}: conv {i + 1} has stride {d.get('stride')}, groups {d.get('groups')}, dilation "
                       f"{d.get('dilation')}; every conv has stride 1 (the max-pools downsample), groups 1, dilation 1")
    for i, b in enumerate(bns):
        if b[1] != WIDTHS[i]:
            raise Fail(f"{ctx}: BatchNorm {i + 1} has {b[1]} features, expected {WIDTHS[i]}")
    if got != want:
        raise Fail(f"{ctx}: the Conv2d/BatchNorm2d layers are not in darknet's order in modules(): expected conv1, "
                   f"bn1, conv2, bn2, ..., conv8, bn8, conv9 (define each conv's BatchNorm right after it), got "
                   f"{', '.join(('conv' if x and x[0] == 'conv' else 'bn') for x in got)}")


def _shape_hint(got: tuple, want: tuple) -> str:
    if len(got) == 4 and len(want) == 4:
        if got[1] != want[1]:
            if got[1] == 125:
                return "; 125 channels: the output must follow num_anchors * (5 + num_classes), not be hard-coded"
            return f"; expected num_anchors * (5 + num_classes) = {want[1]} channels"
        if got[2:] != want[2:]:
            if got[2] == (want[2] - 1) // 2 + 1 or got[2] == want[2] // 2:
                return "; the map is halved once too often: the sixth max-pool has stride 1 (with right/bottom padding)"
            if got[2] == want[2] - 1:
                return "; one row too few: pad the map by one row/column before the stride-1 max-pool of size 2"
            return "; five stride-2 max-pools divide the size by 32"
    return ""


def judge_tiny_yolo(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(NET_CASES)
    for case, (kwargs, shape_in, fwd_in) in enumerate(NET_CASES):
        rec = out.get(case)
        classes, anchors = kwargs.get("num_classes", 20), kwargs.get("num_anchors", 5)
        ctx = _ctx(kwargs)
        layout = darknet_layout(classes, anchors)
        with ck.part("output shape", 2 / n):
            rec = _record_error(rec, ctx)
            shapes = rec.get("shapes") if isinstance(rec.get("shapes"), list) else []
            for j, shape in enumerate(shape_in):
                got = shapes[j] if j < len(shapes) else Bad("missing", "no result")
                if isinstance(got, Bad):
                    raise Fail(got.describe(f"{ctx}: forward on {shape}"))
                want = (shape[0], anchors * (5 + classes), shape[2] // 32, shape[3] // 32)
                if "not finite" in got:
                    raise Fail(f"{ctx}: the output on {shape} contains NaN or inf")
                if tuple(got) != want:
                    raise Fail(f"{ctx}: output shape {tuple(got)} on input {shape}, expected {want}"
                               f"{_shape_hint(tuple(got), want)}")
        with ck.part("parameters", 1.5 / n):
            rec = _record_error(rec, ctx)
            got = rec.get("params")
            want = reference_param_count(classes, anchors)
            if not isinstance(got, int) or isinstance(got, bool):
                raise Fail(f"{ctx}: could not count its parameters")
            if got != want:
                diff = got - want
                hint = ""
                if diff == sum(WIDTHS):
                    hint = "; that is one bias per BatchNorm'd conv: use bias=False before BatchNorm"
                elif diff == -anchors * (5 + classes):
                    hint = "; the last 1x1 conv needs its bias"
                raise Fail(f"{ctx}: {got:,} parameters, expected {want:,} ({diff:+,}){hint}")
        with ck.part("layers in darknet order", 2 / n):
            rec = _record_error(rec, ctx)
            check_layout(rec, layout, ctx)
        with ck.part("forward", 2.5 / n):
            rec = _record_error(rec, ctx)
            if case == 0:
                back = rec.get("backward")
                if isinstance(back, Bad):
                    raise Fail(back.describe(f"{ctx}: forward and backward in train mode"))
                unused = rec.get("unused") or []
                if unused:
                    raise Fail(f"{ctx}: parameter(s) {', '.join(map(str, unused))} got no gradient: a layer is defined "
                               f"but not used in forward")
            got = rec.get("eval_out")
            if isinstance(got, Bad):
                raise Fail(got.describe(f"{ctx}: forward in eval mode"))
            layers = [tuple(x) for x in rec.get("layers") or []]
            if layers != layout:
                raise Fail(f"{ctx}: the eval-mode output cannot be recomputed until the layers match darknet's layout")
            got = np.asarray(unwrap(got, "output"), dtype=np.float64)
            vals = _seeded_values(layout, _rng(seed, NET_KEY, case, 1))
            eps = [float(e) for e in rec.get("eps") or []] or [1e-5] * 8
            x = _rng(seed, NET_KEY, case, 2).normal(0, 1, fwd_in).astype(np.float32)
            want = darknet_forward(x, layout, vals, eps)
            if got.shape != want.shape:
                raise Fail(f"{ctx}: eval-mode output shape {got.shape} on {fwd_in}, expected {want.shape}")
            err = rel_error(got, want)
            if not np.isfinite(got).all() or err > TOL:
                raise Fail(f"{ctx}: the eval-mode output differs from darknet's forward with the same weights (max "
                           f"relative error {err:.1e}); check conv -> BatchNorm -> LeakyReLU(0.1) in every block, the "
                           f"max-pools (the sixth: stride 1 on the map padded at the right and bottom by repeating "
                           f"the last row/column), and no activation after the last 1x1 conv")


# --------------------------------------------------------------------------
# hw3.darknet_weights


def _small_layouts() -> list[list[tuple]]:
    """The grader's own small darknet-style networks (layer sequences)."""
    return [
        darknet_layout(3, 2, widths=(2, 4, 8, 8, 16, 16, 32, 32)),      # tiny YOLO at 1/32 of the width
        [("conv", 3, 5, 3, 1, False), ("bn", 5), ("conv", 5, 4, 1, 0, True), ("conv", 4, 6, 3, 1, False),
         ("bn", 6), ("conv", 6, 3, 1, 0, True)],                         # a plain conv between BN convs
        [("conv", 2, 3, 3, 1, True), ("conv", 3, 4, 3, 1, False), ("bn", 4), ("conv", 4, 2, 1, 0, True)],
    ]


# (layout, header (major, minor, revision, seen), nest layers in blocks, pass the path as str)
WEIGHT_CASES = [
    (0, (0, 1, 0, 32_013_312), True, True),    # the VOC file's header: seen is int32
    (1, (0, 2, 5, 2**33 + 17), False, False),  # seen is int64 (and would not fit in 32 bits)
    (2, (1, 0, 3, 640_000), True, True),       # major*10 + minor = 10 >= 2: int64
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


def weights_file(layout: list[tuple], header: tuple, rng: np.random.Generator) -> tuple[bytes, list[dict]]:
    """A darknet weights file for ``layout`` and the values it holds, per layer."""
    major, minor, revision, seen = header
    buf = io.BytesIO()
    buf.write(struct.pack("<3i", major, minor, revision))
    buf.write(struct.pack("<q" if major * 10 + minor >= 2 else "<i", seen))
    vals = _seeded_values(layout, rng)
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


def _state(model) -> list[dict]:
    import torch.nn as nn

    out = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            out.append({"w": m.weight.detach().clone(), "b": None if m.bias is None else m.bias.detach().clone()})
        elif isinstance(m, nn.BatchNorm2d):
            out.append({"gamma": m.weight.detach().clone(), "beta": m.bias.detach().clone(),
                        "mean": m.running_mean.detach().clone(), "var": m.running_var.detach().clone()})
    return out


def _probe_weights_case(ns, seed: int, case: int) -> dict:
    import torch

    lay, header, nested, as_str = WEIGHT_CASES[case]
    layout = _small_layouts()[lay]
    data, _ = weights_file(layout, header, _rng(seed, WEIGHT_KEY, case))
    path = f"darknet_{case}.weights"
    with open(path, "wb") as f:
        f.write(data)
    model = build_darknet_model(layout, nested)
    with torch.no_grad():
        for p in list(model.parameters()) + [b for n, b in model.named_buffers() if "running" in n]:
            p.fill_(float("nan"))  # whatever the loader leaves untouched stays NaN
    from pathlib import Path

    got = ns.call("load_darknet_weights", model, path if as_str else Path(path))
    rec: dict = {"header": got if isinstance(got, Bad) else _plain_header(got), "state": _state(model)}
    if case < 2:  # a file one value short, and one with a value too many
        for key, bad in (("short", data[:-4]), ("long", data + struct.pack("<f", 1.5))):
            bad_path = f"darknet_{case}_{key}.weights"
            with open(bad_path, "wb") as f:
                f.write(bad)
            r = ns.call("load_darknet_weights", build_darknet_model(layout, nested), bad_path)
            rec[key] = r if isinstance(r, Bad) else "returned"
    return rec


def _plain_header(v):
    try:
        return [int(x) for x in v]
    except Exception:
        return Bad("type", f"{_describe_value(v)} (expected a tuple of 4 ints)")


def probe_darknet_weights(ns, seed):
    out = {}
    for case in range(len(WEIGHT_CASES)):
        try:
            out[case] = _probe_weights_case(ns, seed, case)
        except Exception as e:
            out[case] = {"header": Bad("error", f"{type(e).__name__} while probing the loader: {str(e)[:150]}")}
    return out


def _weights_hint(got: dict, want_b: dict, name: str) -> str:
    """Name the classic mix-ups of the BatchNorm terms: which term's values ``name`` holds."""
    names = {"beta": "bias (beta)", "gamma": "weight (gamma)", "mean": "running_mean", "var": "running_var"}
    g = got.get(name)
    for other in names:
        if other != name and isinstance(g, np.ndarray) and g.shape == want_b[other].shape \
                and np.array_equal(g.astype(np.float32), want_b[other]):
            return (f": it holds the values of the {names[other]}; darknet stores per BatchNorm'd conv the BN "
                    f"bias (beta), weight (gamma), running_mean, running_var, then the conv weight")
    return ""


def judge_darknet_weights(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(WEIGHT_CASES)
    for case, (lay, header, nested, as_str) in enumerate(WEIGHT_CASES):
        layout = _small_layouts()[lay]
        ctx = (f"a file with header {header[0]}.{header[1]}.{header[2]} (seen as "
               f"{'int64' if header[0] * 10 + header[1] >= 2 else 'int32'}) for a network of "
               f"{sum(1 for x in layout if x[0] == 'conv')} convs")
        rec = out.get(case) if isinstance(out.get(case), dict) else {"header": Bad("missing", "no result")}
        _, vals = weights_file(layout, header, _rng(seed, WEIGHT_KEY, case))
        with ck.part("header", 1 / n):
            got = rec.get("header")
            if isinstance(got, Bad):
                hint = ("; the file is valid: is seen read with the right size (int64 when major*10 + minor >= 2, "
                        "else int32)?" if got.message.startswith("ValueError") else "")
                raise Fail(got.describe(f"load_darknet_weights on {ctx}") + hint)
            if list(got) != list(header):
                raise Fail(f"load_darknet_weights returned {got}, expected the header (major, minor, revision, seen) "
                           f"= {header} ({ctx})")
        with ck.part("values", 5 / n):
            got = rec.get("header")
            if isinstance(got, Bad):
                raise Fail(got.describe(f"load_darknet_weights on {ctx}"))
            state = rec.get("state")
            if not isinstance(state, list) or len(state) != len(layout):
                raise Fail(f"load_darknet_weights: the model's layers could not be read back ({ctx})")
            conv_no = 0
            for i, (layer, want, have) in enumerate(zip(layout, vals, state)):
                if layer[0] == "conv":
                    conv_no += 1
                    pairs = [("weight", want["w"], have.get("w"))]
                    if layer[5]:
                        pairs.append(("bias", want["b"], have.get("b")))
                    where = f"conv {conv_no}"
                else:
                    pairs = [(k, want[k], have.get(k)) for k in ("beta", "gamma", "mean", "var")]
                    where = f"the BatchNorm after conv {conv_no}"
                for name, w, g in pairs:
                    g = np.asarray(unwrap(g, f"{where}'s {name}"))
                    label = {"beta": "bias (beta)", "gamma": "weight (gamma)", "mean": "running_mean",
                             "var": "running_var"}.get(name, name)
                    if g.shape != w.shape:
                        raise Fail(f"load_darknet_weights: {where}'s {label} changed shape to {g.shape}, expected "
                                   f"{w.shape} ({ctx})")
                    if np.isnan(g).all():
                        raise Fail(f"load_darknet_weights: {where}'s {label} was not loaded ({ctx})")
                    if not np.array_equal(g.astype(np.float32), w):
                        hint = _weights_hint(have, want, name) if layer[0] == "bn" else ""
                        if not hint and layer[0] == "conv" and i + 1 < len(layout) and layout[i + 1][0] == "bn":
                            hint = "; is the reading order per conv right (BN terms first, then the weight)?"
                        raise Fail(f"load_darknet_weights: {where}'s {label} has wrong values{hint} ({ctx})")
        if case < 2:
            with ck.part("size errors", 2 / 2):
                got = rec.get("header")
                if isinstance(got, Bad) and "NotImplementedError" in got.message:
                    raise Fail(got.describe("load_darknet_weights"))
                for key, what in (("short", "one value short"), ("long", "one value too long")):
                    r = rec.get(key)
                    if r == "returned":
                        raise Fail(f"load_darknet_weights: a file {what} for the model loaded without an error; raise "
                                   f"ValueError when the file holds too few or too many values ({ctx})")
                    if not isinstance(r, Bad) or not r.message.startswith("ValueError"):
                        raise Fail(f"load_darknet_weights: on a file {what} expected a ValueError, got "
                                   f"{r.message if isinstance(r, Bad) else r} ({ctx})")


# --------------------------------------------------------------------------
# hw3.decode

# (N, anchors, num_classes, S_h, S_w)
DECODE_CASES = [
    (2, VOC_ANCHORS, 20, 13, 13),
    (1, ((1.5, 0.7), (0.4, 2.2)), 3, 4, 6),
    (3, ((2.0, 1.0), (1.0, 3.0), (0.5, 0.5)), 1, 5, 3),
    (1, ((3.0, 1.2),), 4, 2, 7),
]
DECODE_KEY = 32
CONV_SHAPES = [(7, 4), (2, 5, 4), (0, 4), (3, 1, 2, 4)]


def _decode_input(seed: int, case: int) -> np.ndarray:
    n, anchors, c, sh, sw = DECODE_CASES[case]
    return _rng(seed, DECODE_KEY, case).normal(0.0, 1.5, (n, len(anchors) * (5 + c), sh, sw)).astype(np.float32)


def _boxes_input(seed: int, i: int) -> np.ndarray:
    r = _rng(seed, DECODE_KEY, 100 + i)
    shape = CONV_SHAPES[i]
    b = r.uniform(-20, 120, shape)
    b[..., 2:] = r.uniform(1, 60, shape[:-1] + (2,))
    return b.astype(np.float32)


def probe_decode(ns, seed):
    import torch

    out: dict = {"decode": {}, "conv": {}}
    for case, (n, anchors, c, sh, sw) in enumerate(DECODE_CASES):
        x = torch.from_numpy(_decode_input(seed, case))
        before = x.clone()
        anc = [list(a) for a in anchors] if case == 2 else list(anchors)
        got = ns.call("decode_predictions", x, anc, c)
        rec: dict = {}
        if isinstance(got, Bad):
            rec["error"] = got
        elif not isinstance(got, (tuple, list)) or len(got) != 3:
            rec["error"] = Bad("type", f"{_describe_value(got)} instead of a tuple (boxes, objectness, class_probs)")
        else:
            rec["parts"] = list(got)
        rec["changed"] = not torch.equal(x, before)
        out["decode"][case] = rec
    for i in range(len(CONV_SHAPES)):
        b = torch.from_numpy(_boxes_input(seed, i))
        rec = {}
        for name in ("xywh_to_xyxy", "xyxy_to_xywh"):
            before = b.clone()
            rec[name] = ns.call(name, b)
            rec[name + "_changed"] = not torch.equal(b, before)
        out["conv"][i] = rec
    return out


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def reference_decode(x: np.ndarray, anchors, num_classes: int, *, swap_rc=False, no_sigmoid=False, swap_wh=False,
                     no_offsets=False, anchor_last=False, class_dim=None):
    """The decoding in float64; the keyword arguments give the classic mistakes (for hints)."""
    x = x.astype(np.float64)
    n, _, sh, sw = x.shape
    a = len(anchors)
    p = x.reshape(n, a, 5 + num_classes, sh, sw).transpose(0, 1, 3, 4, 2)  # (N, A, S_h, S_w, 5+C)
    rows, cols = np.meshgrid(np.arange(sh), np.arange(sw), indexing="ij")
    if swap_rc and sh == sw:
        rows, cols = cols, rows
    off = (lambda z: z) if no_sigmoid else _sig
    anc = np.asarray(anchors, dtype=np.float64)
    if swap_wh:
        anc = anc[:, ::-1]
    cx = (off(p[..., 0]) + (0 if no_offsets else cols)) / sw
    cy = (off(p[..., 1]) + (0 if no_offsets else rows)) / sh
    w = anc[:, 0][None, :, None, None] * np.exp(p[..., 2]) / sw
    h = anc[:, 1][None, :, None, None] * np.exp(p[..., 3]) / sh
    boxes = np.stack([cx, cy, w, h], axis=-1)
    obj = _sig(p[..., 4])
    s = p[..., 5:]
    if class_dim is None:
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        probs = e / e.sum(axis=-1, keepdims=True)
    else:  # softmax over another axis of (N, A, 5+C, S_h, S_w)
        raw = x.reshape(n, a, 5 + num_classes, sh, sw)[:, :, 5:]
        e = np.exp(raw - raw.max(axis=class_dim, keepdims=True))
        probs = (e / e.sum(axis=class_dim, keepdims=True)).transpose(0, 1, 3, 4, 2)
    if anchor_last:
        tr = (0, 2, 3, 1, 4)
        return (boxes.transpose(*tr).reshape(n, -1, 4), obj.transpose(0, 2, 3, 1).reshape(n, -1),
                probs.transpose(*tr).reshape(n, -1, num_classes))
    return boxes.reshape(n, -1, 4), obj.reshape(n, -1), probs.reshape(n, -1, num_classes)


def _close(a, b, tol=1e-4) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and rel_error(a, b) <= tol


def _box_hint(got, x, anchors, c) -> str:
    mistakes = [("swap_rc", "the cell offsets are swapped: cx adds the column index, cy the row index"),
                ("no_sigmoid", "sigmoid is missing on tx, ty: the centre must stay inside its cell"),
                ("swap_wh", "the anchors' width and height are swapped: each anchor is (w, h)"),
                ("no_offsets", "the cell offsets (col, row) are not added"),
                ("anchor_last", "the boxes are flattened as (row, col, anchor); the order here is (anchor, row, col), "
                                "darknet's channel layout")]
    for key, text in mistakes:
        if _close(got, reference_decode(x, anchors, c, **{key: True})[0]):
            return "; " + text
    return ""


def judge_decode(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    dec = out.get("decode") if isinstance(out.get("decode"), dict) else {}
    n = len(DECODE_CASES)
    for case, (nb, anchors, c, sh, sw) in enumerate(DECODE_CASES):
        x = _decode_input(seed, case)
        ctx = f"output {x.shape}, {len(anchors)} anchors, {c} classes, a {sh}x{sw} grid"
        rec = dec.get(case) if isinstance(dec.get(case), dict) else {"error": Bad("missing", "no result")}
        boxes, obj, probs = reference_decode(x, anchors, c)

        def parts():
            if "error" in rec:
                err = rec["error"]
                raise Fail(err.describe("decode_predictions") + f" ({ctx})" if isinstance(err, Bad) else "decode_predictions failed")
            return rec.get("parts")

        with ck.part("boxes", 3.5 / n):
            got = parts()[0]
            g = unwrap(got, "decode_predictions' boxes")
            if isinstance(g, np.ndarray) and g.shape == boxes.shape and not _close(g, boxes):
                hint = _box_hint(g, x, anchors, c)
                if not hint and _close(g / np.array([sw, sh, sw, sh]), boxes):
                    hint = "; the boxes must be fractions of the image, not grid units: divide x and w by S_w, y and h by S_h"
                raise Fail(f"decode_predictions: boxes wrong, max relative error {rel_error(g, boxes):.1e}{hint} ({ctx})")
            expect_array(g, boxes, "decode_predictions' boxes (N, A*S_h*S_w, 4)", TOL, ctx)
            if rec.get("changed"):
                raise Fail(f"decode_predictions changed its input in place ({ctx})")
        with ck.part("objectness", 1 / n):
            expect_array(parts()[1], obj, "decode_predictions' objectness (N, A*S_h*S_w) = sigmoid(to)", TOL, ctx)
        with ck.part("class probabilities", 1.5 / n):
            g = unwrap(parts()[2], "decode_predictions' class_probs")
            if isinstance(g, np.ndarray) and g.shape == probs.shape and not _close(g, probs) and c > 1:
                for dim in (1, 3, 4):
                    if _close(g, reference_decode(x, anchors, c, class_dim=dim)[2]):
                        raise Fail(f"decode_predictions: class_probs are a softmax over the wrong dimension; each box's "
                                   f"{c} class scores must sum to 1 ({ctx})")
            expect_array(g, probs, "decode_predictions' class_probs (N, A*S_h*S_w, C), a softmax over the classes", TOL, ctx)
    conv = out.get("conv") if isinstance(out.get("conv"), dict) else {}
    for i, shape in enumerate(CONV_SHAPES):
        b = _boxes_input(seed, i).astype(np.float64)
        xyxy = np.concatenate([b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2], axis=-1)
        xywh = np.concatenate([(b[..., :2] + b[..., 2:]) / 2, b[..., 2:] - b[..., :2]], axis=-1)
        rec = conv.get(i) if isinstance(conv.get(i), dict) else {}
        for name, want, text in (("xywh_to_xyxy", xyxy, "(cx, cy, w, h) -> (cx - w/2, cy - h/2, cx + w/2, cy + h/2)"),
                                 ("xyxy_to_xywh", xywh, "(x1, y1, x2, y2) -> ((x1+x2)/2, (y1+y2)/2, x2-x1, y2-y1)")):
            with ck.part("box conversions", 2 / (2 * len(CONV_SHAPES))):
                got = rec.get(name, Bad("missing", "no result"))
                expect_array(got, want, name, 1e-6, f"boxes of shape {shape}; {text}")
                if rec.get(name + "_changed"):
                    raise Fail(f"{name} changed its input in place; return a new tensor")


# --------------------------------------------------------------------------
# hw3.draw_boxes

DRAW_KEY = 33
# (image (H, W), boxes (x1, y1, x2, y2), pass torch tensors)
DRAW_CASES = [
    ((160, 240), [(20, 30, 100, 120), (140, 20, 225, 90), (130, 105, 230, 150)], False),
    ((120, 200), [(-30, 40, 80, 150), (150, -20, 260, 70), (300, 10, 380, 60)], True),   # clipped, one fully outside
    ((90, 130), [], False),
    ((100, 100), [(10.4, 12.6, 88.7, 91.2)], True),
]
CLASS_NAMES = ["aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow"]


def _draw_inputs(seed: int, case: int):
    (h, w), boxes, _ = DRAW_CASES[case]
    r = _rng(seed, DRAW_KEY, case)
    img = r.integers(50, 206, (h, w, 3)).astype(np.uint8)
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    labels = r.integers(0, len(CLASS_NAMES), len(b))
    scores = np.round(r.uniform(0.3, 1.0, len(b)), 3)
    return img, b, labels, scores


def probe_draw_boxes(ns, seed):
    import torch

    out = {}
    for case, (_, _, as_torch) in enumerate(DRAW_CASES):
        img, b, labels, scores = _draw_inputs(seed, case)
        given = img.copy()
        args = (torch.from_numpy(b).float(), torch.from_numpy(labels), torch.from_numpy(scores).float()) if as_torch \
            else (b, labels, scores)
        got = ns.call("draw_boxes", given, *args, list(CLASS_NAMES))
        rec: dict = {"changed": not np.array_equal(given, img)}
        if isinstance(got, Bad):
            rec["image"] = got
        else:
            if not isinstance(got, np.ndarray):
                try:
                    arr = np.asarray(got)
                    rec["note"] = type(got).__name__
                except Exception:
                    arr = None
            else:
                arr = got
            if arr is None or arr.dtype == object:
                rec["image"] = Bad("type", f"{_describe_value(got)}, not a NumPy image")
            else:
                rec["image"] = np.array(arr)
                rec["same_object"] = got is given or (isinstance(got, np.ndarray) and np.shares_memory(got, given))
        out[case] = rec
    return out


def _edge_coverage(changed: np.ndarray, box, h: int, w: int) -> list[tuple[str, float]]:
    """For each edge of ``box`` inside the image: the fraction of its length with a changed
    pixel within 2 pixels across the edge."""
    x1, y1, x2, y2 = box
    res = []
    xa, xb = max(int(round(x1)), 0), min(int(round(x2)), w - 1)
    ya, yb = max(int(round(y1)), 0), min(int(round(y2)), h - 1)
    for name, horizontal, pos, lo, hi, size in (("top", True, y1, xa, xb, h), ("bottom", True, y2, xa, xb, h),
                                               ("left", False, x1, ya, yb, w), ("right", False, x2, ya, yb, w)):
        p = int(round(pos))
        if p < 0 or p > size - 1 or hi - lo < 4:
            continue
        a, b = max(p - 2, 0), min(p + 3, size)
        band = changed[a:b, lo + 2:hi - 1] if horizontal else changed[lo + 2:hi - 1, a:b]
        cov = band.any(axis=0 if horizontal else 1)
        res.append((name, float(cov.mean()) if cov.size else 1.0))
    return res


def judge_draw_boxes(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    for case, ((h, w), _, as_torch) in enumerate(DRAW_CASES):
        img, b, labels, scores = _draw_inputs(seed, case)
        ctx = f"a {h}x{w} image with {len(b)} box{'es' if len(b) != 1 else ''}" + (" (torch tensors)" if as_torch else "")
        rec = out.get(case) if isinstance(out.get(case), dict) else {"image": Bad("missing", "no result")}

        def image():
            got = rec.get("image")
            if isinstance(got, Bad):
                raise Fail(got.describe("draw_boxes") + f" ({ctx})")
            if not isinstance(got, np.ndarray) or got.shape != img.shape:
                raise Fail(f"draw_boxes returned shape {getattr(got, 'shape', None)}, expected the image's {img.shape} ({ctx})")
            if got.dtype != np.uint8:
                raise Fail(f"draw_boxes returned dtype {got.dtype}, expected uint8 like the input ({ctx})")
            return got

        with ck.part("new image", 0.4 / len(DRAW_CASES)):
            image()
            if rec.get("changed"):
                raise Fail(f"draw_boxes changed the given image; draw on a copy ({ctx})")
            if rec.get("same_object"):
                raise Fail(f"draw_boxes returned the given image (or a view of it); return a new array ({ctx})")
        changed = None
        if case != 2:
            with ck.part("outlines", 1.2 / 3):
                got = image()
                changed = np.any(got != img, axis=-1)
                for k, box in enumerate(b):
                    for edge, cov in _edge_coverage(changed, box, h, w):
                        if cov < 0.8:
                            raise Fail(f"draw_boxes: the {edge} edge of box {k} {tuple(float(v) for v in box)} is not "
                                       f"drawn ({cov:.0%} of it changed; expected an outline along x1, y1, x2, y2) ({ctx})")
        with ck.part("outline only", 1.0 / len(DRAW_CASES)):
            got = image()
            changed = np.any(got != img, axis=-1)
            near = np.zeros((h, w), bool)
            for k, box in enumerate(b):
                x1, y1, x2, y2 = box
                inner = changed[max(int(y1) + 5, 0):max(int(y2) - 4, 0), max(int(x1) + 5, 0):max(int(x2) - 4, 0)]
                if inner.size > 100 and inner.mean() > 0.5:
                    raise Fail(f"draw_boxes: {inner.mean():.0%} of the inside of box {k} changed; draw the outline "
                               f"only (no filled rectangles) ({ctx})")
                near[max(int(y1) - 32, 0):max(int(y2) + 33, 0), max(int(x1) - 32, 0):max(int(x2) + 33, 0)] = True
            far = changed[~near]  # labels may stick out of a box, so only what lies over 32 pixels away
            if far.size and far.mean() > 0.1:
                raise Fail(f"draw_boxes: {far.mean():.0%} of the pixels far from every box changed; draw only the "
                           f"boxes (and their labels) ({ctx})")
        if case in (1, 2):
            with ck.part("clipping", 0.4 / 2):
                image()  # ran without an error on boxes outside the image / no boxes


ITEMS = [
    Item("hw3.tiny_yolo", 8, ("TinyYOLOv2",), probe_tiny_yolo, judge_tiny_yolo,
         title="TinyYOLOv2 (VOC) layer by layer", timeout=60, memory_mb=3072),
    Item("hw3.darknet_weights", 8, ("load_darknet_weights",), probe_darknet_weights, judge_darknet_weights,
         title="Loading darknet .weights files", timeout=30),
    Item("hw3.decode", 8, ("decode_predictions", "xywh_to_xyxy", "xyxy_to_xywh"), probe_decode, judge_decode,
         title="Decoding the YOLO output into boxes", timeout=30),
    Item("hw3.draw_boxes", 3, ("draw_boxes",), probe_draw_boxes, judge_draw_boxes,
         title="Drawing detections", timeout=30),
]
