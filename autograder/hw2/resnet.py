"""ResNet basic block and a ResNet for CIFAR-10 (000 P1, ResNet part): the judge half.

Student API (torch modules):
    BasicBlock(in_channels, out_channels, stride=1)
        conv3x3(in->out, stride, padding 1, no bias) -> BN -> ReLU -> conv3x3(out->out, no bias) -> BN,
        plus the shortcut: the identity when stride == 1 and in == out, otherwise
        conv1x1(in->out, stride, no bias) -> BN (the projection); out = ReLU(residual + shortcut).
    ResNetCIFAR(num_blocks=(3, 3, 3), num_classes=10, width=16)
        stem conv3x3(3->width, no bias) + BN + ReLU; stages of BasicBlocks with widths width,
        2*width, 4*width (the first block of stages 2 and 3 with stride 2); global average
        pooling; Linear(4*width -> num_classes). The default is ResNet-20.

The probe (``autograder/probes/hw2/resnet.py``) builds the student's modules, runs them
and returns plain data: the layers' settings and weights, the outputs, the feature-map
sizes. The judge here builds its own reference modules (parameter counts), recomputes
the block's eval output from the block's own weights with the reference wiring (every
assignment of the student's layers to the reference layers of the same shape is tried,
so module order and code style do not matter), and checks the residual behaviour: with
every 3x3 conv of the residual branch zeroed (and BatchNorm an identity) a block must
output ReLU(shortcut(x)), for an identity shortcut ReLU(x).

The judge helpers here (record_error, check_*, recompute_block, ...) serve the ResNeXt
items too. The probe helpers that other homeworks' judges import from here (_layers,
_randomize, _rng, _unused) are re-exported from the probe module.
"""
from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np

from ..core import Bad, Fail, Item
from ..probes.hw2.resnet import (BLOCK_CASES, BLOCK_KEY, NET_CASES, NET_KEY, _layers, _randomize, _rng,  # noqa: F401
                                 _unused, alone_input, block_input, probe_resnet_block, probe_resnet_cifar)
from .common import part, short

TOL = 1e-4  # the student's modules run in float32, the references in float64
MAX_CANDIDATES = 2000
MAX_SHORTCUT_CANDIDATES = 16

# --------------------------------------------------------------------------
# Reference modules (judge side; built lazily so importing the registry needs no torch).


