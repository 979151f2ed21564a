"""Feedback a student reads at a glance, through nbgrader's own feedback machinery.

``nbgrader generate_feedback`` runs the preprocessors ``nbgrader_config.py`` lists
(after ``GetGrades`` and ``ClearHiddenTests``) and renders the notebook with the
exporter it names. This module adds:

- :class:`FeedbackSummary`, a preprocessor that writes a summary for the top of the
  page: one row per graded task with its title, points and the reason the
  grader gave (the test cell's output), and one per written answer with its points
  once a TA has graded it (or "not graded yet") and the TA's comment, each row
  linking to its cell. It hands the summary and the task titles to the template;
- :class:`FeedbackExporter`, nbgrader's feedback template extended
  (``autograder/templates/course_kit_feedback``): the summary opens the notebook and
  the index at the top names each task ("BatchNorm backward (Score: 5.0 / 10.0)") instead of saying
  "Test cell" fourteen times.

The summary shows only what the feedback page shows anyway (points, the printed
reason, the TA's comments): no hidden test and no solution.
"""
from __future__ import annotations

import html
import os
import re

from nbconvert.exporters import HTMLExporter
from traitlets import List, default

from nbgrader.preprocessors import NbGraderPreprocessor

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# "hw1.batchnorm_forward: 5 / 8 points. <reason>" (autograder/nbcell.py) -> "<reason>"
_PREFIX = re.compile(r"^\s*hw\d+\.\w+:\s*[-\d.]+\s*(?:/\s*[-\d.]+\s*)?points?\.?\s*")


