"""CIFAR-10 and CIFAR-100: the real data sets, and an offline stand-in.

* **real**: :func:`load_cifar` downloads the official python-format archive from
  the University of Toronto (the URLs and md5 sums torchvision uses) once into the
  course cache and reads it with :func:`read_cifar_batches`. A folder where
  torchvision already put CIFAR (``root/cifar-10-batches-py``) is read as is.
* **offline**: :func:`synthetic_cifar`, a seeded generator of 32x32 colour images
  in up to 100 classes. Each class is a combination of a shape or texture (disk,
  square, triangle, ring, plus, cross, diamond, stripes, two dots, checkerboard)
  and a colour, drawn at a random position, size and tilt on a random dull
  background with noise. A small CNN learns it; the numbers it reaches say nothing
  about real CIFAR. :func:`load_cifar` falls back to it when offline and says so.
"""
from __future__ import annotations

import colorsys
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["synthetic_cifar", "synthetic_class_names", "read_cifar_batches", "load_cifar", "CIFAR"]


# ----------------------------------------------------------------------------- offline generator

SHAPES = ("disk", "square", "triangle", "ring", "plus", "cross", "diamond", "stripes", "dots", "checker")
COLOURS = ("red", "orange", "yellow", "lime", "green", "cyan", "sky", "blue", "purple", "pink")
MAX_SYNTHETIC_CLASSES = len(SHAPES) * len(COLOURS)
_SS = 2  # supersampling per axis (anti-aliased edges)


