"""Probe-side helpers of HW1 (NumPy only: torch is invisible to HW1's children)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..runtime import Bad


def rng_for(seed: int, *key: int) -> np.random.Generator:
    """The same generator on both sides (probe and judge) for one seed and case."""
    return np.random.default_rng([seed, *key])


def unpack(value: Any, n: int, what: str) -> tuple:
    """Split a returned tuple, or give ``n`` Bad values saying why."""
    if isinstance(value, Bad):
        return (value,) * n
    if isinstance(value, (tuple, list)) and len(value) == n:
        return tuple(value)
    got = (f"a {type(value).__name__} of length {len(value)}" if isinstance(value, (tuple, list))
           else f"a value of type {type(value).__name__}")
    return (Bad("missing", f"`{what}` returned {got}, not a tuple of {n} values"),) * n


def as_float64(a: Any) -> Any:
    """A copy the student's code cannot change behind our back."""
    return np.array(a, dtype=np.float64, copy=True)
