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
from .notebook import NotebookError

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Job:
    student: str
    assignment: str
    path: Path
    refused: str = ""  # why this entry is not graded (a symbolic link, outside the folder...)
    root: Path | None = None  # the submissions folder; the path is opened below it, no link followed

    @property
    def key(self) -> str:
        return f"{self.assignment}/{self.student}"


_SAFE_NAME = __import__("re").compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")


def discover(submissions: Path, assignments: list[str] | None = None) -> list[Job]:
    """Every ``<student>/<assignment>/<notebook>`` under ``submissions``. Only real
    folders and regular files inside it count: a symbolic link (to another student's
    notebook, to the solutions, to ``/etc/shadow``) or anything else is listed as a
    refused job with the reason, and never read or hashed."""
    import stat

    jobs = []
    root = submissions.resolve()
    wanted = [hw for hw in sorted(assignments or ASSIGNMENT_MODULES) if hw in ASSIGNMENT_MODULES]
    for student_dir in sorted(submissions.iterdir()):
        name = student_dir.name
        try:
            st = os.lstat(student_dir)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            if stat.S_ISLNK(st.st_mode) and _SAFE_NAME.match(name):
                for hw in wanted:
                    jobs.append(Job(name, hw, student_dir / hw / get_assignment(hw).notebook,
                                    f"{name} is a symbolic link, not a folder: refused", submissions))
            continue
        if not _SAFE_NAME.match(name):
            continue  # nbgrader's own folders (.ipynb_checkpoints) and odd names
        for hw in wanted:
            folder = student_dir / hw
            nb = folder / get_assignment(hw).notebook
            why = ""
            try:
                fst = os.lstat(folder)
            except OSError:
                continue
            if stat.S_ISLNK(fst.st_mode):
                why = f"{name}/{hw} is a symbolic link, not a folder: refused"
            elif stat.S_ISDIR(fst.st_mode):
                try:
                    nst = os.lstat(nb)
                except OSError:
                    continue
                if stat.S_ISLNK(nst.st_mode):
                    why = f"{nb.name} is a symbolic link, not a notebook file: refused"
                elif not stat.S_ISREG(nst.st_mode):
                    why = f"{nb.name} is not a regular file: refused"
                elif not str(nb.resolve()).startswith(str(root) + os.sep):
                    why = f"{nb.name} is outside the submissions folder: refused"
            else:
                continue
            jobs.append(Job(name, hw, nb, why, submissions))
    return jobs