@functools.lru_cache(maxsize=None)
def reference_classes() -> dict:
    import torch.nn as nn
    import torch.nn.functional as F

    class PadShortcut(nn.Module):
        """Option A of He et al.'s CIFAR ResNets: subsample, then zero channels (``where``: "end",
        or "both" sides as the popular CIFAR ports' F.pad(..., planes // 4, planes // 4))."""

        def __init__(self, cin, cout, stride, where):
            super().__init__()
            extra = cout - cin
            self.stride = stride
            self.pad = (0, extra) if where == "end" else (extra // 2, extra - extra // 2)

        def forward(self, x):
            return F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, *self.pad))

    def shortcut(cin, cout, stride, option="B"):
        if stride == 1 and cin == cout:
            return nn.Identity()
        if option != "B":
            return PadShortcut(cin, cout, stride, "end" if option == "A" else "both")
        return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    class RefBasicBlock(nn.Module):
        def __init__(self, cin, cout, stride=1, option="B"):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = shortcut(cin, cout, stride, option)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class RefResNeXtBlock(nn.Module):
        def __init__(self, cin, cout, cardinality, bottleneck_width, stride=1):
            super().__init__()
            d = cardinality * bottleneck_width
            self.conv1 = nn.Conv2d(cin, d, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(d)
            self.conv2 = nn.Conv2d(d, d, 3, stride, 1, groups=cardinality, bias=False)
            self.bn2 = nn.BatchNorm2d(d)
            self.conv3 = nn.Conv2d(d, cout, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(cout)
            self.shortcut = shortcut(cin, cout, stride)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = F.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return F.relu(out + self.shortcut(x))

    def stem(width):
        return nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())

    class RefResNetCIFAR(nn.Module):
        def __init__(self, num_blocks=(3, 3, 3), num_classes=10, width=16, option="B"):
            super().__init__()
            layers = [stem(width)]
            cin = width
            for i, n in enumerate(num_blocks):
                cout = width * 2 ** i
                for j in range(n):
                    layers.append(RefBasicBlock(cin, cout, 2 if (i > 0 and j == 0) else 1, option))
                    cin = cout
            self.features = nn.Sequential(*layers)
            self.fc = nn.Linear(4 * width, num_classes)

        def forward(self, x):
            return self.fc(self.features(x).mean(dim=(2, 3)))

    class RefResNeXtCIFAR(nn.Module):
        def __init__(self, num_blocks=(1, 1, 1), cardinality=8, bottleneck_width=4, num_classes=100, width=64):
            super().__init__()
            layers = [stem(width)]
            cin = width
            for i, n in enumerate(num_blocks):
                cout = width * 2 ** i
                for j in range(n):
                    layers.append(RefResNeXtBlock(cin, cout, cardinality, bottleneck_width * 2 ** i,
                                                  2 if (i > 0 and j == 0) else 1))
                    cin = cout
            self.features = nn.Sequential(*layers)
            self.fc = nn.Linear(4 * width, num_classes)

        def forward(self, x):
            return self.fc(self.features(x).mean(dim=(2, 3)))

    return {"BasicBlock": RefBasicBlock, "ResNeXtBlock": RefResNeXtBlock,
            "ResNetCIFAR": RefResNetCIFAR, "ResNeXtCIFAR": RefResNeXtCIFAR}


def reference_param_count(name: str, *args, **kwargs) -> int:
    m = reference_classes()[name](*args, **kwargs)
    return int(sum(p.numel() for p in m.parameters()))


def out_size(n: int, stride: int) -> int:
    """Spatial size after a 3x3 conv (padding 1) or a 1x1 conv (padding 0) with this stride."""
    return (n - 1) // stride + 1


def call_text(name: str, args: tuple = (), kwargs: dict | None = None) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


# --------------------------------------------------------------------------
# Judge helpers (trusted side).


def _as_array(v, what: str) -> np.ndarray:
    if isinstance(v, Bad):
        raise Fail(v.describe(what))
    if not isinstance(v, np.ndarray) or v.dtype.kind not in "fiu":
        raise Fail(f"{what}: could not be read back")
    return v.astype(np.float64)


def _list(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) else []


def record_error(rec: Any, ctx: str, what: str = "building it") -> None:
    """Fail with the reason the module could not be built, if it could not."""
    if not isinstance(rec, dict):
        raise Fail(f"{ctx}: no result came back")
    if "error" in rec:
        err = rec["error"]
        raise Fail(err.describe(ctx) if isinstance(err, Bad) else f"{ctx}: {what} failed")


def check_train_shape(rec: dict, key: str, want: tuple, ctx: str, hint: str = "") -> None:
    got = rec.get(key)
    if isinstance(got, Bad):
        raise Fail(got.describe(f"{ctx}: forward"))
    if not isinstance(got, (list, tuple)):
        raise Fail(f"{ctx}: forward gave no tensor")
    if tuple(int(g) for g in got) != tuple(want):
        raise Fail(f"{ctx}: output shape {short(tuple(got))}, expected {tuple(want)}{hint}")
    if rec.get(key + "_finite") is False:
        raise Fail(f"{ctx}: the output contains NaN or inf")


def check_gradients(rec: dict, ctx: str) -> None:
    back = rec.get("backward")
    if isinstance(back, Bad):
        raise Fail(back.describe(f"{ctx}: backward through the output"))
    if back != "ok":
        raise Fail(f"{ctx}: backward through the output did not run")
    unused = _list(rec.get("unused"))
    if unused:
        raise Fail(f"{ctx}: parameter(s) {short(', '.join(map(str, unused[:4])))} got no gradient: "
                   "a layer is defined in __init__ but not used in forward")


def layer_param_count(rec: dict) -> int | None:
    """The parameters of the layers the probe found (conv weights and biases, BatchNorm's
    gamma and beta, Linear); None when other layers hold parameters too."""
    if _list(rec.get("other")):
        return None
    total = 0
    for c in _list(rec.get("convs")):
        if not isinstance(c, dict):
            return None
        w = c.get("w")
        if isinstance(w, np.ndarray):
            total += int(w.size)
        else:
            kh, kw = (_list(c.get("kernel")) + [0, 0])[:2]
            total += int(c.get("out", 0)) * (int(c.get("in", 0)) // max(1, int(c.get("groups", 1)))) * int(kh) * int(kw)
        total += int(c.get("out", 0)) if c.get("bias") else 0
    for b in _list(rec.get("bns")):
        if isinstance(b, dict):
            total += 2 * int(b.get("features", 0)) if isinstance(b.get("weight"), np.ndarray) else 0
        elif isinstance(b, (list, tuple)) and len(b) == 2:
            total += 2 * int(b[0]) if b[1] else 0
        else:
            return None
    for m in _list(rec.get("linears")):
        if not isinstance(m, (list, tuple)) or len(m) != 3:
            return None
        total += int(m[0]) * int(m[1]) + (int(m[1]) if m[2] else 0)
    return total


def check_param_count(rec: dict, want: int, ctx: str, hint: str = "") -> None:
    got = rec.get("params")
    if not isinstance(got, int) or isinstance(got, bool):
        raise Fail(f"{ctx}: could not count its parameters")
    layers = layer_param_count(rec)
    if got == want and layers is not None and layers != want:
        raise Fail(f"{ctx}: parameters() reports {got:,} parameters but its Conv2d, BatchNorm2d and Linear layers "
                   f"hold {layers:,}, expected {want:,}")
    if got != want:
        diff = got - want
        extra = ""
        convs = [c for c in _list(rec.get("convs")) if isinstance(c, dict)]
        if any(c.get("bias") for c in convs):
            extra = "; a conv has a bias (use bias=False: the BatchNorm after it has its own shift)"
        elif not _list(rec.get("bns")):
            extra = "; no BatchNorm2d found"
        raise Fail(f"{ctx}: {got:,} parameters, expected {want:,} ({'+' if diff > 0 else ''}{diff:,}){extra}{hint}")


def _candidates(ref_items, got_items, key_of_ref, key_of_got):
    """Every assignment of the student's layers to the reference layers with the same key."""
    groups: dict = {}
    for i, m in enumerate(ref_items):
        groups.setdefault(key_of_ref(m), [[], []])[0].append(i)
    for j, g in enumerate(got_items):
        k = key_of_got(g)
        if k not in groups:
            return None
        groups[k][1].append(j)
    if any(len(r) != len(s) for r, s in groups.values()):
        return None
    per_key = [[list(zip(r, p)) for p in itertools.permutations(s)] for r, s in groups.values()]
    return (dict(pair for part in combo for pair in part) for combo in itertools.product(*per_key))


def _shape_text(convs: list) -> str:
    out = []
    for c in convs:
        w = c.get("w")
        shape = tuple(w.shape) if isinstance(w, np.ndarray) else "?"
        out.append(f"{shape}" + (f" groups={short(c.get('groups'), 20)}" if c.get("groups", 1) != 1 else ""))
    return short("[" + ", ".join(out) + "]", 200)


def recompute_block(name: str, ref_args: tuple, rec: dict, x: np.ndarray, ctx: str, wiring: str,
                    ref_kwargs: dict | None = None) -> None:
    """The block's eval output vs the reference wiring run with the block's own weights."""
    import torch
    import torch.nn as nn

    got = rec.get("eval_out")
    if isinstance(got, Bad):
        raise Fail(got.describe(f"{ctx}: forward in eval mode"))
    ref = reference_classes()[name](*ref_args, **(ref_kwargs or {})).double().eval()
    ref_convs = [m for m in ref.modules() if isinstance(m, nn.Conv2d)]
    ref_bns = [m for m in ref.modules() if isinstance(m, nn.BatchNorm2d)]
    convs = [c for c in _list(rec.get("convs")) if isinstance(c, dict) and isinstance(c.get("w"), np.ndarray)]
    bns = [b for b in _list(rec.get("bns")) if isinstance(b, dict)]
    if len(convs) != len(_list(rec.get("convs"))) or len(bns) != len(_list(rec.get("bns"))):
        raise Fail(f"{ctx}: its layers could not be read back")
    other = _list(rec.get("other"))
    want_convs = [tuple(m.weight.shape) for m in ref_convs]
    layout = (f"expected conv weights {[w for w in want_convs]}"
              f"{' (the 3x3 one grouped)' if any(m.groups > 1 for m in ref_convs) else ''} and "
              f"{len(ref_bns)} BatchNorm2d of sizes {[m.num_features for m in ref_bns]}")
    if other:
        raise Fail(f"{ctx}: unexpected layers with parameters: {short(', '.join(map(str, other)))}; {layout}")
    for b in bns:
        if b.get("mean") is None or not isinstance(b.get("mean"), np.ndarray):
            raise Fail(f"{ctx}: a BatchNorm2d keeps no running statistics (track_running_stats=False?); use nn.BatchNorm2d(n)")
    conv_sets = _candidates(ref_convs, convs, lambda m: tuple(m.weight.shape), lambda c: tuple(c["w"].shape))
    bn_sets = _candidates(ref_bns, bns, lambda m: m.num_features, lambda b: int(b.get("features", -1)))
    if conv_sets is None or bn_sets is None:
        raise Fail(f"{ctx}: its layers do not match the block: {layout}; found conv weights {_shape_text(convs)} "
                   f"and BatchNorm2d of sizes {short([b.get('features') for b in bns], 120)}")
    got_arr = _as_array(got, f"{ctx}: eval-mode output")
    xt = torch.from_numpy(x.astype(np.float64))
    best = np.inf
    bn_sets = list(itertools.islice(bn_sets, MAX_CANDIDATES))
    tried = 0
    for cmap in conv_sets:
        with torch.no_grad():
            for i, j in cmap.items():
                m = ref_convs[i]
                m.weight.copy_(torch.from_numpy(convs[j]["w"].astype(np.float64)))
                b = convs[j].get("b")
                m.bias = nn.Parameter(torch.from_numpy(b.astype(np.float64))) if isinstance(b, np.ndarray) else None
        for bmap in bn_sets:
            tried += 1
            if tried > MAX_CANDIDATES:
                break
            with torch.no_grad():
                for i, j in bmap.items():
                    m, b = ref_bns[i], bns[j]
                    n = m.num_features
                    w = b.get("weight")
                    m.weight.copy_(torch.from_numpy(w.astype(np.float64)) if isinstance(w, np.ndarray) else torch.ones(n))
                    bb = b.get("bias")
                    m.bias.copy_(torch.from_numpy(bb.astype(np.float64)) if isinstance(bb, np.ndarray) else torch.zeros(n))
                    m.running_mean.copy_(torch.from_numpy(b["mean"].astype(np.float64)))
                    m.running_var.copy_(torch.from_numpy(b["var"].astype(np.float64)))
                    m.eps = float(b.get("eps", 1e-5))
                want = ref(xt).numpy()
            if want.shape != got_arr.shape:
                raise Fail(f"{ctx}: eval-mode output shape {got_arr.shape}, expected {want.shape}")
            err = float(np.max(np.abs(want - got_arr))) / max(float(np.max(np.abs(want) + np.abs(got_arr))), 1e-12)
            if err <= TOL:
                return
            best = min(best, err)
        if tried > MAX_CANDIDATES:
            break
    raise Fail(f"{ctx}: eval-mode output differs from {wiring} computed with your block's own weights "
               f"(max relative error {best:.1e}): check the order of the layers, the strides and where the ReLUs are")


def check_zeroed_branch(rec: dict, x: np.ndarray, stride: int, projection: bool, ctx: str, cout: int = 0) -> None:
    """With every kxk conv zeroed and BatchNorm an identity the block must give ReLU(shortcut(x)).
    ``cout``: when given and the block has no 1x1 conv, option A's shortcut (subsampled, zero
    channels added) is the one to expect."""
    import torch
    import torch.nn.functional as F

    got = rec.get("zeroed_out")
    if isinstance(got, Bad):
        raise Fail(got.describe(f"{ctx}: forward with the residual branch zeroed"))
    got = _as_array(got, f"{ctx}: output with the residual branch zeroed")
    xt = torch.from_numpy(x.astype(np.float64))
    cin = x.shape[1]
    if not projection:
        want_list = [F.relu(xt).numpy()]
        expl = "ReLU(x) (identity shortcut)"
    else:
        want_list = []
        for c in _list(rec.get("convs"))[:MAX_SHORTCUT_CANDIDATES]:
            w = c.get("w") if isinstance(c, dict) else None
            if isinstance(w, np.ndarray) and w.ndim == 4 and w.shape[1:] == (cin, 1, 1):
                b = c.get("b")
                with torch.no_grad():
                    z = F.conv2d(xt, torch.from_numpy(w.astype(np.float64)),
                                 torch.from_numpy(b.astype(np.float64)) if isinstance(b, np.ndarray) else None, stride=stride)
                want_list.append(F.relu(z).numpy())
        expl = f"ReLU(BN(conv1x1(x, stride={stride}))) (projection shortcut)"
        if not want_list and cout and not _one_by_one(rec):
            for where in ("end", "both"):
                extra = cout - cin
                pad = (0, extra) if where == "end" else (extra // 2, extra - extra // 2)
                want_list.append(F.relu(F.pad(xt[:, :, ::stride, ::stride], (0, 0, 0, 0, *pad))).numpy())
            expl = f"ReLU(x subsampled by {stride}, with {cout - cin} zero channels added) (option A shortcut)"
        if not want_list:
            raise Fail(f"{ctx}: the shape changes, so the shortcut must be a 1x1 conv from {cin} channels "
                       f"(stride {stride}) + BatchNorm; none found")
    best = np.inf
    for want in want_list:
        if want.shape != got.shape:
            best = min(best, np.inf)
            continue
        err = float(np.max(np.abs(want - got))) / max(float(np.max(np.abs(want) + np.abs(got))), 1e-12)
        if err <= TOL:
            return
        best = min(best, err)
    shape_note = f", output shape {got.shape}" if all(w.shape != got.shape for w in want_list) else ""
    raise Fail(f"{ctx}: with the residual branch switched off (its convs zeroed) the output must be {expl}, "
               f"got something else (max relative error {best:.1e}{shape_note}): add the shortcut to the branch, then apply ReLU once")


def _one_by_one(rec: dict) -> list:
    """The 1x1 convs the probe found in a block."""
    return [c for c in _list(rec.get("convs")) if isinstance(c, dict) and c.get("kernel") == [1, 1]]


def option_a(rec: dict, cin: int, cout: int, stride: int) -> bool:
    """Whether a block whose shape changes has option A's parameter-free shortcut (no 1x1 conv):
    the other widely used convention (He et al.'s CIFAR ResNets) to this notebook's projection."""
    return (stride != 1 or cin != cout) and cout >= cin and not _one_by_one(rec)


def check_projection(rec: dict, cin: int, cout: int, stride: int, ctx: str) -> None:
    """A 1x1 projection exactly when the shape changes (in != out or stride != 1)."""
    convs = [c for c in _list(rec.get("convs")) if isinstance(c, dict)]
    proj = [c for c in convs if c.get("kernel") == [1, 1] and c.get("in") == cin and c.get("out") == cout]
    need = stride != 1 or cin != cout
    if need:
        if len(proj) != 1:
            raise Fail(f"{ctx}: the shape changes (in={cin}, out={cout}, stride={stride}), so the shortcut must be one "
                       f"1x1 conv {cin}->{cout} with stride {stride} + BatchNorm; found {len(proj)} such convs")
        if proj[0].get("stride") != [stride, stride]:
            raise Fail(f"{ctx}: the projection shortcut's 1x1 conv has stride {short(tuple(proj[0].get('stride') or ()))}, expected {stride}")
    elif proj:
        raise Fail(f"{ctx}: in == out and stride 1, so the shortcut must be the identity (no 1x1 projection conv)")


# --------------------------------------------------------------------------
# hw2.resnet_block

BASIC_WIRING = "conv3x3(stride)-BN-ReLU-conv3x3-BN + shortcut, then ReLU,"


def judge_resnet_block(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(BLOCK_CASES)
    for case, (cin, cout, stride, xshape) in enumerate(BLOCK_CASES):
        rec = out.get(case)
        ctx = call_text("BasicBlock", (cin, cout), {"stride": stride})
        projection = stride != 1 or cin != cout
        ho, wo = out_size(xshape[2], stride), out_size(xshape[3], stride)
        x = block_input(seed, BLOCK_KEY, case, xshape)
        with part(ck, "`BasicBlock` output shape", 2 / n, ctx):
            record_error(rec, ctx)
            check_train_shape(rec, "train_shape", (xshape[0], cout, ho, wo), f"{ctx} on input {xshape}",
                              "" if stride == 1 else f" (stride {stride}: out size = (in - 1) // {stride} + 1)")
        a = isinstance(rec, dict) and "error" not in rec and option_a(rec, cin, cout, stride)
        with part(ck, "`BasicBlock` shortcut", SHORTCUT_WEIGHT / n, ctx):
            record_error(rec, ctx)
            if a:
                raise Fail(f"{ctx}: the shape changes, so this notebook's shortcut is a 1x1 conv {cin}->{cout} (stride "
                           f"{stride}) + BatchNorm, option B (torchvision's ResNets); yours has no 1x1 conv: option A "
                           f"of He et al.'s CIFAR ResNets (the input subsampled, zero channels added)")
            check_projection(rec, cin, cout, stride, ctx)
        with part(ck, "`BasicBlock` parameters", (8 - 2 - SHORTCUT_WEIGHT) / 3 / n, ctx):
            record_error(rec, ctx)
            check_param_count(rec, reference_param_count("BasicBlock", cin, cout, stride, option="A" if a else "B"), ctx)
        with part(ck, "`BasicBlock` residual", (8 - 2 - SHORTCUT_WEIGHT) / 3 / n, ctx):
            record_error(rec, ctx)
            check_zeroed_branch(rec, x, stride, projection, ctx, cout)
        with part(ck, "`BasicBlock` forward", (8 - 2 - SHORTCUT_WEIGHT) / 3 / n, ctx):
            record_error(rec, ctx)
            check_gradients(rec, ctx)
            if not a:
                recompute_block("BasicBlock", (cin, cout, stride), rec, x, ctx, BASIC_WIRING)
            else:  # option A: zero channels at the end, or on both sides (the CIFAR ports' F.pad)
                try:
                    recompute_block("BasicBlock", (cin, cout, stride), rec, x, ctx, BASIC_WIRING, {"option": "A"})
                except Fail:
                    recompute_block("BasicBlock", (cin, cout, stride), rec, x, ctx, BASIC_WIRING, {"option": "A2"})


# The shortcut where the shape changes is a convention of its own: a 1x1 conv + BN (option B,
# torchvision, this notebook) or parameter-free (option A: subsample, add zero channels; He et al.'s
# CIFAR ResNet-20, 0.27 M parameters). The other parts accept option A (its parameter count,
# output and residual behaviour); this part asks for option B.
SHORTCUT_WEIGHT = 0.75


# --------------------------------------------------------------------------
# hw2.resnet_cifar

RESNET_DEFAULTS = {"num_blocks": (3, 3, 3), "num_classes": 10, "width": 16}
NET_SHORTCUT_WEIGHT = 0.5  # option A or B (see SHORTCUT_WEIGHT), per network


def _map_counts(maps: list) -> dict:
    counts: dict = {}
    for m in maps:
        if isinstance(m, (list, tuple)) and len(m) == 3:
            counts[(int(m[1]), int(m[2]))] = counts.get((int(m[1]), int(m[2])), 0) + 1
    return counts


def _fmt_counts(counts: dict) -> str:
    return ", ".join(f"{h}x{w}: {n}" for (h, w), n in sorted(counts.items(), key=lambda kv: -kv[0][0] * kv[0][1])) or "none"


def check_downsampling(rec: dict, sizes: list, per_stage: list, ctx: str) -> None:
    """The kxk convs' output sizes: full size, then /2, then /4, with the expected number of convs each."""
    for j, shape in enumerate(sizes):
        h, w = shape[2], shape[3]
        stages = [(h, w), (out_size(h, 2), out_size(w, 2)), (out_size(out_size(h, 2), 2), out_size(out_size(w, 2), 2))]
        want: dict = {}
        for size, n in zip(stages, per_stage):
            want[size] = want.get(size, 0) + n
        got = _map_counts(_list(rec.get(f"maps{j}")))
        if got != want:
            raise Fail(f"{ctx} on a {h}x{w} input: the 3x3 convs' feature maps are {short(_fmt_counts(got), 160)} (size: number of convs), "
                       f"expected {_fmt_counts(want)}: the first block of stages 2 and 3 has stride 2, "
                       f"so the network downsamples by 4 overall")


def judge_net_output(rec: dict, sizes: list, classes: int, ctx: str) -> None:
    for j, shape in enumerate(sizes):
        mode = "train mode" if j == 0 else "eval mode"
        check_train_shape(rec, f"shape{j}", (shape[0], classes), f"{ctx} on input {tuple(shape)} ({mode})",
                          ": global average pooling, then the Linear layer to num_classes logits")
    check_gradients(rec, ctx)


def judge_resnet_cifar(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(NET_CASES)
    for case, (kwargs, sizes) in enumerate(NET_CASES):
        rec = out.get(case)
        full = {**RESNET_DEFAULTS, **kwargs}
        ctx = call_text("ResNetCIFAR", (), kwargs)
        nb, width, classes = full["num_blocks"], full["width"], full["num_classes"]
        with part(ck, "`ResNetCIFAR` output", 1.5 / n, ctx):
            record_error(rec, ctx)
            judge_net_output(rec, sizes, classes, ctx)
        convs = [c for c in _list(rec.get("convs")) if isinstance(c, dict)] if isinstance(rec, dict) else []
        a = isinstance(rec, dict) and "error" not in rec and not any(c.get("kernel") == [1, 1] for c in convs)
        with part(ck, "`ResNetCIFAR` parameters", 1.5 / n, ctx):
            record_error(rec, ctx)
            hint = " (ResNet-20)" if not kwargs else ""
            check_param_count(rec, reference_param_count("ResNetCIFAR", **full, option="A" if a else "B"), ctx + hint)
        with part(ck, "`ResNetCIFAR` residual units", (1.5 - NET_SHORTCUT_WEIGHT) / n, ctx):
            record_error(rec, ctx)
            n3 = sum(1 for c in convs if c.get("kernel") == [3, 3])
            n1 = [c for c in convs if c.get("kernel") == [1, 1]]
            want3 = 1 + 2 * sum(nb)
            if n3 != want3:
                raise Fail(f"{ctx}: {n3} 3x3 convs, expected {want3} (the stem + 2 per BasicBlock, "
                           f"{sum(nb)} blocks: num_blocks={tuple(nb)} per stage)")
            want1 = sorted([[width, 2 * width], [2 * width, 4 * width]])
            got1 = sorted([[c.get("in"), c.get("out")] for c in n1])
            if got1 and got1 != want1:
                raise Fail(f"{ctx}: 1x1 projection convs {short(got1, 120)} (in, out), expected {want1}: a projection only "
                           f"in the first block of stages 2 and 3 (widths {width}, {2 * width}, {4 * width})")
            lin = [m[:2] for m in _list(rec.get("linears")) if isinstance(m, (list, tuple))]
            if lin != [[4 * width, classes]]:
                raise Fail(f"{ctx}: Linear layers {short(lin, 120)} (in, out), expected one Linear({4 * width}, {classes})")
        with part(ck, "`ResNetCIFAR` projection shortcuts", NET_SHORTCUT_WEIGHT / n, ctx):
            record_error(rec, ctx)
            if a:
                raise Fail(f"{ctx}: where a stage changes the shape, this notebook's shortcut is a 1x1 conv + BatchNorm "
                           f"(option B, torchvision's ResNets); yours has no 1x1 conv: option A of He et al.'s CIFAR "
                           f"ResNets (subsampling and zero channels, 0.27 M parameters for ResNet-20)")
        with part(ck, "`ResNetCIFAR` downsampling", 1.5 / n, ctx):
            record_error(rec, ctx)
            check_downsampling(rec, sizes, [1 + 2 * nb[0], 2 * nb[1], 2 * nb[2]], ctx)


ITEMS = [
    Item("hw2.resnet_block", 8, ("BasicBlock",), probe_resnet_block, judge_resnet_block,
         title="ResNet basic block with identity / projection shortcut", timeout=30),
    Item("hw2.resnet_cifar", 6, ("ResNetCIFAR",), probe_resnet_cifar, judge_resnet_cifar,
         title="ResNet for CIFAR-10 (ResNet-20 by default)", timeout=30),
]
