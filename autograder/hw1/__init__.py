"""HW1 -- CNN foundations, in NumPy. Items in notebook order."""
from ..core import Assignment
from . import (activations, batchnorm, calculator, conv, conv_max, dropout, folding, identities, metrics, optim, pooling,
               small_cnn)

ITEMS = [
    *batchnorm.ITEMS,      # 18 points (forward 8, backward 10)
    *conv.ITEMS,           # 22 (conv1d 7, conv2d forward 7, conv2d backward 8)
    *pooling.ITEMS,        # 7
    *dropout.ITEMS,        # 10 (dropout variants, dropout-as-regularizer identity)
    *activations.ITEMS,    # 7
    *metrics.ITEMS,        # 5
    *optim.ITEMS,          # 5
    *folding.ITEMS,        # 6
    *calculator.ITEMS,     # 8
    *identities.ITEMS,     # 5 (translation equivariance)
    *small_cnn.ITEMS,      # 5 (002 Q3)
    *conv_max.ITEMS,       # 2 (004 Q4)
]

ASSIGNMENT = Assignment("hw1", "hw1.ipynb", ITEMS, title="CNN foundations")
