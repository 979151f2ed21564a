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

The grader passes float32 tensors, as the notebook's training loop does. The judge
rebuilds the same inputs from the seed and computes every reference in float64:
the loss from the formula, its gradient with torch autograd on that formula, and
the update with a plain loop over the classes.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item, expect_array, expect_number, unwrap

# (N, D, K, classes present in the batch (None: all), alpha, features require grad in update_centers)
# The notebook shows N=3, D=2, K=3. Here: absent classes, a single sample, a batch of
# one class, many repeats of a few classes, several alphas.
CASES = [
    (8, 2, 4, None, 0.5, False),
    (10, 3, 6, (0, 2, 3, 5), 0.1, True),
    (1, 5, 3, (2,), 0.5, False),
    (40, 16, 10, (0, 1, 2, 3, 5, 6, 8), 0.5, True),
    (6, 4, 5, (3,), 1.0, True),
    (12, 8, 3, None, 0.05, False),
]
TOL = 1e-5  # the student computes in float32


def _inputs(seed: int, case: int):
    """float64 arrays holding float32 values (what the student gets), labels int64."""
    n, d, k, present, alpha, _ = CASES[case]
    rng = np.random.default_rng([seed, 50, case])
    classes = np.arange(k) if present is None else np.asarray(present)
    if n >= len(classes):
        # every listed class at least once, the rest drawn with uneven weights (repeats)
        weights = rng.uniform(0.2, 1.0, len(classes))
        extra = rng.choice(classes, n - len(classes), p=weights / weights.sum())
        labels = rng.permutation(np.concatenate([classes, extra]))
    else:
        labels = rng.choice(classes, n, replace=False)
    centers = rng.normal(0.0, 1.0, (k, d))
    # noise comparable to the spacing of the centers: many samples lie nearer another center
    features = centers[labels] + rng.normal(0.0, 1.2, (n, d))
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    return f32(features), labels.astype(np.int64), f32(centers), float(alpha)


# --------------------------------------------------------------------------
# Probe (child side).


def _type_name(v) -> str:
    return type(v).__name__


def _probe_loss(ns, features, labels, centers) -> dict:
    import torch

    f = torch.tensor(features, dtype=torch.float32).requires_grad_(True)
    c = torch.tensor(centers, dtype=torch.float32).requires_grad_(True)
    y = torch.tensor(labels, dtype=torch.long)
    f_before, c_before, y_before = f.detach().clone(), c.detach().clone(), y.clone()
    loss = ns.call("center_loss", f, y, c)
    rec: dict = {}
    if isinstance(loss, Bad):
        rec["loss"] = loss
        return rec
    if not torch.is_tensor(loss):
        rec["loss_type"] = _type_name(loss)
        return rec
    rec["loss_type"] = "Tensor"
    rec["loss_shape"] = list(loss.shape)
    rec["loss"] = loss.detach().to(torch.float64).reshape(-1).clone()
    if loss.numel() == 1:
        rec["backward"] = ns.guard(lambda: loss.reshape(()).backward()) if loss.requires_grad else Bad(
            "missing", "the loss does not require grad")
    rec["fgrad"] = None if f.grad is None else f.grad.detach().clone()
    rec["cgrad"] = None if c.grad is None else c.grad.detach().clone()
    rec["changed"] = [name for name, now, before in (("features", f, f_before), ("centers", c, c_before), ("labels", y, y_before))
                      if now.shape != before.shape or not torch.equal(now.detach(), before)]
    return rec


def _probe_update(ns, features, labels, centers, alpha, feat_grad) -> dict:
    import torch

    f = torch.tensor(features, dtype=torch.float32).requires_grad_(feat_grad)
    c = torch.tensor(centers, dtype=torch.float32)
    y = torch.tensor(labels, dtype=torch.long)
    f_before, c_before = f.detach().clone(), c.clone()
    new = ns.call("update_centers", f, y, c, alpha)
    rec: dict = {}
    if isinstance(new, Bad):
        rec["new"] = new
        return rec
    rec["new_type"] = _type_name(new) if not torch.is_tensor(new) else "Tensor"
    if torch.is_tensor(new):
        rec["new"] = new.detach().to(torch.float64).clone()
        rec["requires_grad"] = bool(new.requires_grad)
    rec["changed"] = [name for name, now, before in (("features", f, f_before), ("centers", c, c_before))
                      if now.shape != before.shape or not torch.equal(now.detach(), before)]
    return rec


