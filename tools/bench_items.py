"""Per-homework grading costs: `python tools/bench_items.py [--hw hw1 ...] [--repeat 3]`.

For each homework, on its reference solution (the source notebook):
  - one submission with `python -m autograder grade` in a fresh process (torch
    imported, probe servers started: what a TA pays for one notebook), median of
    --repeat runs, wall and CPU seconds;
  - one submission on a warm engine (what each submission costs inside grade-all or
    nbgrader autograde), median of --repeat runs;
  - the per-item overhead of the sealed engine: a child's seconds outside the probe
    itself (fork, namespaces, private root, loading the student's definitions),
    median and largest over the homework's items.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cli_once(hw: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(ROOT / "source" / hw / f"{hw}.ipynb")],
                   cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--hw", action="append")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    sys.path.insert(0, str(ROOT))
    from autograder import grading
    from autograder import notebook as nbmod
    from autograder.core import ASSIGNMENT_MODULES

    hws = args.hw or sorted(ASSIGNMENT_MODULES)
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    for hw in hws:
        runs = [cli_once(hw) for _ in range(args.repeat)]
        cells = nbmod.code_cells(nbmod.read_notebook(ROOT / "source" / hw / f"{hw}.ipynb"))
        grading.grade_cells(cells, hw, parallel=2)  # warm the engine and the judges
        warm, over = [], []
        for _ in range(args.repeat):
            t = time.monotonic()
            r = grading.grade_cells(cells, hw, parallel=2)
            warm.append(time.monotonic() - t)
            over += [i.overhead for i in r.items if i.overhead is not None]
        med = statistics.median
        print(f"{hw}: one submission, fresh CLI: median {med(w for w, _ in runs):.1f} s wall "
              f"({', '.join(f'{w:.1f}' for w, _ in runs)}), {med(c for _, c in runs):.1f} s CPU; "
              f"warm engine: median {med(warm):.1f} s ({', '.join(f'{w:.1f}' for w in warm)}); "
              f"per-item overhead: median {med(over):.3f} s, largest {max(over):.3f} s over {len(over)} children; "
              f"{r.total:g}/{r.max:g} points")
    print(f"load average after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
