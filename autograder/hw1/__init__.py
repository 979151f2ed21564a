"""HW1 -- CNN foundations, in NumPy. Items in notebook order."""
from ..core import Assignment
from . import batchnorm

ITEMS = [*batchnorm.ITEMS]

ASSIGNMENT = Assignment("hw1", "hw1.ipynb", ITEMS, title="CNN foundations")
