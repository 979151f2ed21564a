"""PASCAL VOC 2007 and darknet's TinyYOLOv2 VOC weights (HW3), with offline fallbacks.

* **weights**: :func:`tiny_yolo_voc_weights` downloads ``yolov2-tiny-voc.weights`` (darknet's
  TinyYOLOv2 trained on VOC 2007+2012, 63.5 MB) once into the course cache and returns its
  path, or ``None`` (saying why) when it cannot be had, e.g. offline. The file is checked
  by its size, which the architecture fixes: a 16-byte header (int32 major=0, minor=1,
  revision, seen) plus 15,867,885 float32 values = 63,471,556 bytes. Its SHA-256 is
  :data:`TINY_YOLO_VOC_SHA256`; darknet's site publishes no checksum and this kit was
  written without network access, so the constant is ``None`` (not verified) until an
  instructor fills it in from a copy they trust (``python -m data_scripts.voc weights``
  prints the hash of the cached file).
* **images**: :func:`load_voc2007` reads VOC 2007 (``VOCtest_06-Nov-2007.tar`` or
  ``VOCtrainval_06-Nov-2007.tar``, about 440 MB each, md5 sums as in torchvision) from the
  cache, downloading and extracting it when asked to; :func:`read_voc_annotation` parses
  one annotation file. Boxes are returned as (x1, y1, x2, y2) pixel coordinates with
  VOC's 1-based inclusive corners turned into 0-based edges: (xmin - 1, ymin - 1, xmax, ymax).
* **offline**: :func:`demo_images` gives VOC images when they are in the cache, else
  scikit-image's photographs (an astronaut, a cat, a coffee cup, a rocket...), and says
  which.
"""
from __future__ import annotations

import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

__all__ = ["VOC_CLASSES", "VOC_ANCHORS", "TINY_YOLO_VOC_URL", "TINY_YOLO_VOC_SHA256", "TINY_YOLO_VOC_SIZE",
           "VOC2007", "tiny_yolo_voc_weights", "read_voc_annotation", "read_voc_folder", "load_voc2007",
           "demo_images"]

# darknet's data/voc.names, in the order of the network's class scores
VOC_CLASSES = ("aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
               "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
               "tvmonitor")
# yolov2-tiny-voc.cfg's [region] anchors: (width, height) in grid cells of 32 pixels
VOC_ANCHORS = ((1.08, 1.19), (3.42, 4.41), (6.63, 11.38), (9.42, 5.11), (16.62, 10.52))

TINY_YOLO_VOC_URL = "https://pjreddie.com/media/files/yolov2-tiny-voc.weights"
TINY_YOLO_VOC_FILENAME = "yolov2-tiny-voc.weights"
TINY_YOLO_VOC_SHA256: str | None = None  # not known to this kit: see the module docstring
TINY_YOLO_VOC_SIZE = 16 + 4 * 15_867_885  # header + conv weights, BN terms and the last bias

VOC2007 = {  # the archives and md5 sums torchvision.datasets.VOCDetection uses
    "test": {"url": "http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtest_06-Nov-2007.tar",
             "filename": "VOCtest_06-Nov-2007.tar", "md5": "b6e924de25625d8de591ea690078ad9f"},
    "trainval": {"url": "http://host.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtrainval_06-Nov-2007.tar",
                 "filename": "VOCtrainval_06-Nov-2007.tar", "md5": "c52e279531787c972589f7e41ab4ae64"},
}
BASE_FOLDER = "VOCdevkit/VOC2007"


def _root(root) -> Path:
    if root is not None:
        return Path(root).expanduser()
    from cnnkit.data import cache_dir

    return cache_dir("voc")


# ----------------------------------------------------------------------------- the weights


