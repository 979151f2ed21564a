"""Offline detection scenes (HW3): coloured shapes of known classes on textured backgrounds.

A seeded generator of small "photographs" with objects whose classes and boxes are known
exactly, and of the imperfect detections a detector would produce on them. HW3 uses them to
show non-maximum suppression and to compute mean average precision without a trained
network or a download. They are a stand-in that keeps what those exercises teach (several
objects of several classes, some overlapping; detections that are duplicated, shifted,
mislabelled or spurious), not real photographs; the notebook says so.

Boxes are ``(x1, y1, x2, y2)`` in continuous pixel coordinates (torchvision's convention):
an object covering the pixel columns ``x1 .. x2 - 1`` has width ``x2 - x1``.

    image, boxes, labels = make_scene(seed=0)          # uint8 (H, W, 3), float (K, 4), int (K,)
    det_boxes, det_scores, det_labels = noisy_detections(boxes, labels, seed=0)
    scenes = make_scenes(20, seed=0)                   # a list of (image, boxes, labels)
"""
from __future__ import annotations

import numpy as np

CLASSES = ("circle", "square", "triangle", "cross")
__all__ = ["CLASSES", "make_scene", "make_scenes", "noisy_detections", "box_iou_np"]


def box_iou_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes ``a`` (N, 4) and ``b`` (M, 4), xyxy, as an (N, M) float64 array (0 where
    the union is empty). Used here to keep objects apart; the notebook asks you to write your own."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth colour gradient, a few soft blobs, stripes and pixel noise; float (h, w, 3) in [0, 1]."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    c0, c1 = rng.uniform(0.25, 0.75, 3), rng.uniform(0.25, 0.75, 3)
    angle = rng.uniform(0, np.pi)
    t = ((np.cos(angle) * xx + np.sin(angle) * yy) / max(h, w) + 1) / 2
    img = c0 + (c1 - c0) * t[..., None]
    for _ in range(rng.integers(3, 7)):  # soft blobs
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, 40)
        blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
        img += blob[..., None] * rng.uniform(-0.2, 0.2, 3)
    period, phase, sangle = rng.uniform(6, 16), rng.uniform(0, 2 * np.pi), rng.uniform(0, np.pi)
    stripes = np.sin(2 * np.pi * (np.cos(sangle) * xx + np.sin(sangle) * yy) / period + phase)
    img += 0.05 * stripes[..., None]
    img += rng.normal(0, 0.03, img.shape)
    return np.clip(img, 0, 1)


def _mask(cls: int, rng: np.random.Generator, bh: int, bw: int) -> np.ndarray:
    """Coverage (bh, bw) in [0, 1] of a shape of class ``cls`` that touches all four sides of its box."""
    yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float64)
    u = (xx + 0.5) / bw * 2 - 1  # -1 .. 1 across the box
    v = (yy + 0.5) / bh * 2 - 1
    px = 2.0 / min(bh, bw)  # one pixel in these units
    name = CLASSES[cls]
    if name == "circle":  # an ellipse filling the box
        d = (np.sqrt(u * u + v * v) - 1.0)
    elif name == "square":  # a rectangle filling the box
        d = np.maximum(np.abs(u), np.abs(v)) - 1.0
    elif name == "triangle":  # apex at the top centre, base at the bottom
        # edges: v = 1 (base), and the two sides from (0, -1) to (+-1, 1)
        side = (2 * np.abs(u) - (v + 1)) / np.sqrt(5.0)
        d = np.maximum(v - 1.0, side)
    else:  # cross: a plus sign, arms a third of the box thick
        arm = rng.uniform(0.28, 0.4)
        d = np.minimum(np.maximum(np.abs(u) - arm, np.abs(v) - 1.0), np.maximum(np.abs(u) - 1.0, np.abs(v) - arm))
    return np.clip(0.5 - d / px, 0.0, 1.0)


