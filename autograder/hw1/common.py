"""Shared pieces of the HW1 graders."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..core import Bad, Fail, unwrap

# HW1 is a NumPy homework: while it is graded, the libraries that would do the
# work are out of reach of the student's code.
NUMPY_ONLY = ("torch", "torchvision", "tensorflow", "jax", "keras", "scipy.signal", "scipy.ndimage", "sklearn")


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """The same generator on both sides (probe and judge) for one seed and case."""
    return np.random.default_rng([seed, *key])


def unpack(value: Any, n: int, what: str) -> tuple:
    """In the probe: split a returned tuple, or give ``n`` Bad values saying why."""
    if isinstance(value, Bad):
        return (value,) * n
    if isinstance(value, (tuple, list)) and len(value) == n:
        return tuple(value)
    got = f"a {type(value).__name__} of length {len(value)}" if isinstance(value, (tuple, list)) else f"a {type(value).__name__}"
    return (Bad("type", f"{got}; {what} should return a tuple of {n} values"),) * n


def as_float64(a: Any) -> Any:
    """In the probe: a copy the student's code cannot change behind our back."""
    return np.array(a, dtype=np.float64, copy=True)


def tensor(a: np.ndarray, grad: bool = False):
    import torch

    t = torch.tensor(np.asarray(a, dtype=np.float64))
    return t.requires_grad_(grad)


def expect_dict(value: Any, keys: list[str], what: str) -> dict:
    value = unwrap(value, what)
    if not isinstance(value, dict):
        raise Fail(f"{what}: expected a dict, got {type(value).__name__}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise Fail(f"{what}: missing key(s) {', '.join(repr(k) for k in missing)}")
    return value
