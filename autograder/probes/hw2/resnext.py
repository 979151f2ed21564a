"""Probe half of the ResNeXt items (hw2.resnext_block, hw2.resnext_cifar).

The same look at the student's modules as the ResNet probes (``probe_block`` and
``probe_net`` of :mod:`autograder.probes.hw2.resnet`): the block's layers and weights,
its outputs in train and eval mode and with the residual branch zeroed, and every kxk
conv run alone on a fixed input; the judge splits that conv into its C paths.
"""
from __future__ import annotations

from .resnet import _guarded, probe_block, probe_net

# (in, out, cardinality, bottleneck_width, stride, input shape). Cardinality != bottleneck
# width everywhere, so that groups=bottleneck_width cannot pass by accident.
# The notebook shows (64, 64, 8, 4) and (64, 128, 8, 8, stride 2) on 32x32.
BLOCK_CASES = [
    (16, 16, 4, 2, 1, (2, 16, 8, 8)),      # identity shortcut, D = 8
    (8, 24, 2, 6, 2, (2, 8, 9, 7)),        # projection, odd sizes, D = 12
    (12, 20, 8, 3, 1, (2, 12, 6, 6)),      # projection from the channels alone, D = 24
    (24, 24, 3, 4, 2, (2, 24, 10, 10)),    # projection from the stride alone, D = 12
    (32, 32, 8, 2, 1, (1, 32, 5, 5)),      # identity, batch of one, D = 16
]
BLOCK_KEY = 20

NET_CASES = [
    ({}, [(2, 3, 32, 32), (1, 3, 24, 40)]),
    ({"num_blocks": (1, 2, 1), "cardinality": 4, "bottleneck_width": 2, "num_classes": 10, "width": 16},
     [(2, 3, 32, 32), (2, 3, 20, 28)]),
    ({"num_blocks": (2, 1, 1), "cardinality": 2, "bottleneck_width": 3, "num_classes": 100, "width": 8},
     [(3, 3, 16, 16)]),
    ({"num_blocks": (1, 1, 2), "cardinality": 6, "bottleneck_width": 1, "num_classes": 20, "width": 12},
     [(2, 3, 24, 24)]),
]
NET_KEY = 21


def probe_resnext_block(ns, seed):
    out = {}
    for case, (cin, cout, c, d, stride, xshape) in enumerate(BLOCK_CASES):
        out[case] = _guarded(lambda: probe_block(ns, "ResNeXtBlock", (cin, cout, c, d, stride), xshape, seed,
                                                 BLOCK_KEY, case), "run the block")
    return out


def probe_resnext_cifar(ns, seed):
    out = {}
    for case, (kwargs, sizes) in enumerate(NET_CASES):
        out[case] = _guarded(lambda: probe_net(ns, "ResNeXtCIFAR", kwargs, sizes, seed, NET_KEY, case),
                             "run the network")
    return out