def _class_parts(c):
    """Shape and colour index of class ``c``: all 100 pairs are distinct, and
    classes 0-9 have ten different shapes *and* ten different colours."""
    c = np.asarray(c)
    shape = c % len(SHAPES)
    colour = (c // len(SHAPES) + c) % len(COLOURS)
    return shape, colour


def synthetic_class_names(num_classes: int) -> list[str]:
    """``"red disk"``, ``"orange square"``, ... for classes ``0..num_classes-1``."""
    shape, colour = _class_parts(np.arange(num_classes))
    return [f"{COLOURS[k]} {SHAPES[s]}" for s, k in zip(shape, colour)]


def _shape_mask(s: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside-mask of shape ``s`` in local coordinates (about the unit disk)."""
    au, av = np.abs(u), np.abs(v)
    if s == 0:  # disk
        return u * u + v * v < 1.0
    if s == 1:  # square
        return np.maximum(au, av) < 0.82
    if s == 2:  # triangle, apex up (v grows downwards in images)
        return (v < 0.5) & (0.866 * u - 0.5 * v < 0.5) & (-0.866 * u - 0.5 * v < 0.5)
    if s == 3:  # ring
        r2 = u * u + v * v
        return (r2 < 1.0) & (r2 > 0.3)
    if s == 4:  # plus
        return ((au < 0.3) & (av < 0.95)) | ((av < 0.3) & (au < 0.95))
    if s == 5:  # cross (a plus turned 45 degrees)
        a, b = np.abs(u + v) * 0.7071, np.abs(u - v) * 0.7071
        return ((a < 0.28) & (b < 0.95)) | ((b < 0.28) & (a < 0.95))
    if s == 6:  # diamond
        return au + av < 1.0
    if s == 7:  # horizontal stripes in a square
        return (np.maximum(au, av) < 0.85) & (np.floor((v + 0.85) * 2.35) % 2 == 0)
    if s == 8:  # two dots side by side
        return ((u - 0.52) ** 2 + v * v < 0.17) | ((u + 0.52) ** 2 + v * v < 0.17)
    if s == 9:  # checkerboard
        return (np.maximum(au, av) < 0.85) & ((np.floor((u + 0.85) * 2.35) + np.floor((v + 0.85) * 2.35)) % 2 == 0)
    raise ValueError(s)


def _hsv(h, s, v) -> np.ndarray:
    return np.array([colorsys.hsv_to_rgb(a, b, c) for a, b, c in zip(h, s, v)], dtype=np.float32).reshape(-1, 3)


def _alpha(shape, cx, cy, radius, theta, gx, gy, size):
    """Anti-aliased coverage ``(m, size, size, 1)`` of one shape per image."""
    m = len(shape)
    dx = gx[None] - cx[:, None, None]
    dy = gy[None] - cy[:, None, None]
    cos, sin, r = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None], radius[:, None, None]
    u = (dx * cos + dy * sin) / r
    v = (-dx * sin + dy * cos) / r
    mask = np.zeros(u.shape, dtype=bool)
    for s in range(len(SHAPES)):
        idx = np.nonzero(shape == s)[0]
        if len(idx):
            mask[idx] = _shape_mask(s, u[idx], v[idx])
    return mask.reshape(m, size, _SS, size, _SS).mean(axis=(2, 4), dtype=np.float32)[..., None]


def synthetic_cifar(num_classes: int = 10, n: int = 1000, seed: int = 0, size: int = 32,
                    chunk: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """``n`` seeded images ``uint8 (n, size, size, 3)`` and labels ``int64 (n,)``.

    Each class is a shape/texture in a colour (:func:`synthetic_class_names`), drawn
    at a random position, size and tilt, with a random shading, on a dull random
    background, with pixel noise and, in half of the images, a smaller distractor
    shape behind it. With up to 10 classes the shape alone is the class and its
    colour only a hint (the class colour half of the time, otherwise random), so
    a linear model stays well below a small CNN; with more classes the colour is
    part of the class (10 shapes x 10 colours = 100 classes).

    Classes are balanced (``n // num_classes`` or one more each) and shuffled;
    ``num_classes`` is 2 to 100. The same arguments give the same arrays.
    """
    if not 2 <= num_classes <= MAX_SYNTHETIC_CLASSES:
        raise ValueError(f"synthetic_cifar: num_classes must be 2..{MAX_SYNTHETIC_CLASSES}, got {num_classes}")
    if n < 0:
        raise ValueError("synthetic_cifar: n must be >= 0")
    rng = np.random.default_rng(seed)
    f32 = np.float32
    labels = rng.permutation(np.arange(n) % num_classes).astype(np.int64)
    shape, colour = _class_parts(labels)
    if num_classes <= len(SHAPES):  # colour is only a hint: half of the images get a random one
        random_colour = rng.random(n) < 0.5
        colour = np.where(random_colour, rng.integers(0, len(COLOURS), n), colour)
    # every random quantity per image is drawn here, up front, so chunking changes nothing
    cx = (size / 2 + rng.uniform(-0.16, 0.16, n) * size).astype(f32)
    cy = (size / 2 + rng.uniform(-0.16, 0.16, n) * size).astype(f32)
    radius = (rng.uniform(0.18, 0.36, n) * size).astype(f32)
    theta = rng.uniform(-0.35, 0.35, n).astype(f32)
    fg = _hsv((colour / len(COLOURS) + rng.uniform(-0.015, 0.015, n)) % 1.0,
              rng.uniform(0.55, 1.0, n), rng.uniform(0.45, 1.0, n))
    bg = _hsv(rng.uniform(0, 1, n), rng.uniform(0.0, 0.3, n), rng.uniform(0.1, 0.65, n))
    grad_dir = rng.uniform(0, 2 * np.pi, n).astype(f32)
    grad_bg = rng.uniform(0.0, 0.25, n).astype(f32)
    grad_fg = rng.uniform(0.0, 0.3, n).astype(f32)
    noise = rng.uniform(0.02, 0.12, n).astype(f32)
    # the distractor: a small random shape in a random colour, behind the main one
    has_d = rng.random(n) < 0.5
    d_shape = rng.integers(0, len(SHAPES), n)
    d_cx = rng.uniform(0.1, 0.9, n).astype(f32) * size
    d_cy = rng.uniform(0.1, 0.9, n).astype(f32) * size
    d_radius = (rng.uniform(0.08, 0.17, n) * size).astype(f32)
    d_theta = rng.uniform(-0.5, 0.5, n).astype(f32)
    d_colour = _hsv(rng.uniform(0, 1, n), rng.uniform(0.4, 1.0, n), rng.uniform(0.5, 1.0, n))
    noise_rng = np.random.default_rng(int(rng.integers(2**63)))

    fine = ((np.arange(size * _SS) + 0.5) / _SS).astype(f32)
    gy, gx = np.meshgrid(fine, fine, indexing="ij")
    px = (np.arange(size) + 0.5).astype(f32)
    py_, px_ = np.meshgrid(px, px, indexing="ij")
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for lo in range(0, n, chunk):
        sl = slice(lo, min(lo + chunk, n))
        alpha = _alpha(shape[sl], cx[sl], cy[sl], radius[sl], theta[sl], gx, gy, size)
        # a linear shading across the picture, for background and shape separately
        g = ((px_[None] - size / 2) * np.cos(grad_dir[sl])[:, None, None]
             + (py_[None] - size / 2) * np.sin(grad_dir[sl])[:, None, None])[..., None] / size
        img = bg[sl, None, None, :] * (1 + grad_bg[sl, None, None, None] * 2 * g)
        d = np.nonzero(has_d[sl])[0]
        if len(d):
            k = d + lo
            a = _alpha(d_shape[k], d_cx[k], d_cy[k], d_radius[k], d_theta[k], gx, gy, size)
            img[d] = img[d] * (1 - a) + d_colour[k, None, None, :] * a
        front = fg[sl, None, None, :] * (1 - grad_fg[sl, None, None, None] * g)
        img = img * (1 - alpha) + front * alpha
        img += noise_rng.standard_normal(img.shape, dtype=f32) * noise[sl, None, None, None]
        out[sl] = np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)
    return out, labels


# ----------------------------------------------------------------------------- real CIFAR

@dataclass(frozen=True)
class CIFAR:
    """Where one CIFAR archive lives and how it is laid out (as torchvision has it)."""
    title: str
    num_classes: int
    url: str
    filename: str
    md5: str
    base_folder: str
    train_files: tuple
    test_files: tuple
    meta_file: str
    label_key: str
    names_key: str


SPECS = {
    "cifar10": CIFAR("CIFAR-10", 10, "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                     "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", "cifar-10-batches-py",
                     tuple(f"data_batch_{i}" for i in range(1, 6)), ("test_batch",), "batches.meta",
                     "labels", "label_names"),
    "cifar100": CIFAR("CIFAR-100", 100, "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                      "cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85", "cifar-100-python",
                      ("train",), ("test",), "meta", "fine_labels", "fine_label_names"),
}


def _spec(name: str) -> tuple[str, CIFAR]:
    key = str(name).lower().replace("-", "").replace("_", "")
    if key not in SPECS:
        raise ValueError(f"unknown CIFAR data set {name!r}: use 'cifar10' or 'cifar100'")
    return key, SPECS[key]


def _unpickle(path: Path) -> dict:
    """One file of the python-format archive: a dict pickled by Python 2, whose
    keys load as bytes (``b'data'``); they are returned as ``str``."""
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in d.items()}


def _names(values) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _images(data, path) -> np.ndarray:
    a = np.asarray(data, dtype=np.uint8)
    if a.ndim != 2 or a.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: 'data' should be (N, 3072) uint8, got shape {a.shape}")
    # each row is 1024 red, 1024 green, 1024 blue values, row-major: (3, 32, 32) -> (32, 32, 3)
    return np.ascontiguousarray(a.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _read_split(folder: Path, files, spec: CIFAR):
    xs, ys, coarse = [], [], []
    for fname in files:
        d = _unpickle(folder / fname)
        if "data" not in d or spec.label_key not in d:
            raise ValueError(f"{folder / fname}: not a {spec.title} batch (keys {sorted(d)})")
        xs.append(_images(d["data"], folder / fname))
        ys.append(np.asarray(d[spec.label_key], dtype=np.int64))
        if "coarse_labels" in d:
            coarse.append(np.asarray(d["coarse_labels"], dtype=np.int64))
        if len(xs[-1]) != len(ys[-1]):
            raise ValueError(f"{folder / fname}: {len(xs[-1])} images but {len(ys[-1])} labels")
    return np.concatenate(xs), np.concatenate(ys), (np.concatenate(coarse) if coarse else None)


def read_cifar_batches(folder, name: str = "cifar10") -> dict:
    """Read the extracted python-format CIFAR-10 (``cifar-10-batches-py``:
    ``data_batch_1..5``, ``test_batch``, ``batches.meta``) or CIFAR-100
    (``cifar-100-python``: ``train``, ``test``, ``meta``; fine labels).

    ``folder`` is that folder or the one containing it. Returns a dict with
    ``x_train``/``x_test`` uint8 ``(N, 32, 32, 3)``, ``y_train``/``y_test`` int64 and
    ``classes`` (names); CIFAR-100 adds ``y_train_coarse``, ``y_test_coarse`` and
    ``coarse_classes``.
    """
    _, spec = _spec(name)
    folder = Path(folder)
    if (folder / spec.base_folder).is_dir():
        folder = folder / spec.base_folder
    x_train, y_train, c_train = _read_split(folder, spec.train_files, spec)
    x_test, y_test, c_test = _read_split(folder, spec.test_files, spec)
    meta = _unpickle(folder / spec.meta_file)
    out = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
           "classes": _names(meta[spec.names_key])}
    if c_train is not None:
        out.update(y_train_coarse=c_train, y_test_coarse=c_test,
                   coarse_classes=_names(meta.get("coarse_label_names", [])))
    for split in ("train", "test"):
        y = out[f"y_{split}"]
        if len(y) and (y.min() < 0 or y.max() >= len(out["classes"])):
            raise ValueError(f"{folder}: {split} labels outside 0..{len(out['classes']) - 1}")
    return out


def _complete(folder: Path, spec: CIFAR) -> bool:
    return all((folder / f).is_file() for f in (*spec.train_files, *spec.test_files, spec.meta_file))


def _extract(archive: Path, root: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(root, filter="data")
        else:  # Python without extraction filters: refuse paths leaving root
            for member in tar.getmembers():
                target = (root / member.name).resolve()
                if not str(target).startswith(str(root.resolve())):
                    raise tarfile.TarError(f"unsafe path in archive: {member.name}")
            tar.extractall(root)


def load_cifar(name: str = "cifar10", root=None, download: bool = True, offline_fallback: bool = True,
               *, synthetic_size: tuple[int, int] = (10000, 2000), seed: int = 0, verbose: bool = True,
               url: str | None = None, md5: str | None = None) -> dict:
    """CIFAR-10 (``"cifar10"``) or CIFAR-100 (``"cifar100"``) as NumPy arrays.

    Looks for the extracted archive in ``root`` (default: ``cache_dir("cifar")``),
    else downloads it (``download=True``; md5-checked, about 170 MB) and extracts it.
    If that fails (offline) and ``offline_fallback`` is true, returns the offline
    stand-in instead: :func:`synthetic_cifar` images in as many classes,
    ``synthetic_size = (n_train, n_test)``, seeded by ``seed``. Either way one line
    says which source is used (``verbose``).

    Returns a dict: ``x_train``, ``y_train``, ``x_test``, ``y_test`` (uint8
    ``(N, 32, 32, 3)``, int64), ``classes`` (names), ``source`` (``"real"`` or
    ``"synthetic"``), ``name`` (``"CIFAR-10"``...), and ``reason`` for a fallback.
    ``url``/``md5`` replace the official ones (a mirror, a local ``file://`` copy).
    """
    key, spec = _spec(name)
    say = print if verbose else (lambda *a, **k: None)
    try:
        from cnnkit.data import cache_dir
        from cnnkit.data import download as fetch

        root = Path(root).expanduser() if root is not None else cache_dir("cifar")
        folder = root / spec.base_folder
        if not _complete(folder, spec):
            if not download:
                raise FileNotFoundError(f"{folder} is missing or incomplete and download=False")
            say(f"{spec.title}: downloading {url or spec.url} into {root} ...")
            archive = fetch(url or spec.url, root / spec.filename, md5=md5 or spec.md5, progress=verbose)
            _extract(archive, root)
            if not _complete(folder, spec):
                raise FileNotFoundError(f"{archive} did not contain {spec.base_folder}/ with the expected files")
        data = read_cifar_batches(folder, key)
    except (OSError, tarfile.TarError, EOFError, pickle.UnpicklingError, ValueError, KeyError) as e:
        if not offline_fallback:
            raise
        reason = f"{type(e).__name__}: {e}"
        n_train, n_test = synthetic_size
        x_train, y_train = synthetic_cifar(spec.num_classes, n_train, seed=seed)
        x_test, y_test = synthetic_cifar(spec.num_classes, n_test, seed=seed + 1_000_003)
        say(f"{spec.title}: the real data set is not available ({reason}).\n"
            f"Using the OFFLINE stand-in instead: {n_train} + {n_test} synthetic 32x32 images in "
            f"{spec.num_classes} classes (coloured shapes, data_scripts.cifar.synthetic_cifar). "
            f"It is not {spec.title}: accuracies on it are not comparable with published results.")
        return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test,
                "classes": synthetic_class_names(spec.num_classes), "source": "synthetic",
                "name": f"synthetic {spec.title}", "reason": reason}
    say(f"{spec.title}: the real data set from {folder} "
        f"({len(data['y_train'])} training and {len(data['y_test'])} test images)")
    data.update(source="real", name=spec.title, path=str(folder))
    return data


if __name__ == "__main__":  # python -m data_scripts.cifar [cifar10|cifar100]: fetch into the cache
    import sys

    d = load_cifar(sys.argv[1] if len(sys.argv) > 1 else "cifar10",
                   offline_fallback=bool(os.environ.get("CIFAR_ALLOW_OFFLINE")))
    print({k: getattr(v, "shape", v if isinstance(v, str) else len(v)) for k, v in d.items()})
