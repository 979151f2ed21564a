"""Probe half of hw5.cam, hw5.grad_cam and hw5.shapley_cam, and the grader's fixed models.

Runs in the child, beside the student's code. Here: the grader's fixed models (the
colour-square classifier ``toy_net`` and the small ``shap_net``), the image generator,
the input builders of every case (imported by the judge too, so both sides build the
same inputs), what is recorded about a tensor, a model or an input after a call, and
the probes. No reference map, Shapley value or verdict lives here: the judge in
``autograder/hw5/cam.py`` recomputes everything and compares.
"""
from __future__ import annotations

import numpy as np

from autograder.probes.runtime import Bad, error_text

K_CLASSES = 4
# Zero-mean colour tints (a grey pixel has no colour: every detector ignores it).
TINTS = np.array([[1.0, -0.5, -0.5], [-0.5, 1.0, -0.5], [-0.5, -0.5, 1.0], [0.5, 0.5, -1.0]])
MODEL_SEED = 8  # chosen so that the random part of the weights leaves the model right on every image
MAX_RECORD_FLOATS = 4_000_000


# --------------------------------------------------------------------------
# The grader's fixed models and images (also used by the FGSM and visualization probes).


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
    Returns (images, labels (n, 1 or 2) int64, boxes [[(row0, col0, side), ...], ...]).
    Image ``i`` does not depend on ``n`` (the first images of a longer draw are the same)."""
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
    return x, np.asarray(labels, dtype=np.int64).reshape(n, 2 if two else 1), boxes


SHAP_C = 5
# (image size, class, n_permutations, seed argument) per call; calls 0 and 1 repeat the same seed.
SHAP_CALLS = [((16, 16), 0, 16, 3), ((16, 16), 0, 16, 3), ((16, 16), 0, 400, 11), ((12, 20), 2, 400, 5)]


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


def shap_image(seed, call):
    import torch

    size = SHAP_CALLS[call][0]
    g = torch.Generator().manual_seed(int(np.random.default_rng([seed, 56, size[0], size[1]]).integers(2**31)))
    return torch.rand(1, 3, *size, generator=g).numpy()


# --------------------------------------------------------------------------
# What is recorded after a call (plain data; the judge decides).


def tensor_rec(v, what: str):
    """A returned tensor as plain data: shape, dtype, requires_grad and its values (float64)."""
    import torch

    if isinstance(v, Bad):
        return v
    if isinstance(v, tuple) and what != "tuple":
        return Bad("missing", f"returned a tuple of {len(v)}; return one tensor")
    if not torch.is_tensor(v):
        return Bad("missing", f"returned a {type(v).__name__}; return a torch tensor")
    rec = {"shape": [int(s) for s in v.shape], "dtype": str(v.dtype).replace("torch.", ""),
           "requires_grad": bool(v.requires_grad)}
    if v.is_floating_point() and v.numel() <= MAX_RECORD_FLOATS:
        rec["value"] = v.detach().to("cpu", torch.float64).numpy()
    return rec


def input_rec(t) -> dict:
    """An input tensor after the student's call: its values, requires_grad and whether it got a .grad."""
    return {"value": t.detach().cpu().numpy().copy(), "requires_grad": bool(t.requires_grad),
            "grad": t.grad is not None}


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


def _trouble(e: BaseException, fn: str) -> Bad:
    """What went wrong while the probe used the student's result (one line, no traceback)."""
    return Bad("missing", f"the result of `{fn}` could not be used ({error_text(e)})")


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


def cam_inputs(seed, case):
    shape, k, idx, size, normalize = CAM_CASES[case]
    rng = np.random.default_rng([seed, 51, case])
    a = np.maximum(rng.normal(0.2, 1.0, shape), 0).astype(np.float32)
    w = rng.normal(0, 1.0, (k, shape[-3])).astype(np.float32)
    if idx is None:
        idx = rng.integers(0, k, shape[0]).tolist()
    return a, w, idx, size, normalize


def cam_object_images(seed):
    """The two-object images of the CAM peak test: (images, classes (n, 2), boxes)."""
    return object_images([seed, 52], CAM_OBJECTS, 32, two=True)


def cam_object_features(x):
    """The grader's model's last conv features for ``x`` and its head's weight: CAM's inputs."""
    import torch

    model = toy_net()
    with torch.no_grad():
        feats = model.features(torch.from_numpy(np.ascontiguousarray(x))).numpy()
    return feats, model.fc.weight.detach().numpy().copy()


def _call_cam(ns, a, w, idx, size, normalize):
    import torch

    at, wt = torch.from_numpy(a.copy()), torch.from_numpy(w.copy())
    args = (at, wt, torch.tensor(idx) if isinstance(idx, list) else idx)
    kw = {"normalize": normalize}
    if size is not None:
        kw["size"] = size
    v = ns.call("class_activation_map", *args, **kw)
    rec = tensor_rec(v, "map")
    if isinstance(rec, dict):
        rec["inputs_after"] = [at.detach().numpy().copy(), wt.detach().numpy().copy()]
    return rec


def probe_cam(ns, seed):
    out = {}
    for case in range(len(CAM_CASES)):
        try:
            out[case] = _call_cam(ns, *cam_inputs(seed, case))
        except Exception as e:  # noqa: BLE001
            out[case] = _trouble(e, "class_activation_map")
    try:
        x, labels, _ = cam_object_images(seed)
        feats, w = cam_object_features(x)
        out["objects"] = [_call_cam(ns, feats, w, labels[:, j].tolist(), (32, 32), True) for j in range(2)]
    except Exception as e:  # noqa: BLE001
        out["objects"] = _trouble(e, "class_activation_map")
    return out


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


