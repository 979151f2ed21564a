"""Plain data between the judge and the sandbox, in one bounded byte stream.

Both directions use it: the judge sends a request (the student's kept definitions,
the item, what it gives the probe), the child sends back what the probe returned.
The stream is ``MAGIC``, a JSON header and the arrays it names, each as a ``.npy``
blob (never pickled)::

    b"CKW1" | u32 header length | header (UTF-8 JSON) | (u64 length | .npy bytes)*

In the header an array is ``{"__npy__": i}`` (the i-th blob), a tuple
``{"__seq__": "tuple", "items": [...]}``, a dict ``{"__dict__": [[k, v], ...]}``,
a non-finite float ``{"__float__": "nan"}`` and a failed value ``{"__bad__": kind,
"msg": text}``.

:func:`decode` is written for a hostile writer: it reads at most ``Limits.total``
bytes (the caller's reader enforces that), refuses a header nested deeper than
``Limits.depth`` or with more than ``Limits.nodes`` values, refuses arrays of
non-numeric dtypes, blobs that are not referenced exactly once, and a total of array
bytes above ``Limits.array_bytes``. Whatever the bytes, it returns a value or raises
:class:`WireError` with a one-line message, in time and memory proportional to the
(capped) input.
"""
from __future__ import annotations

import dataclasses
import io
import json
import struct
from typing import Any

import numpy as np

from .runtime import Bad

MAGIC = b"CKW1"


class WireError(Exception):
    """The stream is not a valid message (message for the student or the TA)."""


@dataclasses.dataclass(frozen=True)
class Limits:
    total: int = 256 * 2**20        # bytes of the whole stream
    header: int = 16 * 2**20        # bytes of the JSON header
    depth: int = 40                 # nesting of lists/dicts/tuples
    nodes: int = 2_000_000          # values in the header
    arrays: int = 20_000            # .npy blobs
    array_bytes: int = 256 * 2**20  # their data, all together
    text: int = 1 * 2**20           # one string


DEFAULT = Limits()


# --------------------------------------------------------------------------
# Encoding (the child's side, and the judge's for requests).


def encode(value: Any, limits: Limits = DEFAULT) -> bytes:
    """Plain data -> bytes. Anything else becomes a ``Bad`` saying what it was."""
    blobs: list[bytes] = []
    header = json.dumps(_enc(value, blobs, 0, limits), allow_nan=False, separators=(",", ":")).encode()
    out = io.BytesIO()
    out.write(MAGIC)
    out.write(struct.pack("<I", len(header)))
    out.write(header)
    for b in blobs:
        out.write(struct.pack("<Q", len(b)))
        out.write(b)
    return out.getvalue()


def _enc(value: Any, blobs: list, depth: int, limits: Limits) -> Any:
    if depth > limits.depth - 2:
        return {"__bad__": "type", "msg": "a structure nested too deeply"}
    if isinstance(value, Bad):
        return {"__bad__": str(value.kind), "msg": str(value.message)[:2000]}
    if value is None or type(value) is bool:
        return value
    if type(value) is str:
        return value if len(value) <= limits.text else {"__bad__": "type", "msg": "a string over 1 MB"}
    if type(value) is int:
        return value if -(2**63) <= value < 2**63 else {"__float__": repr(float(value))}
    if type(value) is float:
        return value if np.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.generic):
        if value.dtype.kind in "biuf":
            return _enc(value.item(), blobs, depth + 1, limits)
        if value.dtype.kind == "c":
            return _enc(np.asarray(value), blobs, depth + 1, limits)
        return {"__bad__": "type", "msg": f"a NumPy scalar of dtype {value.dtype}"}
    if type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach"):
        try:
            value = value.detach().cpu().numpy()
        except Exception as e:  # noqa: BLE001 -- a tensor that will not convert
            return {"__bad__": "type", "msg": f"a tensor that could not be converted ({type(e).__name__})"}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc" or value.dtype.hasobject:
            return {"__bad__": "type", "msg": f"an array of dtype {value.dtype}"}
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(value), allow_pickle=False)
        blobs.append(buf.getvalue())
        return {"__npy__": len(blobs) - 1}
    if isinstance(value, (list, tuple)):
        items = [_enc(v, blobs, depth + 1, limits) for v in value]
        return items if type(value) is list else {"__seq__": "tuple", "items": items}
    if isinstance(value, dict):
        return {"__dict__": [[_enc(k, blobs, depth + 1, limits), _enc(v, blobs, depth + 1, limits)] for k, v in value.items()]}
    return {"__bad__": "type", "msg": f"an object of type {type(value).__name__}"}


