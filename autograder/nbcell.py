"""What a hidden-test cell runs under ``nbgrader autograde``.

A hidden-test cell holds one line, ``grade("hw1.batchnorm_backward")``. It must
never let the kernel's (the student's) code judge itself, so it grades in a fresh
Python process: ``python -m autograder grade`` on the submitted notebook, which
nbgrader executes from the submission's folder. The verdict of the whole notebook
is kept for the kernel's later hidden cells (keyed by the notebook's bytes), so one
submission costs one grading process, not one per item.

The cell's output follows nbgrader's rules: the reason goes to stdout (anything on
stderr would score 0) and the cell's value is the points earned, never above the
cell's points (a higher number aborts nbgrader).
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_CACHE: dict[str, dict] = {}
ROOT = Path(__file__).resolve().parents[1]


def _notebook_bytes(assignment: str, notebook: str) -> tuple[bytes, str]:
    """The submission as bytes: the notebook file beside the kernel, or else the
    code this kernel has run so far (IPython's input history)."""
    here = Path.cwd() / notebook
    if here.is_file():
        return here.read_bytes(), str(here)
    try:
        shell = get_ipython()  # type: ignore[name-defined]  # noqa: F821
        history = list(shell.user_ns.get("In", []))
    except NameError:
        history = []
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src}
             for src in history if isinstance(src, str) and "grade(" not in src]
    nb = {"cells": cells, "metadata": {"course_kit": {"assignment": assignment}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(nb).encode(), ""


def _run_grader(data: bytes, path: str, assignment: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="ckcell-") as tmp:
        if not path:
            path = os.path.join(tmp, "submission.ipynb")
            Path(path).write_bytes(data)
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONWARNINGS"] = "ignore"
        proc = subprocess.run(
            [sys.executable, "-m", "autograder", "grade", path, "--json", "--assignment", assignment],
            capture_output=True, text=True, env=env, cwd=tmp, timeout=1800,
        )
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or ["the grader failed"])[-1])
    return json.loads(proc.stdout)


def grade(item_id: str) -> float:
    """Grade one item of the notebook this kernel is running; returns its points.

    Under ``nbgrader autograde`` no kernel should run at all: the course's
    ``nbgrader_config.py`` swaps nbgrader's Execute for the sealed engine
    (:mod:`autograder.nbgrader_engine`). If a kernel runs this cell during autograde
    anyway, the configuration did not load, and the student's own code shares this
    kernel: the cell refuses (0 points, saying why) rather than give a grade the
    student's code could have forged. (``tools/run_notebook.py``, which runs a source
    notebook in grading mode for the course staff, says so with
    ``COURSE_KIT_RUN_NOTEBOOK``.)"""
    assignment = item_id.split(".", 1)[0]
    max_points = None
    if os.environ.get("NBGRADER_EXECUTION") == "autograde" and not os.environ.get("COURSE_KIT_RUN_NOTEBOOK"):
        print(f"{item_id}: 0 points. Not graded: nbgrader autograde executed the notebook in a kernel, so the "
              "course's nbgrader_config.py (which grades with the sealed engine instead) was not loaded; "
              "tell the course staff.")
        return 0.0
    try:
        from .core import get_assignment

        hw = get_assignment(assignment)
        max_points = hw.item(item_id).points
        data, path = _notebook_bytes(assignment, hw.notebook)
        key = hashlib.sha256(data + assignment.encode()).hexdigest()
        if key not in _CACHE:
            _CACHE[key] = _run_grader(data, path, assignment)
        report = _CACHE[key]
        result = next(r for r in report["items"] if r["id"] == item_id)
        points = max(0.0, min(float(result["points"]), float(max_points)))
        reason = str(result["reason"]).split(": ", 1)[-1]
        print(f"{item_id}: {points:g} / {max_points:g} points. {reason}")
        return points
    except Exception as e:  # never let anything reach stderr from a test cell
        print(f"{item_id}: 0 points, the grader could not run ({type(e).__name__}: {e})")
        return 0.0
