"""End to end with nbgrader itself, in a throw-away course folder:
generate_assignment reproduces the committed release/ exactly; autograde gives
the reference full autograded marks and the blank release zero, with the same
per-item points as our command-line grader; feedback shows no hidden test and no
solution."""
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


@pytest.fixture(scope="module")
def graded(course):
    """Autograde three students per assignment: reference, blank, and a correct
    notebook whose code also prints to stderr."""
    reports = {}
    for hw in ASSIGNMENTS:
        a = get_assignment(hw)
        release = json.loads((course / "release" / hw / a.notebook).read_text())
        source = source_notebook(hw)
        first_code = next(c for c in source["cells"] if c["cell_type"] == "code" and c["metadata"].get("nbgrader", {}).get("solution"))
        gid = first_code["metadata"]["nbgrader"]["grade_id"]
        noisy = "import sys\nprint('debug output', file=sys.stderr)\n" + solution_text(first_code["source"])
        subs = {"ref": make_submission(release, source), "blank": make_submission(release, source, fill=set()),
                "noisy": make_submission(release, source, replace={gid: noisy})}
        for student, nb in subs.items():
            path = write(nb, course / "submitted" / student / hw / a.notebook)
            reports[hw, student] = grade_notebook(path, hw)
        nbgrader(course, "autograde", hw, "--force")
        nbgrader(course, "generate_feedback", hw, "--force")
    return reports


def _scores(course, hw, student):
    from nbgrader.api import Gradebook

    a = get_assignment(hw)
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:
        nb = gb.find_submission_notebook(a.notebook[: -len(".ipynb")], hw, student)
        return {g.name[: -len("_tests")]: g.score for g in nb.grades if g.cell_type == "code"}, nb.code_score, nb.max_code_score


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_autograde_reference_full_blank_zero(course, graded, hw):
    per_item, score, max_score = _scores(course, hw, "ref")
    assert score == max_score == get_assignment(hw).max_points, per_item
    per_item, score, _ = _scores(course, hw, "blank")
    assert score == 0, per_item
    per_item, score, max_score = _scores(course, hw, "noisy")
    assert score == max_score, f"stderr in a student's cell cost points: {per_item}"


@pytest.mark.parametrize("hw", ASSIGNMENTS)
@pytest.mark.parametrize("student", STUDENTS)
def test_nbgrader_and_cli_agree_per_item(course, graded, hw, student):
    per_item, _, _ = _scores(course, hw, student)
    ours = {r.id.split(".", 1)[1]: r.points for r in graded[hw, student].items}
    assert per_item == ours


@pytest.mark.parametrize("hw", ASSIGNMENTS)
@pytest.mark.parametrize("student", STUDENTS)
def test_feedback_hides_tests_and_solutions(course, graded, hw, student):
    a = get_assignment(hw)
    html = (course / "feedback" / student / hw / a.notebook.replace(".ipynb", ".html")).read_text()
    assert "BEGIN HIDDEN TESTS" not in html and "autograder.nbcell" not in html
    if student == "blank":  # the others hand in (mostly) the reference itself
        for line in _solution_lines(hw):
            assert line not in html, f"a solution line leaked into {student}'s feedback: {line}"


def _solution_lines(hw: str) -> list[str]:
    import html

    out = []
    for cell in source_notebook(hw)["cells"]:
        src = cell["source"]
        inside = False
        for line in src.splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and len(line.strip()) >= 30:
                out.append(html.escape(line.strip(), quote=False))
    return out


def test_batch_grader_fills_the_gradebook_like_autograde(course, graded):
    """grade-all --gradebook stores the same points nbgrader autograde stored."""
    from nbgrader.api import Gradebook

    before = {(hw, s): _scores(course, hw, s)[0] for hw in ASSIGNMENTS for s in STUDENTS}
    with Gradebook("sqlite:///" + str(course / "gradebook.db")) as gb:  # forget autograde's points
        for hw in ASSIGNMENTS:
            for s in STUDENTS:
                for nb in gb.find_submission(hw, s).notebooks:
                    for g in nb.grades:
                        g.auto_score = 0.0
        gb.db.commit()
    assert all(v == 0 for hw in ASSIGNMENTS for s in STUDENTS for v in _scores(course, hw, s)[0].values())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(course / "submitted"), "--no-progress",
                           "--gradebook", "sqlite:///" + str(course / "gradebook.db")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    after = {(hw, s): _scores(course, hw, s)[0] for hw in ASSIGNMENTS for s in STUDENTS}
    assert after == before
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    assert "ref" in (course / "grades.csv").read_text()
