"""The Dice threshold of the grader-trained caries segmentation is meaningful:

* the reference (the notebook's encoder, loss: weighted BCE + soft Dice, and flags: the
  masks its flag_noisy_masks does not flag train, 003 P8) clears Dice 0.40 on the held-out
  X-rays (sent by the judge, drawn from ``held_out_seed``) with a margin (>= 0.50) on every
  grading seed;
* plain unweighted BCE on every mask (no mask flagged) misses it on every seed, with a
  margin (< 0.25): with about 0.4 % lesion pixels it has not got past "healthy
  everywhere" within the grader's budget; plain BCE with the reference's flags too;
* the flags decide which masks train: the reference's loss on every mask (a
  flag_noisy_masks that flags nothing) ends lower than with the reference's flags on
  every seed, and the reason says it trained on the corrupted masks;
* the judge scores from the predicted masks alone and survives hostile results.

The models are trained exactly as the grader does it (the item's probe in a forked
child on the reference cells plus the mutant's cell, with what the item's ``give``
sends it); the Dice is computed here from the masks only the judge holds.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from autograder.core import Bad, Checker, find_item
from tests.forked import prepare_parent as _prepare_parent
from autograder.hw4 import noisy
from autograder.notebook import extract
from tests.forked import Namespace, load_definitions, run_child, seed_everything
from tests.kit import SEEDS, cases, reference_cells

ITEM = "hw4.caries_segmentation"
BCE = "plain unweighted BCE"
NO_FLAGS = "flags nothing"
ALL_MASKS_BCE = "plain BCE, no mask flagged"
_FLAG_NOTHING = '''
def flag_noisy_masks(probs, masks, fraction=0.25, smooth=1.0):
    return torch.zeros(probs.shape[0], dtype=torch.bool)
'''


def _variant_cells(variant: str) -> list[str]:
    if variant == "reference":
        return []
    if variant == NO_FLAGS:
        return [_FLAG_NOTHING]
    if variant == ALL_MASKS_BCE:
        return [cases("hw4")[0][ITEM][BCE], _FLAG_NOTHING]
    return [cases("hw4")[0][ITEM][variant]]


@functools.lru_cache(maxsize=None)
def _run(variant: str, seed: int) -> dict:
    _prepare_parent()
    item = find_item(ITEM)
    cells = reference_cells("hw4") + _variant_cells(variant)
    snippets = extract(cells).snippets
    given = item.give(seed)

    def body():
        ns: dict = {"__name__": "__submission__"}
        load_definitions(snippets, ns)
        seed_everything(seed, with_torch=True)
        return item.probe(Namespace(ns, given), seed)

    outcome = run_child(body, timeout=item.timeout, memory_mb=item.memory_mb)
    assert outcome.status == "ok", f"{variant} seed {seed}: {outcome.status} {outcome.stderr_tail[-400:]}"
    ck = Checker(item.points)
    item.judge(outcome.payload, seed, ck)
    points, reason = ck.result()
    res = outcome.payload["train"]
    d = noisy.dice_score(noisy._preds(res, noisy.N_EVAL, "model"), noisy.caries_eval(seed)["clean_masks"])
    return {"out": outcome.payload, "points": points, "reason": reason, "dice": d}


@pytest.mark.parametrize("seed", SEEDS)
def test_reference_clears_dice_040_with_margin(seed):
    r = _run("reference", seed)
    assert r["out"]["train"]["status"] == "finished", r["out"]["train"]
    assert r["dice"] >= 0.50, r["dice"]
    assert r["points"] == find_item(ITEM).points, r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("variant", [ALL_MASKS_BCE, BCE])
def test_plain_bce_misses_dice_040(variant, seed):
    r = _run(variant, seed)
    assert r["dice"] < 0.25, r["dice"]
    assert r["points"] <= find_item(ITEM).points / 2, r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
def test_the_flags_decide_which_masks_train(seed):
    every, ref = _run(NO_FLAGS, seed), _run("reference", seed)
    assert ref["out"]["masks"]["kept"] == len(ref["out"]["masks"]["flags"]) - 40, ref["out"]["masks"]
    assert every["dice"] < ref["dice"], (every["dice"], ref["dice"])
    assert "trained on the corrupted ones too" in every["reason"] or every["points"] == find_item(ITEM).points


LOSS_OK = {"tensor": True, "shape": [], "requires_grad": True, "finite": True}
BUILD_OK = [2, 1, noisy.SIZE, noisy.SIZE]


def _fake(seed: int, frac_right: float, status: str = "finished") -> dict:
    rng = np.random.default_rng(0)
    p = noisy.caries_eval(seed)["clean_masks"].copy()
    p[rng.uniform(size=len(p)) > frac_right] = 0
    return {"loss": LOSS_OK, "build": BUILD_OK,
            "train": {"status": status, "steps": noisy.STEPS, "seconds": 1.0, "pred": np.packbits(p, axis=-1)}}


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


def test_judge_says_when_every_mask_trained():
    low = _fake(SEEDS[0], 0.17)
    _, reason = _judge(dict(low, masks={"flags": Bad("error", "NameError: name 'torch' is not defined")}))
    assert "trained on every mask, the corrupted ones included" in reason and "NameError" in reason, reason
    _, reason = _judge(dict(low, masks={"flags": np.zeros(160, dtype=bool), "kept": 160}))
    assert "flagged no training mask" in reason, reason
    _, reason = _judge(dict(low, masks={"flags": np.arange(160) < 40, "kept": 120}))
    assert "corrupted" not in reason, reason


def test_judge_needs_a_model_and_a_loss():
    for loss, why in (({"tensor": False, "type": "float"}, "scalar tensor"),
                      (dict(LOSS_OK, requires_grad=False), "autograd"), (dict(LOSS_OK, shape=[2]), "scalar tensor"),
                      (dict(LOSS_OK, finite=False), "NaN")):
        out = dict(_fake(SEEDS[0], 1.0), loss=loss)
        pts, reason = _judge(out)
        assert pts == 0 and why in reason and "segmentation_loss" in reason, reason
    pts, reason = _judge(dict(_fake(SEEDS[0], 1.0), build=[2, 2, noisy.SIZE, noisy.SIZE]))
    assert pts == 0 and "ResidualEncoder" in reason, reason


@pytest.mark.parametrize("out", [None, 7, "x", [], {}, Bad("error", "RuntimeError: boom"),
                                 {"loss": "ok", "build": "ok"}, {"loss": Bad("error", "x"), "build": BUILD_OK},
                                 {"loss": LOSS_OK, "build": BUILD_OK}, {"loss": {"tensor": True, "shape": "x"},
                                                                        "build": BUILD_OK},
                                 {"loss": LOSS_OK, "build": np.ones(4), "train": {"pred": "x"}},
                                 {"loss": LOSS_OK, "build": BUILD_OK, "train": {"pred": "x", "status": [1]}},
                                 {"loss": LOSS_OK, "build": BUILD_OK, "train": {"pred": [np.ones(3, np.uint8)] * 2}},
                                 {"loss": LOSS_OK, "build": BUILD_OK, "train": {"pred": np.ones((3, 3), np.uint8)}}])
def test_judge_survives_hostile_results(out):
    pts, reason = _judge(out)
    assert pts < find_item(ITEM).points and reason


if __name__ == "__main__":  # print the margins
    for variant in ("reference", NO_FLAGS, ALL_MASKS_BCE, BCE):
        for s in SEEDS:
            r = _run(variant, s)
            print(f"{variant:22s} seed {s}: held-out Dice {r['dice']:.3f} points {r['points']} "
                  f"train CPU s {r['out']['train']['seconds']}", flush=True)
