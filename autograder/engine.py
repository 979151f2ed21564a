"""The judge side of the sealed engine: probe servers, requests, bounded results.

A process that judges (``python -m autograder grade``, a ``grade-all`` worker, a Dask
worker, ``nbgrader autograde`` through :mod:`autograder.nbgrader_engine`, the tests)
holds one :class:`Engine`. The engine starts one probe server
(:mod:`autograder.probe_server`) per set of forbidden packages, lazily, as a new
interpreter with a scrubbed environment, and keeps it warm for every later
submission. For each item it writes the request (the student's kept definitions, the
item, the seed, what the judge gives the probe) into a memfd, hands the server that
memfd and the write ends of two pipes, and reads the result and the child's output
from the read ends, with caps on both, while the server enforces the wall-clock
limit. Nothing here forks student code, and nothing the child writes is read beyond
the caps.
"""
from __future__ import annotations

import atexit
import concurrent.futures
import dataclasses
import itertools
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

from .probes import wire

ROOT = Path(__file__).resolve().parents[1]
RESULT_CAP = 128 * 2**20
# An item's time limit counts CPU seconds (RLIMIT_CPU), so a busy machine cannot cost a
# correct submission its points; the wall clock only stops code that sleeps or blocks.
WALL_FACTOR = 3.0
WALL_EXTRA = 30.0
OUTPUT_KEEP_HEAD = 16 * 1024
OUTPUT_KEEP_TAIL = 4 * 1024
START_TIMEOUT = 300.0
# What the probe server inherits from the judge's environment; nothing else (no course
# secret, no database URL, no tokens).
ENV_PASS = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "VIRTUAL_ENV", "CONDA_PREFIX", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "COURSE_KIT_SANDBOX_KEEP", "COURSE_KIT_SCRATCH_MB",
            "COURSE_KIT_MAX_TASKS", "TMPDIR", "LD_LIBRARY_PATH")


class EngineError(Exception):
    """The sandbox itself failed (not the student's code)."""


@dataclasses.dataclass
class Request:
    item: str
    seed: int
    snippets: list[dict]
    functions: tuple[str, ...]
    forbid: tuple[str, ...] = ()
    given: Any = None
    timeout: float = 30.0
    memory_mb: int = 2048


@dataclasses.dataclass
class Outcome:
    status: str  # "ok", "timeout", "died"
    payload: Any
    seconds: float
    output_tail: str
    exit_info: str = ""


# --------------------------------------------------------------------------


class Server:
    """One probe server process and its control socket."""

    def __init__(self, forbid: tuple[str, ...]):
        self.forbid = tuple(forbid)
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {k: os.environ[k] for k in ENV_PASS if k in os.environ}
        env.setdefault("OMP_NUM_THREADS", "1")
        env.update({"PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
                    "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore", "HOME": "/"})
        self.log = tempfile.TemporaryFile(prefix="ck-server-")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "autograder.probe_server", "--fd", str(theirs.fileno()),
             "--forbid", ",".join(self.forbid)],
            pass_fds=[theirs.fileno()], env=env, cwd="/", stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)
        theirs.close()
        self.info: dict | None = None
        self.isolation: dict | None = None
        self._waiters: dict[int, concurrent.futures.Future] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._ready = threading.Event()
        self._dead = False
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    def _read_loop(self) -> None:
        while True:
            try:
                msg = self.sock.recv(65536)
            except OSError:
                msg = b""
            if not msg:
                break
            try:
                data = json.loads(msg)
            except ValueError:
                continue
            if "ready" in data:
                self.info = data
                self._ready.set()
                continue
            with self._lock:
                fut = self._waiters.pop(data.get("id"), None)
            if fut is not None:
                fut.set_result(data)
        self._dead = True
        self._ready.set()
        with self._lock:
            waiters, self._waiters = self._waiters, {}
        for fut in waiters.values():
            fut.set_result({"lost": True})

    def wait_ready(self, timeout: float = START_TIMEOUT) -> dict:
        if not self._ready.wait(timeout) or not self.info or not self.info.get("ready"):
            why = (self.info or {}).get("error") or self._log_tail() or "it did not start"
            self.close()
            raise EngineError(f"the grading sandbox could not start: {why}")
        return self.info

    def _log_tail(self) -> str:
        try:
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - 2000))
            lines = self.log.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1] if lines else ""
        except OSError:
            return ""

    @property
    def alive(self) -> bool:
        return not self._dead and self.proc.poll() is None

    def send(self, meta: dict, fds: list[int]) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        with self._lock:
            self._waiters[meta["id"]] = fut
        try:
            with self._send_lock:
                socket.send_fds(self.sock, [json.dumps(meta).encode()], fds)
        except OSError as e:
            with self._lock:
                self._waiters.pop(meta["id"], None)
            raise EngineError(f"the grading sandbox stopped ({e})") from None
        return fut

    def close(self) -> None:
        try:  # shutdown first: the reader thread's recv holds the socket, close alone sends no EOF
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, 9)
                except (ProcessLookupError, PermissionError):
                    pass
                self.proc.wait()
        self.log.close()


