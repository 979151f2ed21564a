"""Running a probe the way a test wants it: in a forked child of the test process.

For the kit's own tests only (threshold checks that train the reference and a weak
baseline, probes run by hand): the code run here is the reference solution and the
tests' own baselines, trusted, so no jail. Grading never uses this; it uses the
sealed engine (autograder/engine.py). The result still comes back in the engine's
wire format, so what the judge sees is what it would see from the engine.
"""
from __future__ import annotations

import dataclasses
import os
import random
import resource
import signal
import sys
import time
import traceback
from typing import Any, Callable

from autograder.probe_server import load_definitions as _load_dicts
from autograder.probes import wire
from autograder.probes.runtime import Namespace  # noqa: F401  (re-exported for the tests)


def prepare_parent() -> None:
    """One thread, and torch imported once before the forks."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ["MPLBACKEND"] = "Agg"
    import torch

    torch.set_num_threads(1)


def load_definitions(snippets, namespace: dict) -> list[str]:
    """Execute kept statements (``autograder.notebook.Snippet`` objects or dicts)."""
    dicts = [s if isinstance(s, dict) else {"cell": s.cell, "line": s.line, "kind": s.kind, "source": s.source}
             for s in snippets]
    return _load_dicts(dicts, namespace)


def seed_everything(seed: int, with_torch: bool = True) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    if with_torch:
        import torch

        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.set_num_threads(1)


@dataclasses.dataclass
class ChildOutcome:
    status: str  # "ok", "timeout", "died"
    payload: Any
    seconds: float
    stderr_tail: str


def run_child(body: Callable[[], Any], timeout: float, memory_mb: int = 2048) -> ChildOutcome:
    """Fork, run ``body`` with a CPU limit (``memory_mb`` is accepted and ignored), and return its plain-data
    result (decoded like the engine's)."""
    res_r, res_w = os.pipe()
    err_r, err_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(res_r)
            os.close(err_r)
            os.dup2(err_w, 2)
            resource.setrlimit(resource.RLIMIT_CPU, (int(timeout) + 1, int(timeout) + 2))
            data = wire.encode(body())
            view = memoryview(data)
            while view:
                view = view[os.write(res_w, view):]
            code = 0
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(res_w)
    os.close(err_w)
    chunks, err = [], b""
    import select

    open_fds = {res_r, err_r}
    status = "died"
    while open_fds:
        if time.monotonic() - start > timeout * 3 + 30:
            os.kill(pid, signal.SIGKILL)
            status = "timeout"
            break
        ready, _, _ = select.select(list(open_fds), [], [], 0.1)
        for fd in ready:
            b = os.read(fd, 1 << 20)
            if not b:
                open_fds.discard(fd)
            elif fd == res_r:
                chunks.append(b)
            else:
                err = (err + b)[-4000:]
    _, wstatus = os.waitpid(pid, 0)
    for fd in (res_r, err_r):
        os.close(fd)
    payload = None
    if status != "timeout" and os.WIFEXITED(wstatus) and os.WEXITSTATUS(wstatus) == 0:
        payload = wire.decode(b"".join(chunks))
        status = "ok"
    return ChildOutcome(status, payload, time.monotonic() - start, err.decode("utf-8", "replace"))
