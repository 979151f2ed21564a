"""Judge-side helpers of HW5: parts whose failures always name the student's function and
the case, whatever the (possibly hostile) child sent back, and torch on one thread."""
from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable

import numpy as np

from ..core import Fail


def unexpected(where: str) -> str:
    return f"{where}: returned a value of an unexpected type or structure, which could not be checked"


@contextlib.contextmanager
def part(ck, name: str, weight: float, where):
    """``ck.part(name, weight)``; an unexpected value (any exception but Fail) fails the part
    with a reason naming ``where`` (the student's function and the case): a str, or a
    one-element list that the caller updates as it goes through the cases."""
    with ck.part(name, weight):
        try:
            yield
        except Fail:
            raise
        except Exception:  # noqa: BLE001  a value so odd that a check broke
            raise Fail(unexpected(where[0] if isinstance(where, list) else where)) from None


def attempt(where: str, fn: Callable, *args, **kwargs) -> tuple[Any, str | None]:
    """Run a check outside a part: (its value, None), or (None, the reason it failed)."""
    try:
        return fn(*args, **kwargs), None
    except Fail as e:
        return None, str(e)
    except Exception:  # noqa: BLE001
        return None, unexpected(where)


def fail_all(ck, parts: list[tuple[str, float]], message: str) -> None:
    """Fail the weight of all ``parts`` at once, with one message."""
    with ck.part(parts[0][0], sum(w for _, w in parts)):
        raise Fail(message)


def one_thread(judge):
    """Decorator: the judge runs torch on one thread, restored afterwards (the same bits as the
    child, and far faster than several threads on tensors this small)."""

    @functools.wraps(judge)
    def wrapped(out, seed, ck):
        import torch

        n = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return judge(out, seed, ck)
        finally:
            torch.set_num_threads(n)

    return wrapped


def positive_affine_of(got, base, tol: float = 1e-4) -> bool:
    """Whether every map of ``got`` is ``a * map + b`` (a > 0) of the same map of ``base``: the
    same map up to the scaling that differs between widely used conventions (min-max or divided
    by the maximum, before or after the upsampling, which is linear). Maps are the last two axes.
    A constant map of ``base`` must give a constant map."""
    got = np.asarray(got, dtype=np.float64)
    base = np.asarray(base, dtype=np.float64)
    if got.shape != base.shape or got.ndim < 2:
        return False
    g2 = got.reshape(-1, got.shape[-2] * got.shape[-1])
    b2 = base.reshape(g2.shape)
    for g, b in zip(g2, b2):
        if not np.all(np.isfinite(g)):
            return False
        span = max(float(g.max() - g.min()), 1e-12)
        bc, gc = b - b.mean(), g - g.mean()
        if float(np.max(np.abs(bc))) <= 1e-12 * max(1.0, float(np.max(np.abs(b)))):
            if float(np.max(np.abs(gc))) > tol * max(1.0, float(np.max(np.abs(g)))):
                return False
            continue
        a = float((gc * bc).sum() / (bc * bc).sum())
        if not a > 0 or float(np.max(np.abs(gc - a * bc))) > tol * span:
            return False
    return True


def channel_normalization(pairs, tol: float = 1e-4):
    """``pairs``: (img / 255, what an eval transform returned), (3, H, W) each. When the outputs are
    ``(img / 255 - mean_c) / std_c`` for one (mean, std) per channel (a Normalize after the
    conversion) other than (0, 1), returns (mean, std) arrays of 3; otherwise None."""
    if not pairs:
        return None
    mean, std = np.zeros(3), np.ones(3)
    for c in range(3):
        x = np.concatenate([np.asarray(w, dtype=np.float64)[c].ravel() for w, _ in pairs])
        y = np.concatenate([np.asarray(g, dtype=np.float64)[c].ravel() for _, g in pairs])
        if x.size < 2 or float(x.std()) < 1e-6:
            return None
        alpha = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
        beta = float(y.mean() - alpha * x.mean())
        if not alpha > 0 or float(np.max(np.abs(y - (alpha * x + beta)))) > tol * max(1.0, float(np.max(np.abs(y)))):
            return None
        mean[c], std[c] = -beta / alpha, 1.0 / alpha
    if np.allclose(mean, 0, atol=1e-4) and np.allclose(std, 1, atol=1e-4):
        return None
    if not (np.all((mean >= -1e-3) & (mean <= 1 + 1e-3)) and np.all((std >= 0.05) & (std <= 1 + 1e-3))):
        return None  # not a Normalize of [0, 1] images (values 0-255, say): a mistake, not a convention
    return mean, std


def undo_normalization(a: np.ndarray, norm) -> np.ndarray:
    """``a`` (3, H, W) back to [0, 1] units when the transform normalises (``norm`` = (mean, std))."""
    if norm is None:
        return a
    mean, std = norm
    return (a * std[:, None, None] + mean[:, None, None]).astype(np.float32)


def normalize_reason(fn: str, norm) -> str:
    mean, std = norm
    imagenet = np.allclose(mean, [0.485, 0.456, 0.406], atol=2e-3) and np.allclose(std, [0.229, 0.224, 0.225], atol=2e-3)
    who = ("ImageNet's mean and std, as torchvision's pretrained models and the PyTorch transfer-learning "
           "tutorial do" if imagenet else "a Normalize after the conversion, as the PyTorch tutorials do")
    return (f"{fn}: this notebook's transforms give img / 255 in [0, 1] (no Normalize); yours normalise each channel "
            f"with mean {np.round(mean, 3).tolist()} and std {np.round(std, 3).tolist()}, {who}")
