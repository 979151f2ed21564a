"""End to end with nbgrader itself, in a throw-away course folder:
generate_assignment reproduces the committed release/ exactly; autograde gives
the reference full autograded marks and the blank release zero, with the same
per-item points as our command-line grader; feedback shows no hidden test and no
solution; grade-all fills nbgrader's gradebook with the same points. The tests of
one assignment share its autograded course and run on one pytest-xdist worker
(tests/conftest.py), so the assignments are autograded in parallel."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.grading import grade_notebook
from autograder.submissions import make_submission, solution_text, write
from tests.kit import ASSIGNMENTS, ROOT, get_assignment, source_notebook

STUDENTS = ("ref", "blank", "noisy")


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT)
    env.pop("COURSE_KIT_GRADEBOOK", None)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", root)
    shutil.copytree(ROOT / "source", root / "source")
    for hw in ASSIGNMENTS:
        nbgrader(root, "generate_assignment", hw, "--force")
    return root


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_release_is_what_nbgrader_generates(course, hw):
    nb = get_assignment(hw).notebook
    made = (course / "release" / hw / nb).read_bytes()
    committed = (ROOT / "release" / hw / nb).read_bytes()
    assert made == committed, f"release/{hw}/{nb} is stale: run `make release`"
    assert sorted(p.name for p in (course / "release" / hw).iterdir()) == sorted(p.name for p in (ROOT / "release" / hw).iterdir())


# The stderr case is a property of the hidden-test cell, the same in every homework:
# it is checked on HW1, the quickest to autograde.
NOISY_HW = "hw1"


def students(hw: str) -> tuple[str, ...]:
    return STUDENTS if hw == NOISY_HW else ("ref", "blank")


PAIRS = [(hw, s) for hw in ASSIGNMENTS for s in students(hw)]


@pytest.fixture(scope="module")
def graded(course):
    """``graded(hw)`` autogrades one assignment on first use (tests/conftest.py keeps the
    tests of one assignment on one pytest-xdist worker): the reference, the blank
    release, and for HW1 a correct notebook whose code also prints to stderr. Returns
    our command-line grader's report for each student."""
    done: dict = {}

    def run(hw: str) -> dict:
        if hw in done:
            return done[hw]
        a = get_assignment(hw)
        release = json.loads((course / "release" / hw / a.notebook).read_text())
        source = source_notebook(hw)
        first_code = next(c for c in source["cells"] if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution"))
        gid = first_code["metadata"]["nbgrader"]["grade_id"]
        noisy = "import sys\nprint('debug output', file=sys.stderr)\n" + solution_text(first_code["source"])
        subs = {"ref": make_submission(release, source), "blank": make_submission(release, source, fill=set()),
                "noisy": make_submission(release, source, replace={gid: noisy})}
        reports = {}
        for student in students(hw):
            path = write(subs[student], course / "submitted" / student / hw / a.notebook)
            reports[student] = grade_notebook(path, hw)
        nbgrader(course, "autograde", hw, "--force")
        nbgrader(course, "generate_feedback", hw, "--force")
        done[hw] = reports
        return reports

    return run


def _scores(course, hw, student):
    from nbgrader.api import Gradebook

    a = get_assignment(hw)
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        nb = gb.find_submission_notebook(a.notebook[: -len(".ipynb")], hw, student)
        return {g.name[: -len("_tests")]: g.score for g in nb.grades if g.cell_type == "code"}, nb.code_score, nb.max_code_score


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_autograde_reference_full_blank_zero(course, graded, hw):
    graded(hw)
    per_item, score, max_score = _scores(course, hw, "ref")
    assert score == max_score == get_assignment(hw).max_points, per_item
    per_item, score, _ = _scores(course, hw, "blank")
    assert score == 0, per_item
    if "noisy" in students(hw):
        per_item, score, max_score = _scores(course, hw, "noisy")
        assert score == max_score, f"stderr in a student's cell cost points: {per_item}"


@pytest.mark.parametrize("hw,student", PAIRS)
def test_nbgrader_and_cli_agree_per_item(course, graded, hw, student):
    reports = graded(hw)
    per_item, _, _ = _scores(course, hw, student)
    ours = {r.id.split(".", 1)[1]: r.points for r in reports[student].items}
    assert per_item == ours


@pytest.mark.parametrize("hw,student", PAIRS)
def test_feedback_hides_tests_and_solutions(course, graded, hw, student):
    graded(hw)
    a = get_assignment(hw)
    html = (course / "feedback" / student / hw / a.notebook.replace(".ipynb", ".html")).read_text()
    assert "BEGIN HIDDEN TESTS" not in html and "autograder.nbcell" not in html
    if student == "blank":  # the others hand in (mostly) the reference itself
        for line in _solution_lines(hw):
            assert line not in html, f"a solution line leaked into {student}'s feedback: {line}"


def _solution_lines(hw: str) -> list[str]:
    import html

    from tests.test_release import solution_lines

    return [html.escape(line, quote=False) for line in solution_lines(hw)]


# grade-all against nbgrader's own gradebook: the quick NumPy homework and one whose
# items train models.
@pytest.mark.parametrize("hw", ["hw1", "hw3"])
def test_batch_grader_fills_the_gradebook_like_autograde(course, graded, hw):
    """grade-all --gradebook stores the same points nbgrader autograde stored."""
    from nbgrader.api import Gradebook

    graded(hw)
    who = students(hw)
    before = {s: _scores(course, hw, s)[0] for s in who}
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:  # forget autograde's points
        for s in who:
            for nb in gb.find_submission(hw, s).notebooks:
                for g in nb.grades:
                    g.auto_score = 0.0
        gb.db.commit()
    assert all(v == 0 for s in who for v in _scores(course, hw, s)[0].values())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(course / "submitted"), "--no-progress",
                           "--assignment", hw, "--out", str(course / f"results-{hw}"),
                           "--gradebook", "sqlite:///" + str(course / "gradebook.db")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    after = {s: _scores(course, hw, s)[0] for s in who}
    assert after == before
    nbgrader(course, "export", "--to", str(course / f"grades-{hw}.csv"))
    assert "ref" in (course / f"grades-{hw}.csv").read_text()
