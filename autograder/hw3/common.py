"""Judge-side helpers of HW3."""
from __future__ import annotations

import contextlib

from ..core import Checker, Fail


@contextlib.contextmanager
def part(ck: Checker, name: str, weight: float, fn: str, ctx: str):
    """``ck.part`` whose failure on an unexpected value still names the student's function
    ``fn`` and the case ``ctx`` (the Checker's own message knows only the part's name)."""
    with ck.part(name, weight):
        try:
            yield
        except Fail:
            raise
        except Exception:
            raise Fail(f"`{fn}` ({ctx}): the result has an unexpected type or structure and could not be checked") from None
