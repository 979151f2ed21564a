"""`python -m autograder grade-all`: a class graded by pre-warmed workers, with
results written whole, resumable after a kill, and a re-run that changes nothing."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from autograder.submissions import make_submission, write
from tests.kit import ROOT, release_path, source_notebook

HANG = "def batchnorm_backward(dout, cache):\n    while True:\n        pass\n"


@pytest.fixture()
def klass(tmp_path):
    release = json.loads(release_path("hw1").read_text())
    src = source_notebook("hw1")
    subs = tmp_path / "submitted"
    notebooks = {
        "ref": make_submission(release, src),
        "blank": make_submission(release, src, fill=set()),
        "hang": make_submission(release, src, replace={"batchnorm_backward": HANG}),
        "ref2": make_submission(release, src),
    }
    for student, nb in notebooks.items():
        write(nb, subs / student / "hw1" / "hw1.ipynb")
    (subs / "broken" / "hw1").mkdir(parents=True)
    (subs / "broken" / "hw1" / "hw1.ipynb").write_text('{"cells": [')
    return subs


def grade_all(subs, *args, **popen):
    env = dict(os.environ, PYTHONPATH=str(ROOT), COURSE_KIT_TIMEOUT_SCALE="0.1")
    cmd = [sys.executable, "-m", "autograder", "grade-all", str(subs), "--no-progress", *args]
    if popen:
        return subprocess.Popen(cmd, env=env, cwd=ROOT, start_new_session=True, **popen)
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_grades_a_class_and_rerun_changes_nothing(klass):
    proc = grade_all(klass, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    out = klass.parent / "autograder-results"
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert set(rows) == {"ref", "blank", "hang", "ref2", "broken"}
    assert float(rows["ref"]["total"]) == float(rows["ref"]["max"]) == 100
    assert float(rows["ref2"]["total"]) == 100
    assert float(rows["blank"]["total"]) == 0
    assert float(rows["hang"]["hw1.batchnorm_backward"]) == 0 and float(rows["hang"]["hw1.batchnorm_forward"]) == 8
    assert float(rows["hang"]["total"]) == 90
    assert "not valid notebook JSON" in rows["broken"]["error"]
    hang = json.loads((out / "hw1" / "hang.json").read_text())
    assert "timed out" in next(i["reason"] for i in hang["report"]["items"] if i["id"] == "hw1.batchnorm_backward")

    before = {p: p.read_bytes() for p in out.glob("hw1/*.json")}
    again = grade_all(klass)
    assert again.returncode == 0 and "0 graded now, 5 already graded" in again.stdout
    assert {p: p.read_bytes() for p in out.glob("hw1/*.json")} == before


def test_resumes_after_a_kill(klass):
    out = klass.parent / "autograder-results"
    proc = grade_all(klass, "--workers", "1", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(out.glob("hw1/*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list(out.glob("hw1/*.json"))
    assert 1 <= len(done) < 5
    for p in done:  # every result on disk is whole
        json.loads(p.read_text())
    again = grade_all(klass, "--workers", "2")
    assert again.returncode == 0, again.stderr
    assert f"{5 - len(done)} graded now, {len(done)} already graded" in again.stdout
    assert len(list(out.glob("hw1/*.json"))) == 5


def test_changed_notebook_is_graded_again(klass):
    assert grade_all(klass).returncode == 0
    nb = klass / "blank" / "hw1" / "hw1.ipynb"
    write(make_submission(json.loads(release_path("hw1").read_text()), source_notebook("hw1")), nb)
    again = grade_all(klass)
    assert "1 graded now, 4 already graded" in again.stdout
    rows = {r["student"]: r for r in csv.DictReader(open(klass.parent / "autograder-results" / "grades.csv"))}
    assert float(rows["blank"]["total"]) == 100


def test_empty_folder_is_an_error(tmp_path):
    proc = grade_all(tmp_path)
    assert proc.returncode == 2 and "no submissions found" in proc.stderr


def test_csv_of_one_assignment_holds_only_its_rows(klass):
    """`grade-all --assignment hw1 --csv X`: X has hw1's rows only, though the results
    folder also holds another homework's (graded earlier in the same folder)."""
    (klass / "ref" / "hw2").mkdir()
    (klass / "ref" / "hw2" / "hw2.ipynb").write_text('{"cells": [')
    first = grade_all(klass)
    assert first.returncode == 0, first.stderr
    both = list(csv.DictReader(open(klass.parent / "autograder-results" / "grades.csv")))
    assert {r["assignment"] for r in both} == {"hw1", "hw2"}
    only = klass.parent / "hw1.csv"
    again = grade_all(klass, "--assignment", "hw1", "--csv", str(only))
    assert again.returncode == 0 and "0 graded now, 5 already graded" in again.stdout, again.stdout + again.stderr
    rows = list(csv.DictReader(open(only)))
    assert len(rows) == 5 and {r["assignment"] for r in rows} == {"hw1"}
    assert not any(k.startswith("hw2.") for k in rows[0])
