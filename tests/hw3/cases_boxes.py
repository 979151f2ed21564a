"""Mutants and alternative correct solutions for IoU, filtering/NMS and mAP (HW3, 000 P3).

Each cell is appended after the reference cells, so a mutant redefines only the function it
gets wrong and keeps the reference for the others.
"""

MUTANTS = {
    "hw3.iou": {
        "the old +1 pixel convention": '''
def box_iou(boxes1, boxes2):
    area1 = (boxes1[:, 2] - boxes1[:, 0] + 1) * (boxes1[:, 3] - boxes1[:, 1] + 1)
    area2 = (boxes2[:, 2] - boxes2[:, 0] + 1) * (boxes2[:, 3] - boxes2[:, 1] + 1)
    lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (rb - lt + 1).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area1[:, None] + area2[None, :] - inter)
''',
        "no clamp: a negative width times a negative height": '''
def box_iou(boxes1, boxes2):
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = rb - lt
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    return torch.where(union > 0, inter / union, torch.zeros_like(inter))
''',
        "union = area1 + area2 (intersection counted twice)": '''
def box_iou(boxes1, boxes2):
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :]
    return torch.where(union > 0, inter / union, torch.zeros_like(inter))
''',
        "plain division: NaN for two zero-area boxes": '''
def box_iou(boxes1, boxes2):
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    rb = torch.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area1[:, None] + area2[None, :] - inter)
''',
        "rows stacked in a loop: fails for N = 0": '''
def box_iou(boxes1, boxes2):
    rows = []
    for b in boxes1:
        w = (torch.minimum(b[2], boxes2[:, 2]) - torch.maximum(b[0], boxes2[:, 0])).clamp(min=0)
        h = (torch.minimum(b[3], boxes2[:, 3]) - torch.maximum(b[1], boxes2[:, 1])).clamp(min=0)
        inter = w * h
        union = (b[2] - b[0]) * (b[3] - b[1]) + (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1]) - inter
        rows.append(torch.where(union > 0, inter / union, torch.zeros_like(inter)))
    return torch.stack(rows)
''',
        "calls torchvision.ops.box_iou (not allowed)": '''
def box_iou(boxes1, boxes2):
    import torchvision
    return torchvision.ops.box_iou(boxes1, boxes2).nan_to_num(0.0)
''',
        "returns a NumPy array": '''
_box_iou_ref = box_iou
def box_iou(boxes1, boxes2):
    return _box_iou_ref(boxes1, boxes2).numpy()
''',
    },
    "hw3.nms": {
        "batched_nms not per class (plain NMS over all boxes)": '''
def batched_nms(boxes, scores, labels, iou_threshold):
    return nms(boxes, scores, iou_threshold)
''',
        "nms keeps the lower score of a pair (ascending order)": '''
def nms(boxes, scores, iou_threshold):
    order = torch.argsort(scores)
    keep = []
    while order.numel() > 0:
        best = order[0]
        keep.append(int(best))
        ious = box_iou(boxes[best][None], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    keep = torch.tensor(keep, dtype=torch.long)
    return keep[torch.argsort(scores[keep], descending=True)] if len(keep) else keep
''',
        "nms removes boxes with IoU >= the threshold": '''
def nms(boxes, scores, iou_threshold):
    order = torch.argsort(scores, descending=True)
    keep = []
    while order.numel() > 0:
        best = order[0]
        keep.append(int(best))
        ious = box_iou(boxes[best][None], boxes[order[1:]])[0]
        order = order[1:][ious < iou_threshold]
    return torch.tensor(keep, dtype=torch.long)
''',
        "nms returns the kept indices in index order, not by score": '''
_nms_ref = nms
def nms(boxes, scores, iou_threshold):
    return torch.sort(_nms_ref(boxes, scores, iou_threshold)).values
''',
        "batched_nms: classes one after the other, not sorted by score": '''
def batched_nms(boxes, scores, labels, iou_threshold):
    kept = [torch.zeros(0, dtype=torch.long)]
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        kept.append(idx[nms(boxes[idx], scores[idx], iou_threshold)])
    return torch.cat(kept)
''',
        "filter_boxes scores with the objectness alone": '''
def filter_boxes(boxes, objectness, class_probs, conf_threshold):
    labels = class_probs.argmax(dim=1)
    keep = objectness >= conf_threshold
    return boxes[keep], objectness[keep], labels[keep]
''',
        "filter_boxes keeps score > threshold (drops the equal ones)": '''
def filter_boxes(boxes, objectness, class_probs, conf_threshold):
    best, labels = class_probs.max(dim=1)
    scores = objectness * best
    keep = scores > conf_threshold
    return boxes[keep], scores[keep], labels[keep]
''',
        "nms calls torchvision (not allowed)": '''
def nms(boxes, scores, iou_threshold):
    import torchvision
    return torchvision.ops.nms(boxes, scores, iou_threshold)
''',
    },
    "hw3.mean_ap": {
        "VOC 2007's 11-point AP": '''
def voc_ap(recall, precision):
    recall, precision = np.asarray(recall), np.asarray(precision)
    return float(np.mean([precision[recall >= t].max() if (recall >= t).any() else 0.0 for t in np.linspace(0, 1, 11)]))
''',
        "no precision envelope": '''
def voc_ap(recall, precision):
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[0.0], precision, [0.0]])
    i = np.flatnonzero(r[1:] != r[:-1])
    return float(np.sum((r[i + 1] - r[i]) * p[i + 1]))
''',
        "duplicates counted as true positives": '''
def mean_average_precision(detections, ground_truths, num_classes, iou_threshold=0.5):
    ap = np.full(num_classes, np.nan)
    for c in range(num_classes):
        dets = sorted([(float(s), i, b) for i, (bx, sc, lb) in enumerate(detections)
                       for b, s, l in zip(np.asarray(bx).reshape(-1, 4), sc, lb) if l == c], key=lambda d: -d[0])
        n_pos = sum(int((np.asarray(g[1]) == c).sum()) for g in ground_truths)
        if n_pos == 0:
            continue
        tp = []
        for _, i, b in dets:
            gb = np.asarray(ground_truths[i][0]).reshape(-1, 4)[np.asarray(ground_truths[i][1]) == c]
            ok = len(gb) > 0 and float(box_iou(torch.tensor(b[None]), torch.tensor(gb)).max()) > iou_threshold
            tp.append(1.0 if ok else 0.0)
        tp = np.cumsum(tp)
        ap[c] = voc_ap(tp / n_pos, tp / np.arange(1, len(tp) + 1))
    return float(np.nanmean(ap)), ap
''',
        "mean over all classes (0 for a class without ground truth)": '''
_map_ref = mean_average_precision
def mean_average_precision(detections, ground_truths, num_classes, iou_threshold=0.5):
    m, ap = _map_ref(detections, ground_truths, num_classes, iou_threshold)
    ap = np.nan_to_num(ap, nan=0.0)
    return float(ap.mean()), ap
''',
        "difficult objects counted as normal ones": '''
_map_ref = mean_average_precision
def mean_average_precision(detections, ground_truths, num_classes, iou_threshold=0.5):
    return _map_ref(detections, [(g[0], g[1]) for g in ground_truths], num_classes, iou_threshold)
''',
        "detections visited by increasing score": '''
_map_ref = mean_average_precision
def mean_average_precision(detections, ground_truths, num_classes, iou_threshold=0.5):
    return _map_ref([(b, -np.asarray(s), l) for b, s, l in detections], ground_truths, num_classes, iou_threshold)
''',
        "IoU threshold ignored (always 0.5)": '''
_map_ref = mean_average_precision
def mean_average_precision(detections, ground_truths, num_classes, iou_threshold=0.5):
    return _map_ref(detections, ground_truths, num_classes, 0.5)
''',
    },
}

