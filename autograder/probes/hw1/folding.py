"""Probe half of folding BatchNorm into a convolution: the parameters (and the
judge's random input x, built from the same generator), and what the student's
``fold_batchnorm`` returns."""
from __future__ import annotations

from autograder.probes.kit.convert import as_float64, unpack
from autograder.probes.kit.seeds import rng as seeded

# (F, C, KH, KW, bias?, eps passed or None for the default, variance scale, stride, padding)
# The notebook shows (4, 3, 3, 3); here: other shapes, no bias, a large eps, tiny
# variances (where eps matters) and F == C (where the wrong weight axis still runs).
CASES = [
    (6, 3, 3, 3, True, None, 1.0, 1, 1),
    (5, 5, 1, 1, True, None, 1e-4, 1, 0),
    (7, 2, 5, 3, False, None, 1.0, 2, 2),
    (4, 4, 3, 3, True, 1e-2, 0.05, 1, 0),
    (3, 8, 2, 2, False, 1e-3, 1e-3, 1, 1),
    (8, 3, 3, 1, True, None, 3.0, 1, 0),
]


def inputs(seed: int, case: int):
    f, c, kh, kw, bias, eps, vscale, _, _ = CASES[case]
    rng = seeded(seed, 80, case)
    w = rng.normal(0.0, 1.0, (f, c, kh, kw))
    b = rng.normal(0.0, 1.0, f) if bias else None
    gamma = rng.normal(1.0, 0.5, f)
    beta = rng.normal(0.0, 1.0, f)
    mean = rng.normal(0.0, 2.0, f)
    var = rng.uniform(0.2, 2.0, f) * vscale
    x = rng.normal(0.0, 1.0, (2, c, kh + 5, kw + 6))
    return w, b, gamma, beta, mean, var, eps, x


def probe(ns, seed):
    out = {}
    for case in range(len(CASES)):
        w, b, gamma, beta, mean, var, eps, _ = inputs(seed, case)
        args = [as_float64(w), None if b is None else as_float64(b), as_float64(gamma), as_float64(beta), as_float64(mean), as_float64(var)]
        if eps is not None:
            args.append(eps)
        wf, bf = unpack(ns.call("fold_batchnorm", *args), 2, "fold_batchnorm")
        out[case] = {"w": wf, "b": bf}
    return out
