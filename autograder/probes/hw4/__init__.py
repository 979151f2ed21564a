"""HW4 probes (dense prediction): item id -> probe function ``probe(ns, seed)``.

The judges are in ``autograder/hw4/``; nothing here may import them. The shared helpers
(training loop, converters, seeded inputs, module inspection) come from the probes'
toolkit, :mod:`autograder.probes.kit`.
"""
from __future__ import annotations

from . import denoise, losses, noisy, resunet, unet

PROBES = {
    "hw4.unet": unet.probe_unet,
    "hw4.colorization": unet.probe_colorization,
    "hw4.dice": losses.probe_dice,
    "hw4.weighted_bce": losses.probe_bce,
    "hw4.resunet_encoder": resunet.probe,
    "hw4.noisy_masks": noisy.probe_noisy,
    "hw4.caries_segmentation": noisy.probe_caries,
    "hw4.denoising_ae": denoise.probe_denoising,
    "hw4.dilated_rf": denoise.probe_dilated,
}
