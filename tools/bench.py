"""Grading-speed benchmark: `python tools/bench.py [--n 40] [--repeat 3] [--rounds 1] [--hw hw1]
[--dask] [--gradebook URL] [--json OUT]`.

In a throw-away course folder: N submissions (reference, blank, half-done in turn).
Measures, in one run on one machine:
  - one submission with `python -m autograder grade` (median of --repeat runs);
  - one submission with `nbgrader autograde --student` (median of --repeat runs);
  - all N with `nbgrader autograde` through the sealed engine (this kit's configuration);
  - all N with *stock* `nbgrader autograde` (--stock): nbgrader's own Execute in the
    student's kernel, on the same notebooks whose hidden-test cells are classic: each
    runs the item's probe and judge in the kernel and asserts full points (the same
    checks, executed the way plain nbgrader courses do);
  - all N with `python -m autograder grade-all`, 1 worker and 2 workers;
  - the per-submission overhead of grade-all: wall time per submission minus the
    time the graders themselves took (the reports' own `seconds`);
  - with --dask: all N with `grade-all --dask --workers 2` (a Dask LocalCluster of
    two worker processes), storing the points in the gradebook at --gradebook (for
    example a PostgreSQL URL; the assignment is released into it first);
  - with --rounds R: every whole-class run R times, medians reported.
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


def timed(cmd: list[str], cwd: Path, **extra_env) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **extra_env)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    t = time.monotonic()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def runs(xs: list[float]) -> str:
    return "median of " + ", ".join(f"{x:.1f}" for x in xs) if len(xs) > 1 else f"{xs[0]:.1f}"


STOCK_CONFIG = """c = get_config()  # noqa: F821
import os
c.CourseDirectory.course_id = "stock-bench"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
c.Execute.timeout = 600
"""

CLASSIC_CELL = """### BEGIN HIDDEN TESTS
from autograder.core import Checker, find_item
from autograder.probes import registry
from autograder.probes.runtime import Namespace
_item = find_item({item!r})
_ck = Checker(_item.points)
_item.judge(registry()[_item.id](Namespace(globals()), 2024), 2024, _ck)
assert _ck.result()[0] == _item.points, _ck.result()[1]
### END HIDDEN TESTS
"""


def make_stock_course(course: Path, hw: str, n: int) -> Path:
    """A plain nbgrader course: stock configuration (Execute in the student's kernel)
    and the same notebook whose hidden-test cells are classic asserts running the
    item's probe and judge in the kernel; the same N submissions."""
    a = get_assignment(hw)
    stock = course / "stock"
    (stock / "source" / hw).mkdir(parents=True)
    (stock / "nbgrader_config.py").write_text(STOCK_CONFIG)
    src = json.loads((course / "source" / hw / a.notebook).read_text())
    for cell in src["cells"]:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if md.get("grade") and not md.get("solution") and cell["cell_type"] == "code":
            item = f"{hw}.{md['grade_id'][:-len('_tests')]}"
            cell["source"] = CLASSIC_CELL.format(item=item)
    (stock / "source" / hw / a.notebook).write_text(json.dumps(src))
    py = sys.executable
    timed([py, "-m", "nbgrader", "generate_assignment", hw, "--force"], stock)
    release = json.loads((stock / "release" / hw / a.notebook).read_text())
    ids = solution_cells(src)
    kinds = [make_submission(release, src), make_submission(release, src, fill=set()),
             make_submission(release, src, fill=set(ids[::2]))]
    for i in range(n):
        write(kinds[i % 3], stock / "submitted" / f"s{i:03d}" / hw / a.notebook)
    return stock


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--hw", default="hw1")
    p.add_argument("--rounds", type=int, default=1, help="repeat every whole-class run this many times (medians)")
    p.add_argument("--dask", action="store_true", help="also grade-all --dask --workers 2 (a LocalCluster of two workers)")
    p.add_argument("--gradebook", default="", help="with --dask: store the points in this gradebook (e.g. postgresql://...)")
    p.add_argument("--skip-nbgrader", action="store_true", help="leave nbgrader autograde out")
    p.add_argument("--stock", action="store_true", help="also stock nbgrader (kernel + classic assert cells)")
    p.add_argument("--json", default="", help="also write the figures here")
    args = p.parse_args()
    hw, a = args.hw, get_assignment(args.hw)
    course = Path(tempfile.mkdtemp(prefix="ckbench-"))
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "source" / hw, course / "source" / hw)
    py = sys.executable
    timed([py, "-m", "nbgrader", "generate_assignment", hw, "--force"], course)
    if args.gradebook:
        timed([py, "-m", "nbgrader", "generate_assignment", hw, "--force"], course, COURSE_KIT_GRADEBOOK=args.gradebook)
    source = json.loads((course / "source" / hw / a.notebook).read_text())
    release = json.loads((course / "release" / hw / a.notebook).read_text())
    ids = solution_cells(source)
    kinds = [make_submission(release, source), make_submission(release, source, fill=set()),
             make_submission(release, source, fill=set(ids[::2]))]
    for i in range(args.n):
        write(kinds[i % 3], course / "submitted" / f"s{i:03d}" / hw / a.notebook)
    one = course / "submitted" / "s000" / hw / a.notebook
    subs = course / "submitted"

    stock = make_stock_course(course, hw, args.n) if args.stock else None

    fig: dict = {"n": args.n, "hw": hw, "cores": os.cpu_count(), "loadavg_before": os.getloadavg()}
    fig["cli_one"] = [timed([py, "-m", "autograder", "grade", str(one)], ROOT) for _ in range(args.repeat)]
    if not args.skip_nbgrader:
        fig["nbgrader_one"] = [timed([py, "-m", "nbgrader", "autograde", hw, "--student", "s000", "--force"], course)
                               for _ in range(args.repeat)]

    def grade_all(tag: str, *extra: str) -> tuple[float, float]:
        out = course / f"results-{tag}"
        shutil.rmtree(out, ignore_errors=True)
        t = timed([py, "-m", "autograder", "grade-all", str(subs), "--no-progress", "--out", str(out), *extra], ROOT)
        graded = [json.loads(f.read_text()) for f in out.glob(f"{hw}/*.json")]
        return t, sum(g.get("seconds", 0) for g in graded) / len(graded)

    for r in range(args.rounds):
        if not args.skip_nbgrader:
            fig.setdefault("nbgrader_all", []).append(timed([py, "-m", "nbgrader", "autograde", hw, "--force"], course))
        if stock is not None:
            fig.setdefault("stock_all", []).append(timed([py, "-m", "nbgrader", "autograde", hw, "--force"], stock))
        for workers in (1, 2):
            t, inside = grade_all(f"{workers}", "--workers", str(workers))
            fig.setdefault(f"grade_all_{workers}", []).append(t)
            fig.setdefault(f"inside_{workers}", []).append(inside)
        if args.dask:
            extra = ["--gradebook", args.gradebook] if args.gradebook else []
            t, inside = grade_all("dask", "--dask", "--workers", "2", *extra)
            fig.setdefault("dask_2", []).append(t)
            fig.setdefault("inside_dask", []).append(inside)
    fig["loadavg_after"] = os.getloadavg()
    n = args.n
    t1, t2, per1 = med(fig["grade_all_1"]), med(fig["grade_all_2"]), med(fig["inside_1"])
    print(f"course folder: {course}  ({n} submissions of {hw}, {os.cpu_count()} cores, load average before "
          f"{fig['loadavg_before'][0]:.2f}, after {fig['loadavg_after'][0]:.2f})")
    print(f"one submission, python -m autograder grade : median {med(fig['cli_one']):.2f} s  ({', '.join(f'{x:.2f}' for x in fig['cli_one'])})")
    if "nbgrader_one" in fig:
        print(f"one submission, nbgrader autograde         : median {med(fig['nbgrader_one']):.2f} s  ({', '.join(f'{x:.2f}' for x in fig['nbgrader_one'])})")
        nbg = med(fig["nbgrader_all"])
        print(f"{n} submissions, nbgrader autograde       : {runs(fig['nbgrader_all'])} s ({nbg / n:.2f} s each)")
    print(f"{n} submissions, grade-all, 1 worker     : {runs(fig['grade_all_1'])} s ({t1 / n:.2f} s each; graders themselves "
          f"{per1:.2f} s each, overhead {t1 / n - per1:.2f} s each)")
    print(f"{n} submissions, grade-all, 2 workers    : {runs(fig['grade_all_2'])} s ({t2 / n:.2f} s each)")
    if args.dask:
        td = med(fig["dask_2"])
        print(f"{n} submissions, grade-all --dask, 2 workers{' + gradebook ' + args.gradebook.split('@')[-1] if args.gradebook else ''}: "
              f"{runs(fig['dask_2'])} s ({td / n:.2f} s each; graders themselves {med(fig['inside_dask']):.2f} s each)")
    if "stock_all" in fig:
        st = med(fig["stock_all"])
        print(f"{n} submissions, stock nbgrader (kernel, classic asserts): {runs(fig['stock_all'])} s ({st / n:.2f} s each)")
        if "nbgrader_all" in fig:
            print(f"nbgrader autograde through the engine vs stock nbgrader: {st / med(fig['nbgrader_all']):.1f}x faster")
    line = f"speed-up 1 -> 2 workers: {t1 / t2:.2f}x"
    if "nbgrader_all" in fig:
        line += f";  grade-all (2 workers) vs nbgrader autograde: {med(fig['nbgrader_all']) / t2:.1f}x faster"
    print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
