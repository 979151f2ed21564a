"""Sanity checks students run in the notebooks (not the graders)."""
from __future__ import annotations

from typing import Callable

import numpy as np


def rel_error(a, b) -> float:
    """``max|a-b| / max(|a|+|b|)``: about 1e-8 or less means "equal" in float64."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    den = max(float(np.max(np.abs(a) + np.abs(b), initial=0.0)), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0)) / den


def numeric_gradient(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray | None = None,
                     h: float = 1e-5) -> np.ndarray:
    """Central differences of ``sum(f(x) * dout)`` with respect to ``x``.

    ``x`` must be float64. ``f`` may return an array; ``dout`` is the upstream
    gradient (use a random one: all ones can hide bugs). ``x`` is restored.
    """
    x = np.asarray(x)
    if x.dtype != np.float64:
        raise TypeError("numeric_gradient needs a float64 array")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        up = np.asarray(f(x), dtype=np.float64)
        x[i] = old - h
        down = np.asarray(f(x), dtype=np.float64)
        x[i] = old
        d = up - down
        grad[i] = np.sum(d * (1.0 if dout is None else dout)) / (2 * h)
        it.iternext()
    return grad


def show_check(name: str, error: float, tol: float = 1e-7) -> None:
    """Print one line: the check's name, its error and whether it is small enough.

    Returns nothing, so that a sanity cell ending with it shows only its PASS/FAIL line."""
    ok = bool(error <= tol)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: relative error {error:.2e} (want <= {tol:.0e})")


def pass_fail(name: str, ok, detail: str = "") -> None:
    """Print one PASS/FAIL line (the detail only when it fails). Returns nothing."""
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + ("" if ok or not detail else f"  <- {detail}"))
