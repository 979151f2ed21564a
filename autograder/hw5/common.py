"""Judge-side helpers of HW5 alone. The shared ones (parts whose failures name the student's
function and the case, ``attempt``, ``one_thread``, the channel normalization) live in
:mod:`autograder.judging`; the names the CAM judge imports from here are re-exported."""
from __future__ import annotations

import numpy as np

from ..judging import attempt, one_thread, part  # noqa: F401  (cam.py imports them from here, for now)


def positive_affine_of(got, base, tol: float = 1e-4) -> bool:
    """Whether every map of ``got`` is ``a * map + b`` (a > 0) of the same map of ``base``: the
    same map up to the scaling that differs between widely used conventions (min-max or divided
    by the maximum, before or after the upsampling, which is linear). Maps are the last two axes.
    A constant map of ``base`` must give a constant map."""
    got = np.asarray(got, dtype=np.float64)
    base = np.asarray(base, dtype=np.float64)
    if got.shape != base.shape or got.ndim < 2:
        return False
    g2 = got.reshape(-1, got.shape[-2] * got.shape[-1])
    b2 = base.reshape(g2.shape)
    for g, b in zip(g2, b2):
        if not np.all(np.isfinite(g)):
            return False
        span = max(float(g.max() - g.min()), 1e-12)
        bc, gc = b - b.mean(), g - g.mean()
        if float(np.max(np.abs(bc))) <= 1e-12 * max(1.0, float(np.max(np.abs(b)))):
            if float(np.max(np.abs(gc))) > tol * max(1.0, float(np.max(np.abs(g)))):
                return False
            continue
        a = float((gc * bc).sum() / (bc * bc).sum())
        if not a > 0 or float(np.max(np.abs(gc - a * bc))) > tol * span:
            return False
    return True
