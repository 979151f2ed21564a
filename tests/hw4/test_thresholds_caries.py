"""The Dice threshold of the grader-trained caries segmentation is meaningful:

* the reference (the notebook's encoder and loss: weighted BCE + soft Dice) clears
  Dice 0.40 on the training and the test X-rays with a margin (>= 0.50) on every
  grading seed;
* plain unweighted BCE misses it on every seed, with a margin (< 0.25): with about
  0.5 % lesion pixels it has not got past "healthy everywhere" within the grader's
  budget;
* the judge scores from the predicted masks alone and survives hostile results.

The models are trained exactly as the grader does it (the item's probe in a forked
child on the reference cells plus the mutant's cell); the Dice is computed here from
the masks the judge rebuilds.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from autograder.core import Bad, Checker, find_item
from autograder.grading import _prepare_parent
from autograder.hw4 import noisy
from autograder.notebook import extract
from autograder.sandbox import Namespace, load_definitions, run_child, seed_everything
from tests.kit import SEEDS, cases, reference_cells

ITEM = "hw4.caries_segmentation"
BCE = "plain unweighted BCE"


@functools.lru_cache(maxsize=None)
def _run(variant: str, seed: int) -> dict:
    _prepare_parent()
    item = find_item(ITEM)
    cells = reference_cells("hw4") + ([] if variant == "reference" else [cases("hw4")[0][ITEM][variant]])
    snippets = extract(cells).snippets

    def body():
        ns: dict = {"__name__": "__submission__"}
        load_definitions(snippets, ns)
        seed_everything(seed, with_torch=True)
        return item.probe(Namespace(ns), seed)

    outcome = run_child(body, timeout=item.timeout, memory_mb=item.memory_mb)
    assert outcome.status == "ok", f"{variant} seed {seed}: {outcome.status} {outcome.stderr_tail[-400:]}"
    ck = Checker(item.points)
    item.judge(outcome.payload, seed, ck)
    points, reason = ck.result()
    train, test = noisy.caries_data(seed)
    res = outcome.payload["train"]
    d_train = noisy.dice_score(noisy._preds(res, 0, noisy.N_TRAIN), train["clean_masks"])
    d_test = noisy.dice_score(noisy._preds(res, 1, noisy.N_TEST), test["clean_masks"])
    return {"out": outcome.payload, "points": points, "reason": reason, "train": d_train, "test": d_test}


@pytest.mark.parametrize("seed", SEEDS)
def test_reference_clears_dice_040_with_margin(seed):
    r = _run("reference", seed)
    assert r["out"]["train"]["status"] == "finished", r["out"]["train"]
    assert r["train"] >= 0.50 and r["test"] >= 0.50, (r["train"], r["test"])
    assert r["points"] == find_item(ITEM).points, r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
def test_plain_bce_misses_dice_040(seed):
    r = _run(BCE, seed)
    assert r["train"] < 0.25 and r["test"] < 0.25, (r["train"], r["test"])
    assert r["points"] <= find_item(ITEM).points / 2, r["reason"]


def _fake(seed: int, frac_right: float, status: str = "finished") -> dict:
    train, test = noisy.caries_data(seed)
    rng = np.random.default_rng(0)

    def pred(m):
        p = m.copy()
        flip = rng.uniform(size=len(p)) > frac_right
        p[flip] = 0
        return np.packbits(p, axis=-1)

    return {"loss": "ok", "build": "ok", "train": {"status": status, "steps": noisy.STEPS, "seconds": 1.0,
                                                   "preds": [pred(train["clean_masks"]), pred(test["clean_masks"])]}}


def _judge(out, seed: int = SEEDS[0]):
    ck = Checker(find_item(ITEM).points)
    find_item(ITEM).judge(out, seed, ck)
    return ck.result()


def test_judge_scores_by_dice():
    assert _judge(_fake(SEEDS[0], 1.0))[0] == 10
    mid, reason = _judge(_fake(SEEDS[0], 0.17))  # Dice about 2 * 0.17 / 1.17 = 0.29
    assert 1 < mid < 10 and "below the 0.40" in reason
    slow, reason = _judge(_fake(SEEDS[0], 1.0, status="capped"))
    assert slow < 10 and "too slow" in reason


@pytest.mark.parametrize("out", [None, 7, "x", [], {}, Bad("error", "RuntimeError: boom"),
                                 {"loss": "ok", "build": "ok"}, {"loss": Bad("error", "x"), "build": "ok"},
                                 {"loss": "ok", "build": "ok", "train": {"preds": "x"}},
                                 {"loss": "ok", "build": "ok", "train": {"preds": [np.ones(3, np.uint8)] * 2}}])
def test_judge_survives_hostile_results(out):
    pts, reason = _judge(out)
    assert pts < find_item(ITEM).points and reason


if __name__ == "__main__":  # print the margins
    for variant in ("reference", BCE):
        for s in SEEDS:
            r = _run(variant, s)
            print(f"{variant:22s} seed {s}: Dice train {r['train']:.3f} test {r['test']:.3f} points {r['points']} "
                  f"train CPU s {r['out']['train']['seconds']}")