ALTERNATIVES = {
    "hw3.iou": {
        "a loop over rows with an empty-safe result, in float64": '''
def box_iou(boxes1, boxes2):
    out = torch.zeros(len(boxes1), len(boxes2), dtype=boxes1.dtype)
    b1, b2 = boxes1.double(), boxes2.double()
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    for i in range(len(b1)):
        x1, y1, x2, y2 = b1[i]
        w = (torch.minimum(x2, b2[:, 2]) - torch.maximum(x1, b2[:, 0])).clamp(min=0)
        h = (torch.minimum(y2, b2[:, 3]) - torch.maximum(y1, b2[:, 1])).clamp(min=0)
        inter = w * h
        union = (x2 - x1) * (y2 - y1) + area2 - inter
        iou = inter / torch.where(union > 0, union, torch.ones_like(union))
        out[i] = iou.to(out.dtype)
    return out
''',
        "unbind and nan_to_num": '''
def box_iou(boxes1, boxes2):
    ax1, ay1, ax2, ay2 = [t[:, None] for t in boxes1.unbind(1)]
    bx1, by1, bx2, by2 = [t[None, :] for t in boxes2.unbind(1)]
    iw = (torch.min(ax2, bx2) - torch.max(ax1, bx1)).clamp(min=0)
    ih = (torch.min(ay2, by2) - torch.max(ay1, by1)).clamp(min=0)
    inter = iw * ih
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return torch.nan_to_num(inter / union, nan=0.0)
''',
    },
    "hw3.nms": {
        "IoU matrix once, a boolean 'suppressed' vector; batched by coordinate offsets; torch.where filter": '''
def nms(boxes, scores, iou_threshold):
    order = scores.argsort(descending=True)
    ious = box_iou(boxes[order], boxes[order])
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(order[i].item())
        suppressed |= ious[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.int64)

def batched_nms(boxes, scores, labels, iou_threshold):
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64)
    shift = labels.to(boxes.dtype) * (boxes.max() + 1)
    return nms(boxes + shift[:, None], scores, iou_threshold)

def filter_boxes(boxes, objectness, class_probs, conf_threshold):
    conf = objectness[:, None] * class_probs
    scores, labels = conf.max(dim=1)
    idx = torch.where(scores >= conf_threshold)[0]
    return boxes[idx], scores[idx], labels[idx]
''',
    },
    "hw3.mean_ap": {
        "best unmatched ground truth, loops, a Python-loop envelope": '''
def voc_ap(recall, precision):
    r = [0.0] + list(map(float, recall)) + [1.0]
    p = [0.0] + list(map(float, precision)) + [0.0]
    for i in range(len(p) - 2, -1, -1):
        p[i] = max(p[i], p[i + 1])
    return sum((r[i + 1] - r[i]) * p[i + 1] for i in range(len(r) - 1))

def _iou1(b, g):
    iw = np.clip(np.minimum(b[2], g[:, 2]) - np.maximum(b[0], g[:, 0]), 0, None)
    ih = np.clip(np.minimum(b[3], g[:, 3]) - np.maximum(b[1], g[:, 1]), 0, None)
    inter = iw * ih
    union = (b[2] - b[0]) * (b[3] - b[1]) + (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0)

def mean_average_precision(detections, ground_truths, num_classes, iou_threshold=0.5):
    aps = []
    for c in range(num_classes):
        items = []
        for img, (b, s, l) in enumerate(detections):
            for k in range(len(s)):
                if l[k] == c:
                    items.append((s[k], img, np.asarray(b[k], dtype=float)))
        items.sort(key=lambda t: t[0], reverse=True)
        used = {}
        npos = 0
        for img, g in enumerate(ground_truths):
            diff = g[2] if len(g) == 3 else np.zeros(len(g[1]), bool)
            npos += sum(1 for k in range(len(g[1])) if g[1][k] == c and not diff[k])
            used[img] = set()
        if npos == 0:
            aps.append(float("nan"))
            continue
        tps, fps = [], []
        for s, img, b in items:
            g = ground_truths[img]
            diff = g[2] if len(g) == 3 else np.zeros(len(g[1]), bool)
            cand = [k for k in range(len(g[1])) if g[1][k] == c and k not in used[img]]
            best, best_iou = None, 0.0
            if cand:
                ious = _iou1(b, np.asarray(g[0], dtype=float).reshape(-1, 4)[cand])
                best, best_iou = cand[int(np.argmax(ious))], float(np.max(ious))
            if best is not None and best_iou > iou_threshold:
                if diff[best]:
                    continue
                used[img].add(best)
                tps.append(1); fps.append(0)
            else:
                tps.append(0); fps.append(1)
        tp, fp = np.cumsum(tps), np.cumsum(fps)
        aps.append(voc_ap(tp / npos, tp / np.maximum(tp + fp, 1)))
    aps = np.array(aps)
    return float(np.nanmean(aps)), aps
''',
    },
}