# --------------------------------------------------------------------------
# Decoding (the judge's side, and the child's for requests).


def decode(data: bytes, limits: Limits = DEFAULT) -> Any:
    if len(data) > limits.total:
        raise WireError(f"the result is larger than {limits.total // 2**20} MB")
    if len(data) < 8 or data[:4] != MAGIC:
        raise WireError("the result is not in the grader's format")
    (hlen,) = struct.unpack_from("<I", data, 4)
    if hlen > limits.header or 8 + hlen > len(data):
        raise WireError("the result's header is too large or cut short")
    try:
        header = json.loads(data[8:8 + hlen].decode("utf-8"))
    except RecursionError:
        raise WireError("the result is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise WireError(f"the result's header is not valid JSON ({type(e).__name__})") from None
    blobs = _split_blobs(data, 8 + hlen, limits)
    used: set[int] = set()
    state = {"nodes": 0, "bytes": 0}
    return _dec(header, blobs, used, state, 0, limits)


def _split_blobs(data: bytes, pos: int, limits: Limits) -> list[memoryview]:
    view = memoryview(data)
    blobs = []
    while pos < len(data):
        if len(blobs) >= limits.arrays:
            raise WireError(f"the result holds more than {limits.arrays} arrays")
        if pos + 8 > len(data):
            raise WireError("the result is cut short")
        (n,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        if n > len(data) - pos:
            raise WireError("the result is cut short")
        blobs.append(view[pos:pos + n])
        pos += n
    return blobs


def _dec(obj: Any, blobs: list, used: set, state: dict, depth: int, limits: Limits) -> Any:
    state["nodes"] += 1
    if state["nodes"] > limits.nodes:
        raise WireError(f"the result holds more than {limits.nodes} values")
    if depth > limits.depth:
        raise WireError("the result is nested too deeply")
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if isinstance(obj, str):
        if len(obj) > limits.text:
            raise WireError("the result holds a string over 1 MB")
        return obj
    if isinstance(obj, list):
        return [_dec(v, blobs, used, state, depth + 1, limits) for v in obj]
    if not isinstance(obj, dict):
        raise WireError("the result holds an unexpected value")
    if "__npy__" in obj:
        return _array(obj["__npy__"], blobs, used, state, limits)
    if "__bad__" in obj:
        return Bad(str(obj.get("__bad__"))[:20], str(obj.get("msg", ""))[:300])
    if "__float__" in obj:
        text = obj["__float__"]
        if not isinstance(text, str) or len(text) > 40:
            raise WireError("the result holds a bad number")
        try:
            return float(text)
        except ValueError:
            raise WireError("the result holds a bad number") from None
    if "__seq__" in obj:
        items = obj.get("items")
        if not isinstance(items, list):
            raise WireError("the result holds a bad sequence")
        out = [_dec(v, blobs, used, state, depth + 1, limits) for v in items]
        return tuple(out) if obj["__seq__"] == "tuple" else out
    if "__dict__" in obj:
        pairs = obj["__dict__"]
        if not isinstance(pairs, list):
            raise WireError("the result holds a bad dict")
        out: dict = {}
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("the result holds a bad dict")
            k = _dec(pair[0], blobs, used, state, depth + 1, limits)
            v = _dec(pair[1], blobs, used, state, depth + 1, limits)
            try:
                out[k] = v
            except TypeError:  # an unhashable key (an array, a list)
                out[f"<unhashable {type(k).__name__}>"] = v
        return out
    raise WireError("the result holds an unexpected structure")


def _array(index: Any, blobs: list, used: set, state: dict, limits: Limits) -> Any:
    if type(index) is not int or not 0 <= index < len(blobs):
        raise WireError("the result names an array it does not hold")
    if index in used:
        raise WireError("the result names one array twice")
    used.add(index)
    blob = blobs[index]
    state["bytes"] += len(blob)
    if state["bytes"] > limits.array_bytes:
        raise WireError(f"the result's arrays are larger than {limits.array_bytes // 2**20} MB")
    try:
        arr = np.load(io.BytesIO(blob), allow_pickle=False)
    except Exception as e:  # noqa: BLE001 -- any malformed .npy
        return Bad("type", f"an unreadable array ({type(e).__name__})")
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biufc" or arr.dtype.hasobject:
        return Bad("type", "an array of a non-numeric dtype")
    if arr.size and arr.nbytes > len(blob):
        return Bad("type", "an unreadable array")
    return arr
