"""Center loss and the center update (000 T6; Wen et al., ECCV 2016).

Student API (torch tensors in and out):
    center_loss(features (N, D) float, labels (N,) long, centers (K, D)) -> scalar tensor
        L_C = 1/2 * sum_i ||x_i - c_{y_i}||^2, summed over the mini-batch (the paper's
        definition: no division by N). Differentiable with respect to ``features``
        (dL/dx_i = x_i - c_{y_i}); the centers are constants for this loss (no gradient
        reaches them) and nothing given is changed in place.
    update_centers(features, labels, centers, alpha) -> new centers (K, D)
        delta_j = sum_i [y_i = j] (c_j - x_i) / (1 + sum_i [y_i = j]);  c_j <- c_j - alpha * delta_j
        Classes absent from the batch keep their centers. A new tensor is returned, the
        given ``centers`` are left unchanged, and the result carries no autograd graph
        (the features may require grad: they come from the network).

The grader passes float32 tensors, as the notebook's training loop does. The probe
(``autograder/probes/hw2/centerloss.py``) calls the student's functions and returns
what they produced; the judge here rebuilds the same inputs from the seed (with the
probe module's builder) and computes every reference in float64:
the loss from the formula, its gradient with torch autograd on that formula, and
the update with a plain loop over the classes.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..core import Bad, Fail, Item, expect_array, expect_number, unwrap
from ..probes.hw2.centerloss import CASES, inputs, probe
from .common import part, short

TOL = 1e-5  # the student computes in float32


# --------------------------------------------------------------------------
# Judge (trusted side).


def reference_loss_and_grad(features, labels, centers):
    """L_C = 1/2 sum_i ||x_i - c_{y_i}||^2 in float64, and dL/dx by autograd."""
    import torch

    x = torch.tensor(features, dtype=torch.float64, requires_grad=True)
    c = torch.tensor(centers, dtype=torch.float64)
    loss = 0.5 * ((x - c[torch.tensor(labels)]) ** 2).sum()
    loss.backward()
    return loss.item(), x.grad.numpy()


def reference_update(features, labels, centers, alpha):
    """The paper's center update, one class at a time, in float64."""
    new = np.array(centers, dtype=np.float64, copy=True)
    for j in range(centers.shape[0]):
        mine = features[labels == j]
        delta = (centers[j] - mine).sum(axis=0) / (1.0 + len(mine))
        new[j] = centers[j] - alpha * delta
    return new


def _describe(case: int) -> str:
    n, d, k, present, alpha, feat_grad = CASES[case]
    absent = [] if present is None else sorted(set(range(k)) - set(present))
    what = f"N={n}, D={d}, K={k}"
    what += f", classes {absent} absent from the batch" if absent else ", every class in the batch"
    return what


def _loss_hint(got: float, want: float, n: int) -> str:
    close = lambda a, b: abs(a - b) <= 1e-4 * max(1.0, abs(b))  # noqa: E731
    if close(got, 2 * want):
        return "; it is twice the expected value: the 1/2 is missing"
    if n > 1 and (close(got, want / n) or close(got, 2 * want / n)):
        return "; it looks like a mean over the batch: this notebook uses the paper's sum over the batch"
    return ""


