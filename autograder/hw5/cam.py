"""Class activation maps: CAM, Grad-CAM and a Shapley-value CAM (002 P5(4), 003 T1).

Student API (torch tensors in and out):
    class_activation_map(feature_maps, fc_weight, class_idx, size=None, normalize=True)
        feature_maps (C, h, w) or (N, C, h, w): the last conv block's output, before the
        global average pooling; fc_weight (K, C): the weight of the linear head; class_idx
        an int (every image) or, for a batch, a sequence / long tensor of N ints.
        M = sum_c fc_weight[class_idx, c] * A_c (no bias, no ReLU), then, when size=(H, W)
        is given, F.interpolate(mode="bilinear", align_corners=False) to that size, then,
        when normalize, (M - min M) / (max M - min M) per map (an all-equal map -> zeros).
        Returns (h, w) / (H, W) for one map, (N, h, w) / (N, H, W) for a batch. With
        normalize=False the spatial mean of the (not upsampled) map is the class logit
        minus the head's bias.
    grad_cam(model, layer, x, class_idx)
        x (N, 3, H, W); layer: a module of ``model`` (any conv layer, or the ReLU after it).
        A = the layer's output (forward hook); s_n = model(x)[n, class_n], the logit (before
        softmax); alpha_nc = spatial mean of ds_n/dA_nc; M_n = ReLU(sum_c alpha_nc A_nc);
        bilinear upsampling to (H, W) with align_corners=False; divided by its maximum
        (a map that is zero everywhere stays zero). Returns (N, H, W) without an autograd
        graph. The model keeps its mode (train/eval), its parameters' requires_grad and
        values, gets no .grad, and every hook registered is removed before returning.
    shapley_cam(model, layer, x, class_idx, n_permutations=64, seed=0) -> (cam, phi)
        x (1, 3, H, W). The players are the C channels of ``layer``'s output; the value of
        a set S of channels is the class logit when the channels outside S are set to zero
        in that output (v(all) is the plain logit). phi (C,) = Monte-Carlo Shapley values:
        for each of n_permutations random orders of the channels (a generator seeded with
        ``seed``), add the channels one by one and record each channel's marginal
        contribution v(S + c) - v(S); phi is the mean over the permutations (so
        sum(phi) = v(all) - v(none) exactly). cam (1, H, W) = ReLU(sum_c phi_c A_c),
        upsampled and normalised exactly as in grad_cam.

The judge rebuilds the grader's fixed models and images from the seed and recomputes
everything itself: the maps with its own hooks and autograd, the exact Shapley values by
enumerating the 2^C channel subsets (C = 5), and the spread of the marginal
contributions over all C! orders, from which a Hoeffding bound sets the tolerance of a
Monte-Carlo estimate with n permutations (so it shrinks like 1/sqrt(n)).

The fixed models are built deterministically (no training): ``toy_net()`` is a small
GAP CNN whose first layer holds colour detectors, so on ``object_images`` (tinted squares
at known places on a noisy grey background, 4 classes: red, green, blue, yellow) it is
right on every image and its maps peak on the objects. ``adversarial.py`` uses it too.

Split: the probe half (the fixed models, the image generator, the input builders, what
is recorded after each call) is ``autograder/probes/hw5/cam.py``; this module is the
judge half (references, checks, points) and imports the builders from there, so both
sides build the same inputs.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..core import Bad, Fail, Item, rel_error, unwrap
from ..probes.hw5 import cam as probe_side
from ..probes.hw5.cam import (CAM_CASES, GC_CASES, GC_OBJECT_LAYERS, K_CLASSES, LIGHT_GC_FACES, LIGHT_GC_LAYER,
                              SHAP_C, SHAP_CALLS, cam_inputs, cam_object_features, cam_object_images, gc_inputs,
                              gc_object_images, light_gc_inputs, light_vgg_net, object_images, shap_image, shap_net,
                              toy_net)
from .common import attempt, one_thread, part, positive_affine_of

__all__ = ["K_CLASSES", "object_images", "toy_net", "shap_net", "shap_image"]

TINT_NAMES = ("red", "green", "blue", "yellow")
TOL = 1e-4
# The gradient state a call leaves behind (.grad on the parameters, requires_grad/.grad on the
# input) is a convention of its own: the notebook's functions use torch.autograd.grad and leave
# none, while the PyTorch tutorials, CS231n and pytorch-grad-cam call loss.backward(). Its weight
# per call, out of the call's "model left as it was" weight.
GRAD_STATE_WEIGHT = 0.4


def peak_on_box(m: np.ndarray, box, margin: int = 1) -> bool:
    r, c = np.unravel_index(int(np.argmax(m)), m.shape)
    r0, c0, s = box
    return r0 - margin <= r < r0 + s + margin and c0 - margin <= c < c0 + s + margin


# --------------------------------------------------------------------------
# References (judge side; the notebook's solutions are written independently).


def ref_cam(a, w, k, size=None, normalize=True, relu=False, minmax=True, order="up-norm"):
    """CAM in float64; the keyword variants only serve the failure hints."""
    import torch
    import torch.nn.functional as F

    a = torch.as_tensor(np.asarray(a), dtype=torch.float64)
    w = torch.as_tensor(np.asarray(w), dtype=torch.float64)
    single = a.dim() == 3
    if single:
        a = a[None]
    ks = torch.as_tensor(np.broadcast_to(np.asarray(k), (a.shape[0],)).copy(), dtype=torch.long)
    m = torch.einsum("nc,nchw->nhw", w[ks], a)
    if relu:
        m = m.clamp(min=0)

    def norm(t):
        lo = t.amin(dim=(1, 2), keepdim=True) if minmax else torch.zeros_like(t[:, :1, :1])
        hi = t.amax(dim=(1, 2), keepdim=True)
        d = hi - lo
        return torch.where(d > 0, (t - lo) / torch.where(d > 0, d, torch.ones_like(d)), torch.zeros_like(t))

    if normalize and order == "norm-up":
        m = norm(m)
    if size is not None:
        m = F.interpolate(m[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
    if normalize and order == "up-norm":
        m = norm(m)
    m = m.numpy()
    return m[0] if single else m


def _max_normalise(m):
    import torch

    hi = m.amax(dim=(1, 2), keepdim=True)
    return torch.where(hi > 0, m / torch.where(hi > 0, hi, torch.ones_like(hi)), torch.zeros_like(m))


def ref_grad_cam(model, layer, x, k, variant: str = ""):
    """Grad-CAM in float64 on a float64 copy of the model. variants (for hints):
    'prob' softmax-probability gradient, 'norelu', 'elementwise' (no spatial mean); 'raw':
    the upsampled ReLU map, not yet scaled; 'minmax-first': pytorch-grad-cam's scaling (min-max
    at the layer's resolution, then the resize)."""
    import copy

    import torch
    import torch.nn.functional as F

    model = copy.deepcopy(model).double()
    names = {id(m): n for n, m in model.named_modules()}
    layer = dict(model.named_modules())[layer] if isinstance(layer, str) else layer
    assert id(layer) in names
    x = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    ks = torch.as_tensor(np.broadcast_to(np.asarray(k), (x.shape[0],)).copy(), dtype=torch.long)
    store = {}
    h = layer.register_forward_hook(lambda mod, i, o: store.__setitem__("a", o))
    try:
        out = model(x)
    finally:
        h.remove()
    a = store["a"]
    if variant == "prob":
        out = F.softmax(out, dim=1)
    s = out[torch.arange(x.shape[0]), ks].sum()
    g, = torch.autograd.grad(s, a)
    if variant == "elementwise":
        m = (g * a).sum(1, keepdim=True)
    else:
        m = (g.mean(dim=(2, 3), keepdim=True) * a).sum(1, keepdim=True)
    if variant != "norelu":
        m = F.relu(m)
    if variant == "minmax-first":
        lo, hi = m.amin(dim=(2, 3), keepdim=True), m.amax(dim=(2, 3), keepdim=True)
        m = torch.where(hi > lo, (m - lo) / torch.where(hi > lo, hi - lo, torch.ones_like(hi)), torch.zeros_like(m))
    m = F.interpolate(m, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    if variant in ("raw", "minmax-first"):
        return m.detach().numpy()
    if variant == "norelu":
        lo = m.amin(dim=(1, 2), keepdim=True)
        m = (m - lo)
    return _max_normalise(m).detach().numpy()


def layer_output(model, layer, x):
    """The float64 output of ``layer`` (a name) for ``x``."""
    import copy

    import torch

    model = copy.deepcopy(model).double()
    mod = dict(model.named_modules())[layer]
    store = {}
    h = mod.register_forward_hook(lambda m, i, o: store.__setitem__("a", o.detach()))
    try:
        with torch.no_grad():
            model(torch.as_tensor(np.asarray(x), dtype=torch.float64))
    finally:
        h.remove()
    return store["a"]


def map_from_weights(a, phi, size, scale: bool = True):
    """ReLU(sum_c phi_c A_c), bilinear to ``size``, divided by its maximum (unless not ``scale``): (N, H, W)."""
    import torch
    import torch.nn.functional as F

    phi = torch.as_tensor(np.asarray(phi), dtype=torch.float64).reshape(1, -1, 1, 1)
    m = F.relu((phi * a).sum(1, keepdim=True))
    m = F.interpolate(m, size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
    return _max_normalise(m).numpy() if scale else m.numpy()


HOEFFDING_DELTA = 1e-7


def exact_shapley(model, layer: str, x, k):
    """Exact Shapley values by enumerating the 2^C subsets (float64), the range of each
    channel's marginal contribution over all C! orders, v(all) and v(none)."""
    import copy

    import torch

    model = copy.deepcopy(model).double()
    mod = dict(model.named_modules())[layer]
    subsets = list(itertools.product([0, 1], repeat=SHAP_C))
    masks = torch.tensor(subsets, dtype=torch.float64)
    h = mod.register_forward_hook(lambda m, i, o: o * masks[:, :, None, None])
    try:
        with torch.no_grad():
            vals = model(torch.as_tensor(np.asarray(x), dtype=torch.float64).expand(len(subsets), -1, -1, -1))[:, k]
    finally:
        h.remove()
    v = dict(zip(subsets, vals.tolist()))
    phi, lo, hi = np.zeros(SHAP_C), np.zeros(SHAP_C), np.zeros(SHAP_C)
    n = SHAP_C
    for c in range(n):
        margs = []
        for s in subsets:
            if s[c]:
                continue
            t = list(s)
            t[c] = 1
            size = sum(s)
            d = v[tuple(t)] - v[s]
            phi[c] += math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n) * d
            margs.append(d)
        lo[c], hi[c] = min(margs), max(margs)
    return phi, hi - lo, v[(1,) * n], v[(0,) * n]


# --------------------------------------------------------------------------
# Checks of what the child recorded (any plain data: every failure names the function).


def _count(d: dict, key: str) -> int:
    v = d.get(key, 0)
    if isinstance(v, bool) or not isinstance(v, int):
        raise Fail("the model's state could not be read after the call")
    return v


def check_state(before, after, what: str, ctx: str, grads: bool = True) -> None:
    """Raise Fail when the model's state changed in a way the student must avoid. ``grads=False``
    leaves the parameters' .grad to ``check_no_grad`` (a part of its own where a widely used
    tutorial's .backward() is the other convention)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        raise Fail(f"`{what}`: the model's state could not be read after the call ({ctx})")
    try:
        hooks = [_count(d, k) for d in (before, after) for k in ("hooks", "global_hooks")]
        grads_before, grads_after = _count(before, "grads_set"), _count(after, "grads_set")
    except Fail:
        raise Fail(f"`{what}`: the model's state could not be read after the call ({ctx})") from None
    if hooks[2] != hooks[0] or hooks[3] != hooks[1]:
        left = hooks[2] - hooks[0] + hooks[3] - hooks[1]
        raise Fail(f"`{what}`: {left} hook(s) left on the model after the call; keep the handle of "
                   f"register_forward_hook(...) and call handle.remove() (in a finally: block) ({ctx})")
    if after.get("modes") != before.get("modes"):
        modes = before.get("modes")
        was = "train" if isinstance(modes, list) and modes and modes[0] is True else "eval"
        raise Fail(f"`{what}`: the model was in {was} mode and is not any more; do not call model.train()/model.eval() "
                   f"(or restore the mode before returning) ({ctx})")
    if after.get("requires_grad") != before.get("requires_grad"):
        raise Fail(f"`{what}`: the parameters' requires_grad changed; leave them as they were "
                   f"(use torch.autograd.grad with respect to the activations or the image) ({ctx})")
    was, now = before.get("values"), after.get("values")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (was, now)):
        raise Fail(f"`{what}`: the model's state could not be read after the call ({ctx})")
    if not abs(float(now) - float(was)) <= 1e-9 * max(1.0, abs(float(was))):
        raise Fail(f"`{what}`: the model's parameters changed during the call ({ctx})")
    if grads and grads_after > grads_before:
        raise Fail(f"`{what}`: the model's parameters got a .grad; take the gradient with torch.autograd.grad(output, "
                   f"tensor) instead of .backward(), or call model.zero_grad(set_to_none=True) before returning ({ctx})")


def check_no_grad(before, after, what: str, ctx: str, who: str, x_rec=None) -> None:
    """The gradient state the call leaves behind: no new .grad on the parameters and (``x_rec``,
    the input as recorded after the call) none on the input, which keeps requires_grad False.
    ``who``: the widely used code that does it the other way (named in the reason)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        raise Fail(f"`{what}`: the model's state could not be read after the call ({ctx})")
    try:
        grads_before, grads_after = _count(before, "grads_set"), _count(after, "grads_set")
    except Fail:
        raise Fail(f"`{what}`: the model's state could not be read after the call ({ctx})") from None
    left = []
    if grads_after > grads_before:
        left.append(".grad on the model's parameters")
    if x_rec is not None and (not isinstance(x_rec, dict) or x_rec.get("requires_grad") is not False
                              or x_rec.get("grad") is not False):
        left.append("requires_grad or .grad on the input x")
    if left:
        raise Fail(f"`{what}`: this notebook leaves no gradient state behind (it takes gradients with torch.autograd.grad); "
                   f"yours leaves {' and '.join(left)} (loss.backward(), as in {who}) ({ctx})")


def input_values_untouched(rec, x: np.ndarray) -> bool:
    """Whether an input tensor's values (and dtype, shape), as recorded after the call, are as given."""
    if not isinstance(rec, dict):
        return False
    v = rec.get("value")
    return (isinstance(v, np.ndarray) and v.shape == x.shape and v.dtype == x.dtype
            and bool(np.array_equal(v, x)))


def input_untouched(rec, x: np.ndarray) -> bool:
    """Whether an input tensor, as the probe recorded it after the call, is as it was given."""
    if not isinstance(rec, dict) or rec.get("requires_grad") is not False or rec.get("grad") is not False:
        return False
    v = rec.get("value")
    return (isinstance(v, np.ndarray) and v.shape == x.shape and v.dtype == x.dtype
            and bool(np.array_equal(v, x)))


def map_array(rec, want_shape, what, ctx, name="map"):
    """The values of a returned map (or ``name``), after its type, shape, dtype and finiteness are checked."""
    rec = unwrap(rec, f"`{what}`")
    if not isinstance(rec, dict):
        raise Fail(f"`{what}`: no result ({ctx})")
    shape = rec.get("shape")
    if not isinstance(shape, (list, tuple)) or tuple(shape) != tuple(want_shape):
        shown = tuple(shape) if isinstance(shape, (list, tuple)) else "?"
        raise Fail(f"`{what}`: returned shape {shown}, expected {tuple(want_shape)} ({ctx})")
    dtype = rec.get("dtype")
    v = rec.get("value")
    if not isinstance(dtype, str) or not dtype.startswith("float") or not isinstance(v, np.ndarray):
        raise Fail(f"`{what}`: returned a tensor of dtype {dtype}; return a float tensor ({ctx})")
    if v.shape != tuple(want_shape) or v.dtype.kind not in "fiu":
        raise Fail(f"`{what}`: the returned values could not be read ({ctx})")
    v = v.astype(np.float64)
    if not np.all(np.isfinite(v)):
        hint = "; guard the division of an all-equal map" if name == "map" else ""
        raise Fail(f"`{what}`: the {name} contains NaN or inf ({ctx}){hint}")
    return v


def _no_graph(rec, what, ctx, name="map"):
    if isinstance(rec, dict) and rec.get("requires_grad") is not False:
        raise Fail(f"`{what}`: the returned {name} carries an autograd graph; return {name}.detach() ({ctx})")


# --------------------------------------------------------------------------
# hw5.cam

def _cam_ctx(case):
    shape, k, idx, size, normalize = CAM_CASES[case]
    s = f"features {shape}, K={k}, class_idx {'an int' if idx is not None else 'a tensor of N'}"
    s += f", size={size}" if size else ", no size"
    return s + f", normalize={normalize}"


def _cam_hint(got, a, w, idx, size, normalize):
    tries = []
    if normalize:
        tries += [("apply no ReLU before normalising (CAM keeps negative evidence)", dict(relu=True)),
                  ("subtract the minimum before dividing by the range: (M - min) / (max - min)", dict(minmax=False)),
                  ("upsample first, then normalise", dict(order="norm-up"))]
    single = a.ndim == 3
    tries.append(("sum every channel weighted by fc_weight[class_idx] (not an unweighted sum)", None))
    for msg, kw in tries:
        if kw is None:
            alt = ref_cam(a, np.ones_like(w), idx, size, normalize)
        else:
            alt = ref_cam(a, w, idx, size, normalize, **kw)
        if alt.shape == got.shape and rel_error(got, alt) < 1e-4:
            return "; " + msg
    if single is False and normalize and got.shape == ref_cam(a, w, idx, size, normalize).shape:
        m = ref_cam(a, w, idx, size, False)
        alt = (m - m.min()) / max(m.max() - m.min(), 1e-30)
        if rel_error(got, alt) < 1e-4:
            return "; normalise each map on its own, not over the whole batch"
    return ""


@one_thread
def judge_cam(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(CAM_CASES)
    fn = "class_activation_map"
    for case in range(n):
        a, w, idx, size, normalize = cam_inputs(seed, case)
        want = ref_cam(a, w, idx, size, normalize)
        ctx = _cam_ctx(case)
        where = f"`{fn}` ({ctx})"
        rec = out.get(case, Bad("missing", "no result"))

        raw = ref_cam(a, w, idx, size, False)  # weighted sum, upsampled: what every convention scales
        norm_w = CAM_NORM_WEIGHT / n if normalize else 0.0

        def values(rec=rec, want=want, raw=raw, ctx=ctx, a=a, w=w, idx=idx, size=size, normalize=normalize):
            got = map_array(rec, want.shape, fn, ctx)
            err = rel_error(got, want)
            if err > TOL and not (normalize and positive_affine_of(got, raw, TOL)):
                raise Fail(f"`{fn}`: wrong values, max relative error {err:.1e} ({ctx})"
                           f"{_cam_hint(got, a, w, idx, size, normalize)}")
            return got

        got, failed = attempt(where, values)
        if failed:  # leaving the inputs alone earns nothing while the values are wrong
            with ck.part(f"{fn}: values", 4.5 / n):
                raise Fail(failed)
            continue
        with ck.part(f"{fn}: values", 4.0 / n - norm_w):
            pass
        if normalize:
            with part(ck, f"{fn}: scaled to [0, 1] after upsampling", norm_w, where):
                if rel_error(got, want) > TOL:
                    raise Fail(_cam_norm_reason(got, a, w, idx, size, ctx))
        with part(ck, f"{fn}: inputs unchanged", 0.5 / n, where):
            after = rec.get("inputs_after")
            if not (isinstance(after, (list, tuple)) and len(after) == 2
                    and input_untouched({"value": after[0], "requires_grad": False, "grad": False}, a)
                    and input_untouched({"value": after[1], "requires_grad": False, "grad": False}, w)):
                raise Fail(f"`{fn}` changed its inputs in place; compute on new tensors ({ctx})")
    x, labels, boxes = cam_object_images(seed)
    feats, fcw = cam_object_features(x)
    objs = out.get("objects")
    ctx = "the grader's colour-square model, features (6, 8, 16, 16) of 32x32 images upsampled to 32x32"
    with part(ck, f"{fn}: peak on the object", 1.5, f"`{fn}` ({ctx})"):
        if not isinstance(objs, list) or len(objs) != 2:
            if isinstance(objs, Bad):
                raise Fail(objs.describe(f"`{fn}` on the object images"))
            raise Fail(f"`{fn}` on the object images: no result")
        for j in range(2):
            want = ref_cam(feats, fcw, labels[:, j].tolist(), (32, 32), True)
            got = map_array(objs[j], want.shape, fn, ctx)
            for i in range(len(x)):
                if not peak_on_box(got[i], boxes[i][j]):
                    r, c = np.unravel_index(int(np.argmax(got[i])), got[i].shape)
                    r0, c0, s = boxes[i][j]
                    raise Fail(f"`{fn}`: on an image with a {TINT_NAMES[labels[i, j]]} square at rows "
                               f"{r0}-{r0 + s - 1}, columns {c0}-{c0 + s - 1} (and a {TINT_NAMES[labels[i, 1 - j]]} one "
                               f"elsewhere), the map of class {labels[i, j]} peaks at ({r}, {c}), not on its square")
            if not positive_affine_of(got, ref_cam(feats, fcw, labels[:, j].tolist(), (32, 32), False), TOL):
                raise Fail(f"`{fn}`: the maps of the object images are wrong, max relative error "
                           f"{rel_error(got, want):.1e} ({ctx})")


# Scaling a map to [0, 1] is a convention of its own: this notebook upsamples, then applies
# (M - min) / (max - min); the CAM authors' code normalises the h x w map before resizing it, and
# Grad-CAM divides by the maximum. Every value part accepts any positive scaling of the right
# map; one small part per normalised case asks for the notebook's.
CAM_NORM_WEIGHT = 0.6


def _cam_norm_reason(got, a, w, idx, size, ctx) -> str:
    fn = "class_activation_map"
    ours = "this notebook upsamples first, then scales each map to [0, 1] with (M - min) / (max - min)"
    if size is not None and rel_error(got, ref_cam(a, w, idx, size, True, order="norm-up")) <= TOL:
        return (f"`{fn}`: the right map, scaled another way: {ours}; yours scales the h x w map before resizing it, "
                f"as the CAM authors' code does (cv2.resize after the min-max) ({ctx})")
    if rel_error(got, ref_cam(a, w, idx, size, True, minmax=False)) <= TOL:
        return (f"`{fn}`: the right map, scaled another way: {ours}; yours divides by the maximum only, Grad-CAM's "
                f"scaling ({ctx})")
    return f"`{fn}`: the right map, scaled another way: {ours} ({ctx})"


# --------------------------------------------------------------------------
# hw5.grad_cam


def _gc_ctx(case, x):
    name, _, _, idx, mode, frozen = GC_CASES[case]
    s = f"layer {name} of the grader's model, x {tuple(x.shape)}, {mode} mode"
    s += ", class_idx an int" if idx is not None else ", class_idx a tensor of N"
    if frozen:
        s += f", {' and '.join(frozen)} frozen"
    return s


def _gc_hint(got, model, name, x, idx, others=("conv3", "relu3", "conv2", "relu2", "conv1", "relu1")):
    for variant, msg in (("prob", "take the gradient of the logit (the model's output before softmax), not of the probability"),
                         ("norelu", "apply a ReLU to the weighted sum before upsampling"),
                         ("elementwise", "weight each channel by the spatial MEAN of its gradient (alpha_c), not the gradient "
                                         "pixel by pixel")):
        alt = ref_grad_cam(model, name, x, idx, variant)
        if alt.shape == got.shape and rel_error(got, alt) < 1e-3:
            return "; " + msg
    for other in others:
        if other != name:
            alt = ref_grad_cam(model, other, x, idx)
            if alt.shape == got.shape and rel_error(got, alt) < 1e-4:
                return f"; it is the Grad-CAM of another layer ({other}): hook the `layer` you are given"
    return ""


@one_thread
def judge_grad_cam(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    fn = "grad_cam"
    model = toy_net()
    n = len(GC_CASES)
    for case in range(n):
        name, x, idx, mode, frozen = gc_inputs(seed, case)
        ctx = _gc_ctx(case, x)
        where = f"`{fn}` ({ctx})"
        rec = out.get(case) if isinstance(out.get(case), dict) else {"map": Bad("missing", "no result")}
        want = ref_grad_cam(model, name, x, idx)

        def values(rec=rec, want=want, ctx=ctx, name=name, x=x, idx=idx):
            got = map_array(rec.get("map"), want.shape, fn, ctx)
            err = rel_error(got, want)
            if err > TOL and not positive_affine_of(got, ref_grad_cam(model, name, x, idx, "raw"), TOL):
                raise Fail(f"`{fn}`: wrong values, max relative error {err:.1e} ({ctx}){_gc_hint(got, model, name, x, idx)}")
            return got

        got, failed = attempt(where, values)
        if failed:  # the state earns nothing while the maps are wrong: one message, both weights
            with ck.part(f"{fn}: values", 6.0 / n):
                raise Fail(failed)
            continue
        with ck.part(f"{fn}: values", (5.0 - GC_NORM_WEIGHT) / n):
            pass
        with part(ck, f"{fn}: divided by its maximum", GC_NORM_WEIGHT / n, where):
            if rel_error(got, want) > TOL or got.min() < -1e-6 or got.max() > 1 + 1e-6:
                other = ""
                if rel_error(got, ref_grad_cam(model, name, x, idx, "minmax-first")) <= TOL:
                    other = ("; yours scales with (M - min) / (max - min) at the layer's resolution before resizing, "
                             "as pytorch-grad-cam does")
                raise Fail(f"`{fn}`: the right map, scaled another way: this notebook upsamples ReLU(sum_c alpha_c A_c) "
                           f"and divides it by its maximum{other} ({ctx})")
        with part(ck, f"{fn}: model and input left as they were", (1.0 - GRAD_STATE_WEIGHT) / n, where):
            check_state(rec.get("before"), rec.get("after"), fn, ctx, grads=False)
            if not input_values_untouched(rec.get("x_after"), x):
                raise Fail(f"`{fn}` changed the values of the input x; work on x.detach().clone() or leave x alone "
                           f"({ctx})")
            _no_graph(rec.get("map"), fn, ctx)
        with part(ck, f"{fn}: no gradient left behind", GRAD_STATE_WEIGHT / n, where):
            check_no_grad(rec.get("before"), rec.get("after"), fn, ctx,
                          "pytorch-grad-cam and most Grad-CAM tutorials", rec.get("x_after"))
    x, labels, boxes = gc_object_images(seed)
    objs = out.get("objects")
    where = [f"`{fn}` (the object images)"]
    with part(ck, f"{fn}: peak on the object", 2.0, where):
        if not isinstance(objs, dict):
            if isinstance(objs, Bad):
                raise Fail(objs.describe(f"`{fn}` on the object images"))
            raise Fail(f"`{fn}` on the object images: no result")
        for name in GC_OBJECT_LAYERS:
            for j in range(2):
                ctx = f"layer {name} of the grader's model, {len(x)} images of 32x32 with two coloured squares"
                where[0] = f"`{fn}` ({ctx})"
                got = map_array(objs.get(f"{name}:{j}", Bad("missing", "no result")), (len(x), 32, 32), fn, ctx)
                for i in range(len(x)):
                    if not peak_on_box(got[i], boxes[i][j]):
                        r, c = np.unravel_index(int(np.argmax(got[i])), got[i].shape)
                        r0, c0, s = boxes[i][j]
                        raise Fail(f"`{fn}` at layer {name}: on an image with a {TINT_NAMES[labels[i, j]]} square at "
                                   f"rows {r0}-{r0 + s - 1}, columns {c0}-{c0 + s - 1} (and a "
                                   f"{TINT_NAMES[labels[i, 1 - j]]} one elsewhere), the map of class {labels[i, j]} "
                                   f"peaks at ({r}, {c}), not on its square")
                want = ref_grad_cam(model, name, x, labels[:, j])
                if rel_error(got, want) > TOL and not positive_affine_of(
                        got, ref_grad_cam(model, name, x, labels[:, j], "raw"), TOL):
                    raise Fail(f"`{fn}`: the maps of the object images are wrong, max relative error "
                               f"{rel_error(got, want):.1e} ({ctx})")


    # 002-P5 (4): the maps of the light VGG (dense head, no GAP: CAM does not apply, Grad-CAM does)
    ctx = (f"the grader's light VGG (002-P5 (3), 128 x 128 input) at the ReLU after its last conv "
           f"({LIGHT_GC_LAYER}, 8 x 8 maps), {LIGHT_GC_FACES} drawn faces")
    with part(ck, f"{fn}: the light VGG (002-P5 (4))", LIGHT_GC_WEIGHT, f"`{fn}` ({ctx})"):
        light = out.get("light", Bad("missing", "no result"))
        if isinstance(light, Bad):
            raise Fail(light.describe(f"`{fn}` on the light VGG"))
        x, idx = light_gc_inputs(seed)
        model_l = light_vgg_net()
        want = ref_grad_cam(model_l, LIGHT_GC_LAYER, x, idx)
        got = map_array(light, want.shape, fn, ctx)
        if rel_error(got, want) > TOL and not positive_affine_of(got, ref_grad_cam(model_l, LIGHT_GC_LAYER, x, idx, "raw"), TOL):
            raise Fail(f"`{fn}`: the maps of the light VGG are wrong, max relative error {rel_error(got, want):.1e} ({ctx})"
                       f"{_gc_hint(got, model_l, LIGHT_GC_LAYER, x, idx, others=())}")


# As for CAM: the scaling of the map is a part of its own (this notebook divides the upsampled
# map by its maximum; pytorch-grad-cam min-max scales it before resizing).
GC_NORM_WEIGHT = 0.5
LIGHT_GC_WEIGHT = 1.0  # 002-P5 (4): Grad-CAM on the light VGG
SHAP_NORM_WEIGHT = 0.3  # out of each call's map weight


# --------------------------------------------------------------------------
# hw5.shapley_cam


def _shap_ctx(call):
    size, k, n_perm, _ = SHAP_CALLS[call]
    return f"x (1, 3, {size[0]}, {size[1]}), class {k}, n_permutations={n_perm}"


def _phi(rec, ctx):
    if isinstance(rec.get("result"), Bad):
        raise Fail(rec["result"].describe("`shapley_cam`"))
    return map_array(rec.get("phi"), (SHAP_C,), "shapley_cam", f"phi, {ctx}", name="phi")


@one_thread
def judge_shapley(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    fn = "shapley_cam"
    model = shap_net(seed)
    phis = {}
    for call, (size, k, n_perm, _) in enumerate(SHAP_CALLS):
        ctx = _shap_ctx(call)
        where = f"`{fn}` ({ctx})"
        x = shap_image(seed, call)
        rec = out.get(call) if isinstance(out.get(call), dict) else {"result": Bad("missing", "no result")}
        phi_ex, rng_, v_all, v_none = exact_shapley(model, "0", x, k)
        scale = max(1.0, float(np.max(np.abs(phi_ex))))
        w = 1.0 / len(SHAP_CALLS)
        phi, failed = attempt(where, _phi, rec, ctx)
        if failed:
            with ck.part(f"{fn}: Shapley values", 5.0 * w):
                raise Fail(failed)
            continue
        phis[call] = phi
        with part(ck, f"{fn}: efficiency", 1.0 * w, where):
            gap = v_all - v_none
            if abs(phi.sum() - gap) > 1e-4 * scale:
                hint = ""
                if abs(phi.sum() - n_perm * gap) < 1e-3 * scale * n_perm:
                    hint = "; it is n_permutations times too large: average the marginal contributions, do not sum them"
                raise Fail(f"`{fn}`: sum(phi) = {phi.sum():.5g} but v(all channels) - v(no channel) = {gap:.5g}; "
                           f"Shapley values from permutations always add up to it ({ctx}){hint}")
        with part(ck, f"{fn}: Shapley values", 2.5 * w, where):
            tol = rng_ * math.sqrt(math.log(2 / HOEFFDING_DELTA) / (2 * n_perm)) + 1e-5 * scale
            bad = np.flatnonzero(np.abs(phi - phi_ex) > tol)
            if len(bad):
                c = int(bad[0])
                raise Fail(f"`{fn}`: phi[{c}] = {phi[c]:.4g}, the exact Shapley value (all 2^{SHAP_C} subsets) is "
                           f"{phi_ex[c]:.4g}; with {n_perm} permutations the estimate must lie within {tol[c]:.3g} of it "
                           f"({ctx}); average v(S + c) - v(S) over random orders, S = the channels before c")
        a = layer_output(model, "0", x)
        want = map_from_weights(a, phi, size)
        with part(ck, f"{fn}: map", (1.0 - SHAP_NORM_WEIGHT) * w, where):
            got = map_array(rec.get("cam"), want.shape, fn, f"the map, {ctx}")
            if rel_error(got, want) > TOL and not positive_affine_of(got, map_from_weights(a, phi, size, scale=False), TOL):
                raise Fail(f"`{fn}`: the map is not ReLU(sum_c phi_c A_c) upsampled and divided by its maximum "
                           f"(max relative error {rel_error(got, want):.1e}, {ctx})")
        with part(ck, f"{fn}: map divided by its maximum", SHAP_NORM_WEIGHT * w, where):
            got = map_array(rec.get("cam"), want.shape, fn, f"the map, {ctx}")
            if rel_error(got, want) > TOL:
                raise Fail(f"`{fn}`: the map is scaled another way: this notebook upsamples ReLU(sum_c phi_c A_c) and "
                           f"divides it by its maximum, as in grad_cam (the min-max scaling before the resize is "
                           f"pytorch-grad-cam's) ({ctx})")
        with part(ck, f"{fn}: model left as it was", 0.5 * w, where):
            check_state(rec.get("before"), rec.get("after"), fn, ctx)  # no backward in a Shapley CAM
    with part(ck, f"{fn}: reproducible with the seed", 0.5, f"`{fn}` (two calls with the same seed)"):
        if 0 not in phis or 1 not in phis:
            rec = out.get(0) if isinstance(out.get(0), dict) else {}
            why = rec.get("result").describe(f"`{fn}`") if isinstance(rec.get("result"), Bad) else "no result"
            raise Fail(f"`{fn}`: reproducibility could not be checked ({why})")
        if np.max(np.abs(phis[0] - phis[1])) > 1e-6 * max(1.0, float(np.max(np.abs(phis[0])))):
            raise Fail(f"`{fn}`: two calls with the same seed argument gave different phi ({_shap_ctx(0)}); draw the "
                       "permutations from torch.Generator().manual_seed(seed) or np.random.default_rng(seed)")


ITEMS = [
    Item("hw5.cam", 6, ("class_activation_map",), probe_side.probe_cam, judge_cam,
         title="CAM: class activation maps of a GAP network", timeout=30),
    Item("hw5.grad_cam", 8, ("grad_cam",), probe_side.probe_grad_cam, judge_grad_cam,
         title="Grad-CAM at any conv layer, with hooks", timeout=40),
    Item("hw5.shapley_cam", 5, ("shapley_cam",), probe_side.probe_shapley, judge_shapley,
         title="Shapley-value CAM sampled over channels (003 T1)", timeout=40),
]