def tiny_yolo_voc_weights(root=None, download: bool = True, *, url: str | None = None, sha256: str | None = None,
                          size: int | None = TINY_YOLO_VOC_SIZE, verbose: bool = True) -> Path | None:
    """The path of ``yolov2-tiny-voc.weights`` in ``root`` (default: the course cache), fetched
    from ``url`` (default :data:`TINY_YOLO_VOC_URL`) when missing and ``download`` is true;
    ``None`` when it cannot be had (offline, or a file of the wrong size), with one line
    saying why. ``sha256`` (default :data:`TINY_YOLO_VOC_SHA256`, unknown: ``None``) is
    checked when given; ``size`` (bytes; ``None``: not checked) always."""
    from cnnkit.data import ChecksumError, DownloadError, file_hash
    from cnnkit.data import download as fetch

    say = print if verbose else (lambda *a, **k: None)
    dest = _root(root) / TINY_YOLO_VOC_FILENAME
    sha256 = sha256 or TINY_YOLO_VOC_SHA256
    try:
        if dest.is_file():
            path = dest
            if sha256 and file_hash(dest) != sha256.lower():
                raise ChecksumError(f"{dest} does not have the expected sha256 {sha256}")
        elif download:
            say(f"TinyYOLOv2 VOC weights: downloading {url or TINY_YOLO_VOC_URL} into {dest.parent} ...")
            path = fetch(url or TINY_YOLO_VOC_URL, dest, sha256=sha256, progress=verbose)
        else:
            raise FileNotFoundError(f"{dest} is not there and download=False")
        if size is not None and path.stat().st_size != size:
            got = path.stat().st_size
            path.unlink()
            raise ValueError(f"{path.name} has {got:,} bytes, expected {size:,} (a truncated or different file; deleted)")
    except (OSError, DownloadError, ValueError) as e:
        say(f"TinyYOLOv2 VOC weights: not available ({type(e).__name__}: {e}). Working OFFLINE: the demo uses an "
            f"untrained network. Run `python -m data_scripts.voc weights` when online, or put the file at {dest}.")
        return None
    say(f"TinyYOLOv2 VOC weights: the real darknet file {path} ({path.stat().st_size:,} bytes)")
    return path


# ----------------------------------------------------------------------------- VOC 2007