def _judge_loss(rec, features, labels, centers, ctx, ck, w):
    want, want_grad = reference_loss_and_grad(features, labels, centers)
    n = len(labels)
    bad = rec.get("loss") if isinstance(rec.get("loss"), Bad) else None
    if bad is None and rec.get("loss_type") != "Tensor":
        kind = short(rec.get("loss_type", "nothing"), 40)
        bad = Bad("missing", f"returned a {kind}; return a torch tensor (a scalar) so that backward() works")
    if bad is not None:
        with ck.part("center_loss", sum(w)):
            raise Fail(f"{bad.describe('center_loss')} ({ctx})")
        return

    scale = []  # the factor between the student's loss and the paper's, when it is a reduction convention

    def value():
        shape = rec.get("loss_shape")
        value = unwrap(rec.get("loss"), "center_loss")
        if not isinstance(value, np.ndarray) or value.size != 1 or not isinstance(shape, list) or len(shape) > 1:
            raise Fail(f"center_loss: returned a tensor of shape {tuple(shape) if isinstance(shape, list) else '?'}; "
                       f"it must be one number (a 0-dim tensor), the sum over the batch ({ctx})")
        got = float(value.reshape(-1)[0])
        if not np.isfinite(got):
            raise Fail(f"center_loss: returned {got} ({ctx})")
        for factor in _reductions(n):
            if abs(got - factor * want) <= TOL * max(1.0, abs(factor * want)):
                scale.append(factor)
                return
        raise Fail(f"center_loss: got {got:.6g}, expected {want:.6g} = 1/2 * sum_i ||x_i - c_(y_i)||^2 "
                   f"({ctx}){_loss_hint(got, want, n)}")

    def constants():
        changed = rec.get("changed")
        if not isinstance(changed, list):
            raise Fail(f"center_loss: could not tell whether the inputs were changed ({ctx})")
        if changed:
            raise Fail(f"center_loss changed its input {short(', '.join(map(str, changed)))} in place; compute on new tensors ({ctx})")
        cgrad = rec.get("cgrad")
        if cgrad is not None:
            arr = np.asarray(cgrad, dtype=np.float64) if isinstance(cgrad, np.ndarray) else None
            if arr is None or arr.shape != centers.shape or np.any(arr != 0):
                raise Fail("center_loss: a gradient flowed into the centers; they are updated by update_centers, "
                           f"not by backpropagation: use centers.detach() in the loss ({ctx})")

    _gated(ck, "center_loss value", w[0], value, "center_loss constants", w[2], constants, f"center_loss ({ctx})")
    factor = scale[0] if scale else 1.0
    with part(ck, "center_loss gradient", w[1], f"center_loss ({ctx})"):
        back = rec.get("backward")
        if isinstance(back, Bad):
            raise Fail(f"center_loss: loss.backward() failed ({back.message}); keep the loss a torch expression "
                       f"of features: no .item(), .numpy(), .detach() of features or torch.no_grad() ({ctx})")
        grad = rec.get("fgrad")
        if "backward" not in rec:
            raise Fail(f"center_loss: the loss is not one number, so loss.backward() cannot run; return the sum over the batch ({ctx})")
        if grad is None:
            raise Fail(f"center_loss: no gradient reached the features after loss.backward() ({ctx})")
        with _named(ctx):
            expect_array(grad, factor * want_grad, "gradient of center_loss with respect to features (should be x_i - c_(y_i)"
                         + (")" if factor == 1.0 else f", times the loss's {factor:.4g} of the batch reduction)"), TOL, ctx)
    with part(ck, "center_loss: the paper's sum over the batch", w[3], f"center_loss ({ctx})"):
        if not scale:
            raise Fail(f"center_loss: the loss's value is wrong (see above) ({ctx})")
        if factor != 1.0:
            how = ("the mean of the squared distances over the batch, as the popular pytorch-center-loss (KaiyangZhou) "
                   "computes it" if abs(factor - 2.0 / n) < 1e-12 else "1/2 times the mean over the batch")
            raise Fail(f"center_loss: this notebook uses the paper's L_C = 1/2 * sum over the batch (Wen et al.); yours "
                       f"is {how} ({ctx})")


def _reductions(n: int) -> list[float]:
    """The factors between a widely used batch reduction and the paper's 1/2 * sum: the paper's
    own (1), 1/2 * mean (1/N) and pytorch-center-loss's mean of squared distances (2/N)."""
    out = [1.0]
    for f in (1.0 / n, 2.0 / n):
        if all(abs(f - g) > 1e-12 for g in out):
            out.append(f)
    return out


