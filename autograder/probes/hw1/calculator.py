"""Probe half of the layer calculator: the seed questions' networks, random networks
built from the seed (specs in the notebook's format), and what the student's
``layer_table`` returns for each. Everything here is plain Python and NumPy."""
from __future__ import annotations

import copy

from autograder.probes.kit.seeds import rng as seeded

ACTIVATIONS = ("relu", "leakyrelu", "sigmoid", "tanh", "gelu", "elu")
N_RANDOM = 50


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
# Random specs (NumPy only). The generator follows the spatial size through the
# layers only to skip a layer that would leave less than 2 x 2 pixels.


def _out_size(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def random_network(seed: int, case: int) -> tuple[tuple[int, int, int], list[dict]]:
    rng = seeded(seed, 90, case)
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


def probe(ns, seed):
    out = {"seed": {}, "random": {}}
    for name, (shape, layers) in seed_networks().items():
        out["seed"][name] = ns.call("layer_table", tuple(shape), copy.deepcopy(layers))
    for case in range(N_RANDOM):
        shape, layers = random_network(seed, case)
        out["random"][case] = ns.call("layer_table", tuple(shape), copy.deepcopy(layers))
    return out
