"""Dropout variants (000 Q1, 004 Q1(c)) and the dropout-as-regularizer identity (000 Q1):
the judges.

Student API (NumPy; ``p`` is the probability to DROP, PyTorch's convention; ``rng`` a
``np.random.Generator``; every forward returns ``(out, mask)`` with ``out = x * mask``):
    inverted_dropout(x, p, rng, train=True)   mask entries 0 or 1/(1-p), one per element
    gaussian_dropout(x, p, rng, train=True)   mask ~ N(1, p/(1-p)), one per element
    channel_dropout(x, p, rng, train=True)    x (N, C, H, W); mask (N, C, 1, 1): whole
                                               channels 0 or 1/(1-p)  (nn.Dropout2d)
    (train=False: out is x and mask is ones)
    dropout_backward(dout, mask) -> dx = dout * mask (broadcast to dout's shape)

    dropout_objective_closed_form(X, y, w, q)
        ||y - q X w||^2 + q (1-q) ||Gamma_hat w||^2, Gamma_hat = diag(column norms of X)
    dropout_objective_monte_carlo(X, y, w, q, n_samples, rng)
        mean over n_samples masks D (shape of X, entries ~ Bernoulli(q), q = KEEP
        probability, no rescaling) of ||y - (D * X) w||^2

No single random draw can be expected, so the random functions are judged by
properties on large inputs, with tolerances at 6 to 12 standard errors of the
statistic: values, drop fraction, mean and variance of the noise, whole channels,
eval mode, independence across samples, and that the given generator is the only
source of randomness (a fresh generator with the same seed reproduces the output).

Two conventions split dropout, each confined to a small part per function whose reason
names both: what p means (the probability to drop, PyTorch's and Keras's; to keep, the
original paper's and TensorFlow 1's keep_prob) and where the scaling happens (inverted
dropout scales kept units by 1/(1-p) in training, PyTorch's; classic dropout scales by
the keep probability at test time). The main parts accept a mask of either convention
(its drop fraction, kept value and eval-mode scale must agree with one another), and
eval mode must return the mean training output whatever the convention.
The inputs and the probes are in :mod:`autograder.probes.hw1.dropout`.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..core import Fail, Item
from ..probes.hw1.dropout import (BACKWARD_CASES, CASES, CLOSED_CASES, ENUM_CASES, FUNCS, SMALL, backward_inputs,
                                  closed_inputs, enum_inputs, mc_inputs,
                                  probe_dropout, probe_identity, small_x, x_input)
from .common import NUMPY_ONLY, expect_array, expect_number, fail_if_bad, field

# -------------------------------------------------------------------------
# hw1.dropout


def _arr(got, what: str, ctx: str) -> np.ndarray:
    fail_if_bad(got, what, ctx)
    if not isinstance(got, np.ndarray):
        raise Fail(f"{what}: expected a NumPy array, got {type(got).__name__} ({ctx})")
    if got.dtype.kind not in "fiub":
        raise Fail(f"{what}: expected a numeric array, got dtype {got.dtype} ({ctx})")
    if not np.all(np.isfinite(got)):
        raise Fail(f"{what}: contains NaN or inf ({ctx})")
    return got.astype(np.float64)


def _mask_and_out(got, x: np.ndarray, fn: str, ctx: str, channel: bool = False) -> np.ndarray:
    """Type, shape and out == x * mask; returns the mask broadcast to x's shape."""
    out = _arr(field(got, "out"), f"`{fn}`: out", ctx)
    mask = _arr(field(got, "mask"), f"`{fn}`: mask", ctx)
    if out.shape != x.shape:
        raise Fail(f"`{fn}`: out has shape {out.shape}, expected {x.shape} ({ctx})")
    if channel:
        n, c = x.shape[:2]
        if mask.ndim != 4 or mask.shape[:2] != (n, c) or any(s not in (1, t) for s, t in zip(mask.shape[2:], x.shape[2:])):
            raise Fail(f"`{fn}`: mask has shape {mask.shape}, expected {(n, c, 1, 1)} (one value per sample and channel) ({ctx})")
    elif mask.shape != x.shape:
        raise Fail(f"`{fn}`: mask has shape {mask.shape}, expected {x.shape}, one value per element ({ctx})")
    full = np.broadcast_to(mask, x.shape)
    err = np.max(np.abs(out - x * full)) / max(np.max(np.abs(x * full)), 1e-12)
    if not err <= 1e-10:
        raise Fail(f"`{fn}`: out is not x * mask (max relative error {err:.1e}; {ctx})")
    return full


