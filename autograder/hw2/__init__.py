"""HW2 -- image classification with PyTorch. Items in notebook order."""
from ..core import Assignment
from . import catsdogs, centerloss, digits, resnet, resnext

ITEMS = [
    *resnet.ITEMS,      # 14 points: BasicBlock, ResNet for CIFAR-10
    *resnext.ITEMS,     # 16: ResNeXt block (C parallel paths), ResNeXt for CIFAR-100
    *digits.ITEMS,      # 16: labels from file names, 80/20 split, augmentation, trained model
    *catsdogs.ITEMS,    # 8: trained conv / non-linearity / pooling network
    *centerloss.ITEMS,  # 6: center loss and the center update
]

ASSIGNMENT = Assignment("hw2", "hw2.ipynb", ITEMS, title="Image classification")