def make_scene(seed: int = 0, size: tuple[int, int] = (192, 256), n_objects: tuple[int, int] = (2, 6),
               min_side: int = 20, max_side: int = 80, max_overlap: float = 0.3):
    """One scene: ``(image uint8 (H, W, 3), boxes float64 (K, 4) xyxy, labels int64 (K,))``.

    ``n_objects`` = (least, most) objects; each object is a shape of a random class of
    :data:`CLASSES`, of random colour, with sides in ``[min_side, max_side]`` pixels, that
    exactly touches its box. Two objects overlap with IoU at most ``max_overlap`` (the later one
    is drawn on top). The same seed gives the same scene.
    """
    rng = np.random.default_rng([seed, 3030])
    h, w = size
    img = _background(rng, h, w)
    boxes, labels = [], []
    want = int(rng.integers(n_objects[0], n_objects[1] + 1))
    tries = 0
    while len(boxes) < want and tries < 200:
        tries += 1
        bw = int(rng.integers(min_side, min(max_side, w) + 1))
        bh = int(np.clip(round(bw * rng.uniform(0.7, 1.4)), min_side, min(max_side, h)))
        x1, y1 = int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1))
        box = np.array([x1, y1, x1 + bw, y1 + bh], dtype=np.float64)
        if boxes and box_iou_np(box[None], np.array(boxes)).max() > max_overlap:
            continue
        cls = int(rng.integers(0, len(CLASSES)))
        cover = _mask(cls, rng, bh, bw)[..., None]
        colour = rng.uniform(0, 1, 3)
        colour[rng.integers(0, 3)] = rng.choice([0.05, 0.95])  # saturated, visible on the background
        shade = colour * (1 + rng.normal(0, 0.04, (bh, bw, 1)))
        patch = img[y1:y1 + bh, x1:x1 + bw]
        img[y1:y1 + bh, x1:x1 + bw] = (1 - cover) * patch + cover * np.clip(shade, 0, 1)
        boxes.append(box)
        labels.append(cls)
    image = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
    return image, np.array(boxes, dtype=np.float64).reshape(-1, 4), np.array(labels, dtype=np.int64)


def make_scenes(n: int, seed: int = 0, **kwargs):
    """``n`` scenes, a list of ``(image, boxes, labels)`` (scene ``i`` is ``make_scene(seed * 100003 + i)``)."""
    return [make_scene(seed * 100003 + i, **kwargs) for i in range(n)]


def noisy_detections(boxes, labels, seed: int = 0, num_classes: int = len(CLASSES), size=(192, 256),
                     duplicates: tuple[int, int] = (1, 5), jitter: float = 0.12, miss: float = 0.1,
                     wrong_class: float = 0.1, false_positives: tuple[int, int] = (0, 4)):
    """What an imperfect detector outputs on a scene with ground truth ``boxes`` (K, 4), ``labels`` (K,).

    For every object (except the fraction ``miss``, which is missed): ``duplicates`` =
    (least, most) boxes around it, each corner shifted by a normal of ``jitter`` times the
    object's side, the first ones tighter and more confident; with probability
    ``wrong_class`` a duplicate gets another class. Then ``false_positives`` boxes anywhere
    with low scores. Scores are distinct (no ties). Returns float64 boxes (D, 4) xyxy clipped
    to the image, float64 scores (D,) in (0, 1), int64 labels (D,), in random order.
    """
    rng = np.random.default_rng([seed, 4040])
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    h, w = size
    out_b, out_s, out_l = [], [], []
    for box, lab in zip(boxes, labels):
        if rng.uniform() < miss:
            continue
        bw, bh = box[2] - box[0], box[3] - box[1]
        quality = rng.uniform(0.5, 0.95)
        for k in range(int(rng.integers(duplicates[0], duplicates[1] + 1))):
            spread = jitter * (0.4 + 0.6 * k)  # later duplicates are looser
            d = rng.normal(0, spread, 4) * np.array([bw, bh, bw, bh])
            b = box + d
            b[2], b[3] = max(b[2], b[0] + 2), max(b[3], b[1] + 2)
            out_b.append(b)
            out_s.append(quality * np.exp(-0.35 * k) * rng.uniform(0.85, 1.0))
            lab_k = lab if rng.uniform() >= wrong_class else (lab + rng.integers(1, num_classes)) % num_classes
            out_l.append(lab_k)
    for _ in range(int(rng.integers(false_positives[0], false_positives[1] + 1))):
        bw, bh = rng.uniform(15, 70, 2)
        x1, y1 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        out_b.append(np.array([x1, y1, x1 + bw, y1 + bh]))
        out_s.append(rng.uniform(0.05, 0.6))
        out_l.append(int(rng.integers(0, num_classes)))
    b = np.array(out_b, dtype=np.float64).reshape(-1, 4)
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, w)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, h)
    s = np.array(out_s, dtype=np.float64)
    s = np.clip(s + rng.uniform(0, 1e-6, len(s)), 1e-3, 0.999)  # distinct scores
    order = rng.permutation(len(s))
    return b[order], s[order], np.array(out_l, dtype=np.int64)[order]


# ----------------------------------------------------------------------------- template matching

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "clock", "immunohistochemistry")


def photo(name: str, size: int = 256) -> np.ndarray:
    """One of scikit-image's photographs (shipped with the package: no download), as float32
    RGB (H, W, 3) in [0, 1] with its longer side resized to ``size`` pixels."""
    from skimage import data, transform

    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    img = img[..., :3].astype(np.float64) / 255.0
    scale = size / max(img.shape[:2])
    out = transform.resize(img, (round(img.shape[0] * scale), round(img.shape[1] * scale)), anti_aliasing=True)
    return np.clip(out, 0, 1).astype(np.float32)


