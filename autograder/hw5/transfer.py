"""Facial expressions (002 P5): augmentation, transfer learning from VGG16, the light VGG.

Student API:
    make_face_transforms(train) -> callable: uint8 (H, W, 3) NumPy image -> float32 tensor (3, H, W)
        train=False: exactly img / 255, channels first (no normalization, no resizing);
        train=True: random, mild, label-preserving augmentation, values kept in [0, 1], the
        same H x W as the input. A horizontal flip is allowed (a mirrored smile is a
        smile); a vertical flip or a face turned upside down is not.
    augment_dataset(images, labels, transform, copies) -> (x, y)
        images uint8 (N, H, W, 3), labels int (N,): x float32 tensor (N * (copies + 1), 3, H, W),
        first the N originals as img / 255 (in order), then ``copies`` rounds, each
        ``transform(images[i])`` for i = 0..N-1 in order; y int64 tensor of the matching labels.
    build_transfer_model(num_classes=8, pretrained=False) -> nn.Module
        torchvision's ``vgg16`` (ImageNet weights only when ``pretrained`` and cached),
        its last layer ``classifier[6]`` replaced by a new ``nn.Linear(4096, num_classes)``,
        every other parameter frozen (requires_grad False): only the new layer's weight
        and bias are trained.
    make_transfer_optimizer(model, lr=1e-3) -> torch.optim.Optimizer
        an optimizer over exactly the trainable parameters of ``model``, learning rate ``lr``.
    LightVGG(num_outputs=8) -> nn.Module, input (N, 3, 128, 128) -> (N, num_outputs)
        [2x conv3x3-16, maxpool2] [2x conv3x3-32, maxpool2] [2x conv3x3-64, maxpool2]
        [2x conv3x3-128, maxpool2] [2x conv3x3-128, maxpool2] -> flatten (128 * 4 * 4 = 2048)
        -> Linear 1024 -> Linear 1024 -> Linear num_outputs; every conv padding 1 with a
        bias, ReLU after every conv and after the two hidden Linear layers; no BatchNorm
        (dropout, which has no parameters, is allowed).

How they are checked. The augmentation: the eval transform must give exactly
img / 255 on faces of two sizes (64 and 48: drawn faces of ``data_scripts.faces`` and
real ``lfw_subset`` faces); the train transform's outputs must have the input's shape,
float32, values in [0, 1], differ between calls, and still be the same face: the
centre of each augmented face is searched for (normalised cross-correlation) in the
original and in its mirror image, and must match well and better than in the
upside-down original (the ``hw2.digits_augment`` measure). ``augment_dataset`` is
called with a transform of the grader's (a colour inversion), so its output is known
exactly. The transfer model is built twice (8 and 5 classes, ``pretrained=False``: the
grader never downloads) and checked on the object: its ``features`` are torchvision's
VGG16 configuration (13 3x3 convs, 5 max-pools, recomputed from
``torchvision.models.vgg.cfgs["D"]``), the classifier is VGG16's with a new last layer
of ``num_classes`` outputs, the set of parameters with requires_grad equals that
layer's weight and bias, a backward pass gives gradients to those only, and the
optimizer holds exactly those. The light VGG: its conv and Linear layers (kernel,
padding, channels), the feature-map size after every conv (so where the pools are),
the parameter count of a reference built here, the output shape for 8 and 2 outputs,
and its eval output with seeded weights (set by the grader, layer by layer) against the
reference network computed here with the same weights.
"""
from __future__ import annotations

import functools

import numpy as np

from ..core import Bad, Fail, Item, unwrap
from ..hw2.digits import best_match, fail_all, transform_draws

# --------------------------------------------------------------------------
# hw5.augmentation

AUG_DRAWS = 6
AUG_MIN_MATCH = 0.70   # mean best match of the augmented face's centre in the original (or its mirror)
AUG_MAX_UPSIDE = 0.15  # share of augmented faces that match the upside-down original better
AUG_N_DRAWN = 4        # drawn faces at 64 x 64
AUG_N_REAL = 2         # lfw faces at 48 x 48
AUG_COPIES = 2


def _aug_images(seed: int) -> list[np.ndarray]:
    from data_scripts.faces import draw_face, lfw_faces

    rng = np.random.default_rng([int(seed), 51])
    drawn = [draw_face(int(rng.integers(0, 8)), rng, 64) for _ in range(AUG_N_DRAWN)]
    real = lfw_faces(48)
    pick = rng.choice(len(real), AUG_N_REAL, replace=False)
    return drawn + [real[i] for i in pick]


