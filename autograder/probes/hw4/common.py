"""Probe-side helpers shared by the HW4 probes."""
from __future__ import annotations

from typing import Any

import numpy as np


def given_array(given: Any, key: str, rest: tuple, dtype=np.float32, max_n: int = 2000) -> np.ndarray | None:
    """``given[key]`` (what the judge sent) if it is an array of ``dtype`` and shape
    ``(n, *rest)`` with ``1 <= n <= max_n``, else None."""
    a = given.get(key) if isinstance(given, dict) else None
    if not isinstance(a, np.ndarray) or a.dtype != np.dtype(dtype) or a.ndim != 1 + len(rest) \
            or tuple(a.shape[1:]) != tuple(rest) or not 1 <= a.shape[0] <= max_n:
        return None
    return a.copy()
