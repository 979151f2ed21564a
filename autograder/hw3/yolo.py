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

The judges (this module) rebuild every input from the seed with the builders of the probe
module (``autograder/probes/hw3/yolo.py``, which only runs the student's code and returns what
it gave) and compute every reference themselves: the network's layout and parameter count from
a reference built on the meta device, its eval-mode output from the same seeded weights with a
float64 functional darknet forward; the values each weights file holds; decoding in float64
NumPy; the box edges and interiors of the drawn images from the known boxes.
"""
from __future__ import annotations

import functools

import numpy as np

from ..core import Bad, Fail, Item, expect_array, rel_error, unwrap
from ..probes.kit.seeds import rng as _rng
from ..probes.hw3.yolo import (CLASS_NAMES, CONV_SHAPES, DECODE_CASES, DRAW_CASES, NET_CASES, NET_KEY,  # noqa: F401
                               SMALL_LAYOUTS, TRAIN_INPUT, VOC_ANCHORS, WEIGHT_CASES, boxes_input, build_darknet_model,
                               decode_input, draw_inputs, net_input, probe_darknet_weights, probe_decode,
                               probe_draw_boxes, probe_tiny_yolo, seeded_values, weights_data, weights_file)
from .common import part

WIDTHS = (16, 32, 64, 128, 256, 512, 1024, 1024)
TOL = 1e-4


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


def darknet_forward(x: np.ndarray, layers: list[tuple], vals: list[dict], eps: list[float], pool_pad: str = "replicate",
                    slope: float = 0.1):
    """The darknet forward in float64 with torch.nn.functional (judge side). ``pool_pad``: how the
    sixth max-pool's map is padded at the right and bottom ("replicate" = darknet, which skips
    the cells outside the map; "constant" = zero padding); ``slope``: the leaky ReLU's."""
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
                h = F.leaky_relu(h, slope)
                if n < 5:
                    h = F.max_pool2d(h, 2, 2)
                elif n == 5:
                    h = F.max_pool2d(F.pad(h, (0, 1, 0, 1), mode=pool_pad), 2, 1)
    return h.numpy()


# --------------------------------------------------------------------------
# hw3.tiny_yolo


