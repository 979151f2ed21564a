"""Class model visualization and FGSM (003 P7, with 002's expression network in the notebook).

Student API (torch tensors in and out; images are float (N, 3, H, W) in [0, 1]):
    class_visualization(model, class_idx, steps=100, lr=0.5, l2_reg=1e-3, jitter=2, seed=0, size=(64, 64))
        -> (1, 3, H, W) image in [0, 1] that raises the logit of ``class_idx``.
        gen = torch.Generator().manual_seed(seed); I = torch.rand(1, 3, H, W, generator=gen);
        each step: (dy, dx) = torch.randint(-jitter, jitter + 1, (2,), generator=gen);
        J = model(torch.roll(I, (dy, dx), dims=(2, 3)))[0, class_idx] - l2_reg * ||I||^2;
        g = dJ/dI; I <- clamp(I + lr * g / ||g||, 0, 1). The model is left as it was.
    fgsm(model, x, y, eps, targeted=False) -> x_adv (N, 3, H, W)
        loss = cross-entropy of model(x) with the labels y (the true labels, or the target
        classes when targeted); g = d loss / d x;
        untargeted: x + eps * sign(g); targeted: x - eps * sign(g); clamped to [0, 1].
        x_adv carries no autograd graph; x, the model's mode, parameters and their .grad
        are left as they were.
    accuracy_vs_epsilon(model, x, y, epsilons) -> list of floats
        the accuracy of the model on fgsm(model, x, y, eps) for each eps (eps = 0: clean).

The judge rebuilds the grader's fixed colour-square classifier (``cam.toy_net``, right on
every clean image) and the images of the value cases from the seed, recomputes FGSM exactly
(float64, the sign of the gradient; entries whose gradient is ~0 are not compared), and
judges the visualization by what it does on the model: the target class on top with a
margin, its logit up from the starting noise, a smaller image norm with L2 regularization
than without, the same image for the same seed argument, the model untouched.

The accuracy drop and the accuracy-vs-epsilon curve are measured on held-out images: the
judge draws them from ``core.held_out_seed`` (not derivable from the public seed), sends
only the images (``Item.give``), and keeps their labels. The child attacks the model's
own predictions on them (the model is right on every clean image, so these are the true
classes); the judge evaluates the grader's model on the student's adversarial images
against the labels it alone holds: the accuracy must fall from 100 % to at most
FGSM_MAX_ACCURACY at FGSM_EPS (the reference reaches about 0.2, random signs of the same
size about 1.0; ``tests/hw5/test_adversarial_thresholds.py``).

Split: the probe half is ``autograder/probes/hw5/adversarial.py`` (its input builders are
imported here); this module holds the references, the held-out set, the checks and points.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item, held_out_seed, unwrap
from ..probes.hw5 import adversarial as probe_side
from ..probes.hw5.adversarial import (CURVE_EPS, CURVE_N, FGSM_CASES, FGSM_EPS, VIS_CALLS, VIS_L2, fgsm_inputs,
                                      model_predictions, start_image, vis_class)
from .cam import (GRAD_STATE_WEIGHT, K_CLASSES, check_no_grad, check_state, input_untouched,  # noqa: F401
                  input_values_untouched, object_images, toy_net)
from ..judging import attempt, one_thread, part

# --------------------------------------------------------------------------
# hw5.class_visualization

VIS_MARGIN = 2.0      # the target logit must beat every other by this much (the reference: > 8)
VIS_RISE = 2.0        # and rise this much above its value on the starting noise (the reference: > 8)
VIS_L2_RATIO = 0.95   # ||I(l2_reg)|| <= this * ||I(0)|| (the reference: about 0.85)


def _logits(model, img):
    import torch

    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(img), dtype=torch.float32)).double().numpy()[0]


def _vis_ctx(seed, call):
    _, size, steps, lr, l2, jitter, _ = VIS_CALLS[call]
    return f"class {vis_class(seed, call)}, size {size}, steps={steps}, lr={lr}, l2_reg={l2}, jitter={jitter}"


def _image(rec, size, ctx):
    fn = "class_visualization"
    rec = unwrap(rec, f"`{fn}`")
    if not isinstance(rec, dict):
        raise Fail(f"`{fn}`: no image ({ctx})")
    want = (1, 3, *size)
    shape = rec.get("shape")
    if not isinstance(shape, (list, tuple)) or tuple(shape) != want:
        shown = tuple(shape) if isinstance(shape, (list, tuple)) else "?"
        raise Fail(f"`{fn}`: returned shape {shown}, expected {want} ({ctx})")
    v = rec.get("value")
    if not isinstance(v, np.ndarray) or v.shape != want or v.dtype.kind not in "fiu":
        raise Fail(f"`{fn}`: returned a tensor of dtype {rec.get('dtype')}; return a float image ({ctx})")
    v = v.astype(np.float64)
    if not np.all(np.isfinite(v)):
        raise Fail(f"`{fn}`: the image contains NaN or inf ({ctx})")
    if v.min() < -1e-6 or v.max() > 1 + 1e-6:
        raise Fail(f"`{fn}`: pixel values in [{v.min():.3g}, {v.max():.3g}]; clamp the image to [0, 1] "
                   f"after every step ({ctx})")
    return v


@one_thread
def judge_visualization(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    fn = "class_visualization"
    model = toy_net()
    imgs = {}
    for call, (_, size, steps, lr, l2, jitter, s) in enumerate(VIS_CALLS):
        if call == 1 or call == 2:
            continue
        k = vis_class(seed, call)
        ctx = _vis_ctx(seed, call) + (", the model in train mode" if call == 3 else "")
        where = f"`{fn}` ({ctx})"
        rec = out.get(call) if isinstance(out.get(call), dict) else {"img": Bad("missing", "no result")}
        img, failed = attempt(where, _image, rec.get("img"), size, ctx)
        if failed:  # the L2 and reproducibility checks build on call 0's image: they fail with it
            with ck.part(f"{fn}: image", 5.0 + (2.0 if call == 0 else 0.0)):
                raise Fail(failed)
            continue
        with ck.part(f"{fn}: image", 1.0):
            imgs[call] = img
        with part(ck, f"{fn}: raises the class", 3.0, where):
            z = _logits(model, img)
            z0 = _logits(model, start_image(size, s))
            others = np.delete(z, k)
            if z[k] - z0[k] < VIS_RISE:
                raise Fail(f"`{fn}`: the logit of class {k} went from {z0[k]:.3g} on the starting noise "
                           f"to {z[k]:.3g}; it must rise (gradient ASCENT on the logit: I + lr * g / ||g||) ({ctx})")
            if z[k] - others.max() < VIS_MARGIN:
                top = int(np.argmax(z))
                raise Fail(f"`{fn}`: class {k}'s logit {z[k]:.3g} does not beat the others by "
                           f"{VIS_MARGIN} (class {top}: {z[top]:.3g}); maximise the logit of class_idx itself ({ctx})")
        with part(ck, f"{fn}: model left as it was", 1.0 - GRAD_STATE_WEIGHT, where):
            check_state(rec.get("before"), rec.get("after"), fn, ctx, grads=False)
            if rec["img"].get("requires_grad") is not False:
                raise Fail(f"`{fn}`: the image carries an autograd graph; return it .detach()ed ({ctx})")
        with part(ck, f"{fn}: no gradient left behind", GRAD_STATE_WEIGHT, where):
            check_no_grad(rec.get("before"), rec.get("after"), fn, ctx, "CS231n's class visualization and the tutorials")
    if 0 not in imgs:
        return
    size = VIS_CALLS[0][1]
    where = f"`{fn}` ({_vis_ctx(seed, 2)}, against the same call with l2_reg={VIS_L2})"
    with part(ck, f"{fn}: L2 regularization", 1.5, where):
        rec = out.get(2) if isinstance(out.get(2), dict) else {"img": Bad("missing", "no result")}
        free = _image(rec.get("img"), size, _vis_ctx(seed, 2))
        n_reg, n_free = float(np.linalg.norm(imgs[0])), float(np.linalg.norm(free))
        if not n_reg <= VIS_L2_RATIO * n_free:
            raise Fail(f"`{fn}`: with l2_reg={VIS_L2} the image's norm is {n_reg:.3g}, with l2_reg=0 it "
                       f"is {n_free:.3g} ({_vis_ctx(seed, 0)}); the objective must subtract l2_reg * ||I||^2")
    where = f"`{fn}` (the same call twice: {_vis_ctx(seed, 0)}, the same seed argument)"
    with part(ck, f"{fn}: reproducible with the seed", 0.5, where):
        rec = out.get(1) if isinstance(out.get(1), dict) else {"img": Bad("missing", "no result")}
        again = _image(rec.get("img"), size, _vis_ctx(seed, 1))
        if np.max(np.abs(again - imgs[0])) > 1e-5:
            raise Fail(f"`{fn}`: two calls with the same seed argument gave different images ({_vis_ctx(seed, 0)}); "
                       "draw the start and the jitter from torch.Generator().manual_seed(seed)")


# --------------------------------------------------------------------------
# hw5.fgsm

FGSM_N = 160                 # held-out images of the accuracy drop (the curve uses the first CURVE_N)
FGSM_MAX_ACCURACY = 0.5      # from 1.0 clean; the reference gets about 0.2, random signs about 1.0
MATCH_FRACTION = 0.999       # entries compared where |gradient| is not ~0
SIGN_FLOOR = 1e-7            # relative to the largest |gradient| of the image
HELD_OUT_KEY = 73


def held_out_images(seed, n=FGSM_N) -> tuple[np.ndarray, np.ndarray]:
    """The images of the accuracy drop and the curve, and their labels (judge side only):
    drawn from a seed derived from the course secret, so a child cannot rebuild them."""
    x, labels, _ = object_images([held_out_seed("hw5.fgsm", seed), HELD_OUT_KEY], n, 32)
    return x, labels[:, 0].astype(np.int64)


def give_fgsm(seed) -> dict:
    """What the judge sends to the probe: the held-out images, never their labels (~2 MB)."""
    x, _ = held_out_images(seed)
    return {"x": x}


def ref_fgsm_grad(model, x, y):
    """d cross-entropy / d x in float64 (the judge's model, per image: no batch coupling)."""
    import copy

    import torch
    import torch.nn.functional as F

    m = copy.deepcopy(model).double()
    xx = torch.as_tensor(np.asarray(x), dtype=torch.float64).requires_grad_(True)
    loss = F.cross_entropy(m(xx), torch.as_tensor(np.asarray(y)), reduction="sum")
    g, = torch.autograd.grad(loss, xx)
    return g.numpy()


def ref_fgsm(model, x, y, eps, targeted):
    g = ref_fgsm_grad(model, x, y)
    step = -eps * np.sign(g) if targeted else eps * np.sign(g)
    return np.clip(x + step, 0.0, 1.0), g


def accuracy(model, x, y) -> float:
    """The grader's model's accuracy on images ``x`` against labels ``y`` (judge side)."""
    import torch

    with torch.no_grad():
        return float(np.mean(model(torch.as_tensor(np.asarray(x), dtype=torch.float32)).argmax(1).numpy() == y))


def _fgsm_hint(got, x, g, eps, targeted):
    sign = -1.0 if targeted else 1.0
    tries = [
        (np.clip(x - sign * eps * np.sign(g), 0, 1), "the step has the wrong sign: untargeted x + eps*sign(grad of the "
                                                     "loss at the true label), targeted x - eps*sign(grad at the target)"),
        (x + sign * eps * np.sign(g), "clamp the result to the valid pixel range [0, 1]"),
        (np.clip(x + sign * eps * g, 0, 1), "use the SIGN of the gradient, not the gradient itself"),
        (np.clip(x + sign * eps * g / max(np.abs(g).max(), 1e-30), 0, 1), "use the sign of the gradient, not a scaled gradient"),
    ]
    for alt, msg in tries:
        if alt.shape == got.shape and np.mean(np.abs(alt - got) <= 1e-5) >= MATCH_FRACTION:
            return "; " + msg
    if np.all(np.abs(got - x) <= eps + 1e-5) and np.mean(np.abs(np.abs(got - x) - eps) < 1e-5) < 0.5 and got.min() >= 0:
        return "; most pixels did not move by exactly eps: x_adv = clamp(x +/- eps * sign(grad), 0, 1)"
    if np.any(np.abs(got - x) > eps + 1e-5):
        return f"; some pixels moved by more than eps={eps} (max {np.abs(got - x).max():.3g}): stay in the L-infinity ball"
    return ""


def _adv_array(rec, shape, ctx):
    fn = "fgsm"
    rec = unwrap(rec, f"`{fn}`")
    if not isinstance(rec, dict):
        raise Fail(f"`{fn}`: no result ({ctx})")
    got_shape = rec.get("shape")
    if not isinstance(got_shape, (list, tuple)) or tuple(got_shape) != tuple(shape):
        shown = tuple(got_shape) if isinstance(got_shape, (list, tuple)) else "?"
        raise Fail(f"`{fn}`: returned shape {shown}, expected {tuple(shape)} ({ctx})")
    v = rec.get("value")
    if not isinstance(v, np.ndarray) or v.shape != tuple(shape) or v.dtype.kind not in "fiu":
        raise Fail(f"`{fn}`: returned a tensor of dtype {rec.get('dtype')}; return float images ({ctx})")
    v = v.astype(np.float64)
    if not np.all(np.isfinite(v)):
        raise Fail(f"`{fn}`: x_adv contains NaN or inf ({ctx})")
    return v


def _fgsm_ctx(case, x):
    _, _, eps, targeted, mode = FGSM_CASES[case]
    return (f"{'targeted' if targeted else 'untargeted'}, eps={eps}, x {tuple(x.shape)}, {mode} mode"
            + (", y = the target classes" if targeted else ""))


@one_thread
def judge_fgsm(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    fn = "fgsm"
    model = toy_net()
    n = len(FGSM_CASES)
    for case in range(n):
        x, y, eps, targeted, mode = fgsm_inputs(seed, case)
        ctx = _fgsm_ctx(case, x)
        where = f"`{fn}` ({ctx})"
        rec = out.get(case) if isinstance(out.get(case), dict) else {"x_adv": Bad("missing", "no result")}
        want, g = ref_fgsm(model, x, y, eps, targeted)

        def values(rec=rec, x=x, want=want, g=g, eps=eps, targeted=targeted, ctx=ctx):
            got = _adv_array(rec.get("x_adv"), x.shape, ctx)
            scale = np.abs(g).reshape(len(x), -1).max(axis=1).reshape(-1, 1, 1, 1)
            sure = np.abs(g) > SIGN_FLOOR * scale  # where the sign of the gradient is not in doubt
            match = np.abs(got - want) <= 1e-5
            frac = float(np.mean(match[sure])) if sure.any() else 1.0
            if frac < MATCH_FRACTION or not np.all(np.abs(got - want)[~sure] <= eps + 1e-5):
                raise Fail(f"`{fn}`: {1 - frac:.1%} of the pixels differ from FGSM's ({ctx})"
                           f"{_fgsm_hint(got, x, g, eps, targeted)}")

        _, failed = attempt(where, values)
        if failed:  # the state earns nothing while x_adv is wrong: one message, both weights
            with ck.part(f"{fn}: values", 6.0 / n):
                raise Fail(failed)
            continue
        with ck.part(f"{fn}: values", 5.0 / n):
            pass
        with part(ck, f"{fn}: model and input left as they were", (1.0 - GRAD_STATE_WEIGHT) / n, where):
            check_state(rec.get("before"), rec.get("after"), fn, ctx, grads=False)
            if not input_values_untouched(rec.get("x_after"), x) or not input_untouched(rec.get("y_after"), y):
                raise Fail(f"`{fn}` changed its input x or y (values, dtype, or y's requires_grad); work on "
                           f"x.detach().clone().requires_grad_(True) ({ctx})")
            if rec["x_adv"].get("requires_grad") is not False:
                raise Fail(f"`{fn}`: x_adv carries an autograd graph; return it .detach()ed ({ctx})")
        with part(ck, f"{fn}: no gradient left behind", GRAD_STATE_WEIGHT / n, where):
            check_no_grad(rec.get("before"), rec.get("after"), fn, ctx, "the PyTorch FGSM tutorial", rec.get("x_after"))
    x, y = held_out_images(seed)
    ctx = f"untargeted, eps={FGSM_EPS}, {FGSM_N} held-out images of 32x32, y = the model's predictions"
    with part(ck, f"{fn}: accuracy falls", 2.5, f"`{fn}` ({ctx})"):
        got = _adv_array(out.get("drop", Bad("missing", "no result")), x.shape, ctx)
        if np.any(np.abs(got - x) > FGSM_EPS + 1e-5) or got.min() < -1e-6 or got.max() > 1 + 1e-6:
            raise Fail(f"`{fn}`: the adversarial images leave the eps-ball or [0, 1] ({ctx})")
        acc, clean = accuracy(model, got, y), accuracy(model, x, y)
        if acc > FGSM_MAX_ACCURACY:
            raise Fail(f"`{fn}`: the grader's model keeps {acc:.0%} accuracy on your adversarial images (clean: "
                       f"{clean:.0%}; {ctx}); FGSM should bring it to {FGSM_MAX_ACCURACY:.0%} or less: step along the "
                       f"sign of the gradient of the loss at the TRUE label")
    fn = "accuracy_vs_epsilon"
    ctx = f"eps {CURVE_EPS}, {CURVE_N} held-out images of 32x32, y = the model's predictions"
    with part(ck, f"{fn}: the curve", 1.0, f"`{fn}` ({ctx})"):
        curve = unwrap(out.get("curve", Bad("missing", "no result")), f"`{fn}`")
        if (not isinstance(curve, list) or len(curve) != len(CURVE_EPS)
                or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in curve)):
            raise Fail(f"`{fn}`: expected a list of {len(CURVE_EPS)} accuracies (one per epsilon), got "
                       f"{type(curve).__name__} of length {len(curve) if isinstance(curve, list) else '?'} ({ctx})")
        xc = x[:CURVE_N]
        yc = model_predictions(model, xc)  # what the probe gave accuracy_vs_epsilon
        want = [accuracy(model, ref_fgsm(model, xc, yc, eps, False)[0], yc) for eps in CURVE_EPS]
        if not all(abs(a - b) <= 1.5 / CURVE_N for a, b in zip(curve, want)):
            hint = " (percentages? return fractions in [0, 1])" if max(curve) > 1.5 else ""
            raise Fail(f"`{fn}`: got {[round(a, 3) for a in curve]} at eps {CURVE_EPS}, FGSM gives "
                       f"{[round(a, 3) for a in want]} ({CURVE_N} held-out images){hint}")


ITEMS = [
    Item("hw5.class_visualization", 7, ("class_visualization",), probe_side.probe_visualization, judge_visualization,
         title="Class model visualization by gradient ascent (003 P7)", timeout=40),
    Item("hw5.fgsm", 10, ("fgsm", "accuracy_vs_epsilon"), probe_side.probe_fgsm, judge_fgsm,
         title="FGSM, untargeted and targeted, and the accuracy-vs-epsilon curve (003 P7)", timeout=40,
         give=give_fgsm),
]
