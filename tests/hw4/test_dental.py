"""The offline dental X-ray generator and the image / mask folder loader (003 P8)."""
from __future__ import annotations

import numpy as np
import pytest

from data_scripts.dental import NOISE_KINDS, dental_arrays, dental_folder_available, load_dental_folder, write_dental_folder


def test_generator_is_seeded_and_complete():
    a = dental_arrays(24, size=48, seed=3)
    b = dental_arrays(24, size=48, seed=3)
    c = dental_arrays(24, size=48, seed=4)
    for k in ("images", "masks", "clean_masks", "noisy", "kinds"):
        assert np.array_equal(a[k], b[k]), k
    assert not np.array_equal(a["images"], c["images"])
    assert a["images"].shape == (24, 48, 48) and a["images"].dtype == np.float32
    assert a["masks"].dtype == np.uint8 and set(np.unique(a["masks"])) <= {0, 1}
    assert 0.0 <= a["images"].min() and a["images"].max() <= 1.0


def test_lesions_are_small_dark_and_never_missing():
    d = dental_arrays(60, size=64, seed=0, noise_fraction=0.0)
    areas = d["clean_masks"].sum(axis=(1, 2))
    assert areas.min() > 0                       # every image shows a lesion
    assert 0.002 < d["clean_masks"].mean() < 0.015  # small: about 0.5 % of the pixels
    assert not d["noisy"].any() and np.array_equal(d["masks"], d["clean_masks"])
    # lesions are darker than the tooth around them (radiolucent)
    from scipy.ndimage import binary_dilation
    darker = 0
    for img, m in zip(d["images"], d["clean_masks"].astype(bool)):
        ring = binary_dilation(m, iterations=2) & ~m & (img > 0.45)
        darker += ring.any() and img[m].mean() < img[ring].mean()
    assert darker >= 0.9 * len(areas)


def test_the_record_of_corrupted_masks():
    d = dental_arrays(80, size=48, seed=1, noise_fraction=0.25)
    assert d["noisy"].sum() == 20
    assert set(d["kinds"][d["noisy"]]) == set(NOISE_KINDS)
    assert all(k == "" for k in d["kinds"][~d["noisy"]])
    assert np.array_equal(d["masks"][~d["noisy"]], d["clean_masks"][~d["noisy"]])
    for i in np.flatnonzero(d["noisy"]):
        m, c, kind = d["masks"][i], d["clean_masks"][i], d["kinds"][i]
        assert not np.array_equal(m, c), kind
        if kind == "empty":
            assert m.sum() == 0
        elif kind == "dilate":
            assert m.sum() > 3 * c.sum() and (m >= c).all()
    # the same images whatever the noise: the corruption comes after the drawing
    clean = dental_arrays(80, size=48, seed=1, noise_fraction=0.0)
    assert np.array_equal(clean["images"], d["images"]) and np.array_equal(clean["clean_masks"], d["clean_masks"])


def test_folder_round_trip(tmp_path):
    d = dental_arrays(5, size=40, seed=2)
    write_dental_folder(tmp_path, d["images"], d["masks"])
    assert dental_folder_available(tmp_path)
    images, masks, names = load_dental_folder(tmp_path, size=None)
    assert names == [f"xray_{i:04d}" for i in range(5)]
    assert np.max(np.abs(images - d["images"])) <= 0.5 / 255 + 1e-6
    assert np.array_equal(masks, d["masks"])
    small, small_masks, _ = load_dental_folder(tmp_path, size=20)
    assert small.shape == (5, 20, 20) and set(np.unique(small_masks)) <= {0, 1}


def test_real_layout_written_by_hand(tmp_path):
    """Files as a real data set has them: RGB and 16-bit images, masks of 0/255 with
    another suffix, an image without a mask."""
    from PIL import Image

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[..., :] = 200
    Image.fromarray(rgb, "RGB").save(tmp_path / "images" / "case_b.jpg", quality=100)
    wide = np.full((30, 40), 65535 // 2, np.uint16)
    Image.fromarray(wide).save(tmp_path / "images" / "case_a.png")
    mask = np.zeros((30, 40), np.uint8)
    mask[5:9, 10:14] = 255
    Image.fromarray(mask, "L").save(tmp_path / "masks" / "case_a.bmp")
    Image.fromarray(mask, "L").save(tmp_path / "masks" / "case_b.png")
    Image.fromarray(rgb, "RGB").save(tmp_path / "images" / "case_c.png")   # no mask
    with pytest.warns(UserWarning, match="without a mask"):
        images, masks, names = load_dental_folder(tmp_path, size=None)
    assert names == ["case_a", "case_b"]
    assert images.shape == (2, 30, 40) and images.dtype == np.float32
    assert abs(float(images[0].mean()) - 0.5) < 0.01       # 16 bit scaled by 65535
    assert abs(float(images[1].mean()) - 200 / 255) < 0.02  # RGB read as grey
    assert masks[0].sum() == 16 and masks[1].sum() == 16


def test_missing_folder_is_explained(tmp_path):
    assert not dental_folder_available(tmp_path)
    with pytest.raises(FileNotFoundError, match="images"):
        load_dental_folder(tmp_path)
