"""What the student's code returned, as plain data the judge can read: NumPy arrays,
numbers, strings, lists, tuples and dicts; a ``Bad`` (with a message for the student)
for everything else. Nothing here knows what a right answer is.

torch is never imported here: a tensor is recognised by its type's module, so HW1's
NumPy-only children can use these helpers too.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..runtime import Bad, error_text

MAX_FLOATS = 10**6  # values of one returned array sent back at most


def describe_value(v: Any) -> str:
    """``None``, ``a list``, ``an int``: how a value is named in a reason."""
    if v is None:
        return "None"
    name = type(v).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def is_tensor(v: Any) -> bool:
    """Whether ``v`` is a torch tensor (without importing torch)."""
    return type(v).__module__.startswith("torch") and hasattr(v, "detach") and hasattr(v, "cpu")


def to_numpy(v: Any, float64: bool = False) -> Any:
    """A torch tensor (any dtype, with or without grad) as a NumPy copy; floating point as
    float64 with ``float64``, half precision as float32 otherwise. A Bad when it cannot be read."""
    try:
        t = v.detach().cpu()
        if float64 and t.is_floating_point():
            t = t.double()
        elif str(t.dtype) in ("torch.bfloat16", "torch.float16"):
            t = t.float()
        return np.array(t.numpy(), copy=True)
    except Exception as e:  # noqa: BLE001  a tensor subclass or dtype NumPy cannot hold
        return Bad("missing", f"returned a tensor that could not be read ({type(e).__name__})")


def plain(v: Any, depth: int = 0) -> Any:
    """What the student's code returned, as plain data: tensors become NumPy arrays, NumPy
    scalars Python numbers; lists, tuples and dicts are converted item by item."""
    if depth > 8:
        return Bad("type", "a structure nested too deeply")
    if isinstance(v, Bad) or v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, np.generic):
        return v.item()
    if is_tensor(v):
        return to_numpy(v)
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "biuf":
            return Bad("type", f"an array of dtype {v.dtype}")
        return np.array(v, copy=True)
    if isinstance(v, (list, tuple)):
        items = [plain(x, depth + 1) for x in v]
        return tuple(items) if isinstance(v, tuple) else items
    if isinstance(v, dict):
        return {str(k): plain(x, depth + 1) for k, x in v.items()}
    return Bad("type", f"an object of type {type(v).__name__}")


def as_array(v: Any) -> Any:
    """A tensor, array or list of numbers as a NumPy array (of the dtype it came with), else a Bad."""
    if isinstance(v, Bad):
        return v
    if is_tensor(v):
        return to_numpy(v)
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "biuf":
            return Bad("type", f"an array of dtype {v.dtype}")
        return np.array(v, copy=True)
    if isinstance(v, (list, tuple)):
        try:
            out = np.asarray([x.item() if hasattr(x, "item") else x for x in v])
        except Exception:  # noqa: BLE001
            return Bad("type", f"a {type(v).__name__} that is not a list of numbers")
        if out.dtype.kind not in "biuf":
            return Bad("type", f"a {type(v).__name__} that is not a list of numbers")
        return out
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return Bad("type", f"a single {type(v).__name__}")
    return Bad("type", f"an object of type {type(v).__name__}")


def as_float_array(v: Any) -> Any:
    """Like :func:`as_array`, as float64."""
    a = as_array(v)
    return a.astype(np.float64) if isinstance(a, np.ndarray) else a


def as_numbers(v: Any) -> Any:
    """Anything array-like (tensor, array, list) as float64 (floats and booleans) or int64
    (integers), else a Bad."""
    try:
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        a = np.asarray(v)
    except Exception as e:  # noqa: BLE001
        return Bad("missing", f"returned something that is not an array ({error_text(e)[:100]})")
    if a.dtype.kind not in "biuf":
        return Bad("missing", f"returned an array of dtype {a.dtype}, not numbers")
    return a.astype(np.float64) if a.dtype.kind in "bf" else a.astype(np.int64)


def scalar(v: Any, many: str = "") -> Any:
    """A number (Python, NumPy, or a one-element tensor/array) as a float, else a Bad. ``many``:
    what to tell the student when a tensor holds several values (default: not a number)."""
    if isinstance(v, Bad):
        return v
    if is_tensor(v):
        try:
            if v.numel() == 1:
                return float(v.detach().double().reshape(()).item())
        except Exception:  # noqa: BLE001
            return Bad("type", "a tensor that could not be read")
        if many:
            return Bad("type", f"a tensor of shape {tuple(v.shape)}; {many}")
    if isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind in "biuf":
        return float(v.reshape(()).item())
    if isinstance(v, (np.floating, np.integer)):
        return float(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return Bad("type", f"a {type(v).__name__}, not a number")


def vector(v: Any, n: int, dtype=np.float64) -> Any:
    """A per-image result of shape (n,) (tensor, array or list) as a NumPy array of ``dtype``, or a Bad."""
    if isinstance(v, Bad):
        return v
    if is_tensor(v):
        v = to_numpy(v)
        if isinstance(v, Bad):
            return v
    if isinstance(v, (list, tuple)):
        try:
            v = np.asarray(v)
        except Exception:  # noqa: BLE001
            return Bad("type", f"a {type(v).__name__} that is not a vector")
    if not isinstance(v, np.ndarray):
        return Bad("type", f"a {type(v).__name__}; return a tensor or array of shape ({n},)")
    if v.shape != (n,):
        return Bad("missing", f"returned shape {v.shape}, expected ({n},): one value per image"
                   + (" (a single number: it is pooled over the batch)" if v.size == 1 and n > 1 else ""))
    try:
        return v.astype(dtype)
    except Exception:  # noqa: BLE001
        return Bad("type", f"an array of {v.dtype}")


def numpy_result(v: Any, max_size: int = MAX_FLOATS) -> Any:
    """A result that must be a NumPy array (a tensor is refused: the task asks for NumPy)."""
    if isinstance(v, Bad):
        return v
    if is_tensor(v):
        return Bad("missing", "returned a torch tensor; return NumPy arrays")
    if isinstance(v, np.ndarray):
        return v if v.size <= max_size else Bad("missing", "returned an array far too large")
    return Bad("missing", f"returned {describe_value(v)}, not a NumPy array")


def tensor_result(v: Any, max_size: int = MAX_FLOATS) -> Any:
    """A result that must be a torch tensor, as a float32 NumPy array."""
    if isinstance(v, Bad):
        return v
    if not is_tensor(v):
        return Bad("missing", f"returned {describe_value(v)}, not a torch tensor")
    return v.detach().cpu().numpy().astype(np.float32) if v.numel() <= max_size else Bad("missing", "a huge tensor")


def unpack(value: Any, n: int, what: str) -> tuple:
    """Split a returned tuple of ``n`` values, or give ``n`` Bad values saying why."""
    if isinstance(value, Bad):
        return (value,) * n
    if isinstance(value, (tuple, list)) and len(value) == n:
        return tuple(value)
    got = (f"a {type(value).__name__} of length {len(value)}" if isinstance(value, (tuple, list))
           else f"a value of type {type(value).__name__}")
    return (Bad("missing", f"`{what}` returned {got}, not a tuple of {n} values"),) * n


def as_float64(a: Any) -> Any:
    """A float64 copy the student's code cannot change behind the grader's back."""
    return np.array(a, dtype=np.float64, copy=True)


def tensor_record(v: Any, max_floats: int = MAX_FLOATS) -> dict:
    """A transform's (or loader's) output as plain data: its type, whether it is a tensor, its
    dtype and shape, and its values as float32 when they are numbers and not too many."""
    rec = {"type": type(v).__name__, "tensor": is_tensor(v)}
    a = v.detach().cpu() if rec["tensor"] else v
    rec["dtype"] = str(getattr(v, "dtype", "")).replace("torch.", "")
    try:
        a = np.asarray(a)
        rec["shape"] = [int(s) for s in a.shape]
        if a.dtype.kind in "biuf" and a.size <= max_floats:
            rec["array"] = a.astype(np.float32)
    except Exception:  # noqa: BLE001
        pass
    return rec


def safe_record(record: Callable[[Any], Any], v: Any) -> Any:
    """``record(v)``, or a Bad when reading the student's value raises (hostile attributes)."""
    try:
        return record(v)
    except Exception as e:  # noqa: BLE001
        return Bad("missing", f"returned a value that could not be read ({error_text(e)[:120]})")


def shape_of(y: Any) -> Any:
    """A forward pass's output as its shape (a list of ints), or a Bad saying what it was."""
    if isinstance(y, Bad):
        return y
    if not is_tensor(y):
        return Bad("missing", f"forward returned {describe_value(y)}, not a tensor")
    return [int(s) for s in y.shape]
