"""The class report (autograder/report.py) on a class of result files written here in
grade-all's format: the numbers on the page and in the CSV are the results', reasons
that differ only in their numbers group together and different ones do not, a
notebook that could not be graded is listed with why, feedback pages are linked
where they exist, and nothing a student wrote reaches the page unescaped."""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from autograder import report

ITEMS = [("hw1.batchnorm_forward", 8), ("hw1.batchnorm_backward", 10), ("hw1.conv1d", 8)]


def _result(student: str, points: dict[str, float], reasons: dict[str, str], seconds: float = 3.0) -> dict:
    items = []
    for item, mx in ITEMS:
        short = item.split(".", 1)[1]
        p = points.get(short, mx)
        items.append({"id": item, "points": p, "max_points": mx,
                      "reason": f"{short}: {reasons.get(short, 'all checks passed')}"})
    return {"student": student, "assignment": "hw1", "notebook": f"/x/{student}/hw1/hw1.ipynb", "sha256": "0" * 64,
            "seconds": seconds, "report": {"assignment": "hw1", "total": sum(i["points"] for i in items),
                                           "max": 26.0, "items": items, "manual": [], "notes": []}}


CLASS = {
    "ada": _result("ada", {}, {}),
    "bo": _result("bo", {"batchnorm_backward": 5.0},
                  {"batchnorm_backward": "dx: wrong values, max relative error 3.1e-01 (batch of 4) (and 2 more cases)"}),
    "cy": _result("cy", {"batchnorm_backward": 5.0},
                  {"batchnorm_backward": "dx: wrong values, max relative error 9.9e-02 (batch of 7)"}),
    "di": _result("di", {"batchnorm_backward": 0.0, "conv1d": 0.0},
                  {"batchnorm_backward": "dx: wrong shape (4, 3), expected (3, 4) (batch of 3); "
                                         "dgamma: wrong values, max relative error 1.0e+00 (batch of 3)",
                   "conv1d": "not implemented yet: `conv1d_forward` raises NotImplementedError"}),
    "<script>window.pwned=1</script>": _result(
        "<script>window.pwned=1</script>", {"conv1d": 2.5},
        {"conv1d": "conv1d_forward output: the call raised ValueError: <img src=x onerror=alert(1)>"}),
}
BROKEN = {"student": "ed", "assignment": "hw1", "notebook": "/x/ed/hw1/hw1.ipynb", "sha256": "1" * 64,
          "seconds": 0.1, "error": "the notebook is not valid JSON (line 3)"}


def write_class(results: Path) -> dict[str, dict]:
    (results / "hw1").mkdir(parents=True, exist_ok=True)
    rows = dict(CLASS, ed=BROKEN)
    for i, (student, r) in enumerate(rows.items()):
        (results / "hw1" / f"s{i}.json").write_text(json.dumps(r))
    (results / "grades.csv").write_text("student,assignment\n")  # grade-all's CSV: not a result
    return rows


@pytest.fixture
def built(tmp_path):
    results = tmp_path / "autograder-results"
    rows = write_class(results)
    fb = tmp_path / "feedback" / "bo" / "hw1"
    fb.mkdir(parents=True)
    (fb / "hw1.html").write_text("<html>feedback</html>")
    page, csv_path = report.write_report(results)
    return rows, page, csv_path


def test_reason_groups_abstract_numbers_only():
    a = report.reason_groups("batchnorm_backward", "batchnorm_backward: dx: wrong values, max relative error 3.1e-01 (batch of 4) (and 2 more cases)")
    b = report.reason_groups("batchnorm_backward", "batchnorm_backward: dx: wrong values, max relative error 9.9e-02 (batch of 7)")
    assert [(s, m) for s, m, _ in a] == [(s, m) for s, m, _ in b] == [("dx", "wrong values, max relative error # (batch of #)")]
    c = report.reason_groups("x", "x: dx: wrong shape (4, 3), expected (3, 4) (batch of 3); dgamma: wrong values (p; q)")
    assert [(s, m) for s, m, _ in c] == [("dx", "wrong shape (#, #), expected (#, #) (batch of #)"), ("dgamma", "wrong values (p; q)")]
    assert report.reason_groups("x", "x: all checks passed") == []
    # A colon inside brackets does not cut the stage off.
    (d,) = report.reason_groups("rb", "rb: `BasicBlock` not found (code cell 3 has a syntax error (line 1: expected ':'))")
    assert d[0] == "rb" and d[1] == "`BasicBlock` not found (code cell # has a syntax error (line #: expected ':'))"
    # Names with digits are not numbers.
    assert report.abstract("conv2d_forward on hw1 with 3 channels, 1e-5") == "conv2d_forward on hw1 with # channels, #"
    assert report.abstract("expected 272,474 (-272,474), shape (3, 3)") == "expected # (#), shape (#, #)"
    assert report.kind_of("wrong shape (#, #)") == "shape" and report.kind_of("wrong values, max relative error #") == "values"


