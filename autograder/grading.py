"""Grade a notebook (or a list of code cells) item by item.

For each item: fork a child (see :mod:`autograder.sandbox`) that loads the
student's definitions and runs the item's probe; then, in this process, which
never executed student code, run the item's judge on what came back.
"""
from __future__ import annotations

import dataclasses
import os
import time
import traceback
from pathlib import Path

from . import notebook as nbmod
from .core import DEFAULT_SEED, Assignment, Bad, Checker, Item, get_assignment
from .sandbox import MissingFunction, Namespace, forbid_modules, load_definitions, run_child, seed_everything


def _prepare_parent() -> None:
    """Pin threads (determinism, fork safety) and import once, in the parent, what
    notebooks import anyway, so that forked children do not pay for it per item."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        import matplotlib.pyplot  # noqa: F401
        import cnnkit  # noqa: F401
    except ImportError:
        pass
    try:
        import torch

        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    except ImportError:
        pass


@dataclasses.dataclass
class ItemResult:
    id: str
    points: float
    max_points: float
    reason: str
    seconds: float = 0.0
    grader_error: bool = False
    load_notes: tuple = ()

    def as_dict(self) -> dict:
        return {"id": self.id, "points": self.points, "max_points": self.max_points, "reason": self.reason}


@dataclasses.dataclass
class Report:
    assignment: str
    items: list[ItemResult]
    manual: list[dict]
    notes: list[str]
    seconds: float

    @property
    def total(self) -> float:
        return round(sum(r.points for r in self.items), 2)

    @property
    def max(self) -> float:
        return round(sum(r.max_points for r in self.items), 2)

    def as_dict(self) -> dict:
        return {
            "assignment": self.assignment,
            "total": self.total,
            "max": self.max,
            "items": [r.as_dict() for r in self.items],
            "manual": self.manual,
            "notes": self.notes,
        }

    def item(self, item_id: str) -> ItemResult:
        for r in self.items:
            if r.id == item_id or r.id.split(".", 1)[1] == item_id:
                return r
        raise KeyError(item_id)


def _first_problem(problems: list[str], names: tuple[str, ...]) -> str:
    """A load problem that may explain why ``names`` are missing."""
    return f" ({problems[0]})" if problems else ""


def _probe_of(item: Item):
    """The item's probe, from the probe registry (what the probe server runs)."""
    from .probes import registry

    return registry().get(item.id, item.probe)


def grade_item(item: Item, extracted: nbmod.Extracted, seed: int = DEFAULT_SEED) -> ItemResult:
    defined = extracted.defined()
    missing = [f for f in item.functions if f not in defined]
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        hint = _first_problem(extracted.problems, item.functions)
        return ItemResult(item.id, 0.0, item.points, f"{item.short}: {names} not found in the notebook (renamed or deleted?){hint}")

    probe = _probe_of(item)
    given = item.give(seed) if item.give else None

    def body() -> dict:
        forbid_modules(item.forbid)
        namespace: dict = {"__name__": "__submission__"}
        problems = load_definitions(extracted.snippets, namespace)
        seed_everything(seed, with_torch="torch" not in item.forbid)
        ns = Namespace(namespace, given)
        absent = [f for f in item.functions if f not in namespace]
        if absent:
            return {"__load__": problems, "__absent__": absent}
        try:
            out = probe(ns, seed)
        except MissingFunction as e:
            return {"__load__": problems, "__absent__": [str(e)]}
        return {"__load__": problems, "out": out}

    timeout = item.timeout * float(os.environ.get("COURSE_KIT_TIMEOUT_SCALE", "1"))
    outcome = run_child(body, timeout=timeout, memory_mb=item.memory_mb)
    if outcome.status == "timeout":
        return ItemResult(item.id, 0.0, item.points, f"{item.short}: timed out after {timeout:g} s (an endless loop, or far too slow?)", outcome.seconds)
    if outcome.status != "ok" or not isinstance(outcome.payload, dict):
        last = outcome.stderr_tail.splitlines()[-1] if outcome.stderr_tail else ""
        why = f"; last error: {last}" if last else ""
        return ItemResult(item.id, 0.0, item.points, f"{item.short}: the code stopped the grading process before returning results ({outcome.exit_info}: os._exit, a crash or the {item.memory_mb} MB memory cap?){why}", outcome.seconds)
    payload = outcome.payload
    if payload.get("__absent__"):
        absent = payload["__absent__"]
        load = [p for p in payload.get("__load__", []) if isinstance(p, str)]
        hint = f" ({load[0]})" if load else ""
        names = ", ".join(f"`{a}`" for a in absent)
        return ItemResult(item.id, 0.0, item.points, f"{item.short}: {names} could not be defined{hint}", outcome.seconds)
    load_notes = tuple(p for p in payload.get("__load__", []) if isinstance(p, str))
    ck = Checker(item.points)
    try:
        item.judge(payload.get("out"), seed, ck)
        points, reason = ck.result()
        err = False
    except Exception as e:  # a bug in the grader itself: say so loudly
        points, reason, err = 0.0, f"internal grader error, tell the course staff: {type(e).__name__}: {e}", True
        traceback.print_exc()
    return ItemResult(item.id, points, item.points, f"{item.short}: {reason}", outcome.seconds, err, load_notes)


def grade_cells(cells: list[str], assignment: Assignment | str, items: list[str] | None = None,
                seed: int = DEFAULT_SEED, manual: list[dict] | None = None, notes: list[str] | None = None) -> Report:
    _prepare_parent()
    if isinstance(assignment, str):
        assignment = get_assignment(assignment)
    start = time.monotonic()
    extracted = nbmod.extract(cells)
    chosen = assignment.items if items is None else [assignment.item(i) for i in items]
    results = [grade_item(it, extracted, seed) for it in chosen]
    all_notes = list(notes or []) + extracted.problems
    for r in results:
        all_notes += [n for n in r.load_notes if n not in all_notes]
    return Report(assignment.id, results, manual or [], all_notes, time.monotonic() - start)


def detect_assignment(nb: dict, path: Path) -> str | None:
    from .core import ASSIGNMENT_MODULES

    name = nbmod.notebook_assignment(nb)
    if name in ASSIGNMENT_MODULES:
        return name
    for hw in ASSIGNMENT_MODULES:
        if get_assignment(hw).notebook == path.name or path.stem == hw or path.parent.name == hw:
            return hw
    return None


def grade_notebook(path: str | Path, assignment: str | None = None, items: list[str] | None = None,
                   seed: int = DEFAULT_SEED) -> Report:
    path = Path(path)
    nb = nbmod.read_notebook(path)
    hw = assignment or detect_assignment(nb, path)
    if hw is None:
        raise nbmod.NotebookError(f"cannot tell which assignment {path} belongs to; pass --assignment")
    return grade_cells(nbmod.code_cells(nb), hw, items, seed, manual=nbmod.manual_cells(nb))
