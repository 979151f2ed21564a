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

The judges (this module) rebuild the inputs with the builders of the probe module
(``autograder/probes/hw3/boxes.py``) and compute their references themselves:
torchvision.ops.box_iou / nms / batched_nms on thousands of random (clustered) boxes and
hand-computed cases, and their own VOC AP. Calling torchvision from the student's code is not
allowed for these items (the probes do not touch it either).
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item, expect_array, expect_number, unwrap
from ..probes.hw3.boxes import (AP_HAND_INPUTS, EQUAL_BOXES, EQUAL_SCORES, EQUAL_THRESHOLD, FILTER_EDGE,  # noqa: F401
                                IOU_HAND_A, IOU_HAND_B, NMS_THRESHOLDS, cluster_boxes, distinct_scores, iou_inputs,
                                map_inputs, nms_inputs, probe_iou, probe_map, probe_nms, random_boxes, random_pr)
from .common import part

# --------------------------------------------------------------------------
# References.


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


def reference_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """torchvision.ops.box_iou in float64, with 0 where the union is 0 (torchvision: nan)."""
    import torch
    import torchvision

    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    out = torchvision.ops.box_iou(torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)).numpy()
    return np.nan_to_num(out, nan=0.0)


def _same_input(after, before: np.ndarray) -> bool:
    return isinstance(after, np.ndarray) and after.shape == before.shape and \
        np.array_equal(after.astype(np.float64), before.astype(np.float32).astype(np.float64))


# --------------------------------------------------------------------------
# hw3.iou

IOU_PARTS = {  # name: (weight, description); each compares only the pairs whose union is > 0
    "hand": (2.0, "small boxes worked out by hand"),
    "random": (2.5, "300 x 200 random boxes"),
    "touching": (1.5, "boxes on a grid that touch, coincide or have zero area"),
    "empty_n": (0.6, "N = 0 boxes against 7"),
    "empty_m": (0.6, "5 boxes against M = 0"),
    "one": (0.3, "1 box against 3"),
}
# The one place where the conventions differ: two zero-area boxes (union 0). The notebook
# defines the IoU as 0 there; torchvision.ops.box_iou returns 0/0 = nan.
ZERO_UNION_WEIGHT = 0.5
ZERO_UNION_CASES = ("hand", "random", "touching")


