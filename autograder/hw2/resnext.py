"""ResNeXt block (split-transform-merge, cardinality) and a ResNeXt for CIFAR-100 (003 P6).

Student API (torch modules):
    ResNeXtBlock(in_channels, out_channels, cardinality, bottleneck_width, stride=1)
        D = cardinality * bottleneck_width; conv1x1(in->D) -> BN -> ReLU ->
        conv3x3(D->D, stride, padding 1, groups=cardinality) -> BN -> ReLU -> conv1x1(D->out) -> BN,
        plus the shortcut of BasicBlock (identity, or conv1x1 + BN when the shape changes);
        out = ReLU(sum). No conv has a bias.
    ResNeXtCIFAR(num_blocks=(1, 1, 1), cardinality=8, bottleneck_width=4, num_classes=100, width=64)
        stem conv3x3(3->width) + BN + ReLU; stage i = 0, 1, 2: num_blocks[i] ResNeXtBlocks with
        out channels width * 2**i, bottleneck width bottleneck_width * 2**i, the same cardinality,
        stride 2 in the first block of stages 1 and 2; global average pooling; Linear(4*width -> classes).

Beyond shapes and parameter counts, the judge checks that the block really is C
parallel paths: its only 3x3 conv has ``groups == cardinality`` and a weight of
shape (D, d, 3, 3), and that conv's output on a fixed input equals C separate
convolutions, path g reading input channels [g*d, (g+1)*d) with the weight rows of
the same slice, recomputed here with C calls of ``F.conv2d``. A block with
``groups=1`` (a dense bottleneck) or ``groups=bottleneck_width`` has the same output
shapes and fails. The machinery shared with the ResNet items lives in ``resnet.py``.

This is the judge half; the probe half (building and running the student's modules)
is ``autograder/probes/hw2/resnext.py``.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item
from ..probes.hw2.resnet import alone_input, block_input
from ..probes.hw2.resnext import (BLOCK_CASES, BLOCK_KEY, NET_CASES, NET_KEY, probe_resnext_block,  # noqa: F401
                                  probe_resnext_cifar)
from .common import part, short
from .resnet import (TOL, _as_array, _list, call_text, check_downsampling, check_gradients, check_param_count,
                     check_projection, check_train_shape, check_zeroed_branch, judge_net_output, out_size,
                     recompute_block, record_error, reference_param_count)

WIRING = "conv1x1-BN-ReLU-grouped conv3x3(stride)-BN-ReLU-conv1x1-BN + shortcut, then ReLU,"


def separate_paths(z: np.ndarray, w: np.ndarray, cardinality: int, stride: int) -> np.ndarray:
    """C separate 3x3 convolutions (padding 1), path g on input channels [g*d, (g+1)*d)
    with output channels [g*d', (g+1)*d'), concatenated: what a grouped conv must compute."""
    import torch
    import torch.nn.functional as F

    zt = torch.from_numpy(z.astype(np.float64))
    wt = torch.from_numpy(w.astype(np.float64))
    d_in = z.shape[1] // cardinality
    d_out = w.shape[0] // cardinality
    outs = []
    with torch.no_grad():
        for g in range(cardinality):
            outs.append(F.conv2d(zt[:, g * d_in:(g + 1) * d_in], wt[g * d_out:(g + 1) * d_out], stride=stride, padding=1))
    return torch.cat(outs, dim=1).numpy()


def check_grouped_conv(rec: dict, seed: int, case: int, cardinality: int, width: int, stride: int, ctx: str) -> None:
    convs = _list(rec.get("convs"))
    big = [(i, c) for i, c in enumerate(convs) if isinstance(c, dict) and c.get("kernel") != [1, 1]]
    dd = cardinality * width
    paths = f"C={cardinality} paths of width d={width}"
    if len(big) == cardinality > 1:
        raise Fail(f"{ctx}: {len(big)} separate 3x3 convs, one per path: this task asks for the C={cardinality} paths "
                   f"as one grouped conv, nn.Conv2d({dd}, {dd}, 3, padding=1, groups={cardinality}) (form (c))")
    if len(big) != 1:
        raise Fail(f"{ctx}: {len(big)} convs larger than 1x1, expected exactly one 3x3 conv {dd}->{dd} "
                   f"with groups={cardinality} ({paths})")
    i, c = big[0]
    if c.get("kernel") != [3, 3]:
        raise Fail(f"{ctx}: the middle conv has a {short(tuple(c.get('kernel') or ()))} kernel, expected 3x3")
    if c.get("groups") != cardinality:
        raise Fail(f"{ctx}: the 3x3 conv has groups={short(c.get('groups'))}, expected groups=cardinality={cardinality} "
                   f"({paths}); the output shape is the same either way, but it is another network")
    w = _as_array(c.get("w"), f"{ctx}: the 3x3 conv's weight")
    if w.shape != (dd, width, 3, 3):
        raise Fail(f"{ctx}: the grouped 3x3 conv's weight has shape {w.shape}, expected {(dd, width, 3, 3)}: "
                   f"D = cardinality * bottleneck_width = {dd} channels in and out, each output seeing its own "
                   f"group of d = {width} input channels")
    if c.get("stride") != [stride, stride]:
        raise Fail(f"{ctx}: the grouped 3x3 conv has stride {short(tuple(c.get('stride') or ()))}, expected {stride} "
                   f"(ResNeXt downsamples in the 3x3 conv)")
    alone = _list(rec.get("alone"))
    got = alone[i] if i < len(alone) else None
    if isinstance(got, Bad):
        raise Fail(got.describe(f"{ctx}: running the 3x3 conv alone"))
    got = _as_array(got, f"{ctx}: the 3x3 conv's output")
    z = alone_input(seed, BLOCK_KEY, case, i, dd)
    want = separate_paths(z, w, cardinality, stride)
    if got.shape != want.shape:
        raise Fail(f"{ctx}: the 3x3 conv maps a {z.shape} input to {got.shape}, expected {want.shape} "
                   f"(padding 1, stride {stride})")
    err = float(np.max(np.abs(want - got))) / max(float(np.max(np.abs(want) + np.abs(got))), 1e-12)
    if err > TOL:
        raise Fail(f"{ctx}: the 3x3 conv's output differs from {cardinality} separate convs built from its "
                   f"weight slices (max relative error {err:.1e}): use nn.Conv2d(..., groups=cardinality)")


def judge_resnext_block(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(BLOCK_CASES)
    for case, (cin, cout, c, d, stride, xshape) in enumerate(BLOCK_CASES):
        rec = out.get(case)
        args = (cin, cout, c, d, stride)
        ctx = call_text("ResNeXtBlock", (cin, cout), {"cardinality": c, "bottleneck_width": d, "stride": stride})
        projection = stride != 1 or cin != cout
        ho, wo = out_size(xshape[2], stride), out_size(xshape[3], stride)
        x = block_input(seed, BLOCK_KEY, case, xshape)
        with part(ck, "`ResNeXtBlock` output shape", 2 / n, ctx):
            record_error(rec, ctx)
            check_train_shape(rec, "train_shape", (xshape[0], cout, ho, wo), f"{ctx} on input {xshape}")
        with part(ck, "`ResNeXtBlock` parameters", 2 / n, ctx):
            record_error(rec, ctx)
            check_param_count(rec, reference_param_count("ResNeXtBlock", *args), ctx,
                              f" (D = {c}*{d} = {c * d}: in*D + 9*D*d + D*out conv weights, 2 per BatchNorm channel"
                              f"{', a projection' if projection else ''})")
        with part(ck, "`ResNeXtBlock` grouped conv", 3 / n, ctx):
            record_error(rec, ctx)
            check_grouped_conv(rec, seed, case, c, d, stride, ctx)
        with part(ck, "`ResNeXtBlock` shortcut", 1.5 / n, ctx):
            record_error(rec, ctx)
            check_projection(rec, cin, cout, stride, ctx)
            check_zeroed_branch(rec, x, stride, projection, ctx)
        with part(ck, "`ResNeXtBlock` forward", 1.5 / n, ctx):
            record_error(rec, ctx)
            check_gradients(rec, ctx)
            recompute_block("ResNeXtBlock", args, rec, x, ctx, WIRING)


# --------------------------------------------------------------------------
# hw2.resnext_cifar

DEFAULTS = {"num_blocks": (1, 1, 1), "cardinality": 8, "bottleneck_width": 4, "num_classes": 100, "width": 64}


def judge_resnext_cifar(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(NET_CASES)
    for case, (kwargs, sizes) in enumerate(NET_CASES):
        rec = out.get(case)
        full = {**DEFAULTS, **kwargs}
        ctx = call_text("ResNeXtCIFAR", (), kwargs)
        nb, width, classes, card, bw = (full["num_blocks"], full["width"], full["num_classes"],
                                        full["cardinality"], full["bottleneck_width"])
        with part(ck, "`ResNeXtCIFAR` output", 1.5 / n, ctx):
            record_error(rec, ctx)
            judge_net_output(rec, sizes, classes, ctx)
        with part(ck, "`ResNeXtCIFAR` parameters", 1.5 / n, ctx):
            record_error(rec, ctx)
            check_param_count(rec, reference_param_count("ResNeXtCIFAR", **full), ctx)
        with part(ck, "`ResNeXtCIFAR` grouped convs", 1.5 / n, ctx):
            record_error(rec, ctx)
            convs = [c for c in _list(rec.get("convs")) if isinstance(c, dict)]
            big = [c for c in convs if c.get("kernel") != [1, 1]]
            groups = [c.get("groups") for c in big]
            want_groups = sorted([1] + [card] * sum(nb))
            if sorted(g if isinstance(g, int) else -1 for g in groups) != want_groups:
                raise Fail(f"{ctx}: the 3x3 convs have groups {short(groups, 120)}; expected the stem (groups 1) and one 3x3 conv "
                           f"with groups=cardinality={card} in each of the {sum(nb)} ResNeXt blocks")
            want = sorted([(3, width, 1)] + [(card * bw * 2 ** i, card * bw * 2 ** i, card)
                                             for i, k in enumerate(nb) for _ in range(k)])
            got = sorted((c.get("in"), c.get("out"), c.get("groups")) for c in big)
            if got != want:
                raise Fail(f"{ctx}: 3x3 convs (in, out, groups) {short(got, 160)}, expected {want}: stage i has bottleneck "
                           f"width bottleneck_width * 2**i, so D = {card}*{bw}*2**i")
            n1 = sum(1 for c in convs if c.get("kernel") == [1, 1])
            if n1 != 2 * sum(nb) + 2:
                raise Fail(f"{ctx}: {n1} 1x1 convs, expected {2 * sum(nb) + 2} (two per block, plus the "
                           f"projections of stages 2 and 3)")
            lin = [m[:2] for m in _list(rec.get("linears")) if isinstance(m, (list, tuple))]
            if lin != [[4 * width, classes]]:
                raise Fail(f"{ctx}: Linear layers {short(lin, 120)} (in, out), expected one Linear({4 * width}, {classes})")
        with part(ck, "`ResNeXtCIFAR` downsampling", 1.5 / n, ctx):
            record_error(rec, ctx)
            check_downsampling(rec, sizes, [1 + nb[0], nb[1], nb[2]], ctx)


ITEMS = [
    Item("hw2.resnext_block", 10, ("ResNeXtBlock",), probe_resnext_block, judge_resnext_block,
         title="ResNeXt block: C parallel paths as one grouped convolution", timeout=30),
    Item("hw2.resnext_cifar", 6, ("ResNeXtCIFAR",), probe_resnext_cifar, judge_resnext_cifar,
         title="ResNeXt for CIFAR-100", timeout=30),
]
