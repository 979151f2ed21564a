"""Probe half of 004 Q4, backprop by hand through a 1-D conv and overlapping maxima:
inputs, and what the student's ``conv_max_grads`` returns on them."""
from __future__ import annotations

from autograder.probes.kit.convert import as_float64
from autograder.probes.kit.seeds import rng as seeded

# (n inputs, K kernel taps, kind). "both": 004 Q4's sizes, and the middle conv output is
# the maximum of both windows (it feeds both maxima); "zero": 004 Q4's sizes, and 0 wins
# the first window (no gradient through it); "random": other sizes, random routing.
CASES = [
    (5, 3, "both"),
    (5, 3, "zero"),
    (9, 2, "random"),
    (12, 4, "random"),
    (7, 3, "random"),
]


def inputs(seed: int, case: int):
    """u (n,), k (K,), b, w (m - 1,), a, t with m = n - K + 1 conv outputs. The special
    cases are built from bounds on the terms (no conv computed here): a large input
    under the largest kernel tap decides which conv output wins."""
    n, kk, kind = CASES[case]
    rng = seeded(seed, 98, case)
    u = rng.uniform(-1.0, 1.0, n)
    k = rng.uniform(-1.0, 1.0, kk)
    b = float(rng.uniform(-1.0, 1.0))
    m = n - kk + 1
    w = rng.normal(0.0, 1.0, m - 1)
    a = float(rng.normal(0.0, 1.0))
    t = float(rng.normal(0.0, 2.0))
    if kind == "both":
        # z_j = sum_i k_i u_{j+i} + b: u_2 enters z_0, z_1, z_2 through k_2, k_1, k_0. With
        # k_1 at least 1 above |k_0| and |k_2| and u_2 = 10, z_1 beats z_0 and z_2 by at
        # least 10 - 5 (the other terms are at most 5 in size) and is positive.
        k[1] = max(abs(k[0]), abs(k[2])) + 1.0
        u[2] = 10.0
    elif kind == "zero":
        # A bias of -20 keeps z_0 and z_1 negative (their other terms are at most 4 in
        # size), and u_4 = 30 under k_2 >= 1 makes z_2 positive: v_0 = 0, v_1 = z_2.
        k[2] = 1.0 + abs(k[2])
        b = -20.0
        u[4] = 30.0
    return u, k, b, w, a, t


def probe(ns, seed):
    out: dict = {}
    for case in range(len(CASES)):
        u, k, b, w, a, t = inputs(seed, case)
        out[case] = ns.call("conv_max_grads", as_float64(u), as_float64(k), b, as_float64(w), a, t)
    return out
