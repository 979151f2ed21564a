"""Translation equivariance of convolution (002 Q1), checked numerically: the judge.

Student API (NumPy):
    shift_image(x, dy, dx) -> x shifted by integer pixels with zero fill; x is (H, W) or
        (N, C, H, W); out[..., i, j] = x[..., i - dy, j - dx] where that index exists,
        else 0 (positive dy moves the content down, positive dx to the right).
    equivariance_gap(x, w, dy, dx, interior_only=True) -> float
        A = corr(shift(x)), B = shift(corr(x)) with corr the 'valid' cross-correlation of
        x (H, W) with w (KH, KW), written inside the function; returns max |A - B| over
        rows max(dy, 0) <= i < Ho + min(dy, 0) and columns likewise (Ho = H - KH + 1),
        or over the whole (Ho, Wo) map when interior_only is False.
The oracle: NumPy slicing for the shift, torch.nn.functional.conv2d for the
cross-correlation, in float64. The inputs and the probe are in
:mod:`autograder.probes.hw1.identities`.
"""
from __future__ import annotations

import numpy as np

from ..core import Fail, Item
from ..probes.hw1.identities import GAP_CASES, SHIFT_CASES, gap_inputs, probe, shift_input
from .common import NUMPY_ONLY, expect_array, expect_number, field

SHIFT, GAP = "`shift_image`", "`equivariance_gap`"


def reference_shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(x)
    h, w = x.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_r = slice(max(-dy, 0), h - max(dy, 0))
    dst_r = slice(max(dy, 0), h - max(-dy, 0))
    src_c = slice(max(-dx, 0), w - max(dx, 0))
    dst_c = slice(max(dx, 0), w - max(-dx, 0))
    out[..., dst_r, dst_c] = x[..., src_r, src_c]
    return out


def reference_corr(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        return F.conv2d(torch.from_numpy(x)[None, None], torch.from_numpy(w)[None, None])[0, 0].numpy()


def reference_gap(x, w, dy, dx, interior_only=True) -> float:
    a = reference_corr(reference_shift(x, dy, dx), w)
    b = reference_shift(reference_corr(x, w), dy, dx)
    if interior_only:
        ho, wo = a.shape
        a = a[max(dy, 0): ho + min(dy, 0), max(dx, 0): wo + min(dx, 0)]
        b = b[max(dy, 0): ho + min(dy, 0), max(dx, 0): wo + min(dx, 0)]
    return float(np.max(np.abs(a - b), initial=0.0))


def _positive_number(v) -> bool:
    """Whether the student's value is one number above rounding (never raises)."""
    try:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.ndarray)) or np.size(v) != 1:
            return False
        if isinstance(v, np.ndarray) and v.dtype.kind not in "fiu":
            return False
        return float(np.asarray(v, dtype=np.float64).reshape(())) > 1e-6
    except Exception:
        return False


def judge(out, seed, ck):
    shifts = field(out, "shift")
    for case, (shape, dy, dx) in enumerate(SHIFT_CASES):
        x = shift_input(seed, case)
        ctx = f"x of shape {shape}, dy={dy}, dx={dx}"
        with ck.part(SHIFT, 2.5 / len(SHIFT_CASES)):
            expect_array(field(shifts, case), reference_shift(x, dy, dx), SHIFT, 1e-12,
                         ctx + "; content moves down/right for positive shifts, zeros fill in")
    gaps, wholes = field(out, "gap"), field(out, "whole")
    for case, (h, w_, kh, kw, dy, dx) in enumerate(GAP_CASES):
        x, w, dy, dx = gap_inputs(seed, case)
        ctx = f"x of shape {(h, w_)}, w of shape {(kh, kw)}, dy={dy}, dx={dx}"
        whole = field(wholes, case)
        with ck.part(f"{GAP} with interior_only=False", 1.0 / len(GAP_CASES)):
            expect_number(whole, reference_gap(x, w, dy, dx, False), f"{GAP} with interior_only=False", 1e-8,
                          ctx + "; max |corr(shift(x)) - shift(corr(x))| over the whole output")
        with ck.part(f"{GAP} on the interior", 1.5 / len(GAP_CASES)):
            expect_number(field(gaps, case), 0.0, f"{GAP} on the interior (should be 0 up to rounding)", 1e-10,
                          ctx + "; compare only the rows and columns whose windows miss the zero fill")
            if not _positive_number(whole):
                # The whole maps always differ at the borders: a function that returns 0
                # whatever it is given earns nothing here.
                raise Fail(f"{GAP} on the interior: not credited while the whole-map gap "
                           f"(interior_only=False) is not a positive number ({ctx})")


ITEMS = [
    Item("hw1.translation_equivariance", 5, ("shift_image", "equivariance_gap"), probe, judge,
         title="Translation equivariance of convolution (002 Q1): shifts and the equivariance gap", forbid=NUMPY_ONLY),
]
