"""HW3 probes (detection and matching): item id -> ``probe(ns, seed)``."""
from __future__ import annotations

from . import boxes, matching, yolo

PROBES = {
    "hw3.tiny_yolo": yolo.probe_tiny_yolo,
    "hw3.darknet_weights": yolo.probe_darknet_weights,
    "hw3.decode": yolo.probe_decode,
    "hw3.draw_boxes": yolo.probe_draw_boxes,
    "hw3.iou": boxes.probe_iou,
    "hw3.nms": boxes.probe_nms,
    "hw3.mean_ap": boxes.probe_map,
    "hw3.template_matching": matching.probe,
}