def test_page_numbers_equal_the_results(built):
    rows, page, _ = built
    text = page.read_text()
    graded = {s: r["report"]["total"] for s, r in rows.items() if "report" in r}
    for student, total in graded.items():
        esc = report._e(student)
        m = re.search(rf"<tr data-student='{re.escape(esc)}'><td>[^<]*</td><td class='num total'>([^<]+)</td>", text)
        assert m, student
        assert float(m.group(1)) == pytest.approx(total)
    mean = sum(graded.values()) / len(graded)
    assert re.search(r"<b class='mean'>([^<]+)</b>", text).group(1) == report._fmt(mean)
    assert "<b class='n-students'>6</b>" in text and "<b class='n-graded'>5</b>" in text
    # batchnorm_backward: 2 full, 2 partial, 1 zero; the same reason with other numbers counts twice.
    bwd = text[text.index("data-item='hw1.batchnorm_backward'"):text.index("data-item='hw1.conv1d'")]
    assert "<b class='n-full'>2</b>" in bwd and "<b class='n-partial'>2</b>" in bwd and "<b class='n-zero'>1</b>" in bwd
    counts = re.findall(r"<td class='num n-reason'[^>]*>(\d+)</td><td><span class='tag'>[^<]*</span><code>([^<]*)</code></td>"
                        r"<td class='reason'>([^<]*)<", bwd)
    assert ("2", "dx", "wrong values, max relative error # (batch of #)") in counts
    assert ("1", "dx", "wrong shape (#, #), expected (#, #) (batch of #)") in counts
    assert text.count("<svg") == 1 + len(ITEMS)  # the totals and one histogram per item


def test_page_lists_ungraded_links_feedback_and_escapes(built):
    rows, page, _ = built
    text = page.read_text()
    assert "the notebook is not valid JSON (line 3)" in text.split("Notebooks that could not be graded")[1]
    assert "<a href='../feedback/bo/hw1/hw1.html'>feedback</a>" in text
    assert "<script>window.pwned" not in text and "<img src=x" not in text
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_csv_has_a_row_per_student_and_item(built):
    rows, _, csv_path = built
    with open(csv_path, newline="") as f:
        got = list(csv.DictReader(f))
    assert len(got) == 5 * len(ITEMS) + 1
    bo = {r["item"]: r for r in got if r["student"] == "bo"}
    assert float(bo["hw1.batchnorm_backward"]["points"]) == 5.0
    assert bo["hw1.batchnorm_backward"]["reason"].startswith("batchnorm_backward: dx: wrong values")
    ed = [r for r in got if r["student"] == "ed"]
    assert len(ed) == 1 and "not valid JSON" in ed[0]["reason"]


def test_after_grading_line_and_empty_folder(tmp_path):
    write_class(tmp_path / "out")
    line = report.after_grading(tmp_path / "out")
    assert line.startswith("class report: ") and (tmp_path / "out" / "report.html").is_file()
    (tmp_path / "empty").mkdir()
    page, _ = report.write_report(tmp_path / "empty")
    assert "No results found." in page.read_text()


def test_points_out_of_what_the_results_say(tmp_path):
    """Items are shown out of the results' max_points, even if the registry changed since."""
    r = _result("zo", {"batchnorm_backward": 3.0}, {"batchnorm_backward": "dx: wrong"})
    for i in r["report"]["items"]:
        if i["id"] == "hw1.batchnorm_backward":
            i["max_points"] = 12
    (tmp_path / "hw1").mkdir()
    (tmp_path / "hw1" / "zo.json").write_text(json.dumps(r))
    (stats,) = report.summarise(report.load_results(tmp_path))
    assert stats.items["hw1.batchnorm_backward"].max_points == 12
    page, _ = report.write_report(tmp_path)
    assert "batchnorm_backward 3/12" in page.read_text()
