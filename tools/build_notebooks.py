"""Build the nbgrader source notebooks from their text sources.

``authoring/<hw>/*.nbsrc`` (read in name order) is plain text: each cell starts
with a header line ``%% <kind> [key=value ...]``. Kinds:

    %% markdown                     instructions
    %% code                         a plain code cell (imports, sanity checks, plots)
    %% solution id=bn_forward       a code cell with ### BEGIN/END SOLUTION regions
    %% tests item=hw1.batchnorm_forward
                                    the hidden-test cell of one graded item; its
                                    body and points come from the autograder registry
    %% manual id=q_bn points=4      a written answer a TA grades; the body is the
                                    model answer, which the release replaces

Text diffs of these files are what instructors review; ``make notebooks`` (this
script) writes ``source/<hw>/<notebook>.ipynb`` and nbgrader makes ``release/``.
``--check`` fails if a committed source notebook differs from its build.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.core import get_assignment  # noqa: E402

HEADER = re.compile(r"^%% (\w+)(.*)$")


def tests_source(item_id: str, points: float) -> str:
    return (
        f"# Hidden tests for {item_id} ({points:g} points) run here when the notebook is graded.\n"
        "### BEGIN HIDDEN TESTS\n"
        "from autograder.nbcell import grade\n"
        f'grade("{item_id}")\n'
        "### END HIDDEN TESTS"
    )


def parse(text: str, origin: str) -> list[tuple[str, dict, str]]:
    cells: list[tuple[str, dict, list[str]]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        m = HEADER.match(line)
        if m:
            attrs = dict(kv.split("=", 1) for kv in m.group(2).split())
            cells.append((m.group(1), attrs, []))
        elif cells:
            cells[-1][2].append(line)
        elif line.strip():
            raise SystemExit(f"{origin}:{lineno}: text before the first '%% kind' header")
    return [(k, a, "\n".join(body).strip("\n")) for k, a, body in cells]


def build(hw: str) -> tuple[Path, dict]:
    assignment = get_assignment(hw)
    cells = []
    seen_ids: set[str] = set()
    seen_items: set[str] = set()
    for f in sorted((ROOT / "authoring" / hw).glob("*.nbsrc")):
        for kind, attrs, body in parse(f.read_text(), str(f)):
            n = len(cells)
            cid = f"cell-{n:03d}"
            if kind == "markdown":
                cells.append({"cell_type": "markdown", "id": cid, "metadata": {}, "source": body})
                continue
            meta: dict = {}
            if kind == "code":
                pass
            elif kind == "solution":
                meta = {"grade": False, "solution": True, "locked": False, "grade_id": attrs["id"], "schema_version": 3}
            elif kind == "tests":
                item = assignment.item(attrs["item"])
                seen_items.add(item.id)
                body = tests_source(item.id, item.points)
                meta = {"grade": True, "solution": False, "locked": True, "points": item.points,
                        "grade_id": f"{item.short}_tests", "schema_version": 3}
            elif kind == "manual":
                meta = {"grade": True, "solution": True, "locked": False, "points": float(attrs["points"]),
                        "grade_id": attrs["id"], "schema_version": 3}
                cells.append({"cell_type": "markdown", "id": cid, "metadata": {"nbgrader": meta}, "source": body})
                if attrs["id"] in seen_ids:
                    raise SystemExit(f"{f}: duplicate id {attrs['id']}")
                seen_ids.add(attrs["id"])
                continue
            else:
                raise SystemExit(f"{f}: unknown cell kind {kind!r}")
            if meta:
                if meta["grade_id"] in seen_ids:
                    raise SystemExit(f"{f}: duplicate id {meta['grade_id']}")
                seen_ids.add(meta["grade_id"])
                meta = {"nbgrader": meta}
            cells.append({"cell_type": "code", "id": cid, "metadata": meta, "source": body,
                          "outputs": [], "execution_count": None})
    missing = [it.id for it in assignment.items if it.id not in seen_items]
    if missing:
        raise SystemExit(f"{hw}: no hidden-test cell for {', '.join(missing)}")
    nb = {
        "cells": cells,
        "metadata": {
            "course_kit": {"assignment": hw},
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return ROOT / "source" / hw / assignment.notebook, nb


def dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("assignments", nargs="*")
    p.add_argument("--check", action="store_true")
    args = p.parse_args()
    hws = args.assignments or sorted(d.name for d in (ROOT / "authoring").iterdir() if d.is_dir())
    stale = []
    for hw in hws:
        path, nb = build(hw)
        text = dump(nb)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)} ({len(nb['cells'])} cells)")
    if stale:
        print("out of date with authoring/: " + ", ".join(stale) + " (run `make notebooks`)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
