"""`make demo`: a small class graded end to end with nbgrader and with our grader.

For each assignment: four demo students hand in the reference solution, the blank
release, a half-done notebook and a broken one (a syntax error, a renamed
function, a function that calls sys.exit). nbgrader autogrades them with the
SQLite gradebook, the grade table is printed, HTML feedback is written with the
hidden tests cleared and grades are exported to CSV. At the end grade-all grades
the same class: its totals are printed beside nbgrader's, followed by the class
report's path and where the feedback is.
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

try:
    import autograder  # noqa: F401  (the staff package: the repository itself, not an installed one)
except ModuleNotFoundError:  # started as a file: run again as a module of the repository
    if __name__ == "__main__":
        import os
        import subprocess

        _env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
        sys.exit(subprocess.call([sys.executable, "-m", "tools.demo", *sys.argv[1:]], env=_env))
    raise

from autograder.core import get_assignment  # noqa: E402
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

    return finish(hws, db_url)


def finish(hws: list[str], db_url: str) -> int:
    """The last lines: grade-all over the class, the grade table (nbgrader's points
    beside grade-all's), the class report and where the feedback is."""
    from nbgrader.api import Gradebook

    from autograder.report import load_results

    out = ROOT / "autograder-results"
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", "submitted", "--out", str(out), "--no-progress",
                           *[x for hw in hws for x in ("--assignment", hw)]], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        return proc.returncode
    print(f"\ngrade-all: {time.monotonic() - start:.1f} s for {len(hws) * len(STUDENTS)} submissions")
    ours = {(r["assignment"], r["student"]): r for r in load_results(out)}
    print(f"\n{'assignment':<11} {'student':<16} {'nbgrader (auto)':>16} {'grade-all':>12}   written answers")
    with Gradebook(db_url) as gb:
        for hw in hws:
            for student in STUDENTS:
                sub = gb.find_submission(hw, student)
                r = ours.get((hw, student), {})
                mine = f"{r['report']['total']:g} / {r['report']['max']:g}" if "report" in r else "error"
                manual = "to grade by hand" if sub.needs_manual_grade else "graded"
                print(f"{hw:<11} {student:<16} {sub.code_score:>9g} / {sub.max_code_score:<4g} {mine:>12}   {manual}")
    report_line = next((line for line in proc.stdout.splitlines() if line.startswith("class report:")), "")
    print("\n" + (report_line or f"class report: python -m autograder report {out}"))
    nb = get_assignment(hws[0]).notebook.replace(".ipynb", ".html")
    print(f"feedback (nbgrader, hidden tests cleared): feedback/<student>/<assignment>/, e.g. "
          f"feedback/{STUDENTS[2]}/{hws[0]}/{nb}; grades exported to exports/grades.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["hw1"]))
