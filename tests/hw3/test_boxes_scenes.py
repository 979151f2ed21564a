"""The offline scene generator and the judges' own references for IoU, NMS and mAP (HW3)."""
from __future__ import annotations

import numpy as np
import pytest

from autograder.hw3 import boxes
from data_scripts.scenes import CLASSES, box_iou_np, make_scene, make_scenes, noisy_detections, perturbed_template, photo


def test_scenes_are_seeded_and_boxes_are_exact():
    for seed in range(6):
        img, b, lab = make_scene(seed)
        img2, b2, lab2 = make_scene(seed)
        assert np.array_equal(img, img2) and np.array_equal(b, b2) and np.array_equal(lab, lab2)
        assert img.dtype == np.uint8 and img.shape == (192, 256, 3)
        assert 2 <= len(b) <= 6 and b.shape == (len(lab), 4)
        assert np.all(b[:, :2] >= 0) and np.all(b[:, 2] <= 256) and np.all(b[:, 3] <= 192)
        assert np.all(b[:, 2] - b[:, 0] >= 20) and np.all(lab >= 0) and np.all(lab < len(CLASSES))
        iou = box_iou_np(b, b)
        assert np.all(iou[~np.eye(len(b), dtype=bool)] <= 0.3 + 1e-9)
    assert not np.array_equal(make_scene(0)[0], make_scene(1)[0])
    assert len(make_scenes(3, seed=1)) == 3


def test_noisy_detections():
    _, b, lab = make_scene(4)
    db, ds, dl = noisy_detections(b, lab, seed=4)
    assert db.shape == (len(ds), 4) and dl.shape == ds.shape
    assert len(np.unique(ds)) == len(ds) and np.all((ds > 0) & (ds < 1))
    assert np.all(db[:, 2] >= db[:, 0]) and np.all(db[:, 3] >= db[:, 1])
    # most objects have a good detection, and there are duplicates to suppress
    best = box_iou_np(b, db).max(axis=1)
    assert np.mean(best > 0.5) >= 0.5 and len(db) > len(b)


def test_box_iou_np_matches_the_judge():
    a, c = boxes.iou_inputs(0)["random"]
    assert np.max(np.abs(box_iou_np(a, c) - boxes.reference_iou(a, c))) < 1e-9


def test_hand_iou_agrees_with_torchvision():
    a, c = boxes.iou_inputs(0)["hand"]
    assert np.max(np.abs(boxes.hand_iou() - boxes.reference_iou(a, c))) < 1e-12


def test_nms_inputs_are_hard_enough():
    """Clusters: NMS removes many boxes, per-class NMS keeps more than NMS over all classes,
    and the lowest-score-first mutant keeps other boxes."""
    inp = boxes.nms_inputs(2024)
    for t in boxes.NMS_THRESHOLDS:
        b, s, thr = inp[f"nms_{t}"]
        kept = boxes.reference_nms(b, s, thr)
        assert 0.05 * len(b) < len(kept) < 0.8 * len(b)
        assert set(kept) != set(boxes.reference_nms(b, -s, thr))
    b, s, lab, thr = inp["batched"]
    assert len(boxes.reference_batched_nms(b, s, lab, thr)) > len(boxes.reference_nms(b, s, thr)) + 20


def test_voc_ap_hand_cases_and_variants():
    for r, p, want in boxes.AP_HAND:
        assert abs(boxes.reference_voc_ap(r, p) - want) < 1e-12
        assert abs(boxes.eleven_point_ap(r, p) - want) > 1e-3


def test_reference_map_on_the_notebook_example():
    gt = [(np.array([[0.0, 0, 10, 10], [20, 20, 30, 30], [0, 20, 10, 30]]), np.array([0, 0, 1]))]
    det = [(np.array([[0.0, 0, 10, 10], [1.0, 0, 10, 10], [50.0, 50, 60, 60], [20.0, 21, 30, 30],
                      [0.0, 20, 10, 30], [0.0, 21, 10, 30]]),
            np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4]), np.array([0, 0, 0, 0, 2, 1]))]
    for rule in ("voc", "unmatched"):
        m, ap = boxes.reference_map(det, gt, 3, 0.5, rule)
        assert abs(ap[0] - 0.75) < 1e-12 and abs(ap[1] - 1) < 1e-12 and np.isnan(ap[2]) and abs(m - 0.875) < 1e-12
    gt_d = [(gt[0][0], gt[0][1], np.array([False, True, False]))]
    m, ap = boxes.reference_map(det, gt_d, 3, 0.5)
    assert abs(ap[0] - 1.0) < 1e-12


@pytest.mark.parametrize("name", ["astronaut", "camera"])
def test_photo_and_templates(name):
    img = photo(name)
    assert img.dtype == np.float32 and img.ndim == 3 and img.shape[2] == 3 and max(img.shape[:2]) == 256
    t, box = perturbed_template(img, np.random.default_rng(0))
    x1, y1, x2, y2 = box
    assert 0 <= x1 < x2 <= img.shape[1] and 0 <= y1 < y2 <= img.shape[0]
    assert t.dtype == np.float32 and t.min() >= 0 and t.max() <= 1
    assert 0.75 <= t.shape[1] / (x2 - x1) <= 1.3