def _expand_inputs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Small faces (7 of 40 x 40) and labels for augment_dataset."""
    from data_scripts.faces import draw_face

    rng = np.random.default_rng([int(seed), 52])
    labels = rng.integers(0, 8, 7).astype(np.int64)
    images = np.stack([draw_face(int(c), rng, 40) for c in labels])
    return images, labels


def grader_transform(img):
    """The transform the probe passes to augment_dataset: the colour-inverted image."""
    import torch

    return torch.from_numpy((255 - np.asarray(img)).transpose(2, 0, 1).astype(np.float32) / 255.0)


def _tensor_record(v) -> dict:
    import torch

    rec = {"type": type(v).__name__, "tensor": bool(torch.is_tensor(v))}
    a = v.detach().cpu() if torch.is_tensor(v) else v
    rec["dtype"] = str(getattr(v, "dtype", "")).replace("torch.", "")
    try:
        a = np.asarray(a)
        rec["shape"] = list(a.shape)
        if a.dtype.kind in "biuf" and a.size <= 10**6:
            rec["array"] = a.astype(np.float32)
    except Exception:  # noqa: BLE001
        pass
    return rec


def probe_augmentation(ns, seed):
    out = transform_draws(ns, "make_face_transforms", _aug_images(seed), AUG_DRAWS, _tensor_record)
    x, y = _expand_inputs(seed)
    r = ns.call("augment_dataset", x.copy(), y.copy(), grader_transform, AUG_COPIES)
    if isinstance(r, Bad):
        out["expand"] = r
    elif isinstance(r, (tuple, list)) and len(r) == 2:
        out["expand"] = [_tensor_record(r[0]), _tensor_record(r[1])]
    else:
        out["expand"] = Bad("missing", f"returned a {type(r).__name__}; return the pair (x, y)")
    return out


def _check_output(rec, what: str, shape: tuple) -> np.ndarray:
    rec = unwrap(rec, what)
    if not isinstance(rec, dict):
        raise Fail(f"{what}: no output")
    if not rec.get("tensor"):
        raise Fail(f"{what}: returned a {rec.get('type')}; return a torch tensor (e.g. end with "
                   f"v2.ToDtype(torch.float32, scale=True))")
    if rec.get("dtype") != "float32":
        raise Fail(f"{what}: returned a tensor of dtype {rec.get('dtype')}; it must be float32")
    if tuple(rec.get("shape") or ()) != shape:
        raise Fail(f"{what}: returned shape {tuple(rec.get('shape') or ())} for a {shape[1]}x{shape[2]} face; "
                   f"expected {shape}, channels first and the input's size (no fixed-size resize or crop)")
    a = rec.get("array")
    if not isinstance(a, np.ndarray) or a.shape != shape:
        raise Fail(f"{what}: the output could not be read")
    if not np.all(np.isfinite(a)):
        raise Fail(f"{what}: the output contains NaN or inf")
    return a


def face_stats(originals: list[np.ndarray], outputs: list[list[np.ndarray]]) -> tuple[float, float]:
    """Mean best match of each augmented face's centre in the original or its mirror
    image, and the share that matches the upside-down original (flipped top-bottom or
    turned 180 degrees) better."""
    scores, upside, n = [], 0, 0
    for img, outs in zip(originals, outputs):
        g = img.astype(np.float64).mean(axis=2) / 255.0
        m = max(4, g.shape[0] // 6)
        allowed = [g, g[:, ::-1]]
        wrong = [g[::-1, :], g[::-1, ::-1]]
        for o in outs:
            centre = o.astype(np.float64).mean(axis=0)[m:-m, m:-m]
            s = max(best_match(centre, v) for v in allowed)
            scores.append(s)
            if max(best_match(centre, v) for v in wrong) > s:
                upside += 1
            n += 1
    return (float(np.mean(scores)) if scores else 0.0), upside / max(n, 1)


def judge_augmentation(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    images = _aug_images(seed)
    ev = out.get(False, Bad("missing", "no result"))
    if isinstance(ev, Bad) or not isinstance(ev, list):
        fail_all(ck, [("eval transform", 1.0)], ev.describe("make_face_transforms(False)") if isinstance(ev, Bad)
                 else "make_face_transforms(False): no result")
    else:
        with ck.part("eval transform", 1.0):
            for img, draws in zip(images, ev):
                shape = (3, img.shape[0], img.shape[1])
                want = img.transpose(2, 0, 1).astype(np.float32) / 255.0
                a = _check_output(draws[0], "the eval transform", shape)
                b = _check_output(draws[1], "the eval transform", shape)
                if not np.array_equal(a, b):
                    raise Fail("the eval transform is random: two calls on the same face differ; "
                               "make_face_transforms(False) must only convert (no augmentation at test time)")
                err = float(np.max(np.abs(a - want)))
                if err > 1e-4:
                    hint = ""
                    if abs(float(a.mean()) - float(want.mean()) * 255) < 1:
                        hint = " (values 0-255: divide by 255)"
                    elif a.min() < -1e-3:
                        hint = " (no Normalize: the task asks for pixel values in [0, 1])"
                    raise Fail(f"the eval transform must return exactly img / 255 as a {shape} tensor; "
                               f"max difference {err:.3g}{hint}")

    parts_train = [("train transform output", 0.5), ("train transform is random", 0.5),
                   ("train transform keeps the face", 1.5)]
    tr = out.get(True, Bad("missing", "no result"))
    if isinstance(tr, Bad) or not isinstance(tr, list):
        fail_all(ck, parts_train, tr.describe("make_face_transforms(True)") if isinstance(tr, Bad)
                 else "make_face_transforms(True): no result")
    else:
        arrays: list[list[np.ndarray]] = []
        with ck.part("train transform output", 0.5):
            for img, draws in zip(images, tr):
                shape = (3, img.shape[0], img.shape[1])
                row = []
                for rec in draws:
                    a = _check_output(rec, "the train transform", shape)
                    if a.min() < -1e-3 or a.max() > 1 + 1e-3:
                        raise Fail(f"the train transform returned values in [{a.min():.3g}, {a.max():.3g}]; keep them "
                                   "in [0, 1] (clamp after brightness changes or noise; no Normalize)")
                    row.append(a)
                arrays.append(row)
        if len(arrays) != len(images):
            fail_all(ck, parts_train[1:], "the train transform's outputs could not be checked (see above)")
        else:
            with ck.part("train transform is random", 0.5):
                varied = sum(1 for row in arrays if any(np.max(np.abs(row[0] - o)) > 1e-3 for o in row[1:]))
                if varied < len(arrays) - 1:
                    raise Fail(f"the train transform gave the same output on {AUG_DRAWS} calls for "
                               f"{len(arrays) - varied} of {len(arrays)} faces; augmentation must be random "
                               "(a new variation at every call)")
            with ck.part("train transform keeps the face", 1.5):
                match, upside = face_stats(images, arrays)
                if upside > AUG_MAX_UPSIDE and match >= AUG_MIN_MATCH:
                    raise Fail(f"{upside:.0%} of the augmented faces look more like the upside-down original than the "
                               "original: no vertical flips and no large rotations (a horizontal flip is fine)")
                if match < AUG_MIN_MATCH or upside > AUG_MAX_UPSIDE:
                    raise Fail(f"the augmented faces are too far from the originals (mean match {match:.2f}, needs >= "
                               f"{AUG_MIN_MATCH}); keep it mild: rotations up to ~15 degrees, shifts up to ~10 %, "
                               "scale 0.9-1.1, brightness/contrast, horizontal flips; no large crops, erasing or "
                               "upside-down faces")

    with ck.part("augment_dataset", 1.5):
        x, y = _expand_inputs(seed)
        r = unwrap(out.get("expand", Bad("missing", "no result")), "augment_dataset")
        n, h, w = len(y), x.shape[1], x.shape[2]
        total = n * (AUG_COPIES + 1)
        ctx = f"augment_dataset on {n} faces of {h}x{w}, copies={AUG_COPIES}"
        xr, yr = r
        if not isinstance(xr, dict) or not xr.get("tensor"):
            raise Fail(f"{ctx}: x is a {xr.get('type') if isinstance(xr, dict) else '?'}; return a float32 tensor")
        if tuple(xr.get("shape") or ()) != (total, 3, h, w):
            raise Fail(f"{ctx}: x has shape {tuple(xr.get('shape') or ())}, expected {(total, 3, h, w)}: "
                       f"the {n} originals plus {AUG_COPIES} augmented copies of each")
        if xr.get("dtype") != "float32":
            raise Fail(f"{ctx}: x has dtype {xr.get('dtype')}, expected float32")
        if not isinstance(yr, dict) or tuple(yr.get("shape") or ()) != (total,):
            raise Fail(f"{ctx}: y has shape {tuple(yr.get('shape') or ()) if isinstance(yr, dict) else '?'}, "
                       f"expected ({total},): one label per image of x")
        ya = yr.get("array")
        want_y = np.tile(y, AUG_COPIES + 1)
        if not isinstance(ya, np.ndarray) or not np.array_equal(ya.astype(np.int64), want_y):
            raise Fail(f"{ctx}: the labels do not follow the images: y must be the labels of the originals, then the "
                       f"same labels again for every round of copies (an augmented face keeps its label)")
        if not yr.get("tensor") or yr.get("dtype") != "int64":
            raise Fail(f"{ctx}: y is a {yr.get('type')} of dtype {yr.get('dtype')}; return an int64 tensor "
                       "(torch.as_tensor(labels, dtype=torch.long))")
        xa = xr.get("array")
        orig = x.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        if float(np.max(np.abs(xa[:n] - orig))) > 1e-4:
            raise Fail(f"{ctx}: the first {n} images must be the originals as img / 255 (channels first), in order")
        for k in range(1, AUG_COPIES + 1):
            block = xa[k * n:(k + 1) * n]
            if float(np.max(np.abs(block - (1.0 - orig)))) > 1e-4:
                raise Fail(f"{ctx}: images {k * n}..{(k + 1) * n - 1} must be transform(images[i]) for i = 0..{n - 1} "
                           f"in order (round {k} of the copies); they are not what the given transform returns")


# --------------------------------------------------------------------------
# hw5.transfer_vgg

TRANSFER_CASES = [({}, 8), ({"num_classes": 5, "pretrained": False}, 5)]
TRANSFER_INPUTS = [(2, 3, 32, 32), (1, 3, 48, 40)]


def _describe_layer(m) -> list:
    import torch.nn as nn

    if isinstance(m, nn.Conv2d):
        if m.padding == "same":
            pad = [(int(k) - 1) * int(d) // 2 for k, d in zip(m.kernel_size, m.dilation)]
        elif m.padding == "valid":
            pad = [0, 0]
        else:
            pad = [int(p) for p in m.padding]
        return ["conv", int(m.in_channels), int(m.out_channels), [int(k) for k in m.kernel_size],
                [int(s) for s in m.stride], pad]
    if isinstance(m, nn.MaxPool2d):
        k = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
        s = m.stride if isinstance(m.stride, int) else m.stride[0]
        return ["maxpool", int(k), int(s)]
    if isinstance(m, nn.Linear):
        return ["linear", int(m.in_features), int(m.out_features), m.bias is not None]
    if isinstance(m, nn.ReLU):
        return ["relu"]
    if isinstance(m, nn.Dropout):
        return ["dropout"]
    return [type(m).__name__]


def _leaf_layers(module) -> list:
    return [_describe_layer(m) for m in module.modules() if not list(m.children())]


def probe_transfer(ns, seed):
    import gc

    import torch
    import torch.nn as nn

    out = {}
    for case, (kwargs, classes) in enumerate(TRANSFER_CASES):
        rec: dict = {}
        out[case] = rec
        torch.manual_seed(seed + case)
        m = ns.call("build_transfer_model", **kwargs)
        if isinstance(m, Bad):
            rec["error"] = m
            continue
        if not isinstance(m, nn.Module):
            rec["error"] = Bad("missing", f"returned a {type(m).__name__}, not an nn.Module")
            continue
        m = m.cpu()
        rec["type"] = type(m).__name__
        rec["params"] = [[n, list(p.shape), bool(p.requires_grad)] for n, p in m.named_parameters()]
        feats = getattr(m, "features", None)
        rec["features"] = _leaf_layers(feats) if isinstance(feats, nn.Module) else None
        cls = getattr(m, "classifier", None)
        rec["classifier"] = _leaf_layers(cls) if isinstance(cls, nn.Module) else None
        head = None
        if isinstance(cls, nn.Sequential) and len(cls) > 0 and isinstance(cls[-1], nn.Linear):
            head = cls[-1]
        names = {id(p): n for n, p in m.named_parameters()}
        rec["head"] = None if head is None else [names.get(id(p)) for p in head.parameters()]
        # shapes: a train-mode forward and backward, then eval mode on another size
        g = torch.Generator().manual_seed(seed)
        m.train()
        x = torch.rand(*TRANSFER_INPUTS[0], generator=g)

        def step(x=x):
            y = m(x)
            if not torch.is_tensor(y):
                return f"a {type(y).__name__}"
            shape = list(y.shape)
            if y.requires_grad:
                (y * torch.randn(y.shape, generator=g)).sum().backward()
            return shape

        rec["shape0"] = ns.guard(step)
        rec["grads"] = [n for n, p in m.named_parameters() if p.grad is not None and bool(p.grad.abs().sum() > 0)]
        m.eval()
        with torch.no_grad():
            y = ns.guard(m, torch.rand(*TRANSFER_INPUTS[1], generator=g))
        rec["shape1"] = y if isinstance(y, Bad) else (list(y.shape) if torch.is_tensor(y) else f"a {type(y).__name__}")
        if case == 0:
            opt = ns.call("make_transfer_optimizer", m, 0.0123)
            if isinstance(opt, Bad):
                rec["opt"] = opt
            elif not isinstance(opt, torch.optim.Optimizer):
                rec["opt"] = Bad("missing", f"returned a {type(opt).__name__}, not a torch.optim.Optimizer")
            else:
                groups = []
                for gr in opt.param_groups:
                    groups.append({"params": [names.get(id(p), "<not a parameter of the model>") for p in gr["params"]],
                                   "lr": float(gr.get("lr", float("nan")))})
                rec["opt"] = groups
        del m
        gc.collect()
    return out


@functools.lru_cache(maxsize=None)
def vgg16_reference(num_classes: int) -> dict:
    """Layers and parameter names of torchvision's VGG16 with a new last layer (meta device: no memory)."""
    import torch
    import torch.nn as nn
    from torchvision.models import vgg16
    from torchvision.models.vgg import cfgs

    with torch.device("meta"):
        m = vgg16()
        m.classifier[6] = nn.Linear(4096, num_classes)
    feats = []
    cin = 3
    for v in cfgs["D"]:
        if v == "M":
            feats.append(["maxpool", 2, 2])
        else:
            feats += [["conv", cin, int(v), [3, 3], [1, 1], [1, 1]], ["relu"]]
            cin = int(v)
    return {"features": feats, "classifier": _leaf_layers(m.classifier),
            "params": [[n, list(p.shape)] for n, p in m.named_parameters()],
            "head": ["classifier.6.weight", "classifier.6.bias"],
            "count": int(sum(p.numel() for p in m.parameters()))}


