"""Facial expressions (002 P5): AffectNet's 8 classes, an offline generator of drawn
faces, scikit-image's real ``lfw_subset`` faces, and a reader of AffectNet's folders.

The class order is AffectNet's own expression code: 0 neutral, 1 happy, 2 sad,
3 surprise, 4 fear, 5 disgust, 6 anger, 7 contempt (:data:`CLASSES`).

**Real source.** AffectNet (Mollahosseini et al., 2017) is not public: it is handed
out on request, and the course's subset (8 classes, about 1200 images each) comes as
class folders, one split per folder::

    <root>/Train/<class>/<any name>.jpg|.jpeg|.png|.bmp
    <root>/Validation/<class>/...

The class folders may be named after the class (``neutral``, ``happy``, ..., any
case; the usual variants ``happiness``, ``sadness``, ``surprised``, ``fearful``,
``disgusted``, ``angry`` and ``contemptuous`` are accepted too) or by AffectNet's
numeric code (``0`` ... ``7``). The split folders may be named ``Train``/``train``
and ``Validation``/``validation``/``val``/``Test``. :func:`load_affectnet_folder`
reads one split, resizes every image to ``size`` x ``size`` RGB and returns uint8
arrays; :func:`load_expressions` returns both splits, or the offline stand-in when no
folder is given or found, saying which it used.

**Offline source.** :func:`make_expression_faces` draws cartoon faces, seeded, one
expression per class, from the cues a face-reading person uses:

==========  ==================================================================
neutral     straight mouth, relaxed level brows, eyes normally open
happy       wide upturned (smiling) mouth, often with teeth, slightly narrowed eyes
sad         downturned mouth, brows raised at the inner ends, lowered lids
surprise    round open mouth, high arched brows, wide-open eyes
fear        wide stretched mouth, slightly open, raised straight brows, wide eyes
disgust     raised asymmetric upper lip (a wavy short mouth), lowered brows,
            narrowed eyes, wrinkles beside the nose
anger       short tight mouth, brows pulled down and together (a V), narrowed eyes
contempt    one mouth corner raised (a one-sided smirk), one brow slightly raised
==========  ==================================================================

Skin, hair, eye and background colours, the face's size, position, tilt and width,
the expression's strength, background clutter and noise are all random, so no single
pixel tells the classes apart, while a small CNN learns them. These are **synthetic
images**, a stand-in that keeps what the exercise teaches (8 classes told apart by
the mouth, brows and eyes), not photographs; the notebook says which source it uses.

**Real faces offline.** :func:`lfw_faces` returns the 100 real face photos of
scikit-image's ``lfw_subset`` (25 x 25 grey crops of the Labeled Faces in the Wild
set, installed with scikit-image), resized and as RGB: real faces to try the
augmentation on. They carry no expression labels.

    x, y, names = make_expression_faces(100, size=64, seed=0)   # uint8 (800, 64, 64, 3), int64 (800,)
    faces = lfw_faces(64)                                         # uint8 (100, 64, 64, 3), real
    data = load_expressions("data/affectnet", size=64)           # real when the folder is there
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .catsdogs import _ellipse, _far_colour, _lum, _over, _segment

CLASSES = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
SPLIT_NAMES = {"train": ("Train", "train", "Training", "training"),
               "validation": ("Validation", "validation", "Valid", "valid", "val", "Val", "Test", "test")}
ALIASES = {
    "neutral": 0, "neutrality": 0,
    "happy": 1, "happiness": 1, "joy": 1,
    "sad": 2, "sadness": 2,
    "surprise": 3, "surprised": 3,
    "fear": 4, "fearful": 4, "afraid": 4,
    "disgust": 5, "disgusted": 5,
    "anger": 6, "angry": 6,
    "contempt": 7, "contemptuous": 7,
}

__all__ = ["CLASSES", "make_expression_faces", "expression_labels", "draw_face", "lfw_faces",
           "load_affectnet_folder", "affectnet_available", "load_expressions", "class_from_folder",
           "vgg16_weights_path", "vgg16_weights_cached", "download_vgg16_weights"]


# ----------------------------------------------------------------------------- drawing

# Per class: eye openness (1 = normal), brow (inner height, outer height) in units of
# the face radius (negative = up), mouth kind and curvature, mouth width.
_EXPR = {
    0: dict(eye=1.0, brow=(0.0, 0.0), mouth="line", curve=0.0, width=0.34),
    1: dict(eye=0.7, brow=(-0.03, -0.03), mouth="smile", curve=0.22, width=0.46),
    2: dict(eye=0.65, brow=(-0.12, 0.06), mouth="line", curve=-0.16, width=0.34),
    3: dict(eye=1.5, brow=(-0.16, -0.14), mouth="o", curve=0.0, width=0.17),
    4: dict(eye=1.4, brow=(-0.13, -0.07), mouth="stretch", curve=-0.05, width=0.44),
    5: dict(eye=0.5, brow=(0.07, 0.02), mouth="wave", curve=0.0, width=0.28),
    6: dict(eye=0.6, brow=(0.14, -0.06), mouth="tight", curve=-0.03, width=0.24),
    7: dict(eye=0.9, brow=(0.0, 0.0), mouth="smirk", curve=0.2, width=0.36),
}


def _curve(u, v, pts, width, px):
    """Coverage of a thick polyline through ``pts`` (local face coordinates)."""
    cov = np.zeros_like(u)
    for p, q in zip(pts[:-1], pts[1:]):
        cov = np.maximum(cov, _segment(u, v, p, q, width, px))
    return cov


def draw_face(label: int, rng: np.random.Generator, size: int = 64, return_box: bool = False):
    """One cartoon face with expression ``label`` (0..7, :data:`CLASSES`) as a uint8
    ``(size, size, 3)`` image; with ``return_box=True`` also the face's bounding box
    ``(x0, y0, x1, y1)`` in pixels (of the face oval, hair excluded)."""
    e = _EXPR[int(label)]
    k = size / 64.0
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    bg0 = rng.uniform(0.0, 255.0, 3)
    bg1 = np.clip(bg0 + rng.normal(0.0, 50.0, 3), 0, 255)
    th = rng.uniform(0.0, 2 * np.pi)
    ramp = ((np.cos(th) * xx + np.sin(th) * yy) / size + 0.75) / 1.5
    img = bg0 + (bg1 - bg0) * np.clip(ramp, 0, 1)[..., None]
    for _ in range(rng.integers(0, 4)):  # background clutter
        bc = np.clip(bg0 + rng.normal(0.0, 70.0, 3), 0, 255)
        r = rng.uniform(3.0, 10.0) * k
        _over(img, rng.uniform(0.4, 0.9) * _ellipse(xx, yy, rng.uniform(0, size), rng.uniform(0, size), r,
                                                    r * rng.uniform(0.3, 1.5), 1.0, rng.uniform(0, np.pi)), bc)

    # skin from a range of tones, hair and features in contrasting colours
    tone = rng.uniform(0.0, 1.0)
    skin = np.array([255, 224, 196]) * (1 - tone) + np.array([110, 70, 45]) * tone + rng.normal(0, 12, 3)
    skin = np.clip(skin, 0, 255)
    if np.linalg.norm(skin - (bg0 + bg1) / 2) < 60:  # keep the face visible
        skin = np.clip(skin + (70 if _lum(skin) < 128 else -70), 0, 255)
    hair = _far_colour(rng, skin, dist=80.0)
    dark = np.clip(skin * rng.uniform(0.15, 0.35), 0, 255)      # brows, pupils, mouth line
    lips = np.clip(skin * np.array([0.75, 0.45, 0.45]) + rng.normal(0, 10, 3), 0, 255)

    R = rng.uniform(17.0, 25.0) * k              # half the face's height in pixels
    aspect = rng.uniform(0.72, 0.88)             # width / height of the oval
    tilt = np.deg2rad(rng.uniform(-14.0, 14.0))
    cx = rng.uniform(aspect * R + 2 * k, size - aspect * R - 2 * k)
    cy = rng.uniform(R + 2 * k, size - R - 2 * k) if size - 2 * R > 4 * k else size / 2
    c, s = np.cos(tilt), np.sin(tilt)
    u = (c * (xx - cx) + s * (yy - cy)) / R       # local coordinates in units of R, v downwards
    v = (-s * (xx - cx) + c * (yy - cy)) / R
    px = 1.0 / R
    j = lambda a=0.03: rng.uniform(-a, a)  # noqa: E731
    g = rng.uniform(0.75, 1.2)                   # the expression's strength

    if rng.random() < 0.8:  # hair: a cap behind the top of the head
        _over(img, _ellipse(u, v, 0, -0.28 + j(), aspect * 1.08, 0.8 + j(0.05), px), hair)
    _over(img, _ellipse(u, v, -aspect, 0.0, 0.12, 0.2, px), skin * 0.92)   # ears
    _over(img, _ellipse(u, v, aspect, 0.0, 0.12, 0.2, px), skin * 0.92)
    _over(img, _ellipse(u, v, 0, 0.0, aspect, 1.0, px), skin)
    eye_w = rng.uniform(0.12, 0.16)
    eye_x = rng.uniform(0.3, 0.38) * aspect / 0.8
    eye_y = -0.12 + j()
    white = np.clip(np.array([245, 245, 240]) + rng.normal(0, 6, 3), 0, 255)
    iris = rng.uniform(20.0, 140.0, 3)
    open_ = max(0.25, 1.0 + (e["eye"] - 1.0) * g) * rng.uniform(0.9, 1.1)
    brow_w = eye_w * rng.uniform(1.4, 1.7)
    brow_y = eye_y - 0.2 - 0.05 * max(0.0, open_ - 1.0)
    thick = rng.uniform(0.06, 0.09)
    for side in (-1, 1):
        ex = side * eye_x
        eh = eye_w * 0.62 * open_
        _over(img, _ellipse(u, v, ex, eye_y, eye_w, eh, px), white)
        _over(img, _ellipse(u, v, ex + j(0.02), eye_y, 0.065, min(0.065, eh), px), iris)
        _over(img, _ellipse(u, v, ex + j(0.01), eye_y, 0.03, min(0.03, eh), px), (15, 15, 15))
        if open_ < 0.8:  # heavy lids
            _over(img, _segment(u, v, (ex - eye_w, eye_y - eh * 0.6), (ex + eye_w, eye_y - eh * 0.6), 0.05, px), dark)
        inner, outer = e["brow"]
        raise_ = 0.0
        if int(label) == 7 and side == 1:
            raise_ = -0.07 * g
        p_in = (ex - side * brow_w * 0.9, brow_y + inner * g + raise_ + j(0.015))
        p_out = (ex + side * brow_w * 0.9, brow_y + outer * g + raise_ + j(0.015))
        if int(label) == 3:  # arched
            mid = (ex, brow_y - 0.06 * g + raise_)
            _over(img, _curve(u, v, [p_in, mid, p_out], thick, px), hair * 0.6)
        else:
            _over(img, _segment(u, v, p_in, p_out, thick, px), hair * 0.6)
    # nose
    _over(img, _segment(u, v, (0, eye_y + 0.1), (0.04, 0.22), 0.05, px), skin * 0.78)
    _over(img, _ellipse(u, v, 0, 0.24, 0.09, 0.04, px), skin * 0.8)

    # mouth
    my = rng.uniform(0.5, 0.58)
    w = e["width"] * rng.uniform(0.9, 1.12) * (1.0 + 0.25 * (g - 1.0) * (e["mouth"] in ("smile", "stretch")))
    lw = rng.uniform(0.06, 0.08)
    ts = np.linspace(-1.0, 1.0, 9)
    kind = e["mouth"]
    flip = 1 if rng.random() < 0.5 else -1     # the smirk's side
    if kind in ("line", "tight"):
        curve = e["curve"] * g
        pts = [(t * w, my - curve * (t * t - 0.3)) for t in ts]
        _over(img, _curve(u, v, pts, lw * (1.5 if kind == "tight" else 1.0), px), lips if kind == "line" else dark)
    elif kind == "smile":
        curve = e["curve"] * g
        top = [(t * w, my - curve * (t * t - 0.3)) for t in ts]
        bottom = [(t * w * 0.9, my + curve * 0.55 * (1 - t * t) + 0.02) for t in ts]
        # an open smile: a lens between the two curves, teeth in it
        lens = np.zeros_like(u)
        tt = np.clip(u / w, -1, 1)
        upper = my - curve * (tt * tt - 0.3)
        lower = my + curve * 0.55 * (1 - tt * tt) + 0.02
        inside = (np.abs(u) < w) & (v > upper) & (v < lower)
        lens[inside] = 1.0
        if rng.random() < 0.75:
            _over(img, lens, (235, 235, 225))
        else:
            _over(img, lens, dark)
        _over(img, _curve(u, v, top, lw, px), lips)
        _over(img, _curve(u, v, bottom, lw, px), lips)
    elif kind == "o":
        h = rng.uniform(0.16, 0.24) * g
        _over(img, _ellipse(u, v, 0, my + 0.02, w * 0.85, h, px), lips)
        _over(img, _ellipse(u, v, 0, my + 0.02, w * 0.85 - lw, max(0.03, h - lw), px), dark)
    elif kind == "stretch":
        h = rng.uniform(0.07, 0.11) * g
        _over(img, _ellipse(u, v, 0, my, w, h, px), lips)
        _over(img, _ellipse(u, v, 0, my, w - lw, max(0.02, h - lw * 0.7), px), dark)
        _over(img, _ellipse(u, v, 0, my - h * 0.3, w * 0.7, h * 0.35, px), (235, 235, 225))  # upper teeth
    elif kind == "wave":
        pts = [(t * w, my + 0.05 * g * np.sin(np.pi * (t + 0.5)) * flip - 0.04 * g * (t > 0) * flip) for t in ts]
        _over(img, _curve(u, v, pts, lw * 1.3, px), lips)
        for side in (-1, 1):  # wrinkles beside the nose
            _over(img, _segment(u, v, (side * 0.13, 0.18), (side * 0.2, 0.36), 0.035, px), skin * 0.7)
    elif kind == "smirk":
        curve = e["curve"] * g
        pts = [(t * w, my - curve * max(0.0, t * flip) ** 2 + 0.03) for t in ts]
        _over(img, _curve(u, v, pts, lw, px), lips)
        _over(img, _ellipse(u, v, flip * w * 1.05, my - curve + 0.03, 0.03, 0.05, px), skin * 0.75)  # dimple

    # shading and noise
    light = rng.uniform(-0.2, 0.2)
    img *= 1.0 + light * ((xx - size / 2) / size)[..., None]
    img += rng.normal(0.0, rng.uniform(3.0, 12.0), img.shape)
    out = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    if not return_box:
        return out
    hw = np.hypot(aspect * c, s) * R
    hh = np.hypot(aspect * s, c) * R
    box = (float(max(0.0, cx - hw)), float(max(0.0, cy - hh)), float(min(size, cx + hw)), float(min(size, cy + hh)))
    return out, box


def expression_labels(n_per_class: int, seed: int = 0) -> np.ndarray:
    """The labels :func:`make_expression_faces` gives for ``(n_per_class, seed)``."""
    n_per_class = int(n_per_class)
    rng = np.random.default_rng([int(seed), 5, n_per_class])
    return rng.permutation(np.repeat(np.arange(len(CLASSES)), n_per_class)).astype(np.int64)


def make_expression_faces(n_per_class: int, size: int = 64, seed: int = 0, return_boxes: bool = False):
    """``n_per_class`` synthetic faces of each of the 8 expressions, drawn from ``seed``.

    Returns ``(images, labels, class_names)``: uint8 ``(8 * n_per_class, size, size, 3)``,
    int64 labels in 0..7 in a shuffled order (balanced), and :data:`CLASSES`. With
    ``return_boxes=True`` a fourth value: float ``(N, 4)`` face boxes ``(x0, y0, x1, y1)``
    in pixels. The same ``(n_per_class, size, seed)`` gives the same bytes.
    """
    n_per_class = int(n_per_class)
    rng = np.random.default_rng([int(seed), 5, n_per_class])
    labels = rng.permutation(np.repeat(np.arange(len(CLASSES)), n_per_class)).astype(np.int64)
    images = np.empty((len(labels), size, size, 3), dtype=np.uint8)
    boxes = np.empty((len(labels), 4), dtype=np.float64)
    for i, lab in enumerate(labels):
        images[i], boxes[i] = draw_face(int(lab), rng, size, return_box=True)
    if return_boxes:
        return images, labels, CLASSES, boxes
    return images, labels, CLASSES


# ----------------------------------------------------------------------------- real faces offline


def lfw_faces(size: int = 64) -> np.ndarray:
    """The 100 real faces of scikit-image's ``lfw_subset`` (25 x 25 grey crops of Labeled
    Faces in the Wild, shipped with scikit-image) as uint8 ``(100, size, size, 3)`` RGB
    (the grey value in all three channels), resized bilinearly. No labels."""
    from PIL import Image
    from skimage.data import lfw_subset

    faces = lfw_subset()[:100]  # the first 100 are faces, the other 100 are not
    out = np.empty((len(faces), size, size, 3), dtype=np.uint8)
    for i, f in enumerate(faces):
        im = Image.fromarray(np.clip(np.rint(f * 255), 0, 255).astype(np.uint8), mode="L")
        im = im.resize((size, size), Image.BILINEAR)
        out[i] = np.repeat(np.asarray(im, dtype=np.uint8)[..., None], 3, axis=2)
    return out


# ----------------------------------------------------------------------------- AffectNet's folders


def class_from_folder(name: str) -> int | None:
    """The class index (0..7) of a class folder's name, or None when it names no class."""
    key = name.strip().lower()
    if key.isdigit():
        k = int(key)
        return k if 0 <= k < len(CLASSES) else None
    return ALIASES.get(key)