# The conventions a binary dropout mask can follow: (fraction dropped, value of a kept
# unit, eval-mode scale), as functions of the p the function is given.
BINARY_CONVENTIONS = {
    "notebook": (lambda p: p, lambda p: 1 / (1 - p), lambda p: 1.0),       # PyTorch: p drops, inverted
    "keep": (lambda p: 1 - p, lambda p: 1 / p, lambda p: 1.0),             # p keeps (TF1 keep_prob), inverted
    "classic": (lambda p: p, lambda p: 1.0, lambda p: 1 - p),              # p drops, scaled at test time
    "keep classic": (lambda p: 1 - p, lambda p: 1.0, lambda p: p),         # p keeps, scaled at test time
}
P_MEANING = ("p is the probability to DROP a unit, as in PyTorch's nn.Dropout(p) and Keras's rate; the original "
             "dropout paper and TensorFlow 1's keep_prob give the probability to KEEP it")
SCALING = ("this notebook, like PyTorch, uses inverted dropout: kept units are scaled by 1/(1-p) during training and "
           "eval mode returns x unchanged; classic dropout (the original paper, CS231n's 'vanilla' dropout) keeps "
           "them unscaled and multiplies by the keep probability at test time")


def _binary_mask(m: np.ndarray, p: float, fn: str, ctx: str, unit: str) -> tuple[float, float]:
    """m: one value per dropped unit (element or channel), flattened. The mask must be
    0 or one positive constant, drop about the fraction of one of the conventions and
    keep units at that convention's value. Returns (fraction dropped, kept value)."""
    is0 = np.abs(m) <= 1e-12
    frac = float(is0.mean())
    kept = m[~is0]
    sd = np.sqrt(p * (1 - p) / m.size)
    tol = max(0.015, 7 * sd)
    conventions = [name for name, (drop, _, _) in BINARY_CONVENTIONS.items() if abs(frac - drop(p)) <= tol]
    if not conventions:
        raise Fail(f"`{fn}`: dropped a fraction {frac:.3f} of the {unit}s, expected about p = {p} ({ctx})")
    if kept.size == 0:
        raise Fail(f"`{fn}`: every {unit} was dropped ({ctx})")
    c = float(kept[0])
    values = {BINARY_CONVENTIONS[name][1](p) for name in conventions}
    for v in values:
        if np.all(np.abs(kept - v) <= 1e-9 * v):
            return frac, v
    bad = kept[np.abs(kept - c) > 1e-9 * max(abs(c), 1e-12)]
    if bad.size:
        raise Fail(f"`{fn}`: the kept {unit}s get different mask values (e.g. {c:.4g} and {float(bad[0]):.4g}); a mask is "
                   f"0 or one constant ({ctx})")
    hint = " (it looks like 1/p: p is the probability to DROP a unit)" if p > 0 and abs(c - 1 / p) < 1e-9 / p else ""
    raise Fail(f"`{fn}`: kept {unit}s have the mask value {c:.4g}, expected 1/(1-p) = {1 / (1 - p):.4g}{hint} ({ctx})")


def _independence(m2: np.ndarray, fn: str, ctx: str, rows: str, cols: str) -> None:
    """m2: (samples, units); masks must vary along both axes."""
    if np.all(m2 == m2[:1]):
        raise Fail(f"`{fn}`: every {rows} gets the same mask; draw an independent value per {rows} and {cols} ({ctx})")
    if np.all(m2 == m2[:, :1]):
        raise Fail(f"`{fn}`: all {cols}s of a {rows} share one mask value; draw an independent value per {cols} ({ctx})")


