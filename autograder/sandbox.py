"""Running student code in a child process and getting plain data back.

The grading process imports NumPy and torch once, then forks one child per graded
item. The child starts a session of its own, closes every file the grading process
had open, enters the jail of :mod:`autograder.jail` (no network, the graders and
other students' files hidden, its own uid and a process limit where the system
allows), caps its memory, file sizes, output and CPU time, hides the modules the
exercise forbids, loads the student's definitions and runs the item's probe.
Results come back as files in a private folder: JSON for plain values and ``.npy``
for arrays, read with ``allow_pickle=False`` and without following links. The parent
waits with a wall-clock limit and kills the child's whole process group.
"""
from __future__ import annotations

import dataclasses
import importlib.abc
import io
import json
import os
import random
import resource
import shutil
import signal
import stat
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import jail
from .probes import runtime
from .probes.runtime import Bad, MissingFunction, Namespace, error_text as _error_text  # noqa: F401

MAX_FILE_BYTES = 64 * 2**20
MAX_RESULT_BYTES = 256 * 2**20
OUTPUT_CAP_BYTES = 2**20  # of each of stdout and stderr, per item
STATEMENT_SECONDS = 2.0


# --------------------------------------------------------------------------
# Plain-data encoding (child side) and decoding (parent side).


def encode(value: Any, folder: Path, counter: list[int], depth: int = 0) -> Any:
    if depth > 20:
        return {"__bad__": "type", "msg": "a structure nested too deeply"}
    if isinstance(value, Bad):
        return {"__bad__": value.kind, "msg": value.message}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float, bool):
        if isinstance(value, float) and not np.isfinite(value):
            return {"__float__": repr(value)}
        return value
    if isinstance(value, np.generic):
        return encode(value.item(), folder, counter, depth + 1)
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            return {"__bad__": "type", "msg": f"an array of dtype {value.dtype}"}
        counter[0] += 1
        name = f"a{counter[0]}.npy"
        np.save(folder / name, np.ascontiguousarray(value), allow_pickle=False)
        return {"__npy__": name}
    if isinstance(value, (list, tuple)):
        return {"__seq__": type(value).__name__, "items": [encode(v, folder, counter, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"__dict__": [[encode(k, folder, counter, depth + 1), encode(v, folder, counter, depth + 1)] for k, v in value.items()]}
    return {"__bad__": "type", "msg": f"an object of type {type(value).__name__}"}


def decode(obj: Any, folder: Path) -> Any:
    if isinstance(obj, dict):
        if "__npy__" in obj:
            name = str(obj["__npy__"])
            if "/" in name or name.startswith("."):
                return Bad("type", "a bad array reference")
            try:
                return np.load(io.BytesIO(read_regular(folder / name, MAX_FILE_BYTES)), allow_pickle=False)
            except (OSError, ValueError) as e:
                return Bad("type", f"an unreadable array ({e})")
        if "__bad__" in obj:
            return Bad(str(obj["__bad__"]), str(obj.get("msg", "")))
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__seq__" in obj:
            items = [decode(v, folder) for v in obj.get("items", [])]
            return tuple(items) if obj["__seq__"] == "tuple" else items
        if "__dict__" in obj:
            out = {}
            for k, v in obj["__dict__"]:
                k = decode(k, folder)
                try:
                    out[k] = decode(v, folder)
                except TypeError:  # an unhashable key
                    out[repr(k)] = decode(v, folder)
            return out
        return Bad("type", "an unexpected structure")
    return obj


# --------------------------------------------------------------------------
# The student's namespace, as the probe sees it.


def _is_forbidden(fullname: str) -> bool:
    return runtime.is_forbidden(fullname)


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if _is_forbidden(fullname):
            raise ImportError(f"`{fullname}` is not allowed in this exercise: write it yourself", name=fullname)
        return None


def forbid_modules(names: tuple[str, ...]) -> None:
    """Make ``names`` (and their submodules) unimportable in this process.

    A ``None`` in ``sys.modules`` makes ``import x`` fail and makes
    ``importlib.util.find_spec(x)`` answer "not installed" (libraries probe for
    optional packages that way, torch for scikit-learn among them, and must not
    crash); the finder catches what is not yet in ``sys.modules`` (submodules)."""
    if not names:
        return
    runtime.FORBIDDEN = tuple(names)
    for mod in list(sys.modules):
        if _is_forbidden(mod):
            sys.modules[mod] = None  # type: ignore[assignment]
    for n in names:
        sys.modules[n] = None  # type: ignore[assignment]
    sys.meta_path.insert(0, _Blocker())


class _StatementTimeout(BaseException):
    pass


def load_definitions(snippets, namespace: dict) -> list[str]:
    """Execute the kept statements one by one; return what went wrong, per statement."""
    problems = []

    def on_alarm(signum, frame):
        raise _StatementTimeout()

    old = signal.signal(signal.SIGALRM, on_alarm)
    try:
        for s in snippets:
            try:
                code = compile(s.source, f"<code cell {s.cell}>", "exec")
            except SyntaxError as e:
                problems.append(f"{s.where}: syntax error ({e.msg})")
                continue
            # Imports may be slow the first time (scikit-learn, scipy) and a half-done
            # import breaks the module: only the item's own timeout bounds them.
            signal.setitimer(signal.ITIMER_REAL, 0 if s.kind == "import" else STATEMENT_SECONDS)
            try:
                exec(code, namespace)
            except _StatementTimeout:
                problems.append(f"{s.where}: `{' '.join(s.source.split())[:60]}` took over {STATEMENT_SECONDS:g} s at top level and was skipped")
            except BaseException as e:
                problems.append(f"{s.where}: {_error_text(e)}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, old)
    return problems


def seed_everything(seed: int, with_torch: bool) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if with_torch and sys.modules.get("torch") is not None:
        import torch

        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.set_num_threads(1)


# --------------------------------------------------------------------------
# The child process.


@dataclasses.dataclass
class ChildOutcome:
    status: str  # "ok", "timeout", "died"
    payload: dict | None
    seconds: float
    stdout_tail: str
    stderr_tail: str
    exit_info: str = ""


def _vm_size_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


CLONE_NEWNET = 0x40000000


def cut_network() -> bool:
    """Move this process into a new, empty network namespace (no interface but a
    loopback that is down). Needs CAP_SYS_ADMIN, or an unprivileged user namespace;
    returns False where the system allows neither (then the network stays). The
    grading child gets this (and more) from :func:`autograder.jail.enter`; this
    stand-alone check is for tests and diagnostics."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) == 0:
            return True
        if libc.unshare(0x10000000 | CLONE_NEWNET) == 0:  # CLONE_NEWUSER as well
            return True
    except (OSError, AttributeError):
        pass
    return False


class _CappedText(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` of the child: the first ``cap`` bytes go to the
    file, the rest is dropped but for its last few kilobytes (where a traceback is),
    so 100 MB of prints cost neither the disk nor the item."""

    def __init__(self, fd: int, cap: int = OUTPUT_CAP_BYTES, keep: int = 4096):
        super().__init__()
        self.fd, self.cap, self.keep, self.written, self.tail = fd, cap, keep, 0, ""

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def fileno(self) -> int:
        return self.fd

    def isatty(self) -> bool:
        return False

    def _raw(self, data: bytes) -> None:
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError:
            pass

    def write(self, s) -> int:
        s = str(s)
        if self.written < self.cap:
            data = s.encode("utf-8", "replace")
            room = self.cap - self.written
            self._raw(data[:room])
            self.written += min(room, len(data))
            over = data[room:]
            if over:
                self.tail = (self.tail + over[-self.keep:].decode("utf-8", "replace"))[-self.keep:]
        else:
            self.tail = (self.tail + s[-self.keep:])[-self.keep:]
        return len(s)

    def finish(self) -> None:
        if self.tail:
            self._raw(b"\n[... output over the limit dropped ...]\n" + self.tail.encode("utf-8", "replace"))
            self.tail = ""


def _child_main(work: Path, memory_mb: int, cpu_seconds: float, body: Callable[[], dict]) -> None:
    """Runs in the forked child; never returns."""
    code = 1
    streams: list[_CappedText] = []
    try:
        os.setsid()
        out_fd = os.open(work / "stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err_fd = os.open(work / "stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        # Nothing the grading process holds open (its protocol pipe, a Dask worker's
        # sockets, a database) is left to the student's code.
        os.closerange(3, 2**31 - 1)
        streams = [_CappedText(1), _CappedText(2)]
        sys.stdout, sys.stderr = streams
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        jail.enter(work)  # namespaces, hidden folders, own uid: see autograder.jail
        os.chdir(work / "cwd")
        os.environ["HOME"] = str(work / "cwd")
        os.environ["NBGRADER_EXECUTION"] = "autograde"
        os.environ["COURSE_KIT_GRADING"] = "1"
        os.environ["MPLBACKEND"] = "Agg"
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES, MAX_FILE_BYTES))
        if memory_mb:
            cap = _vm_size_bytes() + memory_mb * 2**20
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        if cpu_seconds:
            c = int(cpu_seconds) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (c, c + 1))
        payload = body()
        folder = work / "result"
        counter = [0]
        encoded = encode(payload, folder, counter)
        tmp = folder / "result.json.part"
        tmp.write_text(json.dumps(encoded))
        os.replace(tmp, folder / "result.json")
        code = 0
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    finally:
        try:
            for st in streams:
                st.finish()
        except BaseException:
            pass
        os._exit(code)


def read_regular(path: Path, limit: int) -> bytes:
    """Read a file the child may have tampered with: no symlink, no FIFO, no device,
    nothing larger than ``limit``."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(f"{path.name} is not a regular file")
        if st.st_size > limit:
            raise OSError(f"{path.name} is larger than {limit} bytes")
        chunks, left = [], limit + 1
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
        if len(data) > limit:
            raise OSError(f"{path.name} is larger than {limit} bytes")
        return data
    finally:
        os.close(fd)


def _tail(path: Path, n: int = 600) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        size = os.lseek(fd, 0, os.SEEK_END)
        os.lseek(fd, max(0, size - n), os.SEEK_SET)
        return os.read(fd, n).decode("utf-8", "replace").strip()
    except OSError:
        return ""
    finally:
        os.close(fd)


def run_child(body: Callable[[], dict], timeout: float, memory_mb: int = 2048) -> ChildOutcome:
    """Fork, run ``body`` in the child under limits, and collect what it returned."""
    jail.plan()  # computed once, before the fork
    work = Path(tempfile.mkdtemp(prefix="ckgrade-"))
    (work / "cwd").mkdir()
    (work / "result").mkdir()
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        _child_main(work, memory_mb, timeout * 1.5, body)
    status, exit_info = "died", ""
    try:
        while True:
            done, wstatus = os.waitpid(pid, os.WNOHANG)
            if done:
                if os.WIFEXITED(wstatus):
                    exit_info = f"exit code {os.WEXITSTATUS(wstatus)}"
                else:
                    sig = os.WTERMSIG(wstatus)
                    exit_info = f"killed by signal {signal.Signals(sig).name}"
                break
            if time.monotonic() - start > timeout:
                status = "timeout"
                _kill_group(pid)
                os.waitpid(pid, 0)
                break
            time.sleep(0.005)
    finally:
        _kill_group(pid)
        if os.geteuid() == 0:
            jail.reap(jail.child_uid(pid))  # whatever it forked, setsid or not
    seconds = time.monotonic() - start
    payload = None
    result = work / "result" / "result.json"
    if status != "timeout" and os.path.lexists(result):
        try:
            payload = decode(json.loads(read_regular(result, MAX_RESULT_BYTES)), work / "result")
            status = "ok"
        except (ValueError, OSError) as e:
            exit_info += f"; unreadable result ({e})"
    outcome = ChildOutcome(status, payload, seconds, _tail(work / "stdout.txt"), _tail(work / "stderr.txt"), exit_info)
    shutil.rmtree(work, ignore_errors=True)
    return outcome


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
