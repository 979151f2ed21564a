"""What the child that runs student code can see, reach and harm.

The grading process (the *parent*, which judges) needs the graders; the forked child
that loads the student's code and runs the probe must not see them. Both come from one
``fork()``, so the parent keeps its view of the disk and the child changes its own
just after the fork, before any student code runs. This uses the kernel features that
bubblewrap (``bwrap``) uses, called directly, so that no new interpreter is started
and the imports the parent paid for once (torch, NumPy, the graders) stay warm:

1. **Mount namespace** (``unshare(CLONE_NEWNS)``, as root, or inside a new user
   namespace where unprivileged user namespaces are allowed). An empty, read-only
   tmpfs is mounted over: the repository (the graders in ``autograder/``, ``tests/``,
   ``source/`` and ``authoring/`` with the solutions, ``.git``), the submissions
   folder, the results folder and the gradebook's folder (``hide_also``), the temp
   folder (other children's working folders), ``/dev/shm``, ``/var/tmp``, ``/run``
   (service sockets: PostgreSQL, Docker), ``/home``, ``/root``, ``/srv`` (nbgrader's
   exchange), ``/mnt`` and ``/media``. What the student's code legitimately needs is
   bound back at the same path: the student package (``cnnkit``, ``data_scripts``),
   the Python environment (``sys.prefix`` and the base installation) and the child's
   own working folder. The child's current folder becomes a private tmpfs of limited
   size, so nothing it writes reaches the disk.
2. **Network namespace** (``CLONE_NEWNET``): no interface but a loopback that is down.
3. **Its own user id** (as root): the child switches to an unprivileged uid of its
   own (``UID_BASE + pid``), so it has no capabilities (it cannot unmount the tmpfs,
   read ``/proc/<parent>/root`` or signal other processes), ``RLIMIT_NPROC`` applies
   to it alone (a fork bomb stops at ``MAX_TASKS`` processes without touching anyone
   else's limit), and after the item the parent kills every process left with that
   uid (a child that escaped its process group with ``setsid`` included). Inside a
   user namespace (not root) the capabilities are dropped instead.
4. ``PR_SET_NO_NEW_PRIVS`` (no setuid program gives root back) and a non-dumpable
   process (siblings cannot read its memory through ``/proc``).

Where the system allows none of this (not root and no unprivileged user namespaces),
the child still runs with the limits of :mod:`autograder.sandbox` (time, memory, file
size, its own session and working folder) and :func:`probe` says what is missing, so
``grade-all`` can report the isolation as partial and why.

What it does not block: the child is a copy of the parent, so the probe's own code
and module objects are in its memory (they are not the judges' references, which are
computed after the child is gone, but they are not secret either).
"""
from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import platform
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 4, 24, 38
O_PATH = getattr(os, "O_PATH", 0o10000000)

UID_BASE = 1_500_000_000  # the child of pid P runs as uid UID_BASE + P (as root)
MAX_TASKS = int(os.environ.get("COURSE_KIT_MAX_TASKS", "8"))  # processes + threads per child
KEEP_IN_ROOT = ("cnnkit", "data_scripts")
SYSTEM_HIDDEN = ("/run", "/home", "/root", "/srv", "/mnt", "/media", "/var/tmp", "/dev/shm")
NEVER_HIDE = ("/", "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/proc", "/dev", "/sys", "/var", "/opt")
SCRATCH_MB = 256

_extra: list[str] = []
_plan_cache: dict = {}


def hide_also(*paths) -> None:
    """Folders (or files: their folder) the child must not see, on top of the defaults:
    the submissions, the results and the gradebook's folder."""
    for p in paths:
        if not p:
            continue
        p = os.path.realpath(p)
        if os.path.isfile(p):
            p = os.path.dirname(p)
        if p not in _extra:
            _extra.append(p)
    _plan_cache.clear()


def _env_hidden() -> list[str]:
    return [p for p in os.environ.get("COURSE_KIT_HIDE", "").split(os.pathsep) if p]


