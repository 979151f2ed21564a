"""Seeded generators: one generator per (seed, case key), the same in the probe and the
judge, so that both sides build identical inputs."""
from __future__ import annotations

import numpy as np


def rng(*key) -> np.random.Generator:
    """``np.random.default_rng`` of the integers in ``key`` (the grading seed first, then
    the item's and the case's numbers)."""
    return np.random.default_rng([int(k) for k in key])


def normal(shape, *key, scale: float = 1.0, dtype=np.float32) -> np.ndarray:
    """Standard normal values (times ``scale``) of ``shape`` from :func:`rng` of ``key``."""
    return rng(*key).normal(0.0, scale, shape).astype(dtype)
