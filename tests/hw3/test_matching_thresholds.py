"""The success threshold of hw3.template_matching is meaningful (003 P4).

On the case sets the judge grades with (40 perturbed templates cut from scikit-image's
photographs, stride-4 edge features), which are held out: drawn from
``autograder.core.held_out_seed`` for each of the three grading seeds (with whatever course
secret the environment sets; the public default in CI):

* the judge's pipeline, which the notebook's reference solution reproduces, finds the object
  (IoU >= 0.5) in clearly more than the 31 of 40 needed for full points;
* matching the raw RGB pixels with ``skimage.feature.match_template`` (the baseline the
  exercise is about) stays clearly below it;
* and without the uneven lighting the pixels do about as well as the features: the lighting is
  what the features are robust to (the notebook says so; this keeps it true).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

from autograder.core import held_out_seed
from autograder.hw3 import matching
from data_scripts.scenes import edge_feature_extractor, matching_cases
from tests.kit import SEEDS

MARGIN_REF = 0.1  # the reference finds >= 0.875
MARGIN_PIX = 0.05  # pixels find <= 0.725


def _pixel_box(image, template):
    from skimage.feature import match_template

    r = match_template(image, template)[..., 0]
    i, j = np.unravel_index(int(np.argmax(r)), r.shape)
    return (j, i, j + template.shape[1], i + template.shape[0])


@functools.lru_cache(maxsize=None)
def _rates(seed: int, light: float | None = None, n: int = matching.N_CASES) -> tuple[float, float]:
    import torch

    torch.set_num_threads(1)
    ex = edge_feature_extractor(4)
    if light is None:
        cases = [c[2:] for c in matching.heldout_cases(seed) if c[0] == 4]
    else:
        cases = matching_cases(n, seed=held_out_seed(matching.ITEM_ID, seed) * 7 + 1, light=light)
    ref = pix = 0
    for _, image, template, box in cases:
        ref += matching.iou1(matching.reference_box(image, template, ex, 1), box) >= 0.5
        pix += matching.iou1(_pixel_box(image, template), box) >= 0.5
    return ref / len(cases), pix / len(cases)


@pytest.mark.parametrize("seed", SEEDS)
def test_reference_clears_the_threshold(seed):
    ref, _ = _rates(seed)
    assert ref >= matching.SUCCESS_FULL + MARGIN_REF, (seed, ref)


@pytest.mark.parametrize("seed", SEEDS)
def test_pixel_matching_misses_it(seed):
    _, pix = _rates(seed)
    assert pix <= matching.SUCCESS_FULL - MARGIN_PIX, (seed, pix)


def test_without_uneven_light_pixels_are_as_good():
    ref, pix = _rates(SEEDS[1], light=0.0, n=24)
    assert pix >= matching.SUCCESS_FULL and abs(ref - pix) <= 0.15, (ref, pix)


def test_exact_crop_is_found_exactly():
    import torch

    _, image, _, _ = matching_cases(1, seed=0)[0]
    ex = edge_feature_extractor(4)
    crop = image[40:100, 80:148]
    assert matching.reference_box(image, crop, ex, 1).tolist() == [80.0, 40.0, 148.0, 100.0]
    ex2 = edge_feature_extractor(2)
    assert matching.reference_box(image, crop, ex2, 2).tolist() == [80.0, 40.0, 148.0, 100.0]
    with torch.no_grad():
        f = ex(torch.zeros(1, 3, 37, 50))
    assert tuple(f.shape) == (1, 16, 9, 12) and ex.stride == 4


def test_fast_ncc_is_the_definition():
    for s, t in matching.ncc_inputs(5):
        assert np.max(np.abs(matching._fast_ncc(s, t) - matching.reference_ncc(s, t))) < 1e-5