def _under(p: str, parent: str) -> bool:
    return p == parent or p.startswith(parent.rstrip("/") + "/")


@dataclasses.dataclass
class Plan:
    hide: list[str]  # realpaths covered by an empty tmpfs, shallow first
    keep: list[str]  # realpaths inside them bound back
    links: list[tuple[str, str]]  # (path, target): symlinks recreated inside a hidden folder
    skipped: list[str]


def plan() -> Plan:
    key = (tuple(_extra), os.environ.get("COURSE_KIT_HIDE", ""))
    if key in _plan_cache:
        return _plan_cache[key]
    keep_literal = [str(ROOT / k) for k in KEEP_IN_ROOT if (ROOT / k).exists()]
    keep_literal += [p for p in os.environ.get("COURSE_KIT_SANDBOX_KEEP", "").split(os.pathsep) if p]
    keep_literal += [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix]
    try:
        import site

        keep_literal.append(site.getusersitepackages())
    except Exception:
        pass
    keep, links = [], []
    for lit in keep_literal:
        if not lit or not os.path.exists(lit):
            continue
        real = os.path.realpath(lit)
        if real not in keep:
            keep.append(real)
        if os.path.islink(lit):
            links.append((os.path.join(os.path.realpath(os.path.dirname(lit)), os.path.basename(lit)), os.readlink(lit)))
    wanted = [str(ROOT), tempfile.gettempdir(), *SYSTEM_HIDDEN, *_extra, *_env_hidden()]
    hide, skipped = [], []
    for p in wanted:
        if not os.path.isdir(p):
            continue
        real = os.path.realpath(p)
        if real in NEVER_HIDE or any(_under(n, real) for n in ("/usr", "/proc", "/dev", "/etc")):
            skipped.append(f"{p} (a system folder)")
            continue
        if any(_under(real, k) and real != k for k in keep) or real in keep:
            skipped.append(f"{p} (inside the Python environment or the student package)")
            continue
        if real not in hide:
            hide.append(real)
    hide.sort(key=lambda s: s.count("/"))
    result = Plan(hide, sorted(keep, key=lambda s: s.count("/")), links, skipped)
    _plan_cache[key] = result
    return result


# --------------------------------------------------------------------------
# System calls.

_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
        lib.unshare.argtypes = [ctypes.c_int]
        lib.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _LIBC = lib
    return _LIBC


def _check(rc: int, what: str) -> None:
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc().mount(enc(src), enc(target), enc(fstype), flags, enc(data)), f"mount {target}")


def _unshare(flags: int) -> bool:
    return _libc().unshare(flags) == 0


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


_CAPSET_NR = {"x86_64": 126, "aarch64": 91, "arm64": 91, "ppc64le": 184, "s390x": 185}


def _drop_capabilities() -> bool:
    lib = _libc()
    for cap in range(64):
        lib.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability: ignored

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    nr = _CAPSET_NR.get(platform.machine())
    if nr is None:
        return False
    header, data = Header(0x20080522, 0), (Data * 2)()
    return lib.syscall(nr, ctypes.byref(header), ctypes.byref(data)) == 0


# --------------------------------------------------------------------------
# Entering the jail (in the forked child) and cleaning up after it (in the parent).


def child_uid(pid: int) -> int:
    return UID_BASE + pid


