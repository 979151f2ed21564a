"""Boxes (000 P3): IoU, confidence filtering, NMS per class, and mean average precision.

Every box is ``(x1, y1, x2, y2)`` in continuous coordinates (torchvision's convention):
width ``x2 - x1``, height ``y2 - y1``, area ``(x2 - x1) * (y2 - y1)``; no ``+ 1``.

Student API (torch tensors for the first four):
    box_iou(boxes1 (N, 4), boxes2 (M, 4)) -> (N, M) float tensor
        IoU = area of the intersection / area of the union; 0 where the union is 0
        (two zero-area boxes), where torchvision gives nan. N or M may be 0.
    filter_boxes(boxes (K, 4), objectness (K,), class_probs (K, C), conf_threshold)
        -> (boxes (M, 4), scores (M,), labels (M,) long)
        score = objectness * the largest class probability, label = that class (argmax);
        keeps the boxes with score >= conf_threshold, in their input order.
    nms(boxes (K, 4), scores (K,), iou_threshold) -> (M,) long tensor
        indices of the kept boxes, by decreasing score; a box is removed when its IoU with a
        kept box of higher score is > iou_threshold (torchvision.ops.nms's rule).
    batched_nms(boxes, scores, labels (K,) long, iou_threshold) -> (M,) long tensor
        NMS within each class separately (boxes of different classes never suppress each
        other); all kept indices together, by decreasing score (torchvision.ops.batched_nms).
    voc_ap(recall (D,), precision (D,)) -> float
        VOC's all-point interpolated average precision: add the end points (recall 0 and 1,
        precision 0), replace each precision by the largest precision at this or a higher
        recall (the envelope), and sum (r_{i+1} - r_i) * p_{i+1} over the points where the
        recall changes. (Not the 11-point rule of VOC 2007.)
    mean_average_precision(detections, ground_truths, num_classes, iou_threshold=0.5)
        -> (mAP float, ap (num_classes,) float array)
        detections: list over images of (boxes (D, 4), scores (D,), labels (D,)) NumPy arrays;
        ground_truths: list over the same images of (boxes (G, 4), labels (G,)) or
        (boxes, labels, difficult (G,) bool). Per class: its detections of all images sorted by
        decreasing score; each is matched to the ground-truth box of its image and class with
        the largest IoU; IoU > iou_threshold and that box not yet matched -> true positive
        (the box is now matched); that box difficult -> ignored (neither); otherwise false
        positive. Recall = TP / (number of non-difficult ground-truth boxes of the class),
        precision = TP / (TP + FP), cumulated in score order, AP = voc_ap. A class without
        non-difficult ground truth has AP nan and is left out of the mean; a class with
        ground truth but no detection has AP 0. (Matching each detection to the best box
        among those not yet matched is accepted too.)

The judge computes its references itself: torchvision.ops.box_iou / nms / batched_nms on
thousands of random (clustered) boxes and hand-computed cases, and its own VOC AP. Calling
torchvision from the student's code is not allowed for these items.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item, expect_array, expect_number, unwrap

# --------------------------------------------------------------------------
# Inputs, rebuilt from the seed on both sides.

IOU_HAND_A = [[0, 0, 2, 2], [0, 0, 4, 4], [1, 1, 1, 1], [0, 0, 1, 1], [2.5, 1, 6.5, 3]]
IOU_HAND_B = [[1, 1, 3, 3], [1, 1, 2, 2], [0, 0, 2, 2], [1, 0, 2, 1], [0, 0, 4, 4], [1, 1, 1, 1]]


def hand_iou() -> np.ndarray:
    """IoU of IOU_HAND_A x IOU_HAND_B worked out by hand (fractions), not by a formula."""
    # rows: [0,0,2,2] [0,0,4,4] [1,1,1,1] (a point) [0,0,1,1] [2.5,1,6.5,3]
    # cols: [1,1,3,3] [1,1,2,2] [0,0,2,2] [1,0,2,1] (touches [0,0,1,1]) [0,0,4,4] [1,1,1,1]
    return np.array([
        [1 / 7, 1 / 4, 1, 1 / 4, 4 / 16, 0],
        [4 / 16, 1 / 16, 4 / 16, 1 / 16, 1, 0],
        [0, 0, 0, 0, 0, 0],
        [0, 0, 1 / 4, 0, 1 / 16, 0],
        [1 / 11, 0, 0, 0, 3 / 21, 0],  # areas 8 and 4, intersection 0.5 x 2; areas 8 and 16, 1.5 x 2
    ])


def random_boxes(rng, n, lo=0.0, hi=100.0, smin=0.0, smax=30.0, integer_frac=0.3, degenerate_frac=0.05):
    """Boxes (n, 4) float64 holding float32 values: random positions and sizes; a fraction on an
    integer grid (so that boxes touch and coincide), a fraction of zero width or height."""
    x1 = rng.uniform(lo, hi, n)
    y1 = rng.uniform(lo, hi, n)
    w = rng.uniform(smin, smax, n)
    h = rng.uniform(smin, smax, n)
    grid = rng.uniform(size=n) < integer_frac
    x1[grid], y1[grid] = np.floor(x1[grid] / 5) * 5, np.floor(y1[grid] / 5) * 5
    w[grid], h[grid] = np.ceil(w[grid] / 5) * 5, np.ceil(h[grid] / 5) * 5
    deg = rng.uniform(size=n) < degenerate_frac
    w[deg & (rng.uniform(size=n) < 0.5)] = 0.0
    h[deg] = np.where(w[deg] == 0, h[deg], 0.0)
    b = np.stack([x1, y1, x1 + w, y1 + h], axis=1)
    return b.astype(np.float32).astype(np.float64)


def iou_inputs(seed: int) -> dict:
    rng = np.random.default_rng([seed, 3001])
    grid = rng.integers(0, 6, (60, 2)).astype(np.float64) * 2  # boxes on a coarse grid: many touch
    sizes = rng.integers(0, 3, (60, 2)).astype(np.float64) * 2
    touch = np.concatenate([grid, grid + sizes], axis=1)
    return {
        "hand": (np.array(IOU_HAND_A, dtype=np.float64), np.array(IOU_HAND_B, dtype=np.float64)),
        "random": (random_boxes(rng, 300), random_boxes(rng, 200)),
        "touching": (touch[:40], touch[20:]),
        "empty_n": (np.zeros((0, 4)), random_boxes(rng, 7)),
        "empty_m": (random_boxes(rng, 5), np.zeros((0, 4))),
        "one": (random_boxes(rng, 1), random_boxes(rng, 3)),
    }


def reference_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """torchvision.ops.box_iou in float64, with 0 where the union is 0 (torchvision: nan)."""
    import torch
    import torchvision

    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    out = torchvision.ops.box_iou(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)).numpy()
    return np.nan_to_num(out, nan=0.0)


def cluster_boxes(rng, n, n_clusters, size=(15, 60), spread=0.15):
    """Boxes around ``n_clusters`` centres: boxes of one cluster overlap a lot, so NMS has work."""
    centres = rng.uniform(0, 400, (n_clusters, 2))
    sizes = rng.uniform(*size, (n_clusters, 2))
    k = rng.integers(0, n_clusters, n)
    wh = sizes[k] * np.exp(rng.normal(0, spread, (n, 2)))
    c = centres[k] + rng.normal(0, spread, (n, 2)) * sizes[k]
    b = np.concatenate([c - wh / 2, c + wh / 2], axis=1)
    return b.astype(np.float32).astype(np.float64)


def distinct_scores(rng, n):
    """n distinct float32 scores in (0, 1), in random order (no ties, by construction)."""
    s = (rng.permutation(n) + rng.uniform(0.1, 0.9, n)) / (n + 1)
    s = s.astype(np.float32).astype(np.float64)
    assert len(np.unique(s)) == n
    return s


# The IoU of [0,0,4,4] and [0,0,4,2] is exactly 8 / 16 = 0.5: at threshold 0.5, both are kept
# (NMS removes a box only when the IoU is > the threshold).
EQUAL_BOXES = np.array([[0, 0, 4, 4], [0, 0, 4, 2], [10, 10, 14, 14], [10, 10, 14, 12], [10, 12, 14, 14]], dtype=np.float64)
EQUAL_SCORES = np.array([0.9, 0.8, 0.7, 0.6, 0.5])

NMS_THRESHOLDS = (0.3, 0.5, 0.7)


def nms_inputs(seed: int) -> dict:
    rng = np.random.default_rng([seed, 3002])
    cases = {}
    for t in NMS_THRESHOLDS:
        n = 900
        cases[f"nms_{t}"] = (cluster_boxes(rng, n, 40), distinct_scores(rng, n), t)
    # batched: the same clusters hold boxes of 4 classes, so NMS across classes removes too much
    n = 1200
    b = cluster_boxes(rng, n, 50)
    cases["batched"] = (b, distinct_scores(rng, n), rng.integers(0, 4, n), 0.5)
    n = 300
    cases["batched_many"] = (cluster_boxes(rng, n, 10), distinct_scores(rng, n), rng.integers(0, 12, n) * 3 + 1, 0.4)
    # filter: decoder-like outputs
    k, c = 500, 6
    logits = rng.normal(0, 2, (k, c))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    obj = 1 / (1 + np.exp(-rng.normal(-1, 2, k)))
    cases["filter"] = (cluster_boxes(rng, k, 30), obj.astype(np.float32).astype(np.float64),
                       probs.astype(np.float32).astype(np.float64), 0.3)
    return cases


# Exactly at the threshold: objectness 0.5 x probability 0.5 = 0.25 (exact in float32), kept at 0.25.
FILTER_EDGE = (np.array([[0, 0, 10, 10], [5, 5, 20, 20], [1, 2, 3, 4]], dtype=np.float64),
               np.array([0.5, 0.25, 0.75]),
               np.array([[0.5, 0.25, 0.25], [0.125, 0.125, 0.75], [0.25, 0.25, 0.5]]), 0.25)


# --------------------------------------------------------------------------
# Probes (child side).


def _t(a, dtype=None):
    import torch

    return torch.tensor(a, dtype=dtype or torch.float32)


def _plain(v):
    """A tensor/array/list result as a NumPy array (float64 or int64), else a Bad."""
    import torch

    if isinstance(v, Bad):
        return v
    if torch.is_tensor(v):
        return v.detach().cpu().numpy().copy()
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, (list, tuple)):
        try:
            return np.asarray([x.item() if hasattr(x, "item") else x for x in v])
        except (TypeError, ValueError):
            return Bad("type", f"a {type(v).__name__} that is not a list of numbers")
    if isinstance(v, (int, float)):
        return Bad("type", f"a single {type(v).__name__}")
    return Bad("type", f"an object of type {type(v).__name__}")


def probe_iou(ns, seed):
    import torch

    out = {}
    for name, (a, b) in iou_inputs(seed).items():
        ta, tb = _t(a), _t(b)
        ca, cb = ta.clone(), tb.clone()
        r = ns.call("box_iou", ta, tb)
        out[name] = {"is_tensor": bool(torch.is_tensor(r)), "value": _plain(r),
                     "changed": not (torch.equal(ta, ca) and torch.equal(tb, cb))}
    return out


def probe_nms(ns, seed):
    import torch

    out = {}
    for name, args in nms_inputs(seed).items():
        if name.startswith("nms"):
            b, s, t = args
            r = ns.call("nms", _t(b), _t(s), t)
        elif name.startswith("batched"):
            b, s, lab, t = args
            r = ns.call("batched_nms", _t(b), _t(s), torch.tensor(lab, dtype=torch.long), t)
        else:
            continue
        out[name] = {"value": _plain(r)}
    out["nms_equal"] = {"value": _plain(ns.call("nms", _t(EQUAL_BOXES), _t(EQUAL_SCORES), 0.5))}
    out["nms_empty"] = {"value": _plain(ns.call("nms", torch.zeros(0, 4), torch.zeros(0), 0.5))}
    out["batched_empty"] = {"value": _plain(ns.call("batched_nms", torch.zeros(0, 4), torch.zeros(0),
                                                    torch.zeros(0, dtype=torch.long), 0.5))}
    for name, (b, obj, probs, t) in (("filter", nms_inputs(seed)["filter"]), ("filter_edge", FILTER_EDGE)):
        r = ns.call("filter_boxes", _t(b), _t(obj), _t(probs), t)
        if isinstance(r, Bad):
            out[name] = {"value": r}
        elif not isinstance(r, (tuple, list)) or len(r) != 3:
            out[name] = {"value": Bad("type", f"a {type(r).__name__}" + (f" of length {len(r)}" if isinstance(r, (tuple, list)) else "")
                                      + "; return a tuple (boxes, scores, labels)")}
        else:
            out[name] = {"value": [_plain(x) for x in r]}
    return out


# --------------------------------------------------------------------------
# Judges (trusted side).


def judge_iou(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    inputs = iou_inputs(seed)
    parts = {  # name: (weight, description)
        "hand": (2.0, "small boxes worked out by hand"),
        "random": (2.5, "300 x 200 random boxes"),
        "touching": (1.5, "boxes on a grid that touch, coincide or have zero area (IoU 0 where the union is 0)"),
        "empty_n": (0.6, "N = 0 boxes against 7"),
        "empty_m": (0.6, "5 boxes against M = 0"),
        "one": (0.3, "1 box against 3"),
    }
    for name, (w, ctx) in parts.items():
        a, b = inputs[name]
        want = hand_iou() if name == "hand" else reference_iou(a, b)
        rec = out.get(name) if isinstance(out.get(name), dict) else {"value": Bad("missing", "no result")}
        with ck.part(f"box_iou {name}", w):
            got = unwrap(rec.get("value"), "box_iou")
            if not rec.get("is_tensor"):
                raise Fail(f"box_iou: returned a {type(got).__name__}, not a torch tensor ({ctx})")
            if isinstance(got, np.ndarray) and got.shape != want.shape:
                hint = ""
                if 0 in want.shape:
                    hint = "; with no boxes on one side the result is an empty (N, M) tensor: build it with broadcasting, not a list of rows"
                elif got.shape == want.shape[::-1]:
                    hint = "; rows must follow boxes1 and columns boxes2"
                raise Fail(f"box_iou: shape {tuple(got.shape)}, expected {tuple(want.shape)} ({ctx}){hint}")
            if isinstance(got, np.ndarray) and got.dtype.kind == "f" and np.isnan(got).any():
                raise Fail(f"box_iou: NaN where the union is 0 (two zero-area boxes); the IoU must be 0 there ({ctx})")
            if isinstance(got, np.ndarray) and got.shape == want.shape and got.size:
                err = float(np.max(np.abs(got.astype(np.float64) - want)))
                if err > 1e-5:
                    i, j = np.unravel_index(np.argmax(np.abs(got.astype(np.float64) - want)), want.shape)
                    a_box, b_box = a[i].tolist(), b[j].tolist()
                    hint = _iou_hint(a_box, b_box, float(got[i, j]))
                    raise Fail(f"box_iou: wrong values, IoU({_fmt(a_box)}, {_fmt(b_box)}) = {float(got[i, j]):.4g}, "
                               f"expected {want[i, j]:.4g} ({ctx}){hint}")
            expect_array(got, want, "box_iou", 1e-5, ctx)
            if rec.get("changed"):
                raise Fail(f"box_iou changed its input boxes in place ({ctx})")


def _fmt(box) -> str:
    return "[" + ", ".join(f"{v:g}" for v in box) + "]"


def _iou_hint(a, b, got) -> str:
    def iou(a, b, one=0.0, clamp=True, sub=True):
        iw = min(a[2], b[2]) - max(a[0], b[0]) + one
        ih = min(a[3], b[3]) - max(a[1], b[1]) + one
        if clamp:
            iw, ih = max(iw, 0.0), max(ih, 0.0)
        inter = iw * ih
        area = lambda x: (x[2] - x[0] + one) * (x[3] - x[1] + one)  # noqa: E731
        union = area(a) + area(b) - (inter if sub else 0.0)
        return inter / union if union else float("nan")

    close = lambda v: v == v and abs(v - got) <= 1e-5 * max(1.0, abs(v))  # noqa: E731
    if close(iou(a, b, one=1.0)):
        return "; that is the old '+1' pixel convention: here boxes are continuous, width = x2 - x1"
    if close(iou(a, b, clamp=False)):
        return "; clamp the intersection's width and height at 0 (boxes that do not overlap)"
    if close(iou(a, b, sub=False)):
        return "; the union is area1 + area2 - intersection"
    return ""


def _as_index_list(v, what):
    v = unwrap(v, what)
    if not isinstance(v, np.ndarray):
        raise Fail(f"{what}: expected a tensor of indices, got {type(v).__name__}")
    if v.ndim != 1:
        raise Fail(f"{what}: expected a 1-D tensor of indices, got shape {tuple(v.shape)}")
    if v.size and v.dtype.kind not in "iu":
        if v.dtype.kind == "f" and np.all(v == np.round(v)):
            raise Fail(f"{what}: return the indices as a long (int64) tensor, not {v.dtype}")
        raise Fail(f"{what}: expected integer indices, got dtype {v.dtype}")
    return [int(x) for x in v]


def reference_nms(b, s, t):
    import torch
    import torchvision

    return torchvision.ops.nms(torch.tensor(b, dtype=torch.float32), torch.tensor(s, dtype=torch.float32), t).tolist()


def reference_batched_nms(b, s, lab, t):
    import torch
    import torchvision

    return torchvision.ops.batched_nms(torch.tensor(b, dtype=torch.float32), torch.tensor(s, dtype=torch.float32),
                                       torch.tensor(lab, dtype=torch.long), t).tolist()


def _nms_hint(got, want, b, s, lab, t) -> str:
    import torch
    import torchvision

    if set(got) == set(want) and got != want:
        return "; the right boxes but not in order of decreasing score"
    if lab is not None and set(got) == set(reference_nms(b, s, t)):
        return "; these are the boxes NMS keeps when it ignores the classes: suppress only within a class"
    low = torchvision.ops.nms(torch.tensor(b, dtype=torch.float32), torch.tensor(-s, dtype=torch.float32), t).tolist() if lab is None else None
    if low is not None and set(got) == set(low):
        return "; these are the boxes kept when the lower score of each pair wins: visit the boxes by decreasing score"
    if set(got) < set(want):
        return f"; {len(want) - len(got)} boxes removed that torchvision keeps (is the rule IoU > threshold?)"
    if set(got) > set(want):
        return f"; {len(got) - len(want)} boxes kept that torchvision removes"
    return ""


def judge_nms(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    inputs = nms_inputs(seed)

    def rec(name):
        r = out.get(name)
        return r.get("value") if isinstance(r, dict) else Bad("missing", "no result")

    for t in NMS_THRESHOLDS:
        b, s, thr = inputs[f"nms_{t}"]
        want = reference_nms(b, s, thr)
        with ck.part(f"nms at {t}", 1.2):
            got = _as_index_list(rec(f"nms_{t}"), "nms")
            if got != want:
                raise Fail(f"nms: kept {len(got)} boxes, torchvision.ops.nms keeps {len(want)} "
                           f"(900 boxes in 40 clusters, iou_threshold={t}){_nms_hint(got, want, b, s, None, thr)}")
    with ck.part("nms at the threshold", 0.6):
        got = _as_index_list(rec("nms_equal"), "nms")
        want = reference_nms(EQUAL_BOXES, EQUAL_SCORES, 0.5)
        if got != want:
            raise Fail(f"nms: kept {got}, expected {want}: boxes [0,0,4,4] and [0,0,4,2] have IoU exactly 0.5, "
                       "and a box is removed only when its IoU is > iou_threshold (0.5 here), as in torchvision")
    with ck.part("nms of no boxes", 0.3):
        got = _as_index_list(rec("nms_empty"), "nms")
        if got:
            raise Fail("nms: boxes kept out of none")
    for name, n_desc in (("batched", "1200 boxes of 4 classes in 50 clusters"), ("batched_many", "300 boxes of 12 classes (labels 1, 4, ... 34)")):
        b, s, lab, thr = inputs[name]
        want = reference_batched_nms(b, s, lab, thr)
        with ck.part(f"batched_nms {name}", 1.5):
            got = _as_index_list(rec(name), "batched_nms")
            if got != want:
                raise Fail(f"batched_nms: kept {len(got)} boxes, torchvision.ops.batched_nms keeps {len(want)} "
                           f"({n_desc}, iou_threshold={thr}){_nms_hint(got, want, b, s, lab, thr)}")
    with ck.part("batched_nms of no boxes", 0.2):
        got = _as_index_list(rec("batched_empty"), "batched_nms")
        if got:
            raise Fail("batched_nms: boxes kept out of none")
    for name, w in (("filter", 1.6), ("filter_edge", 0.4)):
        b, obj, probs, t = inputs["filter"] if name == "filter" else FILTER_EDGE
        b32, obj32, p32 = (np.asarray(x, dtype=np.float32) for x in (b, obj, probs))
        score = obj32 * p32.max(1)
        keep = np.flatnonzero(score >= np.float32(t))
        with ck.part(name, w):
            got = unwrap(rec(name), "filter_boxes")
            if not isinstance(got, list) or any(isinstance(x, Bad) for x in got):
                bad = next((x for x in got if isinstance(x, Bad)), None) if isinstance(got, list) else None
                raise Fail(bad.describe("filter_boxes") if bad else "filter_boxes: return a tuple (boxes, scores, labels)")
            gb, gs, gl = got
            ctx = ("objectness 0.5 x probability 0.5 = 0.25 at conf_threshold 0.25: keep scores >= the threshold"
                   if name == "filter_edge" else f"{len(b)} boxes, 6 classes, conf_threshold {t}")
            if not isinstance(gs, np.ndarray) or gs.shape != (len(keep),):
                shape = tuple(gs.shape) if isinstance(gs, np.ndarray) else type(gs).__name__
                hint = ""
                if isinstance(gs, np.ndarray) and gs.ndim == 1:
                    alt = np.flatnonzero(score > np.float32(t)).size
                    alt2 = np.flatnonzero(obj32 >= np.float32(t)).size
                    hint = ("; a score equal to the threshold is kept (>=)" if gs.shape[0] == alt != len(keep)
                            else "; the score is objectness x the best class probability, not the objectness alone"
                            if gs.shape[0] == alt2 else "")
                raise Fail(f"filter_boxes: scores of shape {shape}, expected ({len(keep)},) ({ctx}){hint}")
            expect_array(gb, b32[keep].astype(np.float64), "filter_boxes boxes", 1e-6, ctx + "; keep the kept boxes in their input order")
            expect_array(gs, score[keep].astype(np.float64), "filter_boxes scores (objectness x best class probability)", 1e-5, ctx)
            gl = unwrap(gl, "filter_boxes labels")
            if not isinstance(gl, np.ndarray) or gl.dtype.kind not in "iu":
                raise Fail(f"filter_boxes: labels must be a long tensor of class indices ({ctx})")
            expect_equal_labels(gl, p32.argmax(1)[keep], ctx)


def expect_equal_labels(got, want, ctx):
    if got.shape != want.shape or not np.array_equal(got, want):
        raise Fail(f"filter_boxes: wrong labels; the label is the index of the largest class probability ({ctx})")


# --------------------------------------------------------------------------
# Average precision.

AP_HAND = [  # (recall, precision, all-point AP worked out by hand)
    # 4 detections, 2 ground truths: TP, FP, TP, FP -> envelope 1 up to r=0.5, 2/3 up to r=1
    (np.array([0.5, 0.5, 1.0, 1.0]), np.array([1.0, 0.5, 2 / 3, 0.5]), 0.5 * 1.0 + 0.5 * 2 / 3),
    # FP first: precision 0 then 0.5 at recall 1/3 ... envelope raises the first point
    (np.array([0.0, 1 / 3, 1 / 3, 2 / 3]), np.array([0.0, 0.5, 1 / 3, 0.5]), 1 / 3 * 0.5 + 1 / 3 * 0.5),
]


def reference_voc_ap(recall, precision) -> float:
    """The envelope made explicitly with a loop (VOC devkit's voc_ap, use_07_metric=False)."""
    r = [0.0] + [float(x) for x in recall] + [1.0]
    p = [0.0] + [float(x) for x in precision] + [0.0]
    for i in range(len(p) - 2, -1, -1):
        p[i] = max(p[i], p[i + 1])
    return float(sum((r[i + 1] - r[i]) * p[i + 1] for i in range(len(r) - 1) if r[i + 1] != r[i]))


def eleven_point_ap(recall, precision) -> float:
    recall, precision = np.asarray(recall), np.asarray(precision)
    return float(np.mean([precision[recall >= t].max() if (recall >= t).any() else 0.0 for t in np.linspace(0, 1, 11)]))


def no_envelope_ap(recall, precision) -> float:
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    i = np.flatnonzero(r[1:] != r[:-1])
    return float(np.sum((r[i + 1] - r[i]) * p[i + 1]))


def random_pr(rng, n_det, n_gt):
    tp = rng.uniform(size=n_det) < 0.5
    tp[np.cumsum(tp) > n_gt] = False
    ctp = np.cumsum(tp)
    return ctp / n_gt, ctp / np.arange(1, n_det + 1)


def map_inputs(seed: int) -> dict:
    """Sets of (detections, ground truths, num_classes, iou_threshold) drawn from the offline scenes."""
    from data_scripts.scenes import make_scene, noisy_detections

    rng = np.random.default_rng([seed, 3003])
    pr = [random_pr(rng, n, g) for n, g in ((30, 12), (8, 3), (50, 40))]
    sets = {}
    for name, n_img, ncls, thr, difficult in (("scenes", 8, 4, 0.5, False), ("extra_class", 6, 6, 0.5, False),
                                              ("difficult", 8, 4, 0.5, True), ("iou_0.7", 5, 4, 0.7, False)):
        dets, gts = [], []
        for i in range(n_img):
            s = int(rng.integers(0, 10**6))
            _, boxes, labels = make_scene(s, n_objects=(1, 6))
            db, ds, dl = noisy_detections(boxes, labels, seed=s, num_classes=4)
            if name == "extra_class":  # class 5 gets detections but has no ground truth; class 4 neither
                dl = np.where(rng.uniform(size=len(dl)) < 0.15, 5, dl)
            gt = (boxes, labels)
            if difficult:
                gt = (boxes, labels, rng.uniform(size=len(labels)) < 0.25)
            dets.append((db, ds, dl))
            gts.append(gt)
        if name == "scenes":  # an image with no ground truth and one with no detection
            _, boxes, labels = make_scene(int(rng.integers(0, 10**6)), n_objects=(2, 3))
            dets.append((np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64)))
            gts.append((boxes, labels))
            db, ds, dl = noisy_detections(np.array([[50.0, 50, 90, 80]]), np.array([1]), seed=seed)
            dets.append((db, ds, dl))
            gts.append((np.zeros((0, 4)), np.zeros(0, dtype=np.int64)))
        # distinct scores over the whole set (the reference sorts by score)
        allscores = np.concatenate([d[1] for d in dets])
        assert len(np.unique(allscores)) == len(allscores)
        sets[name] = (dets, gts, ncls, thr)
    return {"pr": pr, "sets": sets}