def read_voc_annotation(source) -> dict:
    """One VOC annotation (a path to the XML file, or its text): ``{"filename", "size" (h, w),
    "boxes" float32 (K, 4) (x1, y1, x2, y2) 0-based pixel edges, "labels" int64 (K,) indices
    into VOC_CLASSES, "difficult" bool (K,)}``."""
    text = source if isinstance(source, str) and source.lstrip().startswith("<") else Path(source).read_text()
    root = ET.fromstring(text)
    size = root.find("size")
    hw = (int(size.findtext("height")), int(size.findtext("width"))) if size is not None else (0, 0)
    boxes, labels, difficult = [], [], []
    for obj in root.iter("object"):
        name = obj.findtext("name").strip()
        if name not in VOC_CLASSES:
            raise ValueError(f"unknown VOC class {name!r}")
        bb = obj.find("bndbox")
        x1, y1, x2, y2 = (float(bb.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        boxes.append((x1 - 1, y1 - 1, x2, y2))
        labels.append(VOC_CLASSES.index(name))
        difficult.append(obj.findtext("difficult", "0").strip() == "1")
    return {"filename": root.findtext("filename"), "size": hw,
            "boxes": np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            "labels": np.asarray(labels, dtype=np.int64), "difficult": np.asarray(difficult, dtype=bool)}


def read_voc_folder(folder, split: str = "test", limit: int | None = None) -> list[dict]:
    """The images of ``ImageSets/Main/<split>.txt`` in an extracted ``VOCdevkit/VOC2007``
    (or the folder holding ``VOCdevkit``): a list of dicts with ``id``, ``image`` (uint8
    (H, W, 3)) and the keys of :func:`read_voc_annotation`."""
    from PIL import Image

    folder = Path(folder)
    if (folder / BASE_FOLDER).is_dir():
        folder = folder / BASE_FOLDER
    ids = (folder / "ImageSets" / "Main" / f"{split}.txt").read_text().split()
    out = []
    for i in ids[:limit]:
        ann = read_voc_annotation(folder / "Annotations" / f"{i}.xml")
        with Image.open(folder / "JPEGImages" / f"{i}.jpg") as im:
            ann["image"] = np.asarray(im.convert("RGB"), dtype=np.uint8)
        ann["id"] = i
        out.append(ann)
    return out


def _voc_ready(root: Path, split: str) -> bool:
    return (root / BASE_FOLDER / "ImageSets" / "Main" / f"{split}.txt").is_file()


def load_voc2007(split: str = "test", root=None, download: bool = True, limit: int | None = None, *,
                 url: str | None = None, md5: str | None = None, verbose: bool = True) -> list[dict] | None:
    """VOC 2007 ``split`` (``"test"``, or ``"train"``/``"val"``/``"trainval"`` from the
    trainval archive) as :func:`read_voc_folder` gives it, from ``root`` (default: the course
    cache); the archive is downloaded (md5-checked) and extracted when missing and
    ``download`` is true. ``None`` when it cannot be had, with one line saying why."""
    from cnnkit.data import DownloadError
    from cnnkit.data import download as fetch

    say = print if verbose else (lambda *a, **k: None)
    spec = VOC2007["test" if split == "test" else "trainval"]
    root = _root(root)
    try:
        if not _voc_ready(root, split):
            if not download:
                raise FileNotFoundError(f"{root / BASE_FOLDER} has no {split} split and download=False")
            say(f"VOC 2007: downloading {url or spec['url']} (about 440 MB) into {root} ...")
            archive = fetch(url or spec["url"], root / spec["filename"], md5=md5 or spec["md5"], progress=verbose)
            with tarfile.open(archive) as tar:
                tar.extractall(root, filter="data")
            if not _voc_ready(root, split):
                raise FileNotFoundError(f"{archive.name} has no {BASE_FOLDER}/ImageSets/Main/{split}.txt")
        data = read_voc_folder(root, split, limit)
    except (OSError, DownloadError, tarfile.TarError, ValueError, ET.ParseError) as e:
        say(f"VOC 2007 {split}: not available ({type(e).__name__}: {e}).")
        return None
    say(f"VOC 2007 {split}: the real images from {root / BASE_FOLDER} ({len(data)} images)")
    return data


# ----------------------------------------------------------------------------- demo pictures

SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def demo_images(n: int = 4, root=None, verbose: bool = True) -> tuple[list[tuple[str, np.ndarray]], str]:
    """``n`` pictures for a detection demo and their source: VOC 2007 test images when
    they are already in the cache (nothing is downloaded), else scikit-image's photographs
    ("offline")."""
    voc = load_voc2007("test", root=root, download=False, limit=n, verbose=False)
    if voc:
        if verbose:
            print(f"demo images: {len(voc)} real VOC 2007 test images")
        return [(d["id"], d["image"]) for d in voc], "VOC 2007"
    from skimage import data

    pics = [(name, np.asarray(getattr(data, name)())[..., :3]) for name in SKIMAGE_PHOTOS[:n]]
    if verbose:
        print(f"demo images: OFFLINE source, scikit-image's photographs {', '.join(p[0] for p in pics)} "
              f"(VOC 2007 is not in the cache; `python -m data_scripts.voc voc2007` fetches it)")
    return pics, "scikit-image"


if __name__ == "__main__":  # python -m data_scripts.voc [weights|voc2007]: fetch into the cache
    import sys

    what = sys.argv[1] if len(sys.argv) > 1 else "weights"
    if what == "weights":
        p = tiny_yolo_voc_weights()
        if p is not None:
            from cnnkit.data import file_hash

            print("sha256", file_hash(p))
        sys.exit(0 if p is not None else 1)
    if what == "voc2007":
        sys.exit(0 if load_voc2007("test") is not None else 1)
    sys.exit(f"unknown {what!r}: use weights or voc2007")
