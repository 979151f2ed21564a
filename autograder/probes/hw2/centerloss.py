"""Probe half of the center-loss item (hw2.center_loss).

Runs in the child: calls the student's ``center_loss`` (then ``backward``) and
``update_centers`` on float32 tensors built from the seed, and returns the values,
the gradients that reached the inputs, and whether an input was changed in place.
The references (the loss, its gradient, the update) are computed by the judge.
"""
from __future__ import annotations

import numpy as np

from autograder.probes.runtime import Bad

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


def inputs(seed: int, case: int):
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


def _type_name(v) -> str:
    return type(v).__name__


def _array(t):
    """A tensor's values as a float64 NumPy array, or a Bad."""
    import torch

    try:
        return t.detach().to(torch.float64).cpu().numpy().copy()
    except Exception as e:  # noqa: BLE001  an odd tensor
        return Bad("missing", f"returned a tensor that could not be read ({type(e).__name__})")


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
    rec["loss_shape"] = [int(s) for s in loss.shape]
    rec["loss"] = _array(loss.reshape(-1))
    if loss.numel() == 1:
        rec["backward"] = ns.guard(lambda: loss.reshape(()).backward()) if loss.requires_grad else Bad(
            "missing", "the loss does not require grad")
    rec["fgrad"] = None if f.grad is None else _array(f.grad)
    rec["cgrad"] = None if c.grad is None else _array(c.grad)
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
        rec["new"] = _array(new)
        rec["requires_grad"] = bool(new.requires_grad)
    rec["changed"] = [name for name, now, before in (("features", f, f_before), ("centers", c, c_before))
                      if now.shape != before.shape or not torch.equal(now.detach(), before)]
    return rec


def probe(ns, seed):
    out = {}
    for case in range(len(CASES)):
        features, labels, centers, alpha = inputs(seed, case)
        out[case] = {}
        for key, fn, args in (("loss", _probe_loss, (features, labels, centers)),
                              ("update", _probe_update, (features, labels, centers, alpha, CASES[case][5]))):
            try:
                out[case][key] = fn(ns, *args)
            except Exception as e:  # an odd value this probe could not handle
                what = "center_loss" if key == "loss" else "update_centers"
                out[case][key] = {"loss" if key == "loss" else "new": Bad(
                    "missing", f"returned a value the grader could not use ({type(e).__name__}: {str(e)[:150]})")}
    return out
