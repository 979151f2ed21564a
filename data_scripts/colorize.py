"""Colour patches for colorization (and grey ones for denoising), from real photographs.

* **offline**: :func:`photo_patches` cuts square patches out of five colour photographs
  that ship inside scikit-image (``skimage.data``: the astronaut, Chelsea the cat, a cup
  of coffee, a rocket on its launch pad and the left image of the stereo motorcycle
  pair; no download). Every photo is first shrunk to half its size (anti-aliased), so a
  32x32 patch shows a recognisable piece of a scene rather than a texture close-up.
  Each half-size photo is cut into blocks of ``BLOCK`` x ``BLOCK`` pixels, and a fixed
  quarter of the blocks of every photo (drawn once with seed 0, whatever the seed of
  the patches) is **held out**: ``split="test"`` patches come only from those blocks,
  ``split="train"`` patches only from the others, so the two never share a pixel.
  Patches are drawn from ``seed``: a photo (weighted by its number of blocks), a block,
  a position inside the block; half of them mirrored left-right. The same seed gives
  the same bytes.
* **real**: the notebook's long run uses CIFAR-10 (``data_scripts.cifar.load_cifar``),
  whose 32x32 photographs are the seed homework's data (000 P1); :func:`cifar_images`
  returns them, or ``None`` with the reason when they cannot be had (offline).

    train = photo_patches(2000, size=32, split="train", seed=0)   # uint8 (2000, 32, 32, 3)
    test = photo_patches(500, size=32, split="test", seed=1)
    grey = grey_patches(100, size=32, split="test")               # float32 (100, 32, 32) in [0, 1]
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["PHOTOS", "BLOCK", "load_photos", "photo_patches", "grey_patches", "cifar_images"]

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle")
BLOCK = 48          # the photos are split into blocks this large (after shrinking)
TEST_SHARE = 0.25   # share of each photo's blocks held out
SHRINK = 2          # every photo is shrunk by this factor first


@functools.lru_cache(maxsize=None)
def load_photos() -> dict[str, np.ndarray]:
    """The five photographs, shrunk by ``SHRINK`` (uint8, (H, W, 3)), by name."""
    import skimage.data
    from skimage.transform import rescale

    out = {}
    for name in PHOTOS:
        img = getattr(skimage.data, name)()
        if isinstance(img, tuple):  # stereo_motorcycle: (left, right, disparity)
            img = img[0]
        small = rescale(img[..., :3].astype(np.float64) / 255.0, 1.0 / SHRINK, channel_axis=-1, anti_aliasing=True)
        out[name] = np.clip(np.round(small * 255.0), 0, 255).astype(np.uint8)
    return out


@functools.lru_cache(maxsize=None)
def _blocks(split: str) -> tuple[tuple[str, int, int], ...]:
    """(photo, top, left) of every block of ``split``; the split is fixed (seed 0)."""
    rng = np.random.default_rng(0)
    chosen = []
    for name, img in load_photos().items():
        rows, cols = img.shape[0] // BLOCK, img.shape[1] // BLOCK
        cells = [(r * BLOCK, c * BLOCK) for r in range(rows) for c in range(cols)]
        test = set(rng.permutation(len(cells))[: int(round(TEST_SHARE * len(cells)))].tolist())
        chosen += [(name, t, l) for i, (t, l) in enumerate(cells) if (i in test) == (split == "test")]
    return tuple(chosen)


def photo_patches(n: int, size: int = 32, split: str = "train", seed: int = 0) -> np.ndarray:
    """``n`` colour patches (uint8, (n, size, size, 3)) of the ``split`` ("train" or
    "test") blocks of the photographs, drawn from ``seed``."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    if not 1 <= size <= BLOCK:
        raise ValueError(f"size must be between 1 and {BLOCK}")
    photos = load_photos()
    blocks = _blocks(split)
    rng = np.random.default_rng([int(seed), 4, 0 if split == "train" else 1])
    which = rng.integers(0, len(blocks), n)
    offs = rng.integers(0, BLOCK - size + 1, (n, 2))
    flip = rng.random(n) < 0.5
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        name, top, left = blocks[which[i]]
        t, l = top + offs[i, 0], left + offs[i, 1]
        p = photos[name][t:t + size, l:l + size]
        out[i] = p[:, ::-1] if flip[i] else p
    return out


def grey_patches(n: int, size: int = 32, split: str = "train", seed: int = 0) -> np.ndarray:
    """The same patches in grey levels: float32 (n, size, size) in [0, 1] (ITU-R 601 luma)."""
    rgb = photo_patches(n, size, split, seed).astype(np.float32) / 255.0
    return (rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)).astype(np.float32)


def cifar_images(n: int | None = None, root=None, verbose: bool = True):
    """The real data: CIFAR-10's training and test photographs (uint8 (N, 32, 32, 3)),
    as ``(x_train, x_test)``; ``None`` when only the synthetic stand-in of
    ``load_cifar`` is available (its flat shapes teach nothing about colour)."""
    from .cifar import load_cifar

    data = load_cifar("cifar10", root=root, verbose=verbose)
    if data.get("source") != "real":
        return None
    x_train, x_test = data["x_train"], data["x_test"]
    if n is not None:
        x_train, x_test = x_train[:n], x_test[: max(1, n // 5)]
    return x_train, x_test
