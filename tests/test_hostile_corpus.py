"""The hostile corpus (tests/hostile_corpus/) graded in ONE ``grade-all`` batch, between
two correct reference submissions: each attack gets the points it deserves, the
references keep full marks, the graders and the other results are unchanged, and no
process is left behind."""
from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from autograder import engine, isolate
from autograder.submissions import write
from tests.hostile_corpus.corpus import build, cases, reference
from tests.kit import ROOT, release_path, source_notebook

REFS = ("aaa_ref", "zzz_ref")  # graded first and last, beside the attacks


def _tree_digest() -> dict:
    out = {}
    for folder in ("autograder", "tests", "source"):
        for p in sorted((ROOT / folder).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _orphans() -> set[str]:
    """Live processes running under a jail uid whose owner is gone.

    A jailed child kept by pid P runs as uid ``UID_BASE + P``; once it has ended, nothing
    should run under that uid any more. Children of graders still at work elsewhere
    (another pytest worker) have their owner alive and are not counted."""
    out = subprocess.run(["ps", "-eo", "uid=,pid=,stat=,comm="], capture_output=True, text=True).stdout.splitlines()
    rows = [line.split(None, 3) for line in out]
    alive = {int(r[1]) for r in rows}
    return {" ".join(r) for r in rows
            if int(r[0]) >= isolate.UID_BASE and "Z" not in r[2] and int(r[0]) - isolate.UID_BASE not in alive}


def _leftover_children() -> list[str]:
    # Two looks a second apart: a grader elsewhere that is just ending is not a leftover.
    first = _orphans()
    time.sleep(1.0)
    return sorted(first & _orphans())


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    isolation = engine.shared().isolation(())
    base = tmp_path_factory.mktemp("corpus")
    subs, out = base / "submitted", base / "autograder-results"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    got: list[bytes] = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            got.append(conn.recv(16) or b"connected")
            conn.close()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    release = json.loads(release_path("hw1").read_text())
    source = source_notebook("hw1")
    for r in REFS:
        write(reference(release, source), subs / r / "hw1" / "hw1.ipynb")
    all_cases = cases(ROOT, out, subs / REFS[0] / "hw1" / "hw1.ipynb", port)
    chosen = [c for c in all_cases if c.needs != "nproc" or isolation.get("max_tasks")]
    build(subs, release, source, chosen)
    before = _tree_digest()
    env = dict(os.environ, PYTHONPATH=str(ROOT), COURSE_KIT_TIMEOUT_SCALE="0.1")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade-all", str(subs), "--no-progress", "--workers", "2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - start
    time.sleep(0.5)
    stop.set()
    t.join()
    listener.close()
    after = _tree_digest()
    changed = [p for p in before if after.get(p) != before[p]] + [p for p in after if p not in before]
    results = {p.stem: json.loads(p.read_text()) for p in (out / "hw1").glob("*.json")}
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    return dict(proc=proc, isolation=isolation, cases={c.name: c for c in chosen}, results=results, rows=rows,
                changed=changed, connections=got, seconds=seconds, out=out, skipped=[c.name for c in all_cases if c not in chosen])


def _items(result):
    return {i["id"].split(".", 1)[1]: i for i in result["report"]["items"]}


def test_batch_ran_and_reports_isolation(batch):
    proc = batch["proc"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "isolation: " in proc.stdout
    if batch["isolation"]["level"] == "full":
        assert "isolation: full" in proc.stdout
    assert batch["seconds"] < 240


def test_references_beside_the_attacks_keep_full_marks(batch):
    for r in REFS:
        res = batch["results"][r]
        assert res["report"]["total"] == 100, [i for i in res["report"]["items"] if i["points"] < i["max_points"]]


def test_every_attack_gets_the_points_it_deserves(batch):
    wrong = []
    for name, case in batch["cases"].items():
        res = batch["results"][name]
        if case.expected == "error":
            if "error" not in res:
                wrong.append(f"{name}: graded, expected an error")
            continue
        items = _items(res)
        bn = items["batchnorm_backward"]
        ok = {"full": bn["points"] == 10, "zero": bn["points"] == 0, "partial": 0 < bn["points"] < 10,
              "less": bn["points"] < 10}[case.expected]
        if not ok:
            wrong.append(f"{name}: batchnorm_backward {bn['points']} (expected {case.expected}): {bn['reason']}")
        if case.reason and case.reason not in bn["reason"]:
            wrong.append(f"{name}: reason without {case.reason!r}: {bn['reason']}")
        others = [i for k, i in items.items() if k != "batchnorm_backward" and i["points"] != i["max_points"]]
        if others:
            wrong.append(f"{name}: other items lost points: {others}")
    assert not wrong, "\n".join(wrong)


def test_malformed_json_is_reported(batch):
    assert "not valid notebook JSON" in batch["rows"]["malformed_json"]["error"]


def test_graders_and_results_untouched(batch):
    assert not batch["changed"], f"files changed by the batch: {batch['changed']}"
    assert not (batch["out"] / "hw1" / "zz_fake.json").exists()
    for r in REFS:
        assert "written by a hostile" not in (batch["out"] / "hw1" / f"{r}.json").read_text()


def test_nothing_leaked_and_no_connection(batch):
    if batch["isolation"]["level"] != "full":
        pytest.skip(f"isolation is partial here: {batch['isolation']['why']}")
    assert batch["connections"] == [], "student code reached a server on loopback"
    assert _items(batch["results"]["read_hidden"])["batchnorm_backward"]["points"] == 10
    assert _items(batch["results"]["network"])["batchnorm_backward"]["points"] == 10


def test_output_is_capped_and_no_process_left(batch):
    size = sum(p.stat().st_size for p in batch["out"].rglob("*") if p.is_file())
    assert size < 5 * 2**20, f"results folder holds {size} bytes"
    if "fork_bomb" in batch["skipped"]:
        pytest.skip("the child's process count cannot be capped here, so the fork bomb was left out")
    if os.geteuid() == 0:
        assert _leftover_children() == []
