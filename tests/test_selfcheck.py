"""cnnkit.self_check(): what a student still has to do, read from the notebook and the
kernel, in the notebook's order, in English and Persian, and never a hidden test.
Also the cells the notebook builder adds to every notebook (install cell first,
self-check last, a Persian opening) and its refusal to overwrite hand edits."""
from __future__ import annotations

import copy
import json
import shutil
import sys

import pytest

from cnnkit import selfcheck
from cnnkit.selfcheck import collect, report
from autograder import notebooks as build_notebooks
from tests.kit import ASSIGNMENTS, ROOT, get_assignment, release_path, source_notebook


def release_notebook(hw: str) -> dict:
    nb = json.loads(release_path(hw).read_text())
    for c in nb["cells"]:                       # nbgrader writes sources as lists of lines
        c["source"] = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
    return nb


def findings(sections, kind):
    return [(s.title, f.name) for s in sections for f in s.findings if f.kind == kind]


def cell_index(nb: dict, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_blank_release_lists_every_function_and_answer_in_order(hw):
    nb = release_notebook(hw)
    sections = collect(nb)
    items = [s for s in sections if s.kind == "item"]
    answers = [s for s in sections if s.kind == "answer"]
    src = source_notebook(hw)
    n_tests = sum(1 for c in src["cells"] if c["metadata"].get("nbgrader", {}).get("grade") and c["cell_type"] == "code")
    n_manual = sum(1 for c in src["cells"] if c["metadata"].get("nbgrader", {}).get("solution") and c["cell_type"] == "markdown")
    assert len(items) == n_tests and len(answers) == n_manual
    assert all(s.findings for s in answers)                      # every written answer is empty
    # every function of a solution cell whose stub is still there, by name
    stubbed = []
    for c in nb["cells"]:
        if c["metadata"].get("nbgrader", {}).get("solution") and c["cell_type"] == "code":
            name = None
            for line in c["source"].splitlines():
                if line.lstrip().startswith("def ") or line.startswith("class "):
                    name = line.split()[1].split("(")[0].rstrip(":")
                    if line.startswith("    def ") and cls:
                        name = f"{cls}.{name}"
                    elif line.startswith("class "):
                        cls = name
                    if line.startswith("def "):
                        cls = None
                elif "raise NotImplementedError" in line and name and (not stubbed or stubbed[-1] != name):
                    stubbed.append(name)
    assert [name for _, name in findings(sections, "stub")] == stubbed
    with_stub = [s for s in items if any(f.kind == "stub" for f in s.findings)]
    assert len(with_stub) >= len(items) - 2       # an item may grade functions written for an earlier one
    if hw == "hw1":
        assert with_stub == items
    # the notebook's own order: findings' cells increase
    cells = [f.cell for s in sections for f in s.findings]
    assert cells == sorted(cells)
    assert not findings(sections, "not_run")   # nothing has run: one line says so instead


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_reference_solution_has_nothing_missing(hw):
    sections = collect(source_notebook(hw))
    assert not findings(sections, "stub") and not findings(sections, "answer")


def test_half_done_notebook_names_the_function_the_fail_and_the_answer():
    nb = copy.deepcopy(source_notebook("hw1"))
    blank = release_notebook("hw1")
    # conv1d_backward back to its stub, one written answer back to empty
    i = cell_index(nb, "conv1d_backward")
    nb["cells"][i]["source"] = blank["cells"][cell_index(blank, "conv1d_backward")]["source"]
    nb["cells"][cell_index(nb, "bn_written")]["source"] = "YOUR ANSWER HERE"
    # a sanity cell that printed a FAIL line, another that stopped with an error
    sanity = [k for k, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and c["source"].startswith("# Sanity check")]
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            c["execution_count"], c["outputs"] = 1, [{"output_type": "stream", "name": "stdout", "text": "PASS  fine\n"}]
    nb["cells"][sanity[0]]["outputs"] = [{"output_type": "stream", "name": "stdout",
                                          "text": "PASS  a\nFAIL  train-mode std is gamma: relative error 3.1e-01\n"}]
    nb["cells"][sanity[1]]["outputs"] = [{"output_type": "error", "ename": "ValueError", "evalue": "shapes differ",
                                          "traceback": []}]
    sections = collect(nb)
    by_title = {s.title.split(" ")[0]: s for s in sections}
    assert findings(sections, "stub") == [(by_title["hw1.conv1d"].title, "conv1d_backward")]
    assert [f.name for f in by_title["hw1.batchnorm_forward"].findings] == \
        ["FAIL  train-mode std is gamma: relative error 3.1e-01"]
    assert [(f.kind, f.name, f.detail) for f in by_title["hw1.batchnorm_backward"].findings] == \
        [("error", "ValueError", "shapes differ")]
    assert len(findings(sections, "answer")) == 1
    plain, rich = report(sections, "hw1.ipynb", "test")
    assert "conv1d_backward still raises NotImplementedError" in plain
    assert f"graded items with something left: 3 of {len(get_assignment('hw1').items)}" in plain.lower()
    assert "هنوز" in plain and 'dir="rtl"' in rich                 # Persian, right to left
    assert plain.index("hw1.batchnorm_forward") < plain.index("hw1.conv1d")


def test_the_kernel_definitions_win_over_the_saved_cells():
    nb = source_notebook("hw1")          # saved: every function written

    def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):
        raise NotImplementedError()

    sections = collect(nb, {"batchnorm_forward": batchnorm_forward})
    stub = [f for s in sections for f in s.findings if f.kind == "stub"]
    assert [(f.name, bool(f.detail)) for f in stub] == [("batchnorm_forward", True)]   # "run its cell again"

    blank = release_notebook("hw1")      # saved: every function a stub; the kernel has one written

    def conv1d_forward(x, k, stride=1):
        return x

    names = [f.name for s in collect(blank, {"conv1d_forward": conv1d_forward}) for f in s.findings if f.kind == "stub"]
    assert "conv1d_forward" not in names and "conv1d_backward" in names


