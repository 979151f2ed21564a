"""Cats vs dogs (000 P2): the real Oxford-IIIT Pet photographs, and an offline generator.

**Real source.** The Oxford-IIIT Pet data set (Parkhi et al., CVPR 2012): 7349 photos of
37 breeds, 12 of cats and 25 of dogs, split by its authors into ``trainval`` (3680)
and ``test`` (3669). :func:`load_oxford_pets` fetches it with torchvision's
``OxfordIIITPet(target_types="binary-category")`` (about 800 MB, once, into the course
cache), keeps only the cat/dog label (0 cat, 1 dog), squares every photo by a centre
crop, resizes it to ``size`` x ``size`` and caches the arrays as ``.npz`` so the next
call takes a second. On disk the set looks like this (it is what torchvision reads)::

    <root>/oxford-iiit-pet/images/Abyssinian_1.jpg ...
    <root>/oxford-iiit-pet/annotations/trainval.txt   lines "Abyssinian_1 1 1 1"
    <root>/oxford-iiit-pet/annotations/test.txt       (image, breed 1-37, species 1 cat / 2 dog, breed id)

**Offline source.** :func:`catsdogs_arrays` draws cartoon heads of cats and dogs, seeded:
cats have pointed ears standing up on top of the head, whiskers and a small nose;
dogs have long floppy ears hanging down beside the head and a muzzle with a big nose.
Fur, eye and background colours, head size, position and tilt, background gradient,
blobs and noise are random, so no single pixel tells the classes apart (a linear
model on the pixels stays near chance) while a small CNN that detects the shapes
anywhere learns it. It is a stand-in that keeps what the exercise teaches, not
photographs: the notebook says which source it is using.

    x, y = catsdogs_arrays(1000, size=64, seed=0)        # uint8 (1000, 64, 64, 3), y: 0 cat, 1 dog
    x, y = load_oxford_pets(split="trainval", size=64)   # the real photos (downloads once)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ("cat", "dog")
__all__ = ["catsdogs_arrays", "catsdogs_labels", "draw_pet", "load_oxford_pets", "oxford_pets_available", "CLASSES"]


# ----------------------------------------------------------------------------- drawing


def _soft(d: np.ndarray, px: float) -> np.ndarray:
    """Coverage in [0, 1] from a signed distance ``d`` (negative inside), edges ~1 pixel
    wide; ``px`` is the size of one pixel in the distance's units."""
    return np.clip(0.5 - d / px, 0.0, 1.0)


def _ellipse(u, v, cu, cv, a, b, px, angle=0.0):
    c, s = np.cos(angle), np.sin(angle)
    du, dv = u - cu, v - cv
    x = (c * du + s * dv) / a
    y = (-s * du + c * dv) / b
    r = np.sqrt(x * x + y * y)
    return _soft((r - 1.0) * min(a, b), px)


def _triangle(u, v, pts, px):
    """Coverage of the triangle ``pts`` (3 points (u, v)): the largest signed distance
    to its three edges, negative inside."""
    pts = np.asarray(pts, dtype=np.float64)
    area = (pts[1, 0] - pts[0, 0]) * (pts[2, 1] - pts[0, 1]) - (pts[2, 0] - pts[0, 0]) * (pts[1, 1] - pts[0, 1])
    sign = 1.0 if area > 0 else -1.0
    d = None
    for i in range(3):
        p, q = pts[i], pts[(i + 1) % 3]
        e = q - p
        n = np.hypot(*e)
        # distance of (u, v) outside the edge p -> q (the cross product is positive inside)
        di = -sign * (e[0] * (v - p[1]) - e[1] * (u - p[0])) / n
        d = di if d is None else np.maximum(d, di)
    return _soft(d, px)


def _segment(u, v, p, q, width, px):
    p, q = np.asarray(p, float), np.asarray(q, float)
    e = q - p
    t = np.clip(((u - p[0]) * e[0] + (v - p[1]) * e[1]) / (e @ e), 0.0, 1.0)
    d = np.hypot(u - (p[0] + t * e[0]), v - (p[1] + t * e[1])) - width / 2
    return _soft(d, px)


def _lum(c) -> float:
    return float(np.dot([0.299, 0.587, 0.114], c))


def _far_colour(rng, other, dist=110.0):
    while True:
        c = rng.uniform(0.0, 255.0, 3)
        if np.linalg.norm(c - other) >= dist and abs(_lum(c) - _lum(other)) >= 35.0:
            return c


