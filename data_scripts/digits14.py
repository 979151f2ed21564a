"""Handwritten digits 1-4 as 64x64 colour images whose file names carry the label.

The seed homework (003 P5) hands out a folder of 64x64 colour images of the
handwritten digits 1, 2, 3 and 4, each named after its label. That folder is not
public, so the offline source here rebuilds one from **real handwriting**: the
digits 1-4 of scikit-learn's ``load_digits`` (8x8 scans from the UCI "optical
recognition of handwritten digits" set; 723 images, installed with scikit-learn,
no download). Each scan is drawn into a 64x64 RGB image with a random size
(34-50 px tall), aspect, small rotation (+-10 degrees) and position, in a random
ink colour on a random, lighter "paper" colour with a soft colour gradient and a
little noise. Everything is drawn from ``seed``: the same seed gives the same
images, byte for byte.

Files are named ``digit{label}_{index:05d}.png`` (``digit3_00017.png``: a 3, image 17
of the set), the way the seed's data set is organised; :func:`read_image_folder` and
:func:`load_images` read any folder laid out that way.

    images, labels, names = digits14_arrays(seed=0)   # (723, 64, 64, 3) uint8, labels in 1..4
    paths = write_digits14("data/digits14")          # the same images as PNG files
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

SIZE = 64
CLASSES = (1, 2, 3, 4)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")

__all__ = ["digits14_arrays", "write_digits14", "read_image_folder", "load_images", "file_name", "ink_mask", "paint", "CLASSES", "SIZE"]


def file_name(label: int, index: int) -> str:
    """The data set's file name of image ``index`` with digit ``label``."""
    return f"digit{int(label)}_{int(index):05d}.png"


def _scans() -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 scans of the digits 1-4 (values 0..1, float64) and their labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    keep = np.isin(d.target, CLASSES)
    return d.images[keep] / 16.0, d.target[keep].astype(np.int64)


def ink_mask(scan: np.ndarray, height: float, width: float, angle_deg: float = 0.0, centre=None) -> np.ndarray:
    """A (64, 64) ink mask in [0, 1]: the 8x8 ``scan`` (values 0..1) drawn ``height`` x
    ``width`` pixels large, turned by ``angle_deg`` and centred at ``centre`` (row, col;
    default the middle of the image)."""
    from scipy.ndimage import affine_transform

    centre = np.array([(SIZE - 1) / 2, (SIZE - 1) / 2] if centre is None else centre, dtype=np.float64)
    angle = np.deg2rad(angle_deg)
    # output pixel p -> scan coordinate q = M (p - centre) + 3.5
    c, s = np.cos(angle), np.sin(angle)
    m = np.diag([8.0 / height, 8.0 / width]) @ np.array([[c, -s], [s, c]])
    offset = np.array([3.5, 3.5]) - m @ centre
    padded = np.pad(scan, 2)  # a zero border, so the spline fades out
    ink = affine_transform(padded, m, offset=offset + 2.0, output_shape=(SIZE, SIZE), order=3, mode="constant", cval=0.0)
    # firm strokes with soft edges (the upsampled 8x8 scan alone is a blur)
    t = np.clip((ink - 0.2) / 0.45, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _ink(scan: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The scan at a random size, aspect, tilt and place."""
    height = rng.uniform(34.0, 50.0)           # how tall the 8x8 grid is drawn, in pixels
    width = height * rng.uniform(0.8, 1.15)
    angle = rng.uniform(-10.0, 10.0)
    room_y = max(0.0, (SIZE - height) / 2 - 3)
    room_x = max(0.0, (SIZE - width) / 2 - 3)
    centre = ((SIZE - 1) / 2 + rng.uniform(-room_y, room_y), (SIZE - 1) / 2 + rng.uniform(-room_x, room_x))
    return ink_mask(scan, height, width, angle, centre)


def _colours(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A light paper colour and a darker ink colour, far enough apart to read."""
    lum = np.array([0.299, 0.587, 0.114])
    while True:
        bg = rng.uniform(0.0, 255.0, 3)
        fg = rng.uniform(0.0, 255.0, 3)
        if (np.linalg.norm(fg - bg) >= 130.0 and float(lum @ bg) > 150.0 and float(lum @ fg) < 110.0
                and float(lum @ (bg - fg)) >= 60.0):
            return bg, fg


def paint(ink: np.ndarray, bg, fg) -> np.ndarray:
    """Flat ``fg`` ink on a flat ``bg`` background, uint8 (64, 64, 3)."""
    img = np.asarray(bg, float) * (1.0 - ink[..., None]) + np.asarray(fg, float) * ink[..., None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _paint(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    bg, fg = _colours(rng)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1) - 0.5
    theta = rng.uniform(0.0, 2 * np.pi)
    ramp = (np.cos(theta) * xx + np.sin(theta) * yy)[..., None]  # -0.7 .. 0.7
    background = bg + ramp * rng.uniform(-50.0, 50.0, 3)
    img = background * (1.0 - ink[..., None]) + fg * ink[..., None]
    img += rng.normal(0.0, rng.uniform(2.0, 8.0), img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def digits14_arrays(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """All 723 images of the digits 1-4, drawn from ``seed``.

    Returns ``(images, labels, names)``: uint8 ``(723, 64, 64, 3)``, int64 labels in
    ``{1, 2, 3, 4}`` (the digit itself) and the file names ``digit{label}_{index:05d}.png``
    (``index`` is the position in the arrays). The order follows scikit-learn's
    (classes interleaved); the same seed gives the same arrays.
    """
    scans, labels = _scans()
    rng = np.random.default_rng([int(seed), 14])
    images = np.empty((len(scans), SIZE, SIZE, 3), dtype=np.uint8)
    for i, scan in enumerate(scans):
        images[i] = _paint(_ink(scan, rng), rng)
    names = [file_name(lab, i) for i, lab in enumerate(labels)]
    return images, labels, names


def write_digits14(folder, seed: int = 0) -> list[Path]:
    """Write the images of :func:`digits14_arrays` as PNG files into ``folder``
    (created if needed) and return their paths, in the arrays' order."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images, _, names = digits14_arrays(seed)
    paths = []
    for img, name in zip(images, names):
        p = folder / name
        Image.fromarray(img, mode="RGB").save(p)
        paths.append(p)
    return paths


def read_image_folder(folder) -> list[Path]:
    """The image files (``.png``, ``.jpg``, ``.jpeg``, ``.bmp``) directly inside ``folder``,
    sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"read_image_folder: {folder} is not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_images(paths, size: int | None = SIZE) -> np.ndarray:
    """Read image files into one uint8 array ``(N, size, size, 3)`` (RGB; resized
    when ``size`` is given and the file differs, kept as is when ``size=None``)."""
    from PIL import Image

    out = []
    for p in paths:
        with Image.open(p) as im:
            im = im.convert("RGB")
            if size is not None and im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            out.append(np.asarray(im, dtype=np.uint8))
    if not out:
        return np.zeros((0, size or SIZE, size or SIZE, 3), dtype=np.uint8)
    return np.stack(out)