def _judge_update(rec, features, labels, centers, alpha, ctx, ck, w):
    want = reference_update(features, labels, centers, alpha)
    ctx = f"{ctx}, alpha={alpha:g}"
    bad = rec.get("new") if isinstance(rec.get("new"), Bad) else None
    if bad is None and rec.get("new_type") != "Tensor":
        bad = Bad("missing", f"returned a {short(rec.get('new_type', 'nothing'), 40)}; return the new centers as a torch tensor of shape (K, D)")
    if bad is not None:
        with ck.part("update_centers", sum(w)):
            raise Fail(f"{bad.describe('update_centers')} ({ctx})")
        return

    def values():
        with _named(ctx):
            got = expect_array(rec.get("new"), want, "update_centers", np.inf, ctx)
        present = set(int(v) for v in labels)
        for j in range(centers.shape[0]):
            if j not in present and np.max(np.abs(got[j] - centers[j])) > TOL * max(1.0, float(np.max(np.abs(centers[j])))):
                raise Fail(f"update_centers: class {j} is not in the batch but its center moved; "
                           f"absent classes keep their centers ({ctx})")
        flipped = centers + (centers - want)
        if rel_close(got, flipped) and not rel_close(want, centers):
            raise Fail(f"update_centers: the centers move away from their features: c_j <- c_j - alpha * delta_j ({ctx})")
        with _named(ctx):
            expect_array(got, want, "update_centers", TOL, ctx + "; delta_j = sum_(i: y_i=j) (c_j - x_i) / (1 + n_j)")

    def new_tensor():
        changed = rec.get("changed")
        if not isinstance(changed, list):
            raise Fail(f"update_centers: could not tell whether the inputs were changed ({ctx})")
        if changed:
            raise Fail(f"update_centers changed its input {short(', '.join(map(str, changed)))} in place; "
                       f"return a new tensor and leave the given one unchanged ({ctx})")
        if rec.get("requires_grad") is not False:
            raise Fail("update_centers: the new centers carry an autograd graph; compute them under torch.no_grad() "
                       f"or from features.detach() ({ctx}, features that require grad)")

    _gated(ck, "update_centers values", w[0], values, "update_centers new tensor", w[1], new_tensor, f"update_centers ({ctx})")


@contextlib.contextmanager
def _named(ctx: str):
    """A failed check's message always names the case."""
    try:
        yield
    except Fail as e:
        if ctx in str(e):
            raise
        raise Fail(f"{e} ({ctx})") from None


def _gated(ck, main: str, main_w: float, main_check, extra: str, extra_w: float, extra_check, ctx: str) -> None:
    """``extra`` (inputs left alone, no stray gradient) earns its weight only when ``main``
    (the values) passes; otherwise its weight joins ``main``'s, so that a wrong answer earns
    nothing for merely leaving its inputs alone."""
    try:
        main_check()
        failed = None
    except Fail as e:
        failed = str(e)
    except Exception as e:  # a value so odd that a comparison broke
        failed = f"{ctx}: the result has an unexpected type or structure and could not be checked"
    if failed is not None:
        with ck.part(main, main_w + extra_w):
            raise Fail(failed)
        return
    with ck.part(main, main_w):
        pass
    with part(ck, extra, extra_w, ctx):
        extra_check()


def rel_close(a, b, tol: float = TOL) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and float(np.max(np.abs(a - b), initial=0.0)) <= tol * max(1.0, float(np.max(np.abs(b), initial=0.0)))


# Weights per case: loss value, its gradient, centers untouched, the paper's reduction (the sum
# over the batch; the mean over the batch of pytorch-center-loss is the other convention, which
# the value and gradient parts accept); update values, new tensor.
LOSS_W = (1.7, 1.4, 0.5, 0.4)
UPDATE_W = (2.5, 0.5)


def judge(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    k = len(CASES)
    for case in range(k):
        features, labels, centers, alpha = inputs(seed, case)
        ctx = _describe(case)
        got = out.get(case) if isinstance(out.get(case), dict) else {}
        loss_rec = got.get("loss") if isinstance(got.get("loss"), dict) else {"loss": Bad("missing", "no result")}
        upd_rec = got.get("update") if isinstance(got.get("update"), dict) else {"new": Bad("missing", "no result")}
        _judge_loss(loss_rec, features, labels, centers, ctx, ck, [x / k for x in LOSS_W])
        _judge_update(upd_rec, features, labels, centers, alpha, ctx, ck, [x / k for x in UPDATE_W])


ITEMS = [
    Item("hw2.center_loss", 6, ("center_loss", "update_centers"), probe, judge,
         title="Center loss and the center update rule (000 T6)", timeout=20),
]
