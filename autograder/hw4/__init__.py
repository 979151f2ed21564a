"""HW4 -- Dense prediction. Items in notebook order."""
from ..core import Assignment
from . import denoise, losses, noisy, resunet, unet

ITEMS = [
    *unet.ITEMS,      # U-Net for colorization
    *losses.ITEMS,    # Dice, soft Dice loss, weighted BCE
    *resunet.ITEMS,   # the ResUNet residual encoder
    *noisy.ITEMS,     # noisy masks, the grader-trained caries segmenter
    *denoise.ITEMS,   # denoising autoencoder, dilated receptive field
]

ASSIGNMENT = Assignment("hw4", "hw4.ipynb", ITEMS, title="Dense prediction")
