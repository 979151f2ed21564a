"""Dental X-ray-like images with carious-lesion masks, some of them deliberately wrong.

The seed homework (003 P8) segments carious regions in dental X-rays with a ResUNet,
on a data set whose masks are partly *noisy*. That data set is not public, so the
offline source here **draws** X-ray-like pictures from a seed:

* grey-level images (float32 in [0, 1]) of two or three teeth standing side by side:
  a bright **enamel** shell around each crown, mid-grey dentin, a darker pulp chamber
  and a tapering root, on dark soft tissue with a vertical gradient;
* one to three **carious lesions** per image: small dark (radiolucent) blobs in the
  enamel near a side surface or the biting surface of a crown, where caries starts;
  the lesion mask is the blob (inside the tooth). Lesions are small (about 0.4 % of the
  pixels), so a classifier that says "no lesion" everywhere is right 99.6 % of the time;
* blur, film grain and a random brightness and contrast, as on a real radiograph.

A share of the masks (``noise_fraction``, default 25 %) is then **corrupted**, the way
careless annotation corrupts them, and the record of which ones is returned:

* ``"shift"``: the mask moved by 9-15 pixels (it now lies on healthy tissue);
* ``"dilate"``: the mask grown by 5-8 pixels in every direction (a huge blob);
* ``"empty"``: the mask erased (a lesion the annotator missed);
* ``"swap"``: the mask of another image of the set.

Clean masks are never empty (every image shows a lesion), so an empty mask is always a
corrupted one; the other kinds need a look at the image under the mask.

    data = dental_arrays(200, seed=0)       # a dict of NumPy arrays (see dental_arrays)
    data["images"], data["masks"], data["clean_masks"], data["noisy"], data["kinds"]

**Real data.** :func:`load_dental_folder` reads a folder of image / mask pairs::

    <root>/images/<name>.png      the X-ray (any mode; read as grey levels)
    <root>/masks/<name>.png       the lesion mask of the same name: non-zero = lesion

(``.png``, ``.jpg``, ``.jpeg``, ``.bmp``, ``.tif``, ``.tiff``; a mask may have another
suffix than its image; images without a mask are skipped with a warning.) When the
root has ``train/`` and ``test/`` sub-folders each laid out that way,
``load_dental_folder(root / "train")`` reads one split. :func:`write_dental_folder`
writes the generated set in exactly this layout.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

SIZE = 64
LESION_R = (1.4, 2.4)        # lesion radii, pixels of a 64x64 image
LESION_P = (0.7, 0.25, 0.05)   # P(1, 2, 3 lesions)
NOISE_KINDS = ("shift", "dilate", "empty", "swap")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

__all__ = ["dental_arrays", "draw_xray", "corrupt_masks", "write_dental_folder", "load_dental_folder",
           "dental_folder_available", "NOISE_KINDS", "SIZE"]


# --------------------------------------------------------------------------
# Drawing


def _smooth_step(d: np.ndarray, px: float = 0.8) -> np.ndarray:
    """1 inside (d < 0), 0 outside, a soft edge about ``px`` pixels wide."""
    return np.clip(0.5 - d / (2.0 * px), 0.0, 1.0)


def _tooth(yy, xx, cx, top, crown_h, half_w, root_len, rng):
    """Signed distances (roughly, in pixels; negative inside) of one tooth's outline,
    of its crown and of its pulp chamber."""
    # crown: a superellipse centred on (cy, cx)
    cy = top + crown_h / 2
    u = (xx - cx) / half_w
    v = (yy - cy) / (crown_h / 2)
    r = (np.abs(u) ** 3.0 + np.abs(v) ** 3.0) ** (1 / 3.0)
    crown = (r - 1.0) * min(half_w, crown_h / 2)
    # root: a trapezoid from the crown's lower half down, narrowing
    t = np.clip((yy - cy) / max(root_len, 1.0), 0.0, 1.0)
    half_root = half_w * (0.78 - 0.5 * t)
    root = np.maximum(np.abs(xx - cx) - half_root, np.maximum(cy - yy, yy - (cy + root_len)))
    outline = np.minimum(crown, root)
    # pulp: a narrow ellipse in the middle of the crown, running into the root
    pu = (xx - cx) / (0.32 * half_w)
    pv = (yy - (cy + 0.25 * crown_h)) / (0.42 * crown_h + 0.5 * root_len)
    pulp = (np.sqrt(pu ** 2 + pv ** 2) - 1.0) * 0.32 * half_w
    return outline, crown, pulp


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(img, sigma, mode="nearest")


def draw_xray(rng: np.random.Generator, size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """One X-ray-like image (float32 ``(size, size)`` in [0, 1]) and its lesion mask
    (uint8 ``(size, size)``, 1 = lesion, never empty)."""
    s = size / 64.0  # every length below is given for a 64x64 image
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)

    # soft tissue: dark, brighter towards the bottom (bone), a little texture
    base = rng.uniform(0.10, 0.22)
    img = base + rng.uniform(0.05, 0.15) * (yy / size) + 0.03 * _blur(rng.normal(0.0, 1.0, (size, size)), 3.0 * s)

    n_teeth = int(rng.choice([2, 3], p=[0.45, 0.55]))
    gap = rng.uniform(1.5, 4.0) * s
    half_w = (size - 2 * s - (n_teeth - 1) * gap) / (2 * n_teeth) * rng.uniform(0.95, 1.05)
    total = n_teeth * 2 * half_w + (n_teeth - 1) * gap
    left = (size - total) / 2 + rng.uniform(-3, 3) * s
    enamel_level = rng.uniform(0.82, 0.95)
    dentin_level = rng.uniform(0.55, 0.68)
    pulp_level = rng.uniform(0.30, 0.42)
    crowns = []
    for k in range(n_teeth):
        cx = left + half_w + k * (2 * half_w + gap) + rng.uniform(-1.0, 1.0) * s
        hw = half_w * rng.uniform(0.9, 1.0)
        top = rng.uniform(3.0, 9.0) * s
        crown_h = rng.uniform(24.0, 30.0) * s
        root_len = rng.uniform(22.0, 34.0) * s
        enamel_w = rng.uniform(2.5, 3.8) * s
        outline, crown, pulp = _tooth(yy, xx, cx, top, crown_h, hw, root_len, rng)
        inside = _smooth_step(outline)
        in_crown = _smooth_step(crown)
        shell = in_crown * _smooth_step(-(crown + enamel_w))  # the outer band of the crown
        tooth = dentin_level + (enamel_level - dentin_level) * shell
        tooth = tooth + (pulp_level - tooth) * _smooth_step(pulp)
        img = img + (tooth - img) * inside
        crowns.append((cx, top, crown_h, hw, enamel_w, crown))

    # lesions: dark blobs in the enamel of a side surface or of the biting surface
    mask = np.zeros((size, size), dtype=bool)
    darkening = np.zeros((size, size))
    n_lesions = int(rng.choice([1, 2, 3], p=LESION_P))
    for _ in range(n_lesions):
        for _try in range(20):
            cx, top, crown_h, hw, enamel_w, crown = crowns[int(rng.integers(len(crowns)))]
            side = rng.uniform()
            if side < 0.75:  # proximal (the sides, where two teeth touch): the most common place
                sgn = -1.0 if rng.uniform() < 0.5 else 1.0
                ly = top + crown_h * rng.uniform(0.25, 0.6)
                lx = cx + sgn * (hw - enamel_w * rng.uniform(0.3, 0.9))
            else:  # occlusal (the biting surface)
                ly = top + enamel_w * rng.uniform(0.3, 0.9)
                lx = cx + hw * rng.uniform(-0.4, 0.4)
            if 3 * s <= ly < size - 3 * s and 3 * s <= lx < size - 3 * s:
                break
        ra = rng.uniform(LESION_R[0], LESION_R[1]) * s
        rb = ra * rng.uniform(0.7, 1.3)
        theta = rng.uniform(0, np.pi)
        c, si = np.cos(theta), np.sin(theta)
        du, dv = (xx - lx) * c + (yy - ly) * si, -(xx - lx) * si + (yy - ly) * c
        d = (np.sqrt((du / ra) ** 2 + (dv / rb) ** 2) - 1.0) * min(ra, rb)
        blob = _smooth_step(d, 0.7) * _smooth_step(crown, 0.5)
        darkening = np.maximum(darkening, blob * rng.uniform(0.45, 0.6))
        mask |= (d < 0) & (crown < 0)
    if not mask.any():  # a lesion clipped away entirely: keep the image valid
        iy, ix = np.unravel_index(np.argmin(crowns[0][5] + np.abs(yy - size / 3)), (size, size))
        mask[max(iy - 1, 0):iy + 2, max(ix - 1, 0):ix + 2] = True
        darkening[max(iy - 1, 0):iy + 2, max(ix - 1, 0):ix + 2] = 0.5
    img = img * (1.0 - darkening)

    # the radiograph: blur, contrast and brightness, film grain
    img = _blur(img, rng.uniform(0.5, 0.9) * s)
    gain, offset = rng.uniform(0.85, 1.1), rng.uniform(-0.05, 0.05)
    img = gain * img + offset + rng.normal(0.0, rng.uniform(0.02, 0.045), img.shape)
    return np.clip(img, 0.0, 1.0).astype(np.float32), mask.astype(np.uint8)


# --------------------------------------------------------------------------
# Corrupted masks


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    return binary_dilation(mask.astype(bool), structure=(yy ** 2 + xx ** 2) <= r * r).astype(np.uint8)


def _shift(mask: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(mask)
    h, w = mask.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = mask[ys, xs]
    return out


def corrupt_masks(masks: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Corrupt ``round(fraction * N)`` of the masks (uint8 ``(N, H, W)``), the four
    kinds in turn. Returns the new masks, the boolean record of which were corrupted
    and the kind of each ("" for a clean one)."""
    n = len(masks)
    out = masks.copy()
    noisy = np.zeros(n, dtype=bool)
    kinds = [""] * n
    k = int(round(fraction * n))
    chosen = rng.permutation(n)[:k]
    size = masks.shape[-1]
    s = size / 64.0
    for j, i in enumerate(chosen):
        kind = NOISE_KINDS[(j + int(rng.integers(4))) % 4] if j >= 4 else NOISE_KINDS[j]
        m = masks[i]
        if kind == "shift":
            for _ in range(20):
                ang = rng.uniform(0, 2 * np.pi)
                dist = rng.uniform(9.0, 15.0) * s
                new = _shift(m, int(round(dist * np.sin(ang))), int(round(dist * np.cos(ang))))
                if new.sum() >= 0.6 * m.sum() and not (new & m).any():
                    break
        elif kind == "dilate":
            new = _dilate(m, int(round(rng.uniform(5.0, 8.0) * s)))
        elif kind == "empty":
            new = np.zeros_like(m)
        else:  # swap: another image's mask, one that does not overlap this one much
            others = [o for o in rng.permutation(n) if o != i]
            new = masks[others[0]]
            for o in others[:20]:
                if (masks[o] & m).sum() <= 0.2 * m.sum():
                    new = masks[o]
                    break
            new = new.copy()
        out[i] = new
        noisy[i] = True
        kinds[i] = kind
    return out, noisy, kinds