def test_a_cell_that_does_not_parse_is_named():
    nb = copy.deepcopy(release_notebook("hw1"))
    nb["cells"][cell_index(nb, "batchnorm_forward")]["source"] = "def batchnorm_forward(x:\n    pass"
    assert findings(collect(nb), "syntax")


def test_self_check_prints_english_and_persian_and_nothing_on_stderr(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_KIT_GRADING", raising=False)
    path = tmp_path / "hw1.ipynb"
    shutil.copy(release_path("hw1"), path)
    assert selfcheck.self_check(path) is None                     # no bare value under the cell
    out, err = capsys.readouterr()
    assert err == ""
    assert "batchnorm_forward still raises NotImplementedError" in out and "خودآزمایی" in out
    monkeypatch.chdir(tmp_path)                                    # found beside the kernel
    selfcheck.self_check()
    assert "Self-check of hw1.ipynb" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path.parent)
    selfcheck.self_check(tmp_path / "missing.ipynb")               # a problem is one line, not a traceback
    out, err = capsys.readouterr()
    assert out.startswith("self-check could not run") and err == ""


def test_self_check_does_nothing_while_grading(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setattr(selfcheck, "collect", lambda *a, **k: pytest.fail("read the notebook while grading"))
    selfcheck.self_check(release_path("hw1"))
    out, err = capsys.readouterr()
    assert out == "self-check: skipped while grading\n" and err == ""


def test_self_check_in_a_kernel_sees_what_ran(tmp_path):
    """A real kernel: the blank release with batchnorm_forward written in the kernel
    (not saved), then the self-check cell; it runs no grader."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.reads(release_path("hw1").read_text(), as_version=4)
    path = tmp_path / "hw1.ipynb"
    nbformat.write(nb, path)                       # saved: all stubs
    solution = next(c for c in source_notebook("hw1")["cells"]
                    if c["metadata"].get("nbgrader", {}).get("grade_id") == "batchnorm_forward")["source"]
    run = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import numpy as np\n" + solution),
        nbformat.v4.new_code_cell("import cnnkit, sys\ncnnkit.self_check()\n"
                                  "print('graders imported:', any(m.startswith('autograder') for m in sys.modules))"),
    ])
    env_cells = NotebookClient(run, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    env_cells.execute()
    outs = run.cells[1].outputs
    text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outs)
    html = "".join(o.get("data", {}).get("text/html", "") for o in outs)
    assert not [o for o in outs if o.get("name") == "stderr"]
    assert "Self-check of hw1.ipynb" in text
    assert "batchnorm_forward still raises" not in text          # written in the kernel
    assert "batchnorm_backward still raises NotImplementedError" in text
    assert 'dir="rtl"' in html
    assert "graders imported: False" in text


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_every_notebook_starts_with_the_install_cell_and_ends_with_the_self_check(hw):
    setting = build_notebooks.requirement()
    for nb in (source_notebook(hw), release_notebook(hw)):
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert "install_course_package" in code[0]["source"]
        assert f'COURSE_PACKAGE = "{setting}"' in code[0]["source"]
        assert "cnnkit.self_check()" in code[-1]["source"]
        opening = nb["cells"][0]["source"]
        assert '<div dir="rtl">' in opening
        handouts = build_notebooks.settings()["handouts"]
        assert f"]({handouts}/{hw}/README.fa.md)" in opening and f"]({handouts}/{hw}/README.md)" in opening
        assert "{{handouts}}" not in json.dumps(nb)
    assert "cnn-course-kit[student] @ " + build_notebooks.settings()["package_url"] in \
        (ROOT / "README.md").read_text()
    assert build_notebooks.requirement("student") in (ROOT / "environment-student.yml").read_text()


def test_hand_edits_to_a_source_notebook_are_not_overwritten(tmp_path, monkeypatch, capsys):
    for name in ("authoring", "source"):
        shutil.copytree(ROOT / name, tmp_path / name)
    for name in ("course.cfg", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setattr(build_notebooks, "ROOT", tmp_path)
    target = tmp_path / "source" / "hw1" / "hw1.ipynb"
    assert not build_notebooks.edited_by_hand(target, "hw1")
    nb = json.loads(target.read_text())
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]   # running is no edit
    target.write_text(json.dumps(nb))
    assert not build_notebooks.edited_by_hand(target, "hw1")
    nb["cells"][cell_index(nb, "batchnorm_forward")]["source"] += "\n# a fix made in Jupyter"
    edited = json.dumps(nb)
    target.write_text(edited)
    assert build_notebooks.edited_by_hand(target, "hw1")
    monkeypatch.setattr(sys, "argv", ["build_notebooks.py", "hw1"])
    assert build_notebooks.main() == 1
    assert "refusing to overwrite source/hw1/hw1.ipynb" in capsys.readouterr().out
    assert target.read_text() == edited
    monkeypatch.setattr(sys, "argv", ["build_notebooks.py", "hw1", "--force"])
    assert build_notebooks.main() == 0
    assert target.read_text() == (ROOT / "source" / "hw1" / "hw1.ipynb").read_text()