def _gaussian_mask(m: np.ndarray, p: float, fn: str, ctx: str) -> float:
    """Mean 1, normal, and the variance of one of the p readings. Returns the variance."""
    n = m.size
    v = float(m.var())
    choices = {"drop": p / (1 - p), "keep": (1 - p) / p}
    var = next((w for w in choices.values() if abs(v / w - 1) <= 0.06), None)
    if var is None:
        raise Fail(f"`{fn}`: the noise's variance is {v:.4g}, expected p/(1-p) = {choices['drop']:.4g} (the standard "
                   f"deviation is its square root) ({ctx})")
    mean = float(m.mean())
    if abs(mean - 1) > max(0.04, 8 * np.sqrt(var / n)):
        raise Fail(f"`{fn}`: the noise's mean is {mean:.3f}, expected 1 ({ctx})")
    z = (m.ravel() - 1) / np.sqrt(var)
    q1, q3 = np.percentile(z, [25, 75])
    if abs(q1 + 0.6745) > 0.04 or abs(q3 - 0.6745) > 0.04:
        raise Fail(f"`{fn}`: the noise is not normally distributed (standardized quartiles {q1:.2f}, {q3:.2f}; a normal "
                   f"has -0.67, 0.67) ({ctx})")
    return v


def _train_masks(out, seed, fn):
    """(x, p, mask broadcast to x, ctx) of every training case of ``fn``, or the Fail of the case."""
    channel = fn == "channel_dropout"
    for case, (shape, p) in enumerate(CASES[fn]):
        x = x_input(seed, fn, case)
        ctx = f"x of shape {shape}, p = {p}"
        try:
            m = _mask_and_out(field(out, f"{fn}/{case}"), x, fn, ctx, channel=channel)
        except Fail as e:
            yield x, p, e, ctx
            continue
        except Exception:  # noqa: BLE001 -- a value so odd that a check broke
            yield x, p, Fail(f"`{fn}`: your (out, mask) has an unexpected type or structure ({ctx})"), ctx
            continue
        yield x, p, m, ctx


def _units(m: np.ndarray, fn: str) -> np.ndarray:
    """One mask value per dropped unit: (samples, units)."""
    if fn == "channel_dropout":
        return m.reshape(m.shape[0], m.shape[1], -1)[:, :, 0]
    return m.reshape(m.shape[0], -1)