class Engine:
    """Probe servers, one per set of forbidden packages, started on first use."""

    def __init__(self):
        self._servers: dict[tuple, Server] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- servers --------------------------------------------------------------

    def warm(self, forbids: Iterable[tuple]) -> None:
        """Start the servers these ban sets need, without waiting for them."""
        with self._lock:
            for f in forbids:
                key = tuple(sorted(f))
                if key not in self._servers or not self._servers[key].alive:
                    self._servers[key] = Server(key)

    def server(self, forbid: tuple) -> Server:
        key = tuple(sorted(forbid))
        with self._lock:
            s = self._servers.get(key)
            if s is None or not s.alive:
                if s is not None:
                    s.close()
                s = self._servers[key] = Server(key)
        s.wait_ready()
        return s

    def close(self) -> None:
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for s in servers:
            s.close()

    # -- one item -------------------------------------------------------------

    def run(self, req: Request) -> Outcome:
        server = self.server(req.forbid)
        payload = {"item": req.item, "seed": int(req.seed), "snippets": req.snippets,
                   "functions": list(req.functions), "forbid": list(req.forbid), "given": req.given}
        return self._run_raw(server, payload, req.timeout, req.memory_mb)

    def _run_raw(self, server: Server, payload: dict, timeout: float, memory_mb: int) -> Outcome:
        data = wire.encode(payload)
        memfd = os.memfd_create("ck-request", getattr(os, "MFD_CLOEXEC", 1))
        res_r, res_w = os.pipe2(os.O_CLOEXEC)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(memfd, view):]
            del data, view
            rid = next(self._ids)
            wall = timeout * WALL_FACTOR + WALL_EXTRA
            meta = {"op": "run", "id": rid, "timeout": wall, "memory_mb": memory_mb,
                    "cpu_seconds": timeout, "result_cap": RESULT_CAP}
            fut = server.send(meta, [memfd, res_w, out_w])
        finally:
            for fd in (memfd, res_w, out_w):
                os.close(fd)
        start = time.monotonic()
        result, head, tail, too_big = bytearray(), bytearray(), bytearray(), False
        open_fds = {res_r, out_r}
        done_at = None
        hard = start + timeout * WALL_FACTOR + WALL_EXTRA + 60
        try:
            while open_fds:
                now = time.monotonic()
                if fut.done():
                    done_at = done_at or now
                    if now - done_at > 2.0:  # only an escaped process could still hold a pipe
                        break
                if now > hard:
                    server.close()  # it stopped answering: the next item gets a fresh one
                    break
                ready, _, _ = select.select(list(open_fds), [], [], 0.05)
                for fd in ready:
                    chunk = os.read(fd, 1 << 20)
                    if not chunk:
                        open_fds.discard(fd)
                        continue
                    if fd == res_r:
                        if not too_big and len(result) + len(chunk) <= RESULT_CAP:
                            result += chunk
                        else:
                            too_big = True
                            result = bytearray()
                            open_fds.discard(fd)  # the child gets EPIPE and stops writing
                            os.close(fd)
                            res_r = -1  # closed: another thread may reuse the number
                    else:
                        if len(head) < OUTPUT_KEEP_HEAD:
                            head += chunk[:OUTPUT_KEEP_HEAD - len(head)]
                        tail = (tail + chunk)[-OUTPUT_KEEP_TAIL:]
        finally:
            for fd in (res_r, out_r):
                if fd < 0:
                    continue
                try:
                    os.close(fd)
                except OSError:
                    pass
        try:
            reply = fut.result(timeout=max(0.0, hard - time.monotonic()) + 5)
        except concurrent.futures.TimeoutError:
            reply = {"lost": True}
        seconds = float(reply.get("seconds", time.monotonic() - start))
        output = (bytes(tail) if len(tail) else bytes(head)).decode("utf-8", "replace").strip()
        if reply.get("lost"):
            return Outcome("died", None, seconds, output, "the grading sandbox stopped")
        if reply.get("timed_out"):
            return Outcome("timeout", None, seconds, output, "")
        code = int(reply.get("code", -1))
        cpu = float(reply.get("cpu", 0.0))
        if code == 128 + 24 or (code == 128 + 9 and cpu >= timeout - 0.5):  # the item's CPU seconds ran out
            return Outcome("timeout", None, seconds, output, "cpu")
        if code == 72:  # probe_server.JAIL_FAILED
            return Outcome("died", None, seconds, output, "jail")
        info = _exit_text(code)
        if too_big:
            return Outcome("died", None, seconds, output, f"{info}; a result larger than {RESULT_CAP // 2**20} MB")
        if code != 0 or not result:
            return Outcome("died", None, seconds, output, info)
        try:
            value = wire.decode(bytes(result), wire.Limits(total=RESULT_CAP))
        except wire.WireError as e:
            return Outcome("died", None, seconds, output, f"{info}; {e}")
        return Outcome("ok", value, seconds, output, info)

    # -- many items -----------------------------------------------------------

    def run_many(self, reqs: list[Request], parallel: int = 1) -> Iterator[tuple[int, Outcome]]:
        """Run requests, at most ``parallel`` at a time; yield ``(index, outcome)``
        as each finishes, so the caller judges while the others run."""
        self.warm({tuple(sorted(r.forbid)) for r in reqs})
        if parallel <= 1 or len(reqs) <= 1:
            for i, r in enumerate(reqs):
                yield i, self._safe_run(r)
            return
        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            futs = {pool.submit(self._safe_run, r): i for i, r in enumerate(reqs)}
            for fut in concurrent.futures.as_completed(futs):
                yield futs[fut], fut.result()

    def _safe_run(self, req: Request) -> Outcome:
        """One item's outcome, whatever happens to the sandbox: never an exception
        that would cost the other items their points."""
        try:
            return self.run(req)
        except EngineError as e:
            return Outcome("died", None, 0.0, "", str(e))
        except Exception as e:  # noqa: BLE001 -- an OS error around the pipes, a broken server
            return Outcome("died", None, 0.0, "", f"the grading sandbox failed ({type(e).__name__})")

    # -- what the children get --------------------------------------------------

    def isolation(self, forbid: tuple = ()) -> dict:
        """Run the self-test child once per server: what a hostile child can reach."""
        server = self.server(forbid)
        if server.isolation is None:
            server.isolation = self._selftest(server)
        return server.isolation

    def warm_for(self, assignments) -> dict:
        """Start the servers these assignments' items need and return the least
        isolation their children get (what ``grade-all``'s summary line reports)."""
        from .core import get_assignment

        forbids = {tuple(sorted(it.forbid)) for hw in assignments for it in get_assignment(hw).items}
        self.warm(forbids)
        worst: dict = {}
        try:
            for f in sorted(forbids):
                iso = self.isolation(f)
                if not worst or iso.get("level") != "full":
                    worst = iso
        except EngineError as e:
            worst = {"level": "partial", "why": [str(e)]}
        return worst

    def _selftest(self, server: Server) -> dict:
        info = server.info or {}
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        host_tmp = tempfile.mkdtemp(prefix="ck-visible-")
        try:
            payload = {"selftest": True, "secret_path": str(ROOT / "autograder" / "core.py"),
                       "host_tmp": host_tmp, "port": listener.getsockname()[1], "forbid": list(server.forbid),
                       **{f"ns_{k}": v for k, v in info.get("ns", {}).items()}}
            out = self._run_raw(server, payload, 30.0, 512)
        finally:
            listener.close()
            os.rmdir(host_tmp)
        return summarize(out, info)


