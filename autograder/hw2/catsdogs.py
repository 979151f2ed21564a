"""Cats vs dogs (000 P2): a CNN of convolutions, non-linearities and pooling that the
grader trains itself.

Student API:
    build_catsdogs_model() -> nn.Module
        (N, 3, 64, 64) float in [0, 1] -> (N, 2) logits, class 0 = cat, 1 = dog; the
        network must use convolutions (nn.Conv2d / F.conv2d), a non-linearity (ReLU or
        another activation) and pooling (max / average / adaptive pooling).

The probe builds the model in the child, records which torch functions its forward
pass calls (through a ``TorchFunctionMode``, so ``F.relu`` counts as much as
``nn.ReLU``) and which layers it holds, checks the output shape, trains it with the
grader's fixed loop (``digits.train_and_predict``: Adam, one-cycle LR, fixed batch and
steps, a wall-clock cap) on the offline cartoon cats and dogs of
``data_scripts.catsdogs`` drawn from the seed, and returns its predictions on a
validation set drawn from another seed. The judge rebuilds those labels itself:
>= 75 % validation accuracy is full marks; below that, part of the accuracy points in
steps from 62.5 % (halfway between chance, 50 %, and 75 %) up to 75 %.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item
from .digits import (accuracy_tiers, build_model, fail_all, judge_build, output_shapes, param_count, predictions,
                     speed_part, train_and_predict)

CD_TRAIN = 1000
CD_VAL = 400
CD_STEPS = 300
CD_CAP_S = 30.0
CD_THRESHOLD = 0.75

ACTIVATIONS = {
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "gelu", "elu", "elu_", "selu", "selu_", "celu", "celu_",
    "silu", "mish", "hardswish", "hardsigmoid", "hardtanh", "hardtanh_", "sigmoid", "sigmoid_", "tanh", "tanh_",
    "softplus", "prelu", "rrelu", "rrelu_", "logsigmoid", "softsign", "tanhshrink", "threshold", "threshold_",
    "glu", "clamp", "clamp_", "clamp_min", "clamp_min_", "clip", "clip_", "maximum",
}
CONVS = {"conv2d", "convolution", "_convolution"}


def _seeds(seed: int) -> tuple[int, int]:
    return 3 * int(seed) + 1, 3 * int(seed) + 2


def _calls(ns, model) -> list | Bad:
    """Names of the torch functions one forward pass calls (child side)."""
    import torch
    from torch.overrides import TorchFunctionMode

    class Record(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.names: list[str] = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", None) or repr(func)
            if len(self.names) < 5000:
                self.names.append(str(name)[:60])
            return func(*args, **(kwargs or {}))

    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    rec = Record()

    def run():
        with torch.no_grad(), rec:
            model(x)
        return sorted(set(rec.names))

    return ns.guard(run)


def _layers(model) -> dict:
    import torch.nn as nn

    kinds = {"conv": False, "activation": False, "pool": False}
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            kinds["conv"] = True
        if type(m).__module__ == "torch.nn.modules.activation" and not isinstance(m, (nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.MultiheadAttention)):
            kinds["activation"] = True
        if type(m).__module__ == "torch.nn.modules.pooling":
            kinds["pool"] = True
    return kinds


def probe_model(ns, seed):
    from data_scripts.catsdogs import catsdogs_arrays

    model = build_model(ns, "build_catsdogs_model", seed)
    if isinstance(model, Bad):
        return {"build": model}
    out = {"build": "ok", "params": param_count(model), "layers": _layers(model)}
    model.eval()
    out["calls"] = _calls(ns, model)
    out["shapes"] = output_shapes(ns, model, 2, seed)
    if any(isinstance(s, Bad) or s != [n, 2] for n, s in out["shapes"].items()):
        return out
    s_train, s_val = _seeds(seed)
    x_train, y_train = catsdogs_arrays(CD_TRAIN, seed=s_train)
    x_val, _ = catsdogs_arrays(CD_VAL, seed=s_val)
    out["train"] = ns.guard(train_and_predict, model, x_train, y_train, [x_val], CD_STEPS, seed, CD_CAP_S, 2)
    return out


def structure(out: dict) -> dict:
    """Which of conv / non-linearity / pooling the network uses (parent side)."""
    layers = out.get("layers") if isinstance(out.get("layers"), dict) else {}
    calls = out.get("calls") if isinstance(out.get("calls"), list) else []
    calls = {c for c in calls if isinstance(c, str)}
    return {
        "convolution": bool(layers.get("conv")) or bool(calls & CONVS),
        "non-linearity": bool(layers.get("activation")) or bool(calls & ACTIVATIONS),
        "pooling": bool(layers.get("pool")) or any("pool" in c for c in calls),
    }


def judge_model(out, seed, ck):
    from data_scripts.catsdogs import catsdogs_labels

    out = out if isinstance(out, dict) else {}
    parts = [("time", 1.0), ("validation accuracy", 4.0)]
    if isinstance(out.get("build"), Bad) or "build" not in out:
        judge_build(out, "build_catsdogs_model", 2, ck, 1.0, 1.0 + sum(w for _, w in parts))
        return
    with ck.part("layers", 1.0):
        if isinstance(out.get("calls"), Bad) and not out.get("layers"):
            raise Fail(out["calls"].describe("build_catsdogs_model(): the forward pass"))
        missing = [k for k, ok in structure(out).items() if not ok]
        if missing:
            raise Fail(f"build_catsdogs_model(): the network uses no {' and no '.join(missing)}; it must combine "
                       "convolutions (nn.Conv2d), a non-linearity (nn.ReLU or F.relu...) and pooling "
                       "(nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d...)")
    if not judge_build(out, "build_catsdogs_model", 2, ck, 1.0, sum(w for _, w in parts)):
        return
    res = out.get("train")
    if not isinstance(res, dict):
        why = res.describe("build_catsdogs_model(): training your model") if isinstance(res, Bad) else "the model was not trained"
        fail_all(ck, parts, why)
        return
    note = speed_part(ck, res, CD_STEPS, CD_CAP_S, 1.0)
    y_val = catsdogs_labels(CD_VAL, seed=_seeds(seed)[1])
    try:
        acc = float(np.mean(predictions(res, 0, len(y_val), 2) == y_val))
    except Fail as e:
        fail_all(ck, parts[1:], f"build_catsdogs_model: {e}")
        return
    accuracy_tiers(ck, "validation accuracy", acc, 0.5, CD_THRESHOLD, 4.0, 4,
                   f"validation accuracy ({len(y_val)} images)", note)


ITEMS = [
    Item("hw2.catsdogs_model", 8, ("build_catsdogs_model",), probe_model, judge_model,
         title="Cats vs dogs: a CNN (conv, non-linearity, pooling) the grader trains to >= 75 % validation accuracy",
         timeout=90, memory_mb=3072),
]
