"""The layer calculator: output shape, parameters, multiply-adds and receptive field
of every layer of a CNN given as a list of specs (000 Q4-Q5, 001 Q1, 003 Q3, 004 Q3).

Student API (plain Python):
    layer_table(input_shape, layers) -> list of {"output_shape", "params", "macs", "rf"}
input_shape = (C, H, W); the layer specs are dicts (see the notebook's table).

Every expected number is computed here by code, three independent ways:
* output shapes and parameter counts: real torch modules built from the spec, a
  forward pass of an empty batch (shape (0, C, H, W): every size is computed, no
  arithmetic is done) and ``p.numel()`` of each module's parameters;
* multiply-adds: from each torch module's weight shape and its real output size;
* receptive fields: the gradient footprint of one central output unit in a
  one-row, one-channel, unpadded copy of the network with all-positive weights (max
  pooling replaced by average pooling of the same geometry, so every window position
  gets gradient); the span of the input positions with a nonzero gradient.
"""
from __future__ import annotations

import copy
import warnings

from ..core import Bad, Fail, Item, expect_equal
from .common import NUMPY_ONLY, rng_for

ACTIVATIONS = ("relu", "leakyrelu", "sigmoid", "tanh", "gelu", "elu")
N_RANDOM = 50
KEYS = ("output_shape", "params", "macs", "rf")


# --------------------------------------------------------------------------
# The networks of the seed questions.


def _conv(out, k, s=None, p=None, d=None, groups=None, bias=None):
    spec = {"type": "conv", "out": out, "k": k}
    for key, val in (("s", s), ("p", p), ("d", d), ("groups", groups), ("bias", bias)):
        if val is not None:
            spec[key] = val
    return spec


def seed_networks() -> dict[str, tuple[tuple[int, int, int], list[dict]]]:
    """name -> (input shape, layers), in the notebook's spec format."""
    bn, flat = {"type": "bn"}, {"type": "flatten"}
    q3_003 = [
        _conv(32, 7, 1, "same"), bn, _conv(64, 5, 2, "valid"), bn, {"type": "avgpool", "k": 2, "s": 2},
        _conv(128, 3, 1, "valid", d=2), bn, _conv(128, 3, 1, "valid"), bn, {"type": "avgpool", "k": 2, "s": 2},
        _conv(256, 3, 1, "valid"), bn, {"type": "avgpool", "k": 2, "s": 2},
        flat, {"type": "linear", "out": 1024}, {"type": "linear", "out": 1024}, {"type": "dropout", "p": 0.5},
        {"type": "linear", "out": 10},
    ]
    q1_001 = [l for l in q3_003 if l["type"] != "bn"]
    q1_001 = q1_001[:9] + q1_001[10:]  # 001's net has one 1024-unit layer, not two
    q4f_000 = [_conv(16, 3, 2), {"type": "maxpool", "k": 2, "s": 2}, _conv(32, 3, 2), {"type": "maxpool", "k": 2, "s": 2}]
    q5a_000, q5b_000, c_in = [], [], 3
    for width in (64, 128, 256):
        q5a_000 += [_conv(c_in, 4, 2, 1, groups=c_in, bias=False), _conv(width, 1, bias=False)]
        q5b_000 += [_conv(width, 4, 2, 1, bias=False)]
        c_in = width
    q3_004 = [
        _conv(8, 3, p=1), {"type": "relu"}, {"type": "maxpool", "k": 2}, bn,
        _conv(16, 5, 3, 2), {"type": "relu"}, {"type": "maxpool", "k": 2}, flat, {"type": "linear", "out": 10},
    ]
    return {
        "003 Q3 network": ((3, 256, 256), q3_003),
        "001 Q1 network": ((3, 128, 128), q1_001),
        "000 Q4(f) network": ((3, 64, 64), q4f_000),
        "000 Q5 network A": ((3, 512, 512), q5a_000),
        "000 Q5 network B": ((3, 512, 512), q5b_000),
        "004 Q3 network": ((3, 32, 32), q3_004),
    }


# --------------------------------------------------------------------------
# Random specs (NumPy only: the probe builds them too).


