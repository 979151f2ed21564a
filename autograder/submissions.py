"""Making submissions from the source and release notebooks (demo class, tests)."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from .notebook import cell_source

_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


def solution_text(src: str) -> str:
    """A source solution cell as a student who solved it would leave it."""
    return "\n".join(line for line in src.splitlines() if not _MARKER.match(line))


def _grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution_cells(nb: dict) -> list[str]:
    """grade_ids of the cells a student fills in (code and written answers), in order."""
    return [_grade_id(c) for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def make_submission(release: dict, source: dict, fill: set[str] | None = None,
                    replace: dict[str, str] | None = None) -> dict:
    """The release notebook with solution cells filled in.

    ``fill``: grade_ids to fill with the reference solution (None: all);
    ``replace``: grade_id -> the text to put in that cell instead.
    """
    answers = {_grade_id(c): cell_source(c) for c in source["cells"] if _grade_id(c)}
    nb = copy.deepcopy(release)
    replace = replace or {}
    for cell in nb["cells"]:
        gid = _grade_id(cell)
        if not gid or not cell["metadata"]["nbgrader"].get("solution"):
            continue
        if gid in replace:
            cell["source"] = replace[gid]
        elif fill is None or gid in fill:
            cell["source"] = solution_text(answers[gid])
    return nb


def write(nb: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return path