def _hide(p: Plan, work: str, status: dict) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = list(p.keep) + [work]
    fds = {}
    for k in keep:
        try:
            fds[k] = os.open(k, O_PATH | os.O_CLOEXEC)
        except OSError:
            pass
    hidden = []
    try:
        for h in p.hide:
            if not os.path.isdir(h):
                continue  # under a folder hidden already
            scratch = h in (os.path.realpath(tempfile.gettempdir()), "/dev/shm", "/var/tmp")
            opts = f"size={64 if scratch else 1}m,mode={'1777' if scratch else '0755'}"
            _mount("tmpfs", h, "tmpfs", MS_NOSUID | MS_NODEV, opts)
            for k in keep:
                if _under(k, h) and k != h and k in fds:
                    if os.path.isdir(f"/proc/self/fd/{fds[k]}"):
                        os.makedirs(k, exist_ok=True)
                    else:
                        os.makedirs(os.path.dirname(k), exist_ok=True)
                        open(k, "a").close()
                    _mount(f"/proc/self/fd/{fds[k]}", k, None, MS_BIND | MS_REC)
            for link, target in p.links:
                if _under(link, h) and not os.path.lexists(link):
                    os.makedirs(os.path.dirname(link), exist_ok=True)
                    os.symlink(target, link)
            if not scratch:
                _mount(None, h, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
            hidden.append(h)
    finally:
        for fd in fds.values():
            os.close(fd)
    status["hidden"] = hidden


def enter(work: Path) -> dict:
    """Called in the forked child before any student code. Never raises: what it
    could not do is listed under ``why`` in what it returns (see :func:`probe`)."""
    try:
        return _enter(work)
    except Exception as e:  # an unexpected system: grade with what we have, and say so
        return {"network": False, "mounts": False, "uid": None, "max_tasks": None, "why": [f"jail: {e!r}"]}


def _enter(work: Path) -> dict:
    status: dict = {"network": False, "mounts": False, "uid": None, "capabilities": "kept", "max_tasks": None,
                    "why": []}
    uid, gid = os.getuid(), os.getgid()
    root = os.geteuid() == 0
    userns = False
    if _unshare(CLONE_NEWNS | CLONE_NEWNET):
        status["network"] = status["mounts"] = True
    elif _unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET):
        userns = status["network"] = status["mounts"] = True
        try:
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
        except OSError as e:
            status["why"].append(f"user namespace maps: {e}")
    elif _unshare(CLONE_NEWNET) or _unshare(CLONE_NEWUSER | CLONE_NEWNET):
        status["network"] = True
        status["why"].append("no mount namespace (not root and no unprivileged user namespaces): the child can read what its user can read")
    else:
        status["why"].append("no namespaces (not root and no unprivileged user namespaces): network and files not isolated")
    work_s = os.path.realpath(work)
    if status["mounts"]:
        try:
            _hide(plan(), work_s, status)
            cwd_owner = f",uid={child_uid(os.getpid())},gid={child_uid(os.getpid())}" if root else ""
            _mount("tmpfs", os.path.join(work_s, "cwd"), "tmpfs", MS_NOSUID | MS_NODEV, f"size={SCRATCH_MB}m,mode=0700{cwd_owner}")
        except OSError as e:
            status["mounts"] = False
            status["why"].append(f"hiding folders failed ({e})")
    if root:
        new = child_uid(os.getpid())
        try:
            os.chown(os.path.join(work_s, "result"), new, new)
            if not status["mounts"]:
                os.chown(os.path.join(work_s, "cwd"), new, new)
            os.chmod(work_s, 0o711)
            _drop_capabilities_bounding_only()
            os.setgroups([])
            os.setresgid(new, new, new)
            os.setresuid(new, new, new)
            status["uid"] = new
            status["capabilities"] = "none"
        except OSError as e:
            status["why"].append(f"could not switch to an unprivileged user ({e}): the child runs as root")
    elif userns:
        status["capabilities"] = "none" if _drop_capabilities() else "kept"
    try:
        _check(_libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    except OSError as e:
        status["why"].append(str(e))
    _libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    if os.geteuid() != 0:
        try:
            if status["uid"] is not None or userns:
                limit = MAX_TASKS
            else:  # a uid shared with the TA's own processes: leave them room
                limit = _tasks_of(os.getuid()) + MAX_TASKS
            resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
            status["max_tasks"] = limit
        except (OSError, ValueError) as e:
            status["why"].append(f"RLIMIT_NPROC: {e}")
    else:
        status["why"].append("root is exempt from RLIMIT_NPROC: a fork bomb is stopped only by the timeout")
    return status


def _drop_capabilities_bounding_only() -> None:
    lib = _libc()
    for cap in range(64):
        lib.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)


