"""The accuracy thresholds of the two trained-model items are meaningful:

* the reference models (the notebook's solutions) clear them with a margin on every
  grading seed: digits >= 95 % on the held-out and the training scans (threshold 90 %),
  cats vs dogs >= 85 % validation accuracy (threshold 75 %);
* a deliberately weak model, one linear layer on the flattened pixels, misses them on
  every seed, with a margin too (the generators vary colours, positions and sizes so
  that no pixel tells the classes apart);
* the judges score from the predictions alone and survive hostile results.

The models are trained exactly as the graders do it: the item's probe (from the probe
registry) runs in a forked child on the reference cells (plus the mutant's cell), with
the held-out images the judge gives it, and the accuracies are computed here from the
labels only the judge holds. The held-out images come from a seed derived from the
course secret: regenerating the evaluation data from the public seed (what a hostile
child could do) earns nothing.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from autograder.core import Bad, Checker, find_item
from tests.forked import prepare_parent as _prepare_parent
from autograder.hw2 import catsdogs, digits
from autograder.notebook import extract
from autograder.probes.hw2 import PROBES
from tests.forked import Namespace, load_definitions, run_child, seed_everything
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
    given = item.give(seed) if item.give else None
    probe = PROBES[item_id]

    def body():
        ns: dict = {"__name__": "__submission__"}
        load_definitions(snippets, ns)
        seed_everything(seed, with_torch=True)
        return probe(Namespace(ns, given), seed)

    outcome = run_child(body, timeout=item.timeout, memory_mb=item.memory_mb)
    assert outcome.status == "ok", f"{item_id} {variant} seed {seed}: {outcome.status} {outcome.stderr_tail[-400:]}"
    ck = Checker(item.points)
    item.judge(outcome.payload, seed, ck)
    points, reason = ck.result()
    return {"out": outcome.payload, "points": points, "reason": reason, "max": item.points}


def _digits_accuracy(out: dict, seed: int) -> tuple[float, float]:
    sets = digits.held_out_digits(seed)
    preds = out["train"]["preds"]
    return float(np.mean(preds[0] == sets["test"][1])), float(np.mean(preds[1] == sets["train"][1]))


def _catsdogs_accuracy(out: dict, seed: int) -> float:
    return float(np.mean(out["train"]["preds"][0] == catsdogs.held_out_catsdogs(seed)[1]))


ACCURACIES: dict = {}  # (item, variant, seed) -> accuracies, printed with -s by the last test


def _note(key, value):
    ACCURACIES[key] = value
    print(key, value)


@pytest.mark.parametrize("seed", SEEDS)
def test_digits_reference_clears_90_percent_with_margin(seed):
    r = _run("hw2.digits_model", "reference", seed)
    test_acc, train_acc = _digits_accuracy(r["out"], seed)
    _note(("digits", "reference", seed), (test_acc, train_acc))
    assert r["out"]["train"]["status"] == "finished", r["out"]["train"]
    assert test_acc >= 0.95 and train_acc >= 0.95, (test_acc, train_acc)
    assert r["points"] == r["max"], r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
def test_digits_linear_model_misses_90_percent(seed):
    r = _run("hw2.digits_model", LINEAR, seed)
    test_acc, train_acc = _digits_accuracy(r["out"], seed)
    _note(("digits", LINEAR, seed), (test_acc, train_acc))
    assert test_acc < 0.8, test_acc
    assert r["points"] < r["max"] / 2, r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
def test_catsdogs_reference_clears_75_percent_with_margin(seed):
    r = _run("hw2.catsdogs_model", "reference", seed)
    assert r["out"]["train"]["status"] == "finished", r["out"]["train"]
    _note(("catsdogs", "reference", seed), _catsdogs_accuracy(r["out"], seed))
    assert _catsdogs_accuracy(r["out"], seed) >= 0.85
    assert r["points"] == r["max"], r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
def test_catsdogs_linear_model_misses_75_percent(seed):
    r = _run("hw2.catsdogs_model", LINEAR, seed)
    _note(("catsdogs", LINEAR, seed), _catsdogs_accuracy(r["out"], seed))
    assert _catsdogs_accuracy(r["out"], seed) < 0.65
    assert r["points"] < r["max"] / 2, r["reason"]


# --------------------------------------------------------------------------
# The judges alone, on made-up results (no training).


def _flip(y: np.ndarray, acc: float, n_classes: int, rng) -> np.ndarray:
    p = y.copy()
    wrong = rng.permutation(len(y))[: int(round((1 - acc) * len(y)))]
    p[wrong] = (p[wrong] + 1) % n_classes
    return p


def _digits_out(seed: int, acc_test: float, acc_train: float, status: str = "finished") -> dict:
    sets = digits.held_out_digits(seed)
    rng = np.random.default_rng(0)
    return {"build": "ok", "params": 10, "shapes": {1: [1, 4], 5: [5, 4]},
            "train": {"status": status, "steps": digits.DIGIT_STEPS, "seconds": 1.0, "loss_start": 1.0, "loss_end": 0.1,
                      "preds": [_flip(sets["test"][1], acc_test, 4, rng), _flip(sets["train"][1], acc_train, 4, rng)]}}


def _judge(item_id: str, out, seed: int = SEEDS[0]) -> tuple[float, str]:
    item = find_item(item_id)
    ck = Checker(item.points)
    item.judge(out, seed, ck)
    return ck.result()


def test_digits_judge_scores_by_accuracy():
    full, _ = _judge("hw2.digits_model", _digits_out(SEEDS[0], 0.95, 0.97))
    assert full == 8
    mid, reason = _judge("hw2.digits_model", _digits_out(SEEDS[0], 0.80, 0.97))
    assert 2 < mid < 8 and "below the 90% needed" in reason and "build_digits_model" in reason
    low, _ = _judge("hw2.digits_model", _digits_out(SEEDS[0], 0.55, 0.60))
    assert low < mid
    slow, reason = _judge("hw2.digits_model", _digits_out(SEEDS[0], 0.95, 0.97, status="capped"))
    assert slow < 8 and "too slow" in reason


def _catsdogs_base(seed: int = SEEDS[0]) -> dict:
    y = catsdogs.held_out_catsdogs(seed)[1]
    return {"build": "ok", "params": 10, "shapes": {1: [1, 2], 5: [5, 2]},
            "layers": {"conv": False, "activation": False, "pool": False},
            "calls": ["conv2d", "relu", "max_pool2d", "linear"],
            "train": {"status": "finished", "steps": catsdogs.CD_STEPS, "seconds": 1.0, "loss_start": 0.7,
                      "loss_end": 0.1, "preds": [y.copy()]}}


def test_catsdogs_judge_needs_conv_nonlinearity_and_pooling():
    base = _catsdogs_base()
    assert _judge("hw2.catsdogs_model", base)[0] == 8
    for missing, name in (("conv2d", "convolution"), ("relu", "non-linearity"), ("max_pool2d", "pooling")):
        out = dict(base, calls=[c for c in base["calls"] if c != missing])
        pts, reason = _judge("hw2.catsdogs_model", out)
        assert pts < 8 and f"no {name}" in reason and "build_catsdogs_model" in reason
    chance = dict(base, train=dict(base["train"], preds=[np.zeros(len(base["train"]["preds"][0]), dtype=np.int64)]))
    assert _judge("hw2.catsdogs_model", chance)[0] < 4


# --------------------------------------------------------------------------
# Rule 4: the evaluation data comes from the judge, drawn from a seed the child cannot know.


def test_regenerating_the_evaluation_data_from_the_public_seed_earns_nothing():
    """The old attack: rebuild the evaluation labels from the public seed and return them."""
    from data_scripts.catsdogs import catsdogs_labels

    seed = SEEDS[0]
    labels = digits.digits_labels()
    train, test = digits.grader_split(labels, seed)
    forged = {"build": "ok", "params": 10, "shapes": {1: [1, 4], 5: [5, 4]},
              "train": {"status": "finished", "steps": digits.DIGIT_STEPS, "seconds": 1.0,
                        "preds": [np.concatenate([labels[test] - 1] * digits.DIGIT_TEST_RENDERS),
                                  (labels[train] - 1)[: digits.DIGIT_TRAIN_EVAL]]}}
    pts, reason = _judge("hw2.digits_model", forged)
    assert pts == round(8 * 2 / 7, 2), reason  # the model and time parts only (weights 1 + 1 of 7)
    y_public = catsdogs_labels(catsdogs.CD_VAL, seed=3 * seed + 2)
    out = dict(_catsdogs_base(), train=dict(_catsdogs_base()["train"], preds=[y_public]))
    pts, reason = _judge("hw2.catsdogs_model", out)
    assert pts == round(8 * 3 / 7, 2), reason  # layers, model and time only (weights 1 + 1 + 1 of 7)


@pytest.mark.parametrize("item_id", ["hw2.digits_model", "hw2.catsdogs_model"])
def test_given_is_small_plain_images_without_labels(item_id):
    item = find_item(item_id)
    given = item.give(SEEDS[0])
    assert isinstance(given, dict) and given
    total = 0
    for key, x in given.items():
        assert isinstance(key, str)
        assert isinstance(x, np.ndarray) and x.dtype == np.uint8 and x.ndim == 4 and x.shape[1:] == (64, 64, 3)
        total += x.nbytes
    assert total <= 5 * 2**20, total  # a few MB at most


@pytest.mark.parametrize("item_id", ["hw2.digits_model", "hw2.catsdogs_model"])
def test_held_out_set_depends_on_the_course_secret(item_id, monkeypatch):
    item = find_item(item_id)
    monkeypatch.delenv("COURSE_KIT_SECRET_FILE", raising=False)
    monkeypatch.setenv("COURSE_KIT_SECRET", "one secret")
    a = item.give(SEEDS[0])
    assert all(np.array_equal(a[k], v) for k, v in item.give(SEEDS[0]).items())  # deterministic
    monkeypatch.setenv("COURSE_KIT_SECRET", "another secret")
    b = item.give(SEEDS[0])
    assert a.keys() == b.keys()
    for k in a:
        assert np.mean(a[k] != b[k]) > 0.5


def test_held_out_digits_are_drawn_anew_and_shuffled():
    from autograder.probes.hw2.digits import render_seed
    from data_scripts.digits14 import digits14_arrays

    seed = SEEDS[0]
    sets = digits.held_out_digits(seed)
    labels = digits.digits_labels()
    train, test = digits.grader_split(labels, seed)
    x_test, y_test = sets["test"]
    assert len(y_test) == digits.DIGIT_TEST_RENDERS * len(test)
    assert sorted(y_test.tolist()) == sorted(np.concatenate([labels[test] - 1] * digits.DIGIT_TEST_RENDERS).tolist())
    assert not np.array_equal(y_test, np.concatenate([labels[test] - 1] * digits.DIGIT_TEST_RENDERS))  # shuffled
    public = digits14_arrays(render_seed(seed, 0))[0]  # what the child draws for training
    drawn = {bytes(img) for img in public[test]}
    assert not any(bytes(img) in drawn for img in x_test)


# --------------------------------------------------------------------------
# Hostile results: every HW2 judge survives anything plain data can hold.

HW2_ITEMS = [it.id for it in __import__("autograder.hw2", fromlist=["ITEMS"]).ITEMS]
FUNCTIONS = {it.id: it.functions for it in __import__("autograder.hw2", fromlist=["ITEMS"]).ITEMS}
HOSTILE = [None, 7, "x", [], {}, 1.5, float("nan"), np.zeros(()), np.full((3, 4), np.nan), Bad("error", "RuntimeError: boom"),
           {"build": "ok", "shapes": {1: "NaN/inf"}},
           {"build": "ok", "shapes": {1: [1, 4], 5: [5, 4]}, "train": {"preds": "x"}},
           {"build": "ok", "shapes": {1: [1, 2], 5: [5, 2]}, "train": {"preds": [np.ones(3)]}},
           {"build": "ok", "shapes": {"a": 3, 5: np.zeros(2)}, "train": [1]},
           {"build": "ok", "shapes": {1: [1, 4], 5: [5, 4]}, "layers": [1], "calls": "conv2d",
            "train": {"status": "capped", "steps": [1], "preds": [np.full(300, 9), np.zeros((2, 2))]}},
           {False: [[{"tensor": True}]], True: Bad("error", "x")},
           {False: [["x", 1]] * 6, True: [[{"tensor": True, "dtype": "float32", "shape": [3, 64, 64], "array": "x"}] * 8] * 6},
           {"default": [np.arange(3), "x"]},
           {k: [np.arange(5.0), np.zeros((2, 2))] for k in ("default", "explicit 42", "again", "seed 7", "uneven", "small")},
           [["int", 3]] * 20, [[np.arange(3), "3"]] * 20, [["str", 123456789012345678901234567890]] * 20,
           {0: {"error": "x"}, 1: {"convs": [{"w": np.zeros((2, 2)), "kernel": "x"}] * 3, "bns": [7], "eval_out": np.zeros(3),
                                   "zeroed_out": "x", "train_shape": [1, "a"], "backward": np.zeros(2), "params": 10**30}},
           {i: {"convs": [{"w": np.zeros((8, 8, 1, 1)), "in": 8, "out": 8, "kernel": [1, 1], "stride": [1, 1], "groups": 1}] * 40,
                "bns": [{"features": 8, "mean": np.zeros(8), "var": "x"}] * 2, "eval_out": np.zeros((2, 8, 10, 10)),
                "zeroed_out": np.zeros((2, 8, 10, 10)), "alone": [np.zeros(3)] * 40, "maps0": [[1, "x", 3]] * 5,
                "shape0": [2, 10], "linears": [[1, 2]], "other": ["x" * 10000]} for i in range(5)},
           {i: {"loss": {"loss_type": "Tensor", "loss_shape": [1], "loss": np.array([np.inf]), "backward": "ok",
                         "fgrad": np.zeros((1, 1)), "changed": "x" * 100000},
                "update": {"new_type": ["x"] * 1000, "new": np.zeros((2, 2)), "changed": [1, 2]}} for i in range(6)}]


@pytest.mark.parametrize("item_id", HW2_ITEMS)
@pytest.mark.parametrize("k", range(len(HOSTILE)))
def test_judges_survive_hostile_results(item_id, k):
    seed = 987654
    pts, reason = _judge(item_id, HOSTILE[k], seed)
    assert pts < find_item(item_id).points and reason
    assert len(reason) < 2000, reason
    # rule 8: the reason names the student's function, never the seed or the grader's internals
    assert any(f in reason for f in FUNCTIONS[item_id]), reason
    for leak in (str(seed), "autograder", "Traceback", ".py", "probe", "judge", "_rng", "rec["):
        assert leak not in reason, (leak, reason)
