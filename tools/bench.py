"""Grading-speed benchmark: `python tools/bench.py [--n 40] [--repeat 3] [--hw hw1]`.

In a throw-away course folder: N submissions (reference, blank, half-done in turn).
Measures, in one run on one machine:
  - one submission with `python -m autograder grade` (median of --repeat runs);
  - one submission with `nbgrader autograde --student` (median of --repeat runs);
  - all N with `nbgrader autograde`;
  - all N with `python -m autograder grade-all`, 1 worker and 2 workers;
  - the per-submission overhead of grade-all: wall time per submission minus the
    time the graders themselves took (the reports' own `seconds`).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.core import get_assignment  # noqa: E402
from autograder.submissions import make_submission, solution_cells, write  # noqa: E402


def timed(cmd: list[str], cwd: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    t = time.monotonic()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--hw", default="hw1")
    args = p.parse_args()
    hw, a = args.hw, get_assignment(args.hw)
    course = Path(tempfile.mkdtemp(prefix="ckbench-"))
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / hw, course / "source" / hw)
    py = sys.executable
    timed([py, "-m", "nbgrader", "generate_assignment", hw, "--force"], course)
    source = json.loads((course / "source" / hw / a.notebook).read_text())
    release = json.loads((course / "release" / hw / a.notebook).read_text())
    ids = solution_cells(source)
    kinds = [make_submission(release, source), make_submission(release, source, fill=set()),
             make_submission(release, source, fill=set(ids[::2]))]
    for i in range(args.n):
        write(kinds[i % 3], course / "submitted" / f"s{i:03d}" / hw / a.notebook)
    one = course / "submitted" / "s000" / hw / a.notebook

    cli = [timed([py, "-m", "autograder", "grade", str(one)], ROOT) for _ in range(args.repeat)]
    nbg1 = [timed([py, "-m", "nbgrader", "autograde", hw, "--student", "s000", "--force"], course) for _ in range(args.repeat)]
    nbg_all = timed([py, "-m", "nbgrader", "autograde", hw, "--force"], course)
    rows = {}
    for workers in (1, 2):
        out = course / f"results-{workers}"
        t = timed([py, "-m", "autograder", "grade-all", str(course / "submitted"), "--no-progress",
                   "--workers", str(workers), "--out", str(out)], ROOT)
        graded = [json.loads(f.read_text()) for f in out.glob(f"{hw}/*.json")]
        inside = sum(g.get("seconds", 0) for g in graded)
        rows[workers] = (t, inside / len(graded))
    t1, per1 = rows[1]
    t2, _ = rows[2]
    print(f"course folder: {course}  ({args.n} submissions of {hw}, {os.cpu_count()} cores)")
    print(f"one submission, python -m autograder grade : median {statistics.median(cli):.2f} s  ({', '.join(f'{x:.2f}' for x in cli)})")
    print(f"one submission, nbgrader autograde         : median {statistics.median(nbg1):.2f} s  ({', '.join(f'{x:.2f}' for x in nbg1)})")
    print(f"{args.n} submissions, nbgrader autograde       : {nbg_all:.1f} s ({nbg_all / args.n:.2f} s each)")
    print(f"{args.n} submissions, grade-all, 1 worker     : {t1:.1f} s ({t1 / args.n:.2f} s each; graders themselves {per1:.2f} s each, "
          f"overhead {t1 / args.n - per1:.2f} s each)")
    print(f"{args.n} submissions, grade-all, 2 workers    : {t2:.1f} s ({t2 / args.n:.2f} s each)")
    print(f"speed-up 1 -> 2 workers: {t1 / t2:.2f}x;  grade-all (2 workers) vs nbgrader autograde: {nbg_all / t2:.1f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
