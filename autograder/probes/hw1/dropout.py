"""Probe half of the dropout items: inputs, generators handed to the student's code,
and what ``inverted_dropout``, ``gaussian_dropout``, ``channel_dropout``,
``dropout_backward`` and the two dropout objectives return."""
from __future__ import annotations

import numpy as np

from autograder.probes.kit.convert import as_float64, unpack
from autograder.probes.kit.seeds import rng as seeded

# -------------------------------------------------------------------------
# hw1.dropout

INVERTED_CASES = [((250, 320), 0.3), ((200, 400), 0.75)]
GAUSSIAN_CASES = [((300, 270), 0.2), ((240, 350), 0.6)]
CHANNEL_CASES = [((96, 160, 3, 3), 0.25), ((120, 128, 2, 5), 0.6)]
FUNCS = ("inverted_dropout", "gaussian_dropout", "channel_dropout")
CASES = {"inverted_dropout": INVERTED_CASES, "gaussian_dropout": GAUSSIAN_CASES, "channel_dropout": CHANNEL_CASES}

# small inputs for eval mode and for the reproducibility checks (1200 dropped units each:
# the eval-mode output is compared with the mean of a training mask)
SMALL = {"inverted_dropout": ((30, 40), 0.4), "gaussian_dropout": ((30, 40), 0.4), "channel_dropout": ((40, 30, 3, 2), 0.4)}

BACKWARD_CASES = [((7, 13), None), ((5, 6, 4, 3), (5, 6, 1, 1))]


def _away_from_zero(rng: np.random.Generator, shape) -> np.ndarray:
    z = rng.normal(0.0, 1.0, shape)
    return np.where(z < 0, -1.0, 1.0) * (0.2 + np.abs(z))


def x_input(seed: int, fn: str, case: int) -> np.ndarray:
    k = FUNCS.index(fn)
    shape = CASES[fn][case][0]
    return _away_from_zero(seeded(seed, 40, k, case), shape)


def small_x(seed: int, fn: str) -> np.ndarray:
    return _away_from_zero(seeded(seed, 41, FUNCS.index(fn)), SMALL[fn][0])


def gen_seed(seed: int, k: int, case: int) -> int:
    """The seed of the generator handed to the student's function."""
    return 7919 * (abs(seed) % 100003) + 101 * k + case


def backward_inputs(seed: int, case: int):
    shape, mshape = BACKWARD_CASES[case]
    rng = seeded(seed, 42, case)
    dout = rng.normal(0.0, 1.0, shape)
    mshape = mshape or shape
    p = 0.35
    mask = (rng.random(mshape) >= p) / (1 - p)
    return dout, mask


def probe_dropout(ns, seed):
    out: dict = {}
    for k, fn in enumerate(FUNCS):
        for case, (_, p) in enumerate(CASES[fn]):
            x = x_input(seed, fn, case)
            g = np.random.default_rng(gen_seed(seed, k, case))
            o, m = unpack(ns.call(fn, as_float64(x), p, g, True), 2, fn)
            out[f"{fn}/{case}"] = {"out": o, "mask": m}
        xs = small_x(seed, fn)
        p = SMALL[fn][1]
        s = gen_seed(seed, k, 50)
        runs = {}
        for tag, gs in (("a", s), ("b", s), ("c", s + 1)):
            o, _ = unpack(ns.call(fn, as_float64(xs), p, np.random.default_rng(gs), True), 2, fn)
            runs[tag] = o
        o, m = unpack(ns.call(fn, as_float64(xs), p, np.random.default_rng(s), False), 2, fn)
        runs["eval_out"], runs["eval_mask"] = o, m
        out[f"{fn}/small"] = runs
    # p = 0 keeps everything
    xs = small_x(seed, "inverted_dropout")
    o, _ = unpack(ns.call("inverted_dropout", as_float64(xs), 0.0, np.random.default_rng(5), True), 2, "inverted_dropout")
    out["inverted_dropout/p0"] = o
    for case in range(len(BACKWARD_CASES)):
        dout, mask = backward_inputs(seed, case)
        out[f"backward/{case}"] = ns.call("dropout_backward", as_float64(dout), as_float64(mask))
    return out


# -------------------------------------------------------------------------
# hw1.dropout_identity

CLOSED_CASES = [((9, 4), 0.8), ((15, 7), 0.35), ((6, 3), 0.5)]
ENUM_CASES = [((2, 4), 0.7), ((3, 3), 0.4)]
MC_CASE = ((12, 5), 0.7, 4000)


def _regression(rng: np.random.Generator, shape):
    n, d = shape
    X = rng.normal(0.0, 1.0, (n, d)) * rng.uniform(0.5, 3.0, d)  # columns of different norms
    w = rng.normal(0.0, 1.0, d)
    y = X @ w + rng.normal(0.0, 0.5, n)
    return X, y, w


def closed_inputs(seed, case):
    shape, q = CLOSED_CASES[case]
    return (*_regression(seeded(seed, 43, case), shape), q)


def enum_inputs(seed, case):
    shape, q = ENUM_CASES[case]
    return (*_regression(seeded(seed, 44, case), shape), q)


def mc_inputs(seed):
    shape, q, n = MC_CASE
    return (*_regression(seeded(seed, 45), shape), q, n)


def probe_identity(ns, seed):
    out: dict = {}
    for case in range(len(CLOSED_CASES)):
        X, y, w, q = closed_inputs(seed, case)
        out[f"closed/{case}"] = ns.call("dropout_objective_closed_form", as_float64(X), as_float64(y), as_float64(w), q)
    for case in range(len(ENUM_CASES)):
        X, y, w, q = enum_inputs(seed, case)
        out[f"enum/{case}"] = ns.call("dropout_objective_closed_form", as_float64(X), as_float64(y), as_float64(w), q)
    X, y, w, q, n = mc_inputs(seed)
    s = gen_seed(seed, 9, 0)
    for tag, gs in (("a", s), ("b", s), ("c", s + 1)):
        out[f"mc/{tag}"] = ns.call("dropout_objective_monte_carlo", as_float64(X), as_float64(y), as_float64(w), q, n,
                                   np.random.default_rng(gs))
    return out