def _out_size(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def random_network(seed: int, case: int) -> tuple[tuple[int, int, int], list[dict]]:
    rng = rng_for(seed, 90, case)
    c = int(rng.choice([1, 2, 3, 4, 6, 8]))
    h, w = int(rng.integers(24, 73)), int(rng.integers(24, 73))
    shape = (c, h, w)
    layers: list[dict] = []
    n_spatial = int(rng.integers(2, 8))
    for _ in range(n_spatial):
        kind = rng.choice(["conv", "conv", "conv", "pool", "bn", "act", "dropout"])
        if kind == "conv":
            k = int(rng.choice([1, 2, 3, 3, 4, 5, 7]))
            d = int(rng.choice([1, 1, 1, 2, 3])) if k > 1 else 1
            s = int(rng.choice([1, 1, 1, 2, 2, 3]))
            p_choice = rng.choice(["int", "int", "valid", "same"])
            if p_choice == "same" and s == 1:
                p = "same"
            elif p_choice == "valid":
                p = "valid"
            else:
                p = int(rng.integers(0, k // 2 * d + 2))
            pad = 0 if p == "valid" else p
            if p == "same":
                ho, wo = h, w
            else:
                ho, wo = _out_size(h, k, s, pad, d), _out_size(w, k, s, pad, d)
            if min(ho, wo) < 2:
                continue
            g_choice = rng.choice(["one", "one", "one", "depthwise", "split"])
            if g_choice == "depthwise":
                groups, out = c, c * int(rng.choice([1, 1, 2]))
            elif g_choice == "split" and c % 2 == 0:
                groups, out = 2, 2 * int(rng.integers(1, 9))
            else:
                groups, out = 1, int(rng.integers(2, 17))
            spec = {"type": "conv", "out": out, "k": k}
            # Leave out keys that hold their default now and then: the defaults count.
            for key, val, default in (("s", s, 1), ("p", p, 0), ("d", d, 1), ("groups", groups, 1),
                                      ("bias", bool(rng.random() < 0.7), True)):
                if val != default or rng.random() < 0.6:
                    spec[key] = val
            layers.append(spec)
            c, h, w = out, ho, wo
        elif kind == "pool":
            k = int(rng.choice([2, 2, 3]))
            s = int(rng.choice([0, 0, 1, 2]))  # 0: leave it out (defaults to k)
            p = int(rng.integers(0, k // 2 + 1)) if rng.random() < 0.3 else 0
            st = s or k
            ho, wo = _out_size(h, k, st, p), _out_size(w, k, st, p)
            if min(ho, wo) < 2:
                continue
            spec = {"type": str(rng.choice(["maxpool", "avgpool"])), "k": k}
            if s:
                spec["s"] = s
            if p:
                spec["p"] = p
            layers.append(spec)
            h, w = ho, wo
        elif kind == "bn":
            layers.append({"type": "bn"})
        elif kind == "act":
            layers.append({"type": str(rng.choice(ACTIVATIONS))})
        else:
            layers.append({"type": "dropout", "p": round(float(rng.uniform(0.1, 0.6)), 2)})
    if rng.random() < 0.7:
        layers.append({"type": "flatten"})
        for _ in range(int(rng.integers(1, 4))):
            layers.append({"type": "linear", "out": int(rng.integers(2, 65))} | ({"bias": False} if rng.random() < 0.3 else {}))
            if rng.random() < 0.3:
                layers.append({"type": str(rng.choice(["dropout", "relu", "tanh"]))} if rng.random() < 0.5 else {"type": "dropout", "p": 0.5})
    return shape, layers


# --------------------------------------------------------------------------
# The probe.


def probe(ns, seed):
    out = {"seed": {}, "random": {}}
    for name, (shape, layers) in seed_networks().items():
        out["seed"][name] = ns.call("layer_table", tuple(shape), copy.deepcopy(layers))
    for case in range(N_RANDOM):
        shape, layers = random_network(seed, case)
        out["random"][case] = ns.call("layer_table", tuple(shape), copy.deepcopy(layers))
    return out


# --------------------------------------------------------------------------
# The oracle (judge side only: torch).


def _uninitialized(cls):
    """``cls`` without its random initialization: the shapes of the parameters and
    the forward pass are the real ones, the values are never read (the batch is
    empty), and a Linear(43264, 1024) costs no time."""
    return type(cls.__name__, (cls,), {"reset_parameters": lambda self: None})


def _torch_layer(spec: dict, shape: tuple):
    """The torch module a spec stands for, on an input of ``shape`` (without batch)."""
    import torch.nn as nn

    t = spec["type"]
    if t == "conv":
        p = spec.get("p", 0)
        return _uninitialized(nn.Conv2d)(shape[0], spec["out"], spec["k"], stride=spec.get("s", 1),
                                         padding=0 if p == "valid" else p, dilation=spec.get("d", 1),
                                         groups=spec.get("groups", 1), bias=spec.get("bias", True))
    if t in ("maxpool", "avgpool"):
        cls = nn.AvgPool2d if t == "avgpool" else nn.MaxPool2d
        return cls(spec["k"], stride=spec.get("s", spec["k"]), padding=spec.get("p", 0))
    if t == "bn":
        return (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(shape[0])
    if t == "flatten":
        return nn.Flatten()
    if t == "linear":
        return _uninitialized(nn.Linear)(shape[0], spec["out"], bias=spec.get("bias", True))
    if t == "dropout":
        return nn.Dropout(spec.get("p", 0.5))
    if t in ACTIVATIONS:
        return {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
                "gelu": nn.GELU, "elu": nn.ELU}[t]()
    raise ValueError(f"unknown layer type {t!r}")


def torch_shapes_params_macs(input_shape, layers) -> list[dict]:
    """Output shape, parameter count and multiply-adds of every layer, from real torch
    modules and a forward pass of an empty batch (shape (0, C, H, W): every output
    size is computed, no arithmetic is done)."""
    import torch
    import torch.nn as nn

    x = torch.zeros((0, *input_shape))
    rows = []
    with torch.no_grad(), warnings.catch_warnings():  # padding='same' with an even kernel warns
        warnings.simplefilter("ignore")
        for spec in layers:
            mod = _torch_layer(spec, tuple(x.shape[1:])).eval()
            y = mod(x)
            params = sum(p.numel() for p in mod.parameters())
            if isinstance(mod, nn.Conv2d):
                # every output element: one multiply-add per weight of its filter
                macs = y.shape[1:].numel() * mod.weight[0].numel()
            elif isinstance(mod, nn.Linear):
                macs = mod.weight.numel()
            else:
                macs = 0
            rows.append({"output_shape": tuple(int(v) for v in y.shape[1:]), "params": int(params), "macs": int(macs)})
            x = y
    return rows


def _footprint_layer(spec: dict):
    """The one-row, one-channel, unpadded copy of a layer (None: the identity)."""
    import torch
    import torch.nn as nn

    t = spec["type"]
    if t == "conv":
        m = nn.Conv1d(1, 1, spec["k"], stride=spec.get("s", 1), dilation=spec.get("d", 1), bias=False, dtype=torch.float64)
        nn.init.constant_(m.weight, 1.0)  # all positive: no gradient cancels out
        return m
    if t in ("maxpool", "avgpool"):
        # max pooling sends gradient to one position of its window only
        return nn.AvgPool1d(spec["k"], stride=spec.get("s", spec["k"]))
    return None


def footprint_rfs(input_shape, layers, start: int = 32, largest: int = 1 << 16) -> list[int | None]:
    """Receptive field (one side) of a central output unit of every layer, measured as
    the width of its gradient footprint on one row of the input.

    Kernels and strides act on rows and columns alike, so one row of one channel
    holds the whole story. The copy drops all padding: padding moves windows, it does
    not widen them, and without it every output unit's window lies inside the input,
    so no footprint is cut by a border. The input grows until every layer has output.
    """
    import torch

    first_flat = next((i for i, l in enumerate(layers) if l["type"] in ("flatten", "linear")), len(layers))
    mods = [_footprint_layer(spec) for spec in layers[:first_flat]]
    size = start
    while True:
        x = torch.zeros((1, 1, size), dtype=torch.float64, requires_grad=True)
        outs, y = [], x
        try:
            for m in mods:
                y = y if m is None else m(y)
                outs.append(y)
            if all(y.shape[-1] >= 1 for y in outs):
                break
        except RuntimeError:  # a window larger than its input: grow the input
            pass
        if size >= largest:
            raise RuntimeError(f"a layer still has no output at input size {size}")
        size *= 2
    rfs = []
    for y in outs:
        (g,) = torch.autograd.grad(y[0, 0, y.shape[-1] // 2], x, retain_graph=True)
        cols = torch.nonzero(g[0, 0] != 0).flatten()
        rfs.append(int(cols.max()) - int(cols.min()) + 1)
    return rfs + [None] * (len(layers) - first_flat)


def oracle_table(input_shape, layers) -> list[dict]:
    rows = torch_shapes_params_macs(input_shape, layers)
    for row, rf in zip(rows, footprint_rfs(input_shape, layers)):
        row["rf"] = rf
    return rows


# --------------------------------------------------------------------------
# The judge.


def _describe(spec: dict) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}"


def _rows(got, n: int, what: str) -> list[dict]:
    if isinstance(got, Bad):
        raise Fail(got.describe(f"layer_table on {what}"))
    if not isinstance(got, (list, tuple)):
        raise Fail(f"layer_table on {what}: expected a list of dicts, got {type(got).__name__}")
    if len(got) != n:
        raise Fail(f"layer_table on {what}: returned {len(got)} rows for {n} layers (one dict per layer)")
    for i, row in enumerate(got):
        if not isinstance(row, dict):
            raise Fail(f"layer_table on {what}: row {i} is a {type(row).__name__}, not a dict")
        missing = [k for k in KEYS if k not in row]
        if missing:
            raise Fail(f"layer_table on {what}: row {i} has no key(s) {', '.join(repr(k) for k in missing)}")
    return list(got)


def _check_network(ck, got, shape, layers, what: str, weights: dict[str, float]) -> None:
    try:
        rows = _rows(got, len(layers), what)
    except Fail as e:
        with ck.part("layer_table", sum(weights.values())):
            raise e
        return
    want = oracle_table(shape, layers)
    for key in KEYS:
        with ck.part(key, weights[key]):
            for i, (spec, g, w) in enumerate(zip(layers, rows, want)):
                val = g[key]
                if key == "output_shape" and isinstance(val, (list, tuple)):
                    val = tuple(val)
                elif key == "rf" and val is not None and w[key] is None:
                    raise Fail(f"rf of layer {i} ({_describe(spec)}) in {what}: got {val}, expected None "
                               "(no receptive field from the flatten layer on)")
                expect_equal(val, w[key], f"{key} of layer {i} ({_describe(spec)})", f"{what}, input {tuple(shape)}")


# Weights: the seed networks are worth 6 points, the random ones 4 (of 10).
SEED_WEIGHTS = {"output_shape": 1.5, "params": 1.5, "macs": 1.5, "rf": 1.5}
RANDOM_WEIGHTS = {"output_shape": 1.0, "params": 1.0, "macs": 1.0, "rf": 1.0}


def judge(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    seeds = out.get("seed", {}) if isinstance(out.get("seed"), dict) else {}
    nets = seed_networks()
    for name, (shape, layers) in nets.items():
        w = {k: v / len(nets) for k, v in SEED_WEIGHTS.items()}
        _check_network(ck, seeds.get(name, Bad("missing", "no result")), shape, layers, f"the {name}", w)
    rand = out.get("random", {}) if isinstance(out.get("random"), dict) else {}
    for case in range(N_RANDOM):
        shape, layers = random_network(seed, case)
        w = {k: v / N_RANDOM for k, v in RANDOM_WEIGHTS.items()}
        _check_network(ck, rand.get(case, Bad("missing", "no result")), shape, layers, f"random network {case}", w)


ITEMS = [
    Item("hw1.layer_calculator", 10, ("layer_table",), probe, judge,
         title="Layer calculator: output shapes, parameters, multiply-adds, receptive fields", forbid=NUMPY_ONLY),
]