def _call(kwargs: dict) -> str:
    return "`TinyYOLOv2(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")`"


def _record(rec, ctx: str) -> dict:
    """The record of one constructor case, or a Fail that says why there is none."""
    if not isinstance(rec, dict):
        raise Fail(f"{ctx}: no result came back for this network")
    if "unreadable" in rec:
        raise Fail(f"{ctx}: the grader could not read or run the network's layers ({str(rec['unreadable'])[:40]}); "
                   f"build it from nn.Conv2d, nn.BatchNorm2d, nn.LeakyReLU and max-pool modules")
    if "error" in rec:
        err = rec["error"]
        if isinstance(err, Bad) and err.kind == "type":
            raise Fail(f"{ctx} built {err.message[:120]}")
        raise Fail(err.describe(ctx) if isinstance(err, Bad) else f"{ctx}: building it failed")
    return rec


def _forward_problem(got, ctx: str, what: str) -> None:
    if not isinstance(got, dict):
        raise Fail(f"{ctx}: {what}: no result came back")
    err = got.get("error")
    if isinstance(err, Bad):
        if err.kind == "type":
            raise Fail(f"{ctx}: {what} returned {err.message[:120]}")
        raise Fail(err.describe(f"{ctx}: {what}"))


def _layer_text(layer) -> str:
    if layer[0] == "conv":
        _, cin, cout, k, pad, bias = layer
        return f"Conv2d({cin}, {cout}, {k}, padding={pad}{', bias' if bias else ', no bias'})"
    return f"BatchNorm2d({layer[1]})"


def check_layout(rec: dict, want: list, ctx: str) -> None:
    got = [tuple(x) if isinstance(x, (list, tuple)) else None for x in rec.get("layers") or []]
    other = rec.get("other") or []
    if other:
        raise Fail(f"{ctx}: unexpected layers with parameters ({', '.join(str(o)[:40] for o in other[:5])}); darknet's "
                   f"tiny YOLO has only Conv2d and BatchNorm2d layers with parameters")
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
        ctx = _call(kwargs)
        layout = darknet_layout(classes, anchors)
        with part(ck, "TinyYOLOv2 output shape", 2 / n, "TinyYOLOv2", ctx):
            rec = _record(rec, ctx)
            shapes = rec.get("shapes") if isinstance(rec.get("shapes"), list) else []
            for j, shape in enumerate(shape_in):
                got = shapes[j] if j < len(shapes) else None
                what = f"forward on an input of shape {shape}"
                _forward_problem(got, ctx, what)
                want = (shape[0], anchors * (5 + classes), shape[2] // 32, shape[3] // 32)
                gshape = tuple(int(s) for s in got.get("shape"))
                if gshape == want and not (got.get("floating") is True and got.get("finite") is True):
                    raise Fail(f"{ctx}: {what}: the output is not a finite floating-point tensor (NaN, inf or an "
                               f"integer dtype)")
                if gshape != want:
                    raise Fail(f"{ctx}: output shape {gshape} on input {shape}, expected {want}"
                               f"{_shape_hint(gshape, want)}")
        with part(ck, "TinyYOLOv2 parameters", 1.5 / n, "TinyYOLOv2", ctx):
            rec = _record(rec, ctx)
            got = rec.get("params")
            want = reference_param_count(classes, anchors)
            if not isinstance(got, int) or isinstance(got, bool):
                raise Fail(f"{ctx}: its parameters could not be counted")
            if got != want:
                diff = got - want
                hint = ""
                if diff == sum(WIDTHS):
                    hint = "; that is one bias per BatchNorm'd conv: use bias=False before BatchNorm"
                elif diff == -anchors * (5 + classes):
                    hint = "; the last 1x1 conv needs its bias"
                raise Fail(f"{ctx}: {got:,} parameters, expected {want:,} ({diff:+,}){hint}")
        with part(ck, "TinyYOLOv2 layers in darknet order", 2 / n, "TinyYOLOv2", ctx):
            rec = _record(rec, ctx)
            check_layout(rec, layout, ctx)
        with part(ck, "TinyYOLOv2 forward", (2.5 - PAD_WEIGHT) / n, "TinyYOLOv2", ctx):
            rec = _record(rec, ctx)
            if case == 0:
                train = rec.get("train")
                what = f"forward in train mode on an input of shape {TRAIN_INPUT}"
                _forward_problem(train, ctx, what)
                if train.get("requires_grad") is not True:
                    raise Fail(f"{ctx}: {what}: the output does not require grad (is the graph cut by torch.no_grad, "
                               f".detach() or .data?)")
                back = train.get("backward")
                if isinstance(back, Bad):
                    raise Fail(back.describe(f"{ctx}: backward from the train-mode output"))
                if back != "ran":
                    raise Fail(f"{ctx}: backward from the train-mode output did not run")
                unused = train.get("no_grad") or []
                if unused:
                    raise Fail(f"{ctx}: parameter(s) {', '.join(str(u)[:60] for u in unused[:4])} got no gradient: a "
                               f"layer is defined but not used in forward")
            got = rec.get("eval_out")
            what = f"forward in eval mode on an input of shape {fwd_in}"
            if isinstance(got, Bad):
                if got.kind == "type":
                    raise Fail(f"{ctx}: {what} returned {got.message[:120]}")
                raise Fail(got.describe(f"{ctx}: {what}"))
            layers = [tuple(x) for x in rec.get("layers") or []]
            if layers != layout:
                raise Fail(f"{ctx}: the eval-mode output cannot be checked until the layers match darknet's layout")
            if not isinstance(got, np.ndarray) or got.dtype.kind not in "biuf":
                raise Fail(f"{ctx}: {what} returned no tensor")
            got = got.astype(np.float64)
            want = _eval_reference(seed, case, rec, layout, fwd_in)
            if got.shape != want.shape:
                raise Fail(f"{ctx}: eval-mode output shape {got.shape} on input {fwd_in}, expected {want.shape}")
            # Compare away from the bottom/right border only: there the sixth max-pool's padding
            # (a convention of its own, judged below) cannot reach.
            inner = (slice(None), slice(None), slice(0, want.shape[2] - BORDER), slice(0, want.shape[3] - BORDER))
            err = rel_error(got[inner], want[inner]) if np.isfinite(got).all() else float("inf")
            if err > TOL:
                hint = ""
                slope = darknet_forward(net_input(seed, case, 2, fwd_in), layout,
                                        seeded_values(layout, _rng(seed, NET_KEY, case, 1)), _eps(rec), slope=0.01)
                if rel_error(got[inner], slope[inner]) <= TOL:
                    hint = ("; that is LeakyReLU's PyTorch default slope 0.01: darknet's leaky activation, which the "
                            "weights were trained with, has slope 0.1")
                raise Fail(f"{ctx}: the eval-mode output on input {fwd_in} differs from darknet's forward with the same "
                           f"weights (max relative error {err:.1e}){hint or _FORWARD_HINT}")
        with part(ck, "TinyYOLOv2 sixth max-pool's padding", PAD_WEIGHT / n, "TinyYOLOv2", ctx):
            rec = _record(rec, ctx)
            got = rec.get("eval_out")
            if isinstance(got, Bad) or not isinstance(got, np.ndarray) or got.dtype.kind not in "biuf":
                raise Fail(f"{ctx}: the eval-mode output could not be checked (see the forward part)")
            if [tuple(x) for x in rec.get("layers") or []] != layout:
                raise Fail(f"{ctx}: the eval-mode output cannot be checked until the layers match darknet's layout")
            got = got.astype(np.float64)
            want = _eval_reference(seed, case, rec, layout, fwd_in)
            if got.shape != want.shape or not np.isfinite(got).all():
                raise Fail(f"{ctx}: the eval-mode output could not be checked (see the forward part)")
            if rel_error(got, want) > TOL:
                zero = _eval_reference(seed, case, rec, layout, fwd_in, pad="constant")
                if rel_error(got, zero) <= TOL:
                    raise Fail(f"{ctx}: the sixth max-pool (2x2, stride 1) must see the map padded at the right and "
                               f"bottom the way darknet does it: darknet ignores the cells outside the map (the same as "
                               f"repeating the last row/column, or padding with -inf); yours pads with zeros "
                               f"(nn.ZeroPad2d, as some PyTorch ports do), which differs where the activations are "
                               f"negative (the last rows/columns of the output)")
                raise Fail(f"{ctx}: the last rows/columns of the eval-mode output on input {fwd_in} differ from "
                           f"darknet's (max relative error {rel_error(got, want):.1e}): the sixth max-pool (stride 1) "
                           f"must run on the map padded at the right and bottom by repeating the last row/column")


BORDER = 3  # output rows/columns the sixth max-pool's padding reaches (the pooled edge + the two 3x3 convs)
PAD_WEIGHT = 0.5
_FORWARD_HINT = ("; check conv -> BatchNorm -> LeakyReLU(0.1) in every block, the max-pools (the sixth: stride 1 on "
                 "the map padded at the right and bottom), and no activation after the last 1x1 conv")


def _eps(rec) -> list[float]:
    try:
        return [float(e) for e in rec.get("eps") or []] or [1e-5] * 8
    except (TypeError, ValueError):
        return [1e-5] * 8


def _eval_reference(seed, case, rec, layout, fwd_in, pad="replicate"):
    return _eval_reference_cached(seed, case, tuple(layout), tuple(fwd_in), tuple(_eps(rec)), pad)


@functools.lru_cache(maxsize=8)
def _eval_reference_cached(seed, case, layout, fwd_in, eps, pad):
    vals = seeded_values(list(layout), _rng(seed, NET_KEY, case, 1))
    return darknet_forward(net_input(seed, case, 2, fwd_in), list(layout), vals, list(eps), pool_pad=pad)


# --------------------------------------------------------------------------
# hw3.darknet_weights

BN_LABELS = {"beta": "bias (beta)", "gamma": "weight (gamma)", "mean": "running_mean", "var": "running_var"}


def _weights_hint(got: dict, want_b: dict, name: str) -> str:
    """Name the classic mix-ups of the BatchNorm terms: which term's values ``name`` holds."""
    g = got.get(name)
    for other in BN_LABELS:
        if other != name and isinstance(g, np.ndarray) and g.shape == want_b[other].shape \
                and np.array_equal(g.astype(np.float32), want_b[other]):
            return (f": it holds the values of the {BN_LABELS[other]}; darknet stores per BatchNorm'd conv the BN "
                    f"bias (beta), weight (gamma), running_mean, running_var, then the conv weight")
    return ""


def _loader_error(got: Bad, ctx: str) -> str:
    if got.kind == "type":
        return f"`load_darknet_weights` ({ctx}) returned {got.message[:120]}"
    return got.describe(f"`load_darknet_weights` ({ctx})")


def judge_darknet_weights(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(WEIGHT_CASES)
    fn = "load_darknet_weights"
    for case, (lay, header, nested, as_str) in enumerate(WEIGHT_CASES):
        layout = SMALL_LAYOUTS[lay]
        ctx = (f"a file with header {header[0]}.{header[1]}.{header[2]} (seen as "
               f"{'int64' if header[0] * 10 + header[1] >= 2 else 'int32'}) for a network of "
               f"{sum(1 for x in layout if x[0] == 'conv')} convs{', in nested blocks' if nested else ''}, "
               f"path given as {'a str' if as_str else 'a Path'}")
        rec = out.get(case) if isinstance(out.get(case), dict) else {"header": Bad("missing", "no result came back")}
        if "unreadable" in rec:
            rec = {"header": Bad("missing", "the grader could not read the model back after loading "
                                            f"({str(rec['unreadable'])[:40]}); keep the model's modules as they are")}
        _, vals = weights_data(seed, case)
        with part(ck, "load_darknet_weights header", 1 / n, fn, ctx):
            got = rec.get("header")
            if isinstance(got, Bad):
                hint = ("; the file is valid: is seen read with the right size (int64 when major*10 + minor >= 2, "
                        "else int32)?" if got.message.startswith("ValueError") else "")
                raise Fail(_loader_error(got, ctx) + hint)
            if not isinstance(got, list) or list(got) != list(header):
                raise Fail(f"`load_darknet_weights` returned {str(got)[:80]}, expected the header (major, minor, "
                           f"revision, seen) = {header} ({ctx})")
        with part(ck, "load_darknet_weights values", 5 / n, fn, ctx):
            got = rec.get("header")
            if isinstance(got, Bad):
                raise Fail(_loader_error(got, ctx))
            state = rec.get("state")
            if not isinstance(state, list) or len(state) != len(layout):
                raise Fail(f"`load_darknet_weights`: the model's layers could not be read back after loading ({ctx})")
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
                    label = BN_LABELS.get(name, name)
                    g = unwrap(g, f"`load_darknet_weights`: {where}'s {label} ({ctx})")
                    if not isinstance(g, np.ndarray) or g.dtype.kind not in "biuf":
                        raise Fail(f"`load_darknet_weights`: {where}'s {label} is no longer a tensor ({ctx})")
                    if g.shape != w.shape:
                        raise Fail(f"`load_darknet_weights`: {where}'s {label} changed shape to {g.shape}, expected "
                                   f"{w.shape} ({ctx})")
                    if g.size and np.isnan(g).all():
                        raise Fail(f"`load_darknet_weights`: {where}'s {label} was not loaded ({ctx})")
                    if not np.array_equal(g.astype(np.float32), w):
                        hint = _weights_hint(have, want, name) if layer[0] == "bn" else ""
                        if not hint and layer[0] == "conv" and i + 1 < len(layout) and layout[i + 1][0] == "bn":
                            hint = "; is the reading order per conv right (BN terms first, then the weight)?"
                        raise Fail(f"`load_darknet_weights`: {where}'s {label} has wrong values{hint} ({ctx})")
        if case < 2:
            with part(ck, "load_darknet_weights size errors", 2 / 2, fn, ctx):
                got = rec.get("header")
                if isinstance(got, Bad) and "NotImplementedError" in got.message:
                    raise Fail(_loader_error(got, ctx))
                for key, what in (("short", "one value short"), ("long", "one value too long")):
                    r = rec.get(key)
                    if r == "returned":
                        raise Fail(f"`load_darknet_weights`: a file {what} for the model loaded without an error; raise "
                                   f"ValueError when the file holds too few or too many values ({ctx})")
                    if not isinstance(r, Bad) or not r.message.startswith("ValueError"):
                        raise Fail(f"`load_darknet_weights`: on a file {what} expected a ValueError, got "
                                   f"{r.message[:120] if isinstance(r, Bad) else 'no result'} ({ctx})")


# --------------------------------------------------------------------------
# hw3.decode


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


def _class_scores(x: np.ndarray, anchors, num_classes: int) -> np.ndarray:
    """The raw class scores (N, K, C) in darknet's (anchor, row, column) order."""
    n, _, sh, sw = x.shape
    p = x.astype(np.float64).reshape(n, len(anchors), 5 + num_classes, sh, sw).transpose(0, 1, 3, 4, 2)
    return p[..., 5:].reshape(n, -1, num_classes)


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


def _unchanged(after, before: np.ndarray) -> bool:
    return isinstance(after, np.ndarray) and after.shape == before.shape and np.array_equal(after, before)


# The order of the K = A*S_h*S_w boxes is a convention of its own: darknet's channel layout
# gives (anchor, row, column); ports that reshape to channels-last (YAD2K, keras-yolo3) flatten
# (row, column, anchor). The value parts accept either order; this part asks for darknet's.
ORDER_WEIGHT = 0.5


def _either_order(got, want, want_last, name, fn, ctx, seen: dict):
    """``got`` compared with the (anchor, row, col) reference, else with the (row, col, anchor)
    one (recorded in ``seen``); raises the (anchor, row, col) comparison's Fail when neither fits."""
    try:
        return expect_array(got, want, name, TOL, ctx)
    except Fail:
        if isinstance(got, np.ndarray) and got.shape == want_last.shape and _close(got, want_last):
            seen.setdefault("last", []).append(ctx)
            return got
        raise


def judge_decode(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    dec = out.get("decode") if isinstance(out.get("decode"), dict) else {}
    n = len(DECODE_CASES)
    fn = "decode_predictions"
    seen: dict = {}  # "last": cases in (row, col, anchor) order; "first": a Fail message
    for case, (nb, anchors, c, sh, sw) in enumerate(DECODE_CASES):
        x = decode_input(seed, case)
        ctx = f"output of shape {x.shape}, {len(anchors)} anchors, {c} classes, a {sh}x{sw} grid"
        rec = dec.get(case) if isinstance(dec.get(case), dict) else {"error": Bad("missing", "no result came back")}
        boxes, obj, probs = reference_decode(x, anchors, c)
        boxes_l, obj_l, probs_l = reference_decode(x, anchors, c, anchor_last=True)

        def parts():
            if "error" in rec:
                err = rec["error"]
                if isinstance(err, Bad) and err.kind == "type":
                    raise Fail(f"`decode_predictions` returned {err.message[:120]} ({ctx})")
                raise Fail(err.describe("`decode_predictions`") + f" ({ctx})" if isinstance(err, Bad)
                           else f"`decode_predictions` failed ({ctx})")
            got = rec.get("parts")
            if not isinstance(got, list) or len(got) != 3:
                raise Fail(f"`decode_predictions`: no (boxes, objectness, class_probs) came back ({ctx})")
            return got

        with part(ck, "decode_predictions boxes", 3.5 / n, fn, ctx):
            try:
                g = unwrap(parts()[0], f"`decode_predictions` boxes ({ctx})")
                if isinstance(g, np.ndarray) and g.shape == boxes.shape and not _close(g, boxes) and not _close(g, boxes_l):
                    hint = _box_hint(g, x, anchors, c)
                    if not hint and _close(g / np.array([sw, sh, sw, sh]), boxes):
                        hint = "; the boxes must be fractions of the image, not grid units: divide x and w by S_w, y and h by S_h"
                    raise Fail(f"`decode_predictions`: boxes wrong, max relative error {rel_error(g, boxes):.1e}{hint} ({ctx})")
                _either_order(g, boxes, boxes_l, "`decode_predictions` boxes (N, A*S_h*S_w, 4)", fn, ctx, seen)
            except Fail as e:
                seen.setdefault("first", str(e))
                raise
            if not _unchanged(rec.get("input_after"), x):
                raise Fail(f"`decode_predictions` changed its input in place ({ctx})")
            seen.setdefault("ok", True)
        with part(ck, "decode_predictions objectness", 1 / n, fn, ctx):
            _either_order(parts()[1], obj, obj_l, "`decode_predictions` objectness (N, A*S_h*S_w) = sigmoid(to)", fn,
                          ctx, seen)
        with part(ck, "decode_predictions class probabilities", 1.5 / n, fn, ctx):
            g = unwrap(parts()[2], f"`decode_predictions` class_probs ({ctx})")
            if isinstance(g, np.ndarray) and g.shape == probs.shape and not _close(g, probs) and not _close(g, probs_l) \
                    and c > 1:
                for dim in (1, 3, 4):
                    if _close(g, reference_decode(x, anchors, c, class_dim=dim)[2]):
                        raise Fail(f"`decode_predictions`: class_probs are a softmax over the wrong dimension; each "
                                   f"box's {c} class scores must sum to 1 ({ctx})")
                if _close(g, _sig(_class_scores(x, anchors, c))):
                    raise Fail(f"`decode_predictions`: class_probs are a sigmoid of each class score, YOLOv3's rule; "
                               f"YOLOv2, whose output this is, takes a softmax over the {c} classes ({ctx})")
            _either_order(g, probs, probs_l,
                          "`decode_predictions` class_probs (N, A*S_h*S_w, C), a softmax over the classes", fn, ctx, seen)
    with part(ck, "decode_predictions box order", ORDER_WEIGHT, fn, "the order of the boxes"):
        if seen.get("last"):
            raise Fail(f"`decode_predictions`: the boxes are listed in (row, column, anchor) order, as ports that "
                       f"reshape to channels-last do (YAD2K, keras-yolo3); this notebook uses darknet's (anchor, row, "
                       f"column) order, box k = a*S_h*S_w + row*S_w + col ({seen['last'][0]})")
        if not seen.get("ok"):
            raise Fail(seen.get("first") or "`decode_predictions`: the order of the boxes could not be checked")
    conv = out.get("conv") if isinstance(out.get("conv"), dict) else {}
    for i, shape in enumerate(CONV_SHAPES):
        b32 = boxes_input(seed, i)
        b = b32.astype(np.float64)
        xyxy = np.concatenate([b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2], axis=-1)
        xywh = np.concatenate([(b[..., :2] + b[..., 2:]) / 2, b[..., 2:] - b[..., :2]], axis=-1)
        rec = conv.get(i) if isinstance(conv.get(i), dict) else {}
        for name, want, text in (("xywh_to_xyxy", xyxy, "(cx, cy, w, h) -> (cx - w/2, cy - h/2, cx + w/2, cy + h/2)"),
                                 ("xyxy_to_xywh", xywh, "(x1, y1, x2, y2) -> ((x1+x2)/2, (y1+y2)/2, x2-x1, y2-y1)")):
            ctx = f"boxes of shape {shape}; {text}"
            with part(ck, f"{name} box conversion", 2 / (2 * len(CONV_SHAPES)), name, ctx):
                got = rec.get(name, Bad("missing", "no result came back"))
                expect_array(got, want, f"`{name}`", 1e-6, ctx)
                if not _unchanged(rec.get(name + "_input_after"), b32):
                    raise Fail(f"`{name}` changed its input in place; return a new tensor ({ctx})")


# --------------------------------------------------------------------------
# hw3.draw_boxes


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
    fn = "draw_boxes"
    for case, ((h, w), _, as_torch) in enumerate(DRAW_CASES):
        img, b, labels, scores = draw_inputs(seed, case)
        ctx = f"a {h}x{w} image with {len(b)} box{'es' if len(b) != 1 else ''}" + (" (torch tensors)" if as_torch else "")
        rec = out.get(case) if isinstance(out.get(case), dict) else {"image": Bad("missing", "no result came back")}

        def image():
            got = rec.get("image")
            if isinstance(got, Bad):
                if got.kind == "type":
                    raise Fail(f"`draw_boxes` returned {got.message[:120]} ({ctx})")
                raise Fail(got.describe("`draw_boxes`") + f" ({ctx})")
            if not isinstance(got, np.ndarray) or got.shape != img.shape:
                raise Fail(f"`draw_boxes` returned shape {getattr(got, 'shape', None)}, expected the image's {img.shape} ({ctx})")
            if got.dtype != np.uint8:
                raise Fail(f"`draw_boxes` returned dtype {got.dtype}, expected uint8 like the input ({ctx})")
            return got

        with part(ck, "draw_boxes new image", 0.4 / len(DRAW_CASES), fn, ctx):
            image()
            if not _unchanged(rec.get("input_after"), img):
                raise Fail(f"`draw_boxes` changed the given image; draw on a copy ({ctx})")
            if rec.get("shares_memory") is not False:
                raise Fail(f"`draw_boxes` returned the given image (or a view of it); return a new array ({ctx})")
        changed = None
        if case != 2:
            with part(ck, "draw_boxes outlines", 1.2 / 3, fn, ctx):
                got = image()
                changed = np.any(got != img, axis=-1)
                for k, box in enumerate(b):
                    for edge, cov in _edge_coverage(changed, box, h, w):
                        if cov < 0.8:
                            raise Fail(f"`draw_boxes`: the {edge} edge of box {k} {tuple(float(v) for v in box)} is not "
                                       f"drawn ({cov:.0%} of it changed; expected an outline along x1, y1, x2, y2) ({ctx})")
        with part(ck, "draw_boxes outline only", 1.0 / len(DRAW_CASES), fn, ctx):
            got = image()
            changed = np.any(got != img, axis=-1)
            near = np.zeros((h, w), bool)
            for k, box in enumerate(b):
                x1, y1, x2, y2 = box
                inner = changed[max(int(y1) + 5, 0):max(int(y2) - 4, 0), max(int(x1) + 5, 0):max(int(x2) - 4, 0)]
                if inner.size > 100 and inner.mean() > 0.5:
                    raise Fail(f"`draw_boxes`: {inner.mean():.0%} of the inside of box {k} changed; draw the outline "
                               f"only (no filled rectangles) ({ctx})")
                near[max(int(y1) - 32, 0):max(int(y2) + 33, 0), max(int(x1) - 32, 0):max(int(x2) + 33, 0)] = True
            far = changed[~near]  # labels may stick out of a box, so only what lies over 32 pixels away
            if far.size and far.mean() > 0.1:
                raise Fail(f"`draw_boxes`: {far.mean():.0%} of the pixels far from every box changed; draw only the "
                           f"boxes (and their labels) ({ctx})")
        if case in (1, 2):
            with part(ck, "draw_boxes clipping", 0.4 / 2, fn, ctx):
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
