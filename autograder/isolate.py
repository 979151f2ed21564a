"""What the child that runs student code can see, reach and harm.

Used by the probe server (:mod:`autograder.probe_server`), never by the judges. The
features are the ones IOI's ``isolate`` and bubblewrap use, called directly through
libc, so that no interpreter is started per item and the imports the probe server paid
for once stay warm:

**The server (once, at start):** :func:`ban_packages` moves the server into a mount
namespace of its own and covers each package the exercise forbids (``torch`` in the
NumPy homework, ``torchvision`` in IoU/NMS, ``sklearn.metrics`` in ROC/AUC) with a
read-only tmpfs whose only file is an ``__init__.py`` that raises ``ImportError``. The
server never imported them, so they are in no process memory either: no import hook
to undo, and ``import scipy.stats`` (which probes for torch) simply finds no torch.

**Each child (per item):** :func:`unshare_child` gives it new mount, network, IPC,
PID and UTS namespaces; the process that runs the probe is PID 1 of the new PID
namespace, so when it dies everything it started dies with it, and its IPC namespace
(System V shared memory, semaphores, message queues) goes too. :func:`enter` then
builds a new root from an allowlist (no "hide these folders": what is not listed does
not exist), whatever ``TMPDIR``, ``HOME`` or the working folder say:

- read-only: ``/usr``, ``/etc``, the Python installation and its ``sys.path`` folders
  outside the course repository, and the student package (``cnnkit``, ``data_scripts``);
- a private ``/tmp`` (a size-capped tmpfs: the child's working folder and home, and the
  only place it can write), a private ``/dev/shm``, a minimal ``/dev``, a fresh ``/proc``
  that shows only its own processes;
- then ``pivot_root`` into it, the old root detached.

As root it switches to a uid of its own (``UID_BASE`` + the pid of its keeper), so it
has no capabilities, cannot signal or trace anyone else, and ``RLIMIT_NPROC`` caps its
processes alone; otherwise (inside a user namespace) it drops its capabilities. It
sets ``no_new_privs``, becomes non-dumpable, dies with its keeper (``PDEATHSIG``), and
gets limits on address space, CPU seconds, file size and open files.

Where the system allows none of this (not root and no unprivileged user namespaces),
:func:`enter` does what it can (limits, a private working folder, bans by import
hooks) and says what is missing, so the summary line reports ``isolation: partial``.
"""
from __future__ import annotations

import ctypes
import dataclasses
import importlib.util
import os
import platform
import resource
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
O_PATH = getattr(os, "O_PATH", 0o10000000)

UID_BASE = 1_500_000_000  # a child kept by pid P runs as uid UID_BASE + P (as root)
MAX_TASKS = int(os.environ.get("COURSE_KIT_MAX_TASKS", "16"))  # processes + threads per child
KEEP_IN_ROOT = ("cnnkit", "data_scripts")
SCRATCH_MB = int(os.environ.get("COURSE_KIT_SCRATCH_MB", "256"))
SHM_MB = 64
DEVICES = ("null", "zero", "full", "random", "urandom")

_SYSCALLS = {  # pivot_root, capset
    "x86_64": (155, 126), "aarch64": (41, 91), "arm64": (41, 91), "ppc64le": (203, 184), "s390x": (217, 185),
}

# --------------------------------------------------------------------------
# System calls.

_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
        lib.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
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


def _pivot_root(new: str, old: str) -> None:
    nr = _SYSCALLS.get(platform.machine(), (None, None))[0]
    if nr is None:
        raise OSError(0, f"pivot_root: unknown system call number on {platform.machine()}")
    _check(_libc().syscall(nr, new.encode(), old.encode()), "pivot_root")


def _drop_capabilities() -> bool:
    lib = _libc()
    for cap in range(64):
        lib.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability: ignored

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    nr = _SYSCALLS.get(platform.machine(), (None, None))[1]
    if nr is None:
        return False
    header, data = Header(0x20080522, 0), (Data * 2)()
    return lib.syscall(nr, ctypes.byref(header), ctypes.byref(data)) == 0


def _under(p: str, parent: str) -> bool:
    return p == parent or p.startswith(parent.rstrip("/") + "/")


# --------------------------------------------------------------------------
# The server: a mount namespace of its own, with the forbidden packages covered.


def _stub(name: str) -> str:
    return (f"raise ImportError({f'`{name}` is not available in this exercise: write it yourself'!r}, "
            f"name={name!r})\n")


