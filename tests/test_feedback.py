"""The feedback summary (autograder/feedback.py) rendered by its exporter on an
autograded notebook written here, as nbgrader's GenerateFeedback would hand it over
(GetGrades' scores in the metadata, hidden tests cleared): the summary names every
task with its points and the grader's reason, written answers say whether a TA has
graded them, the index names the tasks, and a reason is escaped. The same page made
by `nbgrader generate_feedback` on a real course is checked in tests/test_browser.py."""
from __future__ import annotations

import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from autograder.feedback import FeedbackExporter, FeedbackSummary, reason_of


def _test_cell(short: str, score: float, points: float, reason: str):
    c = new_code_cell("# Hidden tests for hw1.%s run here when the notebook is graded." % short)
    c.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "grade_id": f"{short}_tests",
                              "points": points, "score": score, "schema_version": 3}
    c.outputs = [new_output("stream", name="stdout", text=f"hw1.{short}: {score:g} / {points:g} points. {reason}\n"),
                 new_output("execute_result", data={"text/plain": repr(float(score))}, execution_count=1)]
    return c


def _notebook():
    question = new_markdown_cell("**Written question 1 (6 points, 000 Q3).** Give two benefits of BatchNorm.")
    answer = new_markdown_cell("It normalizes.")
    answer.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "grade_id": "bn_written",
                                   "points": 6.0, "score": 4.0, "comment": "Say why it helps optimization.",
                                   "schema_version": 3}
    return new_notebook(cells=[
        new_markdown_cell("# HW1"),
        _test_cell("batchnorm_forward", 8, 8, "all checks passed"),
        _test_cell("batchnorm_backward", 5, 10, "dx: wrong values, max relative error 3.1e-01 <b>(batch of 4)</b>"),
        question, answer,
    ])


def _render(nb):
    resources = {"nbgrader": {"notebook": "hw1", "assignment": "hw1", "student": "bo", "score": 17.0,
                              "max_score": 24.0, "late_penalty": 0, "db_url": "sqlite:////nonexistent/gradebook.db"}}
    exporter = FeedbackExporter()
    exporter.register_preprocessor(FeedbackSummary(), enabled=True)
    html, _ = exporter.from_notebook_node(nb, resources=resources)
    return html.replace('"', "'")  # the page comes back re-serialized with double quotes


def test_reason_of_strips_the_item_and_points():
    cell = _test_cell("dropout", 3.87, 6, "not implemented yet: `gaussian_dropout` raises NotImplementedError")
    assert reason_of(cell) == "not implemented yet: `gaussian_dropout` raises NotImplementedError"
    cell.outputs = [new_output("error", ename="NotGraded", evalue="engine down", traceback=[])]
    assert reason_of(cell) == "the test cell raised NotGraded: engine down"


def test_summary_and_named_index():
    html = _render(_notebook())
    summary = html[html.index("id='course-kit-summary'"):]
    summary = summary[:summary.index("</table>")]
    rows = re.findall(r"<tr class='ck-row ck-(\w+)' data-grade-id='(\w+)'><td>(.*?)</td>.*?<b>([^<]*)</b></td>"
                      r"<td class='ck-reason'>(.*?)</td>", summary)
    assert [(k, g) for k, g, *_ in rows] == [("task", "batchnorm_forward_tests"), ("task", "batchnorm_backward_tests"),
                                             ("written", "bn_written")]
    assert "BatchNorm forward: train, eval, running statistics" in rows[0][2] and rows[0][3] == "8 / 8"
    assert rows[1][3] == "5 / 10" and rows[1][4].startswith("dx: wrong values, max relative error 3.1e-01")
    assert "&lt;b&gt;(batch of 4)&lt;/b&gt;" in rows[1][4]  # escaped, not markup
    assert "Written question 1 (6 points, 000 Q3)" in rows[2][2] and rows[2][3] == "4 / 6"
    assert rows[2][4] == "Say why it helps optimization."
    assert "href='#batchnorm_backward_tests'" in summary
    # The index names the tasks instead of "Test cell".
    toc = html[html.index("<div id='toc'>"):html.index("</ol>")]
    assert "Test cell" not in toc and "BatchNorm backward: dx, dgamma, dbeta</a>" in toc
    assert "Written question 1 (6 points, 000 Q3)</a>" in toc


def test_ungraded_written_answer_says_so(monkeypatch):
    monkeypatch.setattr(FeedbackSummary, "_manual_state", lambda self, nbg: {"bn_written": {"needs_manual_grade": True}})
    nb = _notebook()
    nb.cells[-1].metadata["nbgrader"].update(score=0.0, comment="")
    html = _render(nb)
    row = re.search(r"data-grade-id='bn_written'>.*?</tr>", html).group(0)
    assert "- / 6" in row and "not graded yet" in row
    assert "written answers worth 6 points not graded yet" in html


def test_notebook_without_grades_renders_plainly():
    html = _render(nbformat.v4.new_notebook(cells=[new_markdown_cell("# nothing graded")]))
    assert "course-kit-summary" not in html and "nothing graded" in html


def test_quiet_filter_drops_only_unchanged_hidden_test_cells(tmp_path):
    """nbgrader_config.py's log filter: the checksum warning of a released test cell
    handed in unchanged is dropped; one for a cell the student edited is kept."""
    import json
    import logging

    from autograder.nbgrader_logs import QuietFilter

    rel = tmp_path / "release" / "hw1"
    rel.mkdir(parents=True)
    cell = {"cell_type": "code", "source": "# Hidden tests", "outputs": [], "execution_count": None,
            "metadata": {"nbgrader": {"grade_id": "pooling_tests", "locked": True, "checksum": "abc"}}}
    (rel / "hw1.ipynb").write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    flt = QuietFilter(str(tmp_path))

    def record(msg, *args):
        return logging.LogRecord("AutogradeApp", logging.WARNING, __file__, 1, msg, args, None)

    fmt = "Attribute '%s' for cell %s has changed! (should be: %s, got: %s)"
    assert not flt.filter(record(fmt, "checksum", "pooling_tests", "with-hidden-tests", "abc"))
    assert flt.filter(record(fmt, "checksum", "pooling_tests", "with-hidden-tests", "edited-by-student"))
    assert flt.filter(record(fmt, "points", "pooling_tests", 7.0, 70.0))
    assert not flt.filter(record("Alternative text is missing on 3 image(s)."))
    assert flt.filter(record("Removing existing assignment: %s", "/x"))