# Correct solutions written to another widely used convention: each must lose only the small
# part where that convention differs from the notebook's, with a reason that names it.
CONVENTIONS = {
    "hw3.iou": {
        "torchvision.ops.box_iou: 0/0 = nan for two zero-area boxes": {
            "code": '''
def box_iou(boxes1, boxes2):
    # torchvision's formula: no guard, so two empty boxes give inter / union = 0 / 0 = nan
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    top_left = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    bottom_right = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area1[:, None] + area2 - inter)
''',
            "loses": 0.5, "says": "torchvision"},
    },
    "hw3.nms": {
        "IoU >= threshold suppresses (the Soft-NMS paper's NMS pseudocode)": {
            "code": '''
def nms(boxes, scores, iou_threshold):
    # Bodla et al. 2017, Algorithm 1: a box goes when iou(M, b_i) >= N_t
    remaining = torch.argsort(scores, descending=True)
    kept = []
    while len(remaining):
        m = remaining[0]
        kept.append(int(m))
        rest = remaining[1:]
        overlap = box_iou(boxes[m].unsqueeze(0), boxes[rest]).squeeze(0)
        remaining = rest[overlap < iou_threshold]
    return torch.tensor(kept, dtype=torch.long)
''',
            "loses": 0.7, "says": "Soft-NMS"},
        "darknet keeps only scores > thresh": {
            "code": '''
def filter_boxes(boxes, objectness, class_probs, conf_threshold):
    # darknet: a detection is drawn when prob > thresh (strict)
    score, label = (objectness.unsqueeze(1) * class_probs).max(dim=1)
    mask = score > conf_threshold
    return boxes[mask], score[mask], label[mask]
''',
            "loses": 0.5, "says": "darknet"},
    },
    "hw3.mean_ap": {
        "VOC 2007's 11-point interpolated AP": {
            "code": '''
def voc_ap(recall, precision):
    # VOC 2007 devkit: the mean, over recall levels 0, 0.1, ..., 1, of the largest precision
    # at a recall >= that level (0 when no point reaches it)
    recall, precision = np.asarray(recall, dtype=float), np.asarray(precision, dtype=float)
    total = 0.0
    for level in np.arange(11) / 10:
        reached = precision[recall >= level]
        total += reached.max() if reached.size else 0.0
    return float(total / 11)
''',
            "loses": 0.6, "says": "11-point"},
        "pycocotools: AP -1 for a class without ground truth, left out of the mean": {
            "code": '''
_map_nan = mean_average_precision
def mean_average_precision(detections, ground_truths, num_classes, iou_threshold=0.5):
    # COCOeval marks a category without ground truth with -1 and averages over the others
    _, ap = _map_nan(detections, ground_truths, num_classes, iou_threshold)
    ap = np.where(np.isnan(ap), -1.0, ap)
    valid = ap > -1
    return (float(ap[valid].mean()) if valid.any() else float("nan")), ap
''',
            "loses": 0.5, "says": "pycocotools"},
    },
}