def _locations(name: str) -> list[tuple[str, str]]:
    """(path, kind) of every copy of package or module ``name`` on ``sys.path``
    (kind: "dir" or "file"), found without importing it."""
    found: list[tuple[str, str]] = []
    if "." in name:
        parent, leaf = name.rsplit(".", 1)
        try:
            spec = importlib.util.find_spec(parent)
        except (ImportError, ValueError):
            return []
        roots = list(spec.submodule_search_locations or []) if spec else []
    else:
        leaf, roots = name, [p or os.getcwd() for p in sys.path]
    for r in roots:
        if not os.path.isdir(r):
            continue
        d = os.path.join(r, leaf)
        if os.path.isdir(d):
            found.append((os.path.realpath(d), "dir"))
        try:
            entries = os.listdir(r)
        except OSError:
            continue
        for e in entries:
            if e == leaf + ".py" or (e.startswith(leaf + ".") and e.endswith((".so", ".pyd"))):
                found.append((os.path.realpath(os.path.join(r, e)), "file"))
    return list(dict.fromkeys(found))


def _enter_server_namespace() -> str | None:
    """A mount namespace for the server; returns None or why it could not."""
    if os.geteuid() == 0 and _unshare(CLONE_NEWNS):
        return None
    uid, gid = os.getuid(), os.getgid()
    if _unshare(CLONE_NEWUSER | CLONE_NEWNS):
        try:
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
            return None
        except OSError as e:
            return f"user namespace maps: {e}"
    return "no mount namespace (not root and no unprivileged user namespaces)"


def ban_packages(names: tuple[str, ...]) -> dict:
    """Called once by the probe server before it imports anything heavy. Returns
    ``{"mode": "mounts"|"hooks"|"none", "covered": [...], "why": [...]}``."""
    status: dict = {"mode": "none", "covered": [], "why": [], "userns": False}
    why = _enter_server_namespace()
    if why is None:
        status["userns"] = os.geteuid() != 0 or not _is_initial_userns()
        try:
            _mount(None, "/", None, MS_REC | MS_PRIVATE)
        except OSError as e:
            why = str(e)
    if not names:
        status["mode"] = "mounts" if why is None else "none"
        if why:
            status["why"].append(why)
        return status
    if why is None:
        try:
            for name in names:
                for path, kind in _locations(name):
                    _cover(path, kind, name)
                    status["covered"].append(path)
            status["mode"] = "mounts"
            return status
        except OSError as e:
            status["why"].append(f"covering forbidden packages failed ({e})")
    else:
        status["why"].append(why)
    install_import_hooks(names)
    status["mode"] = "hooks"
    status["why"].append("forbidden packages are blocked by import hooks only (student code can undo them)")
    return status


def _is_initial_userns() -> bool:
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return True


def _cover(path: str, kind: str, name: str) -> None:
    if kind == "dir":
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
        with open(os.path.join(path, "__init__.py"), "w") as f:
            f.write(_stub(name))
        _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
    else:  # a single-file module or extension: an empty file over it fails to import
        _mount("/dev/null", path, None, MS_BIND)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY)


FORBIDDEN_HOOKED: tuple[str, ...] = ()


def install_import_hooks(names: tuple[str, ...]) -> None:
    """The fallback where no mount namespace is allowed: a ``None`` in
    ``sys.modules`` and a finder that refuses. Student code can undo this; the
    summary line says so."""
    import importlib.abc

    global FORBIDDEN_HOOKED
    FORBIDDEN_HOOKED = tuple(names)

    def hit(n: str) -> bool:
        return any(n == f or n.startswith(f + ".") for f in FORBIDDEN_HOOKED)

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if hit(fullname):
                raise ImportError(f"`{fullname}` is not allowed in this exercise: write it yourself", name=fullname)
            return None

    for n in names:
        sys.modules[n] = None  # type: ignore[assignment]
    sys.meta_path.insert(0, Blocker())


# --------------------------------------------------------------------------
# What the child's root holds.


@dataclasses.dataclass
class Plan:
    binds: list[str]                     # host paths bound read-only at the same path
    links: list[tuple[str, str]]         # (path, target): symlinks recreated (/bin -> usr/bin)
    base: str                            # an empty folder of the server's, the new root's mount point


