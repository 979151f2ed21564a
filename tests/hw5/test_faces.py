"""data_scripts.faces: the offline expression generator, the real lfw_subset faces, and
the AffectNet folder reader run on a tiny folder written here in AffectNet's layout
(``Train/<class>/*.jpg``, ``Validation/<class>/*.png``, class folders by name or code)."""
from __future__ import annotations

import numpy as np
import pytest

from data_scripts import faces as fc


@pytest.fixture(scope="module")
def drawn():
    return fc.make_expression_faces(12, size=64, seed=0, return_boxes=True)


# ----------------------------------------------------------------------------- the generator


def test_shapes_dtypes_balance_and_names(drawn):
    x, y, names, boxes = drawn
    assert x.shape == (96, 64, 64, 3) and x.dtype == np.uint8
    assert y.shape == (96,) and y.dtype == np.int64
    assert np.bincount(y, minlength=8).tolist() == [12] * 8
    assert names == fc.CLASSES == ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
    assert boxes.shape == (96, 4)
    assert np.all(boxes[:, 0] < boxes[:, 2]) and np.all(boxes[:, 1] < boxes[:, 3])
    assert np.all(boxes >= 0) and np.all(boxes <= 64)
    assert not np.array_equal(y[:12], np.sort(y[:12]))  # shuffled, not in class order


def test_seeded_and_labels_without_drawing(drawn):
    x, y, _ = fc.make_expression_faces(12, size=64, seed=0)
    assert np.array_equal(x, drawn[0]) and np.array_equal(y, drawn[1])
    assert np.array_equal(fc.expression_labels(12, seed=0), y)
    x2, _, _ = fc.make_expression_faces(12, size=64, seed=1)
    assert np.mean(x2 != x) > 0.5


def test_other_sizes():
    x, y, _ = fc.make_expression_faces(2, size=128, seed=3)
    assert x.shape == (16, 128, 128, 3)
    x, y, _ = fc.make_expression_faces(1, size=40, seed=3)
    assert x.shape == (8, 40, 40, 3) and x.std() > 20


def test_the_face_is_inside_its_box(drawn):
    """The box covers the face: skin-coloured pixels differ from the background around it."""
    x, _, _, boxes = drawn
    for img, (x0, y0, x1, y1) in zip(x[:20], boxes[:20]):
        cx, cy = int((x0 + x1) / 2), int((y0 + y1) / 2)
        assert x0 <= cx <= x1 and y0 <= cy <= y1
        assert (x1 - x0) >= 20 and (y1 - y0) >= 25  # faces are large: 17-25 px half-height at 64


def test_no_single_pixel_gives_the_class(drawn):
    """The class means of every pixel are close: position, colours and size vary."""
    x, y, _, _ = fc.make_expression_faces(40, size=64, seed=5, return_boxes=True)
    grey = x.astype(np.float64).mean(axis=3)
    means = np.stack([grey[y == c].mean(axis=0) for c in range(8)])
    spread = means.max(axis=0) - means.min(axis=0)
    within = grey.std(axis=0)
    assert float(np.max(spread / within)) < 1.2


def test_classes_differ_in_the_drawn_cues():
    """One face per class from the same random stream state: the expressions change the
    mouth/brow/eye region and nothing else of the face."""
    imgs = []
    for c in range(8):
        rng = np.random.default_rng(123)  # the same face, colours and place for every class
        imgs.append(fc.draw_face(c, rng, 64).astype(np.int64))
    for a in range(8):
        for b in range(a + 1, 8):
            assert np.abs(imgs[a] - imgs[b]).sum() > 0, (fc.CLASSES[a], fc.CLASSES[b])


# ----------------------------------------------------------------------------- lfw_subset


def test_lfw_faces_are_the_real_face_crops():
    from skimage.data import lfw_subset

    f = fc.lfw_faces(25)
    assert f.shape == (100, 25, 25, 3) and f.dtype == np.uint8
    assert np.array_equal(f[..., 0], f[..., 1]) and np.array_equal(f[..., 0], f[..., 2])
    want = np.clip(np.rint(lfw_subset()[:100] * 255), 0, 255).astype(np.uint8)
    assert np.abs(f[..., 0].astype(int) - want).max() <= 1
    assert fc.lfw_faces(48).shape == (100, 48, 48, 3)


