"""``nbgrader autograde`` through the sealed engine.

nbgrader's own autograde executes the submitted notebook in a kernel and reads each
hidden-test cell's output: the student's code runs in the same kernel as the tests,
so a student who redefines the tests' helpers, patches the kernel or forges an
output decides the score. :class:`SealedAutograde` takes the place of nbgrader's
``Execute`` preprocessor (``nbgrader_config.py`` swaps it in): no kernel is started.
It grades the notebook with the same engine as ``grade-all`` (:mod:`autograder.engine`,
warm across the whole class within one ``nbgrader autograde`` run) and writes every
hidden-test cell's output itself: the reason on stdout and the points as the cell's
value, never above the cell's points. nbgrader's ``SaveAutoGrades`` then stores
exactly the engine's points; the formgrader, manual grading, feedback and export work
as before. A notebook of an assignment that is not the kit's (a course's own classic
assignment) is executed in a kernel by nbgrader's Execute, unchanged. Student cells keep no output (nbgrader's ``ClearOutput`` already cleared
what was submitted), so nothing the student wrote into the file counts.
"""
from __future__ import annotations

import re
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from nbformat.v4 import new_output
from traitlets import Bool, Int

from .core import ASSIGNMENT_MODULES, get_assignment

_ITEM = re.compile(r"""grade\(\s*["']([\w.]+)["']\s*\)""")


def _nbgrader(cell) -> dict:
    md = cell.get("metadata", {})
    md = md.get("nbgrader", {}) if isinstance(md, dict) else {}
    return md if isinstance(md, dict) else {}


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _assignment_of(nb, resources) -> str | None:
    name = (resources.get("nbgrader") or {}).get("assignment")
    if name in ASSIGNMENT_MODULES:
        return name
    kit = nb.get("metadata", {}).get("course_kit", {})
    if isinstance(kit, dict) and kit.get("assignment") in ASSIGNMENT_MODULES:
        return kit["assignment"]
    for cell in nb.cells:
        m = _ITEM.search(_source(cell)) if _nbgrader(cell).get("grade") else None
        if m and m.group(1).split(".")[0] in ASSIGNMENT_MODULES:
            return m.group(1).split(".")[0]
    return None


def _test_cells(nb) -> list:
    return [c for c in nb.cells if c.get("cell_type") == "code" and _nbgrader(c).get("grade")
            and not _nbgrader(c).get("solution")]


def _item_of(cell, hw) -> str | None:
    m = _ITEM.search(_source(cell))
    if m:
        return m.group(1)
    gid = str(_nbgrader(cell).get("grade_id", ""))
    if hw and gid.endswith("_tests"):
        return f"{hw.id}.{gid[: -len('_tests')]}"
    return None


def _set_outputs(cell, text: str, points: float | None) -> None:
    outs = [new_output("stream", name="stdout", text=text.rstrip("\n") + "\n")]
    if points is not None:
        outs.append(new_output("execute_result", data={"text/plain": repr(float(points))}, execution_count=1))
    else:  # nbgrader scores a cell with an error output 0
        outs.append(new_output("error", ename="NotGraded", evalue=text[:200], traceback=[]))
    cell.outputs = outs
    cell.execution_count = 1


class SealedAutograde(Preprocessor):
    """Grades the notebook with the sealed engine and writes the test cells' outputs.

    Always enabled (nbconvert preprocessors are off by default, and a test cell left
    without output is full marks to nbgrader)."""

    enabled = Bool(True)
    parallel = Int(0, help="items graded at once (0: one per core, at most 2)").tag(config=True)

    def preprocess(self, nb, resources):
        from . import notebook as nbmod
        from .grading import grade_cells

        tests = _test_cells(nb)
        hw_id = _assignment_of(nb, resources)
        if hw_id is None:  # a course's own classic assignment: nbgrader's usual kernel run
            from nbgrader.preprocessors import Execute

            self.log.info("course kit: %s is not a course-kit assignment; executing it in a kernel as nbgrader does",
                          (resources.get("nbgrader") or {}).get("assignment"))
            return Execute(config=self.config, log=self.log).preprocess(nb, resources)
        hw = get_assignment(hw_id)
        wanted = {}
        for cell in tests:
            item = _item_of(cell, hw)
            try:
                wanted[id(cell)] = hw.item(item).id if item else None
            except KeyError:
                wanted[id(cell)] = None
        try:
            cells = nbmod.code_cells({"cells": [dict(c) for c in nb.cells]})
            import os

            parallel = self.parallel or max(1, min(2, os.cpu_count() or 1))
            report = grade_cells(cells, hw, parallel=parallel)
            by_id = {r.id: r for r in report.items}
            notes = report.notes
        except Exception as e:  # noqa: BLE001 -- the engine failed: every test cell says so, scores 0
            self.log.error("course kit: grading %s failed: %s", resources.get("unique_key", ""), e)
            by_id, notes = {}, []
        if by_id:
            self._keep_result(report, hw_id, resources)
        first = True
        for cell in tests:
            item_id = wanted.get(id(cell))
            r = by_id.get(item_id) if item_id else None
            if r is None:
                _set_outputs(cell, f"{item_id or 'this cell'}: not graded (the grader could not run)", None)
                continue
            cap = float(_nbgrader(cell).get("points", r.max_points) or 0)
            points = max(0.0, min(float(r.points), cap))
            reason = r.reason.split(": ", 1)[-1]
            text = f"{r.id}: {points:g} / {cap:g} points. {reason}"
            if first and notes:
                text += "\nNotes on the notebook: " + "; ".join(notes[:5])
            first = False
            _set_outputs(cell, text, points)
        return nb, resources


    def _keep_result(self, report, hw_id: str, resources) -> None:
        """Write the engine's report where ``grade-all`` keeps its results (the course's
        ``autograder-results/``), keyed by the submitted file's bytes and the graders'
        fingerprint: ``grade-all`` and the class report then reuse it instead of
        grading the same notebook again."""
        try:
            from nbgrader.coursedir import CourseDirectory

            from . import batch

            info = resources.get("nbgrader") or {}
            student, notebook = str(info.get("student", "")), str(info.get("notebook", ""))
            if not batch._SAFE_NAME.match(student) or not notebook or "/" in notebook:
                return
            cd = CourseDirectory(config=self.config)
            submitted = Path(cd.format_path(cd.submitted_directory, student, hw_id)) / f"{notebook}.ipynb"
            root = Path(cd.root) / cd.submitted_directory
            job = batch.Job(student, hw_id, submitted, root=root)
            digest = batch.sha256(job)
            if not digest:
                return
            out = Path(cd.root) / "autograder-results"
            batch.write_atomic(batch.result_path(out, job),
                               batch.record(job, digest, report.seconds, {"report": report.as_dict(), "seconds": report.seconds}))
        except Exception as e:  # noqa: BLE001 -- a convenience only: never costs the grading
            self.log.warning("course kit: could not keep the result for grade-all (%s)", e)


def autograde_preprocessors(default: list) -> list:
    """nbgrader's autograde preprocessors with ``Execute`` replaced by ours."""
    out = []
    for p in default:
        name = p if isinstance(p, str) else f"{p.__module__}.{p.__name__}"
        out.append("autograder.nbgrader_engine.SealedAutograde" if name.endswith(".Execute") else p)
    if "autograder.nbgrader_engine.SealedAutograde" not in out:
        out.insert(0, "autograder.nbgrader_engine.SealedAutograde")
    return out
