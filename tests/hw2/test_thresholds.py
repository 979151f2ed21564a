"""The accuracy thresholds of the two trained-model items are meaningful:

* the reference models (the notebook's solutions) clear them with a margin on every
  grading seed: digits >= 95 % on the held-out and the training scans (threshold 90 %),
  cats vs dogs >= 85 % validation accuracy (threshold 75 %);
* a deliberately weak model, one linear layer on the flattened pixels, misses them on
  every seed, with a margin too (the generators vary colours, positions and sizes so
  that no pixel tells the classes apart);
* the judges score from the predictions alone and survive hostile results.

The models are trained exactly as the graders do it: the item's probe runs in a
forked child on the reference cells (plus the mutant's cell), and the accuracies are
computed here from the labels the judge rebuilds.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from autograder.core import Bad, Checker, find_item
from autograder.grading import _prepare_parent
from autograder.hw2 import catsdogs, digits
from autograder.notebook import extract
from autograder.sandbox import Namespace, load_definitions, run_child, seed_everything
from tests.kit import SEEDS, cases, reference_cells

LINEAR = "one linear layer on the pixels"


def _code(item: str, variant: str) -> list[str]:
    cells = reference_cells("hw2")
    if variant == "reference":
        return cells
    return cells + [cases("hw2")[0][item][variant]]


@functools.lru_cache(maxsize=None)
def _run(item_id: str, variant: str, seed: int) -> dict:
    """The probe's result (plain data) and the points the judge gives it."""
    _prepare_parent()
    item = find_item(item_id)
    snippets = extract(_code(item_id, variant)).snippets

    def body():
        ns: dict = {"__name__": "__submission__"}
        load_definitions(snippets, ns)
        seed_everything(seed, with_torch=True)
        return item.probe(Namespace(ns), seed)

    outcome = run_child(body, timeout=item.timeout, memory_mb=item.memory_mb)
    assert outcome.status == "ok", f"{item_id} {variant} seed {seed}: {outcome.status} {outcome.stderr_tail[-400:]}"
    ck = Checker(item.points)
    item.judge(outcome.payload, seed, ck)
    points, reason = ck.result()
    return {"out": outcome.payload, "points": points, "reason": reason, "max": item.points}


def _digits_accuracy(out: dict, seed: int) -> tuple[float, float]:
    labels = digits._digits_labels()
    train, test = digits.grader_split(labels, seed)
    y_test = np.concatenate([labels[test] - 1] * digits.DIGIT_TEST_RENDERS)
    preds = out["train"]["preds"]
    return float(np.mean(preds[0] == y_test)), float(np.mean(preds[1] == labels[train] - 1))


def _catsdogs_accuracy(out: dict, seed: int) -> float:
    from data_scripts.catsdogs import catsdogs_labels

    y_val = catsdogs_labels(catsdogs.CD_VAL, seed=catsdogs._seeds(seed)[1])
    return float(np.mean(out["train"]["preds"][0] == y_val))


@pytest.mark.parametrize("seed", SEEDS)
def test_digits_reference_clears_90_percent_with_margin(seed):
    r = _run("hw2.digits_model", "reference", seed)
    test_acc, train_acc = _digits_accuracy(r["out"], seed)
    assert r["out"]["train"]["status"] == "finished", r["out"]["train"]
    assert test_acc >= 0.95 and train_acc >= 0.95, (test_acc, train_acc)
    assert r["points"] == r["max"], r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
def test_digits_linear_model_misses_90_percent(seed):
    r = _run("hw2.digits_model", LINEAR, seed)
    test_acc, _ = _digits_accuracy(r["out"], seed)
    assert test_acc < 0.8, test_acc
    assert r["points"] < r["max"] / 2, r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
def test_catsdogs_reference_clears_75_percent_with_margin(seed):
    r = _run("hw2.catsdogs_model", "reference", seed)
    assert r["out"]["train"]["status"] == "finished", r["out"]["train"]
    assert _catsdogs_accuracy(r["out"], seed) >= 0.85
    assert r["points"] == r["max"], r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
def test_catsdogs_linear_model_misses_75_percent(seed):
    r = _run("hw2.catsdogs_model", LINEAR, seed)
    assert _catsdogs_accuracy(r["out"], seed) < 0.65
    assert r["points"] < r["max"] / 2, r["reason"]