def _split_dir(root: Path, split: str) -> Path | None:
    names = SPLIT_NAMES.get(split.lower(), (split,))
    for n in (split, *names):
        p = root / n
        if p.is_dir():
            return p
    return None


def affectnet_available(root, split: str = "train") -> bool:
    """True when ``root`` holds a split folder (``Train``, ``Validation``...) with class folders."""
    if root is None:
        return False
    d = _split_dir(Path(root), split)
    return d is not None and any(class_from_folder(c.name) is not None for c in d.iterdir() if c.is_dir())


def load_affectnet_folder(root, split: str = "train", size: int = 64, limit_per_class: int | None = None,
                          progress: bool = False) -> tuple[np.ndarray, np.ndarray, tuple]:
    """One split of an AffectNet-style folder: uint8 ``(N, size, size, 3)`` RGB images,
    int64 labels (AffectNet's codes, :data:`CLASSES`) and :data:`CLASSES`.

    ``root`` holds ``Train/`` and ``Validation/`` (see the module's docstring); ``split``
    is ``"train"`` or ``"validation"`` (or the folder's own name). Files are read in
    class order, then sorted by name; folders that name no class and files that are not
    images are skipped. ``limit_per_class`` keeps the first files of each class.
    """
    from PIL import Image

    root = Path(root)
    d = _split_dir(root, split)
    if d is None:
        raise FileNotFoundError(f"load_affectnet_folder: no {split!r} folder in {root} "
                                f"(expected one of {', '.join(SPLIT_NAMES.get(split.lower(), (split,)))})")
    files: list[tuple[Path, int]] = []
    for c in sorted(p for p in d.iterdir() if p.is_dir()):
        lab = class_from_folder(c.name)
        if lab is None:
            continue
        paths = sorted(p for p in c.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if limit_per_class is not None:
            paths = paths[: int(limit_per_class)]
        files.extend((p, lab) for p in paths)
    if not files:
        raise FileNotFoundError(f"load_affectnet_folder: no images in class folders under {d}")
    files.sort(key=lambda pl: (pl[1], pl[0].name))
    it = files
    if progress:
        from cnnkit.data import progress_bar

        it = progress_bar(files, desc=f"reading {d.name}")
    images = np.empty((len(files), size, size, 3), dtype=np.uint8)
    labels = np.empty(len(files), dtype=np.int64)
    for i, (p, lab) in enumerate(it):
        with Image.open(p) as im:
            im = im.convert("RGB")
            if im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            images[i] = np.asarray(im, dtype=np.uint8)
        labels[i] = lab
    return images, labels, CLASSES


def load_expressions(root=None, size: int = 64, n_per_class: int = 150, n_val_per_class: int = 40, seed: int = 0,
                     limit_per_class: int | None = None, verbose: bool = True) -> dict:
    """Training and validation images of the 8 expressions, from ``root`` (an
    AffectNet-style folder) when it is there, else the offline synthetic faces.

    Returns a dict with ``x_train``, ``y_train``, ``x_val``, ``y_val`` (uint8 images,
    int64 labels), ``classes`` and ``source`` (``"real"`` or ``"synthetic"``).
    Offline: ``n_per_class`` training and ``n_val_per_class`` validation faces per class,
    drawn from ``seed`` and ``seed + 1000``.
    """
    if root is not None and affectnet_available(root, "train") and affectnet_available(root, "validation"):
        xt, yt, _ = load_affectnet_folder(root, "train", size, limit_per_class, progress=verbose)
        xv, yv, _ = load_affectnet_folder(root, "validation", size, limit_per_class, progress=verbose)
        if verbose:
            print(f"expressions: real images from {root} ({len(yt)} training, {len(yv)} validation)")
        return {"x_train": xt, "y_train": yt, "x_val": xv, "y_val": yv, "classes": CLASSES, "source": "real"}
    xt, yt, _ = make_expression_faces(n_per_class, size, seed)
    xv, yv, _ = make_expression_faces(n_val_per_class, size, seed + 1000)
    if verbose:
        why = "no folder given" if root is None else f"no Train/Validation class folders in {root}"
        print(f"expressions: offline source, SYNTHETIC drawn faces (data_scripts.faces, seed {seed}; {why}): "
              f"{len(yt)} training, {len(yv)} validation")
    return {"x_train": xt, "y_train": yt, "x_val": xv, "y_val": yv, "classes": CLASSES, "source": "synthetic"}


# ----------------------------------------------------------------------------- VGG16's ImageNet weights


def vgg16_weights_path() -> Path:
    """Where torchvision keeps VGG16's ImageNet weights (``vgg16-397923af.pth``, 528 MB):
    ``<torch hub dir>/checkpoints/``, usually ``~/.cache/torch/hub/checkpoints``."""
    import torch
    from torchvision.models import VGG16_Weights

    return Path(torch.hub.get_dir()) / "checkpoints" / Path(VGG16_Weights.IMAGENET1K_V1.url).name


def vgg16_weights_cached() -> bool:
    """True when VGG16's ImageNet weights are already on this machine (nothing is downloaded)."""
    return vgg16_weights_path().is_file()


def download_vgg16_weights() -> Path:
    """Fetch VGG16's ImageNet weights into torchvision's cache (528 MB, once; the file's
    name carries the first digits of its sha256, which torchvision checks)."""
    import os

    from torch.hub import load_state_dict_from_url
    from torchvision.models import VGG16_Weights

    if os.environ.get("CNN_COURSE_KIT_OFFLINE"):
        raise RuntimeError("CNN_COURSE_KIT_OFFLINE is set: not downloading VGG16's weights")
    load_state_dict_from_url(VGG16_Weights.IMAGENET1K_V1.url, progress=True, check_hash=True)
    return vgg16_weights_path()
