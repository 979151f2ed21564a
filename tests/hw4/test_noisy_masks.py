"""The noisy-mask detector (hw4.noisy_masks) is graded meaningfully:

* the reference's flags on the grader's X-rays (drawn from ``held_out_seed``, with the
  probabilities of its own ResUNet, trained on the judge's side on every mask, corrupted
  ones included) reach precision and recall >= 0.60 against the generator's record on
  every grading seed (full points need 0.50); that training (judge side, once per
  grading seed and process) stays cheap;
* flags that know nothing (the correct rule on uninformative probabilities: the weak
  baseline, 0.25 expected) and the inverted rule miss it;
* the judge recomputes the agreement itself, scores from the record, and survives
  hostile results.

The probe runs exactly as in grading (a forked child on the reference cells, with what
the item's ``give`` sends it).
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
from tests.kit import SEEDS, reference_cells

ITEM = "hw4.noisy_masks"
MARGIN = 0.60


@functools.lru_cache(maxsize=None)
def _run(seed: int) -> dict:
    _prepare_parent()
    item = find_item(ITEM)
    snippets = extract(reference_cells("hw4")).snippets
    given = item.give(seed)

    def body():
        ns: dict = {"__name__": "__submission__"}
        load_definitions(snippets, ns)
        seed_everything(seed, with_torch=True)
        return item.probe(Namespace(ns, given), seed)

    outcome = run_child(body, timeout=item.timeout, memory_mb=item.memory_mb)
    assert outcome.status == "ok", f"seed {seed}: {outcome.status} {outcome.stderr_tail[-400:]}"
    ck = Checker(item.points)
    item.judge(outcome.payload, seed, ck)
    points, reason = ck.result()
    out = outcome.payload
    truth = noisy.xray_set(seed)["noisy"]
    flags = out["xray"]
    hit = int((flags & truth).sum())
    return {"out": out, "points": points, "reason": reason,
            "precision": hit / max(int(flags.sum()), 1), "recall": hit / int(truth.sum())}


def _lowest(a, fraction):
    f = np.zeros(len(a), dtype=bool)
    f[np.argsort(a, kind="stable")[:noisy.n_flagged(len(a), fraction)]] = True
    return f


def _ideal(seed: int, rule=_lowest) -> dict:
    """A result as a correct student would give it (``rule`` on the X-rays)."""
    agree = [noisy.ref_agreement(p, m, s) for _, p, m, s, _ in noisy.agreement_cases(seed)]
    flags = []
    for c in range(len(noisy.FLAG_CASES)):
        p, m, fraction = noisy.flag_inputs(seed, c)
        flags.append(_lowest(noisy.ref_agreement(p, m, 1.0), fraction))
    xs = noisy.xray_set(seed)
    a = noisy.ref_agreement(xs["probs"].astype(np.float64) / 255.0, xs["masks"], 1.0)
    return {"agree": agree, "flags": flags, "xray": rule(a, noisy.FLAG_FRACTION)}


def _judge(out, seed: int = SEEDS[0]):
    ck = Checker(find_item(ITEM).points)
    find_item(ITEM).judge(out, seed, ck)
    return ck.result()


@pytest.mark.parametrize("seed", SEEDS)
def test_reference_finds_the_corrupted_masks_with_margin(seed):
    r = _run(seed)
    assert r["precision"] >= MARGIN and r["recall"] >= MARGIN, (r["precision"], r["recall"])
    assert r["points"] == find_item(ITEM).points, r["reason"]
    info = noisy.xray_set(seed)["info"]
    assert info["steps"] == noisy.FLAG_STEPS and info["seconds"] < 15.0, info  # judge side, once per seed


def test_judge_scores_against_the_record(monkeypatch):
    seed = SEEDS[0]
    assert _judge(_ideal(seed), seed)[0] == find_item(ITEM).points
    real = noisy.xray_set(seed)
    # the inverted rule on the grader's probabilities
    def top(a, fraction):
        f = np.zeros(len(a), dtype=bool)
        f[np.argsort(-a, kind="stable")[:noisy.n_flagged(len(a), fraction)]] = True
        return f
    pts, reason = _judge(_ideal(seed, rule=top), seed)
    assert pts <= find_item(ITEM).points * 2 / 3 and "LOWEST" in reason, reason
    # probabilities that know nothing: the right rule finds about 0.25 of the corrupted masks
    rng = np.random.default_rng(0)
    blind = dict(real, probs=rng.integers(0, 256, size=real["masks"].shape).astype(np.uint8))
    monkeypatch.setattr(noisy, "xray_set", lambda s: blind)
    pts, reason = _judge(_ideal(seed), seed)
    assert pts < find_item(ITEM).points and "precision" in reason, reason
    # probabilities equal to the true lesions: every corrupted mask is found
    clean = dict(real, probs=(real["clean_masks"] * 255).astype(np.uint8))
    monkeypatch.setattr(noisy, "xray_set", lambda s: clean)
    assert _judge(_ideal(seed), seed)[0] == find_item(ITEM).points


def test_the_given_xrays_hold_no_record():
    given = find_item(ITEM).give(SEEDS[0])
    assert sorted(given) == ["masks", "probs"]
    assert all(isinstance(v, np.ndarray) and v.dtype == np.uint8 for v in given.values())
    assert sum(v.nbytes for v in given.values()) < 2 * 2**20


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
              f"training {noisy.xray_set(s)['info']}", flush=True)
