"""Run a notebook top to bottom in grading mode and report what a TA would see.

    python tools/run_notebook.py source/hw1/hw1.ipynb [--skip-hidden] [--timeout 600]

Grading mode is what nbgrader sets (``NBGRADER_EXECUTION=autograde``): the long runs
guarded by ``if not GRADING:`` are skipped. Prints the wall time, the slowest cells,
every cell that raised, every output on stderr, every sanity-check line that says
FAIL, every cell that shows a bare value (an ``Out[]``) and every sanity-check cell
(``# Sanity check`` first) that printed no PASS/FAIL line; exits 1 if a cell raised or a
check failed. ``--skip-hidden`` leaves out the
hidden-test cells (the graders are tested on their own), so what is timed is the
student-visible notebook.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, skip_hidden: bool = False, timeout: int = 600) -> dict:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.reads(path.read_text(), as_version=4)
    if skip_hidden:
        nb.cells = [c for c in nb.cells if "BEGIN HIDDEN TESTS" not in c.source]
    env_before = {k: os.environ.get(k) for k in ("NBGRADER_EXECUTION", "PYTHONPATH", "MPLBACKEND",
                                                 "COURSE_KIT_RUN_NOTEBOOK")}
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    os.environ["COURSE_KIT_RUN_NOTEBOOK"] = "1"  # the hidden-test cells may grade (autograder/nbcell.py)
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["PYTHONPATH"] = str(ROOT) + (os.pathsep + env_before["PYTHONPATH"] if env_before["PYTHONPATH"] else "")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    times: list[tuple[float, int]] = []
    start = time.monotonic()
    try:
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                t = time.monotonic()
                try:
                    client.execute_cell(cell, i)
                except CellExecutionError:
                    pass
                times.append((time.monotonic() - t, i))
    finally:
        for k, v in env_before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    seconds = time.monotonic() - start
    errors, stderr, fails, bare, silent = [], [], [], [], []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.lstrip().startswith("# Sanity check"):
            printed = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
            if not any(line.startswith(("PASS", "FAIL")) for line in printed.splitlines()):
                silent.append(f"cell {i}: a sanity check that printed no PASS/FAIL line")
        for out in cell.get("outputs", []):
            if out.get("output_type") == "execute_result":
                bare.append(f"cell {i}: shows a bare value: {out.get('data', {}).get('text/plain', '')[:80]}")
            if out.get("output_type") == "error":
                errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                stderr.append(f"cell {i}: {out.get('text', '').strip()[:300]}")
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                fails += [f"cell {i}: {line}" for line in out.get("text", "").splitlines() if line.startswith("FAIL")]
    slowest = sorted(times, reverse=True)[:5]
    return {"seconds": seconds, "errors": errors, "stderr": stderr, "fails": fails, "bare": bare, "silent": silent,
            "slowest": [(round(s, 2), i) for s, i in slowest], "cells": len(nb.cells)}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("notebook", type=Path)
    p.add_argument("--skip-hidden", action="store_true")
    p.add_argument("--timeout", type=int, default=600)
    args = p.parse_args()
    r = run(args.notebook.resolve(), args.skip_hidden, args.timeout)
    print(f"{args.notebook}: {r['cells']} cells in {r['seconds']:.1f} s (grading mode"
          f"{', hidden tests skipped' if args.skip_hidden else ''})")
    print("slowest cells (seconds, index):", r["slowest"])
    for key in ("errors", "stderr", "fails", "bare", "silent"):
        for line in r[key]:
            print(f"{key}: {line}")
    return 1 if r["errors"] or r["fails"] else 0


if __name__ == "__main__":
    sys.exit(main())
