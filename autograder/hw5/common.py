"""Judge-side helpers of HW5: parts whose failures always name the student's function and
the case, whatever the (possibly hostile) child sent back, and torch on one thread."""
from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable

from ..core import Fail


def unexpected(where: str) -> str:
    return f"{where}: returned a value of an unexpected type or structure, which could not be checked"


@contextlib.contextmanager
def part(ck, name: str, weight: float, where):
    """``ck.part(name, weight)``; an unexpected value (any exception but Fail) fails the part
    with a reason naming ``where`` (the student's function and the case): a str, or a
    one-element list that the caller updates as it goes through the cases."""
    with ck.part(name, weight):
        try:
            yield
        except Fail:
            raise
        except Exception:  # noqa: BLE001  a value so odd that a check broke
            raise Fail(unexpected(where[0] if isinstance(where, list) else where)) from None


def attempt(where: str, fn: Callable, *args, **kwargs) -> tuple[Any, str | None]:
    """Run a check outside a part: (its value, None), or (None, the reason it failed)."""
    try:
        return fn(*args, **kwargs), None
    except Fail as e:
        return None, str(e)
    except Exception:  # noqa: BLE001
        return None, unexpected(where)


def fail_all(ck, parts: list[tuple[str, float]], message: str) -> None:
    """Fail the weight of all ``parts`` at once, with one message."""
    with ck.part(parts[0][0], sum(w for _, w in parts)):
        raise Fail(message)


def one_thread(judge):
    """Decorator: the judge runs torch on one thread, restored afterwards (the same bits as the
    child, and far faster than several threads on tensors this small)."""

    @functools.wraps(judge)
    def wrapped(out, seed, ck):
        import torch

        n = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return judge(out, seed, ck)
        finally:
            torch.set_num_threads(n)

    return wrapped
