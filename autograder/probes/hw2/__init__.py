"""HW2 probes (image classification with PyTorch): item id -> ``probe(ns, seed)``.

torch, torchvision, scikit-learn, ``cnnkit`` and ``data_scripts`` are imported inside
the probe functions only; importing this package needs NumPy alone.
"""
from __future__ import annotations

from . import catsdogs, centerloss, digits, resnet, resnext

PROBES = {
    "hw2.resnet_block": resnet.probe_resnet_block,
    "hw2.resnet_cifar": resnet.probe_resnet_cifar,
    "hw2.resnext_block": resnext.probe_resnext_block,
    "hw2.resnext_cifar": resnext.probe_resnext_cifar,
    "hw2.digits_labels": digits.probe_labels,
    "hw2.digits_split": digits.probe_split,
    "hw2.digits_augment": digits.probe_augment,
    "hw2.digits_model": digits.probe_model,
    "hw2.catsdogs_model": catsdogs.probe_model,
    "hw2.center_loss": centerloss.probe,
}
