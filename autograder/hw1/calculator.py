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
The networks (the seed questions' and the random ones) and the probe are in
:mod:`autograder.probes.hw1.calculator`.

Conventions: pooling output sizes rounded down (PyTorch's default) or up (Caffe,
``ceil_mode=True``), and BatchNorm's parameters (2C in PyTorch's ``parameters()``; 4C
in Keras's summary, which counts the running statistics). A column that follows
another convention throughout passes the main parts of its network; each convention
is a small part of its own (a quarter of its key's weight) whose reason names both.
"""
from __future__ import annotations

from .. import core
from ..core import Bad, Fail, Item
from ..judging import footprint_rfs, torch_shapes_params_macs
from ..probes.hw1.calculator import N_RANDOM, probe, random_network, seed_networks
from .common import NUMPY_ONLY, expect_equal, field

KEYS = ("output_shape", "params", "macs", "rf")
FN = "`layer_table`"


# --------------------------------------------------------------------------
# The oracle (judge side only: torch): the layer oracles of the judges' toolkit.


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
        raise Fail(got.describe(f"{FN} on {what}"))
    if not isinstance(got, (list, tuple)):
        raise Fail(f"{FN} on {what}: expected a list of dicts, got {type(got).__name__}")
    if len(got) != n:
        raise Fail(f"{FN} on {what}: returned {len(got)} rows for {n} layers (one dict per layer)")
    for i, row in enumerate(got):
        if not isinstance(row, dict):
            raise Fail(f"{FN} on {what}: row {i} is a {type(row).__name__}, not a dict")
        missing = [k for k in KEYS if k not in row]
        if missing:
            raise Fail(f"{FN} on {what}: row {i} has no key(s) {', '.join(repr(k) for k in missing)}")
    return list(got)


ROUNDING = ("pooling output sizes are rounded down, floor((n + 2p - k) / s) + 1, as PyTorch does by default "
            "(ceil_mode=False); Caffe and ceil_mode=True round up")
BN_PARAMS = ("BatchNorm has 2C parameters (gamma and beta: what PyTorch's layer.parameters() holds); Keras's "
             "model.summary() also counts the running mean and variance, 4C, as non-trainable parameters")


def _variants(shape, layers, want: list[dict]) -> dict[str, list[dict]]:
    """The table under the other conventions this item knows: pooling in ceil mode, and
    BatchNorm counted with its running statistics (Keras), alone and together."""
    out = {}
    if any(l["type"] in ("maxpool", "avgpool") for l in layers):
        ceil = torch_shapes_params_macs(shape, layers, ceil=True)
        if [r["output_shape"] for r in ceil] != [r["output_shape"] for r in want]:
            out["ceil"] = ceil
    if any(l["type"] == "bn" for l in layers):
        for name, table in [("", want)] + list(out.items()):
            keras = [dict(r, params=2 * r["params"]) if l["type"] == "bn" else r for l, r in zip(layers, table)]
            out[f"{name} keras".strip()] = keras
    return out


def _column(rows: list[dict], key: str) -> list:
    col = []
    for r in rows:
        v = r[key]
        col.append(tuple(v) if key == "output_shape" and isinstance(v, (list, tuple)) else v)
    return col


def _same_column(rows: list[dict], table: list[dict], key: str) -> bool:
    """Whether the student's column ``key`` equals the table's, layer by layer (never raises)."""
    try:
        for g, w in zip(_column(rows, key), table):
            core.expect_equal(g, w[key], "")
        return True
    except Exception:  # noqa: BLE001 -- a wrong or odd value: not the same
        return False


def _check_network(ck, got, shape, layers, what: str, weights: dict[str, float]) -> None:
    try:
        rows = _rows(got, len(layers), what)
    except Fail as e:
        with ck.part(FN, sum(weights.values())):
            raise e
        return
    want = oracle_table(shape, layers)
    others = _variants(shape, layers, want)
    ctx = f"{what}, input {tuple(shape)}"
    for key in KEYS:
        with ck.part(f"{FN} {key}", weights[key]):
            # A column that follows one of the other conventions throughout passes here:
            # the convention costs its own part below.
            if key != "rf" and any(_same_column(rows, table, key) for table in others.values()):
                continue
            for i, (spec, g, w) in enumerate(zip(layers, rows, want)):
                val = g[key]
                if key == "output_shape" and isinstance(val, (list, tuple)):
                    val = tuple(val)
                elif key == "rf" and val is not None and w[key] is None:
                    raise Fail(f"{FN}: rf of layer {i} {_describe(spec)}: got {val}, expected None "
                               f"(no receptive field from the flatten layer on) ({ctx})")
                expect_equal(val, w[key], f"{FN}: {key} of layer {i} {_describe(spec)}", ctx)
    if "ceil" in others:
        with ck.part(f"{FN} pooling output sizes (convention: floor, not ceil mode)", weights["output_shape"] / 4):
            if _same_column(rows, others["ceil"], "output_shape"):
                raise Fail(f"{FN}: your output shapes round the pooling layers' sizes up: {ROUNDING} ({ctx})")
            for i, (spec, g, w) in enumerate(zip(layers, rows, want)):
                if spec["type"] in ("maxpool", "avgpool"):
                    val = g["output_shape"]
                    expect_equal(tuple(val) if isinstance(val, (list, tuple)) else val, w["output_shape"],
                                 f"{FN}: output_shape of layer {i} {_describe(spec)}", f"{ctx}; {ROUNDING}")
    if any(l["type"] == "bn" for l in layers):
        with ck.part(f"{FN} BatchNorm parameters (convention: PyTorch's 2C, not Keras's 4C)", weights["params"] / 4):
            for i, (spec, g, w) in enumerate(zip(layers, rows, want)):
                if spec["type"] == "bn":
                    if g["params"] == 2 * w["params"]:
                        raise Fail(f"{FN}: params of layer {i} {_describe(spec)}: got {g['params']}, expected "
                                   f"{w['params']}: {BN_PARAMS} ({ctx})")
                    expect_equal(g["params"], w["params"], f"{FN}: params of layer {i} {_describe(spec)}", f"{ctx}; {BN_PARAMS}")


# Weights: the seed networks are worth 60 % of the item, the random ones 40 %.
SEED_WEIGHTS = {"output_shape": 1.5, "params": 1.5, "macs": 1.5, "rf": 1.5}
RANDOM_WEIGHTS = {"output_shape": 1.0, "params": 1.0, "macs": 1.0, "rf": 1.0}


def judge(out, seed, ck):
    seeds = field(out, "seed")
    nets = seed_networks()
    for name, (shape, layers) in nets.items():
        w = {k: v / len(nets) for k, v in SEED_WEIGHTS.items()}
        _check_network(ck, field(seeds, name), shape, layers, f"the {name}", w)
    rand = field(out, "random")
    for case in range(N_RANDOM):
        shape, layers = random_network(seed, case)
        w = {k: v / N_RANDOM for k, v in RANDOM_WEIGHTS.items()}
        _check_network(ck, field(rand, case), shape, layers, f"random network {case + 1} of {N_RANDOM}", w)


ITEMS = [
    Item("hw1.layer_calculator", 8, ("layer_table",), probe, judge,
         title="Layer calculator: output shapes, parameters, multiply-adds, receptive fields", forbid=NUMPY_ONLY),
]