def union_area(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """area(a) + area(b) - intersection for every pair, in float64 (N, M)."""
    a, b = np.asarray(a, dtype=np.float64).reshape(-1, 4), np.asarray(b, dtype=np.float64).reshape(-1, 4)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    return area(a)[:, None] + area(b)[None, :] - iw * ih


def _iou_result(rec, want, ctx):
    """The returned (N, M) matrix as float64, after the type and shape checks."""
    got = unwrap(rec.get("value"), f"`box_iou` ({ctx})")
    if not rec.get("is_tensor"):
        raise Fail(f"`box_iou` returned a {type(got).__name__}, not a torch tensor ({ctx})")
    if not isinstance(got, np.ndarray) or got.dtype.kind not in "biuf":
        raise Fail(f"`box_iou` returned no numeric tensor ({ctx})")
    if got.shape != want.shape:
        hint = ""
        if 0 in want.shape:
            hint = "; with no boxes on one side the result is an empty (N, M) tensor: build it with broadcasting, not a list of rows"
        elif got.shape == want.shape[::-1]:
            hint = "; rows must follow boxes1 and columns boxes2"
        raise Fail(f"`box_iou`: shape {tuple(got.shape)}, expected {tuple(want.shape)} ({ctx}){hint}")
    return got.astype(np.float64)


def judge_iou(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    inputs = iou_inputs(seed)
    for name, (w, ctx) in IOU_PARTS.items():
        a, b = inputs[name]
        want = hand_iou() if name == "hand" else reference_iou(a, b)
        pos = union_area(a, b) > 0  # where every convention agrees; the rest is the zero-union part's
        rec = out.get(name) if isinstance(out.get(name), dict) else {"value": Bad("missing", "no result came back")}
        with part(ck, f"box_iou {name}", w, "box_iou", ctx):
            got = _iou_result(rec, want, ctx)
            if not np.all(np.isfinite(got[pos])):
                raise Fail(f"`box_iou`: NaN or inf for boxes whose union is not 0 ({ctx})")
            if pos.any():
                diff = np.where(pos, np.abs(got - want), 0.0)
                err = float(diff.max())
                if not err <= 1e-5:
                    i, j = np.unravel_index(int(np.argmax(diff)), want.shape)
                    a_box, b_box = a[i].tolist(), b[j].tolist()
                    raise Fail(f"`box_iou`: wrong values, IoU({_fmt(a_box)}, {_fmt(b_box)}) = {got[i, j]:.4g}, "
                               f"expected {want[i, j]:.4g} ({ctx}){_iou_hint(a_box, b_box, float(got[i, j]))}")
            if not (_same_input(rec.get("a_after"), a) and _same_input(rec.get("b_after"), b)):
                raise Fail(f"`box_iou` changed its input boxes in place ({ctx})")
    with part(ck, "box_iou of two zero-area boxes", ZERO_UNION_WEIGHT, "box_iou", "two zero-area boxes"):
        zero_union = []  # (case, what the student gave where the union is 0)
        for name in ZERO_UNION_CASES:
            a, b = inputs[name]
            ctx = IOU_PARTS[name][1]
            rec = out.get(name) if isinstance(out.get(name), dict) else {"value": Bad("missing", "no result came back")}
            got = _iou_result(rec, reference_iou(a, b), ctx)
            zero_union.append((ctx, got[union_area(a, b) <= 0]))
        n = sum(v.size for _, v in zero_union)
        nan = sum(int(np.isnan(v).sum()) for _, v in zero_union)
        if nan:
            raise Fail(f"`box_iou`: the IoU of two zero-area boxes (union 0) must be 0 in this notebook; yours gives NaN "
                       f"there ({nan} of {n} such pairs), as torchvision's box_iou does (0/0)")
        for ctx, v in zero_union:
            if v.size and np.max(np.abs(v)) > 0:
                raise Fail(f"`box_iou`: the IoU of two zero-area boxes (union 0) must be 0; got "
                           f"{v[np.argmax(np.abs(v))]:.4g} ({ctx})")


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


# --------------------------------------------------------------------------
# hw3.nms


def _as_index_list(v, what, ctx):
    v = unwrap(v, f"{what} ({ctx})")
    if not isinstance(v, np.ndarray):
        raise Fail(f"{what}: expected a tensor of indices, got {type(v).__name__} ({ctx})")
    if v.ndim != 1:
        raise Fail(f"{what}: expected a 1-D tensor of indices, got shape {tuple(v.shape)} ({ctx})")
    if v.size and v.dtype.kind not in "iu":
        if v.dtype.kind == "f" and np.all(v == np.round(v)):
            raise Fail(f"{what}: return the indices as a long (int64) tensor, not {v.dtype} ({ctx})")
        raise Fail(f"{what}: expected integer indices, got dtype {v.dtype} ({ctx})")
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
    if set(got) == set(want) and got != want:
        return "; the right boxes but not in order of decreasing score"
    if lab is not None and set(got) == set(reference_nms(b, s, t)):
        return "; these are the boxes NMS keeps when it ignores the classes: suppress only within a class"
    low = reference_nms(b, -s, t) if lab is None else None
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
        return r.get("value") if isinstance(r, dict) else Bad("missing", "no result came back")

    order = []  # (function, case, kept as returned, torchvision's) of the cases whose SET is right
    for t in NMS_THRESHOLDS:
        b, s, thr = inputs[f"nms_{t}"]
        want = reference_nms(b, s, thr)
        ctx = f"900 boxes in 40 clusters, iou_threshold={t}"
        with part(ck, f"nms at {t}", 1.1, "nms", ctx):
            got = _as_index_list(rec(f"nms_{t}"), "`nms`", ctx)
            if set(got) != set(want) or len(got) != len(want):
                raise Fail(f"`nms`: kept {len(got)} boxes, torchvision.ops.nms keeps {len(want)} "
                           f"({ctx}){_nms_hint(got, want, b, s, None, thr)}")
            order.append(("nms", ctx, got, want))
    ctx = f"5 boxes, iou_threshold={EQUAL_THRESHOLD}, two pairs with IoU exactly {EQUAL_THRESHOLD}"
    with part(ck, "nms at the threshold", 0.6, "nms", ctx):
        got = _as_index_list(rec("nms_equal"), "`nms`", ctx)
        want = reference_nms(EQUAL_BOXES, EQUAL_SCORES, EQUAL_THRESHOLD)
        if set(got) != set(want):
            # [0,0,4,4] and [0,0,4,2]: IoU exactly 8 / 16 = 0.5, so both are kept at threshold 0.5.
            removed_at_equality = reference_nms(EQUAL_BOXES, EQUAL_SCORES, EQUAL_THRESHOLD - 1e-6)
            if set(got) == set(removed_at_equality):
                raise Fail(f"`nms`: kept {got}, expected {want}: boxes [0,0,4,4] and [0,0,4,2] have IoU exactly 0.5; "
                           f"this notebook removes a box only when its IoU is > iou_threshold (torchvision.ops.nms, "
                           f"darknet), yours removes it at IoU >= iou_threshold too (the Soft-NMS paper's pseudocode) "
                           f"({ctx})")
            raise Fail(f"`nms`: kept {got}, expected {want}: boxes [0,0,4,4] and [0,0,4,2] have IoU exactly 0.5, "
                       f"and a box is removed only when its IoU is > iou_threshold (0.5 here), as in torchvision ({ctx})")
    ctx = "no boxes: tensors of shape (0, 4) and (0,)"
    with part(ck, "nms of no boxes", 0.3, "nms", ctx):
        got = _as_index_list(rec("nms_empty"), "`nms`", ctx)
        if got:
            raise Fail(f"`nms`: {len(got)} indices kept out of no boxes ({ctx})")
    for name, n_desc in (("batched", "1200 boxes of 4 classes in 50 clusters"), ("batched_many", "300 boxes of 12 classes (labels 1, 4, ... 34)")):
        b, s, lab, thr = inputs[name]
        want = reference_batched_nms(b, s, lab, thr)
        ctx = f"{n_desc}, iou_threshold={thr}"
        with part(ck, f"batched_nms {name}", 1.4, "batched_nms", ctx):
            got = _as_index_list(rec(name), "`batched_nms`", ctx)
            if set(got) != set(want) or len(got) != len(want):
                raise Fail(f"`batched_nms`: kept {len(got)} boxes, torchvision.ops.batched_nms keeps {len(want)} "
                           f"({ctx}){_nms_hint(got, want, b, s, lab, thr)}")
            order.append(("batched_nms", ctx, got, want))
    ctx = "no boxes: tensors of shape (0, 4), (0,) and (0,)"
    with part(ck, "batched_nms of no boxes", 0.2, "batched_nms", ctx):
        got = _as_index_list(rec("batched_empty"), "`batched_nms`", ctx)
        if got:
            raise Fail(f"`batched_nms`: {len(got)} indices kept out of no boxes ({ctx})")
    with part(ck, "nms order", 0.5, "nms", "the kept indices' order"):
        if not order:
            _as_index_list(rec(f"nms_{NMS_THRESHOLDS[0]}"), "`nms`", f"iou_threshold={NMS_THRESHOLDS[0]}")
            raise Fail("`nms` / `batched_nms`: the order of the kept indices could not be checked: no case kept "
                       "torchvision's boxes")
        for fn, ctx, got, want in order:
            if got != want:
                raise Fail(f"`{fn}`: the right boxes but not in order of decreasing score; return the kept indices by "
                           f"decreasing score, as torchvision.ops.{fn} does ({ctx})")
    for name, w in (("filter", 1.6), ("filter_edge", 0.4)):
        b, obj, probs, t = inputs["filter"] if name == "filter" else FILTER_EDGE
        b32, obj32, p32 = (np.asarray(x, dtype=np.float32) for x in (b, obj, probs))
        score = obj32 * p32.max(1)
        keep = np.flatnonzero(score >= np.float32(t))
        # FILTER_EDGE: objectness 0.5 x probability 0.5 = 0.25 (exact in float32), kept at 0.25.
        ctx = ("3 boxes; objectness 0.5 x probability 0.5 = 0.25 at conf_threshold 0.25: keep scores >= the threshold"
               if name == "filter_edge" else f"{len(b)} boxes, 6 classes, conf_threshold {t}")
        if name == "filter_edge":
            ctx = ("3 boxes, objectness 0.5 x probability 0.5 = 0.25 at conf_threshold 0.25: this notebook keeps a score "
                   "equal to the threshold (>=); darknet keeps only scores > thresh")
        with part(ck, f"filter_boxes {name}", w, "filter_boxes", ctx):
            got = unwrap(rec(name), f"`filter_boxes` ({ctx})")
            if not isinstance(got, list) or len(got) != 3 or any(isinstance(x, Bad) for x in got):
                bad = next((x for x in got if isinstance(x, Bad)), None) if isinstance(got, list) else None
                raise Fail(bad.describe(f"`filter_boxes` ({ctx})") if bad
                           else f"`filter_boxes`: return a tuple (boxes, scores, labels) ({ctx})")
            gb, gs, gl = got
            if not isinstance(gs, np.ndarray) or gs.shape != (len(keep),):
                shape = tuple(gs.shape) if isinstance(gs, np.ndarray) else type(gs).__name__
                hint = ""
                if isinstance(gs, np.ndarray) and gs.ndim == 1:
                    alt = np.flatnonzero(score > np.float32(t)).size
                    alt2 = np.flatnonzero(obj32 >= np.float32(t)).size
                    hint = ("; a score equal to the threshold is kept (>=)" if gs.shape[0] == alt != len(keep)
                            else "; the score is objectness x the best class probability, not the objectness alone"
                            if gs.shape[0] == alt2 else "")
                raise Fail(f"`filter_boxes`: scores of shape {shape}, expected ({len(keep)},) ({ctx}){hint}")
            expect_array(gb, b32[keep].astype(np.float64), "`filter_boxes` boxes", 1e-6,
                         ctx + "; keep the kept boxes in their input order")
            expect_array(gs, score[keep].astype(np.float64), "`filter_boxes` scores (objectness x best class probability)",
                         1e-5, ctx)
            if not isinstance(gl, np.ndarray) or gl.dtype.kind not in "iu":
                raise Fail(f"`filter_boxes`: labels must be a long tensor of class indices ({ctx})")
            want_l = p32.argmax(1)[keep]
            if gl.shape != want_l.shape or not np.array_equal(gl, want_l):
                raise Fail(f"`filter_boxes`: wrong labels; the label is the index of the largest class probability ({ctx})")


# --------------------------------------------------------------------------
# Average precision.

# The all-point AP of AP_HAND_INPUTS, worked out by hand:
#   TP, FP, TP, FP of 2 ground truths -> envelope 1 up to r=0.5, 2/3 up to r=1;
#   FP first: precision 0 then 0.5 at recall 1/3 ... the envelope raises the first point.
AP_HAND_WANT = [0.5 * 1.0 + 0.5 * 2 / 3, 1 / 3 * 0.5 + 1 / 3 * 0.5]
AP_HAND = [(r, p, want) for (r, p), want in zip(AP_HAND_INPUTS, AP_HAND_WANT)]


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


def _iou_np(a, b):
    from data_scripts.scenes import box_iou_np

    return box_iou_np(a, b)


def reference_map(dets, gts, num_classes, thr, rule="voc", ap=reference_voc_ap):
    """Per-class AP (nan without ground truth) and their mean. ``rule``: "voc" matches each
    detection to the ground truth of largest IoU (already matched -> false positive);
    "unmatched" to the largest IoU among the ground truths not yet matched. ``ap``: the AP of
    one (recall, precision) curve (all points; ``eleven_point_ap`` for VOC 2007's rule)."""
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
        aps[c] = ap(rec, prec)
    return float(np.nanmean(aps)) if np.any(~np.isnan(aps)) else float("nan"), aps


MAP_WEIGHTS = {"scenes": 2.0, "extra_class": 1.0, "difficult": 1.0, "iou_0.7": 0.8}
MAP_CONTEXT = {"scenes": "8 scenes, 4 classes, an image without ground truth and one without detections",
               "extra_class": "6 classes: class 4 has no box at all and class 5 only detections (no ground truth)",
               "difficult": "8 scenes, 4 classes, some ground truths are difficult",
               "iou_0.7": "5 scenes, 4 classes, iou_threshold 0.7"}
# Where the conventions differ, each in a part of its own: the AP of one curve (all points,
# VOC 2010 on; or VOC 2007's 11 points) and the AP reported for a class without ground truth
# (nan here; -1 in pycocotools and torchmetrics). The other parts accept either AP rule and
# compare only the classes that have ground truth.
ALL_POINT_WEIGHT = 0.6
NO_GT_WEIGHT = 0.5


def _map_pair(got, ncls, ctx):
    """(mAP, ap_per_class as float64) from what ``mean_average_precision`` returned."""
    if isinstance(got, Bad) and got.kind == "type":
        raise Fail(f"`mean_average_precision` returned {got.message[:120]} ({ctx})")
    got = unwrap(got, f"`mean_average_precision` ({ctx})")
    if not isinstance(got, (list, tuple)) or len(got) != 2:
        raise Fail(f"`mean_average_precision`: return a tuple (mAP, ap_per_class) ({ctx})")
    m, aps = got
    m = unwrap(m, f"`mean_average_precision` mAP ({ctx})")
    aps = unwrap(aps, f"`mean_average_precision` ap_per_class ({ctx})")
    if not isinstance(aps, np.ndarray) or aps.shape != (ncls,) or aps.dtype.kind not in "biuf":
        shape = tuple(aps.shape) if isinstance(aps, np.ndarray) else type(aps).__name__
        raise Fail(f"`mean_average_precision`: ap_per_class of shape {shape}, expected ({ncls},) ({ctx})")
    return m, aps.astype(np.float64)


def judge_map(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    inputs = map_inputs(seed)
    eleven = []     # the cases whose AP follows VOC 2007's 11-point rule instead of all points
    all_point = []  # the cases whose AP follows the all-point rule (and differs from 11 points)
    first_fail: list[str] = []

    def check_ap(got, r, p, ctx):
        want, alt = reference_voc_ap(r, p), eleven_point_ap(r, p)
        got = unwrap(got, f"`voc_ap` ({ctx})")
        if isinstance(got, float) and abs(got - want) <= 1e-6:
            if abs(want - alt) > 1e-6:
                all_point.append(ctx)
            return
        if isinstance(got, float) and abs(got - alt) <= 1e-6:
            eleven.append(ctx)
            return
        if isinstance(got, float):
            raise Fail(f"`voc_ap`: got {got:.4f}, expected {want:.4f} ({ctx}){_ap_hint(got, r, p)}")
        expect_number(got, want, "`voc_ap`", 1e-6, ctx)

    hand = out.get("hand") if isinstance(out.get("hand"), list) else []
    for k, (r, p, _) in enumerate(AP_HAND):
        ctx = f"recall {np.round(r, 3).tolist()}, precision {np.round(p, 3).tolist()}"
        with part(ck, "voc_ap by hand", 1.0 / len(AP_HAND), "voc_ap", ctx):
            try:
                check_ap(hand[k] if k < len(hand) else Bad("missing", "no result came back"), r, p, ctx)
            except Fail as e:
                first_fail.append(str(e))
                raise
    pr = out.get("pr") if isinstance(out.get("pr"), list) else []
    for k, (r, p) in enumerate(inputs["pr"]):
        ctx = f"a random ranking of {len(r)} detections"
        with part(ck, "voc_ap random", 1.0 / len(inputs["pr"]), "voc_ap", ctx):
            try:
                check_ap(pr[k] if k < len(pr) else Bad("missing", "no result came back"), r, p, ctx)
            except Fail as e:
                first_fail.append(str(e))
                raise
    fn = "mean_average_precision"
    no_gt = []  # (context, ap_per_class, the classes without non-difficult ground truth)
    for name, (dets, gts, ncls, thr) in inputs["sets"].items():
        refs = {(rule, rule_ap): reference_map(dets, gts, ncls, thr, rule, ap)
                for rule in ("voc", "unmatched") for rule_ap, ap in (("all", reference_voc_ap), ("11", eleven_point_ap))}
        want_m, want_aps = refs[("voc", "all")]
        has_gt = ~np.isnan(want_aps)
        ctx = MAP_CONTEXT[name]
        with part(ck, f"mean_average_precision {name}", MAP_WEIGHTS[name], fn, ctx):
            try:
                m, aps = _map_pair(out.get(name, Bad("missing", "no result came back")), ncls, ctx)
            except Fail as e:
                first_fail.append(str(e))
                raise
            no_gt.append((ctx, aps, np.flatnonzero(~has_gt)))
            match = None
            for key, (rm, raps) in refs.items():
                if np.allclose(aps[has_gt], raps[has_gt], atol=1e-6, rtol=0) and isinstance(m, float) and abs(m - rm) <= 1e-6:
                    match = key
                    break
            if match is not None:
                if match[1] == "11" and not np.allclose(refs[(match[0], "all")][1][has_gt], aps[has_gt], atol=1e-6, rtol=0):
                    eleven.append(ctx)
                elif abs(refs[(match[0], "11")][0] - m) > 1e-6:
                    all_point.append(ctx)
                continue
            bad = [c for c in np.flatnonzero(has_gt)
                   if all(abs(aps[c] - raps[c]) > 1e-6 or np.isnan(aps[c]) for _, raps in refs.values())]
            if bad:
                c = bad[0]
                raise Fail(f"`mean_average_precision`: AP of class {c} is {aps[c]:.4f}, expected {want_aps[c]:.4f} "
                           f"({ctx}){_map_hint(aps, dets, gts, ncls, thr, c)}")
            if not isinstance(m, float) or not abs(m - want_m) <= 1e-6:
                hint = ("; the mean is over the classes that have ground truth only (nanmean)"
                        if isinstance(m, float) and abs(m - np.nansum(want_aps) / ncls) <= 1e-6 else "")
                shown = f"{m:.4f}" if isinstance(m, float) else type(m).__name__
                raise Fail(f"`mean_average_precision`: mAP {shown}, expected {want_m:.4f} = the mean of the per-class "
                           f"APs of the classes with ground truth ({ctx}){hint}")
    with part(ck, "average precision over all points", ALL_POINT_WEIGHT, "voc_ap", "all cases"):
        if eleven:
            raise Fail(f"`voc_ap`: this notebook's AP is VOC's all-point AP (the area under the precision envelope, VOC "
                       f"2010 on); yours is VOC 2007's 11-point AP (the mean of the envelope at recall 0, 0.1, ..., 1) "
                       f"({eleven[0]}{f' and {len(eleven) - 1} more' if len(eleven) > 1 else ''})")
        if not all_point:
            raise Fail(first_fail[0] if first_fail else "`voc_ap`: no AP could be checked")
    with part(ck, "AP of a class without ground truth", NO_GT_WEIGHT, fn, "classes without ground truth"):
        checked = [(ctx, aps, cls) for ctx, aps, cls in no_gt if len(cls)]
        if not checked:
            raise Fail(first_fail[-1] if first_fail else "`mean_average_precision`: no result could be checked")
        for ctx, aps, cls in checked:
            vals = aps[cls]
            if not np.all(np.isnan(vals)):
                c = int(cls[np.flatnonzero(~np.isnan(vals))[0]])
                if aps[c] == -1:
                    raise Fail(f"`mean_average_precision`: class {c} has no ground truth: this notebook reports its AP as "
                               f"nan (and leaves it out of the mean, as the VOC devkit's 0/0 does); yours reports -1, as "
                               f"pycocotools and torchmetrics do ({ctx})")
                raise Fail(f"`mean_average_precision`: class {c} has no (non-difficult) ground truth, so its AP is "
                           f"undefined: report nan (and leave it out of the mean), got {aps[c]:.4g} ({ctx})")


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