# ----------------------------------------------------------------------------- AffectNet's folders


def _write_affectnet(root, by_code=False):
    """A tiny AffectNet-style folder: 3 training and 2 validation images for some classes."""
    from PIL import Image

    rng = np.random.default_rng(0)
    written = {"Train": [], "Validation": []}
    names = {0: "Neutral", 1: "happy", 2: "Sadness", 6: "angry", 7: "contempt"}
    for split, n in (("Train", 3), ("Validation", 2)):
        for code, name in names.items():
            folder = root / split / (str(code) if by_code else name)
            folder.mkdir(parents=True)
            for i in range(n):
                img = rng.integers(0, 256, (20 + code, 30, 3), dtype=np.uint8)
                ext = ".jpg" if (i + code) % 2 else ".png"
                Image.fromarray(img).save(folder / f"image{code}{i:04d}{ext}")
                written[split].append((code, img))
        (root / split / "README.txt").write_text("not a class folder")
        (root / split / "unknown_class").mkdir()
        (root / split / "unknown_class" / "x.png").write_bytes(b"")
    (root / "Train" / ("1" if by_code else "happy") / "notes.txt").write_text("not an image")
    return written


@pytest.mark.parametrize("by_code", [False, True])
def test_affectnet_folder_reader(tmp_path, by_code):
    written = _write_affectnet(tmp_path, by_code)
    assert fc.affectnet_available(tmp_path, "train") and fc.affectnet_available(tmp_path, "validation")
    x, y, names = fc.load_affectnet_folder(tmp_path, "train", size=32)
    assert names == fc.CLASSES
    assert x.shape == (15, 32, 32, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    assert y.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [6] * 3 + [7] * 3
    xv, yv, _ = fc.load_affectnet_folder(tmp_path, "validation", size=32)
    assert xv.shape == (10, 32, 32, 3) and np.bincount(yv, minlength=8).tolist() == [2, 2, 2, 0, 0, 0, 2, 2]
    # the PNG files come back exactly (resized the same way here), the JPEGs close
    from PIL import Image

    code, img = written["Train"][0]  # image00000.png: class 0, lossless
    want = np.asarray(Image.fromarray(img).resize((32, 32), Image.BILINEAR))
    assert np.array_equal(x[0], want)
    x_lim, y_lim, _ = fc.load_affectnet_folder(tmp_path, "Train", size=16, limit_per_class=1)
    assert y_lim.tolist() == [0, 1, 2, 6, 7] and x_lim.shape == (5, 16, 16, 3)


def test_affectnet_class_names_and_codes():
    assert fc.class_from_folder("Happy") == 1 and fc.class_from_folder("happiness") == 1
    assert fc.class_from_folder("ANGRY") == 6 and fc.class_from_folder("anger") == 6
    assert fc.class_from_folder("7") == 7 and fc.class_from_folder("8") is None
    assert fc.class_from_folder("surprised") == 3 and fc.class_from_folder("fearful") == 4
    assert fc.class_from_folder("misc") is None


def test_load_expressions_real_and_offline(tmp_path, capsys):
    _write_affectnet(tmp_path)
    d = fc.load_expressions(tmp_path, size=24, verbose=True)
    assert d["source"] == "real" and d["x_train"].shape == (15, 24, 24, 3) and len(d["y_val"]) == 10
    assert "real" in capsys.readouterr().out
    d = fc.load_expressions(tmp_path / "missing", size=24, n_per_class=2, n_val_per_class=1, verbose=True)
    assert d["source"] == "synthetic" and d["x_train"].shape == (16, 24, 24, 3) and len(d["y_val"]) == 8
    assert "SYNTHETIC" in capsys.readouterr().out
    with pytest.raises(FileNotFoundError):
        fc.load_affectnet_folder(tmp_path / "missing", "train")


def test_vgg16_weights_are_never_fetched_offline(monkeypatch):
    monkeypatch.setenv("CNN_COURSE_KIT_OFFLINE", "1")
    assert fc.vgg16_weights_path().name == "vgg16-397923af.pth"
    if not fc.vgg16_weights_cached():
        with pytest.raises(RuntimeError, match="OFFLINE"):
            fc.download_vgg16_weights()