def _iou_np(a, b):
    from data_scripts.scenes import box_iou_np

    return box_iou_np(a, b)


def reference_map(dets, gts, num_classes, thr, rule="voc"):
    """Per-class AP (nan without ground truth) and their mean. ``rule``: "voc" matches each
    detection to the ground truth of largest IoU (already matched -> false positive);
    "unmatched" to the largest IoU among the ground truths not yet matched."""
    aps = np.full(num_classes, np.nan)
    for c in range(num_classes):
        recs = []  # (score, image, box)
        n_pos = 0
        used = {}
        for i, ((db, ds, dl), gt) in enumerate(zip(dets, gts)):
            gb, gl = np.asarray(gt[0]).reshape(-1, 4), np.asarray(gt[1])
            diff = np.asarray(gt[2], dtype=bool) if len(gt) > 2 else np.zeros(len(gl), dtype=bool)
            n_pos += int(np.sum((gl == c) & ~diff))
            used[i] = np.zeros(len(gl), dtype=bool)
            for k in np.flatnonzero(np.asarray(dl) == c):
                recs.append((float(ds[k]), i, np.asarray(db[k], dtype=np.float64)))
        if n_pos == 0:
            continue
        recs.sort(key=lambda r: -r[0])
        tp = np.zeros(len(recs))
        fp = np.zeros(len(recs))
        for d, (_, i, box) in enumerate(recs):
            gb, gl = np.asarray(gts[i][0]).reshape(-1, 4), np.asarray(gts[i][1])
            diff = np.asarray(gts[i][2], dtype=bool) if len(gts[i]) > 2 else np.zeros(len(gl), dtype=bool)
            cand = np.flatnonzero(gl == c)
            if rule == "unmatched":
                cand = cand[~used[i][cand]]
            if len(cand) == 0:
                fp[d] = 1
                continue
            ious = _iou_np(box[None], gb[cand])[0]
            j = cand[int(np.argmax(ious))]
            if ious.max() > thr:
                if diff[j]:
                    continue
                if not used[i][j]:
                    tp[d], used[i][j] = 1, True
                else:
                    fp[d] = 1
            else:
                fp[d] = 1
        ctp, cfp = np.cumsum(tp), np.cumsum(fp)
        rec = ctp / n_pos
        prec = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
        aps[c] = reference_voc_ap(rec, prec)
    return float(np.nanmean(aps)) if np.any(~np.isnan(aps)) else float("nan"), aps


