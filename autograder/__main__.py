"""Command line: ``python -m autograder grade NOTEBOOK [--json]`` and ``list``."""
from __future__ import annotations

import argparse
import json
import os
import sys

from .core import DEFAULT_SEED, all_assignments
from .notebook import NotebookError


def _table(report) -> str:
    width = max([len(r.id) for r in report.items] + [10])
    lines = [f"{report.assignment}: {report.total:g} / {report.max:g} points (autograded)"]
    for r in report.items:
        mark = "ok " if r.points >= r.max_points else ("~  " if r.points > 0 else "x  ")
        reason = r.reason.split(": ", 1)[1] if ": " in r.reason else r.reason
        lines.append(f"  {mark}{r.id:<{width}} {r.points:>5g} / {r.max_points:<4g} {reason}")
    if report.manual:
        pts = sum(m["max_points"] for m in report.manual)
        lines.append(f"  + {len(report.manual)} written answers ({pts:g} points) for a TA to grade by hand")
    for n in report.notes:
        lines.append(f"  note: {n}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder", description="Grade course-kit notebooks.")
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("grade", help="grade one submitted notebook")
    g.add_argument("notebook")
    g.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    g.add_argument("--assignment", help="assignment id (default: read from the notebook)")
    g.add_argument("--item", action="append", help="grade only this item (repeatable)")
    g.add_argument("--seed", type=int, default=DEFAULT_SEED, help=argparse.SUPPRESS)
    ls = sub.add_parser("list", help="list assignments and their graded items")
    ls.add_argument("--ids", action="store_true", help="only the homework ids, on one line (for the Makefile)")
    b = sub.add_parser("grade-all", help="grade a folder of submissions: SUBMISSIONS_DIR/<student>/<assignment>/*.ipynb")
    b.add_argument("submissions")
    b.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    b.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="grading processes (default: one per core)")
    b.add_argument("--out", default=None, help="results folder (default: SUBMISSIONS_DIR/../autograder-results)")
    b.add_argument("--csv", default=None, help="CSV of grades (default: OUT/grades.csv)")
    b.add_argument("--gradebook", default=None, metavar="DB_URL",
                   help="also store the points in this nbgrader gradebook, e.g. sqlite:///gradebook.db")
    b.add_argument("--dask", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="grade on Dask distributed: a LocalCluster of --workers processes (no ADDRESS, or 'local'), "
                        "or the scheduler at ADDRESS, e.g. tcp://head-node:8786")
    b.add_argument("--scheduler", dest="dask", metavar="ADDRESS", help="same as --dask ADDRESS")
    b.add_argument("--slurm", type=int, default=0, metavar="JOBS",
                   help="start a dask-jobqueue SLURMCluster of JOBS jobs (configured in ~/.config/dask/jobqueue.yaml) and grade on it")
    b.add_argument("--no-progress", action="store_true")
    sub.add_parser("worker", help=argparse.SUPPRESS)
    from . import aftercli  # after grading: report, similarity (issue 16)

    aftercli.add_parsers(sub)
    args = p.parse_args(argv)
    if args.cmd in aftercli.COMMANDS:
        return aftercli.main(args)

    if args.cmd == "worker":
        from .batch import worker_main

        return worker_main()

    if args.cmd == "grade-all":
        from pathlib import Path

        from . import batch

        subs = Path(args.submissions)
        if not subs.is_dir():
            print(f"error: {subs} is not a folder", file=sys.stderr)
            return 2
        out = Path(args.out) if args.out else subs.resolve().parent / "autograder-results"
        jobs = batch.discover(subs, args.assignment)
        if not jobs:
            print(f"error: no submissions found under {subs} (expected <student>/<assignment>/<notebook>.ipynb)", file=sys.stderr)
            return 2
        csv_path = Path(args.csv) if args.csv else out / "grades.csv"
        if args.dask or args.slurm:
            from . import cluster

            counts = cluster.run(jobs, out, address=args.dask, workers=args.workers, progress=not args.no_progress,
                                 slurm_jobs=args.slurm)
            engine = f"Dask ({'SLURMCluster' if args.slurm else args.dask}, {counts.get('workers', 0)} workers)"
        else:
            counts = batch.run(jobs, out, workers=args.workers, progress=not args.no_progress)
            engine = f"{max(1, min(args.workers, counts['total'] - counts['skipped']))} local workers"
        rows = batch.load_results(out, sorted({j.assignment for j in jobs}))
        batch.write_csv(out, rows, csv_path)
        print(f"{counts['total']} submissions: {counts['graded']} graded now, {counts['skipped']} already graded, "
              f"{counts['errors']} could not be graded; results in {out}, grades in {csv_path}")
        if counts["graded"]:
            from .isolate import describe

            print(f"engine: {engine}; " + describe(counts.get("isolation") or {"why": ["no worker reported it"]}))
            if not (os.environ.get("COURSE_KIT_SECRET") or os.environ.get("COURSE_KIT_SECRET_FILE")):
                print("note: no course secret is set (COURSE_KIT_SECRET): the held-out sets of the grader-trained "
                      "items use the public default, which a student who read this repository could predict")
        if args.gradebook:
            try:
                n = batch.write_gradebook(rows, args.gradebook)
            except batch.GradebookError as e:
                print(f"error: gradebook {args.gradebook}: {e}", file=sys.stderr)
                return 1
            print(f"gradebook {args.gradebook}: {n} submissions stored")
        from .report import after_grading

        print(after_grading(out))
        return 0

    if args.cmd == "list":
        if args.ids:
            from .probes import HOMEWORKS

            print(" ".join(HOMEWORKS))
            return 0
        for hw in all_assignments():
            print(f"{hw.id} ({hw.notebook}): {hw.max_points:g} points")
            for it in hw.items:
                print(f"  {it.id:<32} {it.points:>4g}  {it.title}")
        return 0

    from .engine import EngineError
    from .grading import grade_notebook

    try:
        report = grade_notebook(args.notebook, args.assignment, args.item, args.seed,
                                parallel=max(1, min(2, os.cpu_count() or 1)))
    except EngineError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except NotebookError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyError as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
