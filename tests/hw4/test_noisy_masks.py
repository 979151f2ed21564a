"""The noisy-mask detector (hw4.noisy_masks) is graded meaningfully:

* the reference's flags on the grader's X-rays (its own ResUNet, trained on every mask,
  corrupted ones included) reach precision and recall >= 0.60 against the generator's
  record on every grading seed (full points need 0.50); the training stays within the
  CPU budget;
* random flags (the weak baseline, 0.25 expected) and the inverted rule miss it;
* the judge recomputes the agreement itself, scores from the record, and survives
  hostile results.

The probe runs exactly as in grading (a forked child on the reference cells).
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
from tests.kit import SEEDS, reference_cells

ITEM = "hw4.noisy_masks"
MARGIN = 0.60


@functools.lru_cache(maxsize=None)
def _run(seed: int) -> dict:
    _prepare_parent()
    item = find_item(ITEM)
    snippets = extract(reference_cells("hw4")).snippets

    def body():
        ns: dict = {"__name__": "__submission__"}
        load_definitions(snippets, ns)
        seed_everything(seed, with_torch=True)
        return item.probe(Namespace(ns), seed)

    outcome = run_child(body, timeout=item.timeout, memory_mb=item.memory_mb)
    assert outcome.status == "ok", f"seed {seed}: {outcome.status} {outcome.stderr_tail[-400:]}"
    ck = Checker(item.points)
    item.judge(outcome.payload, seed, ck)
    points, reason = ck.result()
    out = outcome.payload
    truth = noisy.caries_data(seed)[0]["noisy"]
    flags = out["xray"]
    hit = int((flags & truth).sum())
    return {"out": out, "points": points, "reason": reason,
            "precision": hit / max(int(flags.sum()), 1), "recall": hit / int(truth.sum())}


def _ideal(seed: int, q: np.ndarray, rule=None) -> dict:
    """A result as a correct student would give it, on the given (fake) predictions."""
    agree = [noisy.ref_agreement(p, m, s) for _, p, m, s, _ in noisy.agreement_cases(seed)]

    def lowest(a, fraction):
        f = np.zeros(len(a), dtype=bool)
        f[np.argsort(a, kind="stable")[:noisy.n_flagged(len(a), fraction)]] = True
        return f

    flags = []
    for c in range(len(noisy.FLAG_CASES)):
        p, m, fraction = noisy.flag_inputs(seed, c)
        flags.append(lowest(noisy.ref_agreement(p, m, 1.0), fraction))
    masks = noisy.caries_data(seed)[0]["masks"]
    a = noisy.ref_agreement(q.astype(np.float64) / 255.0, masks, 1.0)
    xray = (rule or lowest)(a, noisy.FLAG_FRACTION)
    return {"agree": agree, "flags": flags, "probs": q, "xray": xray, "info": {"steps": 90, "seconds": 1.0}}


def _judge(out, seed: int = SEEDS[0]):
    ck = Checker(find_item(ITEM).points)
    find_item(ITEM).judge(out, seed, ck)
    return ck.result()


@pytest.mark.parametrize("seed", SEEDS)
def test_reference_finds_the_corrupted_masks_with_margin(seed):
    r = _run(seed)
    assert r["precision"] >= MARGIN and r["recall"] >= MARGIN, (r["precision"], r["recall"])
    assert r["points"] == find_item(ITEM).points, r["reason"]
    assert r["out"]["info"]["steps"] == noisy.FLAG_STEPS and r["out"]["info"]["seconds"] < 8.0, r["out"]["info"]


def test_judge_scores_against_the_record():
    seed = SEEDS[0]
    train = noisy.caries_data(seed)[0]
    # predictions equal to the true lesions: the corrupted masks agree least -> everything found
    perfect = (train["clean_masks"] * 255).astype(np.uint8)
    assert _judge(_ideal(seed, perfect), seed)[0] == find_item(ITEM).points
    # predictions that know nothing: random flags, precision about 0.25
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=train["masks"].shape).astype(np.uint8)
    pts, reason = _judge(_ideal(seed, noise), seed)
    assert pts < find_item(ITEM).points and "precision" in reason, reason
    # the inverted rule on perfect predictions
    def top(a, fraction):
        f = np.zeros(len(a), dtype=bool)
        f[np.argsort(-a, kind="stable")[:noisy.n_flagged(len(a), fraction)]] = True
        return f
    pts, reason = _judge(_ideal(seed, perfect, rule=top), seed)
    assert pts <= find_item(ITEM).points * 2 / 3 and "LOWEST" in reason, reason


def test_reference_agreement_edge_cases():
    z = np.zeros((2, 1, 3, 3))
    assert np.allclose(noisy.ref_agreement(z, z, 1.0), 1.0)
    m = z.copy(); m[0, 0, 1, 1] = 1
    assert np.allclose(noisy.ref_agreement(z, m, 100.0), [100 / 101, 1.0])
    for c in range(len(noisy.FLAG_CASES)):  # distinct agreements: the rule has no ties
        p, m, f = noisy.flag_inputs(SEEDS[0], c)
        a = np.sort(noisy.ref_agreement(p, m, 1.0))
        assert np.min(np.diff(a)) > 1e-4


@pytest.mark.parametrize("out", [None, 7, "x", [], {}, Bad("error", "RuntimeError: boom"), {"skipped": True},
                                 {"agree": [Bad("error", "x")] * 3, "flags": "x"},
                                 {"agree": [], "flags": [], "probs": np.ones(3, np.uint8), "xray": np.ones(3, bool)}])
def test_judge_survives_hostile_results(out):
    pts, reason = _judge(out)
    assert pts < find_item(ITEM).points and reason


if __name__ == "__main__":  # print the margins
    for s in SEEDS:
        r = _run(s)
        print(f"seed {s}: precision {r['precision']:.3f} recall {r['recall']:.3f} points {r['points']} "
              f"training {r['out']['info']}")
