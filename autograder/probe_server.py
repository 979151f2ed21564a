"""The probe server: the warm process whose forked children run student code.

``python -m autograder.probe_server --fd N [--forbid torch,torchvision]`` is started
by the judge side (:mod:`autograder.engine`) as a *new interpreter* (never a fork of
the judges), with a scrubbed environment and ``/`` as its working folder. It

1. covers the packages its exercise forbids (:func:`autograder.isolate.ban_packages`),
   before importing anything heavy, so they are in neither its memory nor its
   children's view of the disk;
2. imports NumPy, the libraries its exercise allows and the probes
   (``autograder.probes``) once, and refuses to serve if a judge module got imported;
3. then serves requests on the Unix socket ``N`` (``SOCK_SEQPACKET``): each request
   is a small JSON line with three file descriptors attached, the request itself
   (a memfd the judge wrote: the student's kept definitions, the item, its seed,
   what the judge gives the probe) and the write ends of two pipes, one for the
   result and one for the child's output. The server never reads the request or the
   result: it forks a *keeper*, which enters new namespaces and forks the *runner*
   (PID 1 there), which builds its private root (:func:`autograder.isolate.enter`),
   reads the request, loads the definitions, runs the probe and writes the encoded
   result (:mod:`autograder.probes.wire`) straight to the judge. The server only
   enforces the wall-clock limit, reaps, and says how the keeper ended.

No student code, no other student's data and no result ever passes through the
server's memory, so a child (a copy of it) finds nothing of anyone else there.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import select
import signal
import socket
import sys
import tempfile
import time

JUDGE_MODULES = ("autograder.core", "autograder.grading", "autograder.engine", "autograder.batch",
                 "autograder.hw1", "autograder.hw2", "autograder.hw3", "autograder.hw4", "autograder.hw5",
                 "autograder.nbgrader_engine", "autograder.cluster", "autograder.sandbox")
STATEMENT_SECONDS = 2.0
OUTPUT_CAP_BYTES = 2**20
REQUEST_CAP_BYTES = 512 * 2**20
JAIL_FAILED = 72  # the runner's exit code when the jail could not be built


def _warm(forbid: tuple[str, ...]) -> list[str]:
    """Import, once, what children would otherwise import per item."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    done = []

    def banned(name: str) -> bool:
        return any(name == f or name.startswith(f + ".") for f in forbid)

    for name in ("numpy", "scipy", "scipy.special", "matplotlib", "matplotlib.pyplot", "torch", "torch.nn",
                 "torch.nn.functional", "torch.optim", "torchvision", "torchvision.transforms", "PIL.Image",
                 "skimage", "cnnkit", "cnnkit.train", "cnnkit.data", "cnnkit.plots"):
        if banned(name):
            continue
        try:
            __import__(name)
            done.append(name)
        except Exception:  # noqa: BLE001 -- an optional library that is absent or banned
            pass
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    from . import probes

    probes.registry()
    return done


class _CappedText(io.TextIOBase):
    """The runner's ``sys.stdout``/``sys.stderr``: the first ``cap`` bytes go to the
    pipe, the rest is dropped but for its last few kilobytes."""

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


class _StatementTimeout(BaseException):
    pass