def read_submission(job: Job) -> bytes:
    """The notebook's bytes: opened component by component below the submissions
    folder, none of them a symbolic link, regular, bounded; NotebookError otherwise."""
    from .notebook import MAX_NOTEBOOK_BYTES, NotebookError, read_bounded

    if job.refused:
        raise NotebookError(job.refused)
    if job.root is None:
        return read_bounded(job.path)
    parts = job.path.relative_to(job.root).parts
    fd = os.open(job.root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError:
                raise NotebookError(f"{job.student}/{job.assignment}: {part} is not a folder (a symbolic link?): refused") from None
            os.close(fd)
            fd = nxt
        try:
            nfd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
        except OSError as e:
            raise NotebookError(f"cannot read {parts[-1]}: {e.strerror or e} (a symbolic link?)") from None
        return read_bounded(f"/proc/self/fd/{nfd}", MAX_NOTEBOOK_BYTES, name=parts[-1], fd=nfd)
    finally:
        os.close(fd)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256(job_or_path) -> str:
    """The SHA-256 of a submission ("" where it is refused or unreadable)."""
    from .notebook import NotebookError, read_bounded

    try:
        if isinstance(job_or_path, Job):
            return sha256_bytes(read_submission(job_or_path))
        return sha256_bytes(read_bounded(job_or_path))
    except (NotebookError, OSError):
        return ""


def result_path(out: Path, job: Job) -> Path:
    return out / job.assignment / f"{job.student}.json"


def is_done(out: Path, job: Job) -> bool:
    if job.refused:
        return False
    p = result_path(out, job)
    try:
        done = json.loads(p.read_text())
        digest, grader = done.get("sha256"), done.get("grader")
    except (OSError, ValueError, AttributeError):
        return False
    return bool(digest) and grader == grader_fingerprint() and digest == sha256(job)


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
    """Read jobs from stdin (one JSON line each), write one JSON line per job to the
    original stdout. The worker is a judge: it grades through the sealed engine, whose
    probe servers it starts once and keeps warm; it never runs student code itself."""
    import base64

    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything else printed goes to stderr, never into the protocol
    from . import engine
    from .grading import grade_notebook
    from .notebook import NotebookError

    first = json.loads(sys.stdin.readline() or "{}")
    eng = engine.shared()
    isolation = eng.warm_for(first.get("assignments") or list(ASSIGNMENT_MODULES))
    proto.write(json.dumps({"ready": True, "isolation": isolation}) + "\n")
    for line in sys.stdin:
        job = json.loads(line)
        try:
            data = base64.b64decode(job["data"])
            report = grade_notebook(job["name"], job["assignment"], data=data, engine=eng)
            reply = {"report": report.as_dict(), "seconds": report.seconds}
        except NotebookError as e:
            reply = {"error": str(e)}
        except engine.EngineError as e:
            reply = {"error": f"the grading sandbox failed: {e}"}
        except Exception as e:  # noqa: BLE001 -- the grader itself broke: keep the worker alive
            reply = {"error": f"internal grader error: {type(e).__name__}"}
        proto.write(json.dumps(reply) + "\n")
    return 0


class Worker:
    """A pre-warmed judge process (``python -m autograder worker``) and its pipe."""

    def __init__(self, assignments: list[str] | None = None):
        self.proc: subprocess.Popen | None = None
        self.assignments = sorted(assignments or ASSIGNMENT_MODULES)
        self.isolation: dict | None = None

    def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen([sys.executable, "-m", "autograder", "worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                     cwd=ROOT, start_new_session=True)
        self.proc.stdin.write(json.dumps({"assignments": self.assignments}) + "\n")
        self.proc.stdin.flush()
        self.isolation = self._read(timeout=600).get("isolation")

    def _read(self, timeout: float) -> dict:
        assert self.proc and self.proc.stdout
        box: list = []
        t = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        if not box or not box[0]:
            raise RuntimeError("the grading worker stopped answering" if not box else "the grading worker died")
        return json.loads(box[0])

    def grade(self, job: Job, data: bytes, timeout: float) -> dict:
        import base64

        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(json.dumps({"name": job.path.name, "assignment": job.assignment,
                                          "data": base64.b64encode(data).decode()}) + "\n")
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


_FINGERPRINT: list[str] = []


def grader_fingerprint() -> str:
    """A digest of the graders' code and the grading seed: a result is reused only
    if it was computed by the same graders (edit a grader, and the class is graded
    again)."""
    if not _FINGERPRINT:
        from .core import DEFAULT_SEED

        h = hashlib.sha256(str(DEFAULT_SEED).encode())
        for p in sorted((ROOT / "autograder").rglob("*.py")):
            h.update(str(p.relative_to(ROOT)).encode() + b"\0" + p.read_bytes() + b"\0")
        _FINGERPRINT.append(h.hexdigest()[:16])
    return _FINGERPRINT[0]


def record(job: Job, digest: str, seconds: float, reply: dict) -> dict:
    return {"student": job.student, "assignment": job.assignment, "notebook": str(job.path),
            "sha256": digest, "grader": grader_fingerprint(), "seconds": round(seconds, 2), **reply}


def run(jobs: list[Job], out: Path, workers: int = 2, progress: bool = True) -> dict:
    """Grade every job without a current result; return counts (and, if a worker
    started, what isolation its grading children have: ``counts["isolation"]``)."""
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
    assignments = sorted({j.assignment for j in todo})

    def loop():
        w = Worker(assignments)
        try:
            while True:
                try:
                    job = q.get_nowait()
                except queue.Empty:
                    return
                start = time.monotonic()
                digest = ""
                try:
                    data = read_submission(job)
                    digest = sha256_bytes(data)
                    reply = w.grade(job, data, _submission_timeout(job.assignment))
                except NotebookError as e:
                    reply = {"error": str(e)}
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


def load_results(out: Path, assignments: list[str] | None = None) -> list[dict]:
    rows = []
    for p in sorted(out.glob("*/*.json")):
        if assignments and p.parent.name not in assignments:
            continue
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
