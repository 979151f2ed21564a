"""The data sources of HW2's digits and cats-vs-dogs projects.

Offline generators: deterministic per seed, the documented shapes and dtypes, labels
balanced, file names that carry the label and survive a round trip through the disk.
Real source: the Oxford-IIIT Pet reader, run with ``download=False`` on a tiny folder
written here in the data set's real on-disk layout (``images/*.jpg`` and
``annotations/{trainval,test}.txt`` with lines ``<image> <breed 1-37> <species 1 cat,
2 dog> <breed id>``).
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from data_scripts import catsdogs as cd
from data_scripts import digits14 as dg

NAME = re.compile(r"^digit([1-4])_(\d{5})\.png$")


@pytest.fixture(scope="module")
def digits0():
    return dg.digits14_arrays(seed=0)


# ----------------------------------------------------------------------------- digits 1-4


def test_digits_shapes_dtypes_and_labels(digits0):
    images, labels, names = digits0
    assert images.shape == (723, 64, 64, 3) and images.dtype == np.uint8
    assert labels.shape == (723,) and labels.dtype == np.int64
    assert set(labels.tolist()) == {1, 2, 3, 4}
    counts = np.bincount(labels, minlength=5)[1:]
    assert counts.tolist() == [182, 177, 183, 181]  # scikit-learn's digits 1-4
    assert counts.min() / counts.max() > 0.95
    assert len(names) == 723 and len(set(names)) == 723


def test_digits_names_carry_the_label_and_index(digits0):
    _, labels, names = digits0
    for i, (name, label) in enumerate(zip(names, labels)):
        m = NAME.match(name)
        assert m, name
        assert int(m.group(1)) == label and int(m.group(2)) == i
    assert dg.file_name(3, 17) == "digit3_00017.png"


def test_digits_deterministic_per_seed(digits0):
    images, labels, names = dg.digits14_arrays(seed=0)
    assert np.array_equal(images, digits0[0]) and np.array_equal(labels, digits0[1]) and names == digits0[2]
    other, other_labels, _ = dg.digits14_arrays(seed=1)
    assert np.array_equal(other_labels, labels)          # the same scans...
    assert np.mean(other != images) > 0.5                # ...drawn in other colours and places


def test_digits_look_like_ink_on_paper(digits0):
    images, _, _ = digits0
    lum = images.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    # every image has a clear dark stroke on a lighter background, and the images vary
    spread = np.percentile(lum, 98, axis=(1, 2)) - np.percentile(lum, 2, axis=(1, 2))
    assert spread.min() > 50
    assert (np.median(lum, axis=(1, 2)) > np.percentile(lum, 2, axis=(1, 2)) + 40).all()  # the paper is the lighter
    assert images.reshape(len(images), -1, 3).mean(axis=1).std(axis=0).min() > 20  # colours differ between images


def test_write_digits14_round_trip(tmp_path, digits0):
    images, labels, names = digits0
    paths = dg.write_digits14(tmp_path / "digits14", seed=0)
    assert [p.name for p in paths] == names
    (tmp_path / "digits14" / "notes.txt").write_text("not an image")
    listed = dg.read_image_folder(tmp_path / "digits14")
    assert [p.name for p in listed] == sorted(names)
    by_name = {n: i for i, n in enumerate(names)}
    order = [by_name[p.name] for p in listed]
    loaded = dg.load_images(listed)
    assert loaded.shape == (723, 64, 64, 3) and loaded.dtype == np.uint8
    assert np.array_equal(loaded, images[order])  # PNG is lossless
    parsed = [int(NAME.match(p.name).group(1)) for p in listed]
    assert parsed == labels[order].tolist()


def test_read_image_folder_needs_a_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        dg.read_image_folder(tmp_path / "missing")
    assert dg.load_images([]).shape == (0, 64, 64, 3)


def test_load_images_resizes_other_sizes(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((30, 50, 3), 200, np.uint8)).save(tmp_path / "digit1_00000.png")
    out = dg.load_images([tmp_path / "digit1_00000.png"])
    assert out.shape == (1, 64, 64, 3) and int(out[0, 10, 10, 0]) == 200


# ----------------------------------------------------------------------------- cats vs dogs, offline


def test_catsdogs_shapes_balance_and_determinism():
    x, y = cd.catsdogs_arrays(101, seed=5)
    assert x.shape == (101, 64, 64, 3) and x.dtype == np.uint8
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [50, 51]
    x2, y2 = cd.catsdogs_arrays(101, seed=5)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert np.array_equal(cd.catsdogs_labels(101, seed=5), y)
    x3, y3 = cd.catsdogs_arrays(101, seed=6)
    assert np.mean(x3 != x) > 0.5 and not np.array_equal(y3, y)
    small, _ = cd.catsdogs_arrays(4, size=32, seed=0)
    assert small.shape == (4, 32, 32, 3)


def test_catsdogs_no_pixel_gives_the_class_away():
    # Colours and places are random: the mean image of the cats and of the dogs differ
    # far less than single images do.
    x, y = cd.catsdogs_arrays(600, seed=0)
    x = x.astype(np.float64)
    gap = np.abs(x[y == 0].mean(axis=0) - x[y == 1].mean(axis=0))
    assert gap.max() < 40 and gap.mean() < 10
    assert x.std(axis=0).mean() > 50


# ----------------------------------------------------------------------------- Oxford-IIIT Pet, real layout

PETS = [  # image id, breed 1-37, species (1 cat, 2 dog), breed id within species, split, (height, width)
    ("Abyssinian_1", 1, 1, 1, "trainval", (60, 90)),
    ("american_bulldog_10", 2, 2, 1, "trainval", (100, 70)),
    ("Bengal_3", 6, 1, 3, "trainval", (64, 64)),
    ("beagle_7", 11, 2, 3, "trainval", (120, 120)),
    ("Sphynx_20", 34, 1, 12, "test", (80, 40)),
    ("pug_5", 26, 2, 16, "test", (50, 75)),
    ("yorkshire_terrier_2", 37, 2, 25, "test", (90, 90)),
]


@pytest.fixture()
def pets_root(tmp_path):
    """A tiny copy of the data set: JPEGs whose centre square is one colour per image
    and whose margins (the part a centre crop removes) are black."""
    from PIL import Image

    base = tmp_path / "oxford-iiit-pet"
    (base / "images").mkdir(parents=True)
    (base / "annotations").mkdir()
    lines = {"trainval": [], "test": []}
    for k, (name, breed, species, bid, split, (h, w)) in enumerate(PETS):
        img = np.zeros((h, w, 3), np.uint8)
        m = min(h, w)
        top, left = (h - m) // 2, (w - m) // 2
        img[top:top + m, left:left + m] = (40 * k % 256, 255 - 30 * k, 100 + 20 * k)
        Image.fromarray(img).save(base / "images" / f"{name}.jpg", quality=95)
        lines[split].append(f"{name} {breed} {species} {bid}")
    for split, rows in lines.items():
        (base / "annotations" / f"{split}.txt").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_oxford_pets_reads_the_real_layout(pets_root):
    x, y = cd.load_oxford_pets("trainval", size=64, root=pets_root, download=False)
    assert x.shape == (4, 64, 64, 3) and x.dtype == np.uint8
    assert y.tolist() == [0, 1, 0, 1]  # species 1 -> cat (0), 2 -> dog (1), in the file's order
    for k in range(4):
        want = np.array((40 * k % 256, 255 - 30 * k, 100 + 20 * k))
        # the centre crop keeps only the coloured square (JPEG: close, not exact)
        assert np.abs(x[k].reshape(-1, 3).mean(axis=0) - want).max() < 8, k
    xt, yt = cd.load_oxford_pets("test", size=32, root=pets_root, download=False)
    assert xt.shape == (3, 32, 32, 3) and yt.tolist() == [0, 1, 1]
    assert cd.oxford_pets_available(pets_root)


def test_oxford_pets_cache_and_limit(pets_root):
    x, y = cd.load_oxford_pets("trainval", size=48, root=pets_root, download=False)
    cache = pets_root / "cats_dogs_trainval_48.npz"
    assert cache.is_file()
    for f in (pets_root / "oxford-iiit-pet" / "images").iterdir():
        f.unlink()  # the second call must not need the photos any more
    x2, y2 = cd.load_oxford_pets("trainval", size=48, root=pets_root, download=False)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)


def test_oxford_pets_limit_reads_only_the_first(pets_root):
    x, y = cd.load_oxford_pets("test", size=16, root=pets_root, download=False, limit=2)
    assert x.shape == (2, 16, 16, 3) and y.tolist() == [0, 1]
    assert not (pets_root / "cats_dogs_test_16.npz").exists()


def test_oxford_pets_missing_without_download(tmp_path):
    assert not cd.oxford_pets_available(tmp_path)
    with pytest.raises(RuntimeError):
        cd.load_oxford_pets("trainval", root=tmp_path, download=False)
