"""Shared pieces of the HW1 judges. ``field`` and ``matches`` come from the judges' toolkit
(:mod:`autograder.judging`); the probe-side helpers (seeded generators, ``unpack``,
``as_float64``) from the probes' toolkit (:mod:`autograder.probes.kit`)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import core
from ..core import Bad, Fail, unwrap
from ..judging import NO_RESULT, field, matches  # noqa: F401  (the HW1 judges import them from here)

# HW1 is a NumPy homework: while it is graded, the libraries that would do the
# work are out of reach of the student's code (their files are not there at all).
# scipy.ndimage stays: scipy.stats, which HW1 allows, cannot be imported without it.
NUMPY_ONLY = ("torch", "torchvision", "tensorflow", "jax", "keras", "scipy.signal", "sklearn")


def fail_if_bad(got: Any, what: str, context: str) -> None:
    """A Bad (the call raised, or returned no plain data) fails with the case attached."""
    if isinstance(got, Bad):
        raise Fail(got.describe(what) + (f" ({context})" if context else ""))


def expect_array(got: Any, want: np.ndarray, what: str, tol: float = 1e-6, context: str = "") -> np.ndarray:
    """:func:`autograder.core.expect_array`, and a failed call names the case too."""
    fail_if_bad(got, what, context)
    return core.expect_array(got, want, what, tol, context)


def expect_number(got: Any, want: float, what: str, tol: float = 1e-6, context: str = "") -> float:
    fail_if_bad(got, what, context)
    return core.expect_number(got, want, what, tol, context)


def expect_equal(got: Any, want: Any, what: str, context: str = "") -> Any:
    fail_if_bad(got, what, context)
    return core.expect_equal(got, want, what, context)


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