def probe_map(ns, seed):
    inputs = map_inputs(seed)
    out = {"pr": [], "hand": []}
    for r, p, _ in AP_HAND:
        out["hand"].append(_scalar(ns.call("voc_ap", r.copy(), p.copy())))
    for r, p in inputs["pr"]:
        out["pr"].append(_scalar(ns.call("voc_ap", r.copy(), p.copy())))
    for name, (dets, gts, ncls, thr) in inputs["sets"].items():
        r = ns.call("mean_average_precision", dets, gts, ncls, thr)
        if isinstance(r, Bad):
            out[name] = r
        elif not isinstance(r, (tuple, list)) or len(r) != 2:
            out[name] = Bad("type", f"a {type(r).__name__}; return a tuple (mAP, ap_per_class)")
        else:
            out[name] = [_scalar(r[0]), _plain(r[1])]
    return out


def _scalar(v):
    if isinstance(v, Bad):
        return v
    try:
        import torch

        if torch.is_tensor(v) and v.numel() == 1:
            return float(v.item())
    except Exception:
        pass
    if isinstance(v, np.ndarray) and v.size == 1:
        return float(v.reshape(()).item())
    if isinstance(v, (np.floating, np.integer)):
        return float(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return Bad("type", f"a {type(v).__name__}, not a number")


def judge_map(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    inputs = map_inputs(seed)
    hand = out.get("hand") if isinstance(out.get("hand"), list) else []
    with ck.part("voc_ap by hand", 1.0):
        for k, (r, p, want) in enumerate(AP_HAND):
            got = hand[k] if k < len(hand) else Bad("missing", "no result")
            got = unwrap(got, "voc_ap")
            ctx = f"recall {np.round(r, 3).tolist()}, precision {np.round(p, 3).tolist()}"
            if isinstance(got, float) and abs(got - want) > 1e-6:
                raise Fail(f"voc_ap: got {got:.4f}, expected {want:.4f} ({ctx}){_ap_hint(got, r, p)}")
            expect_number(got, want, "voc_ap", 1e-6, ctx)
    pr = out.get("pr") if isinstance(out.get("pr"), list) else []
    with ck.part("voc_ap random", 1.0):
        for k, (r, p) in enumerate(inputs["pr"]):
            want = reference_voc_ap(r, p)
            got = unwrap(pr[k] if k < len(pr) else Bad("missing", "no result"), "voc_ap")
            if isinstance(got, float) and abs(got - want) > 1e-6:
                raise Fail(f"voc_ap: got {got:.4f}, expected {want:.4f} ({len(r)} detections){_ap_hint(got, r, p)}")
            expect_number(got, want, "voc_ap", 1e-6, f"{len(r)} detections")
    weights = {"scenes": 2.0, "extra_class": 1.2, "difficult": 1.0, "iou_0.7": 0.8}
    descr = {"scenes": "8 scenes, 4 classes, an image without ground truth and one without detections",
             "extra_class": "6 classes: class 4 has no box at all and class 5 only detections (no ground truth)",
             "difficult": "some ground truths are difficult", "iou_0.7": "iou_threshold 0.7"}
    for name, (dets, gts, ncls, thr) in inputs["sets"].items():
        refs = [reference_map(dets, gts, ncls, thr, rule) for rule in ("voc", "unmatched")]
        with ck.part(f"mean_average_precision {name}", weights[name]):
            got = unwrap(out.get(name, Bad("missing", "no result")), "mean_average_precision")
            m, aps = got
            m = unwrap(m, "mean_average_precision mAP")
            aps = unwrap(aps, "mean_average_precision ap_per_class")
            ctx = descr[name]
            if not isinstance(aps, np.ndarray) or aps.shape != (ncls,):
                shape = tuple(aps.shape) if isinstance(aps, np.ndarray) else type(aps).__name__
                raise Fail(f"mean_average_precision: ap_per_class of shape {shape}, expected ({ncls},) ({ctx})")
            aps = aps.astype(np.float64)
            ok = None
            for want_m, want_aps in refs:
                same_nan = np.array_equal(np.isnan(aps), np.isnan(want_aps))
                if same_nan and np.allclose(np.nan_to_num(aps), np.nan_to_num(want_aps), atol=1e-6, rtol=0) \
                        and isinstance(m, float) and abs(m - want_m) <= 1e-6:
                    ok = True
                    break
            if ok:
                continue
            want_m, want_aps = refs[0]
            if not np.array_equal(np.isnan(aps), np.isnan(want_aps)):
                raise Fail(f"mean_average_precision: AP per class {np.round(aps, 3).tolist()}, expected "
                           f"{np.round(want_aps, 3).tolist()}: nan exactly for the classes without (non-difficult) ground truth ({ctx})")
            bad = [c for c in range(ncls) if not np.isnan(want_aps[c]) and abs(aps[c] - want_aps[c]) > 1e-6
                   and abs(aps[c] - refs[1][1][c]) > 1e-6]
            if bad:
                c = bad[0]
                raise Fail(f"mean_average_precision: AP of class {c} is {aps[c]:.4f}, expected {want_aps[c]:.4f} ({ctx})"
                           f"{_map_hint(aps, dets, gts, ncls, thr, c)}")
            if not isinstance(m, float) or abs(m - want_m) > 1e-6:
                hint = ("; the mean is over the classes that have ground truth only (nanmean)"
                        if isinstance(m, float) and abs(m - np.nansum(want_aps) / ncls) <= 1e-6 else "")
                raise Fail(f"mean_average_precision: mAP {m!r}, expected {want_m:.4f} = the mean of the per-class APs ({ctx}){hint}")


def _ap_hint(got, r, p) -> str:
    if abs(got - eleven_point_ap(r, p)) <= 1e-6:
        return "; that is VOC 2007's 11-point AP: use all points (the area under the envelope)"
    if abs(got - no_envelope_ap(r, p)) <= 1e-6:
        return "; replace each precision by the largest precision at a higher or equal recall first (the envelope)"
    return ""


def _map_hint(aps, dets, gts, ncls, thr, c) -> str:
    # duplicates counted as true positives
    dup = _variant_ap(dets, gts, c, thr, once=False)
    if abs(aps[c] - dup) <= 1e-6:
        return "; duplicates were counted as true positives: each ground-truth box can be matched once"
    return ""


def _variant_ap(dets, gts, c, thr, once=True):
    recs, n_pos = [], 0
    for i, ((db, ds, dl), gt) in enumerate(zip(dets, gts)):
        gl = np.asarray(gt[1])
        diff = np.asarray(gt[2], dtype=bool) if len(gt) > 2 else np.zeros(len(gl), dtype=bool)
        n_pos += int(np.sum((gl == c) & ~diff))
        for k in np.flatnonzero(np.asarray(dl) == c):
            recs.append((float(ds[k]), i, np.asarray(db[k], dtype=np.float64)))
    recs.sort(key=lambda r: -r[0])
    tp = []
    for _, i, box in recs:
        gb, gl = np.asarray(gts[i][0]).reshape(-1, 4), np.asarray(gts[i][1])
        cand = np.flatnonzero(gl == c)
        tp.append(bool(len(cand)) and _iou_np(box[None], gb[cand]).max() > thr)
    tp = np.array(tp, dtype=np.float64)
    ctp = np.cumsum(tp)
    return reference_voc_ap(ctp / max(n_pos, 1), ctp / np.arange(1, len(tp) + 1)) if len(tp) else 0.0


ITEMS = [
    Item("hw3.iou", 8, ("box_iou",), probe_iou, judge_iou,
         title="IoU of two sets of boxes, vectorised (000 P3)", timeout=20, forbid=("torchvision",)),
    Item("hw3.nms", 10, ("filter_boxes", "nms", "batched_nms"), probe_nms, judge_nms,
         title="Confidence filtering and non-maximum suppression per class (000 P3)", timeout=40, forbid=("torchvision",)),
    Item("hw3.mean_ap", 7, ("voc_ap", "mean_average_precision"), probe_map, judge_map,
         title="Mean average precision at IoU 0.5 (VOC, all points)", timeout=30, forbid=("torchvision",)),
]
