"""Judge-side helpers of HW3 (the shared ones live in :mod:`autograder.judging`)."""
from __future__ import annotations

from ..core import Checker
from ..judging import part as _part


def part(ck: Checker, name: str, weight: float, fn: str, ctx: str):
    """``ck.part`` whose failure on an unexpected value still names the student's function
    ``fn`` and the case ``ctx`` (the Checker's own message knows only the part's name)."""
    return _part(ck, name, weight, f"`{fn}` ({ctx})")
