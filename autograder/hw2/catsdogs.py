"""Cats vs dogs (000 P2): a CNN of convolutions, non-linearities and pooling that the
grader trains itself. The judge half; the probe is ``autograder/probes/hw2/catsdogs.py``.

Student API:
    build_catsdogs_model() -> nn.Module
        (N, 3, 64, 64) float in [0, 1] -> (N, 2) logits, class 0 = cat, 1 = dog; the
        network must use convolutions (nn.Conv2d / F.conv2d), a non-linearity (ReLU or
        another activation) and pooling (max / average / adaptive pooling).

The probe builds the model in the child, records which torch functions its forward
pass calls and which layers it holds, checks the output shape, trains it with the
grader's fixed loop (Adam, one-cycle LR, fixed batch and steps, a CPU-time cap) on the
offline cartoon cats and dogs of ``data_scripts.catsdogs`` drawn from the seed, and
predicts the validation images this judge sends (``Item.give``): 300 images drawn with
a seed derived from the course secret (:func:`autograder.core.held_out_seed`), so the
child cannot regenerate them or their labels; the labels stay here. >= 75 %
validation accuracy is full marks; below that, part of the accuracy points in steps
from 62.5 % (halfway between chance, 50 %, and 75 %) up to 75 %.
"""
from __future__ import annotations

import functools

import numpy as np

from ..core import Bad, Fail, Item, held_out_seed
from ..probes.hw2.catsdogs import CD_CAP_S, CD_EVAL_KEYS, CD_STEPS, probe_model
from .common import checking, part
from .digits import accuracy_tiers, fail_all, judge_build, predictions, speed_part, training_result

CD_VAL = 300
CD_THRESHOLD = 0.75
CATSDOGS_MODEL = "hw2.catsdogs_model"

ACTIVATIONS = {
    "relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "gelu", "elu", "elu_", "selu", "selu_", "celu", "celu_",
    "silu", "mish", "hardswish", "hardsigmoid", "hardtanh", "hardtanh_", "sigmoid", "sigmoid_", "tanh", "tanh_",
    "softplus", "prelu", "rrelu", "rrelu_", "logsigmoid", "softsign", "tanhshrink", "threshold", "threshold_",
    "glu", "clamp", "clamp_", "clamp_min", "clamp_min_", "clip", "clip_", "maximum",
}
CONVS = {"conv2d", "convolution", "_convolution"}


@functools.lru_cache(maxsize=4)
def _held_out_set(hseed: int) -> tuple[np.ndarray, np.ndarray]:
    from data_scripts.catsdogs import catsdogs_arrays

    return catsdogs_arrays(CD_VAL, seed=hseed)


def held_out_catsdogs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The validation images (uint8 (300, 64, 64, 3)), drawn with a seed only the judge
    knows, and their labels (0 cat, 1 dog)."""
    return _held_out_set(held_out_seed(CATSDOGS_MODEL, seed))


def give_model(seed: int) -> dict:
    """What the probe gets: the images alone."""
    return {CD_EVAL_KEYS[0]: held_out_catsdogs(seed)[0]}


def structure(out: dict) -> dict:
    """Which of conv / non-linearity / pooling the network uses."""
    layers = out.get("layers") if isinstance(out.get("layers"), dict) else {}
    calls = out.get("calls") if isinstance(out.get("calls"), list) else []
    calls = {c for c in calls if isinstance(c, str)}
    return {
        "convolution": layers.get("conv") is True or bool(calls & CONVS),
        "non-linearity": layers.get("activation") is True or bool(calls & ACTIVATIONS),
        "pooling": layers.get("pool") is True or any("pool" in c for c in calls),
    }


def judge_model(out, seed, ck):
    fn = "build_catsdogs_model"
    out = out if isinstance(out, dict) else {}
    parts = [(f"`{fn}` training time", 1.0), (f"`{fn}` validation accuracy", 4.0)]
    if isinstance(out.get("build"), Bad) or "build" not in out:
        judge_build(out, fn, 2, ck, 1.0, 1.0 + sum(w for _, w in parts))
        return
    with part(ck, f"`{fn}` layers", 1.0, f"{fn}(): the network's layers"):
        if isinstance(out.get("calls"), Bad) and not out.get("layers"):
            raise Fail(out["calls"].describe(f"{fn}(): the forward pass"))
        missing = [k for k, ok in structure(out).items() if not ok]
        if missing:
            raise Fail(f"{fn}(): the network uses no {' and no '.join(missing)}; it must combine "
                       "convolutions (nn.Conv2d), a non-linearity (nn.ReLU or F.relu...) and pooling "
                       "(nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d...)")
    if not judge_build(out, fn, 2, ck, 1.0, sum(w for _, w in parts)):
        return
    res = training_result(out, fn, ck, parts)
    if res is None:
        return
    note = speed_part(ck, res, fn, CD_STEPS, CD_CAP_S, 1.0)
    y_val = held_out_catsdogs(seed)[1]
    try:
        with checking("the predictions"):
            acc = float(np.mean(predictions(res, 0, len(y_val), 2) == y_val))
    except Fail as e:
        fail_all(ck, parts[1:], f"{fn}(): {e}")
        return
    accuracy_tiers(ck, parts[1][0], acc, 0.5, CD_THRESHOLD, 4.0, 4,
                   f"{fn}(): validation accuracy ({len(y_val)} images)", note)


ITEMS = [
    Item(CATSDOGS_MODEL, 8, ("build_catsdogs_model",), probe_model, judge_model,
         title="Cats vs dogs: a CNN (conv, non-linearity, pooling) the grader trains to >= 75 % validation accuracy",
         timeout=90, memory_mb=3072, give=give_model),
]
