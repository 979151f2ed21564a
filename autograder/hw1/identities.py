"""Translation equivariance of convolution (002 Q1), checked numerically.

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
cross-correlation, in float64.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item, expect_array, expect_number
from .common import NUMPY_ONLY, as_float64, rng_for

# (shape of x, dy, dx); the notebook shows (5, 6) and (2, 3, 4, 5) examples.
SHIFT_CASES = [
    ((7, 9), 2, 3),
    ((8, 6), -3, 1),
    ((6, 10), 0, -4),
    ((5, 5), -1, -2),
    ((3, 2, 6, 7), 1, -2),
    ((2, 3, 5, 8), -2, 3),
    ((4, 4), 0, 0),
    ((6, 7), 6, -1),   # a shift as large as the image: all zeros
    ((1, 1, 4, 9), 0, 12),
]
# (H, W, KH, KW, dy, dx)
GAP_CASES = [
    (10, 12, 3, 3, 1, 2),
    (11, 9, 2, 4, -2, 1),
    (9, 13, 5, 2, 0, -3),
    (12, 12, 3, 2, 3, -1),
    (8, 10, 1, 3, -1, -2),
    (10, 7, 4, 4, 2, 0),
]


def _shift_input(seed: int, case: int) -> np.ndarray:
    shape = SHIFT_CASES[case][0]
    return rng_for(seed, 95, case).normal(0.0, 1.0, shape)


def _gap_inputs(seed: int, case: int):
    h, w, kh, kw, dy, dx = GAP_CASES[case]
    rng = rng_for(seed, 96, case)
    return rng.normal(0.0, 1.0, (h, w)), rng.normal(0.0, 1.0, (kh, kw)), dy, dx


def probe(ns, seed):
    out: dict = {"shift": {}, "gap": {}, "whole": {}}
    for case, (_, dy, dx) in enumerate(SHIFT_CASES):
        out["shift"][case] = ns.call("shift_image", as_float64(_shift_input(seed, case)), dy, dx)
    for case in range(len(GAP_CASES)):
        x, w, dy, dx = _gap_inputs(seed, case)
        out["gap"][case] = ns.call("equivariance_gap", as_float64(x), as_float64(w), dy, dx)
        out["whole"][case] = ns.call("equivariance_gap", as_float64(x), as_float64(w), dy, dx, interior_only=False)
    return out


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


def judge(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    shifts = out.get("shift", {}) if isinstance(out.get("shift"), dict) else {}
    for case, (shape, dy, dx) in enumerate(SHIFT_CASES):
        x = _shift_input(seed, case)
        with ck.part("shift_image", 2.5 / len(SHIFT_CASES)):
            got = shifts.get(case, Bad("missing", "no result"))
            ctx = f"x of shape {shape}, dy={dy}, dx={dx}"
            if isinstance(got, Bad):
                raise Fail(f"{got.describe('shift_image')} ({ctx})")
            expect_array(got, reference_shift(x, dy, dx), "shift_image", 1e-12,
                         ctx + "; content moves down/right for positive shifts, zeros fill in")
    gaps = out.get("gap", {}) if isinstance(out.get("gap"), dict) else {}
    wholes = out.get("whole", {}) if isinstance(out.get("whole"), dict) else {}
    for case, (h, w_, kh, kw, dy, dx) in enumerate(GAP_CASES):
        x, w, dy, dx = _gap_inputs(seed, case)
        ctx = f"x of shape {(h, w_)}, w of shape {(kh, kw)}, dy={dy}, dx={dx}"
        with ck.part("gap (whole map)", 1.0 / len(GAP_CASES)):
            expect_number(wholes.get(case), reference_gap(x, w, dy, dx, False),
                          "equivariance_gap with interior_only=False", 1e-8,
                          ctx + "; max |corr(shift(x)) - shift(corr(x))| over the whole output")
        whole = wholes.get(case)
        computes = isinstance(whole, (int, float, np.floating, np.ndarray)) and np.size(whole) == 1 \
            and float(np.asarray(whole, dtype=np.float64).reshape(())) > 1e-6
        with ck.part("gap (interior)", 1.5 / len(GAP_CASES)):
            expect_number(gaps.get(case), 0.0, "equivariance_gap on the interior (should be 0 up to rounding)", 1e-10,
                          ctx + "; compare only the rows and columns whose windows miss the zero fill")
            if not computes:
                # The whole maps always differ at the borders: a function that returns 0
                # whatever it is given earns nothing here.
                raise Fail("equivariance_gap on the interior: not credited while the whole-map gap "
                           f"(interior_only=False) is not a positive number ({ctx})")

ITEMS = [
    Item("hw1.translation_equivariance", 5, ("shift_image", "equivariance_gap"), probe, judge,
         title="Translation equivariance of convolution (002 Q1): shifts and the equivariance gap", forbid=NUMPY_ONLY),
]
