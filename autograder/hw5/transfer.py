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

Split: the probe half (the faces, the grader's transform, the model builders' calls and
what is recorded about the models) is ``autograder/probes/hw5/transfer.py``; this module
holds the judges (the expected architectures, parameter counts and the reference light
VGG) and imports the input builders from there. ``best_match`` (the face-matching
measure) and the channel normalization come from the judges' toolkit (:mod:`autograder.judging`).
"""
from __future__ import annotations

import functools

import numpy as np

from ..core import Bad, Fail, Item, unwrap
from ..judging import best_match, channel_normalization, fail_all, normalize_reason, part, undo_normalization
from ..probes.hw5 import transfer as probe_side
from ..probes.hw5.transfer import (AUG_COPIES, AUG_DRAWS, AUG_N_DRAWN, LIGHT_KWARGS, TRANSFER_INPUTS, TRANSFER_KWARGS,
                                   aug_images, expand_inputs, layer_weights, leaf_layers, light_input)

# --------------------------------------------------------------------------
# hw5.augmentation

# Normalize(mean, std) after the conversion is a convention of its own (torchvision's pretrained
# models and the PyTorch transfer-learning tutorial use ImageNet's mean and std; this notebook
# keeps [0, 1]): the eval output part accepts a per-channel normalisation of img / 255, the train
# outputs are judged after undoing it, and this part alone asks for no Normalize.
NORMALIZE_WEIGHT = 0.3
AUG_MIN_MATCH = 0.70   # mean best match of the augmented face's centre in the original (or its mirror)
AUG_MAX_UPSIDE = 0.15  # share of augmented faces that match the upside-down original better


def _face(i: int, img: np.ndarray) -> str:
    kind = "drawn face" if i < AUG_N_DRAWN else "real (lfw) face"
    return f"a {img.shape[0]}x{img.shape[1]} {kind}"


def _check_output(rec, what: str, shape: tuple, ctx: str) -> np.ndarray:
    rec = unwrap(rec, what)
    if not isinstance(rec, dict):
        raise Fail(f"{what}: no output ({ctx})")
    if rec.get("tensor") is not True:
        raise Fail(f"{what}: returned a {rec.get('type')} ({ctx}); return a torch tensor (e.g. end with "
                   f"v2.ToDtype(torch.float32, scale=True))")
    if rec.get("dtype") != "float32":
        raise Fail(f"{what}: returned a tensor of dtype {rec.get('dtype')} ({ctx}); it must be float32")
    got = rec.get("shape")
    got = tuple(got) if isinstance(got, (list, tuple)) else "?"
    if got != shape:
        raise Fail(f"{what}: returned shape {got} for {ctx}; expected {shape}, channels first and the input's size "
                   f"(no fixed-size resize or crop)")
    a = rec.get("array")
    if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype.kind not in "fiu":
        raise Fail(f"{what}: the output could not be read ({ctx})")
    a = a.astype(np.float32)
    if not np.all(np.isfinite(a)):
        raise Fail(f"{what}: the output contains NaN or inf ({ctx})")
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
    images = aug_images(seed)
    faces = f"{AUG_N_DRAWN} drawn faces of 64x64 and {len(images) - AUG_N_DRAWN} real faces of 48x48"
    fn = "`make_face_transforms(False)`"
    ev = out.get(False, Bad("missing", "no result"))
    norm = None  # a per-channel Normalize the eval transform applies (another convention), undone below
    where = [f"{fn} ({faces})"]
    if not isinstance(ev, list):
        fail_all(ck, [("make_face_transforms(False): output", 1.0 - NORMALIZE_WEIGHT),
                      ("make_face_transforms(False): no Normalize", NORMALIZE_WEIGHT)],
                 ev.describe(fn) if isinstance(ev, Bad) else f"{fn}: no result")
    else:
        evals = []  # (the expected img / 255, what the transform gave)
        eval_ok = False
        with part(ck, "make_face_transforms(False): output", 1.0 - NORMALIZE_WEIGHT, where):
            if len(ev) != len(images):
                raise Fail(f"{fn}: no result for some of the faces ({faces})")
            for i, (img, draws) in enumerate(zip(images, ev)):
                ctx = _face(i, img)
                where[0] = f"{fn} (on {ctx})"
                shape = (3, img.shape[0], img.shape[1])
                want = img.transpose(2, 0, 1).astype(np.float32) / 255.0
                a = _check_output(draws[0], fn, shape, ctx)
                b = _check_output(draws[1], fn, shape, ctx)
                if not np.array_equal(a, b):
                    raise Fail(f"{fn} is random: two calls on {ctx} differ; the eval transform must only convert "
                               "(no augmentation at test time)")
                evals.append((want, a))
            norm = channel_normalization(evals)
            for i, (want, a) in enumerate(evals):
                ctx = _face(i, images[i])
                err = float(np.max(np.abs(a - want)))
                if err > 1e-4 and norm is None:
                    hint = " (values 0-255: divide by 255)" if abs(float(a.mean()) - float(want.mean()) * 255) < 1 else ""
                    raise Fail(f"{fn} must return exactly img / 255 as a {want.shape} tensor; on {ctx} the max "
                               f"difference is {err:.3g}{hint}")
            eval_ok = True
        with part(ck, "make_face_transforms(False): no Normalize", NORMALIZE_WEIGHT, where):
            if not eval_ok:
                raise Fail(f"{fn}: its outputs are not img / 255 (see above)")
            if norm is not None:
                raise Fail(normalize_reason(fn, norm))

    fn = "`make_face_transforms(True)`"
    names = ["make_face_transforms(True): output", "make_face_transforms(True): random",
             "make_face_transforms(True): keeps the face"]
    parts_train = list(zip(names, (0.5, 0.5, 1.5)))
    tr = out.get(True, Bad("missing", "no result"))
    where = [f"{fn} ({faces}, {AUG_DRAWS} calls each)"]
    if not isinstance(tr, list):
        fail_all(ck, parts_train, tr.describe(fn) if isinstance(tr, Bad) else f"{fn}: no result")
    else:
        arrays: list[list[np.ndarray]] = []
        with part(ck, names[0], 0.5, where):
            if len(tr) != len(images):
                raise Fail(f"{fn}: no result for some of the faces ({faces})")
            for i, (img, draws) in enumerate(zip(images, tr)):
                ctx = _face(i, img)
                where[0] = f"{fn} (on {ctx})"
                shape = (3, img.shape[0], img.shape[1])
                if not isinstance(draws, (list, tuple)) or len(draws) != AUG_DRAWS:
                    raise Fail(f"{fn}: no result for some of the {AUG_DRAWS} calls on {ctx}")
                row = []
                for rec in draws:
                    a = undo_normalization(_check_output(rec, fn, shape, ctx), norm)
                    if a.min() < -1e-3 or a.max() > 1 + 1e-3:
                        raise Fail(f"{fn} returned values in [{a.min():.3g}, {a.max():.3g}] on {ctx}; keep them "
                                   "in [0, 1] (clamp after brightness changes or noise; no Normalize)")
                    row.append(a)
                arrays.append(row)
        if len(arrays) != len(images):
            fail_all(ck, parts_train[1:], f"{fn}: its outputs could not be checked (see above)")
        else:
            where = f"{fn} ({faces}, {AUG_DRAWS} calls each)"
            with part(ck, names[1], 0.5, where):
                varied = sum(1 for row in arrays if any(np.max(np.abs(row[0] - o)) > 1e-3 for o in row[1:]))
                if varied < len(arrays) - 1:
                    raise Fail(f"{fn} gave the same output on {AUG_DRAWS} calls for {len(arrays) - varied} of "
                               f"{len(arrays)} faces ({faces}); augmentation must be random (a new variation at every "
                               "call)")
            with part(ck, names[2], 1.5, where):
                match, upside = face_stats(images, arrays)
                if upside > AUG_MAX_UPSIDE and match >= AUG_MIN_MATCH:
                    raise Fail(f"{fn}: {upside:.0%} of the augmented faces look more like the upside-down original "
                               f"than the original ({faces}): no vertical flips and no large rotations (a horizontal "
                               "flip is fine)")
                if match < AUG_MIN_MATCH or upside > AUG_MAX_UPSIDE:
                    raise Fail(f"{fn}: the augmented faces are too far from the originals (mean match {match:.2f}, "
                               f"needs >= {AUG_MIN_MATCH}; {faces}); keep it mild: rotations up to ~15 degrees, shifts "
                               "up to ~10 %, scale 0.9-1.1, brightness/contrast, horizontal flips; no large crops, "
                               "erasing or upside-down faces")

    x, y = expand_inputs(seed)
    n, h, w = len(y), x.shape[1], x.shape[2]
    total = n * (AUG_COPIES + 1)
    ctx = f"`augment_dataset` on {n} faces of {h}x{w}, copies={AUG_COPIES}, with a colour-inverting transform"
    with part(ck, "augment_dataset: data set", 1.5, ctx):
        r = unwrap(out.get("expand", Bad("missing", "no result")), "`augment_dataset`")
        if not isinstance(r, (list, tuple)) or len(r) != 2:
            raise Fail(f"{ctx}: returned something other than the pair (x, y)")
        xr, yr = r
        xr = unwrap(xr, f"{ctx}: x")
        yr = unwrap(yr, f"{ctx}: y")
        if not isinstance(xr, dict) or xr.get("tensor") is not True:
            raise Fail(f"{ctx}: x is a {xr.get('type') if isinstance(xr, dict) else '?'}; return a float32 tensor")
        xs = xr.get("shape")
        xs = tuple(xs) if isinstance(xs, (list, tuple)) else "?"
        if xs != (total, 3, h, w):
            raise Fail(f"{ctx}: x has shape {xs}, expected {(total, 3, h, w)}: the {n} originals plus {AUG_COPIES} "
                       "augmented copies of each")
        if xr.get("dtype") != "float32":
            raise Fail(f"{ctx}: x has dtype {xr.get('dtype')}, expected float32")
        ys = yr.get("shape") if isinstance(yr, dict) else None
        ys = tuple(ys) if isinstance(ys, (list, tuple)) else "?"
        if ys != (total,):
            raise Fail(f"{ctx}: y has shape {ys}, expected ({total},): one label per image of x")
        ya = yr.get("array")
        want_y = np.tile(y, AUG_COPIES + 1)
        if (not isinstance(ya, np.ndarray) or ya.shape != want_y.shape or ya.dtype.kind not in "fiu"
                or not np.array_equal(ya.astype(np.int64), want_y)):
            raise Fail(f"{ctx}: the labels do not follow the images: y must be the labels of the originals, then the "
                       f"same labels again for every round of copies (an augmented face keeps its label)")
        if yr.get("tensor") is not True or yr.get("dtype") != "int64":
            raise Fail(f"{ctx}: y is a {yr.get('type')} of dtype {yr.get('dtype')}; return an int64 tensor "
                       "(torch.as_tensor(labels, dtype=torch.long))")
        xa = xr.get("array")
        if not isinstance(xa, np.ndarray) or xa.shape != (total, 3, h, w) or xa.dtype.kind not in "fiu":
            raise Fail(f"{ctx}: x could not be read")
        orig = x.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        if not float(np.max(np.abs(xa[:n] - orig))) <= 1e-4:
            raise Fail(f"{ctx}: the first {n} images must be the originals as img / 255 (channels first), in order")
        for k in range(1, AUG_COPIES + 1):
            block = xa[k * n:(k + 1) * n]
            if not float(np.max(np.abs(block - (1.0 - orig)))) <= 1e-4:
                raise Fail(f"{ctx}: images {k * n}..{(k + 1) * n - 1} must be transform(images[i]) for i = 0..{n - 1} "
                           f"in order (round {k} of the copies); they are not what the given transform returns")


# --------------------------------------------------------------------------
# hw5.transfer_vgg

TRANSFER_CLASSES = [8, 5]  # the number of classes each call of TRANSFER_KWARGS asks for
# Which layers train is a convention of its own where it differs between widely used guides:
# the classifier's two hidden Linear layers frozen (the notebook, the PyTorch fine-tuning
# tutorial's feature extraction) or trained (Keras's guide freezes the convolutional base
# only). The frozen and gradient parts accept both; this part, per call, asks for the first.
HIDDEN_WEIGHT = 0.4


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
    return {"features": feats, "classifier": leaf_layers(m.classifier),
            "params": [[n, list(p.shape)] for n, p in m.named_parameters()],
            "head": ["classifier.6.weight", "classifier.6.bias"],
            "count": int(sum(p.numel() for p in m.parameters()))}


def _layers_text(layers) -> str:
    out = []
    for la in _list(layers):
        if not isinstance(la, (list, tuple)) or not la:
            out.append("?")
        elif la[0] == "conv" and len(la) >= 3:
            out.append(f"conv{la[1]}->{la[2]}")
        elif la[0] == "maxpool":
            out.append("M")
        elif la[0] == "linear" and len(la) >= 3:
            out.append(f"linear{la[1]}->{la[2]}")
    return " ".join(out)


def _list(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) else []


def _names(v) -> list[str]:
    """A list of parameter names as the probe sent it (anything else: the names it holds)."""
    return [n for n in _list(v) if isinstance(n, str)]


def _error_of(rec, what: str) -> str:
    """Why a model could not be built, as the probe recorded it."""
    err = rec.get("error") if isinstance(rec, dict) else None
    return err.describe(what) if isinstance(err, Bad) else f"{what}: no result"


def judge_transfer(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    parts = [("build_transfer_model: output", 1.0), ("build_transfer_model: VGG16 features", 1.0),
             ("build_transfer_model: new head", 1.5), ("build_transfer_model: frozen", 2.0),
             ("build_transfer_model: gradients", 0.5)]
    n = len(TRANSFER_KWARGS)
    for case, (kwargs, classes) in enumerate(zip(TRANSFER_KWARGS, TRANSFER_CLASSES)):
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        ctx = f"`build_transfer_model({args})`"
        rec = out.get(case)
        if not isinstance(rec, dict) or "error" in rec:
            fail_all(ck, [(p, w / n) for p, w in parts], _error_of(rec, ctx))
            continue
        ref = vgg16_reference(classes)
        with part(ck, parts[0][0], 1.0 / n, ctx):
            for key, shape in (("shape0", TRANSFER_INPUTS[0]), ("shape1", TRANSFER_INPUTS[1])):
                got = unwrap(rec.get(key), f"{ctx}: the model on a batch of shape {shape}")
                if isinstance(got, str):
                    raise Fail(f"{ctx}: the model returned {got} for a batch of shape {shape}; return logits")
                if list(got) != [shape[0], classes]:
                    hint = " (the ImageNet head was not replaced)" if list(got) == [shape[0], 1000] else ""
                    raise Fail(f"{ctx}: the model maps a batch of shape {shape} to {tuple(got)}, expected "
                               f"({shape[0]}, {classes}){hint}")
        with part(ck, parts[1][0], 1.0 / n, ctx):
            feats = rec.get("features")
            if feats is None:
                raise Fail(f"{ctx}: the model has no `features` module; start from torchvision.models.vgg16()")
            if feats != ref["features"]:
                raise Fail(f"{ctx}: `features` is not VGG16's: {_layers_text(feats)[:160]}; expected torchvision's "
                           f"configuration D: {_layers_text(ref['features'])}")
        with part(ck, parts[2][0], 1.5 / n, ctx):
            cls = rec.get("classifier")
            if cls is None:
                raise Fail(f"{ctx}: the model has no `classifier` module; keep VGG16's and replace its last layer")
            if cls != ref["classifier"]:
                got_lin = [la for la in _list(cls) if isinstance(la, (list, tuple)) and len(la) >= 3 and la[0] == "linear"]
                want_lin = [la for la in ref["classifier"] if la[0] == "linear"]
                if got_lin and got_lin[-1][2] == 1000:
                    raise Fail(f"{ctx}: the last Linear still has 1000 outputs (ImageNet's); replace classifier[6] by "
                               f"nn.Linear(4096, {classes})")
                raise Fail(f"{ctx}: the classifier is {_layers_text(cls)[:160]}, expected VGG16's "
                           f"{_layers_text(want_lin)} with only the last layer replaced (Linear(4096, {classes}))")
            params = [p[:2] for p in _list(rec.get("params"))]
            if params != ref["params"]:
                count = sum(int(np.prod(p[1])) for p in params)
                raise Fail(f"{ctx}: the parameters are not VGG16's with a new {classes}-class last layer "
                           f"({count:,} parameters, expected {ref['count']:,})")
        hidden = sorted(nm for nm, _ in ref["params"] if nm.startswith("classifier.") and nm not in ref["head"])
        with part(ck, parts[3][0], (2.0 - HIDDEN_WEIGHT) / n, ctx):
            trainable = sorted(p[0] for p in _list(rec.get("params")) if p[2])
            head = sorted(ref["head"])
            missing = [h for h in head if h not in trainable]
            extra = [t for t in trainable if t not in head and t not in hidden]
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
            if extra:
                raise Fail(f"{ctx}: {', '.join(extra[:3])}{'...' if len(extra) > 3 else ''} require grad: only the "
                           "new last layer may be trained")
        with part(ck, parts[4][0], 0.5 / n, ctx):
            grads = sorted(_names(rec.get("grads")))
            if any(h not in grads for h in ref["head"]) or any(g not in ref["head"] and g not in hidden for g in grads):
                raise Fail(f"{ctx}: after a backward pass {len(grads)} parameter tensors have gradients "
                           f"({', '.join(grads[:3])}{'...' if len(grads) > 3 else ''}), expected exactly the new layer's "
                           "weight and bias")
        with part(ck, "build_transfer_model: only the new layer trains", HIDDEN_WEIGHT / n, ctx):
            trainable = sorted(p[0] for p in _list(rec.get("params")) if p[2])
            grads = sorted(_names(rec.get("grads")))
            if trainable != sorted(ref["head"]) or grads != sorted(ref["head"]):
                also = [t for t in trainable if t in hidden]
                if also and all(t in ref["head"] or t in hidden for t in trainable):
                    raise Fail(f"{ctx}: this notebook trains only the new last layer (feature extraction, as in the "
                               f"PyTorch fine-tuning tutorial); yours also trains the classifier's other Linear layers "
                               f"({', '.join(also[:2])}...), freezing only `features`, the frozen convolutional base of "
                               f"Keras's transfer-learning guide")
                raise Fail(f"{ctx}: the parameters that require grad (and get gradients) must be exactly the new "
                           f"layer's weight and bias")
    ctx = "`make_transfer_optimizer(model, lr=0.0123)` on the model of `build_transfer_model()`"
    with part(ck, "make_transfer_optimizer: parameters", 1.0, ctx):
        rec = out.get(0)
        if not isinstance(rec, dict) or "opt" not in rec:
            raise Fail(f"{ctx}: could not be called ({_error_of(rec, '`build_transfer_model()`')})")
        groups = unwrap(rec["opt"], "`make_transfer_optimizer(model, lr=0.0123)`")
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


# --------------------------------------------------------------------------
# hw5.light_vgg

LIGHT_CLASSES = [8, 2]  # the outputs each call of LIGHT_KWARGS asks for
LIGHT_CONVS = [(3, 16), (16, 16), (16, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128), (128, 128), (128, 128)]
LIGHT_SIZES = [128, 128, 64, 64, 32, 32, 16, 16, 8, 8]


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


def _light_reference_output(seed: int, case: int, classes: int) -> np.ndarray:
    import torch
    import torch.nn as nn

    ref = light_reference_class()(classes).double().eval()
    layers = [m_ for m_ in ref.modules() if isinstance(m_, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for i, layer in enumerate(layers):
            w, b = layer_weights(seed, case, i, tuple(layer.weight.shape), tuple(layer.bias.shape))
            layer.weight.copy_(torch.from_numpy(w.astype(np.float64)))
            layer.bias.copy_(torch.from_numpy(b.astype(np.float64)))
        return ref(torch.from_numpy(light_input(seed, case).astype(np.float64))).numpy()


def judge_light(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    n = len(LIGHT_KWARGS)
    for case, (kwargs, classes) in enumerate(zip(LIGHT_KWARGS, LIGHT_CLASSES)):
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        ctx = f"`LightVGG({args})`"
        rec = out.get(case)
        parts = [("LightVGG: output", 1.0), ("LightVGG: layers", 1.5), ("LightVGG: feature maps", 0.5),
                 ("LightVGG: parameters", 1.5), ("LightVGG: forward", 1.5)]
        if not isinstance(rec, dict) or "error" in rec:
            fail_all(ck, [(p, w / n) for p, w in parts], _error_of(rec, ctx))
            continue
        want_convs = [["conv", a, b, [3, 3], [1, 1], [1, 1], True] for a, b in LIGHT_CONVS]
        want_lins = [["linear", 2048, 1024, True], ["linear", 1024, 1024, True], ["linear", 1024, classes, True]]
        with part(ck, parts[0][0], 1.0 / n, ctx):
            got = unwrap(rec.get("shape"), f"{ctx} on a (2, 3, 128, 128) batch")
            if isinstance(got, str):
                raise Fail(f"{ctx}: forward returned {got[:60]}, not a tensor")
            if list(got) != [2, classes]:
                raise Fail(f"{ctx}: output shape {tuple(got)} for a (2, 3, 128, 128) batch, expected (2, {classes})"
                           + ("" if classes == 8 else ": use num_outputs for the last layer"))
        with part(ck, parts[1][0], 1.5 / n, ctx):
            convs = _list(rec.get("convs"))
            if [list(c[1:3]) for c in convs] != [list(c) for c in LIGHT_CONVS]:
                raise Fail(f"{ctx}: convs (in->out) {_layers_text(convs)[:200]}, expected "
                           f"{_layers_text(want_convs)} (two 3x3 convs per block)")
            for i, c in enumerate(convs):
                if c[3] != [3, 3] or c[4] != [1, 1] or c[5] != [1, 1]:
                    raise Fail(f"{ctx}: conv {i + 1} has kernel {tuple(c[3])}, stride {tuple(c[4])}, padding "
                               f"{c[5] if isinstance(c[5], str) else tuple(c[5])}; expected 3x3, stride 1, padding 1 "
                               "(the size is kept by the conv and halved by the pools only)")
                if c[6] is not True:
                    raise Fail(f"{ctx}: conv {i + 1} has no bias; the light VGG's convs have one (no BatchNorm)")
            lins = _list(rec.get("linears"))
            if lins != want_lins:
                raise Fail(f"{ctx}: Linear layers {_layers_text(lins)[:200]}, expected {_layers_text(want_lins)} "
                           f"(flatten 128 x 4 x 4 = 2048 after five 2x2 pools of 128x128)")
            other = [o for o in _list(rec.get("other")) if isinstance(o, str)] or _list(rec.get("other"))
            if other:
                raise Fail(f"{ctx}: layers with parameters besides Conv2d and Linear: {', '.join(map(str, other))[:120]} "
                           "(the light VGG has no BatchNorm)")
        with part(ck, parts[2][0], 0.5 / n, ctx):
            maps = [m_ for m_ in _list(rec.get("maps")) if isinstance(m_, (list, tuple)) and len(m_) == 3]
            sizes = [m_[1] for m_ in maps]
            if sizes != LIGHT_SIZES or any(m_[1] != m_[2] for m_ in maps):
                raise Fail(f"{ctx}: on 128x128 input the convs' outputs are {[f'{a}x{b}' for _, a, b in maps][:12]}, "
                           f"expected {LIGHT_SIZES} (square): a 2x2 max-pool after every second conv")
        with part(ck, parts[3][0], 1.5 / n, ctx):
            want = light_param_count(classes)
            got = rec.get("params")
            if isinstance(got, bool) or not isinstance(got, int):
                raise Fail(f"{ctx}: its parameters could not be counted")
            if got != want:
                raise Fail(f"{ctx}: {got:,} parameters, expected {want:,}")
        with part(ck, parts[4][0], 1.5 / n, ctx):
            got = unwrap(rec.get("eval_out"), f"{ctx}: forward in eval mode")
            if _list(rec.get("convs")) != want_convs or _list(rec.get("linears")) != want_lins:
                raise Fail(f"{ctx}: the layers differ from the light VGG's (see above), so its output cannot match")
            want = _light_reference_output(seed, case, classes)
            if not isinstance(got, np.ndarray) or got.shape != want.shape or got.dtype.kind not in "fiu":
                raise Fail(f"{ctx}: eval output of shape {getattr(got, 'shape', '?')}, expected {want.shape}")
            got = got.astype(np.float64)
            err = float(np.max(np.abs(got - want))) / max(float(np.max(np.abs(got) + np.abs(want))), 1e-12)
            if not err <= 1e-4:
                raise Fail(f"{ctx}: with the grader's weights in your layers the output differs from the light VGG's "
                           f"(max relative error {err:.1e}): check the ReLUs (after every conv and the two hidden "
                           "Linear layers, none after the last), the pools and the flatten order (N, C*H*W)")


ITEMS = [
    Item("hw5.augmentation", 5, ("make_face_transforms", "augment_dataset"), probe_side.probe_augmentation,
         judge_augmentation, title="Faces: label-preserving augmentation and the augmented data set", timeout=30),
    Item("hw5.transfer_vgg", 7, ("build_transfer_model", "make_transfer_optimizer"), probe_side.probe_transfer,
         judge_transfer, title="Transfer learning from VGG16: frozen features, a new trainable head", timeout=60,
         memory_mb=3072),
    Item("hw5.light_vgg", 6, ("LightVGG",), probe_side.probe_light, judge_light,
         title="The light VGG (128x128 input): layers and parameter count", timeout=30),
]
