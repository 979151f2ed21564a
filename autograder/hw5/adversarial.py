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
every clean image) and the images from the seed, recomputes FGSM exactly (float64, the sign
of the gradient; entries whose gradient is ~0 are not compared), evaluates the model on the
student's adversarial images (the accuracy must fall from 100 % to at most
FGSM_MAX_ACCURACY at FGSM_EPS; the reference reaches about 0.2, random signs of the same
size about 1.0), and judges the visualization by what it does on the model: the target
class on top with a margin, its logit up from the starting noise, a smaller image norm with
L2 regularization than without, the same image for the same seed, the model untouched.
"""
from __future__ import annotations

import numpy as np

from ..core import Bad, Fail, Item, unwrap
from .cam import K_CLASSES, _set_threads, _tensor_rec, check_state, model_state, object_images, toy_net

# --------------------------------------------------------------------------
# hw5.class_visualization

# (class, size, steps, lr, l2_reg, jitter, seed) ; calls 0 and 1 are the same (reproducibility),
# call 2 is call 0 without L2.
VIS_L2 = 0.05
VIS_CALLS = [
    (0, (24, 28), 40, 0.5, VIS_L2, 2, 3),
    (0, (24, 28), 40, 0.5, VIS_L2, 2, 3),
    (0, (24, 28), 40, 0.5, 0.0, 2, 3),
    (3, (32, 32), 40, 0.5, VIS_L2, 1, 7),
]
VIS_MARGIN = 2.0      # the target logit must beat every other by this much (the reference: > 8)
VIS_RISE = 2.0        # and rise this much above its value on the starting noise (the reference: > 8)
VIS_L2_RATIO = 0.95   # ||I(l2_reg)|| <= this * ||I(0)|| (the reference: about 0.85)


def _vis_class(seed, call):
    k = VIS_CALLS[call][0]
    return int((k + seed) % K_CLASSES)


def probe_visualization(ns, seed):
    out = {}
    for call, (_, size, steps, lr, l2, jitter, s) in enumerate(VIS_CALLS):
        try:
            model = toy_net()
            if call == 3:
                model.train()  # no dropout or BN: the same function, but the mode must be kept
            before = model_state(model)
            v = ns.call("class_visualization", model, _vis_class(seed, call), steps=steps, lr=lr, l2_reg=l2,
                        jitter=jitter, seed=s, size=size)
            out[call] = {"img": _tensor_rec(v, "image"), "before": before, "after": model_state(model)}
        except Exception as e:  # noqa: BLE001
            out[call] = {"img": Bad("error", f"{type(e).__name__} while using class_visualization's result: {str(e)[:150]}")}
    return out


def _logits(model, img):
    import torch

    with torch.no_grad():
        return model(torch.as_tensor(np.asarray(img), dtype=torch.float32)).double().numpy()[0]


def _start_image(size, seed):
    import torch

    return torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(seed)).numpy()


def judge_visualization(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    threads = _set_threads()
    try:
        model = toy_net()
        imgs, why = {}, {}
        for call, (_, size, steps, lr, l2, jitter, s) in enumerate(VIS_CALLS):
            if call == 1 or call == 2:
                continue
            k = _vis_class(seed, call)
            ctx = f"class {k}, size {size}, steps={steps}, lr={lr}, l2_reg={l2}, jitter={jitter}, seed={s}"
            rec = out.get(call) if isinstance(out.get(call), dict) else {"img": Bad("missing", "no result")}
            try:
                img = _image(rec.get("img"), size, ctx)
                failed = None
            except Fail as e:
                failed = str(e)
            if failed:
                why[call] = failed
                with ck.part("image", 5.0):
                    raise Fail(failed)
                continue
            with ck.part("image", 1.0):
                imgs[call] = img
            with ck.part("raises the class", 3.0):
                z = _logits(model, img)
                z0 = _logits(model, _start_image(size, s))
                others = np.delete(z, k)
                if z[k] - z0[k] < VIS_RISE:
                    raise Fail(f"class_visualization: the logit of class {k} went from {z0[k]:.3g} on the starting noise "
                               f"to {z[k]:.3g}; it must rise (gradient ASCENT on the logit: I + lr * g / ||g||) ({ctx})")
                if z[k] - others.max() < VIS_MARGIN:
                    top = int(np.argmax(z))
                    raise Fail(f"class_visualization: class {k}'s logit {z[k]:.3g} does not beat the others by "
                               f"{VIS_MARGIN} (class {top}: {z[top]:.3g}); maximise the logit of class_idx itself ({ctx})")
            with ck.part("model left as it was", 1.0):
                check_state(rec.get("before"), rec.get("after"), "class_visualization", ctx)
                if rec["img"].get("requires_grad"):
                    raise Fail(f"class_visualization: the image carries an autograd graph; return it .detach()ed ({ctx})")
        size = VIS_CALLS[0][1]
        with ck.part("L2 regularization", 1.5):
            if 0 not in imgs:
                raise Fail(f"class_visualization: the L2 term could not be checked: {why.get(0, 'no image')}")
            rec = out.get(2) if isinstance(out.get(2), dict) else {"img": Bad("missing", "no result")}
            free = _image(rec.get("img"), size, "l2_reg=0")
            n_reg, n_free = float(np.linalg.norm(imgs[0])), float(np.linalg.norm(free))
            if not n_reg <= VIS_L2_RATIO * n_free:
                raise Fail(f"class_visualization: with l2_reg={VIS_L2} the image's norm is {n_reg:.3g}, with l2_reg=0 it "
                           f"is {n_free:.3g}; the objective must subtract l2_reg * ||I||^2 (same seed, 40 steps)")
        with ck.part("reproducible with the seed", 0.5):
            rec = out.get(1) if isinstance(out.get(1), dict) else {"img": Bad("missing", "no result")}
            again = _image(rec.get("img"), size, "the same call again")
            if 0 not in imgs or np.max(np.abs(again - imgs[0])) > 1e-5:
                raise Fail("class_visualization: two calls with the same seed gave different images; draw the start "
                           "and the jitter from torch.Generator().manual_seed(seed)")
    finally:
        import torch

        torch.set_num_threads(threads)


def _image(rec, size, ctx):
    rec = unwrap(rec, "class_visualization")
    if not isinstance(rec, dict):
        raise Fail(f"class_visualization: no image ({ctx})")
    want = (1, 3, *size)
    if tuple(rec.get("shape", ())) != want:
        raise Fail(f"class_visualization: returned shape {tuple(rec.get('shape', ()))}, expected {want} ({ctx})")
    if "value" not in rec:
        raise Fail(f"class_visualization: returned a tensor of dtype {rec.get('dtype')}; return a float image ({ctx})")
    v = np.asarray(rec["value"], dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise Fail(f"class_visualization: the image contains NaN or inf ({ctx})")
    if v.min() < -1e-6 or v.max() > 1 + 1e-6:
        raise Fail(f"class_visualization: pixel values in [{v.min():.3g}, {v.max():.3g}]; clamp the image to [0, 1] "
                   f"after every step ({ctx})")
    return v


# --------------------------------------------------------------------------
# hw5.fgsm

# (n images, size, eps, targeted, model mode)
FGSM_CASES = [
    (6, (32, 32), 0.03, False, "eval"),
    (5, (24, 40), 0.1, False, "eval"),
    (6, (32, 32), 0.05, True, "eval"),
    (3, (28, 20), 0.2, True, "train"),
]
FGSM_EPS = 0.05
FGSM_N = 160
FGSM_MAX_ACCURACY = 0.5      # from 1.0 clean; the reference gets about 0.2, random signs about 1.0
CURVE_EPS = [0.0, 0.02, 0.05, 0.1]
CURVE_N = 60
MATCH_FRACTION = 0.999       # entries compared where |gradient| is not ~0
SIGN_FLOOR = 1e-7            # relative to the largest |gradient| of the image


def _fgsm_inputs(seed, case):
    n, size, eps, targeted, mode = FGSM_CASES[case]
    x, labels, _ = object_images([seed, 71, case], n, size)
    # saturated pixels: a row of 0 and a row of 1, so that a missing clamp shows
    x[:, :, 0, :] = 0.0
    x[:, :, -1, :] = 1.0
    y = labels[:, 0]
    if targeted:
        y = (y + 1 + np.random.default_rng([seed, 72, case]).integers(0, K_CLASSES - 1, n)) % K_CLASSES
    return x, y.astype(np.int64), eps, targeted, mode


def _drop_inputs(seed, n=FGSM_N):
    x, labels, _ = object_images([seed, 73], n, 32)
    return x, labels[:, 0].astype(np.int64)


def _call_fgsm(ns, x, y, eps, targeted, mode):
    import torch

    model = toy_net()
    if mode == "train":
        model.train()
    before = model_state(model)
    xt, yt = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
    v = ns.call("fgsm", model, xt, yt, eps, targeted=targeted)
    after = model_state(model)
    rec = _tensor_rec(v, "x_adv")
    changed = not torch.equal(xt, torch.from_numpy(x)) or xt.grad is not None or xt.requires_grad or not torch.equal(
        yt, torch.from_numpy(y))
    return {"x_adv": rec, "before": before, "after": after, "x_changed": changed}


def probe_fgsm(ns, seed):
    import torch

    out = {}
    for case in range(len(FGSM_CASES)):
        try:
            out[case] = _call_fgsm(ns, *_fgsm_inputs(seed, case))
        except Exception as e:  # noqa: BLE001
            out[case] = {"x_adv": Bad("error", f"{type(e).__name__} while using fgsm's result: {str(e)[:150]}")}
    try:
        x, y = _drop_inputs(seed)
        out["drop"] = _call_fgsm(ns, x, y, FGSM_EPS, False, "eval")["x_adv"]
    except Exception as e:  # noqa: BLE001
        out["drop"] = Bad("error", f"{type(e).__name__} while using fgsm's result: {str(e)[:150]}")
    try:
        x, y = _drop_inputs(seed, CURVE_N)
        accs = ns.call("accuracy_vs_epsilon", toy_net(), torch.from_numpy(x), torch.from_numpy(y), list(CURVE_EPS))
        if isinstance(accs, Bad):
            out["curve"] = accs
        else:
            try:
                out["curve"] = [float(a) for a in accs]
            except Exception as e:  # noqa: BLE001
                out["curve"] = Bad("missing", f"returned {type(accs).__name__}, not a list of numbers ({str(e)[:80]})")
    except Exception as e:  # noqa: BLE001
        out["curve"] = Bad("error", f"{type(e).__name__} while calling accuracy_vs_epsilon: {str(e)[:150]}")
    return out


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


def judge_fgsm(out, seed, ck):
    import torch

    out = out if isinstance(out, dict) else {}
    threads = _set_threads()
    try:
        model = toy_net()
        n = len(FGSM_CASES)
        for case in range(n):
            x, y, eps, targeted, mode = _fgsm_inputs(seed, case)
            ctx = (f"{'targeted' if targeted else 'untargeted'}, eps={eps}, x {tuple(x.shape)}, {mode} mode"
                   + ("" if not targeted else ", y = the target classes"))
            rec = out.get(case) if isinstance(out.get(case), dict) else {"x_adv": Bad("missing", "no result")}
            want, g = ref_fgsm(model, x, y, eps, targeted)
            try:
                got = _adv_array(rec.get("x_adv"), x.shape, ctx)
                scale = np.abs(g).reshape(len(x), -1).max(axis=1).reshape(-1, 1, 1, 1)
                sure = np.abs(g) > SIGN_FLOOR * scale  # where the sign of the gradient is not in doubt
                match = np.abs(got - want) <= 1e-5
                frac = float(np.mean(match[sure])) if sure.any() else 1.0
                if frac < MATCH_FRACTION or not np.all(np.abs(got - want)[~sure] <= eps + 1e-5):
                    raise Fail(f"fgsm: {1 - frac:.1%} of the pixels differ from the grader's FGSM ({ctx})"
                               f"{_fgsm_hint(got, x, g, eps, targeted)}")
                failed = None
            except Fail as e:
                failed = str(e)
            if failed:  # the state earns nothing while x_adv is wrong: one message, both weights
                with ck.part("values", 6.0 / n):
                    raise Fail(failed)
                continue
            with ck.part("values", 5.0 / n):
                pass
            with ck.part("model and input left as they were", 1.0 / n):
                check_state(rec.get("before"), rec.get("after"), "fgsm", ctx)
                if rec.get("x_changed") is not False:
                    raise Fail(f"fgsm changed its input x or y (values, requires_grad or .grad); work on "
                               f"x.detach().clone().requires_grad_(True) ({ctx})")
                if rec["x_adv"].get("requires_grad"):
                    raise Fail(f"fgsm: x_adv carries an autograd graph; return it .detach()ed ({ctx})")
        x, y = _drop_inputs(seed)
        with ck.part("accuracy falls", 2.5):
            got = _adv_array(out.get("drop"), x.shape, f"{FGSM_N} images of the grader, eps={FGSM_EPS}")
            if np.any(np.abs(got - x) > FGSM_EPS + 1e-5) or got.min() < -1e-6 or got.max() > 1 + 1e-6:
                raise Fail(f"fgsm: the adversarial images leave the eps-ball or [0, 1] (eps={FGSM_EPS})")
            with torch.no_grad():
                acc = float(np.mean(model(torch.as_tensor(got, dtype=torch.float32)).argmax(1).numpy() == y))
                clean = float(np.mean(model(torch.as_tensor(x)).argmax(1).numpy() == y))
            if acc > FGSM_MAX_ACCURACY:
                raise Fail(f"fgsm: the grader's model keeps {acc:.0%} accuracy on your adversarial images (clean: "
                           f"{clean:.0%}; eps={FGSM_EPS}, {FGSM_N} images); FGSM should bring it to {FGSM_MAX_ACCURACY:.0%} or "
                           f"less: step along the sign of the gradient of the loss at the TRUE label")
        with ck.part("accuracy_vs_epsilon", 1.0):
            curve = unwrap(out.get("curve", Bad("missing", "no result")), "accuracy_vs_epsilon")
            if not isinstance(curve, list) or len(curve) != len(CURVE_EPS):
                raise Fail(f"accuracy_vs_epsilon: expected a list of {len(CURVE_EPS)} accuracies (one per epsilon), got "
                           f"{type(curve).__name__} of length {len(curve) if isinstance(curve, list) else '?'}")
            xc, yc = _drop_inputs(seed, CURVE_N)
            want = []
            for eps in CURVE_EPS:
                adv, _ = ref_fgsm(model, xc, yc, eps, False)
                with torch.no_grad():
                    want.append(float(np.mean(model(torch.as_tensor(adv, dtype=torch.float32)).argmax(1).numpy() == yc)))
            if any(abs(a - b) > 1.5 / CURVE_N for a, b in zip(curve, want)):
                hint = " (percentages? return fractions in [0, 1])" if max(curve) > 1.5 else ""
                raise Fail(f"accuracy_vs_epsilon: got {[round(a, 3) for a in curve]} at eps {CURVE_EPS}, the grader gets "
                           f"{[round(a, 3) for a in want]} ({CURVE_N} images){hint}")
    finally:
        torch.set_num_threads(threads)


def _adv_array(rec, shape, ctx):
    rec = unwrap(rec, "fgsm")
    if not isinstance(rec, dict):
        raise Fail(f"fgsm: no result ({ctx})")
    if tuple(rec.get("shape", ())) != tuple(shape):
        raise Fail(f"fgsm: returned shape {tuple(rec.get('shape', ()))}, expected {tuple(shape)} ({ctx})")
    if "value" not in rec:
        raise Fail(f"fgsm: returned a tensor of dtype {rec.get('dtype')}; return float images ({ctx})")
    v = np.asarray(rec["value"], dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise Fail(f"fgsm: x_adv contains NaN or inf ({ctx})")
    return v


ITEMS = [
    Item("hw5.class_visualization", 7, ("class_visualization",), probe_visualization, judge_visualization,
         title="Class model visualization by gradient ascent (003 P7)", timeout=40),
    Item("hw5.fgsm", 10, ("fgsm", "accuracy_vs_epsilon"), probe_fgsm, judge_fgsm,
         title="FGSM, untargeted and targeted, and the accuracy-vs-epsilon curve (003 P7)", timeout=40),
]

