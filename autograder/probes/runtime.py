"""What a probe may use: the student's namespace, and ``Bad`` for a value the
student's code did not produce properly.

This module is imported by the probe server (:mod:`autograder.probe_server`), the
process whose forked children run student code. It and everything under
``autograder/probes/`` must stay free of judges, references and expected values:
NumPy and the standard library at import time, nothing else (a probe imports torch
inside its function, where the exercise allows torch).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

# Modules the running item forbids (set in the child before student code runs); only
# used to word an ImportError, the ban itself is what the child can see on disk.
FORBIDDEN: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Bad:
    """Stands in for a value the student's code did not produce properly.

    ``kind`` is ``"error"`` (the call raised), ``"type"`` (the value could not be
    turned into plain data) or ``"missing"``.
    """

    kind: str
    message: str

    def describe(self, what: str) -> str:
        if self.kind == "error":
            return f"{what}: the call raised {self.message}"
        if self.kind == "type":
            return f"{what}: returned {self.message}, which is not plain data (numbers, lists, NumPy arrays)"
        return f"{what}: {self.message}"


class MissingFunction(Exception):
    pass


def is_forbidden(fullname: str) -> bool:
    return any(fullname == n or fullname.startswith(n + ".") for n in FORBIDDEN)


def error_text(e: BaseException) -> str:
    """One line about an exception raised by student code (no traceback, no paths)."""
    if isinstance(e, ImportError) and is_forbidden(getattr(e, "name", None) or ""):
        return f"ImportError: `{e.name}` is not allowed in this exercise: write it yourself"
    try:
        text = str(e).strip()
    except BaseException:  # a hostile __str__
        text = ""
    msg = text.splitlines()[0][:200] if text else ""
    name = type(e).__name__
    return f"{name}: {msg}" if msg else name


class Namespace:
    """What the probe uses to reach the student's code.

    ``given`` holds what the judge sent for this item (held-out inputs, never their
    labels), or None."""

    def __init__(self, globals_: dict, given: Any = None):
        self.globals = globals_
        self.given = given

    def get(self, name: str) -> Any:
        if name not in self.globals:
            raise MissingFunction(name)
        return self.globals[name]

    def call(self, name: str, *args, **kwargs) -> Any:
        """Call the student's ``name``; an exception comes back as a ``Bad`` that
        names the function."""
        try:
            fn = self.get(name)
        except MissingFunction:
            return Bad("missing", f"`{name}` is not defined")
        for a in list(args) + list(kwargs.values()):
            if isinstance(a, Bad):  # an earlier call failed: its result cannot be fed to this one
                if "NotImplementedError" in a.message:
                    return a
                return Bad("missing", f"`{name}` was not run, because an earlier call failed ({a.message})")
        return self.guard(fn, *args, _name=name, **kwargs)

    @staticmethod
    def guard(fn: Callable, *args, _name: str | None = None, **kwargs) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotImplementedError:
            where = f" in `{_name}`" if _name else ""
            return Bad("error", f"NotImplementedError{where} (not implemented yet)")
        except BaseException as e:  # SystemExit and KeyboardInterrupt included
            where = f" in `{_name}`" if _name else ""
            return Bad("error", error_text(e) + where)