# --------------------------------------------------------------------------
# The judges alone, on made-up results (no training).


def _digits_out(seed: int, acc_test: float, acc_train: float, status: str = "finished") -> dict:
    labels = digits._digits_labels()
    train, test = digits.grader_split(labels, seed)
    rng = np.random.default_rng(0)

    def preds(y, acc):
        p = y.copy()
        wrong = rng.permutation(len(y))[: int(round((1 - acc) * len(y)))]
        p[wrong] = (p[wrong] + 1) % 4
        return p

    y_test = np.concatenate([labels[test] - 1] * digits.DIGIT_TEST_RENDERS)
    return {"build": "ok", "params": 10, "shapes": {1: [1, 4], 5: [5, 4]},
            "train": {"status": status, "steps": digits.DIGIT_STEPS, "seconds": 1.0, "loss_start": 1.0, "loss_end": 0.1,
                      "preds": [preds(y_test, acc_test), preds(labels[train] - 1, acc_train)]}}


def _judge(item_id: str, out, seed: int = SEEDS[0]) -> tuple[float, str]:
    item = find_item(item_id)
    ck = Checker(item.points)
    item.judge(out, seed, ck)
    return ck.result()


def test_digits_judge_scores_by_accuracy():
    full, _ = _judge("hw2.digits_model", _digits_out(SEEDS[0], 0.95, 0.97))
    assert full == 8
    mid, reason = _judge("hw2.digits_model", _digits_out(SEEDS[0], 0.80, 0.97))
    assert 2 < mid < 8 and "below the 90% needed" in reason
    low, _ = _judge("hw2.digits_model", _digits_out(SEEDS[0], 0.55, 0.60))
    assert low < mid
    slow, reason = _judge("hw2.digits_model", _digits_out(SEEDS[0], 0.95, 0.97, status="capped"))
    assert slow < 8 and "too slow" in reason


def test_catsdogs_judge_needs_conv_nonlinearity_and_pooling():
    from data_scripts.catsdogs import catsdogs_labels

    y = catsdogs_labels(catsdogs.CD_VAL, seed=catsdogs._seeds(SEEDS[0])[1])
    base = {"build": "ok", "params": 10, "shapes": {1: [1, 2], 5: [5, 2]},
            "layers": {"conv": False, "activation": False, "pool": False},
            "calls": ["conv2d", "relu", "max_pool2d", "linear"],
            "train": {"status": "finished", "steps": catsdogs.CD_STEPS, "seconds": 1.0, "loss_start": 0.7,
                      "loss_end": 0.1, "preds": [y.copy()]}}
    assert _judge("hw2.catsdogs_model", base)[0] == 8
    for missing, name in (("conv2d", "convolution"), ("relu", "non-linearity"), ("max_pool2d", "pooling")):
        out = dict(base, calls=[c for c in base["calls"] if c != missing])
        pts, reason = _judge("hw2.catsdogs_model", out)
        assert pts < 8 and f"no {name}" in reason
    chance = dict(base, train=dict(base["train"], preds=[np.zeros_like(y)]))
    assert _judge("hw2.catsdogs_model", chance)[0] < 4


@pytest.mark.parametrize("item_id", ["hw2.digits_labels", "hw2.digits_split", "hw2.digits_augment",
                                     "hw2.digits_model", "hw2.catsdogs_model"])
@pytest.mark.parametrize("out", [None, 7, "x", [], {}, Bad("error", "RuntimeError: boom"),
                                 {"build": "ok", "shapes": {1: "NaN/inf"}},
                                 {"build": "ok", "shapes": {1: [1, 4], 5: [5, 4]}, "train": {"preds": "x"}},
                                 {"build": "ok", "shapes": {1: [1, 2], 5: [5, 2]}, "train": {"preds": [np.ones(3)]}},
                                 {False: [[{"tensor": True}]], True: Bad("error", "x")},
                                 {"default": [np.arange(3), "x"]}])
def test_judges_survive_hostile_results(item_id, out):
    pts, reason = _judge(item_id, out)
    assert pts < find_item(item_id).points and reason
