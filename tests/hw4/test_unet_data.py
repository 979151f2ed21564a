"""data_scripts.colorize: the photo patches of the colorization and denoising items."""
from __future__ import annotations

import numpy as np
import pytest

from data_scripts import colorize


def test_patches_are_deterministic_and_shaped():
    a = colorize.photo_patches(50, size=32, split="train", seed=3)
    b = colorize.photo_patches(50, size=32, split="train", seed=3)
    c = colorize.photo_patches(50, size=32, split="train", seed=4)
    assert a.shape == (50, 32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    g = colorize.grey_patches(7, size=16, split="test", seed=0)
    assert g.shape == (7, 16, 16) and g.dtype == np.float32 and 0 <= g.min() and g.max() <= 1


def test_train_and_test_blocks_never_overlap():
    train = set(colorize._blocks("train"))
    test = set(colorize._blocks("test"))
    assert train and test and not train & test
    # every photo gives blocks to both parts, about a quarter to the test part
    for name in colorize.PHOTOS:
        n_tr = sum(1 for b in train if b[0] == name)
        n_te = sum(1 for b in test if b[0] == name)
        assert n_te >= 1 and 0.15 <= n_te / (n_tr + n_te) <= 0.35


def test_patches_are_colourful_photographs():
    from skimage.color import rgb2lab

    ab = rgb2lab(colorize.photo_patches(200, split="test", seed=0) / 255.0)[..., 1:]
    # real colours: a spread of hues, not grey and not one colour
    assert ab.std(axis=(0, 1, 2)).min() > 5


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        colorize.photo_patches(3, split="validation")
    with pytest.raises(ValueError):
        colorize.photo_patches(3, size=colorize.BLOCK + 1)


def test_cifar_offline_gives_none(monkeypatch, tmp_path):
    monkeypatch.setenv("CNN_COURSE_KIT_OFFLINE", "1")
    monkeypatch.setenv("CNN_COURSE_KIT_CACHE", str(tmp_path))
    assert colorize.cifar_images(root=tmp_path, verbose=False) is None