def plan(base: str) -> Plan:
    """Computed once by the server, before any fork."""
    wanted: list[str] = []
    links: list[tuple[str, str]] = []
    for top in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            links.append((top, os.readlink(top)))
        elif os.path.isdir(top):
            wanted.append(top)
    root = str(ROOT)
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix)}
    wanted += sorted(prefixes)
    for p in sys.path:
        if not p or not os.path.isdir(p):
            continue
        real = os.path.realpath(p)
        if _under(real, root) and not any(_under(real, x) for x in prefixes):
            continue  # the course repository (graders, solutions, tests) stays out
        wanted.append(real)
    for k in KEEP_IN_ROOT:
        if (ROOT / k).is_dir():
            wanted.append(str(ROOT / k))
    wanted += [p for p in os.environ.get("COURSE_KIT_SANDBOX_KEEP", "").split(os.pathsep) if p and os.path.exists(p)]
    binds: list[str] = []
    for w in sorted({os.path.realpath(x) for x in wanted}, key=lambda s: (s.count("/"), s)):
        if w in ("/", "/proc", "/dev", "/sys", "/tmp") or any(_under(w, b) for b in binds):
            continue
        binds.append(w)
    return Plan(binds, links, base)


# --------------------------------------------------------------------------
# The child.


def unshare_child() -> dict:
    """In the keeper (the first fork), before it forks the process that runs the
    probe: new namespaces, as many as the system gives."""
    st = {"pid": False, "mounts": False, "network": False, "ipc": False}
    full = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWUTS
    if _unshare(full):
        st.update(pid=True, mounts=True, network=True, ipc=True)
        return st
    for flag, key in ((CLONE_NEWNS, "mounts"), (CLONE_NEWNET, "network"), (CLONE_NEWIPC, "ipc"), (CLONE_NEWPID, "pid")):
        if _unshare(flag):
            st[key] = True
    return st


