"""HW3 -- Detection and matching. Items in notebook order."""
from ..core import Assignment
from . import yolo, boxes, matching

ITEMS = [
    *yolo.ITEMS,
    *boxes.ITEMS,
    *matching.ITEMS,
]

ASSIGNMENT = Assignment("hw3", "hw3.ipynb", ITEMS, title="Detection and matching")
