"""The command-line grader on broken and hostile HW1 submissions.

Each case is a real notebook run through ``python -m autograder grade --json``:
the damaged item loses its points with a reason a student can act on, and every
other item keeps its full points.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from autograder.submissions import make_submission, write
from tests.kit import ROOT, release_path, source_notebook

BN_F, BN_B = "hw1.batchnorm_forward", "hw1.batchnorm_backward"


def run_cli(path, *extra, env=None, timeout=300):
    e = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), *extra],
                          capture_output=True, text=True, cwd=ROOT, env=e, timeout=timeout)


def submission(tmp_path, replace=None, extra_cells=(), name="hw1.ipynb"):
    release = json.loads(release_path("hw1").read_text())
    nb = make_submission(release, source_notebook("hw1"), replace=replace)
    for src in extra_cells:
        nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src})
    return write(nb, tmp_path / name)


def grade(tmp_path, items=(BN_F, BN_B), env=None, **kw):
    path = submission(tmp_path, **kw)
    args = ["--json"] + [a for i in items for a in ("--item", i)]
    proc = run_cli(path, *args, env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    return {r["id"]: r for r in report["items"]}, report


def full(r):
    return r["points"] == r["max_points"]


def test_reference_json_shape(tmp_path):
    items, report = grade(tmp_path)
    assert set(report) >= {"assignment", "total", "max", "items"}
    assert report["assignment"] == "hw1"
    assert all(set(r) == {"id", "points", "max_points", "reason", "seconds"} for r in report["items"])
    assert all(isinstance(r["seconds"], float) and 0 <= r["seconds"] < 600 for r in report["items"])
    assert report["total"] == report["max"] == sum(r["max_points"] for r in report["items"])


def test_malformed_json_is_a_clear_error(tmp_path):
    bad = tmp_path / "hw1.ipynb"
    bad.write_text('{"cells": [ {"cell_type": "code", ')
    proc = run_cli(bad, "--json")
    assert proc.returncode == 2
    assert "not valid notebook JSON" in proc.stderr and proc.stdout == ""


def test_json_that_is_not_a_notebook(tmp_path):
    bad = tmp_path / "hw1.ipynb"
    bad.write_text("[1, 2, 3]")
    proc = run_cli(bad)
    assert proc.returncode == 2 and "not a Jupyter notebook" in proc.stderr


def test_missing_file(tmp_path):
    proc = run_cli(tmp_path / "nope.ipynb", "--assignment", "hw1")
    assert proc.returncode == 2 and "cannot read" in proc.stderr


def test_deleted_function(tmp_path):
    items, _ = grade(tmp_path, replace={"batchnorm_backward": "# I gave up\n"})
    assert items[BN_B]["points"] == 0 and "not found" in items[BN_B]["reason"]
    assert full(items[BN_F])


def test_renamed_function(tmp_path):
    src = "def batchnorm_backward_v2(dout, cache):\n    return dout, dout[0], dout[0]\n"
    items, _ = grade(tmp_path, replace={"batchnorm_backward": src})
    assert items[BN_B]["points"] == 0 and "`batchnorm_backward` not found" in items[BN_B]["reason"]
    assert full(items[BN_F])


def test_syntax_error_cell_is_named(tmp_path):
    items, report = grade(tmp_path, replace={"batchnorm_backward": "def batchnorm_backward(dout, cache)\n    return 1\n"})
    assert items[BN_B]["points"] == 0 and "syntax error" in items[BN_B]["reason"]
    assert full(items[BN_F])


def test_wrong_shape(tmp_path):
    src = ("def batchnorm_backward(dout, cache):\n    x_hat, gamma, inv = cache\n"
           "    return dout[:, :-1], (dout * x_hat).sum(0), dout.sum(0)\n")
    items, _ = grade(tmp_path, replace={"batchnorm_backward": src})
    r = items[BN_B]
    assert 0 < r["points"] < r["max_points"] and "wrong shape" in r["reason"]


def test_wrong_dtype(tmp_path):
    src = ("def batchnorm_backward(dout, cache):\n    x_hat, gamma, inv = cache\n"
           "    return dout.astype(str), (dout * x_hat).sum(0), dout.sum(0)\n")
    items, _ = grade(tmp_path, replace={"batchnorm_backward": src})
    assert items[BN_B]["points"] < items[BN_B]["max_points"] and "dtype" in items[BN_B]["reason"]


def test_function_that_raises(tmp_path):
    src = "def batchnorm_backward(dout, cache):\n    raise ValueError('shapes do not match')\n"
    items, _ = grade(tmp_path, replace={"batchnorm_backward": src})
    assert items[BN_B]["points"] == 0 and "ValueError: shapes do not match" in items[BN_B]["reason"]
    assert full(items[BN_F])


def test_infinite_loop_times_out_alone(tmp_path):
    src = "def batchnorm_backward(dout, cache):\n    while True:\n        pass\n"
    items, _ = grade(tmp_path, replace={"batchnorm_backward": src}, env={"COURSE_KIT_TIMEOUT_SCALE": "0.1"})
    assert items[BN_B]["points"] == 0 and "timed out" in items[BN_B]["reason"]
    assert full(items[BN_F])


def test_memory_bomb(tmp_path):
    src = "def batchnorm_backward(dout, cache):\n    hog = np.ones((1 << 40,), dtype=np.uint8)\n    return hog, hog, hog\n"
    items, _ = grade(tmp_path, replace={"batchnorm_backward": src})
    assert items[BN_B]["points"] == 0 and "MemoryError" in items[BN_B]["reason"]
    assert full(items[BN_F])


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(0)", "os.kill(os.getpid(), 9)"])
def test_exiting_inside_a_solution(tmp_path, exit_call):
    src = f"def batchnorm_backward(dout, cache):\n    import os, sys\n    {exit_call}\n"
    items, _ = grade(tmp_path, replace={"batchnorm_backward": src})
    assert items[BN_B]["points"] == 0
    assert full(items[BN_F])


def test_exit_at_top_level_does_not_stop_grading(tmp_path):
    items, _ = grade(tmp_path, extra_cells=["import sys\nstopped = sys.exit(0)\n"])
    assert full(items[BN_F]) and full(items[BN_B])


WRONG_BACKWARD = "def batchnorm_backward(dout, cache):\n    x_hat, gamma, inv = cache\n    return dout * gamma * inv, (dout * x_hat).sum(0), dout.sum(0)\n"


def test_monkeypatched_allclose_does_not_help(tmp_path):
    patch = ("import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)\n"
             "np.testing.assert_allclose = lambda *a, **k: None\n"
             "try:\n    import torch\n    torch.allclose = lambda *a, **k: True\nexcept ImportError:\n    pass\n")
    items, _ = grade(tmp_path, replace={"batchnorm_backward": WRONG_BACKWARD}, extra_cells=[patch])
    assert items[BN_B]["points"] < items[BN_B]["max_points"] and "dx" in items[BN_B]["reason"]


def test_printing_all_tests_passed_does_not_help(tmp_path):
    items, _ = grade(tmp_path, replace={"batchnorm_backward": WRONG_BACKWARD},
                     extra_cells=['print("All tests passed! 10/10")\n', 'import sys\nprint("ok", file=sys.stderr)\n'])
    assert items[BN_B]["points"] < items[BN_B]["max_points"]


def test_stderr_output_costs_nothing(tmp_path):
    # A correct solution that also writes to stderr keeps its points.
    from autograder.submissions import solution_text

    cell = next(c for c in source_notebook("hw1")["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "batchnorm_backward")
    src = solution_text(cell["source"]).replace('"""\n', '"""\n    import sys\n    print("debug: in backward", file=sys.stderr)\n', 1)
    items, _ = grade(tmp_path, replace={"batchnorm_backward": src})
    assert full(items[BN_B]), items[BN_B]["reason"]


def test_hour_long_top_level_training_is_skipped(tmp_path):
    loop = "import time\nfor epoch in range(3600):\n    time.sleep(1)\n"
    assigned = ("def train_for_an_hour():\n    import time\n    time.sleep(3600)\n    return 1\n"
                "history = train_for_an_hour()\n")
    # A global that a function needs is computed, but within a 2 s limit.
    needed = "def uses_model(x):\n    return MODEL + x\nMODEL = train_for_an_hour()\n"
    items, report = grade(tmp_path, extra_cells=[loop, assigned, needed])
    assert full(items[BN_F]) and full(items[BN_B])
    notes = [n for n in report["notes"] if "took over" in n]
    assert len(notes) == 1 and "MODEL = train_for_an_hour()" in notes[0]


def test_blank_release_scores_zero_with_reasons(tmp_path):
    proc = run_cli(release_path("hw1"), "--json")
    assert proc.returncode == 0
    report = json.loads(proc.stdout)
    assert report["total"] == 0
    assert all("not implemented" in r["reason"] for r in report["items"])


def test_no_network_from_student_code(tmp_path):
    import socket

    from autograder import engine

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    src = ("def batchnorm_backward(dout, cache):\n    import socket\n"
           f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'leak')\n"
           "    return dout, dout[0], dout[0]\n")
    try:
        items, _ = grade(tmp_path, replace={"batchnorm_backward": src})
        server.settimeout(0.5)
        try:
            conn, _ = server.accept()
            connected = True
            conn.close()
        except OSError:
            connected = False
    finally:
        server.close()
    isolation = engine.shared().isolation(())
    if "the network is reachable" not in isolation.get("why", []):
        assert not connected, "student code reached a server on loopback"
        assert "Network is unreachable" in items[BN_B]["reason"] or "OSError" in items[BN_B]["reason"]
    assert items[BN_B]["points"] < items[BN_B]["max_points"]


def test_forbidden_library_earns_nothing_and_says_why(tmp_path):
    """HW1 is NumPy only: a BatchNorm that hands the work to torch gets no points, and
    the reason names the import."""
    src = ("def batchnorm_forward(*args, **kwargs):\n"
           "    import torch\n"
           "    raise AssertionError('torch should not have been importable')\n")
    items, _ = grade(tmp_path, replace={"batchnorm_forward": src})
    r = items[BN_F]
    assert r["points"] == 0 and "`torch` is not allowed in this exercise" in r["reason"], r["reason"]


def test_allowed_libraries_that_probe_for_forbidden_ones_work(tmp_path):
    """HW1 forbids torch, yet scipy.stats (which HW1 allows) looks for torch when it is
    imported: it must import and work, and a BatchNorm that uses it keeps full marks.
    The ban is what the child can see on disk, not an entry in sys.modules."""
    src = ("import numpy as np\nimport scipy.stats\n\n"
           "def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):\n"
           "    assert scipy.stats.norm.cdf(0.0) == 0.5\n"
           "    if train:\n"
           "        mu, var = x.mean(axis=0), x.var(axis=0)\n"
           "        n = x.shape[0]\n"
           "        state['running_mean'] = (1 - momentum) * state['running_mean'] + momentum * mu\n"
           "        state['running_var'] = (1 - momentum) * state['running_var'] + momentum * var * n / (n - 1)\n"
           "    else:\n"
           "        mu, var = state['running_mean'], state['running_var']\n"
           "    xhat = (x - mu) / np.sqrt(var + eps)\n"
           "    return gamma * xhat + beta, (xhat, gamma, var, eps)\n")
    items, _ = grade(tmp_path, replace={"batchnorm_forward": src})
    r = items[BN_F]
    assert r["points"] == r["max_points"], r["reason"]


def test_undoing_import_hooks_does_not_bring_torch_back(tmp_path):
    """Deleting sys.modules entries and meta-path finders was enough to get torch back
    in the NumPy homework when bans were import hooks; now torch's files are not there."""
    src = ("import sys, importlib, importlib.util, glob\n"
           "def batchnorm_forward(*args, **kwargs):\n"
           "    for k in [k for k, v in sys.modules.items() if v is None]:\n"
           "        del sys.modules[k]\n"
           "    sys.meta_path[:] = [f for f in sys.meta_path if 'Blocker' not in type(f).__name__]\n"
           "    found = [p for d in sys.path if d for p in glob.glob(d + '/torch/lib/libtorch*')]\n"
           "    import torch\n"
           "    raise AssertionError(f'torch is back: {found}')\n")
    items, _ = grade(tmp_path, replace={"batchnorm_forward": src})
    r = items[BN_F]
    assert r["points"] == 0 and "`torch` is not" in r["reason"], r["reason"]
