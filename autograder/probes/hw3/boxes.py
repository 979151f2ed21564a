"""Probes of the box items (000 P3): IoU, confidence filtering, NMS, mean average precision.

Every box is ``(x1, y1, x2, y2)``. The inputs are built from the seed (random and clustered
boxes, small hand-made cases, detections on the offline scenes); the probes return what the
student's functions gave; the judges (``autograder/hw3/boxes.py``) rebuild the inputs and
compare with torchvision and their own references. torchvision is out of reach for these items,
and nothing here uses it.
"""
from __future__ import annotations

import numpy as np

from autograder.probes.runtime import Bad

from autograder.probes.kit.convert import as_array, scalar, to_numpy

# --------------------------------------------------------------------------
# Inputs, rebuilt from the seed on both sides.

IOU_HAND_A = [[0, 0, 2, 2], [0, 0, 4, 4], [1, 1, 1, 1], [0, 0, 1, 1], [2.5, 1, 6.5, 3]]
IOU_HAND_B = [[1, 1, 3, 3], [1, 1, 2, 2], [0, 0, 2, 2], [1, 0, 2, 1], [0, 0, 4, 4], [1, 1, 1, 1]]
IOU_CASES = ("hand", "random", "touching", "empty_n", "empty_m", "one")


def random_boxes(r, n, lo=0.0, hi=100.0, smin=0.0, smax=30.0, integer_frac=0.3, degenerate_frac=0.05):
    """Boxes (n, 4) float64 holding float32 values: random positions and sizes; a fraction on an
    integer grid (so that boxes touch and coincide), a fraction of zero width or height."""
    x1 = r.uniform(lo, hi, n)
    y1 = r.uniform(lo, hi, n)
    w = r.uniform(smin, smax, n)
    h = r.uniform(smin, smax, n)
    grid = r.uniform(size=n) < integer_frac
    x1[grid], y1[grid] = np.floor(x1[grid] / 5) * 5, np.floor(y1[grid] / 5) * 5
    w[grid], h[grid] = np.ceil(w[grid] / 5) * 5, np.ceil(h[grid] / 5) * 5
    deg = r.uniform(size=n) < degenerate_frac
    w[deg & (r.uniform(size=n) < 0.5)] = 0.0
    h[deg] = np.where(w[deg] == 0, h[deg], 0.0)
    b = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    return b.astype(np.float32).astype(np.float64)


def iou_inputs(seed: int) -> dict:
    r = np.random.default_rng([seed, 3001])
    grid = r.integers(0, 6, (60, 2)).astype(np.float64) * 2  # boxes on a coarse grid: many touch
    sizes = r.integers(0, 3, (60, 2)).astype(np.float64) * 2
    touch = np.concatenate([grid, grid + sizes], axis=1)
    return {
        "hand": (np.array(IOU_HAND_A, dtype=np.float64), np.array(IOU_HAND_B, dtype=np.float64)),
        "random": (random_boxes(r, 300), random_boxes(r, 200)),
        "touching": (touch[:40], touch[20:]),
        "empty_n": (np.zeros((0, 4)), random_boxes(r, 7)),
        "empty_m": (random_boxes(r, 5), np.zeros((0, 4))),
        "one": (random_boxes(r, 1), random_boxes(r, 3)),
    }


def cluster_boxes(r, n, n_clusters, size=(15, 60), spread=0.15):
    """Boxes around ``n_clusters`` centres: boxes of one cluster overlap a lot."""
    centres = r.uniform(0, 400, (n_clusters, 2))
    sizes = r.uniform(*size, (n_clusters, 2))
    k = r.integers(0, n_clusters, n)
    wh = sizes[k] * np.exp(r.normal(0, spread, (n, 2)))
    c = centres[k] + r.normal(0, spread, (n, 2)) * sizes[k]
    b = np.concatenate([c - wh / 2, c + wh / 2], axis=1)
    return b.astype(np.float32).astype(np.float64)


def distinct_scores(r, n):
    """n distinct float32 scores in (0, 1), in random order (no ties, by construction)."""
    s = (r.permutation(n) + r.uniform(0.1, 0.9, n)) / (n + 1)
    s = s.astype(np.float32).astype(np.float64)
    assert len(np.unique(s)) == n
    return s