def _exit_text(code: int) -> str:
    if code > 128:
        import signal

        try:
            return f"killed by signal {signal.Signals(code - 128).name}"
        except ValueError:
            return f"exit code {code}"
    return f"exit code {code}"


def summarize(out: Outcome, info: dict) -> dict:
    """The self-test's findings as ``{"level": "full"|"partial", "why": [...], ...}``."""
    why: list[str] = []
    ban = info.get("ban", {})
    if out.status != "ok" or not isinstance(out.payload, dict):
        return {"level": "partial", "why": [f"the isolation self-test failed ({out.exit_info or out.status})"]}
    st = out.payload.get("status", {})
    checks = out.payload.get("checks", {})
    why += [w for w in st.get("why", []) if isinstance(w, str)]
    why += [w for w in ban.get("why", []) if isinstance(w, str)]
    if checks.get("repo_visible"):
        why.append("the course repository (graders, solutions) is visible")
    if checks.get("tmp_path_visible"):
        why.append("the host's temp folder is visible")
    if checks.get("loopback"):
        why.append("the network is reachable")
    if checks.get("writes_outside_tmp"):
        why.append("the child can write outside its private /tmp")
    for n in ("ipc", "net", "pid", "mnt"):
        if checks.get(f"same_{n}") is not False:
            why.append(f"no {'IPC' if n == 'ipc' else n} namespace of its own")
    if checks.get("forbidden_importable"):
        why.append(f"forbidden packages importable: {', '.join(checks['forbidden_importable'])}")
    if st.get("max_tasks") is None:
        why.append("no process limit")
    why = list(dict.fromkeys(w for w in why if "RLIMIT_NPROC does not apply" not in w or st.get("uid") is None))
    level = "full" if not why else "partial"
    return {"level": level, "why": why, "uid": st.get("uid"), "max_tasks": st.get("max_tasks"),
            "proc": st.get("proc"), "ban": ban.get("mode"), "covered": ban.get("covered", [])}


_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def shared() -> Engine:
    """This process's engine (warm across every submission it grades)."""
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = Engine()
            atexit.register(_ENGINE.close)
        return _ENGINE