def load_definitions(snippets: list, namespace: dict) -> list[str]:
    """Execute the kept statements one by one; return what went wrong, per statement."""
    from .probes.runtime import error_text

    problems = []

    def on_alarm(signum, frame):
        raise _StatementTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    for s in snippets:
        where = f"code cell {s['cell']}, line {s['line']}"
        try:
            code = compile(s["source"], f"<code cell {s['cell']}>", "exec")
        except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
            problems.append(f"{where}: syntax error ({getattr(e, 'msg', type(e).__name__)})")
            continue
        # Imports may be slow the first time and a half-done import breaks the module:
        # only the item's own timeout bounds them.
        signal.setitimer(signal.ITIMER_REAL, 0 if s["kind"] == "import" else STATEMENT_SECONDS)
        try:
            exec(code, namespace)
        except _StatementTimeout:
            text = " ".join(s["source"].split())[:60]
            problems.append(f"{where}: `{text}` took over {STATEMENT_SECONDS:g} s at top level and was skipped")
        except BaseException as e:  # noqa: BLE001
            problems.append(f"{where}: {error_text(e)}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    return problems


def seed_everything(seed: int) -> None:
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    if sys.modules.get("torch") is not None:
        import torch

        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.set_num_threads(1)


# --------------------------------------------------------------------------
# The keeper and the runner (in the forked children).


def _close_all_but(keep: set[int]) -> None:
    hi = 2**20
    lo = 3
    for fd in sorted(keep) + [hi]:
        if fd >= lo:
            os.closerange(lo, fd)
        lo = max(lo, fd + 1)


def _keeper(meta: dict, fds: list[int], ctx: dict) -> None:
    """First fork: new namespaces, then the runner; exits with the runner's status."""
    code = 70
    try:
        os.setsid()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        _close_all_but(set(fds))
        from . import isolate

        host_tasks = isolate.tasks_of(os.getuid()) if os.geteuid() != 0 else 0
        ns = isolate.unshare_child() if ctx["namespaces"] else {}
        me = os.getpid()
        pid = os.fork()
        if pid == 0:
            _runner(meta, fds, ctx, ns, me, host_tasks)
        for fd in fds:
            os.close(fd)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        if os.WIFEXITED(status):
            code = os.WEXITSTATUS(status)
        else:
            code = 128 + os.WTERMSIG(status)
    finally:
        os._exit(code)


def _runner(meta: dict, fds: list[int], ctx: dict, ns: dict, keeper: int, host_tasks: int = 0) -> None:
    code = 71
    streams: list = []
    try:
        req_fd, res_fd, out_fd = fds
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        from . import isolate
        from .probes import runtime, wire

        # The runner is PID 1 of its namespace, which ignores signals it has no handler
        # for: SIGXCPU (the item's CPU seconds) needs one. SIGKILL at the hard limit
        # stops code that never returns to Python.
        signal.signal(signal.SIGXCPU, lambda *_: os._exit(128 + signal.SIGXCPU))
        try:
            st = isolate.enter(ctx["plan"], ns, keeper, int(meta.get("memory_mb", 2048)),
                               float(meta.get("cpu_seconds", 60)), ctx["userns"], host_tasks)
        except isolate.JailError as e:
            os.write(2, f"\nJailError: {e}\n".encode())
            code = JAIL_FAILED
            raise
        streams = [_CappedText(1), _CappedText(2)]
        sys.stdout, sys.stderr = streams
        os.environ.clear()
        os.environ.update({"HOME": os.getcwd(), "TMPDIR": os.getcwd(), "MPLBACKEND": "Agg",
                           "MPLCONFIGDIR": os.getcwd(), "NBGRADER_EXECUTION": "autograde",
                           "COURSE_KIT_GRADING": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
                           "LANG": "C.UTF-8"})
        raw = _read_fd(req_fd, REQUEST_CAP_BYTES)
        os.close(req_fd)
        request = wire.decode(raw, wire.Limits(total=REQUEST_CAP_BYTES, array_bytes=REQUEST_CAP_BYTES))
        del raw
        if request.get("selftest"):
            payload = _selftest(st, request)
        else:
            payload = _run_probe(request, runtime)
        data = wire.encode(payload)
        if len(data) > int(meta.get("result_cap", wire.DEFAULT.total)):
            data = wire.encode({"__load__": payload.get("__load__", []), "__too_big__": len(data)})
        view = memoryview(data)
        while view:
            view = view[os.write(res_fd, view):]
        os.close(res_fd)
        code = 0
    except BaseException:  # noqa: BLE001
        if code == JAIL_FAILED:
            os._exit(code)
        try:
            import traceback

            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
    finally:
        try:
            for s in streams:
                s.finish()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(code)


def _read_fd(fd: int, cap: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks, size = [], 0
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            break
        size += len(b)
        if size > cap:
            raise ValueError("request too large")
        chunks.append(b)
    return b"".join(chunks)


def _run_probe(request: dict, runtime) -> dict:
    from .probes import registry

    runtime.FORBIDDEN = tuple(request.get("forbid", ()))
    seed = int(request["seed"])
    namespace: dict = {"__name__": "__submission__"}
    seed_everything(seed)
    problems = load_definitions(request["snippets"], namespace)
    seed_everything(seed)
    functions = list(request.get("functions", []))
    absent = [f for f in functions if f not in namespace]
    if absent:
        return {"__load__": problems, "__absent__": absent}
    ns = runtime.Namespace(namespace, request.get("given"))
    probe = registry()[request["item"]]
    start = time.monotonic()
    try:
        out = probe(ns, seed)
    except runtime.MissingFunction as e:
        return {"__load__": problems, "__absent__": [str(e)]}
    except BaseException as e:  # noqa: BLE001 -- the student's value broke the probe
        return {"__load__": problems, "__probe_error__": runtime.error_text(e)}
    # how long the probe itself ran: the rest of the child's time is the engine's overhead
    return {"__load__": problems, "out": out, "__probe_seconds__": round(time.monotonic() - start, 4)}


def _selftest(st: dict, request: dict) -> dict:
    """What a hostile child would try, from inside the same jail."""
    checks: dict = {}
    checks["repo_visible"] = os.path.exists(request.get("secret_path", "/nonexistent"))
    checks["tmp_path_visible"] = os.path.exists(request.get("host_tmp", "/nonexistent"))
    try:
        socket.create_connection(("127.0.0.1", int(request.get("port", 9))), timeout=0.5).close()
        checks["loopback"] = True
    except OSError:
        checks["loopback"] = False
    checks["pids_visible"] = len([d for d in os.listdir("/proc") if d.isdigit()]) if os.path.isdir("/proc") else -1
    for ns_name in ("ipc", "net", "pid", "mnt"):
        try:
            checks[f"same_{ns_name}"] = os.stat(f"/proc/self/ns/{ns_name}").st_ino == request.get(f"ns_{ns_name}")
        except OSError:
            checks[f"same_{ns_name}"] = None
    try:
        with open("/etc/.ck-write-test", "w"):
            pass
        checks["writes_outside_tmp"] = True
    except OSError:
        checks["writes_outside_tmp"] = False
    forbidden = request.get("forbid", [])
    checks["forbidden_importable"] = []
    for name in forbidden:
        try:
            __import__(name)
            checks["forbidden_importable"].append(name)
        except BaseException:  # noqa: BLE001
            pass
    return {"status": st, "checks": checks, "uid": os.getuid()}


# --------------------------------------------------------------------------
# The server loop.


def serve(sock: socket.socket, ctx: dict) -> None:
    children: dict[int, dict] = {}
    poll = select.poll()
    poll.register(sock.fileno(), select.POLLIN)
    while True:
        now = time.monotonic()
        wait = 50
        if children:
            wait = max(1, min(50, int(1000 * min(c["deadline"] - now for c in children.values())) + 1))
        for fd, ev in poll.poll(wait):
            if fd != sock.fileno():
                continue  # a child's pidfd: it ended; reaped below
            try:
                msg, fds, _, _ = socket.recv_fds(sock, 65536, 4)
            except (ConnectionError, OSError):
                msg, fds = b"", []
            if not msg:  # the judge went away: stop, taking the children along
                for pid in children:
                    _kill(pid)
                return
            try:
                req = json.loads(msg)
            except ValueError:
                req = {}
            if req.get("op") == "run" and len(fds) == 3:
                pid = os.fork()
                if pid == 0:
                    _keeper(req, fds, ctx)
                for f in fds:
                    os.close(f)
                children[pid] = {"id": req.get("id"), "deadline": time.monotonic() + float(req.get("timeout", 30)),
                                 "start": time.monotonic(), "timed_out": False, "pidfd": _pidfd(pid)}
                if children[pid]["pidfd"] is not None:  # wakes the poll the moment the child ends
                    poll.register(children[pid]["pidfd"], select.POLLIN)
            else:
                for f in fds:
                    os.close(f)
                if req.get("op") == "ping":
                    sock.send(json.dumps({"pong": True}).encode())
        now = time.monotonic()
        for pid, c in children.items():
            if not c["timed_out"] and now > c["deadline"]:
                c["timed_out"] = True
                _kill(pid)
        while children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            c = children.pop(pid, None)
            if c is None:
                continue
            if c["pidfd"] is not None:
                poll.unregister(c["pidfd"])
                os.close(c["pidfd"])
            from . import isolate

            isolate.reap(isolate.child_uid(pid))
            scratch = isolate.scratch_of(ctx["plan"], pid)
            if os.path.isdir(scratch):  # only where there was no private root
                import shutil

                shutil.rmtree(scratch, ignore_errors=True)
            if os.WIFEXITED(status):
                code = os.WEXITSTATUS(status)
            else:
                code = 128 + os.WTERMSIG(status)
            reply = {"id": c["id"], "code": code, "timed_out": c["timed_out"],
                     "seconds": round(time.monotonic() - c["start"], 4),
                     "cpu": round(usage.ru_utime + usage.ru_stime, 3)}
            try:
                sock.send(json.dumps(reply).encode())
            except OSError:
                return


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # Linux < 5.3: the poll's 50 ms tick finds it
        return None


def _kill(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except (ProcessLookupError, PermissionError):
            pass


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.probe_server")
    p.add_argument("--fd", type=int, required=True)
    p.add_argument("--forbid", default="")
    args = p.parse_args(argv)
    sock = socket.socket(fileno=args.fd)
    forbid = tuple(f for f in args.forbid.split(",") if f)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a TA's Ctrl-C reaches the judge, which stops us
    from . import isolate

    ban = isolate.ban_packages(forbid)
    warmed = _warm(forbid)
    judges = sorted(m for m in sys.modules if m.startswith(JUDGE_MODULES))
    if judges:
        sock.send(json.dumps({"ready": False, "error": f"judge modules imported in the probe server: {judges}"}).encode())
        return 1
    base = tempfile.mkdtemp(prefix="ck-root-")
    os.chmod(base, 0o711)  # a child without a private root works in base/w<pid>, its own
    ctx = {"plan": isolate.plan(base), "namespaces": True, "userns": bool(ban.get("userns"))}
    os.chdir("/")
    import gc

    gc.collect()
    gc.freeze()  # the warm objects stay out of the children's collections: fewer pages copied per fork
    sock.send(json.dumps({"ready": True, "pid": os.getpid(), "ban": ban, "warmed": warmed,
                          "ns": {n: os.stat(f"/proc/self/ns/{n}").st_ino for n in ("ipc", "net", "pid", "mnt")},
                          "base": base}).encode())
    try:
        serve(sock, ctx)
    finally:
        try:
            os.rmdir(base)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
