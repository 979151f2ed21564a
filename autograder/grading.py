"""Grade a notebook (or a list of code cells) item by item.

This is the judge side. For each item the sealed engine (:mod:`autograder.engine`)
has a probe server fork a jailed child that loads the student's kept definitions and
runs the item's probe; the child's plain-data result comes back, bounded, and the
item's judge runs here, in a process that never runs or forks student code.
"""
from __future__ import annotations

import dataclasses
import os
import re
import sys
import threading
import time
import traceback
from pathlib import Path

from . import notebook as nbmod
from .core import DEFAULT_SEED, Assignment, Bad, Checker, Item, get_assignment


@dataclasses.dataclass
class ItemResult:
    id: str
    points: float
    max_points: float
    reason: str
    seconds: float = 0.0
    grader_error: bool = False
    load_notes: tuple = ()
    detail: str = ""  # for the course staff only (a grader's traceback); never in the reason
    overhead: float | None = None  # the child's seconds outside the probe: fork, jail, loading the definitions

    def as_dict(self) -> dict:
        d = {"id": self.id, "points": self.points, "max_points": self.max_points, "reason": self.reason,
             "seconds": round(self.seconds, 3)}
        if self.grader_error:
            d["grader_error"] = True
        return d


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


MAX_NOTES = 30
from .engine import WALL_EXTRA, WALL_FACTOR  # noqa: E402
_TRACE_LINE = re.compile(r"^([A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt))(: .*)?$")


def _last_error(output: str) -> str:
    """The last line of the child's output if it names an exception (no paths)."""
    for line in reversed(output.splitlines()[-20:]):
        m = _TRACE_LINE.match(line.strip())
        if m:
            return m.group(0)[:200]
    return ""


def judge_outcome(item: Item, outcome, seed: int) -> ItemResult:
    """The verdict on one item from what its child returned (or how it ended)."""
    from .probes.runtime import Bad as _Bad

    if outcome.status == "timeout":
        limit = item.timeout * _timeout_scale()
        if outcome.exit_info == "cpu":
            why = f"used more than its {limit:g} s of CPU time (an endless loop, or far too slow?)"
        else:
            why = f"did not finish in {limit * WALL_FACTOR + WALL_EXTRA:g} s (waiting or sleeping forever?)"
        return ItemResult(item.id, 0.0, item.points, f"{item.short}: timed out: it {why}", outcome.seconds)
    payload = outcome.payload
    if outcome.exit_info == "jail":
        last = _last_error(outcome.output_tail)
        return ItemResult(item.id, 0.0, item.points,
                          f"{item.short}: not graded: the grading sandbox could not be set up on this machine "
                          f"(tell the course staff; {last or 'no detail'})", outcome.seconds, grader_error=True)
    if outcome.status != "ok" or not isinstance(payload, dict):
        last = _last_error(outcome.output_tail)
        why = f"; last error: {last}" if last else ""
        return ItemResult(item.id, 0.0, item.points,
                          f"{item.short}: the code stopped the grading process before returning results "
                          f"({outcome.exit_info or 'no result'}: os._exit, a crash or the {item.memory_mb} MB memory cap?){why}",
                          outcome.seconds)
    load = payload.get("__load__")
    load_notes = tuple(str(p)[:300] for p in (load if isinstance(load, list) else [])[:MAX_NOTES])
    if "__absent__" in payload:
        absent = payload["__absent__"] if isinstance(payload["__absent__"], list) else []
        names = ", ".join(f"`{str(a)[:60]}`" for a in absent[:10]) or "a function"
        hint = f" ({load_notes[0]})" if load_notes else ""
        return ItemResult(item.id, 0.0, item.points, f"{item.short}: {names} could not be defined{hint}", outcome.seconds,
                          load_notes=load_notes)
    if "__too_big__" in payload:
        return ItemResult(item.id, 0.0, item.points, f"{item.short}: your code returned more data than the grader accepts",
                          outcome.seconds, load_notes=load_notes)
    if "__probe_error__" in payload:
        msg = str(payload["__probe_error__"])[:200]
        return ItemResult(item.id, 0.0, item.points,
                          f"{item.short}: a value your code returned could not be used ({msg})", outcome.seconds,
                          load_notes=load_notes)
    ck = Checker(item.points)
    out = payload.get("out")
    if isinstance(out, _Bad) and out.kind not in ("error", "missing", "type"):
        out = _Bad("type", "an unexpected value")
    try:
        item.judge(out, seed, ck)
        points, reason = ck.result()
        err, detail = False, ""
    except Exception:  # noqa: BLE001 -- an output the judge did not foresee, or a grader bug
        points, err = 0.0, True
        reason = "the values your code returned have an unexpected type or structure and could not be checked"
        detail = traceback.format_exc(limit=8)
        if os.environ.get("COURSE_KIT_DEBUG"):
            print(detail, file=sys.stderr)
    points = max(0.0, min(float(points), float(item.points)))
    probe_s = payload.get("__probe_seconds__")
    overhead = outcome.seconds - probe_s if isinstance(probe_s, (int, float)) else None
    return ItemResult(item.id, points, item.points, f"{item.short}: {reason}", outcome.seconds, err, load_notes, detail,
                      overhead)


