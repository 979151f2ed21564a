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
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..core import Bad, Fail, Item, rel_error, unwrap

K_CLASSES = 4
# Zero-mean colour tints (a grey pixel has no colour: every detector ignores it).
TINTS = np.array([[1.0, -0.5, -0.5], [-0.5, 1.0, -0.5], [-0.5, -0.5, 1.0], [0.5, 0.5, -1.0]])
TINT_NAMES = ("red", "green", "blue", "yellow")
MODEL_SEED = 8  # chosen so that the random part of the weights leaves the model right on every image
TOL = 1e-4


# --------------------------------------------------------------------------
# The grader's fixed model and its images (shared with adversarial.py).


def _toy_class():
    import torch.nn as nn

    class ToyNet(nn.Module):
        """conv3x3(3->6)-ReLU-conv3x3(6->6)-ReLU-maxpool2-conv3x3(6->8)-ReLU-GAP-Linear(8->4)."""

        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(6, 6, 3, padding=1)
            self.relu2 = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.conv3 = nn.Conv2d(6, 8, 3, padding=1)
            self.relu3 = nn.ReLU()
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(8, K_CLASSES)

        def features(self, x):
            x = self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x)))))
            return self.relu3(self.conv3(x))

        def forward(self, x):
            return self.fc(self.gap(self.features(x)).flatten(1))

    return ToyNet


def toy_net():
    """The fixed colour-square classifier, in eval mode, float32, built bit for bit the
    same in every process (its random part comes from a seeded torch.Generator)."""
    import torch

    g = torch.Generator().manual_seed(1000003 * 7 + MODEL_SEED)

    def r(*shape, sc=1.0):
        return torch.randn(*shape, generator=g) * sc

    m = _toy_class()()
    with torch.no_grad():
        v = torch.tensor(TINTS, dtype=torch.float32)
        v = v / v.norm(dim=1, keepdim=True)
        w1 = r(6, 3, 3, 3, sc=0.1)
        w1 = w1 - w1.mean(dim=(1, 2, 3), keepdim=True)
        b1 = r(6, sc=0.02)
        for k in range(K_CLASSES):
            w1[k] = v[k][:, None, None] / 9 * 4 + r(3, 3, 3, sc=0.01)
            b1[k] = -0.05
        w2, b2 = r(6, 6, 3, 3, sc=0.04), r(6, sc=0.02)
        w3, b3 = r(8, 6, 3, 3, sc=0.04), r(8, sc=0.02)
        for k in range(K_CLASSES):
            w2[k, k] += 2.0 / 9
            w3[k, k] += 2.0 / 9
        wf = r(K_CLASSES, 8, sc=0.1)
        for k in range(K_CLASSES):
            wf[k, :K_CLASSES] -= 1.0
            wf[k, k] += 5.0
        for p, val in ((m.conv1.weight, w1), (m.conv1.bias, b1), (m.conv2.weight, w2), (m.conv2.bias, b2),
                       (m.conv3.weight, w3), (m.conv3.bias, b3), (m.fc.weight, wf), (m.fc.bias, r(K_CLASSES, sc=0.02))):
            p.copy_(val)
    return m.eval()


def object_images(seed, n: int, size=32, two: bool = False, side=(5, 9), tint: float = 0.25):
    """``n`` float32 images (n, 3, H, W) in [0, 1]: a noisy grey background and one tinted
    square (``two``: two squares of different classes, apart), its class the label.
    Returns (images, labels (n, 1 or 2) int64, boxes [[(row0, col0, side), ...], ...])."""
    h, w = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    x = np.empty((n, 3, h, w), np.float32)
    labels, boxes = [], []
    for i in range(n):
        base = rng.uniform(0.25, 0.75)
        img = base + rng.normal(0, 0.04, (1, h, w)) + rng.normal(0, 0.02, (3, h, w))
        objs = rng.choice(K_CLASSES, 2 if two else 1, replace=False)
        bx: list[tuple[int, int, int]] = []
        for j, k in enumerate(objs):
            s = int(rng.integers(side[0], side[1] + 1))
            while True:
                r0, c0 = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
                if j == 0 or not (abs(r0 - bx[0][0]) < s + 3 and abs(c0 - bx[0][1]) < s + 3):
                    break
            img[:, r0:r0 + s, c0:c0 + s] += tint * TINTS[k][:, None, None] * rng.uniform(0.8, 1.2)
            bx.append((r0, c0, s))
        x[i] = np.clip(img, 0, 1)
        labels.append(objs)
        boxes.append(bx)
    return x, np.asarray(labels, dtype=np.int64), boxes


