"""HW4's probes and judges live apart, and what the judge sends a probe holds no answer.

* ``autograder.probes.hw4`` imports no judge (of any homework) and has a probe for every
  HW4 item, the same function the item names;
* the grader-trained items get their evaluation inputs from the judge (``give``): plain
  NumPy arrays of a few MB at most, without the targets, drawn from ``held_out_seed``
  (so they change with the course secret and are not what the public seed gives);
* the probes refuse malformed inputs instead of crashing.
"""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from autograder.core import find_item, get_assignment
from autograder.hw4 import denoise, noisy, unet
from autograder.probes.hw4 import PROBES
from autograder.probes.kit.train import given_array
from tests.kit import ROOT, SEEDS

GIVEN_KEYS = {"hw4.colorization": ["L"], "hw4.denoising_ae": ["noisy"], "hw4.caries_segmentation": ["images", "probs"],
              "hw4.noisy_masks": ["masks", "probs"]}


def test_probes_import_no_judge():
    code = ("import sys, json, autograder.probes.hw4 as p; "
            "bad = [m for m in sys.modules if m.startswith(('autograder.core', 'autograder.grading', "
            "'autograder.sandbox', 'autograder.hw', 'autograder.judging'))]; print(json.dumps([len(p.PROBES), bad]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    n, bad = json.loads(out.stdout.strip().splitlines()[-1])
    assert bad == [] and n == len(get_assignment("hw4").items)


def test_every_item_has_its_probe():
    items = get_assignment("hw4").items
    assert sorted(PROBES) == sorted(it.id for it in items)
    assert all(PROBES[it.id] is it.probe for it in items)
    assert sorted(it.id for it in items if it.give) == sorted(GIVEN_KEYS)


@pytest.mark.parametrize("item_id", sorted(GIVEN_KEYS))
def test_given_is_small_plain_data_without_targets(item_id):
    given = find_item(item_id).give(SEEDS[0])
    assert isinstance(given, dict) and sorted(given) == GIVEN_KEYS[item_id]
    assert all(isinstance(v, np.ndarray) and v.dtype.kind in "fu" for v in given.values())
    assert sum(v.nbytes for v in given.values()) < 4 * 2**20
    again = find_item(item_id).give(SEEDS[0])
    assert all(np.array_equal(given[k], again[k]) for k in given)  # the judge rebuilds the same set


def test_held_out_sets_are_not_the_public_ones():
    from data_scripts.colorize import grey_patches, photo_patches
    from data_scripts.dental import dental_arrays

    seed = SEEDS[0]
    L_public = unet.reference_lab(photo_patches(unet.TEST_N, unet.PATCH, "test", seed))[0].astype(np.float32)
    assert not np.array_equal(unet.give_colorization(seed)["L"], L_public)
    assert not np.allclose(denoise.give_denoising(seed)["noisy"][:, 0], grey_patches(denoise.TEST_N, 32, "test", seed),
                           atol=0.3)
    public = dental_arrays(noisy.N_EVAL, size=noisy.SIZE, seed=10 * seed + 2, noise_fraction=0.0)
    assert not np.array_equal(noisy.give_caries(seed)["images"], public["images"])


@pytest.mark.parametrize("item_id", ["hw4.colorization", "hw4.denoising_ae", "hw4.caries_segmentation"])
def test_held_out_sets_change_with_the_course_secret(item_id, monkeypatch):
    item = find_item(item_id)
    monkeypatch.delenv("COURSE_KIT_SECRET_FILE", raising=False)
    monkeypatch.setenv("COURSE_KIT_SECRET", "one course")
    a = item.give(SEEDS[0])
    monkeypatch.setenv("COURSE_KIT_SECRET", "another course")
    b = item.give(SEEDS[0])
    assert all(not np.array_equal(a[k], b[k]) for k in a)


def test_given_array_refuses_what_it_does_not_expect():
    good = np.zeros((3, 1, 4, 4), np.float32)
    assert given_array({"x": good}, "x", (1, 4, 4)) is not None
    for bad in (None, [], "x", {"y": good}, {"x": good.astype(np.float64)}, {"x": good[0]}, {"x": list(good)},
                {"x": np.zeros((0, 1, 4, 4), np.float32)}, {"x": np.zeros((3, 2, 4, 4), np.float32)}):
        assert given_array(bad, "x", (1, 4, 4)) is None
