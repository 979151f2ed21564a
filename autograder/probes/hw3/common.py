"""Probe-side helpers of HW3: seeded generators, and turning what the student's code
returned into plain data (NumPy arrays, numbers, lists, dicts; ``Bad`` for the rest).

Nothing here knows what a right answer is.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from autograder.probes.runtime import Bad


def rng(*key) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in key])


def describe_value(v: Any) -> str:
    return "None" if v is None else f"a {type(v).__name__}"


def _is_tensor(v: Any) -> bool:
    return type(v).__module__.startswith("torch") and hasattr(v, "detach") and hasattr(v, "cpu")


def tensor_to_numpy(v: Any) -> Any:
    """A torch tensor (any dtype, with or without grad) as a NumPy copy, else a Bad."""
    try:
        t = v.detach().cpu()
        if str(t.dtype) in ("torch.bfloat16", "torch.float16"):
            t = t.float()
        return np.array(t.numpy(), copy=True)
    except Exception as e:  # a tensor subclass or dtype NumPy cannot hold
        return Bad("type", f"a tensor that could not be read ({type(e).__name__})")


def plain(v: Any, depth: int = 0) -> Any:
    """What the student's code returned, as plain data: tensors become NumPy arrays, NumPy
    scalars Python numbers; lists, tuples and dicts are converted item by item."""
    if depth > 8:
        return Bad("type", "a structure nested too deeply")
    if isinstance(v, Bad) or v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, np.generic):
        return v.item()
    if _is_tensor(v):
        return tensor_to_numpy(v)
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
    """A tensor, array or list of numbers as a NumPy array (float64 or int64 as it came), else a Bad."""
    if isinstance(v, Bad):
        return v
    if _is_tensor(v):
        return tensor_to_numpy(v)
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "biuf":
            return Bad("type", f"an array of dtype {v.dtype}")
        return np.array(v, copy=True)
    if isinstance(v, (list, tuple)):
        try:
            out = np.asarray([x.item() if hasattr(x, "item") else x for x in v])
        except Exception:
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


def scalar(v: Any) -> Any:
    """A number (Python, NumPy, or a one-element tensor/array) as a float, else a Bad."""
    if isinstance(v, Bad):
        return v
    try:
        if _is_tensor(v) and v.numel() == 1:
            return float(v.item())
    except Exception:
        return Bad("type", "a tensor that could not be read")
    if isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind in "biuf":
        return float(v.reshape(()).item())
    if isinstance(v, (np.floating, np.integer)):
        return float(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    return Bad("type", f"a {type(v).__name__}, not a number")