def peak_on_box(m: np.ndarray, box, margin: int = 1) -> bool:
    r, c = np.unravel_index(int(np.argmax(m)), m.shape)
    r0, c0, s = box
    return r0 - margin <= r < r0 + s + margin and c0 - margin <= c < c0 + s + margin


def _set_threads():
    """Run the judge's torch on one thread, like the child: the same bits as the probe, and
    far faster than several threads on tensors this small."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    return n


def one_thread(judge):
    """Decorator: the judge runs with torch on one thread, restored afterwards."""
    import functools

    @functools.wraps(judge)
    def wrapped(out, seed, ck):
        import torch

        n = _set_threads()
        try:
            return judge(out, seed, ck)
        finally:
            torch.set_num_threads(n)

    return wrapped


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
    'prob' softmax-probability gradient, 'norelu', 'elementwise' (no spatial mean)."""
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
    m = F.interpolate(m, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
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


def map_from_weights(a, phi, size):
    """ReLU(sum_c phi_c A_c), bilinear to ``size``, divided by its maximum: (N, H, W)."""
    import torch
    import torch.nn.functional as F

    phi = torch.as_tensor(np.asarray(phi), dtype=torch.float64).reshape(1, -1, 1, 1)
    m = F.relu((phi * a).sum(1, keepdim=True))
    m = F.interpolate(m, size=tuple(size), mode="bilinear", align_corners=False)[:, 0]
    return _max_normalise(m).numpy()


# --------------------------------------------------------------------------
# Probing helpers (child side).


def _tensor_rec(v, what: str):
    import torch

    if isinstance(v, Bad):
        return v
    if isinstance(v, tuple) and what != "tuple":
        return Bad("missing", f"returned a tuple of {len(v)}; return one tensor")
    if not torch.is_tensor(v):
        return Bad("missing", f"returned a {type(v).__name__}; return a torch tensor")
    rec = {"shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""),
           "requires_grad": bool(v.requires_grad)}
    if v.is_floating_point() and v.numel() <= 4_000_000:
        rec["value"] = v.detach().to("cpu", torch.float64).numpy()
    return rec


def model_state(model) -> dict:
    """What a map function must leave as it was: mode, requires_grad, values, no grads, no hooks."""
    import torch
    import torch.nn.modules.module as mm

    hooks = 0
    for mod in model.modules():
        for attr in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            hooks += len(getattr(mod, attr, {}) or {})
    glob = 0
    for attr in ("_global_forward_hooks", "_global_forward_pre_hooks", "_global_backward_hooks",
                 "_global_backward_pre_hooks"):
        glob += len(getattr(mm, attr, {}) or {})
    params = list(model.parameters())
    return {
        "modes": [bool(m.training) for m in model.modules()],
        "requires_grad": [bool(p.requires_grad) for p in params],
        "grads": sum(1 for p in params if p.grad is not None and bool(torch.any(p.grad != 0))),
        "grads_set": sum(1 for p in params if p.grad is not None),
        "hooks": hooks,
        "global_hooks": glob,
        "values": float(sum(float(p.detach().double().sum()) + float(p.detach().double().abs().sum()) for p in params)),
    }


def check_state(before, after, what: str, ctx: str) -> None:
    """Raise Fail when the model's state changed in a way the student must avoid."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        raise Fail(f"{what}: the model's state could not be read after the call ({ctx})")
    if after.get("hooks") != before.get("hooks") or after.get("global_hooks") != before.get("global_hooks"):
        left = after.get("hooks", 0) - before.get("hooks", 0) + after.get("global_hooks", 0) - before.get("global_hooks", 0)
        raise Fail(f"{what}: {left} hook(s) left on the model after the call; keep the handle of register_forward_hook(...) and "
                   f"call handle.remove() (in a finally: block) ({ctx})")
    if after.get("modes") != before.get("modes"):
        was = "train" if before.get("modes", [False])[0] else "eval"
        raise Fail(f"{what}: the model was in {was} mode and is not any more; do not call model.train()/model.eval() "
                   f"(or restore the mode before returning) ({ctx})")
    if after.get("requires_grad") != before.get("requires_grad"):
        raise Fail(f"{what}: the parameters' requires_grad changed; leave them as they were "
                   f"(use torch.autograd.grad with respect to the activations or the image) ({ctx})")
    was, now = float(before.get("values", 0.0)), float(after.get("values", 0.0))
    if abs(now - was) > 1e-9 * max(1.0, abs(was)):
        raise Fail(f"{what}: the model's parameters changed during the call ({ctx})")
    if after.get("grads_set", 0) > before.get("grads_set", 0):
        raise Fail(f"{what}: the model's parameters got a .grad; take the gradient with torch.autograd.grad(output, tensor) "
                   f"instead of .backward(), or call model.zero_grad(set_to_none=True) before returning ({ctx})")


def _index_list(k, n):
    return [int(v) for v in np.broadcast_to(np.asarray(k), (n,))]


def _shape_fail(rec, want_shape, what, ctx):
    rec = unwrap(rec, what)
    if not isinstance(rec, dict):
        raise Fail(f"{what}: no result ({ctx})")
    if tuple(rec.get("shape", ())) != tuple(want_shape):
        raise Fail(f"{what}: returned shape {tuple(rec.get('shape', ()))}, expected {tuple(want_shape)} ({ctx})")
    if not rec.get("dtype", "").startswith("float") or "value" not in rec:
        raise Fail(f"{what}: returned a tensor of dtype {rec.get('dtype')}; return a float tensor ({ctx})")
    v = np.asarray(rec["value"], dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise Fail(f"{what}: the map contains NaN or inf ({ctx}); guard the division of an all-equal map")
    return v


# --------------------------------------------------------------------------
# hw5.cam

# (feature shape, K, class_idx (None: per-image list from the seed), size, normalize)
CAM_CASES = [
    ((6, 5, 5), 4, 2, None, True),
    ((3, 8, 4, 6), 5, None, (16, 24), True),
    ((2, 6, 7, 7), 3, 1, (28, 28), True),
    ((2, 8, 4, 4), 4, None, (12, 12), False),
    ((5, 3, 4), 3, 0, None, False),
    ((1, 7, 6, 3), 6, None, (13, 7), True),
]
CAM_OBJECTS = 6  # two-object images of size 32 for the peak test


def _cam_inputs(seed, case):
    shape, k, idx, size, normalize = CAM_CASES[case]
    rng = np.random.default_rng([seed, 51, case])
    a = np.maximum(rng.normal(0.2, 1.0, shape), 0).astype(np.float32)
    w = rng.normal(0, 1.0, (k, shape[-3])).astype(np.float32)
    if idx is None:
        idx = rng.integers(0, k, shape[0]).tolist()
    return a, w, idx, size, normalize


def _cam_object_inputs(seed):
    import torch

    x, labels, boxes = object_images([seed, 52], CAM_OBJECTS, 32, two=True)
    model = toy_net()
    with torch.no_grad():
        feats = model.features(torch.from_numpy(x)).numpy()
    return x, labels, boxes, feats, model.fc.weight.detach().numpy().copy()


def _call_cam(ns, a, w, idx, size, normalize):
    import torch

    at, wt = torch.from_numpy(a.copy()), torch.from_numpy(w.copy())
    args = (at, wt, torch.tensor(idx) if isinstance(idx, list) else idx)
    kw = {"normalize": normalize}
    if size is not None:
        kw["size"] = size
    v = ns.call("class_activation_map", *args, **kw)
    rec = _tensor_rec(v, "map")
    if isinstance(rec, dict):
        rec["changed"] = not (torch.equal(at, torch.from_numpy(a)) and torch.equal(wt, torch.from_numpy(w)))
    return rec


def probe_cam(ns, seed):
    out = {}
    for case in range(len(CAM_CASES)):
        try:
            out[case] = _call_cam(ns, *_cam_inputs(seed, case))
        except Exception as e:  # noqa: BLE001
            out[case] = Bad("error", f"{type(e).__name__} while using class_activation_map's result: {str(e)[:150]}")
    try:
        x, labels, boxes, feats, w = _cam_object_inputs(seed)
        out["objects"] = [_call_cam(ns, feats, w, labels[:, j].tolist(), (32, 32), True) for j in range(2)]
    except Exception as e:  # noqa: BLE001
        out["objects"] = Bad("error", f"{type(e).__name__} while computing the maps of the object images: {str(e)[:150]}")
    return out


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
    for case in range(n):
        a, w, idx, size, normalize = _cam_inputs(seed, case)
        want = ref_cam(a, w, idx, size, normalize)
        ctx = _cam_ctx(case)
        try:
            got = _shape_fail(out.get(case, Bad("missing", "no result")), want.shape, "class_activation_map", ctx)
            err = rel_error(got, want)
            if err > TOL:
                raise Fail(f"class_activation_map: wrong values, max relative error {err:.1e} ({ctx})"
                           f"{_cam_hint(got, a, w, idx, size, normalize)}")
            failed = None
        except Fail as e:
            failed = str(e)
        if failed:  # leaving the inputs alone earns nothing while the values are wrong
            with ck.part("values", 4.5 / n):
                raise Fail(failed)
            continue
        with ck.part("values", 4.0 / n):
            pass
        with ck.part("inputs unchanged", 0.5 / n):
            if out[case].get("changed") is not False:
                raise Fail(f"class_activation_map changed its inputs in place; compute on new tensors ({ctx})")
    x, labels, boxes, feats, fcw = _cam_object_inputs(seed)
    objs = out.get("objects")
    with ck.part("peak on the object", 1.5):
        if isinstance(objs, Bad) or not isinstance(objs, list) or len(objs) != 2:
            raise Fail(unwrap(objs, "class_activation_map on the object images") if isinstance(objs, Bad)
                       else "class_activation_map on the object images: no result")
        for j in range(2):
            want = ref_cam(feats, fcw, labels[:, j].tolist(), (32, 32), True)
            got = _shape_fail(objs[j], want.shape, "class_activation_map", "the grader's colour-square model, 32x32 images")
            for i in range(len(x)):
                if not peak_on_box(got[i], boxes[i][j]):
                    r, c = np.unravel_index(int(np.argmax(got[i])), got[i].shape)
                    r0, c0, s = boxes[i][j]
                    raise Fail(f"class_activation_map: on an image with a {TINT_NAMES[labels[i, j]]} square at rows "
                               f"{r0}-{r0 + s - 1}, columns {c0}-{c0 + s - 1} (and a {TINT_NAMES[labels[i, 1 - j]]} one "
                               f"elsewhere), the map of class {labels[i, j]} peaks at ({r}, {c}), not on its square")
            err = rel_error(got, want)
            if err > TOL:
                raise Fail(f"class_activation_map: the maps of the grader's model differ from the grader's, max relative "
                           f"error {err:.1e} (features (6, 8, 16, 16) upsampled to 32x32)")


# --------------------------------------------------------------------------
# hw5.grad_cam

# (layer name, input size (H, W), N, class_idx (None: per-image from the seed), model mode, frozen layers)
GC_CASES = [
    ("conv3", (32, 32), 3, None, "eval", ()),
    ("conv2", (32, 32), 3, None, "eval", ()),
    ("conv1", (20, 28), 2, 1, "eval", ("conv1",)),
    ("relu3", (24, 40), 2, None, "train", ()),
    ("conv2", (36, 20), 1, 3, "train", ("conv1", "conv2")),
]
GC_OBJECT_LAYERS = ("conv3", "conv2")
GC_OBJECTS = 5


def _gc_inputs(seed, case):
    name, size, n, idx, mode, frozen = GC_CASES[case]
    rng = np.random.default_rng([seed, 53, case])
    x, labels, _ = object_images([seed, 53, case], n, size)
    if idx is None:
        idx = rng.integers(0, K_CLASSES, n).tolist()
    return name, x, idx, mode, frozen


def _gc_object_inputs(seed):
    x, labels, boxes = object_images([seed, 54], GC_OBJECTS, 32, two=True)
    return x, labels, boxes


def _call_map_fn(ns, fn_name, name, x, idx, mode="eval", frozen=(), extra=()):
    import torch

    model = toy_net()
    if mode == "train":
        model.train()
    for n_, p in model.named_parameters():
        if n_.split(".")[0] in frozen:
            p.requires_grad_(False)
    before = model_state(model)
    xt = torch.from_numpy(x.copy())
    layer = dict(model.named_modules())[name]
    v = ns.call(fn_name, model, layer, xt, torch.tensor(idx) if isinstance(idx, list) else idx, *extra)
    after = model_state(model)
    return v, before, after, (not torch.equal(xt, torch.from_numpy(x)) or xt.grad is not None or xt.requires_grad)


def probe_grad_cam(ns, seed):
    out = {}
    for case in range(len(GC_CASES)):
        try:
            name, x, idx, mode, frozen = _gc_inputs(seed, case)
            v, before, after, x_changed = _call_map_fn(ns, "grad_cam", name, x, idx, mode, frozen)
            out[case] = {"map": _tensor_rec(v, "map"), "before": before, "after": after, "x_changed": x_changed}
        except Exception as e:  # noqa: BLE001
            out[case] = {"map": Bad("error", f"{type(e).__name__} while using grad_cam's result: {str(e)[:150]}")}
    try:
        x, labels, boxes = _gc_object_inputs(seed)
        out["objects"] = {f"{name}:{j}": _tensor_rec(_call_map_fn(ns, "grad_cam", name, x, labels[:, j].tolist())[0], "map")
                          for name in GC_OBJECT_LAYERS for j in range(2)}
    except Exception as e:  # noqa: BLE001
        out["objects"] = Bad("error", f"{type(e).__name__} while computing Grad-CAM on the object images: {str(e)[:150]}")
    return out


def _gc_hint(got, model, name, x, idx):
    for variant, msg in (("prob", "take the gradient of the logit (the model's output before softmax), not of the probability"),
                         ("norelu", "apply a ReLU to the weighted sum before upsampling"),
                         ("elementwise", "weight each channel by the spatial MEAN of its gradient (alpha_c), not the gradient "
                                         "pixel by pixel")):
        alt = ref_grad_cam(model, name, x, idx, variant)
        if alt.shape == got.shape and rel_error(got, alt) < 1e-3:
            return "; " + msg
    for other in ("conv3", "relu3", "conv2", "relu2", "conv1", "relu1"):
        if other != name:
            alt = ref_grad_cam(model, other, x, idx)
            if alt.shape == got.shape and rel_error(got, alt) < 1e-4:
                return f"; it is the Grad-CAM of another layer ({other}): hook the `layer` you are given"
    return ""


def judge_grad_cam(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    threads = _set_threads()
    try:
        model = toy_net()
        n = len(GC_CASES)
        for case in range(n):
            name, x, idx, mode, frozen = _gc_inputs(seed, case)
            ctx = f"layer {name} of the grader's model, x {tuple(x.shape)}, {mode} mode"
            rec = out.get(case) if isinstance(out.get(case), dict) else {"map": Bad("missing", "no result")}
            want = ref_grad_cam(model, name, x, idx)
            try:
                got = _shape_fail(rec.get("map"), want.shape, "grad_cam", ctx)
                err = rel_error(got, want)
                if err > TOL:
                    raise Fail(f"grad_cam: wrong values, max relative error {err:.1e} ({ctx}){_gc_hint(got, model, name, x, idx)}")
                if got.min() < -1e-6 or got.max() > 1 + 1e-6:
                    raise Fail(f"grad_cam: values outside [0, 1] ({ctx})")
                failed = None
            except Fail as e:
                failed = str(e)
            if failed:  # the state earns nothing while the maps are wrong: one message, both weights
                with ck.part("values", 6.0 / n):
                    raise Fail(failed)
                continue
            with ck.part("values", 5.0 / n):
                pass
            with ck.part("model and input left as they were", 1.0 / n):
                check_state(rec.get("before"), rec.get("after"), "grad_cam", ctx)
                if rec.get("x_changed") is not False:
                    raise Fail(f"grad_cam changed the input x (its values, requires_grad or .grad); work on "
                               f"x.detach().clone() or leave x alone ({ctx})")
                if isinstance(rec.get("map"), dict) and rec["map"].get("requires_grad"):
                    raise Fail(f"grad_cam: the returned map carries an autograd graph; return map.detach() ({ctx})")
        x, labels, boxes = _gc_object_inputs(seed)
        objs = out.get("objects")
        with ck.part("peak on the object", 2.0):
            if not isinstance(objs, dict):
                raise Fail(unwrap(objs, "grad_cam on the object images") if isinstance(objs, Bad)
                           else "grad_cam on the object images: no result")
            for name in GC_OBJECT_LAYERS:
                for j in range(2):
                    got = _shape_fail(objs.get(f"{name}:{j}", Bad("missing", "no result")), (len(x), 32, 32), "grad_cam",
                                      f"layer {name}, the object images")
                    for i in range(len(x)):
                        if not peak_on_box(got[i], boxes[i][j]):
                            r, c = np.unravel_index(int(np.argmax(got[i])), got[i].shape)
                            r0, c0, s = boxes[i][j]
                            raise Fail(f"grad_cam at layer {name}: on an image with a {TINT_NAMES[labels[i, j]]} square at "
                                       f"rows {r0}-{r0 + s - 1}, columns {c0}-{c0 + s - 1} (and a "
                                       f"{TINT_NAMES[labels[i, 1 - j]]} one elsewhere), the map of class {labels[i, j]} "
                                       f"peaks at ({r}, {c}), not on its square")
                    want = ref_grad_cam(model, name, x, labels[:, j])
                    if rel_error(got, want) > TOL:
                        raise Fail(f"grad_cam at layer {name}: the maps of the object images differ from the grader's "
                                   f"(max relative error {rel_error(got, want):.1e})")
    finally:
        import torch

        torch.set_num_threads(threads)


# --------------------------------------------------------------------------
# hw5.shapley_cam

SHAP_C = 5
# (image size, class, n_permutations, seed) per call; calls 0 and 1 repeat the same seed.
SHAP_CALLS = [((16, 16), 0, 16, 3), ((16, 16), 0, 16, 3), ((16, 16), 0, 400, 11), ((12, 20), 2, 400, 5)]
HOEFFDING_DELTA = 1e-7


def shap_net(seed):
    """A random small CNN whose first conv has 5 channels; the ReLUs and the second
    conv after it make the channels interact (Shapley values != leave-one-out)."""
    import torch
    import torch.nn as nn

    g = torch.Generator().manual_seed(int(np.random.default_rng([seed, 55]).integers(2**31)))
    m = nn.Sequential(nn.Conv2d(3, SHAP_C, 3, padding=1), nn.ReLU(), nn.Conv2d(SHAP_C, 6, 3, padding=1), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(6, 3))
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.6 if p.dim() > 1 else 0.3))
    return m.eval()


def _shap_image(seed, call):
    import torch

    size = SHAP_CALLS[call][0]
    g = torch.Generator().manual_seed(int(np.random.default_rng([seed, 56, size[0], size[1]]).integers(2**31)))
    return torch.rand(1, 3, *size, generator=g).numpy()


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


def probe_shapley(ns, seed):
    import torch

    out = {}
    for call, (size, k, n_perm, s) in enumerate(SHAP_CALLS):
        try:
            model = shap_net(seed)
            x = _shap_image(seed, call)
            before = model_state(model)
            r = ns.call("shapley_cam", model, model[0], torch.from_numpy(x.copy()), k, n_perm, s)
            after = model_state(model)
            if isinstance(r, Bad):
                out[call] = {"result": r}
                continue
            if not isinstance(r, (tuple, list)) or len(r) != 2:
                out[call] = {"result": Bad("missing", f"returned a {type(r).__name__}; return a pair (cam, phi)")}
                continue
            out[call] = {"result": "ok", "cam": _tensor_rec(r[0], "map"), "phi": _tensor_rec(r[1], "phi"),
                         "before": before, "after": after}
        except Exception as e:  # noqa: BLE001
            out[call] = {"result": Bad("error", f"{type(e).__name__} while using shapley_cam's result: {str(e)[:150]}")}
    return out


@one_thread
def judge_shapley(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    model = shap_net(seed)
    phis = {}
    for call, (size, k, n_perm, s) in enumerate(SHAP_CALLS):
        ctx = f"x (1, 3, {size[0]}, {size[1]}), class {k}, n_permutations={n_perm}, seed={s}"
        x = _shap_image(seed, call)
        rec = out.get(call) if isinstance(out.get(call), dict) else {"result": Bad("missing", "no result")}
        phi_ex, rng_, v_all, v_none = exact_shapley(model, "0", x, k)
        scale = max(1.0, float(np.max(np.abs(phi_ex))))
        w = 1.0 / len(SHAP_CALLS)
        try:
            if isinstance(rec.get("result"), Bad):
                raise Fail(rec["result"].describe("shapley_cam"))
            phi = _shape_fail(rec.get("phi"), (SHAP_C,), "shapley_cam's phi", ctx)
            phis[call] = phi
            failed = None
        except Fail as e:
            failed = str(e)
        if failed:
            with ck.part("Shapley values", 5.0 * w):
                raise Fail(failed)
            continue
        with ck.part("efficiency", 1.0 * w):
            gap = v_all - v_none
            if abs(phi.sum() - gap) > 1e-4 * scale:
                hint = ""
                if abs(phi.sum() - n_perm * gap) < 1e-3 * scale * n_perm:
                    hint = "; it is n_permutations times too large: average the marginal contributions, do not sum them"
                raise Fail(f"shapley_cam: sum(phi) = {phi.sum():.5g} but v(all channels) - v(no channel) = {gap:.5g}; "
                           f"Shapley values from permutations always add up to it ({ctx}){hint}")
        with ck.part("Shapley values", 2.5 * w):
            tol = rng_ * math.sqrt(math.log(2 / HOEFFDING_DELTA) / (2 * n_perm)) + 1e-5 * scale
            bad = np.flatnonzero(np.abs(phi - phi_ex) > tol)
            if len(bad):
                c = int(bad[0])
                raise Fail(f"shapley_cam: phi[{c}] = {phi[c]:.4g}, the exact Shapley value (all 2^{SHAP_C} subsets) is "
                           f"{phi_ex[c]:.4g}; with {n_perm} permutations the estimate must lie within {tol[c]:.3g} of it "
                           f"({ctx}); average v(S + c) - v(S) over random orders, S = the channels before c")
        with ck.part("map", 1.0 * w):
            a = layer_output(model, "0", x)
            want = map_from_weights(a, phi, size)
            got = _shape_fail(rec.get("cam"), want.shape, "shapley_cam's map", ctx)
            if rel_error(got, want) > TOL:
                raise Fail(f"shapley_cam: the map is not ReLU(sum_c phi_c A_c) upsampled and divided by its maximum "
                           f"(max relative error {rel_error(got, want):.1e}, {ctx})")
        with ck.part("model left as it was", 0.5 * w):
            check_state(rec.get("before"), rec.get("after"), "shapley_cam", ctx)
    with ck.part("reproducible with the seed", 0.5):
        if 0 not in phis or 1 not in phis:
            rec = out.get(0) if isinstance(out.get(0), dict) else {}
            why = rec.get("result").describe("shapley_cam") if isinstance(rec.get("result"), Bad) else "no result"
            raise Fail(f"shapley_cam: reproducibility could not be checked ({why})")
        if np.max(np.abs(phis[0] - phis[1])) > 1e-6 * max(1.0, float(np.max(np.abs(phis[0])))):
            raise Fail("shapley_cam: two calls with the same seed gave different phi; draw the permutations from "
                       "torch.Generator().manual_seed(seed) or np.random.default_rng(seed)")


ITEMS = [
    Item("hw5.cam", 6, ("class_activation_map",), probe_cam, judge_cam,
         title="CAM: class activation maps of a GAP network", timeout=30),
    Item("hw5.grad_cam", 8, ("grad_cam",), probe_grad_cam, judge_grad_cam,
         title="Grad-CAM at any conv layer, with hooks", timeout=40),
    Item("hw5.shapley_cam", 5, ("shapley_cam",), probe_shapley, judge_shapley,
         title="Shapley-value CAM sampled over channels (003 T1)", timeout=40),
]
