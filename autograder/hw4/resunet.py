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

The decoder is given (``ResUNetDecoder``, the same code as the notebook's): the grader
uses its own copy (in the probe module), never the notebook's.

The probe (``autograder/probes/hw4/resunet.py``) builds the encoder for several channel
counts, widths and odd image sizes and returns plain data: the feature shapes (train mode, with a backward pass), the
features in eval mode with random weights and BatchNorm statistics, the features with
every kxk conv zeroed and BatchNorm an identity, the 1x1 convs' weights, and the
output shape of the grader's ResUNet built on the encoder. The judge checks: the
number of levels and each level's shape (widths, downsampling); the residual
behaviour (with the convs zeroed, level i must output S(f_{i-1}) or ReLU(S(f_{i-1})),
S the unit's 1x1 shortcut conv or the identity); that the residual branch is active
with random weights; gradients reach every parameter; the ResUNet's output shape.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item
from ..probes.hw4.resunet import CASES, encoder_input, probe
from ..judging import short

TOL = 1e-4


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
        rec = out.get(case, out.get(str(case)))
        ctx = _ctx(cin, widths, xshape)
        rec = rec if isinstance(rec, dict) else {"error": Bad("missing", "no result came back")}
        err = rec.get("error")
        parts = [("levels and shapes", 3.0), ("residual", 3.0), ("residual branch", 1.0), ("gradients and decoder", 1.0)]
        if err is not None:
            with ck.part("ResidualEncoder: levels and shapes", sum(w for _, w in parts) / n):
                raise Fail(err.describe(ctx) if isinstance(err, Bad) else f"{ctx}: could not be built")
            continue
        shapes = rec.get("shapes")
        with ck.part("ResidualEncoder: levels and shapes", 3.0 / n):
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
        with ck.part("ResidualEncoder: residual", 3.0 / n):
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
        with ck.part("ResidualEncoder: residual branch", 1.0 / n):
            if int(rec.get("kxk") or 0) < 2 * len(widths):
                raise Fail(f"{ctx}: {short(rec.get('kxk'), 20)} 3x3 convs found, expected at least two per level "
                           f"({2 * len(widths)})")
            rand = _feature_list(rec.get("rand"), len(widths), f"{ctx} in eval mode")
            prev = x
            for i, f in enumerate(rand):
                cands = _shortcuts(rec, prev, widths[i], f.shape)
                if cands and min(min(_err(f, s), _err(f, np.maximum(s, 0))) for s in cands) < 1e-3:
                    raise Fail(f"{ctx}: level {i} outputs only its shortcut: the residual branch (the 3x3 convs) "
                               "does not reach the output")
                prev = f
        with ck.part("ResidualEncoder: gradients and decoder", 1.0 / n):
            back = rec.get("backward")
            if isinstance(back, Bad):
                raise Fail(back.describe(f"{ctx}: backward through the feature maps"))
            unused = rec.get("unused") or []
            if unused:
                names = ", ".join(short(u, 60) for u in list(unused)[:4])
                raise Fail(f"{ctx}: parameter(s) {names} got no gradient: a layer is defined in "
                           "__init__ but not used in forward")
            y = rec.get("resunet")
            if isinstance(y, Bad):
                raise Fail(y.describe(f"{ctx}: the given decoder on your features"))
            if list(y or []) != [xshape[0], 1, xshape[2], xshape[3]]:
                raise Fail(f"{ctx}: the ResUNet (your encoder + the given decoder) outputs {short(y)}, expected "
                           f"{[xshape[0], 1, xshape[2], xshape[3]]}")


ITEMS = [
    Item("hw4.resunet_encoder", 8, ("ResidualEncoder",), probe, judge,
         title="The residual encoder of a ResUNet", timeout=40),
]