def _layers_text(layers: list) -> str:
    out = []
    for la in layers:
        if la[0] == "conv":
            out.append(f"conv{la[1]}->{la[2]}")
        elif la[0] == "maxpool":
            out.append("M")
        elif la[0] == "linear":
            out.append(f"linear{la[1]}->{la[2]}")
    return " ".join(out)


def judge_transfer(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    parts = [("model", 1.0), ("VGG16 features", 1.0), ("new head", 1.5), ("frozen", 2.0), ("gradients", 0.5)]
    n = len(TRANSFER_CASES)
    for case, (kwargs, classes) in enumerate(TRANSFER_CASES):
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        ctx = f"build_transfer_model({args})"
        rec = out.get(case)
        if not isinstance(rec, dict) or "error" in rec:
            err = rec.get("error") if isinstance(rec, dict) else Bad("missing", "no result")
            fail_all(ck, [(p, w / n) for p, w in parts], err.describe(ctx))
            continue
        ref = vgg16_reference(classes)
        with ck.part("model", 1.0 / n):
            for key, shape in (("shape0", TRANSFER_INPUTS[0]), ("shape1", TRANSFER_INPUTS[1])):
                got = unwrap(rec.get(key), f"{ctx}: the model on a batch of shape {shape}")
                if isinstance(got, str):
                    raise Fail(f"{ctx}: the model returned {got} for a batch of shape {shape}; return logits")
                if list(got) != [shape[0], classes]:
                    hint = " (the ImageNet head was not replaced)" if list(got) == [shape[0], 1000] else ""
                    raise Fail(f"{ctx}: the model maps a batch of shape {shape} to {tuple(got)}, expected "
                               f"({shape[0]}, {classes}){hint}")
        with ck.part("VGG16 features", 1.0 / n):
            feats = rec.get("features")
            if feats is None:
                raise Fail(f"{ctx}: the model has no `features` module; start from torchvision.models.vgg16()")
            if feats != ref["features"]:
                raise Fail(f"{ctx}: `features` is not VGG16's: {_layers_text(feats)[:160]}; expected torchvision's "
                           f"configuration D: {_layers_text(ref['features'])}")
        with ck.part("new head", 1.5 / n):
            cls = rec.get("classifier")
            if cls is None:
                raise Fail(f"{ctx}: the model has no `classifier` module; keep VGG16's and replace its last layer")
            if cls != ref["classifier"]:
                got_lin = [la for la in cls if la[0] == "linear"]
                want_lin = [la for la in ref["classifier"] if la[0] == "linear"]
                if got_lin and got_lin[-1][2] == 1000:
                    raise Fail(f"{ctx}: the last Linear still has 1000 outputs (ImageNet's); replace classifier[6] by "
                               f"nn.Linear(4096, {classes})")
                raise Fail(f"{ctx}: the classifier is {_layers_text(cls)}, expected VGG16's "
                           f"{_layers_text(want_lin)} with only the last layer replaced (Linear(4096, {classes}))")
            params = [p[:2] for p in _list(rec.get("params"))]
            if params != ref["params"]:
                raise Fail(f"{ctx}: the parameters are not VGG16's with a new {classes}-class last layer "
                           f"({sum(int(np.prod(p[1])) for p in params):,} parameters, expected {ref['count']:,})")
        with ck.part("frozen", 2.0 / n):
            trainable = sorted(p[0] for p in _list(rec.get("params")) if p[2])
            head = sorted(ref["head"])
            if trainable != head:
                extra = [t for t in trainable if t not in head]
                missing = [h for h in head if h not in trainable]
                if not trainable:
                    raise Fail(f"{ctx}: no parameter requires grad: the new layer must stay trainable (set "
                               "requires_grad=False before replacing classifier[6], or only on the old layers)")
                if missing:
                    raise Fail(f"{ctx}: the new layer's {', '.join(missing)} does not require grad: train both the "
                               "weight and the bias of the new layer")
                feat = [t for t in extra if t.startswith("features.")]
                if feat:
                    raise Fail(f"{ctx}: {len(extra)} parameter tensors besides the new layer require grad, "
                               f"{len(feat)} of them in `features` ({feat[0]}...): freeze the feature extractor")
                raise Fail(f"{ctx}: {', '.join(extra[:3])}{'...' if len(extra) > 3 else ''} require grad: only the "
                           "new last layer may be trained (freeze the rest of the classifier too)")
        with ck.part("gradients", 0.5 / n):
            grads = sorted(_list(rec.get("grads")))
            if grads != sorted(ref["head"]):
                raise Fail(f"{ctx}: after a backward pass {len(grads)} parameter tensors have gradients "
                           f"({', '.join(grads[:3])}{'...' if len(grads) > 3 else ''}), expected exactly the new layer's "
                           "weight and bias")
    with ck.part("optimizer", 1.0):
        rec = out.get(0)
        if isinstance(rec, dict) and isinstance(rec.get("error"), Bad):
            raise Fail(rec["error"].describe("build_transfer_model(), needed to check make_transfer_optimizer"))
        if not isinstance(rec, dict) or "opt" not in rec:
            raise Fail("make_transfer_optimizer could not be called (build_transfer_model() failed)")
        groups = unwrap(rec["opt"], "make_transfer_optimizer(model, lr=0.0123)")
        ctx = "make_transfer_optimizer(model, lr=0.0123)"
        names = [p for g in groups for p in g["params"]]
        if len(names) != len(set(names)):
            raise Fail(f"{ctx}: a parameter appears twice in the optimizer")
        trainable = sorted(p[0] for p in _list(rec.get("params")) if p[2])
        if sorted(names) != trainable:
            raise Fail(f"{ctx}: the optimizer holds {len(names)} parameter tensors, expected exactly the "
                       f"{len(trainable)} that require grad (pass [p for p in model.parameters() if p.requires_grad])")
        lrs = {round(g["lr"], 8) for g in groups}
        if lrs != {0.0123}:
            raise Fail(f"{ctx}: learning rate {sorted(lrs)}, expected the lr passed in (0.0123)")


def _list(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) else []


# --------------------------------------------------------------------------
# hw5.light_vgg

LIGHT_CASES = [({}, 8), ({"num_outputs": 2}, 2)]
LIGHT_CONVS = [(3, 16), (16, 16), (16, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128), (128, 128), (128, 128)]
LIGHT_SIZES = [128, 128, 64, 64, 32, 32, 16, 16, 8, 8]
LIGHT_KEY = 53


def _layer_weights(seed: int, case: int, i: int, wshape: tuple, bshape: tuple | None):
    """The weights the grader puts into layer ``i`` (convs, then Linear layers)."""
    rng = np.random.default_rng([int(seed), LIGHT_KEY, case, i])
    fan_in = int(np.prod(wshape[1:]))
    w = rng.normal(0.0, np.sqrt(2.0 / fan_in), wshape).astype(np.float32)
    b = None if bshape is None else rng.normal(0.0, 0.05, bshape).astype(np.float32)
    return w, b


def _light_input(seed: int, case: int) -> np.ndarray:
    return np.random.default_rng([int(seed), LIGHT_KEY, case, 99]).uniform(0.0, 1.0, (2, 3, 128, 128)).astype(np.float32)


def probe_light(ns, seed):
    import torch
    import torch.nn as nn

    out = {}
    for case, (kwargs, classes) in enumerate(LIGHT_CASES):
        rec: dict = {}
        out[case] = rec
        torch.manual_seed(seed + case)
        m = ns.call("LightVGG", **kwargs)
        if isinstance(m, Bad):
            rec["error"] = m
            continue
        if not isinstance(m, nn.Module):
            rec["error"] = Bad("missing", f"built a {type(m).__name__}, not an nn.Module")
            continue
        convs = [c for c in m.modules() if isinstance(c, nn.Conv2d)]
        lins = [c for c in m.modules() if isinstance(c, nn.Linear)]
        rec["convs"] = [_describe_layer(c) + [c.bias is not None] for c in convs]
        rec["linears"] = [_describe_layer(c) for c in lins]
        rec["other"] = sorted({type(c).__name__ for c in m.modules() if not isinstance(c, (nn.Conv2d, nn.Linear))
                               and any(v is not None for v in getattr(c, "_parameters", {}).values())})
        rec["params"] = int(sum(p.numel() for p in m.parameters()))
        seen: list = []
        hooks = [c.register_forward_hook(lambda mod, i, o, k=k: seen.append([k, *[int(s) for s in o.shape[-2:]]]))
                 for k, c in enumerate(convs)]
        x = torch.from_numpy(_light_input(seed, case))
        m.train()
        y = ns.guard(m, x.clone())
        for h in hooks:
            h.remove()
        rec["maps"] = seen
        rec["shape"] = y if isinstance(y, Bad) else (list(y.shape) if torch.is_tensor(y) else f"a {type(y).__name__}")
        # seeded weights, eval mode: the judge recomputes this output
        with torch.no_grad():
            for i, layer in enumerate(convs + lins):
                w, b = _layer_weights(seed, case, i, tuple(layer.weight.shape),
                                      None if layer.bias is None else tuple(layer.bias.shape))
                layer.weight.copy_(torch.from_numpy(w))
                if b is not None:
                    layer.bias.copy_(torch.from_numpy(b))
            m.eval()
            y = ns.guard(m, x.clone())
        rec["eval_out"] = y if isinstance(y, Bad) else (y.detach().cpu().numpy().astype(np.float32)
                                                       if torch.is_tensor(y) else Bad("missing", f"returned a {type(y).__name__}"))
    return out


@functools.lru_cache(maxsize=None)
def light_reference_class():
    import torch.nn as nn

    class RefLightVGG(nn.Module):
        def __init__(self, num_outputs=8):
            super().__init__()
            layers = []
            for k, (cin, cout) in enumerate(LIGHT_CONVS):
                layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU()]
                if k % 2 == 1:
                    layers.append(nn.MaxPool2d(2))
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2048, 1024), nn.ReLU(), nn.Linear(1024, 1024),
                                            nn.ReLU(), nn.Linear(1024, num_outputs))

        def forward(self, x):
            return self.classifier(self.features(x))

    return RefLightVGG