# Two pairs of boxes whose IoU is exactly a round number, at iou_threshold 0.5.
EQUAL_BOXES = np.array([[0, 0, 4, 4], [0, 0, 4, 2], [10, 10, 14, 14], [10, 10, 14, 12], [10, 12, 14, 14]], dtype=np.float64)
EQUAL_SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
EQUAL_THRESHOLD = 0.5

NMS_THRESHOLDS = (0.3, 0.5, 0.7)


def nms_inputs(seed: int) -> dict:
    r = np.random.default_rng([seed, 3002])
    cases = {}
    for t in NMS_THRESHOLDS:
        n = 900
        cases[f"nms_{t}"] = (cluster_boxes(r, n, 40), distinct_scores(r, n), t)
    # batched: the same clusters hold boxes of 4 classes
    n = 1200
    b = cluster_boxes(r, n, 50)
    cases["batched"] = (b, distinct_scores(r, n), r.integers(0, 4, n), 0.5)
    n = 300
    cases["batched_many"] = (cluster_boxes(r, n, 10), distinct_scores(r, n), r.integers(0, 12, n) * 3 + 1, 0.4)
    # filter: decoder-like outputs
    k, c = 500, 6
    logits = r.normal(0, 2, (k, c))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    obj = 1 / (1 + np.exp(-r.normal(-1, 2, k)))
    cases["filter"] = (cluster_boxes(r, k, 30), obj.astype(np.float32).astype(np.float64),
                       probs.astype(np.float32).astype(np.float64), 0.3)
    return cases


# Scores that land exactly on the threshold (products of powers of two, exact in float32).
FILTER_EDGE = (np.array([[0, 0, 10, 10], [5, 5, 20, 20], [1, 2, 3, 4]], dtype=np.float64),
               np.array([0.5, 0.25, 0.75]),
               np.array([[0.5, 0.25, 0.25], [0.125, 0.125, 0.75], [0.25, 0.25, 0.5]]), 0.25)


# --------------------------------------------------------------------------
# Probes (child side).


def _t(a, dtype=None):
    import torch

    return torch.tensor(a, dtype=dtype or torch.float32)


def probe_iou(ns, seed):
    import torch

    out = {}
    for name, (a, b) in iou_inputs(seed).items():
        ta, tb = _t(a), _t(b)
        r = ns.call("box_iou", ta, tb)
        out[name] = {"is_tensor": bool(torch.is_tensor(r)), "value": as_array(r),
                     "a_after": to_numpy(ta), "b_after": to_numpy(tb)}
    return out


def probe_nms(ns, seed):
    import torch

    out = {}
    inputs = nms_inputs(seed)
    for name, args in inputs.items():
        if name.startswith("nms"):
            b, s, t = args
            r = ns.call("nms", _t(b), _t(s), t)
        elif name.startswith("batched"):
            b, s, lab, t = args
            r = ns.call("batched_nms", _t(b), _t(s), torch.tensor(lab, dtype=torch.long), t)
        else:
            continue
        out[name] = {"value": as_array(r)}
    out["nms_equal"] = {"value": as_array(ns.call("nms", _t(EQUAL_BOXES), _t(EQUAL_SCORES), EQUAL_THRESHOLD))}
    out["nms_empty"] = {"value": as_array(ns.call("nms", torch.zeros(0, 4), torch.zeros(0), 0.5))}
    out["batched_empty"] = {"value": as_array(ns.call("batched_nms", torch.zeros(0, 4), torch.zeros(0),
                                                      torch.zeros(0, dtype=torch.long), 0.5))}
    for name, (b, obj, probs, t) in (("filter", inputs["filter"]), ("filter_edge", FILTER_EDGE)):
        r = ns.call("filter_boxes", _t(b), _t(obj), _t(probs), t)
        if isinstance(r, Bad):
            out[name] = {"value": r}
        elif not isinstance(r, (tuple, list)) or len(r) != 3:
            out[name] = {"value": Bad("type", f"a {type(r).__name__}" + (f" of length {len(r)}" if isinstance(r, (tuple, list)) else "")
                                      + "; return a tuple (boxes, scores, labels)")}
        else:
            out[name] = {"value": [as_array(x) for x in r]}
    return out