def judge_dropout(out, seed, ck):
    weights = {"inverted_dropout": 1.25, "gaussian_dropout": 1.0, "channel_dropout": 1.25}
    for fn in FUNCS:
        unit = "channel" if fn == "channel_dropout" else "unit"
        rows, cols = "sample", ("channel" if fn == "channel_dropout" else "feature")
        for x, p, m, ctx in _train_masks(out, seed, fn):
            with ck.part(f"`{fn}`", weights[fn]):
                if isinstance(m, Fail):
                    raise m
                if fn == "channel_dropout":
                    per = m.reshape(m.shape[0], m.shape[1], -1)
                    if np.any(per.max(axis=2) != per.min(axis=2)):
                        raise Fail(f"`{fn}`: some channels are dropped only in part; a channel is dropped (or kept) as "
                                   f"a whole ({ctx})")
                u = _units(m, fn)
                if fn == "gaussian_dropout":
                    _gaussian_mask(u, p, fn, ctx)
                else:
                    _binary_mask(u.ravel(), p, fn, ctx, unit)
                _independence(u, fn, ctx, rows, cols)
        # Convention: what p means. The main part above accepts either reading.
        with ck.part(f"`{fn}`: p drops (convention: PyTorch's, not keep_prob)", 0.25):
            for x, p, m, ctx in _train_masks(out, seed, fn):
                if isinstance(m, Fail):
                    raise m
                u = _units(m, fn)
                if fn == "gaussian_dropout":
                    v = float(u.var())
                    if abs(v / (p / (1 - p)) - 1) > 0.06:
                        raise Fail(f"`{fn}`: the noise's variance is {v:.4g}, expected p/(1-p) = {p / (1 - p):.4g}: "
                                   f"{P_MEANING} (with the keep probability the variance is (1-p)/p) ({ctx})")
                else:
                    frac = float(np.mean(np.abs(u) <= 1e-12))
                    if abs(frac - p) > max(0.015, 7 * np.sqrt(p * (1 - p) / u.size)):
                        raise Fail(f"`{fn}`: dropped a fraction {frac:.3f} of the {unit}s, expected about p = {p}: "
                                   f"{P_MEANING} ({ctx})")
            if fn == "inverted_dropout":
                xs = small_x(seed, fn)
                expect_array(field(out, "inverted_dropout/p0"), xs, f"`{fn}` with p = 0: out (nothing is dropped; "
                             f"{P_MEANING})", 1e-12, f"x of shape {xs.shape}")
        if fn != "gaussian_dropout":
            # Convention: inverted (scaled in training) or classic (scaled at test time).
            with ck.part(f"`{fn}`: inverted scaling (convention: PyTorch's, not classic dropout)", 0.25):
                for x, p, m, ctx in _train_masks(out, seed, fn):
                    if isinstance(m, Fail):
                        raise m
                    kept = _units(m, fn)
                    kept = kept[np.abs(kept) > 1e-12]
                    if kept.size and np.all(np.abs(kept - 1) <= 1e-9):
                        raise Fail(f"`{fn}`: kept {unit}s are not scaled (mask 0 or 1): {SCALING} ({ctx})")
                runs = field(out, f"{fn}/small")
                shape, p = SMALL[fn]
                xs = small_x(seed, fn)
                eo = _arr(field(runs, "eval_out"), f"`{fn}(..., train=False)`: out", f"x of shape {shape}, p = {p}")
                if eo.shape != xs.shape or not np.allclose(eo, xs, rtol=1e-12, atol=0):
                    raise Fail(f"`{fn}(..., train=False)`: out must be x unchanged: {SCALING} (x of shape {shape}, p = {p})")
    for fn in FUNCS:
        runs = field(out, f"{fn}/small")
        shape, p = SMALL[fn]
        xs = small_x(seed, fn)
        ctx = f"x of shape {shape}, p = {p}"
        with ck.part(f"`{fn}` in eval mode", 0.25):
            # Whatever the convention: nothing is dropped, and the output is the mean
            # training output (x itself for inverted dropout, (1-p) x for classic dropout).
            eo = _arr(field(runs, "eval_out"), f"`{fn}(..., train=False)`: out", ctx)
            if eo.shape != xs.shape:
                raise Fail(f"`{fn}(..., train=False)`: out has shape {eo.shape}, expected x's {xs.shape} ({ctx})")
            scale = eo / xs
            s = float(scale.ravel()[0])
            allowed = [1.0] if fn == "gaussian_dropout" else [1.0, 1 - p, p]
            if not np.allclose(scale, s, rtol=1e-9, atol=0) or not any(abs(s - a) <= 1e-9 for a in allowed):
                raise Fail(f"`{fn}(..., train=False)`: out must be x unchanged: nothing is dropped in eval mode ({ctx})")
            train = _arr(field(runs, "a"), f"`{fn}`: out", ctx)
            if train.shape == xs.shape and abs(float(np.mean(train / xs)) - s) > 0.15:
                raise Fail(f"`{fn}`: eval mode returns {s:.3g} * x but training keeps on average {float(np.mean(train / xs)):.3g} "
                           f"* x: the expected training output must equal the eval output (scale the kept units by "
                           f"1/(1-p)) ({ctx})")
            em = _arr(field(runs, "eval_mask"), f"`{fn}(..., train=False)`: mask", ctx)
            try:
                ok = np.allclose(np.broadcast_to(em, xs.shape), s, rtol=1e-9, atol=0)
            except ValueError:
                ok = False
            if not ok:
                raise Fail(f"`{fn}(..., train=False)`: mask must be ones (of x's shape, or (N, C, 1, 1) for channels) ({ctx})")
        with ck.part(f"`{fn}` draws from `rng`", 0.25):
            a = _arr(field(runs, "a"), f"`{fn}`: out", ctx)
            b = _arr(field(runs, "b"), f"`{fn}`: out", ctx)
            c = _arr(field(runs, "c"), f"`{fn}`: out", ctx)
            if a.shape != b.shape or not np.array_equal(a, b):
                raise Fail(f"`{fn}`: two calls with fresh generators of the same seed gave different outputs; "
                           f"draw all randomness from `rng` (not np.random) ({ctx})")
            if a.shape == c.shape and np.array_equal(a, c):
                raise Fail(f"`{fn}`: generators with different seeds gave the same output; draw the mask from the `rng` argument ({ctx})")
    for case in range(len(BACKWARD_CASES)):
        dout, mask = backward_inputs(seed, case)
        with ck.part("`dropout_backward`", 0.5):
            expect_array(field(out, f"backward/{case}"), dout * mask, "`dropout_backward`: dx", 1e-12,
                         f"dout of shape {dout.shape}, mask of shape {mask.shape}; dx = dout * mask, of dout's shape")


# -------------------------------------------------------------------------
# hw1.dropout_identity


def closed_form(X, y, w, q) -> float:
    r = y - q * (X @ w)
    return float(r @ r + q * (1 - q) * np.sum((X ** 2).sum(axis=0) * w ** 2))