def _over(img, alpha, colour):
    """Paint ``colour`` over ``img`` (in place) with coverage ``alpha``, only where it shows."""
    rows = np.flatnonzero(alpha.any(axis=1))
    if rows.size == 0:
        return
    cols = np.flatnonzero(alpha.any(axis=0))
    sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    a = alpha[sl][..., None]
    img[sl] += a * (np.asarray(colour, dtype=np.float64) - img[sl])


def draw_pet(dog: bool, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """One cartoon head (``dog=False``: a cat) as a uint8 ``(size, size, 3)`` image."""
    k = size / 64.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    # background: gradient between two colours, a few soft blobs, noise later
    bg0 = rng.uniform(0.0, 255.0, 3)
    bg1 = np.clip(bg0 + rng.normal(0.0, 45.0, 3), 0, 255)
    th = rng.uniform(0.0, 2 * np.pi)
    ramp = ((np.cos(th) * xx + np.sin(th) * yy) / size + 0.75) / 1.5
    img = bg0 + (bg1 - bg0) * np.clip(ramp, 0, 1)[..., None]
    for _ in range(rng.integers(0, 5)):  # clutter: soft blobs and small triangles
        bc = np.clip(bg0 + rng.normal(0.0, 70.0, 3), 0, 255)
        r = rng.uniform(3.0, 9.0) * k
        bx, by = rng.uniform(0, size), rng.uniform(0, size)
        if rng.random() < 0.5:
            blob = _ellipse(xx, yy, bx, by, r, r * rng.uniform(0.3, 1.5), 1.0, rng.uniform(0, np.pi))
        else:
            blob = _triangle(xx, yy, [(bx + rng.normal(0, r), by + rng.normal(0, r)) for _ in range(3)], 1.0)
        _over(img, rng.uniform(0.5, 0.9) * blob, bc)

    fur = _far_colour(rng, (bg0 + bg1) / 2, dist=rng.uniform(70.0, 130.0))
    shade = np.clip(fur * rng.uniform(0.55, 0.85) if _lum(fur) > 90 else fur + rng.uniform(40, 90), 0, 255)
    dark = _lum(fur) > 100
    eye = rng.uniform(0, 50, 3) if dark else rng.uniform(200, 255, 3)

    R = rng.uniform(8.5, 14.5) * k            # head radius in pixels
    tilt = np.deg2rad(rng.uniform(-15.0, 15.0))
    cx = rng.uniform(1.75 * R, size - 1.75 * R)
    cy = rng.uniform(1.75 * R, size - 1.55 * R)
    c, s = np.cos(tilt), np.sin(tilt)
    # local head coordinates in units of R: u to the right, v downwards
    u = (c * (xx - cx) + s * (yy - cy)) / R
    v = (-s * (xx - cx) + c * (yy - cy)) / R
    px = 1.0 / R
    j = lambda a=0.08: rng.uniform(-a, a)  # noqa: E731  small shape jitter

    if dog:
        ear_a, ear_b = 0.32 + j(0.06), 0.85 + j(0.12)
        spread = np.deg2rad(rng.uniform(5.0, 25.0))
        for side in (-1, 1):
            _over(img, _ellipse(u, v, side * (0.92 + j()), 0.12 + j(), ear_a, ear_b, px, -side * spread), shade)
        _over(img, _ellipse(u, v, 0, 0.05, 0.92 + j(0.05), 1.0 + j(0.08), px), fur)
        muzzle = np.clip(fur + (rng.uniform(50, 100) if _lum(fur) < 150 else -rng.uniform(50, 100)), 0, 255)
        _over(img, _ellipse(u, v, 0, 0.58 + j(0.05), 0.48 + j(0.05), 0.36 + j(0.04), px), muzzle)
        _over(img, _ellipse(u, v, 0, 0.42 + j(0.04), 0.2 + j(0.03), 0.14 + j(0.02), px), (20, 15, 15))
        if rng.random() < 0.4:  # tongue
            _over(img, _ellipse(u, v, 0, 0.9, 0.13, 0.16, px), (230, 90, 110))
        for side in (-1, 1):
            _over(img, _ellipse(u, v, side * 0.36, -0.22, 0.14, 0.14, px), eye)
    else:
        for side in (-1, 1):
            apex = (side * (0.72 + j(0.1)), -1.55 + j(0.12))
            tri = [(side * 0.12, -0.75), (side * 0.98, -0.3), apex]
            _over(img, _triangle(u, v, tri, px), fur)
            inner = [(side * 0.3, -0.7), (side * 0.82, -0.42), (apex[0] * 0.9, apex[1] * 0.85)]
            _over(img, 0.8 * _triangle(u, v, inner, px), shade)
        _over(img, _ellipse(u, v, 0, 0.0, 1.0 + j(0.06), 0.9 + j(0.06), px), fur)
        for side in (-1, 1):
            _over(img, _ellipse(u, v, side * 0.4, -0.12, 0.17, 0.13, px), eye)
            _over(img, _ellipse(u, v, side * 0.4, -0.12, 0.05, 0.12, px), (10, 10, 10) if not dark else (230, 230, 120))
        _over(img, _triangle(u, v, [(-0.13, 0.22), (0.13, 0.22), (0, 0.36)], px), (235, 130, 150))
        wc = eye
        for side in (-1, 1):
            for dv in (-0.12, 0.05, 0.22):
                _over(img, 0.9 * _segment(u, v, (side * 0.3, 0.38), (side * (1.45 + j(0.1)), 0.35 + dv * 2 + j(0.05)), 0.06, px), wc)

    img += rng.normal(0.0, rng.uniform(3.0, 14.0), img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _labels(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n) >= n // 2).astype(np.int64)


def catsdogs_labels(n: int, seed: int = 0) -> np.ndarray:
    """The labels :func:`catsdogs_arrays` gives for ``(n, seed)``, without drawing the images."""
    return _labels(int(n), np.random.default_rng([int(seed), 2, int(n)]))


def catsdogs_arrays(n: int, size: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` cartoon heads drawn from ``seed``: uint8 ``(n, size, size, 3)`` and int64
    labels (0 cat, 1 dog), ``n // 2`` cats and ``n - n // 2`` dogs in a shuffled order.
    The same ``(n, size, seed)`` gives the same arrays."""
    n = int(n)
    rng = np.random.default_rng([int(seed), 2, n])
    labels = _labels(n, rng)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    for i, lab in enumerate(labels):
        images[i] = draw_pet(bool(lab), rng, size)
    return images, labels


# ----------------------------------------------------------------------------- the real photos


def _square_resize(im, size: int) -> np.ndarray:
    """Centre crop to a square, then resize to ``size`` x ``size`` (RGB uint8)."""
    from PIL import Image

    im = im.convert("RGB")
    w, h = im.size
    m = min(w, h)
    left, top = (w - m) // 2, (h - m) // 2
    im = im.crop((left, top, left + m, top + m)).resize((size, size), Image.BILINEAR)
    return np.asarray(im, dtype=np.uint8)


def _default_root() -> Path:
    from cnnkit.data import cache_dir

    return cache_dir("oxford-pets")


def oxford_pets_available(root=None) -> bool:
    """True when the photos are already in ``root`` (no download needed)."""
    base = Path(root) if root is not None else _default_root()
    pet = base / "oxford-iiit-pet"
    return (pet / "images").is_dir() and (pet / "annotations").is_dir()


def load_oxford_pets(split: str = "trainval", size: int = 64, root=None, download: bool = True,
                     limit: int | None = None, cache: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The Oxford-IIIT Pet photos as cats vs dogs: uint8 ``(n, size, size, 3)``, int64
    labels (0 cat, 1 dog), in the order of the split's annotation file.

    ``split``: ``"trainval"`` or ``"test"`` (the authors' split). ``root``: where the
    ``oxford-iiit-pet`` folder is (default: the course cache). ``download=True``
    fetches it through torchvision when it is not there yet (about 800 MB).
    ``limit``: keep only the first ``limit`` images (quick looks). The resized arrays
    are cached next to the photos as ``cats_dogs_<split>_<size>.npz``.
    """
    from torchvision.datasets import OxfordIIITPet

    base = Path(root) if root is not None else _default_root()
    npz = base / f"cats_dogs_{split}_{size}.npz"
    if cache and limit is None and npz.is_file():
        with np.load(npz, allow_pickle=False) as f:
            return f["images"], f["labels"]
    ds = OxfordIIITPet(str(base), split=split, target_types="binary-category", download=download)
    n = len(ds) if limit is None else min(int(limit), len(ds))
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    labels = np.empty(n, dtype=np.int64)
    for i in range(n):
        im, lab = ds[i]
        images[i] = _square_resize(im, size)
        labels[i] = int(lab)
    if cache and limit is None:
        tmp = npz.with_name(npz.stem + ".part.npz")
        np.savez(tmp, images=images, labels=labels)
        tmp.replace(npz)
    return images, labels