def _bind(src_fd: int, dst: str, is_dir: bool) -> None:
    if is_dir:
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        open(dst, "a").close()
    _mount(f"/proc/self/fd/{src_fd}", dst, None, MS_BIND | MS_REC)
    _mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _build_root(p: Plan, owner: int | None, ns: dict) -> None:
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    fds = {}
    for b in p.binds:
        try:
            fds[b] = os.open(b, O_PATH | os.O_CLOEXEC)
        except OSError:
            pass
    devs = {}
    for d in DEVICES:
        try:
            devs[d] = os.open(f"/dev/{d}", O_PATH | os.O_CLOEXEC)
        except OSError:
            pass
    new = p.base
    try:
        _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
        # /tmp first: a bound folder may lie below it (a course repository under /tmp)
        own = f",uid={owner},gid={owner}" if owner is not None else ""
        os.makedirs(new + "/tmp", exist_ok=True)
        _mount("tmpfs", new + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={SCRATCH_MB}m,mode=0700{own}")
        os.makedirs(new + "/dev", exist_ok=True)
        _mount("tmpfs", new + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=1m,mode=0755")
        for d, fd in devs.items():
            open(f"{new}/dev/{d}", "a").close()
            _mount(f"/proc/self/fd/{fd}", f"{new}/dev/{d}", None, MS_BIND)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                             ("stderr", "/proc/self/fd/2")):
            os.symlink(target, f"{new}/dev/{name}")
        os.makedirs(new + "/dev/shm", exist_ok=True)
        _mount("tmpfs", new + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, f"size={SHM_MB}m,mode=1777")
        for b, fd in fds.items():
            _bind(fd, new + b, os.path.isdir(f"/proc/self/fd/{fd}"))
        for link, target in p.links:
            if not os.path.lexists(new + link):
                os.symlink(target, new + link)
        os.makedirs(new + "/proc", exist_ok=True)
        if ns.get("pid"):
            try:
                _mount("proc", new + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
                ns["proc"] = "own"
            except OSError:
                ns["proc"] = "none"
        else:
            ns["proc"] = "none"
        os.makedirs(new + "/.old", exist_ok=True)
        os.chdir(new)
        _pivot_root(".", ".old")
        os.chdir("/")
        _check(_libc().umount2(b"/.old", MNT_DETACH), "umount old root")
        os.rmdir("/.old")
        _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    finally:
        for fd in list(fds.values()) + list(devs.values()):
            try:
                os.close(fd)
            except OSError:
                pass


class JailError(Exception):
    """The system allows namespaces, yet the jail could not be built: the item is not
    run (a half-built jail could neither be trusted nor run the student's code)."""


def child_uid(keeper_pid: int) -> int:
    return UID_BASE + keeper_pid


def enter(p: Plan, ns: dict, keeper_pid: int, memory_mb: int, cpu_seconds: float, userns: bool,
          host_tasks: int = 0) -> dict:
    """Called by the process that will run the probe, before any student code.
    Never raises: what it could not do is listed under ``why``."""
    st: dict = {"uid": None, "capabilities": "kept", "max_tasks": None, "root": "host", "why": [], **ns}
    root = os.geteuid() == 0 and not userns
    owner = child_uid(keeper_pid) if root else None
    if ns.get("mounts"):
        try:
            _build_root(p, owner, st)
            st["root"] = "private"
        except OSError as e:  # half a jail is worse than none: this item stops, loudly
            raise JailError(f"could not build the child's private root ({e})") from None
    if st["root"] != "private":
        st["why"].append("no private root: the child sees the files its user can read")
        scratch = os.path.join(p.base, f"w{keeper_pid}")  # removed by the server afterwards
        os.makedirs(scratch, mode=0o700, exist_ok=True)
        if owner is not None:
            os.chown(scratch, owner, owner)
        os.chdir(scratch)
    if root:
        try:
            for cap in range(64):
                _libc().prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
            os.setgroups([])
            os.setresgid(owner, owner, owner)
            os.setresuid(owner, owner, owner)
            st["uid"], st["capabilities"] = owner, "none"
        except OSError as e:
            st["why"].append(f"could not switch to an unprivileged user ({e})")
    elif userns or os.geteuid() == 0:
        st["capabilities"] = "none" if _drop_capabilities() else "kept"
    else:
        st["capabilities"] = "none"  # an ordinary user has none to drop
    lib = _libc()
    if lib.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        st["why"].append("no_new_privs refused")
    lib.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    lib.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # after the uid switch, which clears it
    try:
        if st["uid"] is not None:
            limit = MAX_TASKS
        else:  # a uid shared with the TA's own processes (counted before the new /proc): leave them room
            limit = host_tasks + MAX_TASKS
        if os.geteuid() != 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
            st["max_tasks"] = MAX_TASKS
        else:
            st["why"].append("running as root: RLIMIT_NPROC does not apply")
    except (OSError, ValueError) as e:
        st["why"].append(f"RLIMIT_NPROC: {e}")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, 64 * 2**20))
    if memory_mb:
        cap = _vm_size_bytes() + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    if cpu_seconds:  # SIGXCPU at the item's limit (the engine reports a timeout), SIGKILL a second later
        c = max(1, int(round(cpu_seconds)))
        resource.setrlimit(resource.RLIMIT_CPU, (c, c + 1))
    if st["root"] == "private":
        os.chdir("/tmp")
    return st


def scratch_of(p: Plan, keeper_pid: int) -> str:
    return os.path.join(p.base, f"w{keeper_pid}")


def _vm_size_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tasks_of(uid: int) -> int:
    """Processes and threads of ``uid`` on this machine (read before the child's own /proc)."""
    return _tasks_of(uid)


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
                        if f.read().rsplit(b")", 1)[1].split()[0] != b"Z":
                            return True
            except (OSError, IndexError):
                pass
    return False


def reap(uid: int | None) -> None:
    """Kill every process left with a child's own uid (belt and braces: the PID
    namespace already takes them down with its first process). A helper takes that
    uid first, so ``kill(-1)`` reaches nothing else."""
    import time

    if not uid or uid < UID_BASE or os.geteuid() != 0 or not _has_processes(uid):
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
    for _ in range(100):
        if not _has_processes(uid):
            break
        time.sleep(0.01)


def describe(st: dict) -> str:
    """The summary line's isolation part, from the server's self-test."""
    if st.get("level") == "full":
        who = f"own uid, at most {st.get('max_tasks')} processes" if st.get("uid") else \
            f"no capabilities, at most {st.get('max_tasks')} processes"
        return ("isolation: full (private root: only the Python environment and the student package are visible, "
                "read-only, and a private size-capped /tmp; new PID, IPC, network and mount namespaces; "
                f"forbidden packages covered on disk; {who})")
    return "isolation: partial (" + "; ".join(st.get("why") or ["unknown"]) + ")"
