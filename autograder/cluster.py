"""``grade-all --dask [ADDRESS]``: the same grading, spread by Dask distributed.

Dask schedules, not us: one task per submission. The client (the TA's
``python -m autograder grade-all``) reads each notebook, sends its bytes with the
task (so the workers need no shared folder), and writes every result it gets back
with the same atomic, resumable files as the local pool (:mod:`autograder.batch`).

- ``--dask`` or ``--dask local``: a ``distributed.LocalCluster`` on this machine with
  ``--workers`` worker processes (nanny-managed, one thread each).
- ``--dask tcp://host:8786``: an existing scheduler, e.g. one that ``dask-jobqueue``
  started on a Slurm cluster; ``--slurm JOBS`` starts one itself (see the README).

Every worker is warmed once, when it joins, by :class:`WarmUp`: it imports every
grader, starts its sealed engine's probe servers and checks the isolation their
children get. A task then calls :func:`autograder.grading.grade_notebook` with the
notebook's bytes; the engine's probe servers (new interpreters, never forks of the
Dask worker) run the student's code, exactly as for the local pool.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from distributed import WorkerPlugin

from .batch import Job, read_submission, record, result_path, sha256, write_atomic
from .notebook import NotebookError

PLUGIN_NAME = "course-kit-warm-up"


class WarmUp(WorkerPlugin):
    """A Dask worker plugin: pay the imports once per worker, not per submission,
    and say which folders the grading children must not see."""

    name = PLUGIN_NAME
    idempotent = True

    def __init__(self, assignments: tuple[str, ...] = ()):
        self.assignments = tuple(assignments)

    def setup(self, worker=None):
        warm_up(self.assignments)

    def teardown(self, worker=None):
        pass


_WARM: dict = {}


def warm_up(assignments: tuple[str, ...] = ()) -> dict:
    from . import engine
    from .core import ASSIGNMENT_MODULES

    if not _WARM:
        t = time.monotonic()
        isolation = engine.shared().warm_for(assignments or tuple(ASSIGNMENT_MODULES))
        _WARM["seconds"] = round(time.monotonic() - t, 2)
        _WARM["isolation"] = isolation
        _WARM["pid"] = os.getpid()
    return dict(_WARM)


def grade_bytes(data: bytes, name: str, assignment: str) -> dict:
    """The task: grade one notebook sent as bytes; returns what a local worker
    replies (``{"report": ..., "seconds": ...}`` or ``{"error": ...}``)."""
    from .engine import EngineError
    from .grading import grade_notebook
    from .notebook import NotebookError

    start = time.monotonic()
    warm_up()
    try:
        report = grade_notebook(name, assignment, data=data)
        reply = {"report": report.as_dict(), "seconds": report.seconds}
    except NotebookError as e:
        reply = {"error": str(e)}
    except EngineError as e:
        reply = {"error": f"the grading sandbox failed: {e}"}
    except Exception as e:  # noqa: BLE001 -- the grader itself broke
        reply = {"error": f"internal grader error: {type(e).__name__}"}
    return {**reply, "wall": time.monotonic() - start, "worker_pid": os.getpid()}


def slurm_cluster(**kwargs):
    """A dask-jobqueue SLURMCluster whose workers start in this repository (on a
    shared file system) with its Python. Cores, memory, queue, account and walltime
    come from dask-jobqueue's configuration (``~/.config/dask/jobqueue.yaml``) or
    ``kwargs``."""
    import sys

    from dask_jobqueue import SLURMCluster

    root = Path(__file__).resolve().parents[1]
    kwargs.setdefault("python", sys.executable)
    kwargs.setdefault("job_script_prologue", [f"cd {root}", f"export PYTHONPATH={root}${{PYTHONPATH:+:$PYTHONPATH}}"])
    return SLURMCluster(**kwargs)


def make_cluster(address: str | None, workers: int, slurm_jobs: int = 0):
    """A (client, cluster-or-None) pair; the cluster is ours to close."""
    from distributed import Client

    if slurm_jobs:
        cluster = slurm_cluster()
        cluster.scale(jobs=slurm_jobs)
        return Client(cluster), cluster
    if address in (None, "", "local"):
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, silence_logs=40)
        return Client(cluster), cluster
    return Client(address, timeout="60s"), None


def run(jobs: list[Job], out: Path, address: str | None = None, workers: int = 2, progress: bool = True,
        slurm_jobs: int = 0) -> dict:
    """Grade every job without a current result on a Dask cluster; return counts."""
    from distributed import as_completed

    from .batch import is_done

    todo = [j for j in jobs if not is_done(out, j)]
    counts: dict = {"total": len(jobs), "skipped": len(jobs) - len(todo), "graded": 0, "errors": 0}
    if not todo:
        return counts
    client, cluster = make_cluster(address, workers, slurm_jobs)
    bar = None
    try:
        assignments = tuple(sorted({j.assignment for j in todo}))
        client.register_plugin(WarmUp(assignments), name=PLUGIN_NAME)
        if slurm_jobs:
            client.wait_for_workers(1, timeout=3600)
        info = client.run(warm_up, assignments)  # every worker, now: {address: state}
        counts["workers"] = len(info)
        levels = [v.get("isolation", {}) for v in info.values()]
        counts["isolation"] = next((lv for lv in levels if lv.get("level") != "full"), levels[0] if levels else None)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc="grading (dask)", unit="nb")
        futures = {}
        for job in todo:
            try:
                data = read_submission(job)
            except NotebookError as e:
                write_atomic(result_path(out, job), record(job, "", 0.0, {"error": str(e)}))
                counts["graded"] += 1
                counts["errors"] += 1
                if bar:
                    bar.update(1)
                continue
            digest = hashlib.sha256(data).hexdigest()
            fut = client.submit(grade_bytes, data, job.path.name, job.assignment, pure=False,
                                key=f"grade-{job.assignment}-{job.student}-{digest[:12]}")
            futures[fut] = (job, digest, time.monotonic())
        pids = set()
        for fut in as_completed(list(futures)):
            job, digest, start = futures[fut]
            try:
                reply = fut.result()
            except Exception as e:  # a worker died twice on it (KilledWorker), ...
                reply = {"error": f"grading failed: {type(e).__name__}: {e}"}
            pids.add(reply.pop("worker_pid", None))
            wall = reply.pop("wall", time.monotonic() - start)  # on the worker, without the queue
            write_atomic(result_path(out, job), record(job, digest, wall, reply))
            counts["graded"] += 1
            counts["errors"] += "error" in reply
            if bar:
                bar.update(1)
        counts["worker_pids"] = sorted(p for p in pids if p)
    finally:
        if bar:
            bar.close()
        client.close()
        if cluster is not None:
            cluster.close()
    return counts


__all__ = ["WarmUp", "grade_bytes", "make_cluster", "run", "sha256"]