def dental_arrays(n: int, size: int = SIZE, seed: int = 0, noise_fraction: float = 0.25) -> dict:
    """``n`` X-ray-like images with their masks, drawn from ``seed``.

    Returns a dict of NumPy arrays:
        ``images``       float32 ``(n, size, size)`` in [0, 1];
        ``masks``        uint8 ``(n, size, size)``: the masks as annotated, ``noise_fraction``
                         of them corrupted (these are what a student trains on);
        ``clean_masks``  uint8 ``(n, size, size)``: the true lesions (never empty);
        ``noisy``        bool ``(n,)``: which masks were corrupted;
        ``kinds``        ``(n,)`` strings: "shift", "dilate", "empty", "swap" or "".
    The same arguments give the same arrays, byte for byte.
    """
    rng = np.random.default_rng([int(seed), 48, int(size)])
    images = np.empty((n, size, size), dtype=np.float32)
    clean = np.empty((n, size, size), dtype=np.uint8)
    for i in range(n):
        images[i], clean[i] = draw_xray(rng, size)
    masks, noisy, kinds = corrupt_masks(clean, noise_fraction, rng)
    return {"images": images, "masks": masks, "clean_masks": clean, "noisy": noisy,
            "kinds": np.array(kinds, dtype="<U6")}


# --------------------------------------------------------------------------
# The folder layout (real data)