def probe(ns, seed):
    out = {}
    for case in range(len(CASES)):
        features, labels, centers, alpha = _inputs(seed, case)
        out[case] = {}
        for key, fn, args in (("loss", _probe_loss, (features, labels, centers)),
                              ("update", _probe_update, (features, labels, centers, alpha, CASES[case][5]))):
            try:
                out[case][key] = fn(ns, *args)
            except Exception as e:  # an odd value the probe could not handle
                what = "center_loss" if key == "loss" else "update_centers"
                out[case][key] = {"loss" if key == "loss" else "new": Bad("error", f"{type(e).__name__} while using {what}'s result: {str(e)[:150]}")}
    return out


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
        kind = rec.get("loss_type", "nothing")
        bad = Bad("missing", f"returned a {kind}; return a torch tensor (a scalar) so that backward() works")
    if bad is not None:
        with ck.part("center_loss", sum(w)):
            raise Fail(f"{bad.describe('center_loss')} ({ctx})")
        return

    def value():
        shape = rec.get("loss_shape")
        value = unwrap(rec.get("loss"), "center_loss")
        if not isinstance(value, np.ndarray) or value.size != 1 or not isinstance(shape, list) or len(shape) > 1:
            raise Fail(f"center_loss: returned a tensor of shape {tuple(shape) if isinstance(shape, list) else '?'}; "
                       f"it must be one number (a 0-dim tensor), the sum over the batch ({ctx})")
        got = float(value.reshape(-1)[0])
        if np.isfinite(got) and abs(got - want) > TOL * max(1.0, abs(want)):
            raise Fail(f"center_loss: got {got:.6g}, expected {want:.6g} = 1/2 * sum_i ||x_i - c_(y_i)||^2 "
                       f"({ctx}){_loss_hint(got, want, n)}")
        expect_number(got, want, "center_loss", TOL, ctx)

    def constants():
        changed = rec.get("changed")
        if not isinstance(changed, list):
            raise Fail(f"center_loss: could not tell whether the inputs were changed ({ctx})")
        if changed:
            raise Fail(f"center_loss changed its input {', '.join(map(str, changed))} in place; compute on new tensors ({ctx})")
        cgrad = rec.get("cgrad")
        if cgrad is not None:
            arr = np.asarray(cgrad, dtype=np.float64) if isinstance(cgrad, np.ndarray) else None
            if arr is None or arr.shape != centers.shape or np.any(arr != 0):
                raise Fail("center_loss: a gradient flowed into the centers; they are updated by update_centers, "
                           f"not by backpropagation: use centers.detach() in the loss ({ctx})")

    _gated(ck, "center_loss value", w[0], value, "center_loss constants", w[2], constants)
    with ck.part("center_loss gradient", w[1]):
        back = rec.get("backward")
        if isinstance(back, Bad):
            raise Fail(f"center_loss: loss.backward() failed ({back.message}); keep the loss a torch expression "
                       f"of features: no .item(), .numpy(), .detach() of features or torch.no_grad() ({ctx})")
        grad = rec.get("fgrad")
        if "backward" not in rec:
            raise Fail(f"center_loss: the loss is not one number, so loss.backward() cannot run; return the sum over the batch ({ctx})")
        if grad is None:
            raise Fail(f"center_loss: no gradient reached the features after loss.backward() ({ctx})")
        expect_array(grad, want_grad, "gradient of center_loss with respect to features (should be x_i - c_(y_i))", TOL, ctx)


def _judge_update(rec, features, labels, centers, alpha, ctx, ck, w):
    want = reference_update(features, labels, centers, alpha)
    ctx = f"{ctx}, alpha={alpha:g}"
    bad = rec.get("new") if isinstance(rec.get("new"), Bad) else None
    if bad is None and rec.get("new_type") != "Tensor":
        bad = Bad("missing", f"returned a {rec.get('new_type', 'nothing')}; return the new centers as a torch tensor of shape (K, D)")
    if bad is not None:
        with ck.part("update_centers", sum(w)):
            raise Fail(f"{bad.describe('update_centers')} ({ctx})")
        return

    def values():
        got = expect_array(rec.get("new"), want, "update_centers", np.inf, ctx)
        present = set(int(v) for v in labels)
        for j in range(centers.shape[0]):
            if j not in present and np.max(np.abs(got[j] - centers[j])) > TOL * max(1.0, float(np.max(np.abs(centers[j])))):
                raise Fail(f"update_centers: class {j} is not in the batch but its center moved; "
                           f"absent classes keep their centers ({ctx})")
        flipped = centers + (centers - want)
        if rel_close(got, flipped) and not rel_close(want, centers):
            raise Fail(f"update_centers: the centers move away from their features: c_j <- c_j - alpha * delta_j ({ctx})")
        expect_array(got, want, "update_centers", TOL, ctx + "; delta_j = sum_(i: y_i=j) (c_j - x_i) / (1 + n_j)")

    def new_tensor():
        changed = rec.get("changed")
        if not isinstance(changed, list):
            raise Fail(f"update_centers: could not tell whether the inputs were changed ({ctx})")
        if changed:
            raise Fail(f"update_centers changed its input {', '.join(map(str, changed))} in place; "
                       f"return a new tensor and leave the given one unchanged ({ctx})")
        if rec.get("requires_grad") is not False:
            raise Fail("update_centers: the new centers carry an autograd graph; compute them under torch.no_grad() "
                       f"or from features.detach() ({ctx}, features that require grad)")

    _gated(ck, "update_centers values", w[0], values, "update_centers new tensor", w[1], new_tensor)


def _gated(ck, main: str, main_w: float, main_check, extra: str, extra_w: float, extra_check) -> None:
    """``extra`` (inputs left alone, no stray gradient) earns its weight only when ``main``
    (the values) passes; otherwise its weight joins ``main``'s, so that a wrong answer earns
    nothing for merely leaving its inputs alone."""
    try:
        main_check()
        failed = None
    except Fail as e:
        failed = str(e)
    except Exception as e:  # a value so odd that a comparison broke
        failed = f"{main}: could not be checked ({type(e).__name__}: {e})"
    if failed is not None:
        with ck.part(main, main_w + extra_w):
            raise Fail(failed)
        return
    with ck.part(main, main_w):
        pass
    with ck.part(extra, extra_w):
        extra_check()


def rel_close(a, b, tol: float = TOL) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and float(np.max(np.abs(a - b), initial=0.0)) <= tol * max(1.0, float(np.max(np.abs(b), initial=0.0)))


# Weights per case: loss value, its gradient, centers untouched; update values, new tensor.
LOSS_W = (2.0, 1.5, 0.5)
UPDATE_W = (2.5, 0.5)


def judge(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    k = len(CASES)
    for case in range(k):
        features, labels, centers, alpha = _inputs(seed, case)
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
