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
