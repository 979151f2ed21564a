"""The sealed engine's own parts, without student notebooks: the bounded wire format,
bounded notebook reading, the linear definitions analysis, grade-all's discovery, and
the isolation the probe server's children get on this machine."""
from __future__ import annotations

import io
import json
import os
import random
import struct
import sys
import time

import numpy as np
import pytest

from autograder import batch, engine
from autograder import notebook as nbmod
from autograder.probes import wire
from autograder.probes.runtime import Bad
from tests.kit import ROOT


# --------------------------------------------------------------------------
# wire


def _stream(header, blobs=()) -> bytes:
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    out = wire.MAGIC + struct.pack("<I", len(h)) + h
    for b in blobs:
        out += struct.pack("<Q", len(b)) + b
    return out


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def test_wire_round_trip_keeps_types():
    value = {0: {"dx": np.arange(6.0).reshape(2, 3), "n": 3, "ok": True, "s": "text", "none": None},
             "t": (1, 2.5, [np.int64(4), np.float32(0.5)]), "nan": float("nan"), "inf": float("-inf"),
             "c": np.array([1 + 2j]), "bad": Bad("error", "ValueError: boom")}
    back = wire.decode(wire.encode(value))
    assert np.array_equal(back[0]["dx"], value[0]["dx"]) and back[0]["n"] == 3 and back[0]["ok"] is True
    assert back["t"][0] == 1 and isinstance(back["t"], tuple) and back["t"][2] == [4, 0.5]
    assert np.isnan(back["nan"]) and back["inf"] == float("-inf")
    assert back["c"].dtype.kind == "c" and back["bad"] == Bad("error", "ValueError: boom")


def test_wire_turns_objects_into_bad_values():
    class Sneaky:
        def __reduce__(self):
            raise AssertionError("never pickled")

    back = wire.decode(wire.encode({"x": Sneaky(), "o": np.array([object()], dtype=object)}))
    assert isinstance(back["x"], Bad) and "Sneaky" in back["x"].message
    assert isinstance(back["o"], Bad) and "dtype object" in back["o"].message


@pytest.mark.parametrize("name,stream", [
    ("deep json", _stream(b"[" * 100_000 + b"]" * 100_000)),
    ("one array named twice", _stream([{"__npy__": 0}, {"__npy__": 0}], [_npy(np.zeros(3))])),
    ("an array it does not hold", _stream({"__npy__": 3})),
    ("header over the cap", wire.MAGIC + struct.pack("<I", 2**31) + b"{}"),
    ("cut short", _stream([1, 2])[:-2]),
    ("not the format", b"\x80\x04pickle"),
    ("too many values", _stream([0] * 2_100_000)),
])
def test_wire_refuses_hostile_streams(name, stream):
    with pytest.raises(wire.WireError):
        wire.decode(stream)


