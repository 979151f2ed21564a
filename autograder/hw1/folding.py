"""Folding an eval-mode BatchNorm2d into the Conv2d before it (003 T2): the judge.

Student API (NumPy):
    fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5) -> (w_folded, b_folded)
        w: (F, C, KH, KW), b: (F,) or None (zeros); the BN parameters are (F,) arrays.
        conv(x; w_folded, b_folded) == BN_eval(conv(x; w, b)) for every x.
The judge does not compare formulas: it builds torch.nn.Conv2d followed by
torch.nn.BatchNorm2d in eval mode with those parameters and compares outputs with a
Conv2d carrying the folded parameters, on random inputs, in float64. The inputs and
the probe are in :mod:`autograder.probes.hw1.folding`.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item
from ..probes.hw1.folding import CASES, inputs, probe
from .common import NO_RESULT, NUMPY_ONLY, expect_array, field

DEFAULT_EPS = 1e-5
FN = "`fold_batchnorm`"


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
    for case in range(len(CASES)):
        f, c, kh, kw, bias, eps_arg, _, stride, padding = CASES[case]
        w, b, gamma, beta, mean, var, eps_arg, x = inputs(seed, case)
        eps = DEFAULT_EPS if eps_arg is None else eps_arg
        got = field(out, case)
        ctx = (f"w of shape {(f, c, kh, kw)}, {'with' if bias else 'no'} conv bias"
               f"{'' if bias else ' (b=None)'}, eps={eps:g}{' (the default)' if eps_arg is None else ''}, "
               f"running_var around {float(np.mean(var)):.2g}")
        got_w, got_b = field(got, "w"), field(got, "b")
        if isinstance(got_w, Bad) or isinstance(got_b, Bad):
            with ck.part(FN, 6 / len(CASES)):
                bad = got_w if isinstance(got_w, Bad) else got_b if isinstance(got_b, Bad) else NO_RESULT
                raise Fail(f"{bad.describe(FN)} ({ctx})")
            continue
        with ck.part(f"{FN}: conv with the folded parameters", 3 / len(CASES)):
            # Shapes first, so a wrong shape says so before the outputs are compared.
            wf = expect_array(got_w, np.zeros((f, c, kh, kw)), f"{FN} w_folded", np.inf, ctx)
            bf = expect_array(got_b, np.zeros(f), f"{FN} b_folded", np.inf, ctx + "; return zeros-based biases when b is None")
            want = conv_bn_reference(w, b, gamma, beta, mean, var, eps, x, stride, padding)
            expect_array(folded_conv(wf, bf, x, stride, padding), want,
                         f"{FN}: conv with your folded parameters vs conv -> BatchNorm2d (eval)", 1e-9, ctx + ", random input")
        # Which of the two is wrong: the scale shows in the weights alone, the
        # bias is what conv -> BN gives for an all-zero input.
        with ck.part(f"{FN} w_folded", 2 / len(CASES)):
            want_w = w * (gamma / np.sqrt(var + eps))[:, None, None, None]
            expect_array(got_w, want_w, f"{FN} w_folded", 1e-9, ctx + "; filter f is scaled by gamma[f] / sqrt(running_var[f] + eps)")
        with ck.part(f"{FN} b_folded", 1 / len(CASES)):
            want_b = conv_bn_reference(np.zeros_like(w), b, gamma, beta, mean, var, eps, np.zeros((1, c, kh, kw)))[0, :, 0, 0]
            expect_array(got_b, want_b, f"{FN} b_folded", 1e-9, ctx + "; it must equal conv -> BN's output for an all-zero input")


ITEMS = [
    Item("hw1.fold_batchnorm", 6, ("fold_batchnorm",), probe, judge,
         title="Fold an eval-mode BatchNorm2d into the preceding Conv2d", forbid=NUMPY_ONLY),
]