def write_dental_folder(root, images: np.ndarray, masks: np.ndarray, names=None) -> list[Path]:
    """Write images (float in [0, 1] or uint8) and masks as ``root/images/<name>.png`` and
    ``root/masks/<name>.png`` (8-bit grey; a mask is 0 or 255). Returns the image paths."""
    from PIL import Image

    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    names = names if names is not None else [f"xray_{i:04d}" for i in range(len(images))]
    paths = []
    for img, m, name in zip(images, masks, names):
        a = np.asarray(img)
        if a.dtype != np.uint8:
            a = np.clip(np.rint(a.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
        p = root / "images" / f"{name}.png"
        Image.fromarray(a, mode="L").save(p)
        Image.fromarray((np.asarray(m) > 0).astype(np.uint8) * 255, mode="L").save(root / "masks" / f"{name}.png")
        paths.append(p)
    return paths


def _files(folder: Path) -> dict:
    return {p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES}


def dental_folder_available(root) -> bool:
    """True when ``root`` holds ``images/`` and ``masks/`` with at least one pair."""
    root = Path(root)
    if not ((root / "images").is_dir() and (root / "masks").is_dir()):
        return False
    return bool(set(_files(root / "images")) & set(_files(root / "masks")))


def load_dental_folder(root, size: int | None = SIZE) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read ``root/images/*`` and ``root/masks/*`` (pairs by file stem, sorted by name).

    Returns ``(images, masks, names)``: float32 ``(N, size, size)`` grey levels in [0, 1],
    uint8 ``(N, size, size)`` masks (1 where the mask file is non-zero), and the stems.
    Images are resized bilinearly and masks with the nearest neighbour when ``size`` is
    given; with ``size=None`` every file must have the size of the first.
    """
    from PIL import Image

    root = Path(root)
    if not (root / "images").is_dir() or not (root / "masks").is_dir():
        raise FileNotFoundError(f"load_dental_folder: expected {root}/images/ and {root}/masks/")
    imgs, msks = _files(root / "images"), _files(root / "masks")
    lonely = sorted(set(imgs) - set(msks))
    if lonely:
        warnings.warn(f"load_dental_folder: {len(lonely)} image(s) without a mask skipped, e.g. {lonely[0]}", stacklevel=2)
    names = sorted(set(imgs) & set(msks))
    images, masks = [], []
    shape = None
    for name in names:
        with Image.open(imgs[name]) as im, Image.open(msks[name]) as mk:
            wide = im.mode.startswith("I") or im.mode == "F"   # 16-bit or float grey levels
            im = im.convert("F") if wide else im.convert("L")
            mk = mk.convert("L")
            if im.size != mk.size:
                mk = mk.resize(im.size, Image.NEAREST)
            if size is not None and im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            if size is not None and mk.size != (size, size):
                mk = mk.resize((size, size), Image.NEAREST)
            a = np.asarray(im, dtype=np.float64)
            top = (65535.0 if a.max() > 255 else 255.0) if wide else 255.0
            m = (np.asarray(mk) > 0).astype(np.uint8)
        if shape is None:
            shape = a.shape
        elif a.shape != shape:
            raise ValueError(f"load_dental_folder: {name} is {a.shape[::-1]} pixels, the first image {shape[::-1]}; pass size=")
        images.append((a / top).astype(np.float32))
        masks.append(m)
    if not names:
        s = size or SIZE
        return np.zeros((0, s, s), np.float32), np.zeros((0, s, s), np.uint8), []
    return np.stack(images), np.stack(masks), names
