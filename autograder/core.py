"""Graded items, the registry of assignments, and the checks judges use.

An *item* (``hw1.batchnorm_backward``, 10 points) has two halves:

* ``probe(ns, seed)`` runs in the child process, next to the student's code. It
  calls the student's functions (through ``ns``) on inputs it builds from ``seed``
  and returns plain data: numbers, strings, lists, dicts and NumPy arrays.
* ``judge(out, seed, ck)`` runs in the trusted grading process, which never ran
  student code. It rebuilds the same inputs from ``seed``, computes its own
  references (PyTorch autograd, numeric gradients, library calls) and awards
  points part by part through the :class:`Checker` ``ck``.

Nothing the probe returns can make the judge pass unless the values are right.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import re
from typing import Any, Callable

import numpy as np

from .probes import HOMEWORKS
from .probes.runtime import Bad  # noqa: F401  (re-exported: judges read it)

DEFAULT_SEED = 2024


class Fail(Exception):
    """A check failed; the message is shown to the student."""


@dataclasses.dataclass
class Item:
    id: str
    points: float
    functions: tuple[str, ...]
    probe: Callable[..., dict]
    judge: Callable[..., None]
    title: str = ""
    timeout: float = 30.0
    # Modules the student's code may not import while this item runs: the
    # exercise is to write the thing yourself.
    forbid: tuple[str, ...] = ()
    memory_mb: int = 2048
    # Judge side: what the judge sends to the probe (``ns.given`` in the child), e.g.
    # held-out inputs whose labels only the judge knows; ``give(seed) -> plain data``.
    give: Callable[[int], Any] | None = None

    @property
    def short(self) -> str:
        return self.id.split(".", 1)[1]


@dataclasses.dataclass
class Assignment:
    id: str
    notebook: str
    items: list[Item]
    # Where the long runs of the notebook are skipped while grading.
    title: str = ""

    def item(self, item_id: str) -> Item:
        for it in self.items:
            if it.id == item_id or it.short == item_id:
                return it
        raise KeyError(f"no item {item_id!r} in {self.id}")

    @property
    def max_points(self) -> float:
        return float(sum(it.points for it in self.items))


# The homeworks, in order: the one list is autograder.probes.HOMEWORKS (the Makefile asks
# `python -m autograder list --ids`).
ASSIGNMENT_MODULES = {hw: f"autograder.{hw}" for hw in HOMEWORKS}


def get_assignment(name: str) -> Assignment:
    if name not in ASSIGNMENT_MODULES:
        raise KeyError(f"unknown assignment {name!r}; known: {', '.join(sorted(ASSIGNMENT_MODULES))}")
    return importlib.import_module(ASSIGNMENT_MODULES[name]).ASSIGNMENT


def all_assignments() -> list[Assignment]:
    return [get_assignment(n) for n in sorted(ASSIGNMENT_MODULES)]


def held_out_seed(item_id: str, seed: int) -> int:
    """A seed for data only the judge may know (held-out inputs and their labels).

    Derived from the grading seed and the course secret (``COURSE_KIT_SECRET``, or
    the file named by ``COURSE_KIT_SECRET_FILE``), so a student who has read this
    repository cannot regenerate the held-out set; without a secret it falls back to
    a public default (deterministic, but predictable: the README says to set one)."""
    import hashlib
    import hmac
    import os

    secret = os.environ.get("COURSE_KIT_SECRET", "")
    path = os.environ.get("COURSE_KIT_SECRET_FILE", "")
    if not secret and path:
        try:
            with open(path, "rb") as f:
                secret = f.read(4096).decode("utf-8", "replace").strip()
        except OSError:
            secret = ""
    key = (secret or "course-kit-public-default").encode()
    digest = hmac.new(key, f"{item_id}:{int(seed)}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "little")


def find_item(item_id: str) -> Item:
    hw = item_id.split(".", 1)[0]
    return get_assignment(hw).item(item_id)


# --------------------------------------------------------------------------
# Checker: points part by part, with a reason for every part that failed.


class Checker:
    def __init__(self, points: float):
        self.points = float(points)
        self.parts: list[tuple[str, float, bool, str]] = []

    @contextlib.contextmanager
    def part(self, name: str, weight: float = 1.0):
        """``with ck.part("dx", 2): ...`` -- the block passes unless it raises."""
        try:
            yield
        except Fail as e:
            self.parts.append((name, weight, False, str(e)))
        except Exception:  # a value so odd that a comparison broke
            self.parts.append((name, weight, False, f"{name}: your value has an unexpected type or structure and could not be checked"))
        else:
            self.parts.append((name, weight, True, ""))

    def result(self) -> tuple[float, str]:
        total = sum(w for _, w, _, _ in self.parts)
        if total == 0:
            return 0.0, "no check ran"
        got = sum(w for _, w, ok, _ in self.parts if ok)
        pts = round(self.points * got / total, 2)
        # One message per failed part (the first case that failed), so a reason
        # stays one line however many cases a part checks.
        first: dict[str, str] = {}
        more: dict[str, int] = {}
        for name, _, ok, msg in self.parts:
            if ok:
                continue
            if name in first:
                more[name] = more.get(name, 0) + 1
            else:
                first[name] = msg
        if not first:
            return pts, "all checks passed"
        if all("NotImplementedError" in m for m in first.values()):
            names = list(dict.fromkeys(re.findall(r"NotImplementedError in `(\w+)`", " ".join(first.values()))))
            if names:
                return pts, f"not implemented yet: {', '.join(f'`{n}`' for n in names)} raise{'s' if len(names) == 1 else ''} NotImplementedError"
            return pts, "not implemented yet (the function raises NotImplementedError)"
        msgs = [m + (f" (and {more[n]} more case{'s' if more[n] > 1 else ''})" if n in more else "") for n, m in first.items()]
        return pts, "; ".join(msgs)


# --------------------------------------------------------------------------
# Staged comparisons: type, then shape, then values; each with its own message.


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    den = max(float(np.max(np.abs(a) + np.abs(b), initial=0.0)), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0)) / den


def unwrap(value: Any, what: str) -> Any:
    if isinstance(value, Bad):
        raise Fail(value.describe(what))
    return value


def expect_array(got: Any, want: np.ndarray, what: str, tol: float = 1e-6, context: str = "") -> np.ndarray:
    """Type, shape, finiteness and values, each failing with its own message.

    ``tol`` bounds ``max|a-b| / max(|a|+|b|)`` (relative to the largest entry).
    """
    got = unwrap(got, what)
    want = np.asarray(want)
    ctx = f" ({context})" if context else ""
    if isinstance(got, (list, tuple)) or np.isscalar(got):
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise Fail(f"{what}: expected a NumPy array, got {type(got).__name__}")
    if not isinstance(got, np.ndarray):
        raise Fail(f"{what}: expected a NumPy array, got {type(got).__name__}")
    if got.shape != want.shape:
        raise Fail(f"{what}: wrong shape {tuple(got.shape)}, expected {tuple(want.shape)}{ctx}")
    if got.dtype.kind not in "fiub":
        raise Fail(f"{what}: expected a numeric array, got dtype {got.dtype}")
    if not np.all(np.isfinite(got)):
        raise Fail(f"{what}: contains NaN or inf{ctx}")
    err = rel_error(got, want)
    if not err <= tol:
        raise Fail(f"{what}: wrong values, max relative error {err:.1e}{ctx}")
    return got


def expect_number(got: Any, want: float, what: str, tol: float = 1e-6, context: str = "") -> float:
    got = unwrap(got, what)
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.reshape(()).item()
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise Fail(f"{what}: expected a number, got {type(got).__name__}")
    if not np.isfinite(got):
        raise Fail(f"{what}: is {got}")
    ctx = f" ({context})" if context else ""
    if abs(got - want) > tol * max(1.0, abs(want)):
        raise Fail(f"{what}: got {got:.6g}, expected {want:.6g}{ctx}")
    return float(got)


def expect_equal(got: Any, want: Any, what: str, context: str = "") -> Any:
    got = unwrap(got, what)
    if _normalise(got) != _normalise(want):
        ctx = f" ({context})" if context else ""
        raise Fail(f"{what}: got {_short(got)}, expected {_short(want)}{ctx}")
    return got


def _normalise(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return _normalise(v.tolist())
    if isinstance(v, (list, tuple)):
        return tuple(_normalise(x) for x in v)
    if isinstance(v, dict):
        return {k: _normalise(x) for k, x in v.items()}
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _short(v: Any, n: int = 80) -> str:
    s = repr(v)
    return s if len(s) <= n else s[: n - 3] + "..."
