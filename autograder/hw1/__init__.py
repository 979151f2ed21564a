"""HW1 -- CNN foundations, in NumPy. Items in notebook order."""
from ..core import Assignment
from . import activations, batchnorm, calculator, conv, dropout, folding, identities, metrics, optim, pooling

ITEMS = [
    *batchnorm.ITEMS,      # 18 points
    *conv.ITEMS,           # 26
    *pooling.ITEMS,        # 7
    *dropout.ITEMS,        # 10 (dropout variants, dropout-as-regularizer identity)
    *activations.ITEMS,    # 8
    *metrics.ITEMS,        # 5
    *optim.ITEMS,          # 5
    *folding.ITEMS,        # 6
    *calculator.ITEMS,     # 10
    *identities.ITEMS,     # 5 (translation equivariance)
]

ASSIGNMENT = Assignment("hw1", "hw1.ipynb", ITEMS, title="CNN foundations")