def perturbed_template(image: np.ndarray, rng: np.random.Generator, side=(40, 80), scale=(0.8, 1.25),
                       light: float = 0.75, noise: float = 0.1, min_std: float = 0.08):
    """Cut a template out of ``image`` and perturb it the way a second photograph of the object would.

    The crop has sides in ``side`` pixels and enough texture (grey-level std >= ``min_std``).
    It is resized by a factor in ``scale``, lit unevenly (multiplied by a ramp from
    ``1 - light`` to ``1 + light`` across it, in a random direction: a light source at the
    side, a shadow), given a random contrast and brightness, and Gaussian noise of std
    ``noise``. Returns ``(template float32 (h, w, 3) in [0, 1], box)`` where ``box`` =
    (x1, y1, x2, y2) is where the crop was taken, the object to find.
    """
    from skimage import transform

    h_img, w_img = image.shape[:2]
    gray = image.mean(axis=2)
    for _ in range(100):
        tw, th = (int(v) for v in rng.integers(side[0], side[1] + 1, 2))
        x0, y0 = int(rng.integers(0, w_img - tw + 1)), int(rng.integers(0, h_img - th + 1))
        if gray[y0:y0 + th, x0:x0 + tw].std() >= min_std:
            break
    crop = image[y0:y0 + th, x0:x0 + tw].astype(np.float64)
    s = rng.uniform(*scale)
    t = transform.resize(crop, (max(8, round(th * s)), max(8, round(tw * s))), anti_aliasing=True)
    hh, ww = t.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:hh, 0:ww]
    ramp = np.cos(angle) * xx / ww + np.sin(angle) * yy / hh
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1e-9)
    t = t * (1 - light + 2 * light * ramp)[..., None]
    a, b = rng.uniform(0.7, 1.3), rng.uniform(-0.1, 0.1)
    t = a * (t - 0.5) + 0.5 + b
    t = t + rng.normal(0, noise, t.shape)
    return np.clip(t, 0, 1).astype(np.float32), (x0, y0, x0 + tw, y0 + th)


def matching_cases(n: int, seed: int = 0, size: int = 256, **kwargs):
    """``n`` template-matching cases on the photographs of :data:`PHOTOS` (cycled): a list of
    ``(photo name, image (H, W, 3), template (h, w, 3), true box xyxy)``, float32 in [0, 1]."""
    rng = np.random.default_rng([seed, 5050])
    images = {}
    cases = []
    for k in range(n):
        name = PHOTOS[k % len(PHOTOS)]
        if name not in images:
            images[name] = photo(name, size)
        t, box = perturbed_template(images[name], rng, **kwargs)
        cases.append((name, images[name], t, box))
    return cases


def edge_feature_extractor(stride: int = 4):
    """A fixed one-layer CNN: (N, 3, H, W) in [0, 1] -> (N, 16, H // stride, W // stride) features.

    Grey level (the mean of R, G, B), a 9x9 convolution with 8 oriented derivative-of-Gaussian
    filters (sigma 1.5, orientations 0, 22.5, ... 157.5 degrees) and their negatives, ReLU,
    ``stride`` x ``stride`` average pooling (its attribute ``stride``: pixels per feature cell), and each cell's 16-vector
    divided by its length (plus 0.02): the cell describes the *directions* of the edges around
    it, not how bright or contrasted they are. These are the filters the first layer of a
    trained CNN (AlexNet, VGG) learns; no weights are trained or downloaded here.
    """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class EdgeFeatures(nn.Module):
        def __init__(self, stride: int, sigma: float = 1.5, orientations: int = 8):
            super().__init__()
            self.stride = int(stride)
            r = int(3 * sigma)
            y, x = torch.meshgrid(torch.arange(-r, r + 1.0), torch.arange(-r, r + 1.0), indexing="ij")
            g = torch.exp(-(x ** 2 + y ** 2) / (2 * sigma ** 2))
            ws = []
            for k in range(orientations):
                th = np.pi * k / orientations
                d = (x * float(np.cos(th)) + y * float(np.sin(th))) * g
                ws.append(d / d.abs().sum())
            w = torch.stack(ws)[:, None]
            self.register_buffer("weight", torch.cat([w, -w]))
            self.padding = r

        def forward(self, x):
            gray = x.mean(dim=1, keepdim=True)
            e = F.relu(F.conv2d(gray, self.weight, padding=self.padding))
            e = F.avg_pool2d(e, self.stride)
            return e / (e.norm(dim=1, keepdim=True) + 0.02)

    return EdgeFeatures(stride).eval()