def light_param_count(num_outputs: int = 8) -> int:
    m = light_reference_class()(num_outputs)
    return int(sum(p.numel() for p in m.parameters()))


def judge_light(out, seed, ck):
    import torch
    import torch.nn as nn

    out = out if isinstance(out, dict) else {}
    n = len(LIGHT_CASES)
    for case, (kwargs, classes) in enumerate(LIGHT_CASES):
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        ctx = f"LightVGG({args})"
        rec = out.get(case)
        parts = [("output", 1.0), ("layers", 1.5), ("feature maps", 0.5), ("parameters", 1.5), ("forward", 1.5)]
        if not isinstance(rec, dict) or "error" in rec:
            err = rec.get("error") if isinstance(rec, dict) else Bad("missing", "no result")
            fail_all(ck, [(p, w / n) for p, w in parts], err.describe(ctx))
            continue
        want_convs = [["conv", a, b, [3, 3], [1, 1], [1, 1], True] for a, b in LIGHT_CONVS]
        want_lins = [["linear", 2048, 1024, True], ["linear", 1024, 1024, True], ["linear", 1024, classes, True]]
        with ck.part("output", 1.0 / n):
            got = unwrap(rec.get("shape"), f"{ctx} on a (2, 3, 128, 128) batch")
            if isinstance(got, str):
                raise Fail(f"{ctx}: forward returned {got}, not a tensor")
            if list(got) != [2, classes]:
                raise Fail(f"{ctx}: output shape {tuple(got)} for a (2, 3, 128, 128) batch, expected (2, {classes})"
                           + ("" if classes == 8 else ": use num_outputs for the last layer"))
        with ck.part("layers", 1.5 / n):
            convs = _list(rec.get("convs"))
            if [c[1:3] for c in convs] != [list(c) for c in LIGHT_CONVS]:
                raise Fail(f"{ctx}: convs (in->out) {_layers_text(convs)}, expected "
                           f"{_layers_text(want_convs)} (two 3x3 convs per block)")
            for i, c in enumerate(convs):
                if c[3] != [3, 3] or c[4] != [1, 1] or c[5] != [1, 1]:
                    raise Fail(f"{ctx}: conv {i + 1} has kernel {tuple(c[3])}, stride {tuple(c[4])}, padding "
                               f"{c[5] if isinstance(c[5], str) else tuple(c[5])}; expected 3x3, stride 1, padding 1 "
                               "(the size is kept by the conv and halved by the pools only)")
                if not c[6]:
                    raise Fail(f"{ctx}: conv {i + 1} has no bias; the light VGG's convs have one (no BatchNorm)")
            lins = _list(rec.get("linears"))
            if lins != want_lins:
                raise Fail(f"{ctx}: Linear layers {_layers_text(lins)}, expected {_layers_text(want_lins)} "
                           f"(flatten 128 x 4 x 4 = 2048 after five 2x2 pools of 128x128)")
            other = _list(rec.get("other"))
            if other:
                raise Fail(f"{ctx}: layers with parameters besides Conv2d and Linear: {', '.join(other)} "
                           "(the light VGG has no BatchNorm)")
        with ck.part("feature maps", 0.5 / n):
            maps = [m_ for m_ in _list(rec.get("maps")) if isinstance(m_, (list, tuple)) and len(m_) == 3]
            sizes = [m_[1] for m_ in maps]
            if sizes != LIGHT_SIZES or any(m_[1] != m_[2] for m_ in maps):
                raise Fail(f"{ctx}: on 128x128 input the convs' outputs are {[f'{a}x{b}' for _, a, b in maps]}, "
                           f"expected {LIGHT_SIZES} (square): a 2x2 max-pool after every second conv")
        with ck.part("parameters", 1.5 / n):
            want = light_param_count(classes)
            got = rec.get("params")
            if got != want:
                raise Fail(f"{ctx}: {got:,} parameters, expected {want:,}" if isinstance(got, int)
                           else f"{ctx}: its parameters could not be counted")
        with ck.part("forward", 1.5 / n):
            got = unwrap(rec.get("eval_out"), f"{ctx}: forward in eval mode")
            if _list(rec.get("convs")) != want_convs or _list(rec.get("linears")) != want_lins:
                raise Fail(f"{ctx}: the layers differ from the light VGG's (see above), so its output cannot match")
            ref = light_reference_class()(classes).double().eval()
            layers = [m_ for m_ in ref.modules() if isinstance(m_, (nn.Conv2d, nn.Linear))]
            with torch.no_grad():
                for i, layer in enumerate(layers):
                    w, b = _layer_weights(seed, case, i, tuple(layer.weight.shape), tuple(layer.bias.shape))
                    layer.weight.copy_(torch.from_numpy(w.astype(np.float64)))
                    layer.bias.copy_(torch.from_numpy(b.astype(np.float64)))
                want = ref(torch.from_numpy(_light_input(seed, case).astype(np.float64))).numpy()
            if not isinstance(got, np.ndarray) or got.shape != want.shape:
                raise Fail(f"{ctx}: eval output of shape {getattr(got, 'shape', '?')}, expected {want.shape}")
            err = float(np.max(np.abs(got - want))) / max(float(np.max(np.abs(got) + np.abs(want))), 1e-12)
            if not err <= 1e-4:
                raise Fail(f"{ctx}: with the grader's weights in your layers the output differs from the light VGG's "
                           f"(max relative error {err:.1e}): check the ReLUs (after every conv and the two hidden "
                           "Linear layers, none after the last), the pools and the flatten order (N, C*H*W)")


ITEMS = [
    Item("hw5.augmentation", 5, ("make_face_transforms", "augment_dataset"), probe_augmentation, judge_augmentation,
         title="Faces: label-preserving augmentation and the augmented data set", timeout=30),
    Item("hw5.transfer_vgg", 7, ("build_transfer_model", "make_transfer_optimizer"), probe_transfer, judge_transfer,
         title="Transfer learning from VGG16: frozen features, a new trainable head", timeout=60, memory_mb=3072),
    Item("hw5.light_vgg", 6, ("LightVGG",), probe_light, judge_light,
         title="The light VGG (128x128 input): layers and parameter count", timeout=30),
]