def exact_by_enumeration(X, y, w, q) -> float:
    """E||y - (D*X)w||^2 summed over every mask D (2^(N*d) of them)."""
    n, d = X.shape
    masks = np.array(list(itertools.product((0.0, 1.0), repeat=n * d))).reshape(-1, n, d)
    k = masks.reshape(len(masks), -1).sum(axis=1)
    prob = q ** k * (1 - q) ** (n * d - k)
    r = y[None, :] - np.einsum("mij,ij,j->mi", masks, X, w)
    return float(np.sum(prob * np.sum(r ** 2, axis=1)))


def single_sample_std(X, y, w, q) -> float:
    """Exact standard deviation of ||y - (D*X)w||^2 for one mask (rows independent)."""
    n, d = X.shape
    masks = np.array(list(itertools.product((0.0, 1.0), repeat=d)))
    k = masks.sum(axis=1)
    prob = q ** k * (1 - q) ** (d - k)
    var = 0.0
    for i in range(n):
        e2 = (y[i] - masks @ (X[i] * w)) ** 2
        m1 = prob @ e2
        var += prob @ e2 ** 2 - m1 ** 2
    return float(np.sqrt(var))


def _number(v, what: str, ctx: str) -> float:
    fail_if_bad(v, what, ctx)
    if isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind in "fiu":
        v = v.reshape(()).item()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise Fail(f"{what}: expected a number, got {type(v).__name__} ({ctx})")
    if not np.isfinite(v):
        raise Fail(f"{what}: is {v} ({ctx})")
    return float(v)


def judge_identity(out, seed, ck):
    cf, mc = "`dropout_objective_closed_form`", "`dropout_objective_monte_carlo`"
    for case, (shape, q) in enumerate(CLOSED_CASES):
        X, y, w, q = closed_inputs(seed, case)
        with ck.part(cf, 2 / len(CLOSED_CASES)):
            expect_number(field(out, f"closed/{case}"), closed_form(X, y, w, q), cf, 1e-9,
                          f"X of shape {shape}, q = {q} (keep probability)")
    for case, (shape, q) in enumerate(ENUM_CASES):
        X, y, w, q = enum_inputs(seed, case)
        exact = exact_by_enumeration(X, y, w, q)
        if abs(exact - closed_form(X, y, w, q)) > 1e-9 * max(1.0, abs(exact)):  # the identity itself
            raise AssertionError("the dropout identity does not hold on the enumeration case")
        with ck.part(f"{cf} vs the exact expectation", 1 / len(ENUM_CASES)):
            expect_number(field(out, f"enum/{case}"), exact, cf, 1e-9,
                          f"compared with the exact expectation over all {2 ** (shape[0] * shape[1])} masks of a {shape} X, q = {q}")
    X, y, w, q, n = mc_inputs(seed)
    want = closed_form(X, y, w, q)
    tol = 6 * single_sample_std(X, y, w, q) / np.sqrt(n)
    ctx = f"X of shape {X.shape}, q = {q}, {n} samples"
    with ck.part(mc, 1):
        a = _number(field(out, "mc/a"), mc, ctx)
        if abs(a - want) > tol:
            raise Fail(f"{mc}: got {a:.6g}, the expectation is {want:.6g}, "
                       f"farther than 6 standard errors ({tol:.3g}) ({ctx}; D keeps each entry with probability q, no rescaling)")
    with ck.part(f"{mc} draws from `rng`", 0.5):
        a, b, c = (_number(field(out, f"mc/{t}"), mc, ctx) for t in "abc")
        if a != b:
            raise Fail(f"{mc}: two calls with fresh generators of the same seed disagree; draw the masks from `rng` ({ctx})")
        if a == c:
            raise Fail(f"{mc}: generators with different seeds gave the same value; sample the masks with `rng` ({ctx})")


ITEMS = [
    Item("hw1.dropout", 6, ("inverted_dropout", "gaussian_dropout", "channel_dropout", "dropout_backward"),
         probe_dropout, judge_dropout, title="Dropout: inverted, Gaussian, channel (Dropout2d), backward", forbid=NUMPY_ONLY),
    Item("hw1.dropout_identity", 4, ("dropout_objective_closed_form", "dropout_objective_monte_carlo"),
         probe_identity, judge_identity, title="Dropout as a regularizer: closed form and Monte Carlo", forbid=NUMPY_ONLY),
]