def gc_inputs(seed, case):
    name, size, n, idx, mode, frozen = GC_CASES[case]
    rng = np.random.default_rng([seed, 53, case])
    x, _, _ = object_images([seed, 53, case], n, size)
    if idx is None:
        idx = rng.integers(0, K_CLASSES, n).tolist()
    return name, x, idx, mode, frozen


def gc_object_images(seed):
    """The two-object images of the Grad-CAM peak test: (images, classes (n, 2), boxes)."""
    return object_images([seed, 54], GC_OBJECTS, 32, two=True)


# --------------------------------------------------------------------------
# 002-P5 (4): the maps of the light VGG. CAM needs GAP and one linear layer; the light VGG ends
# with dense layers, so the handout's maps of it are Grad-CAM's, the generalisation of CAM.

LIGHT_GC_LAYER = "features.23"  # the ReLU after the last conv (8 x 8 for a 128 x 128 face)
LIGHT_GC_FACES = 2


def _light_class():
    import torch.nn as nn

    class GraderLightVGG(nn.Module):
        """[2x conv3x3-ReLU, maxpool2] x 5 (16, 32, 64, 128, 128) -> 2048 -> 1024 -> 1024 -> 8."""

        def __init__(self):
            super().__init__()
            layers, cin = [], 3
            for k, cout in enumerate((16, 16, 32, 32, 64, 64, 128, 128, 128, 128)):
                layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
                if k % 2 == 1:
                    layers.append(nn.MaxPool2d(2))
                cin = cout
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2048, 1024), nn.ReLU(), nn.Linear(1024, 1024),
                                            nn.ReLU(), nn.Linear(1024, 8))

        def forward(self, x):
            return self.classifier(self.features(x))

    return GraderLightVGG


def light_vgg_net():
    """The grader's light VGG (002-P5 (3): 128 x 128 input, 8 outputs) with fixed He-normal
    weights from a seeded generator, in eval mode: the same bits in every process."""
    import torch
    import torch.nn as nn

    model = _light_class()()
    g = torch.Generator().manual_seed(1000003 * 11 + 5)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.01)
    return model.eval()


def light_gc_inputs(seed):
    """Two drawn faces of 128 x 128 (float (2, 3, 128, 128) in [0, 1]) and the class asked for each."""
    from data_scripts.faces import make_expression_faces

    images, labels, _ = make_expression_faces(1, 128, seed=int(seed) % 100000 + 17)
    x = (images[:LIGHT_GC_FACES].transpose(0, 3, 1, 2).astype(np.float32) / 255.0).copy()
    return x, [int(v) for v in labels[:LIGHT_GC_FACES]]


def call_map_fn(ns, fn_name, name, x, idx, mode="eval", frozen=(), extra=(), model=None):
    """Call ``fn_name(model, layer, x, class_idx, *extra)`` on the grader's model (``toy_net``
    unless another is given); return the result and what the call left behind (the model's
    state before and after, x after)."""
    import torch

    model = toy_net() if model is None else model
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
    return v, before, after, input_rec(xt)


def probe_grad_cam(ns, seed):
    out = {}
    for case in range(len(GC_CASES)):
        try:
            name, x, idx, mode, frozen = gc_inputs(seed, case)
            v, before, after, x_after = call_map_fn(ns, "grad_cam", name, x, idx, mode, frozen)
            out[case] = {"map": tensor_rec(v, "map"), "before": before, "after": after, "x_after": x_after}
        except Exception as e:  # noqa: BLE001
            out[case] = {"map": _trouble(e, "grad_cam")}
    try:
        x, labels, _ = gc_object_images(seed)
        out["objects"] = {f"{name}:{j}": tensor_rec(call_map_fn(ns, "grad_cam", name, x, labels[:, j].tolist())[0], "map")
                          for name in GC_OBJECT_LAYERS for j in range(2)}
    except Exception as e:  # noqa: BLE001
        out["objects"] = _trouble(e, "grad_cam")
    try:
        x, idx = light_gc_inputs(seed)
        v = call_map_fn(ns, "grad_cam", LIGHT_GC_LAYER, x, idx, model=light_vgg_net())[0]
        out["light"] = tensor_rec(v, "map")
    except Exception as e:  # noqa: BLE001
        out["light"] = _trouble(e, "grad_cam")
    return out


# --------------------------------------------------------------------------
# hw5.shapley_cam


def probe_shapley(ns, seed):
    import torch

    out = {}
    for call, (size, k, n_perm, s) in enumerate(SHAP_CALLS):
        try:
            model = shap_net(seed)
            x = shap_image(seed, call)
            before = model_state(model)
            r = ns.call("shapley_cam", model, model[0], torch.from_numpy(x.copy()), k, n_perm, s)
            after = model_state(model)
            if isinstance(r, Bad):
                out[call] = {"result": r}
                continue
            if not isinstance(r, (tuple, list)) or len(r) != 2:
                out[call] = {"result": Bad("missing", f"returned a {type(r).__name__}; return a pair (cam, phi)")}
                continue
            out[call] = {"result": "ok", "cam": tensor_rec(r[0], "map"), "phi": tensor_rec(r[1], "phi"),
                         "before": before, "after": after}
        except Exception as e:  # noqa: BLE001
            out[call] = {"result": _trouble(e, "shapley_cam")}
    return out
