"""Shared pieces of the HW1 judges (the probe-side helpers, ``rng_for``, ``unpack``
and ``as_float64``, live in :mod:`autograder.probes.hw1.common`)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import core
from ..core import Bad, Fail, unwrap

# HW1 is a NumPy homework: while it is graded, the libraries that would do the
# work are out of reach of the student's code (their files are not there at all).
# scipy.ndimage stays: scipy.stats, which HW1 allows, cannot be imported without it.
NUMPY_ONLY = ("torch", "torchvision", "tensorflow", "jax", "keras", "scipy.signal", "sklearn")

NO_RESULT = Bad("missing", "no result")


def field(container: Any, key: Any) -> Any:
    """``container[key]`` from what the probe returned, whatever it is: a Bad passes
    through (it says what went wrong), anything else that is not a dict holding
    ``key`` gives a Bad "no result". Never raises."""
    if isinstance(container, Bad):
        return container
    if isinstance(container, dict):
        try:
            return container.get(key, NO_RESULT)
        except TypeError:
            return NO_RESULT
    return NO_RESULT


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


def matches(got: Any, want: Any, tol: float = 1e-6) -> bool:
    """Whether the student's value equals ``want`` to ``tol`` (relative to the largest
    entry), as numbers of the same shape; never raises. For recognizing which
    convention a wrong value follows, so that its reason can name it."""
    try:
        if isinstance(got, (Bad, bool, str, bytes, dict)) or got is None:
            return False
        g = np.asarray(got)
        if g.dtype.kind not in "fiub":  # strings, objects, complex numbers: not a match
            return False
        g = g.astype(np.float64)
        w = np.asarray(want, dtype=np.float64)
        return g.shape == w.shape and bool(np.all(np.isfinite(g))) and core.rel_error(g, w) <= tol
    except Exception:  # noqa: BLE001 -- anything odd is simply "not equal"
        return False
