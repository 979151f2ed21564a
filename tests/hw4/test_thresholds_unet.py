"""The thresholds of the two grader-trained items of autograder/hw4/unet.py and
autograder/hw4/denoise.py are meaningful:

* colorization: the reference U-Net, trained by the grader, brings the ab error on the
  held-out patches (sent by the judge, drawn from ``held_out_seed``) to <= 0.80 x that of
  predicting the training set's mean colour on every grading seed (full points need <= 0.85); a model that outputs one constant colour, and a linear
  network (one conv, no non-linearity), stay at >= 0.95 x (no colour-error points);
* denoising: the reference autoencoder gains >= 6.5 dB PSNR over the noisy input on
  every seed (held-out patches and noise from ``held_out_seed``) (full points need >= 5 dB); the same autoencoder trained to reproduce its
  noisy input (targets = inputs) gains < 4 dB, an identity network < 1 dB.

A U-Net without skip connections colours about as well as the reference (colour is
smooth; the skips buy sharp edges): it is caught by hw4.unet's skip checks, not here.

The models are trained exactly as the graders do it: the item's probe runs in a forked
child on the reference cells (plus the mutant's cell), with what the item's ``give`` sends
it, and the judge scores the result.
"""
from __future__ import annotations

import functools

import pytest

from autograder.core import Bad, Checker, find_item
from tests.forked import prepare_parent as _prepare_parent
from autograder.hw4 import denoise, unet
from autograder.notebook import extract
from tests.forked import Namespace, load_definitions, run_child, seed_everything
from tests.kit import SEEDS, cases, reference_cells

CONSTANT = "a model that outputs a constant colour"
LINEAR = "a network without non-linearities"
NOISY_TARGETS = "trained to reconstruct the noisy input (targets = inputs)"
IDENTITY = "an identity network (one scale parameter)"


def _code(item: str, variant: str) -> list[str]:
    cells = reference_cells("hw4")
    return cells if variant == "reference" else cells + [cases("hw4")[0][item][variant]]


@functools.lru_cache(maxsize=None)
def _run(item_id: str, variant: str, seed: int) -> dict:
    """The probe's result (plain data) and the points the judge gives it."""
    _prepare_parent()
    item = find_item(item_id)
    snippets = extract(_code(item_id, variant)).snippets
    given = item.give(seed) if item.give else None

    def body():
        ns: dict = {"__name__": "__submission__"}
        load_definitions(snippets, ns)
        seed_everything(seed, with_torch=True)
        return item.probe(Namespace(ns, given), seed)

    outcome = run_child(body, timeout=item.timeout, memory_mb=item.memory_mb)
    assert outcome.status == "ok", f"{item_id} {variant} seed {seed}: {outcome.status} {outcome.stderr_tail[-400:]}"
    ck = Checker(item.points)
    item.judge(outcome.payload, seed, ck)
    points, reason = ck.result()
    return {"out": outcome.payload, "points": points, "reason": reason, "max": item.points}


def _ratio(out: dict, seed: int) -> float:
    return unet.colour_ratio(out["train"]["pred"], unet.eval_set(seed)[1], seed)


def _gain(out: dict, seed: int) -> float:
    clean, noisy = denoise.eval_set(seed)
    return denoise.reference_psnr(clean, out["train"]["pred"], 1.0) - denoise.reference_psnr(clean, noisy, 1.0)


@pytest.mark.parametrize("seed", SEEDS)
def test_colorization_reference_beats_the_mean_colour_with_margin(seed):
    r = _run("hw4.colorization", "reference", seed)
    assert r["out"]["train"]["status"] == "finished", r["out"]["train"]
    assert r["out"]["train"]["seconds"] < unet.CAP_S / 2, r["out"]["train"]["seconds"]
    assert _ratio(r["out"], seed) <= unet.FULL_RATIO - 0.05
    assert r["points"] == r["max"], r["reason"]


@pytest.mark.parametrize("variant", [CONSTANT, LINEAR])
@pytest.mark.parametrize("seed", SEEDS)
def test_colorization_weak_models_miss_the_threshold(seed, variant):
    r = _run("hw4.colorization", variant, seed)
    assert _ratio(r["out"], seed) >= unet.HALF_RATIO
    assert r["points"] <= r["max"] - 4.5, r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