def _timeout_scale() -> float:
    try:
        return float(os.environ.get("COURSE_KIT_TIMEOUT_SCALE", "1"))
    except ValueError:
        return 1.0


def _warm_judges() -> None:
    """Import what the judges need while the first children run (the CLI's start-up):
    torch (the references), scikit-learn's metrics (HW1's and HW5's oracles) and
    torch.optim's first step (it imports more on first use)."""
    try:
        import torch

        torch.set_num_threads(1)
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
        p.sum().backward()
        opt.step()
        import sklearn.metrics  # noqa: F401
    except Exception:  # noqa: BLE001
        pass


def grade_extracted(extracted: nbmod.Extracted, assignment: Assignment, chosen: list[Item], seed: int,
                    parallel: int = 1, engine=None) -> list[ItemResult]:
    from . import engine as engmod

    eng = engine or engmod.shared()
    defined = extracted.defined()
    results: dict[int, ItemResult] = {}
    snippets = [{"cell": s.cell, "line": s.line, "kind": s.kind, "source": s.source} for s in extracted.snippets]
    plain, giving = [], []  # the items to run: without and with data the judge gives
    for i, item in enumerate(chosen):
        missing = [f for f in item.functions if f not in defined]
        if missing:
            names = ", ".join(f"`{m}`" for m in missing)
            hint = f" ({extracted.problems[0]})" if extracted.problems else ""
            results[i] = ItemResult(item.id, 0.0, item.points,
                                    f"{item.short}: {names} not found in the notebook (renamed or deleted?){hint}")
        else:
            (giving if item.give else plain).append(i)
    warm = None
    if (plain or giving) and "torch" not in sys.modules:
        # what the judges import, imported while the first children run (the items that
        # need no given data go first); joined before the first judge and before any
        # ``give`` (a concurrent import of torch from two threads breaks it)
        warm = threading.Thread(target=_warm_judges, daemon=True)
        warm.start()

    def request(i: int, given) -> engmod.Request:
        item = chosen[i]
        return engmod.Request(item.id, seed, snippets, tuple(item.functions), tuple(item.forbid), given,
                              item.timeout * _timeout_scale(), item.memory_mb)

    # with the judges' imports still running, the items without given data go first (their
    # ``give`` waits for torch); otherwise all run as one batch, with no barrier between them
    batches = (plain, giving) if warm is not None else (sorted(plain + giving),)
    for batch in batches:
        if warm is not None and batch is giving:
            warm.join()
            warm = None
        reqs, where = [], []
        for i in batch:
            try:
                given = chosen[i].give(seed) if chosen[i].give else None
            except Exception:  # noqa: BLE001 -- a grader bug: say so, keep the other items
                results[i] = ItemResult(chosen[i].id, 0.0, chosen[i].points,
                                        f"{chosen[i].short}: internal grader error, tell the course staff",
                                        grader_error=True, detail=traceback.format_exc(limit=8))
                continue
            reqs.append(request(i, given))
            where.append(i)
        for k, outcome in eng.run_many(reqs, parallel):
            if warm is not None:
                warm.join()
                warm = None
            results[where[k]] = judge_outcome(chosen[where[k]], outcome, seed)
    return [results[i] for i in range(len(chosen))]


def grade_cells(cells: list[str], assignment: Assignment | str, items: list[str] | None = None,
                seed: int = DEFAULT_SEED, manual: list[dict] | None = None, notes: list[str] | None = None,
                parallel: int = 1, engine=None) -> Report:
    if isinstance(assignment, str):
        assignment = get_assignment(assignment)
    start = time.monotonic()
    extracted = nbmod.extract(cells)
    chosen = assignment.items if items is None else [assignment.item(i) for i in items]
    results = grade_extracted(extracted, assignment, chosen, seed, parallel, engine)
    all_notes = list(notes or []) + extracted.problems
    for r in results:
        all_notes += [n for n in r.load_notes if n not in all_notes]
    return Report(assignment.id, results, manual or [], all_notes[:MAX_NOTES], time.monotonic() - start)


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
                   seed: int = DEFAULT_SEED, parallel: int = 1, data: bytes | None = None, engine=None) -> Report:
    path = Path(path)
    nb = nbmod.read_notebook(path, data)
    hw = assignment or detect_assignment(nb, path)
    if hw is None:
        raise nbmod.NotebookError(f"cannot tell which assignment {path.name} belongs to; pass --assignment")
    return grade_cells(nbmod.code_cells(nb), hw, items, seed, manual=nbmod.manual_cells(nb), parallel=parallel,
                       engine=engine)
