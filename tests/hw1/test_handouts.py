"""HW1's handouts (English and Persian) state the points the grader gives: the
autograded items and their points, the total, and the written answers' points (the
manual cells of the source notebook)."""
from __future__ import annotations

import re

from autograder.core import get_assignment
from tests.kit import ROOT, source_notebook

HANDOUTS = {"en": ROOT / "assignments" / "hw1" / "README.md", "fa": ROOT / "assignments" / "hw1" / "README.fa.md"}
PERSIAN_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")


def _rows(text: str) -> dict[str, float]:
    """`hw1.item` -> points, from the handout's table of practical tasks."""
    rows = {}
    for item, points in re.findall(r"^\| `(hw1\.\w+)` \| ([۰-۹0-9.]+) \|", text, flags=re.M):
        rows[item] = float(points.translate(PERSIAN_DIGITS))
    return rows


def _manual_points() -> list[float]:
    cells = source_notebook("hw1")["cells"]
    return [c["metadata"]["nbgrader"]["points"] for c in cells
            if c["metadata"].get("nbgrader", {}).get("grade") and c["metadata"]["nbgrader"].get("solution")]


def test_the_handouts_point_tables_match_the_grader():
    items = {it.id: float(it.points) for it in get_assignment("hw1").items}
    for lang, path in HANDOUTS.items():
        text = path.read_text()
        assert _rows(text) == items, f"{lang}: the table of practical tasks differs from the grader's items"
        n = str(len(items)).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")) if lang == "fa" else str(len(items))
        assert f"{n} " in text.split("\n## ")[0], f"{lang}: the header does not give the number of items ({n})"


def test_the_handouts_state_the_written_total():
    points = _manual_points()
    total = sum(points)
    assert len(points) == 10 and total == 36
    for lang, path in HANDOUTS.items():
        text = path.read_text().translate(PERSIAN_DIGITS)
        header = text.split("\n## ")[0]
        assert f"**{total:g} " in header, f"{lang}: the header does not state the written total {total:g}"
        table = re.findall(r"^\| [^|]+ \| [^|]+ \| (\d+) \|$", text, flags=re.M)
        assert sorted(float(p) for p in table) == sorted(points), f"{lang}: the written answers' table differs"
        assert f"| **{total:g}** |" in text, f"{lang}: the written answers' table has no total {total:g}"


def test_every_written_answer_has_a_rubric_that_adds_up():
    for cell in source_notebook("hw1")["cells"]:
        md = cell["metadata"].get("nbgrader", {})
        if not (md.get("grade") and md.get("solution")):
            continue
        src = "".join(cell["source"])
        m = re.search(r"\*\*Rubric \((\d+) points?\)\.\*\*", src)
        assert m and float(m.group(1)) == md["points"], f"{md['grade_id']}: no rubric for its {md['points']:g} points"
