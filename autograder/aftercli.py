"""The after-grading subcommands of ``python -m autograder``: ``report`` and ``similarity``
(kept out of ``__main__`` so that the grading commands stay as they are)."""
from __future__ import annotations

import sys
from pathlib import Path

COMMANDS = ("report", "similarity")


def add_parsers(sub) -> None:
    r = sub.add_parser("report", help="class report of grade-all's results: RESULTS_DIR -> report.html and report.csv")
    r.add_argument("results", help="the results folder grade-all wrote (OUT/<assignment>/<student>.json)")
    r.add_argument("--out", default=None, help="the HTML page (default: RESULTS_DIR/report.html; the CSV goes beside it)")
    r.add_argument("--feedback", default=None,
                   help="nbgrader's feedback folder, to link each student's page (default: RESULTS_DIR/../feedback)")
    s = sub.add_parser("similarity", help="compare the students' solution code pair by pair (winnowed fingerprints)")
    s.add_argument("submissions", help="SUBMISSIONS_DIR/<student>/<assignment>/<notebook>.ipynb")
    s.add_argument("--assignment", required=True)
    s.add_argument("--out", default=None, help="the HTML page (default: SUBMISSIONS_DIR/../similarity-<assignment>.html)")
    s.add_argument("--release", default=None, help="the release notebook whose code is removed (default: release/<assignment>/)")
    s.add_argument("--threshold", type=float, default=None, help="score from which a pair is reported (default: 0.35)")
    s.add_argument("--top", type=int, default=20, help="pairs shown side by side (at least every pair above the threshold)")
    s.add_argument("--common", type=float, default=None,
                   help="ignore code more than this share of the class holds (default 0.5; 1 keeps everything)")


def main(args) -> int:
    if args.cmd == "report":
        from .report import write_report

        results = Path(args.results)
        if not results.is_dir():
            print(f"error: {results} is not a folder", file=sys.stderr)
            return 2
        page, csv_path = write_report(results, args.out, Path(args.feedback) if args.feedback else None)
        print(f"class report: {page}\nper-item CSV: {csv_path}")
        return 0
    from . import similarity

    subs = Path(args.submissions)
    if not subs.is_dir():
        print(f"error: {subs} is not a folder", file=sys.stderr)
        return 2
    try:
        page, pairs = similarity.run(subs, args.assignment, args.out, args.threshold, args.top,
                                     Path(args.release) if args.release else None, args.common)
    except KeyError as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    threshold = similarity.THRESHOLD if args.threshold is None else args.threshold
    flagged = [p for p in pairs if p.score >= threshold]
    print(f"{len(pairs)} pairs compared, {len(flagged)} at or above {threshold:g}:")
    for p in flagged[:args.top]:
        print(f"  {p.score:.2f}  {p.a} ~ {p.b}  ({p.shared} shared fingerprints)")
    print(f"side by side: {page}")
    return 0
