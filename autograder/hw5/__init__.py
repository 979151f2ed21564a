"""HW5 -- Interpretability and robustness. Items in notebook order."""
from ..core import Assignment
from . import transfer, metrics, cam, adversarial

ITEMS = [
    *transfer.ITEMS,
    *metrics.ITEMS,
    *cam.ITEMS,
    *adversarial.ITEMS,
]

ASSIGNMENT = Assignment("hw5", "hw5.ipynb", ITEMS, title="Interpretability and robustness")
