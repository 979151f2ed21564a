"""`make demo`: a small class graded end to end with nbgrader and with our grader.

For each assignment: four demo students hand in the reference solution, the blank
release, a half-done notebook and a broken one (a syntax error, a renamed
function, a function that calls sys.exit). nbgrader autogrades them with the
SQLite gradebook, the grade table is printed, HTML feedback is written with the
hidden tests cleared, grades are exported to CSV, and the command-line grader's
totals are printed beside nbgrader's.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.core import get_assignment  # noqa: E402
from autograder.grading import grade_notebook  # noqa: E402
from autograder.submissions import make_submission, solution_cells, write  # noqa: E402

STUDENTS = ["demo-reference", "demo-blank", "demo-partial", "demo-broken"]


def nbgrader(*args: str) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"], cwd=ROOT, check=True)
    return time.monotonic() - start


def build_class(hw: str) -> None:
    a = get_assignment(hw)
    source = json.loads((ROOT / "source" / hw / a.notebook).read_text())
    release = json.loads((ROOT / "release" / hw / a.notebook).read_text())
    ids = solution_cells(source)
    code_ids = [c["metadata"]["nbgrader"]["grade_id"] for c in source["cells"]
                if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    broken: dict[str, str] = {}
    if len(code_ids) >= 3:
        src = {c["metadata"]["nbgrader"]["grade_id"]: "".join(c["source"]) for c in source["cells"] if c.get("metadata", {}).get("nbgrader")}
        from autograder.submissions import solution_text

        first, second, third = (solution_text(src[i]) for i in code_ids[:3])
        broken[code_ids[0]] = first.replace("):", ")", 1)  # a syntax error
        name = second.split("def ", 1)[1].split("(", 1)[0]
        broken[code_ids[1]] = second.replace(f"def {name}(", f"def {name}_v2(", 1)  # renamed
        lines = third.splitlines()
        broken[code_ids[2]] = "\n".join(lines[:1] + ["    import sys", "    sys.exit(1)"] + lines[1:])
    subs = {
        "demo-reference": make_submission(release, source),
        "demo-blank": make_submission(release, source, fill=set()),
        "demo-partial": make_submission(release, source, fill=set(ids[::2])),
        "demo-broken": make_submission(release, source, replace=broken),
    }
    for student, nb in subs.items():
        folder = ROOT / "submitted" / student / hw
        shutil.rmtree(folder, ignore_errors=True)
        write(nb, folder / a.notebook)
        (folder / "timestamp.txt").write_text("2026-11-20 12:00:00.000000 UTC\n")


def main(hws: list[str]) -> int:
    from nbgrader.api import Gradebook

    db_url = os.environ.get("COURSE_KIT_GRADEBOOK", "sqlite:///" + str(ROOT / "gradebook.db"))
    for hw in hws:
        a = get_assignment(hw)
        print(f"\n=== {hw}: {a.title} ===")
        build_class(hw)
        print(f"demo class in submitted/: {', '.join(STUDENTS)}")
        t = nbgrader("autograde", hw, "--force")
        print(f"nbgrader autograde: {t:.1f} s for {len(STUDENTS)} submissions")
        t = nbgrader("generate_feedback", hw, "--force")
        print(f"nbgrader generate_feedback: {t:.1f} s -> feedback/<student>/{hw}/ (hidden tests cleared)")
        (ROOT / "exports").mkdir(exist_ok=True)
        nbgrader("export", "--to", str(ROOT / "exports" / "grades.csv"))
        print("grades exported to exports/grades.csv")

        with Gradebook(db_url) as gb:
            print(f"\n{'student':<16} {'nbgrader (auto)':>16} {'our grader':>12}   needs manual grading")
            for student in STUDENTS:
                sub = gb.find_submission(hw, student)
                ours = grade_notebook(ROOT / "submitted" / student / hw / a.notebook, hw)
                manual = "yes" if sub.needs_manual_grade else "no"
                print(f"{student:<16} {sub.code_score:>9g} / {sub.max_code_score:<4g} {ours.total:>6g} / {ours.max:<4g}   {manual}")
            print("\nper item, nbgrader:")
            for student in STUDENTS:
                nb = gb.find_submission_notebook(a.notebook[:-6], hw, student)
                items = [f"{g.name.replace('_tests', '')}={g.score:g}" for g in nb.grades if g.cell_type == "code"]
                print(f"  {student}: " + ", ".join(items))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["hw1"]))
