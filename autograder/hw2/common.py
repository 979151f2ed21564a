"""Judge-side helpers shared by the HW2 judges."""
from __future__ import annotations

import contextlib
from typing import Any

from ..core import Fail


@contextlib.contextmanager
def part(ck, name: str, weight: float, ctx: str):
    """``ck.part(name, weight)`` whose unexpected errors (a result of an odd type or
    structure) fail with a reason that names the student's function and the case."""
    with ck.part(name, weight), checking(ctx):
        yield


def short(v: Any, n: int = 80) -> str:
    """``str(v)``, cut to ``n`` characters (a value from the child may be huge)."""
    try:
        s = str(v)
    except Exception:  # noqa: BLE001
        s = "?"
    return s if len(s) <= n else s[: n - 3] + "..."


@contextlib.contextmanager
def checking(ctx: str):
    """Inside a part: an unexpected error while checking one case fails with a reason
    that names the student's function and that case."""
    try:
        yield
    except Fail:
        raise
    except Exception:  # noqa: BLE001
        raise Fail(f"{ctx}: the result has an unexpected type or structure and could not be checked") from None


def channel_normalization(pairs, tol: float = 1e-4):
    """``pairs``: (img / 255, what an eval transform gave), (3, H, W) each. When every output is
    ``(img / 255 - mean_c) / std_c`` with one plausible (mean, std) per channel other than (0, 1)
    (a Normalize after the conversion: another widely used convention), returns (mean, std);
    otherwise None (values 0-255, say, are a mistake, not a Normalize)."""
    import numpy as np

    if not pairs:
        return None
    mean, std = np.zeros(3), np.ones(3)
    for c in range(3):
        x = np.concatenate([np.asarray(w, dtype=np.float64)[c].ravel() for w, _ in pairs])
        y = np.concatenate([np.asarray(g, dtype=np.float64)[c].ravel() for _, g in pairs])
        if x.size < 2 or float(x.std()) < 1e-6:
            return None
        slope = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
        shift = float(y.mean() - slope * x.mean())
        if not slope > 0 or float(np.max(np.abs(y - (slope * x + shift)))) > tol * max(1.0, float(np.max(np.abs(y)))):
            return None
        mean[c], std[c] = -shift / slope, 1.0 / slope
    if np.allclose(mean, 0, atol=1e-4) and np.allclose(std, 1, atol=1e-4):
        return None
    if not (np.all((mean >= -1e-3) & (mean <= 1 + 1e-3)) and np.all((std >= 0.05) & (std <= 1 + 1e-3))):
        return None
    return mean, std


def undo_normalization(a, norm):
    """``a`` (3, H, W) back to [0, 1] units when the transform normalises (``norm`` = (mean, std))."""
    import numpy as np

    if norm is None:
        return a
    mean, std = norm
    return (a * std[:, None, None] + mean[:, None, None]).astype(np.float32)
