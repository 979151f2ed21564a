"""Grading a whole class: ``python -m autograder grade-all SUBMISSIONS_DIR``.

Layout read: ``SUBMISSIONS_DIR/<student>/<assignment>/<notebook>.ipynb`` (nbgrader's
``submitted/``). Work is spread over pre-warmed worker processes: each worker
imports torch, NumPy and the graders once, then grades one submission after the
other with the same code as ``python -m autograder grade`` (one forked child per
item), so the seconds of start-up are paid per worker, not per submission.

Every result is written whole or not at all (a temporary file renamed into place)
under ``OUT/<assignment>/<student>.json`` with the SHA-256 of the notebook it
graded. A second run grades only what has no result for the current bytes of the
notebook: stopped half-way, it resumes; run again on a finished batch, it changes
nothing. At the end the CSV and, if asked, the nbgrader gradebook are written from
the result files.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from .core import ASSIGNMENT_MODULES, get_assignment

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Job:
    student: str
    assignment: str
    path: Path

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.student}"


def discover(submissions: Path, assignments: list[str] | None = None) -> list[Job]:
    jobs = []
    for student_dir in sorted(p for p in submissions.iterdir() if p.is_dir()):
        for hw in sorted(assignments or ASSIGNMENT_MODULES):
            if hw not in ASSIGNMENT_MODULES:
                continue
            nb = student_dir / hw / get_assignment(hw).notebook
            if nb.is_file():
                jobs.append(Job(student_dir.name, hw, nb))
    return jobs


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def result_path(out: Path, job: Job) -> Path:
    return out / job.assignment / f"{job.student}.json"


def is_done(out: Path, job: Job) -> bool:
    p = result_path(out, job)
    try:
        return json.loads(p.read_text()).get("sha256") == sha256(job.path)
    except (OSError, ValueError):
        return False


def write_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# A pre-warmed worker: `python -m autograder worker` answers one JSON line per job.


def worker_main() -> int:
    """Read jobs from stdin, write one JSON line per job to the original stdout."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to stderr, never into the protocol
    from .grading import _prepare_parent, grade_notebook
    from .notebook import NotebookError

    from . import jail

    _prepare_parent()
    for hw in ASSIGNMENT_MODULES:
        get_assignment(hw)  # import every grader (and torch) now, once
    proto.write(json.dumps({"ready": True, "isolation": jail.probe()}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        try:
            report = grade_notebook(job["path"], job["assignment"])
            reply = {"report": report.as_dict(), "seconds": report.seconds}
        except NotebookError as e:
            reply = {"error": str(e)}
        except Exception as e:  # the grader itself broke: keep the worker alive
            reply = {"error": f"internal grader error: {type(e).__name__}: {e}"}
        proto.write(json.dumps(reply) + "\n")
    return 0


class Worker:
    def __init__(self, hide: tuple[str, ...] = ()):
        self.proc: subprocess.Popen | None = None
        self.hide = hide
        self.isolation: dict | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        if self.hide:  # what the grading children must not see (autograder.jail)
            env["COURSE_KIT_HIDE"] = os.pathsep.join([*self.hide, env.get("COURSE_KIT_HIDE", "")]).strip(os.pathsep)
        self.proc = subprocess.Popen([sys.executable, "-m", "autograder", "worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                     cwd=ROOT, start_new_session=True)
        self.isolation = self._read(timeout=300).get("isolation")

    def _read(self, timeout: float) -> dict:
        assert self.proc and self.proc.stdout
        box: list = []
        t = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        if not box or not box[0]:
            raise RuntimeError("the grading worker stopped answering" if not box else "the grading worker died")
        return json.loads(box[0])

    def grade(self, job: Job, timeout: float) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(json.dumps({"path": str(job.path), "assignment": job.assignment}) + "\n")
        self.proc.stdin.flush()
        return self._read(timeout)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None


def _submission_timeout(hw: str) -> float:
    scale = float(os.environ.get("COURSE_KIT_TIMEOUT_SCALE", "1"))
    return 60 + 2 * sum(it.timeout for it in get_assignment(hw).items) * scale


def sensitive_paths(submissions: Path, out: Path, *more) -> tuple[str, ...]:
    """Folders the student's code must not see: the class's notebooks, the results,
    the gradebook's and the CSV's folders (SQLite URLs and paths)."""
    paths = [submissions, out]
    for m in more:
        if not m:
            continue
        m = str(m)
        if m.startswith("sqlite:///"):
            m = m[len("sqlite:///"):]
        elif "://" in m:
            continue  # a database server: unreachable anyway (no network)
        paths.append(Path(m).resolve().parent if not Path(m).is_dir() else Path(m))
    return tuple(str(Path(p).resolve()) for p in paths)


def record(job: Job, digest: str, seconds: float, reply: dict) -> dict:
    return {"student": job.student, "assignment": job.assignment, "notebook": str(job.path),
            "sha256": digest, "seconds": round(seconds, 2), **reply}


def run(jobs: list[Job], out: Path, workers: int = 2, progress: bool = True, hide: tuple[str, ...] = ()) -> dict:
    """Grade every job without a current result; return counts (and, if a worker
    started, what isolation it has: ``counts["isolation"]``)."""
    todo = [j for j in jobs if not is_done(out, j)]
    counts: dict = {"total": len(jobs), "skipped": len(jobs) - len(todo), "graded": 0, "errors": 0}
    if not todo:
        return counts
    q: queue.Queue = queue.Queue()
    for j in todo:
        q.put(j)
    lock = threading.Lock()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="grading", unit="nb")

    def loop():
        w = Worker(hide)
        try:
            while True:
                try:
                    job = q.get_nowait()
                except queue.Empty:
                    return
                digest = sha256(job.path)
                start = time.monotonic()
                try:
                    reply = w.grade(job, _submission_timeout(job.assignment))
                except (RuntimeError, OSError, ValueError) as e:
                    w.stop()  # a fresh worker for the next submission
                    reply = {"error": f"grading failed: {e}"}
                write_atomic(result_path(out, job), record(job, digest, time.monotonic() - start, reply))
                with lock:
                    if w.isolation and "isolation" not in counts:
                        counts["isolation"] = w.isolation
                    counts["graded"] += 1
                    counts["errors"] += "error" in reply
                    if bar:
                        bar.update(1)
        finally:
            w.stop()

    threads = [threading.Thread(target=loop) for _ in range(max(1, min(workers, len(todo))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if bar:
        bar.close()
    return counts


def load_results(out: Path) -> list[dict]:
    rows = []
    for p in sorted(out.glob("*/*.json")):
        try:
            rows.append(json.loads(p.read_text()))
        except (OSError, ValueError):
            continue
    return rows


def write_csv(out: Path, rows: list[dict], path: Path) -> None:
    item_ids = sorted({i["id"] for r in rows if "report" in r for i in r["report"]["items"]})
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "assignment", "total", "max", "error", *item_ids])
        for r in rows:
            if "report" in r:
                pts = {i["id"]: i["points"] for i in r["report"]["items"]}
                w.writerow([r["student"], r["assignment"], r["report"]["total"], r["report"]["max"], "",
                            *[pts.get(i, "") for i in item_ids]])
            else:
                w.writerow([r["student"], r["assignment"], 0, get_assignment(r["assignment"]).max_points,
                            r.get("error", ""), *["" for _ in item_ids]])


class GradebookError(Exception):
    pass


def _retrying(what: str, fn, attempts: int = 8):
    """Run ``fn`` again when the database says another writer got in the way
    (a unique key taken meanwhile, a lock, a deadlock, a serialization failure)."""
    import random

    from nbgrader.api import InvalidEntry
    from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

    for attempt in range(attempts):
        try:
            return fn()
        except (IntegrityError, OperationalError, InvalidEntry, DBAPIError) as e:
            if attempt == attempts - 1:
                raise GradebookError(f"{what}: gave up after {attempts} tries: {e}") from e
            time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))


def _store(gb, r: dict) -> None:
    from nbgrader.api import MissingEntry

    hw = get_assignment(r["assignment"])
    points = {i["id"].split(".", 1)[1] + "_tests": i["points"] for i in r.get("report", {}).get("items", [])}

    def ensure():  # idempotent; nbgrader commits each step itself
        try:
            gb.find_assignment(hw.id)
        except MissingEntry:
            raise GradebookError(f"assignment {hw.id} is not in the gradebook: run `nbgrader generate_assignment "
                                 f"{hw.id}` with this database URL first") from None
        try:
            gb.find_student(r["student"])
        except MissingEntry:
            gb.add_student(r["student"])
        try:
            gb.find_submission(hw.id, r["student"])
        except MissingEntry:
            gb.add_submission(hw.id, r["student"])

    def scores():  # one transaction per submission: every score or none
        gb.db.rollback()
        sub = gb.find_submission(hw.id, r["student"])
        for nb in sub.notebooks:
            for grade in nb.grades:
                if grade.cell_type == "code":
                    grade.auto_score = float(points.get(grade.name, 0.0))
                    grade.needs_manual_grade = False
        gb.db.commit()

    def undo_and(fn):
        def go():
            try:
                return fn()
            except Exception:
                gb.db.rollback()
                raise
        return go

    _retrying(f"{r['assignment']}/{r['student']}", undo_and(ensure))
    _retrying(f"{r['assignment']}/{r['student']}", undo_and(scores))


def write_gradebook(rows: list[dict], db_url: str) -> int:
    """Store autograded points in the nbgrader gradebook, as `nbgrader autograde`
    would, so that `nbgrader export`, the formgrader and feedback work unchanged.
    The assignment must have been released with `nbgrader generate_assignment`
    (into the same database). Any SQLAlchemy URL works: ``sqlite:///gradebook.db``,
    or ``postgresql://user@host/gradebook`` when several machines write at once.
    Each submission's scores are one transaction, retried when another writer got
    in the way; writing the same results again changes nothing."""
    from nbgrader.api import Gradebook

    gb = _retrying("opening the gradebook", lambda: Gradebook(db_url))
    n = 0
    try:
        for r in rows:
            _store(gb, r)
            n += 1
    finally:
        gb.close()
    return n
