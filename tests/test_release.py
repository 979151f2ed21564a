"""What students receive: the release notebooks and the cnnkit package hold no
solution and no hidden test, and the autograder is not part of the package."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from tests.kit import ASSIGNMENTS, ROOT, release_path, source_notebook


def _split_lines(hw: str) -> tuple[list[str], set[str]]:
    """(lines of the solutions and model answers, lines of everything students are given)."""
    solution, given = [], set()
    for cell in source_notebook(hw)["cells"]:
        md = cell["metadata"].get("nbgrader", {})
        inside = False
        for line in cell["source"].splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside or (md.get("solution") and cell["cell_type"] == "markdown"):
                if len(line.strip()) >= 30:
                    solution.append(line.strip())
            else:
                given.add(line.strip())
    return solution, given


def solution_lines(hw: str) -> list[str]:
    """Solution lines that are not also part of what students are given: a generic line
    (``for i, layer in enumerate(layers):``) may appear in a given sanity check, and an
    instruction may spell out a step (``gen = torch.Generator().manual_seed(seed)``)."""
    solution, given = _split_lines(hw)
    return [line for line in solution if not any(line in g for g in given)]


def test_source_notebooks_match_authoring():
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "build_notebooks.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_release_has_no_solutions_or_hidden_tests(hw):
    text = release_path(hw).read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "autograder.nbcell", "Model answer"):
        assert marker not in text, marker
    leaked = [line for line in solution_lines(hw) if line in text]
    assert not leaked, leaked[:5]
    assert len(solution_lines(hw)) > 10  # the check above is not vacuous


@pytest.mark.parametrize("hw", ASSIGNMENTS)
def test_student_package_has_no_solutions(hw):
    code = "\n".join(p.read_text() for p in (ROOT / "cnnkit").rglob("*.py"))
    leaked = [line for line in solution_lines(hw) if line in code]
    assert not leaked, leaked[:5]


def test_wheel_holds_cnnkit_and_not_the_autograder(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("cnnkit/") for n in names)
    assert not [n for n in names if n.startswith(("autograder/", "tests/", "source/", "authoring/"))]