def test_wire_bounds_the_total_of_array_bytes():
    blob = _npy(np.zeros(2**20 // 8 * 3))  # 3 MB
    with pytest.raises(wire.WireError, match="larger than"):
        wire.decode(_stream([{"__npy__": i} for i in range(3)], [blob] * 3), wire.Limits(array_bytes=8 * 2**20))


def test_wire_odd_arrays_become_bad_values():
    structured = _npy(np.zeros(2, dtype=[("a", "f8")]))
    lying = _npy(np.zeros(4))[:-8]  # the header says 4 values, 3 follow
    back = wire.decode(_stream([{"__npy__": 0}, {"__npy__": 1}], [structured, lying]))
    assert all(isinstance(b, Bad) for b in back)


def test_wire_random_bytes_only_ever_raise_wire_error():
    rng = random.Random(7)
    good = wire.encode({"a": np.arange(4.0), "b": [1, (2, 3)], "c": {"k": "v"}})
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        try:
            wire.decode(bytes(data))
        except wire.WireError:
            pass


# --------------------------------------------------------------------------
# reading notebooks, keeping definitions


def _nb(cells) -> bytes:
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def test_notebook_limits_and_odd_json_give_a_message(tmp_path):
    big = tmp_path / "big.ipynb"
    big.write_bytes(b" " * (nbmod.MAX_NOTEBOOK_BYTES + 1))
    deep = tmp_path / "deep.ipynb"
    deep.write_bytes(b'{"cells": ' + b"[" * 200_000 + b"]" * 200_000 + b"}")
    for path, words in ((big, "limit"), (deep, "nested too deeply")):
        with pytest.raises(nbmod.NotebookError, match=words):
            nbmod.read_notebook(path)
    link = tmp_path / "link.ipynb"
    link.symlink_to(ROOT / "source" / "hw1" / "hw1.ipynb")
    with pytest.raises(nbmod.NotebookError, match="symbolic link"):
        nbmod.read_notebook(link)


def test_cells_with_odd_metadata_are_read():
    nb = json.loads(_nb([{"cell_type": "code", "metadata": [], "source": "X = 1"},
                         {"cell_type": "code", "metadata": {"nbgrader": "x"}, "source": "Y = 2"},
                         {"cell_type": "markdown", "metadata": None, "source": "hi"}, "not a cell"]))
    assert nbmod.code_cells(nb) == ["X = 1", "Y = 2"]
    assert nbmod.manual_cells(nb) == []


def test_oversized_cells_are_skipped_with_a_note():
    huge = "DATA = [" + "1," * 3_000_000 + "]"
    ex = nbmod.extract(["def f():\n    return 1", huge])
    assert [s.names for s in ex.snippets] == [("f",)]
    assert "over the 128 kB limit" in ex.problems[0]


def test_definitions_analysis_is_linear():
    """16,000 chained assignments a definition needs: every one is kept, and four
    times as many take about four times as long, not sixteen (a ratio, measured
    in one run, with a wide margin for a busy machine)."""
    def chain(n):
        lines = ["a0 = 1"] + [f"a{i} = a{i - 1} + 1" for i in range(1, n)] + [f"def f():\n    return a{n - 1}"]
        cells = ["\n".join(lines[i:i + 4000]) for i in range(0, len(lines), 4000)]
        t = time.process_time()
        ex = nbmod.extract(cells)
        return time.process_time() - t, len(ex.snippets)

    t1, k1 = chain(4000)
    t4, k4 = chain(16000)
    assert (k1, k4) == (4001, 16001)
    assert t4 < 10 * max(t1, 0.05), (t1, t4)


# --------------------------------------------------------------------------
# grade-all's discovery


def test_discovery_refuses_links_and_never_reads_them(tmp_path):
    subs = tmp_path / "submitted"
    (subs / "alice" / "hw1").mkdir(parents=True)
    (subs / "alice" / "hw1" / "hw1.ipynb").write_text(json.dumps({"cells": []}))
    (subs / "bob").symlink_to(subs / "alice")
    (subs / "carol" / "hw1").mkdir(parents=True)
    (subs / "carol" / "hw1" / "hw1.ipynb").symlink_to("/etc/shadow")
    (subs / "dave").mkdir()
    (subs / "dave" / "hw1").symlink_to(ROOT / "source" / "hw1")
    jobs = {j.student: j for j in batch.discover(subs, ["hw1"])}
    assert not jobs["alice"].refused
    for who in ("bob", "carol", "dave"):
        assert "symbolic link" in jobs[who].refused
        assert batch.sha256(jobs[who]) == ""
        with pytest.raises(nbmod.NotebookError, match="symbolic link"):
            batch.read_submission(jobs[who])


# --------------------------------------------------------------------------
# the isolation the children get here


def test_isolation_self_test_reports_what_the_child_can_reach():
    iso = engine.shared().isolation(())
    assert iso["level"] in ("full", "partial")
    if iso["level"] == "partial":
        assert iso["why"], "a partial isolation says why"
        pytest.skip("this machine cannot isolate fully: " + "; ".join(iso["why"]))
    assert iso["proc"] == "own" and iso["max_tasks"]


def test_forbidden_packages_are_covered_on_disk_not_hooked():
    iso = engine.shared().isolation(("torch", "sklearn"))
    if iso["level"] != "full":
        pytest.skip("no mount namespace here")
    assert iso["ban"] == "mounts"
    assert any(p.endswith(os.sep + "torch") for p in iso["covered"])


def test_the_probe_server_environment_holds_no_secret(monkeypatch):
    monkeypatch.setenv("COURSE_KIT_SECRET", "s3cr3t-value")
    server = engine.Server(())
    try:
        server.wait_ready()
        with open(f"/proc/{server.proc.pid}/environ", "rb") as f:
            env = f.read()
    finally:
        server.close()
    assert b"s3cr3t-value" not in env and b"COURSE_KIT_SECRET" not in env
    assert sys.executable


def test_a_course_folder_under_tmp_grades_right(tmp_path):
    """The child's private /tmp is mounted before the folders it binds, so a course
    repository that lives under /tmp (throw-away courses, CI checkouts) keeps its
    student package visible; and a jail that cannot be built is never half-built."""
    import shutil
    import subprocess

    course = tmp_path / "course"
    for sub in ("autograder", "cnnkit", "data_scripts"):
        shutil.copytree(ROOT / sub, course / sub, ignore=shutil.ignore_patterns("__pycache__"))
    src = ("import glob\nimport cnnkit\n\ndef batchnorm_forward(*args, **kwargs):\n"
           "    raise ValueError('sees ' + cnnkit.__name__ + ' and ' + glob.__name__)\n")
    nb = tmp_path / "hw1.ipynb"
    nb.write_bytes(_nb([{"cell_type": "code", "metadata": {}, "source": src}]))
    env = dict(os.environ, PYTHONPATH=str(course))
    code = ("import sys, json\nfrom autograder import grading, engine\n"
            f"r = grading.grade_notebook({str(nb)!r}, 'hw1', items=['hw1.batchnorm_forward'])\n"
            "print(json.dumps([r.items[0].reason, r.notes, engine.shared().isolation(())]))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    reason, notes, iso = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "ValueError: sees cnnkit and glob" in reason, reason  # the child ran, with its packages
    assert not notes, notes
