"""data_scripts.voc: darknet's TinyYOLOv2 VOC weights and VOC 2007, each tested on tiny files
written here in the real on-disk formats and fetched through file:// URLs."""
from __future__ import annotations

import hashlib
import io
import struct
import tarfile

import numpy as np
import pytest

from autograder.hw3.yolo import darknet_layout, weights_file
from data_scripts.voc import (BASE_FOLDER, TINY_YOLO_VOC_SIZE, VOC_ANCHORS, VOC_CLASSES, demo_images, load_voc2007,
                              read_voc_annotation, tiny_yolo_voc_weights)


# ----------------------------------------------------------------------------- the weights file


def test_the_size_of_the_voc_weights_follows_from_the_architecture():
    layout = darknet_layout(len(VOC_CLASSES), len(VOC_ANCHORS))
    values = 0
    for layer in layout:
        if layer[0] == "conv":
            _, cin, cout, k, _, bias = layer
            values += cout * cin * k * k + (cout if bias else 0)
        else:
            values += 4 * layer[1]  # beta, gamma, running mean, running variance
    assert values == 15_867_885
    assert TINY_YOLO_VOC_SIZE == 16 + 4 * values == 63_471_556  # header 0.1.x: seen is an int32


def _small_weights(tmp_path, header=(0, 1, 0, 4242)):
    layout = darknet_layout(2, 1, widths=(2, 2, 4, 4, 4, 4, 8, 8))
    data, _ = weights_file(layout, header, np.random.default_rng(0))
    src = tmp_path / "yolov2-tiny-voc.weights"
    src.write_bytes(data)
    return src, data


def test_the_grader_writes_darknet_files_with_both_headers():
    layout = [("conv", 1, 2, 1, 0, False), ("bn", 2), ("conv", 2, 1, 1, 0, True)]
    old, vals = weights_file(layout, (0, 1, 0, 7), np.random.default_rng(1))
    new, _ = weights_file(layout, (0, 2, 0, 7), np.random.default_rng(1))
    assert struct.unpack("<4i", old[:16]) == (0, 1, 0, 7)
    assert struct.unpack("<3iq", new[:20]) == (0, 2, 0, 7)
    assert old[16:] == new[20:]
    floats = np.frombuffer(old[16:], dtype="<f4")
    assert floats.size == 4 * 2 + 2 + 1 + 2  # BN terms, conv weight 2x1x1x1, then bias 1 and weight 1x2x1x1
    assert np.array_equal(floats[:2], vals[1]["beta"]) and np.array_equal(floats[2:4], vals[1]["gamma"])
    assert np.array_equal(floats[8:10], vals[0]["w"].ravel()) and floats[10] == vals[2]["b"][0]


def test_weights_are_fetched_checked_and_cached(tmp_path, capsys):
    src, data = _small_weights(tmp_path)
    sha = hashlib.sha256(data).hexdigest()
    root = tmp_path / "cache"
    path = tiny_yolo_voc_weights(root=root, url=src.as_uri(), sha256=sha, size=len(data))
    assert path == root / "yolov2-tiny-voc.weights" and path.read_bytes() == data
    assert "the real darknet file" in capsys.readouterr().out
    # in the cache: nothing is fetched again, even with download=False and an unreachable URL
    again = tiny_yolo_voc_weights(root=root, download=False, url=(tmp_path / "gone").as_uri(), size=len(data))
    assert again == path


def test_a_wrong_file_is_refused(tmp_path, capsys):
    src, data = _small_weights(tmp_path)
    assert tiny_yolo_voc_weights(root=tmp_path / "a", url=src.as_uri(), sha256="0" * 64, size=None) is None
    assert "ChecksumError" in capsys.readouterr().out
    assert not (tmp_path / "a" / "yolov2-tiny-voc.weights").exists()
    # the default size check: a file that is not 63,471,556 bytes is deleted
    assert tiny_yolo_voc_weights(root=tmp_path / "b", url=src.as_uri()) is None
    assert "expected 63,471,556" in capsys.readouterr().out
    assert not (tmp_path / "b" / "yolov2-tiny-voc.weights").exists()


def test_offline_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_KIT_OFFLINE", "1")
    assert tiny_yolo_voc_weights(root=tmp_path) is None
    out = capsys.readouterr().out
    assert "OFFLINE" in out and "python -m data_scripts.voc weights" in out
    assert tiny_yolo_voc_weights(root=tmp_path, download=False, verbose=False) is None
    assert capsys.readouterr().out == ""


# ----------------------------------------------------------------------------- VOC 2007

ANNOTATION = """<annotation>
	<folder>VOC2007</folder>
	<filename>{name}.jpg</filename>
	<source><database>The VOC2007 Database</database></source>
	<size><width>{w}</width><height>{h}</height><depth>3</depth></size>
	<segmented>0</segmented>
{objects}</annotation>
"""
OBJECT = """	<object>
		<name>{cls}</name>
		<pose>Unspecified</pose>
		<truncated>0</truncated>
		<difficult>{difficult}</difficult>
		<bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox>
	</object>
"""
IMAGES = {  # id: (height, width, [(class, difficult, xmin, ymin, xmax, ymax)])
    "000001": (30, 40, [("dog", 0, 5, 6, 20, 25), ("person", 1, 1, 1, 40, 30)]),
    "000004": (24, 32, [("tvmonitor", 0, 10, 3, 30, 20)]),
    "000007": (20, 20, [("car", 0, 2, 2, 9, 9)]),  # in trainval only
}