def _md(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _text(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream" and o.get("name") == "stdout":
            out.append(o.get("text", ""))
        elif o.get("output_type") == "error":
            out.append(f"the test cell raised {o.get('ename', 'an error')}: {o.get('evalue', '')}")
    return "".join(out).strip()


def reason_of(cell) -> str:
    """What the grader printed in a test cell, without the item id and points."""
    lines = [_PREFIX.sub("", line).strip() for line in _text(cell).splitlines()]
    return " ".join(line for line in lines if line)


def _item_titles(assignment: str) -> dict[str, str]:
    try:
        from .core import get_assignment

        return {it.short: it.title or it.short for it in get_assignment(assignment).items}
    except Exception:  # noqa: BLE001 -- feedback still works without the graders
        return {}


def _question_title(cells, index: int) -> str:
    """A written answer's title: the bold lead of the markdown cell that asks it."""
    for j in range(index - 1, max(-1, index - 4), -1):
        c = cells[j]
        if c.get("cell_type") != "markdown":
            continue
        src = c.get("source", "")
        m = re.search(r"\*\*(.+?)\*\*", src, re.S)
        text = m.group(1) if m else src.strip().splitlines()[0].lstrip("# ") if src.strip() else ""
        text = " ".join(text.split()).rstrip(".")
        if text:
            return text if len(text) <= 90 else text[:87] + "..."
    return "Written answer"


def _num(x) -> str:
    try:
        return f"{float(x):g}"
    except (TypeError, ValueError):
        return "?"


class FeedbackSummary(NbGraderPreprocessor):
    """Hand the template the summary (``resources['course_kit']['summary']``, HTML
    with everything escaped) and the task titles (``['titles']``, grade_id -> title)."""

    # nbgrader's feedback app configures this on every preprocessor it runs.
    display_data_priority = List(["text/html", "text/plain"]).tag(config=True)

    def preprocess(self, nb, resources):
        nbg = resources.get("nbgrader", {})
        assignment = nbg.get("assignment", "")
        titles = _item_titles(assignment)
        manual = self._manual_state(nbg)
        rows, index_titles = [], {}
        got = total = 0.0
        pending = 0.0
        for i, cell in enumerate(nb.cells):
            md = _md(cell)
            if not md.get("grade"):
                continue
            gid = md.get("grade_id", "")
            score, points = md.get("score"), md.get("points")
            if cell.cell_type == "code" and not md.get("solution"):
                short = gid[: -len("_tests")] if gid.endswith("_tests") else gid
                title = titles.get(short, short.replace("_", " "))
                index_titles[gid] = title
                reason = reason_of(cell) or "no output from the grader"
                rows.append(("task", gid, title, score, points, reason))
            else:
                title = _question_title(nb.cells, i)
                index_titles[gid] = title
                state = manual.get(gid)
                comment = (md.get("comment") or "").strip()
                if state is not None and state["needs_manual_grade"]:
                    pending += float(points or 0)
                    total += float(points or 0)
                    rows.append(("written", gid, title, None, points, comment or "not graded yet"))
                    continue
                rows.append(("written", gid, title, score, points, comment))
            if score is not None:
                got += float(score)
            total += float(points or 0)
        kit = resources.setdefault("course_kit", {})
        kit["titles"] = index_titles
        # The template puts it at the top of the notebook (a raw cell would go through
        # nbconvert's HTML cleaner, which drops tables' headings and styles).
        kit["summary"] = self._html(rows, got, total, pending) if rows else ""
        return nb, resources

    def _manual_state(self, nbg: dict) -> dict:
        """grade_id -> {"needs_manual_grade": bool} for the written answers, from the gradebook."""
        try:
            from nbgrader.api import Gradebook

            with Gradebook(nbg["db_url"]) as gb:
                nb = gb.find_submission_notebook(nbg["notebook"], nbg["assignment"], nbg["student"])
                return {g.name: {"needs_manual_grade": bool(g.needs_manual_grade)}
                        for g in nb.grades if g.cell_type == "markdown"}
        except Exception:  # noqa: BLE001 -- without a gradebook, trust the scores GetGrades wrote
            return {}

    @staticmethod
    def _html(rows, got: float, total: float, pending: int) -> str:
        e = html.escape
        out = ["<div id='course-kit-summary' class='panel panel-info' style='margin-bottom:1.5em'>",
               "<div class='panel-heading'><h4 style='margin:0'>Summary: "
               f"<span class='ck-total'>{_num(got)}</span> / {_num(total)} points"
               + (f" (written answers worth {_num(pending)} points not graded yet)" if pending else "")
               + "</h4></div>",
               "<table class='table table-condensed' style='margin:0'>",
               "<thead><tr><th>Task</th><th style='text-align:right'>Points</th><th>What the grader says</th>"
               "<th></th></tr></thead><tbody>"]
        for kind, gid, title, score, points, reason in rows:
            if score is None:
                pts, colour = f"- / {_num(points)}", "#777"
            else:
                full = points is not None and float(score) >= float(points)
                pts = f"{_num(score)} / {_num(points)}"
                colour = "#2e7d32" if full else ("#b26a00" if float(score) > 0 else "#c62828")
            label = "" if kind == "task" else "<small style='color:#777'>(written)</small> "
            out.append(f"<tr class='ck-row ck-{kind}' data-grade-id='{e(gid)}'><td>{label}{e(title)}</td>"
                       f"<td class='ck-points' style='text-align:right;white-space:nowrap;color:{colour}'><b>{e(pts)}</b></td>"
                       f"<td class='ck-reason'>{e(reason)}</td>"
                       f"<td style='white-space:nowrap'><a href='#{e(gid)}'>go to cell</a></td></tr>")
        out.append("</tbody></table></div>")
        return "".join(out)


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page, with the tasks named in its index. nbgrader sets
    ``HTMLExporter.template_name = 'feedback'`` on every feedback run, which this
    class inherits; the course's template is put back after that."""

    def __init__(self, config=None, **kwargs):
        from traitlets.config import Config

        c = Config(config) if config is not None else Config()
        c.FeedbackExporter.template_name = "course_kit_feedback"  # beats HTMLExporter's section
        c.FeedbackExporter.extra_template_basedirs = self._extra_template_basedirs_default()
        # Where "feedback/index.html.j2" (which ours extends) and bootstrap.min.css are found.
        c.FeedbackExporter.extra_template_paths = [_nbgrader_templates(),
                                                   os.path.join(_nbgrader_dir(), "server_extensions", "formgrader",
                                                                "static", "node_modules", "bootstrap", "dist", "css")]
        super().__init__(config=c, **kwargs)

    @default("template_name")
    def _template_name_default(self):
        return "course_kit_feedback"

    @default("extra_template_basedirs")
    def _extra_template_basedirs_default(self):
        return [TEMPLATES, _nbgrader_templates()]


def _nbgrader_dir() -> str:
    import nbgrader

    return os.path.dirname(os.path.abspath(nbgrader.__file__))


def _nbgrader_templates() -> str:
    return os.path.join(_nbgrader_dir(), "server_extensions", "formgrader", "templates")
