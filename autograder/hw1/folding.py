"""Folding an eval-mode BatchNorm2d into the Conv2d before it (003 T2).

Student API (NumPy):
    fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5) -> (w_folded, b_folded)
        w: (F, C, KH, KW), b: (F,) or None (zeros); the BN parameters are (F,) arrays.
        conv(x; w_folded, b_folded) == BN_eval(conv(x; w, b)) for every x.
The judge does not compare formulas: it builds torch.nn.Conv2d followed by
torch.nn.BatchNorm2d in eval mode with those parameters and compares outputs with a
Conv2d carrying the folded parameters, on random inputs, in float64.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item, expect_array
from .common import NUMPY_ONLY, as_float64, rng_for, unpack

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
DEFAULT_EPS = 1e-5


def _inputs(seed: int, case: int):
    f, c, kh, kw, bias, eps, vscale, _, _ = CASES[case]
    rng = rng_for(seed, 80, case)
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
        w, b, gamma, beta, mean, var, eps, _ = _inputs(seed, case)
        args = [as_float64(w), None if b is None else as_float64(b), as_float64(gamma), as_float64(beta), as_float64(mean), as_float64(var)]
        if eps is not None:
            args.append(eps)
        wf, bf = unpack(ns.call("fold_batchnorm", *args), 2, "fold_batchnorm")
        out[case] = {"w": wf, "b": bf}
    return out


def conv_bn_reference(w, b, gamma, beta, mean, var, eps, x, stride=1, padding=0) -> np.ndarray:
    """BN_eval(conv(x)) with torch modules, float64."""
    import torch

    f, c, kh, kw = w.shape
    conv = torch.nn.Conv2d(c, f, (kh, kw), stride=stride, padding=padding, bias=b is not None).double()
    bn = torch.nn.BatchNorm2d(f, eps=eps).double().eval()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(w))
        if b is not None:
            conv.bias.copy_(torch.from_numpy(b))
        bn.weight.copy_(torch.from_numpy(gamma))
        bn.bias.copy_(torch.from_numpy(beta))
        bn.running_mean.copy_(torch.from_numpy(mean))
        bn.running_var.copy_(torch.from_numpy(var))
        return bn(conv(torch.from_numpy(x))).numpy()


def folded_conv(wf, bf, x, stride=1, padding=0) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        return F.conv2d(torch.from_numpy(x), torch.from_numpy(np.asarray(wf, dtype=np.float64)),
                        torch.from_numpy(np.asarray(bf, dtype=np.float64)), stride=stride, padding=padding).numpy()


def judge(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    for case in range(len(CASES)):
        f, c, kh, kw, bias, eps_arg, _, stride, padding = CASES[case]
        w, b, gamma, beta, mean, var, eps_arg, x = _inputs(seed, case)
        eps = DEFAULT_EPS if eps_arg is None else eps_arg
        got = out.get(case, {}) if isinstance(out.get(case), dict) else {}
        ctx = (f"w of shape {(f, c, kh, kw)}, {'with' if bias else 'no'} conv bias"
               f"{'' if bias else ' (b=None)'}, eps={eps:g}{' (the default)' if eps_arg is None else ''}, "
               f"running_var around {float(np.mean(var)):.2g}")
        if isinstance(got.get("w"), Bad) or isinstance(got.get("b"), Bad) or not got:
            with ck.part("fold_batchnorm", 6 / len(CASES)):
                bad = next(v for v in (got.get("w"), got.get("b"), Bad("missing", "no result")) if isinstance(v, Bad))
                raise Fail(f"{bad.describe('fold_batchnorm')} ({ctx})")
            continue
        with ck.part("folded conv output", 3 / len(CASES)):
            # Shapes first, so a wrong shape says so before the outputs are compared.
            wf = expect_array(got.get("w"), np.zeros((f, c, kh, kw)), "w_folded", np.inf, ctx)
            bf = expect_array(got.get("b"), np.zeros(f), "b_folded", np.inf, ctx + "; return zeros-based biases when b is None")
            want = conv_bn_reference(w, b, gamma, beta, mean, var, eps, x, stride, padding)
            expect_array(folded_conv(wf, bf, x, stride, padding), want,
                         "conv with the folded parameters vs conv -> BatchNorm2d (eval)", 1e-9, ctx + ", random input")
        # Which of the two is wrong: the scale shows in the weights alone, the
        # bias is what conv -> BN gives for an all-zero input.
        with ck.part("w_folded", 2 / len(CASES)):
            want_w = w * (gamma / np.sqrt(var + eps))[:, None, None, None]
            expect_array(got.get("w"), want_w, "w_folded", 1e-9, ctx + "; filter f is scaled by gamma[f] / sqrt(running_var[f] + eps)")
        with ck.part("b_folded", 1 / len(CASES)):
            want_b = conv_bn_reference(np.zeros_like(w), b, gamma, beta, mean, var, eps, np.zeros((1, c, kh, kw)))[0, :, 0, 0]
            expect_array(got.get("b"), want_b, "b_folded", 1e-9, ctx + "; it must equal conv -> BN's output for an all-zero input")

ITEMS = [
    Item("hw1.fold_batchnorm", 6, ("fold_batchnorm",), probe, judge,
         title="Fold an eval-mode BatchNorm2d into the preceding Conv2d", forbid=NUMPY_ONLY),
]
