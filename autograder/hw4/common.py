"""Small helpers shared by the HW4 judges."""
from __future__ import annotations

from typing import Any


def short(v: Any, n: int = 80) -> str:
    """``repr(v)`` cut to ``n`` characters (a hostile value can be anything, of any size)."""
    try:
        s = repr(v)
    except Exception:  # a value whose repr fails
        s = f"a {type(v).__name__}"
    return s if len(s) <= n else s[: n - 3] + "..."