# --------------------------------------------------------------------------
# Average precision.

# (recall, precision) of small hand-made rankings.
AP_HAND_INPUTS = [
    (np.array([0.5, 0.5, 1.0, 1.0]), np.array([1.0, 0.5, 2 / 3, 0.5])),      # TP, FP, TP, FP of 2 ground truths
    (np.array([0.0, 1 / 3, 1 / 3, 2 / 3]), np.array([0.0, 0.5, 1 / 3, 0.5])),  # FP first, 3 ground truths
]


def random_pr(r, n_det, n_gt):
    tp = r.uniform(size=n_det) < 0.5
    tp[np.cumsum(tp) > n_gt] = False
    ctp = np.cumsum(tp)
    return ctp / n_gt, ctp / np.arange(1, n_det + 1)


MAP_SETS = (("scenes", 8, 4, 0.5, False), ("extra_class", 6, 6, 0.5, False),
            ("difficult", 8, 4, 0.5, True), ("iou_0.7", 5, 4, 0.7, False))


def map_inputs(seed: int) -> dict:
    """Sets of (detections, ground truths, num_classes, iou_threshold) drawn from the offline scenes."""
    from data_scripts.scenes import make_scene, noisy_detections

    r = np.random.default_rng([seed, 3003])
    pr = [random_pr(r, n, g) for n, g in ((30, 12), (8, 3), (50, 40))]
    sets = {}
    for name, n_img, ncls, thr, difficult in MAP_SETS:
        dets, gts = [], []
        for i in range(n_img):
            s = int(r.integers(0, 10**6))
            _, boxes, labels = make_scene(s, n_objects=(1, 6))
            db, ds, dl = noisy_detections(boxes, labels, seed=s, num_classes=4)
            if name == "extra_class":  # class 5 gets detections but has no ground truth; class 4 neither
                dl = np.where(r.uniform(size=len(dl)) < 0.15, 5, dl)
            gt = (boxes, labels)
            if difficult:
                gt = (boxes, labels, r.uniform(size=len(labels)) < 0.25)
            dets.append((db, ds, dl))
            gts.append(gt)
        if name == "scenes":  # an image with no ground truth and one with no detection
            _, boxes, labels = make_scene(int(r.integers(0, 10**6)), n_objects=(2, 3))
            dets.append((np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64)))
            gts.append((boxes, labels))
            db, ds, dl = noisy_detections(np.array([[50.0, 50, 90, 80]]), np.array([1]), seed=seed)
            dets.append((db, ds, dl))
            gts.append((np.zeros((0, 4)), np.zeros(0, dtype=np.int64)))
        # distinct scores over the whole set (no ties to break)
        allscores = np.concatenate([d[1] for d in dets])
        assert len(np.unique(allscores)) == len(allscores)
        sets[name] = (dets, gts, ncls, thr)
    return {"pr": pr, "sets": sets}


def _copy_sets(dets, gts):
    """Fresh copies, so that a function that changes its input cannot change the next case's."""
    return ([tuple(np.array(a, copy=True) for a in d) for d in dets],
            [tuple(np.array(a, copy=True) for a in g) for g in gts])


def probe_map(ns, seed):
    inputs = map_inputs(seed)
    out = {"pr": [], "hand": []}
    for r, p in AP_HAND_INPUTS:
        out["hand"].append(scalar(ns.call("voc_ap", r.copy(), p.copy())))
    for r, p in inputs["pr"]:
        out["pr"].append(scalar(ns.call("voc_ap", r.copy(), p.copy())))
    for name, (dets, gts, ncls, thr) in inputs["sets"].items():
        d, g = _copy_sets(dets, gts)
        res = ns.call("mean_average_precision", d, g, ncls, thr)
        if isinstance(res, Bad):
            out[name] = res
        elif not isinstance(res, (tuple, list)) or len(res) != 2:
            out[name] = Bad("type", f"a {type(res).__name__}; return a tuple (mAP, ap_per_class)")
        else:
            out[name] = [scalar(res[0]), as_array(res[1])]
    return out