def _jpeg(h, w, value) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def write_voc_tar(tmp_path, ids=("000001", "000004")):
    """A tiny VOCtest_06-Nov-2007.tar laid out like the real one."""
    archive = tmp_path / "VOCtest_06-Nov-2007.tar"
    with tarfile.open(archive, "w") as tar:
        def add(name, data: bytes):
            info = tarfile.TarInfo(f"{BASE_FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for k, i in enumerate(ids):
            h, w, objs = IMAGES[i]
            objects = "".join(OBJECT.format(cls=c, difficult=d, x1=a, y1=b, x2=x, y2=y) for c, d, a, b, x, y in objs)
            add(f"Annotations/{i}.xml", ANNOTATION.format(name=i, w=w, h=h, objects=objects).encode())
            add(f"JPEGImages/{i}.jpg", _jpeg(h, w, 40 + 100 * k))
        add("ImageSets/Main/test.txt", "".join(f"{i}\n" for i in ids).encode())
        add("ImageSets/Main/dog_test.txt", "".join(f"{i} 1\n" for i in ids).encode())
    return archive


def test_read_voc_annotation():
    h, w, objs = IMAGES["000001"]
    text = ANNOTATION.format(name="000001", w=w, h=h, objects="".join(
        OBJECT.format(cls=c, difficult=d, x1=a, y1=b, x2=x, y2=y) for c, d, a, b, x, y in objs))
    ann = read_voc_annotation(text)
    assert ann["filename"] == "000001.jpg" and ann["size"] == (30, 40)
    assert ann["boxes"].dtype == np.float32 and ann["boxes"].tolist() == [[4, 5, 20, 25], [0, 0, 40, 30]]
    assert ann["labels"].tolist() == [VOC_CLASSES.index("dog"), VOC_CLASSES.index("person")]
    assert ann["difficult"].tolist() == [False, True]
    with pytest.raises(ValueError, match="unknown VOC class"):
        read_voc_annotation(text.replace("<name>dog</name>", "<name>unicorn</name>"))


def test_load_voc2007_downloads_checks_and_extracts(tmp_path, capsys):
    archive = write_voc_tar(tmp_path)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    root = tmp_path / "cache"
    data = load_voc2007("test", root=root, url=archive.as_uri(), md5=md5)
    assert "the real images" in capsys.readouterr().out
    assert [d["id"] for d in data] == ["000001", "000004"]
    first = data[0]
    assert first["image"].shape == (30, 40, 3) and first["image"].dtype == np.uint8
    assert abs(int(first["image"].mean()) - 40) <= 2
    assert first["boxes"].shape == (2, 4) and first["labels"].tolist() == [11, 14]
    assert data[1]["boxes"].tolist() == [[9, 2, 30, 20]]
    # extracted: nothing is fetched again
    again = load_voc2007("test", root=root, url=(tmp_path / "gone.tar").as_uri(), limit=1, verbose=False)
    assert len(again) == 1 and np.array_equal(again[0]["image"], first["image"])
    pics, source = demo_images(2, root=root, verbose=False)
    assert source == "VOC 2007" and [p[0] for p in pics] == ["000001", "000004"]


def test_load_voc2007_failures(tmp_path, capsys):
    archive = write_voc_tar(tmp_path)
    assert load_voc2007("test", root=tmp_path / "r1", url=archive.as_uri()) is None  # the official md5
    assert "ChecksumError" in capsys.readouterr().out
    assert load_voc2007("test", root=tmp_path / "r2", download=False) is None
    assert "download=False" in capsys.readouterr().out


def test_demo_images_offline(tmp_path, capsys):
    pics, source = demo_images(2, root=tmp_path)
    assert source == "scikit-image" and [p[0] for p in pics] == ["astronaut", "chelsea"]
    assert all(p[1].dtype == np.uint8 and p[1].ndim == 3 and p[1].shape[2] == 3 for p in pics)
    assert "OFFLINE" in capsys.readouterr().out


def _notebook_function(name: str):
    """A solution function of authoring/hw3/10_yolo.nbsrc, executed on its own."""
    from pathlib import Path

    import torch
    from torch import nn

    from autograder.notebooks import parse

    root = Path(__file__).resolve().parents[2]

    ns = {"np": np, "torch": torch, "nn": nn, "Path": Path}
    for kind, _, body in parse((root / "authoring/hw3/10_yolo.nbsrc").read_text(), "10_yolo.nbsrc"):
        if kind == "solution" and f"def {name}(" in body:
            exec(body, ns)
    return ns[name]


def test_a_full_size_voc_file_passes_the_size_check_and_loads(tmp_path):
    """A file of the real layout and size (random values), fetched by file:// with the default
    size check, and loaded by the notebook's reference loader into a TinyYOLOv2-shaped model."""
    import torch

    from autograder.hw3.yolo import build_darknet_model

    layout = darknet_layout(20, 5)
    data, vals = weights_file(layout, (0, 1, 0, 32_013_312), np.random.default_rng(3))
    assert len(data) == TINY_YOLO_VOC_SIZE
    src = tmp_path / "src.weights"
    src.write_bytes(data)
    del data
    path = tiny_yolo_voc_weights(root=tmp_path / "cache", url=src.as_uri(), verbose=False)
    assert path is not None and path.stat().st_size == TINY_YOLO_VOC_SIZE
    model = build_darknet_model(layout, nested=True)
    header = _notebook_function("load_darknet_weights")(model, path)
    assert tuple(header) == (0, 1, 0, 32_013_312)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert np.array_equal(convs[-2].weight.detach().numpy(), vals[-3]["w"])  # conv8 (then bn8, conv9)
    assert np.array_equal(convs[-1].bias.detach().numpy(), vals[-1]["b"])
    assert np.array_equal(bns[0].running_var.numpy(), vals[1]["var"])