def test_denoiser_reference_gains_with_margin(seed):
    r = _run("hw4.denoising_ae", "reference", seed)
    assert r["out"]["train"]["status"] == "finished", r["out"]["train"]
    assert _gain(r["out"], seed) >= denoise.FULL_GAIN + 1.5
    assert r["points"] == r["max"], r["reason"]


@pytest.mark.parametrize("seed", SEEDS)
def test_denoiser_with_noisy_targets_or_identity_misses(seed):
    assert _gain(_run("hw4.denoising_ae", NOISY_TARGETS, seed)["out"], seed) < denoise.FULL_GAIN - 1.0
    r = _run("hw4.denoising_ae", IDENTITY, seed)
    assert _gain(r["out"], seed) < 1.0
    assert r["points"] <= r["max"] - 3, r["reason"]


# --------------------------------------------------------------------------
# The judges alone, on made-up results (no training).


def _judge(item_id: str, out, seed: int = SEEDS[0]) -> tuple[float, str]:
    item = find_item(item_id)
    ck = Checker(item.points)
    item.judge(out, seed, ck)
    return ck.result()


def test_colorization_judge_scores_by_ratio():
    seed = SEEDS[0]
    truth = unet.eval_set(seed)[1]
    mean = unet.colour_train(seed)["ab_train"].mean(axis=(0, 2, 3), keepdims=True)
    base = {"lab": [], "rgb": []}

    def scored(pred, status="finished"):
        out = dict(base, train={"status": status, "steps": unet.STEPS, "seconds": 1.0, "pred": pred})
        pts, reason = _judge("hw4.colorization", out)
        return pts, reason

    perfect, _ = scored(truth.copy())
    assert perfect == 5.0  # the helpers' 3 points are missing here
    constant, reason = scored(mean.repeat(truth.shape[0], 0).repeat(32, 2).repeat(32, 3).astype("float32"))
    assert constant == 0.5 and "mean colour" in reason
    # halfway between the truth and the mean: ratio 0.25 -> full; a mix near 0.9 -> half
    mix = (0.05 * truth + 0.95 * mean).astype("float32")
    pts, _ = scored(mix)
    assert 0.5 < pts < 5.0
    slow, reason = scored(truth.copy(), status="capped")
    assert slow == 4.5 and "too slow" in reason


def test_denoising_judge_scores_by_gain():
    seed = SEEDS[0]
    clean, noisy = denoise.eval_set(seed)
    out = {"train": {"status": "finished", "steps": denoise.STEPS, "seconds": 1.0, "pred": clean.copy()}}
    assert _judge("hw4.denoising_ae", out)[0] == 3.0  # psnr, pairs and shapes missing here
    out["train"]["pred"] = noisy.copy()
    pts, reason = _judge("hw4.denoising_ae", out)
    assert pts == 0 and "+0.0 dB" in reason


@pytest.mark.parametrize("item_id", ["hw4.unet", "hw4.colorization", "hw4.denoising_ae", "hw4.dilated_rf"])
@pytest.mark.parametrize("out", [None, 7, "x", [], {}, Bad("error", "RuntimeError: boom"),
                                 {"0": {"outs": "x", "convs": [[1]], "ups": None, "fine": 3}},
                                 {"0": {"outs": [Bad("error", "x")], "deep_zeroed": {"n": 1, "diff": "x"}, "fine": {}}},
                                 {"lab": [Bad("error", "x"), [1, 2]], "rgb": ["x"], "train": {"pred": "x"}},
                                 {"train": {"status": "finished", "pred": [1.0]}, "psnr": ["x", None],
                                  "batches": {"0": {"result": [1, 2]}}, "shapes": [{"shape": "x"}]},
                                 {"rf": [1, "x", None], "size": Bad("error", "x"), "stack": [{"convs": [[1]]}]}])
def test_judges_survive_hostile_results(item_id, out):
    pts, reason = _judge(item_id, out)
    assert pts < find_item(item_id).points and reason


if __name__ == "__main__":  # print the margins
    for item_id, variants, metric in (("hw4.colorization", ("reference", CONSTANT, LINEAR), _ratio),
                                      ("hw4.denoising_ae", ("reference", NOISY_TARGETS, IDENTITY), _gain)):
        for variant in variants:
            for s in SEEDS:
                r = _run(item_id, variant, s)
                print(f"{item_id} {variant[:30]:30s} seed {s}: {metric(r['out'], s):.3f} points {r['points']} "
                      f"train CPU s {r['out']['train']['seconds']}", flush=True)
