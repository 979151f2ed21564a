"""Adversarial HW1 submissions, each the reference notebook with one small change.

Every case attacks the ``batchnorm_backward`` item (10 points), the way a student's
notebook would: inside the function (which the visible sanity-check cell calls in the
student's kernel, and the grader calls in its child) or in an extra cell at top
level. ``expected`` says what a correct grader gives: ``"full"`` (the attack gains
nothing and costs nothing: the code's values are right), ``"zero"``, ``"partial"``
(0 < points < 10) or ``"less"`` (below 10); every other item keeps its full points.
Attacks that try to see or touch what they must not make the function return wrong
values (or a marker) when they succeed, so a leak costs points and shows.

``build(folder, ...)`` writes ``folder/<case>/hw1/hw1.ipynb`` for every case (nbgrader's
``submitted/`` layout). The absolute paths the attacks aim at (the graders, the
results folder, a neighbour's notebook, a local TCP port) are given to ``build``.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from autograder.submissions import make_submission, solution_text, write

ITEM = "batchnorm_backward"
HEADER = 'def batchnorm_backward(dout, cache):\n    """Gradients of the train-mode BatchNorm. Returns (dx, dgamma, dbeta)."""\n'
REFERENCE_BODY = ("    x_hat, gamma, inv_std = cache\n    dbeta = dout.sum(axis=0)\n    dgamma = (dout * x_hat).sum(axis=0)\n"
                  "    dx_hat = dout * gamma\n"
                  "    dx = inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))\n"
                  "    return dx, dgamma, dbeta\n")
WRONG = ("def batchnorm_backward(dout, cache):\n    x_hat, gamma, inv = cache\n"
         "    return dout * gamma * inv, (dout * x_hat).sum(0), dout.sum(0)\n")


def with_prelude(prelude: str) -> str:
    """The reference ``batchnorm_backward`` with ``prelude`` (4-space indented
    lines) run first."""
    return HEADER + prelude + REFERENCE_BODY


@dataclasses.dataclass
class Case:
    name: str
    what: str  # one line for the README table
    expected: str  # "full", "zero", "partial", "less", or "error" (the file cannot be graded)
    replace: str | None = None  # the new batchnorm_backward cell
    extra_cells: tuple[str, ...] = ()  # top-level cells inserted right after the function's cell
    raw: str | None = None  # the file's bytes instead of a notebook
    reason: str = ""  # a word the item's reason must contain
    needs: str = ""  # "nproc": only where the child's process count is capped


def cases(root: Path, results: Path, neighbour_nb: Path, port: int) -> list[Case]:
    """``root``: the repository (graders); ``results``: grade-all's results folder;
    ``neighbour_nb``: another student's notebook; ``port``: a TCP port listening on
    127.0.0.1 (a connection that arrives there is a leak)."""
    grader = root / "autograder" / "hw1" / "batchnorm.py"
    secrets = [grader, root / "autograder" / "core.py", root / "source" / "hw1" / "hw1.ipynb",
               root / "tests" / "test_hostile.py", neighbour_nb, results / "hw1" / f"{neighbour_nb.parents[1].name}.json"]
    read = (f"    import glob, os\n    _leaks = []\n"
            f"    for _p in {[str(p) for p in secrets]!r} + ['../../../source/hw1/hw1.ipynb'] + glob.glob('/proc/*/root' + {str(grader)!r}):\n"
            "        try:\n            with open(_p) as _f:\n                _leaks.append(_p + ': ' + _f.readline().strip())\n"
            "        except Exception:\n            pass\n"
            "    if _leaks:\n        print('LEAKED', *_leaks, sep='\\n')\n        return dout, dout[0], dout[0]\n")
    write_ = (f"    _targets = {[str(grader), str(root / 'autograder' / 'core.py'), str(results / 'hw1' / f'{neighbour_nb.parents[1].name}.json'), str(results / 'hw1' / 'zz_fake.json')]!r}\n"
              "    for _t in _targets:\n        try:\n            with open(_t, 'a') as _f:\n"
              "                _f.write('\\n# written by a hostile submission\\n')\n        except Exception:\n            pass\n")
    net = (f"    import socket\n    try:\n        _s = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
           "        _s.sendall(b'leak')\n        _s.close()\n        return dout, dout[0], dout[0]\n"
           "    except OSError:\n        pass\n")
    patch = ("import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), bool)\n"
             "np.testing.assert_allclose = lambda *a, **k: None\n"
             "try:\n    import torch\n    torch.allclose = lambda *a, **k: True\nexcept ImportError:\n    pass\n")
    return [
        Case("malformed_json", "the file is not valid JSON", "error", raw='{"cells": [ {"cell_type": "code", '),
        Case("deleted_function", "`batchnorm_backward` deleted", "zero", replace="# I gave up\n", reason="not found"),
        Case("renamed_function", "`batchnorm_backward` renamed", "zero",
             replace="def batchnorm_backward_v2(dout, cache):\n    return dout, dout[0], dout[0]\n", reason="not found"),
        Case("wrong_shape", "dx of the wrong shape", "partial",
             replace=("def batchnorm_backward(dout, cache):\n    x_hat, gamma, inv = cache\n"
                      "    return dout[:, :-1], (dout * x_hat).sum(0), dout.sum(0)\n"), reason="shape"),
        Case("raises", "the function raises", "zero",
             replace="def batchnorm_backward(dout, cache):\n    raise ValueError('shapes do not match')\n", reason="ValueError"),
        Case("infinite_loop", "an endless loop in the function", "zero",
             replace="def batchnorm_backward(dout, cache):\n    while True:\n        pass\n", reason="timed out"),
        Case("memory_bomb", "allocates 1 TB", "zero",
             replace=("def batchnorm_backward(dout, cache):\n    import numpy as np\n"
                      "    hog = np.ones((1 << 40,), dtype=np.uint8)\n    return hog, hog, hog\n"), reason="MemoryError"),
        Case("sys_exit", "`sys.exit(0)` in the function", "zero",
             replace="def batchnorm_backward(dout, cache):\n    import sys\n    sys.exit(0)\n"),
        Case("os_exit", "`os._exit(0)` in the function", "zero",
             replace="def batchnorm_backward(dout, cache):\n    import os\n    os._exit(0)\n"),
        Case("monkeypatch_allclose", "wrong dx, and `numpy.allclose`/`torch.allclose` patched to return True", "less",
             replace=WRONG, extra_cells=(patch,), reason="dx"),
        Case("prints_all_passed", 'wrong dx, and prints "All tests passed! 10/10"', "less",
             replace=WRONG, extra_cells=('print("All tests passed! 10/10")\n',), reason="dx"),
        Case("stderr_output", "right answer, also writes to stderr", "full",
             replace=with_prelude("    import sys\n    print('debug: in backward', file=sys.stderr)\n")),
        Case("hour_long_loop", "an hour-long training loop at top level", "full",
             extra_cells=("import time\nfor epoch in range(3600):\n    time.sleep(1)\n",)),
        Case("output_100mb", "right answer, prints 100 MB", "full",
             replace=with_prelude("    for _ in range(100):\n        print('x' * 1_000_000)\n")),
        Case("fork_bomb", "a fork bomb in the function", "zero",
             replace="def batchnorm_backward(dout, cache):\n    import os\n    while True:\n        os.fork()\n", needs="nproc"),
        Case("write_graders", "right answer, and appends to the graders and the results", "full", replace=with_prelude(write_)),
        Case("read_hidden", "reads the graders, the hidden tests, a neighbour's notebook and result; wrong answer if it can", "full",
             replace=with_prelude(read)),
        Case("network", "opens a TCP connection to 127.0.0.1; wrong answer if it can", "full", replace=with_prelude(net)),
        Case("kill_grader", "right answer, and `os.kill(os.getppid(), SIGKILL)` first", "full",
             replace=with_prelude("    import os, signal\n    try:\n        os.kill(os.getppid(), signal.SIGKILL)\n"
                                  "    except OSError:\n        pass\n")),
    ]


def build(folder: Path, release: dict, source: dict, case_list: list[Case], hw: str = "hw1") -> dict[str, Path]:
    """Write every case as ``folder/<case>/<hw>/<hw>.ipynb``; return case -> path."""
    paths = {}
    for c in case_list:
        path = folder / c.name / hw / f"{hw}.ipynb"
        if c.raw is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(c.raw)
        else:
            write(submission(release, source, c), path)
        paths[c.name] = path
    return paths


def submission(release: dict, source: dict, c: Case) -> dict:
    """The notebook of case ``c`` (not ``raw`` ones) from any release/source pair
    that has a ``batchnorm_backward`` solution cell."""
    nb = make_submission(release, source, replace={ITEM: c.replace} if c.replace is not None else None)
    at = next(i for i, cell in enumerate(nb["cells"]) if cell["metadata"].get("nbgrader", {}).get("grade_id") == ITEM)
    for k, src in enumerate(c.extra_cells):
        nb["cells"].insert(at + 1 + k, {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": src})
    return nb


def reference(release: dict, source: dict) -> dict:
    return make_submission(release, source)


def reference_body_matches(source: dict) -> bool:
    """The corpus's copy of the reference body is still the source's solution."""
    cell = next(c for c in source["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == ITEM)
    return solution_text("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]).strip() == \
        (HEADER + REFERENCE_BODY).strip()


__all__ = ["Case", "build", "cases", "reference", "submission", "with_prelude"]