def _tasks_of(uid: int) -> int:
    n = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat(f"/proc/{d}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{d}/task"))
            except OSError:
                pass
    return n


def _has_processes(uid: int) -> bool:
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat(f"/proc/{d}").st_uid == uid:
                    with open(f"/proc/{d}/stat", "rb") as f:
                        if f.read().rsplit(b")", 1)[1].split()[0] != b"Z":  # zombies are gone already
                            return True
            except (OSError, IndexError):
                pass
    return False


def reap(uid: int | None) -> None:
    """Kill every process left with the child's own uid (fork bombs, ``setsid``
    escapes). A helper takes that uid first, so ``kill(-1)`` reaches nothing else.
    One pass is enough: the kernel walks the process list under the lock ``fork``
    needs, and a process with SIGKILL pending cannot finish a fork."""
    if not uid or uid < UID_BASE or not _has_processes(uid):
        return
    helper = os.fork()
    if helper == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            if os.getuid() == os.geteuid() == uid and uid >= UID_BASE:  # never kill(-1) as anyone else
                for _ in range(3):
                    try:
                        os.kill(-1, signal.SIGKILL)
                    except OSError:
                        pass
        finally:
            os._exit(0)
    os.waitpid(helper, 0)
    for _ in range(100):  # the killed ones leave the process table
        if not _has_processes(uid):
            break
        time.sleep(0.01)


# --------------------------------------------------------------------------
# What isolation this machine gives, checked once by a child like the real ones.


def probe() -> dict:
    """Fork a child that enters the jail and tries what a hostile submission would;
    return ``{"level": "full" | "partial", "why": [...], ...}``."""
    work = Path(tempfile.mkdtemp(prefix="ckjail-"))
    (work / "cwd").mkdir()
    (work / "result").mkdir()
    secret = ROOT / "autograder" / "core.py"
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setsid()
            os.closerange(3, 1024)
            st = enter(work)
            os.chdir(work / "cwd")
            checks = {}
            try:
                open(secret).close()
                checks["graders_readable"] = True
            except OSError:
                checks["graders_readable"] = False
            import socket

            try:
                socket.create_connection(("127.0.0.1", 9), timeout=0.5).close()
                checks["loopback"] = True
            except OSError as e:
                checks["loopback"] = "unreachable" not in str(e).lower() and "network" not in str(e).lower()
            try:
                os.kill(os.getppid(), 0)
                checks["can_signal_parent"] = True
            except OSError:
                checks["can_signal_parent"] = False
            st["checks"] = checks
            out = work / "result" / "jail.json"
            out.write_text(json.dumps(st))
            code = 0
        finally:
            os._exit(code)
    os.waitpid(pid, 0)
    reap(child_uid(pid) if os.geteuid() == 0 else None)
    try:
        st = json.loads((work / "result" / "jail.json").read_text())
    except (OSError, ValueError):
        st = {"why": ["the isolation probe failed"], "checks": {}}
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    checks = st.get("checks", {})
    why = list(st.get("why", []))
    if checks.get("graders_readable", True):
        why.append("the graders are readable from the child")
    if checks.get("can_signal_parent", True):
        why.append("the child can signal the grading process")
    if not st.get("network"):
        why.append("the network is reachable")
    full = (st.get("mounts") and st.get("network") and not checks.get("graders_readable", True)
            and not checks.get("can_signal_parent", True) and st.get("max_tasks") is not None)
    st["level"] = "full" if full else "partial"
    if full:
        why = []
    st["why"] = why
    st["hidden"] = st.get("hidden", [])
    return st


def describe(st: dict) -> str:
    if st.get("level") == "full":
        who = f"own uid, at most {st.get('max_tasks')} processes" if st.get("uid") else f"no capabilities, at most {st.get('max_tasks')} processes"
        return (f"isolation: full (mount namespace hides the graders, submissions, results, gradebook and other "
                f"students' working folders; no network; {who})")
    return "isolation: partial (" + "; ".join(st.get("why") or ["unknown"]) + ")"
