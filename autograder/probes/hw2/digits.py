"""Probe half of the digits 1-4 items (hw2.digits_labels, digits_split, digits_augment,
digits_model), and the grader's training loop that the cats-vs-dogs probe shares.

Runs in the child, beside the student's code. The input builders here (file names,
the split's label lists, the clean digits for augmentation, the grader's training
split and renders) are imported by the judge too, so both sides build identical
inputs. No expected value lives here: the labels that ``label_from_filename`` must
return are worked out by the judge, and the images the trained model is evaluated on
come from the judge (``ns.given``: renders drawn from a seed only the judge knows,
shuffled), with their labels kept by the judge.
"""
from __future__ import annotations

import numpy as np

from autograder.probes.runtime import Bad

from autograder.probes.kit.convert import tensor_record
from autograder.probes.kit.seeds import rng as seeded
from autograder.probes.kit.train import budgeted_training, build_module, given_array, in_chunks, param_count
from autograder.probes.kit.transforms import transform_draws  # noqa: F401  (the judge imports it from here, for now)

# --------------------------------------------------------------------------
# The grader's training loop (also used by the cats-vs-dogs probe): the toolkit's
# budgeted loop, with cross-entropy on the images scaled to [0, 1].

BATCH = 32
LR = 2e-3
EVAL_BATCH = 100
IMAGE_SHAPE = (64, 64, 3)


def to_batch(images_u8: np.ndarray):
    """uint8 (N, H, W, 3) -> float32 tensor (N, 3, H, W) in [0, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(images_u8)).permute(0, 3, 1, 2).float().div_(255.0).contiguous()


def _logits(model, x, n_classes: int):
    import torch

    out = model(x)
    if not torch.is_tensor(out):
        raise TypeError(f"the model returned a {type(out).__name__}, not a tensor of logits")
    if tuple(out.shape) != (len(x), n_classes):
        raise ValueError(f"the model returned shape {tuple(out.shape)} for a batch of {len(x)}, expected ({len(x)}, {n_classes})")
    return out


def train_and_predict(model, x_train: np.ndarray, y_train: np.ndarray, evals: list, steps: int, seed: int,
                      cap_s: float, n_classes: int, batch: int = BATCH, lr: float = LR) -> dict:
    """The grader's fixed training loop (child side).

    Adam with a one-cycle schedule peaking at ``lr``; mini-batches of ``batch`` drawn by
    passes over a seeded permutation of the training set; plain cross-entropy; the
    images are only scaled to [0, 1]. Stops after ``steps`` steps, when the loss is not
    finite, or when ``cap_s`` seconds have passed. Then predicts every array of
    ``evals`` in eval mode. Returns plain data.
    """
    import torch
    import torch.nn.functional as F

    y_all = torch.from_numpy(np.asarray(y_train, dtype=np.int64))

    def loss_of(idx, gen):
        return F.cross_entropy(_logits(model, to_batch(x_train[idx.numpy()]), n_classes), y_all[idx])

    res = budgeted_training(model, loss_of, len(x_train), steps=steps, batch=batch, lr=lr, seed=seed, cap_s=cap_s,
                            one_cycle=0.15, track_loss=True)
    preds = []
    for x in evals:
        p = [y.argmax(dim=1) for y in in_chunks(lambda c: _logits(model, to_batch(c), n_classes), x, EVAL_BATCH)]
        preds.append(torch.cat(p).numpy().astype(np.int64) if p else np.zeros(0, dtype=np.int64))
    res["preds"] = preds
    return res


def given_images(given, keys: tuple[str, ...]) -> list | Bad:
    """The evaluation images the judge sent (``ns.given``), in the order of ``keys``."""
    out = [given_array(given, k, IMAGE_SHAPE, dtype=np.uint8, max_n=None) for k in keys]
    if any(x is None for x in out):
        return Bad("missing", "the grader's evaluation images did not reach the grading process")
    return out


def build_model(ns, fn: str, seed: int):
    """Build the student's model in the child: the module, or a Bad saying why not."""
    return build_module(ns, fn, seed=seed, hint="; return a new network (e.g. `return MyNet()`)")


def output_shapes(ns, model, n_classes: int, seed: int, sizes=(1, 5)) -> dict:
    """The model's output shape for random batches in eval mode (child side)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    model.eval()
    shapes = {}
    for n in sizes:
        x = torch.rand(n, 3, 64, 64, generator=g)

        def run(x=x):
            with torch.no_grad():
                out = model(x)
            if not torch.is_tensor(out):
                return f"a {type(out).__name__}"
            if not bool(torch.isfinite(out).all()):
                return "NaN/inf"
            return [int(s) for s in out.shape]

        shapes[n] = ns.guard(run)
    return shapes


def trainable(shapes: dict, n_classes: int) -> bool:
    """Whether the grader's loop can run the model at all: (N, n_classes) logits for every
    batch tried (the loop needs them; the judge decides the points)."""
    return all(not isinstance(s, Bad) and s == [n, n_classes] for n, s in shapes.items())


# --------------------------------------------------------------------------
# hw2.digits_labels

LABEL_FOLDERS = ["data/digits14", "/data/run2/set4", "/home/u1/hw2/3_4/img", "C:/x/digit4_old/v1",
                 "/data/digit2_00031.png.d", "./2024/12/31", "/mnt/data/4/3/2/1", "digits_v3/fold1",
                 "/srv/digit1_backup/digit3_old"]


def label_inputs(seed: int) -> list[tuple[str, str]]:
    """(path text, kind) with kind "name", "folders" or "path" (passed as a Path)."""
    rng = seeded(seed, 31)
    folders = LABEL_FOLDERS
    cases = []
    for i in range(12):
        label = int(rng.integers(1, 5))
        index = int(rng.integers(0, 100000))
        name = f"digit{label}_{index:05d}.png"
        if i < 4:
            cases.append((name, "name"))
        elif i < 9:
            folder = folders[int(rng.integers(0, len(folders)))] if i > 5 else folders[i - 3]
            cases.append((f"{folder}/{name}", "folders"))
        else:
            cases.append((f"{folders[(i + 4) % len(folders)]}/{name}", "path"))
    # an index made of other labels' digits, and a folder named like a file of another class
    cases.append(("digit1_04321.png", "name"))
    cases.append(("/data/digit2_00031.png.d/digit4_00123.png", "folders"))
    cases.append(("/data/sets/1/2/digit3_00042.png", "path"))
    return cases


def _plain(v):
    """A student's return value as plain data: (type name, value or repr)."""
    t = type(v).__name__
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return [t, int(v)]
    try:
        return [t, repr(v)[:40]]
    except Exception:  # noqa: BLE001  a repr that raises
        return [t, "?"]


def probe_labels(ns, seed):
    from pathlib import Path

    out = []
    for text, kind in label_inputs(seed):
        arg = Path(text) if kind == "path" else text
        r = ns.call("label_from_filename", arg)
        out.append(r if isinstance(r, Bad) else _plain(r))
    return out


# --------------------------------------------------------------------------
# hw2.digits_split

# (class sizes (None: the digits data set), test_fraction passed (None: default), seed passed (None: default), shuffled labels, paths as Path)
SPLIT_CASES = {
    "default": (None, None, None, True, False),
    "explicit 42": (None, 0.2, 42, True, False),
    "again": (None, None, None, True, False),
    "seed 7": (None, 0.2, 7, True, False),
    "uneven": ((40, 30, 20, 11), 0.25, 3, False, True),
    "small": ((13, 12, 13, 12), 0.3, 0, True, False),
}


def digits_labels() -> np.ndarray:
    """The labels (1..4) of the 723 scans of the digits data set, in its order."""
    from data_scripts.digits14 import _scans

    return _scans()[1]


def split_inputs(seed: int, case: str, labels_of_digits: np.ndarray):
    """(file names, labels, test_fraction or None, seed or None, paths as Path) of one case."""
    sizes, frac, sd, shuffled, as_path = SPLIT_CASES[case]
    if sizes is None:
        labels = labels_of_digits
    else:
        labels = np.concatenate([np.full(n, c + 1) for c, n in enumerate(sizes)])
        if shuffled:
            labels = seeded(seed, 32, len(labels)).permutation(labels)
    names = [f"data/digits14/digit{int(lab)}_{i:05d}.png" for i, lab in enumerate(labels)]
    return names, labels.astype(np.int64), frac, sd, as_path


def _index_array(v):
    """An index sequence as an int64 array, or a Bad saying what it is."""
    try:
        a = np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v)
    except Exception as e:  # noqa: BLE001
        return Bad("missing", f"returned something that is not a sequence of indices ({type(e).__name__})")
    if a.dtype.kind == "b":
        return Bad("missing", "returned boolean masks; return integer indices")
    if a.dtype.kind == "f" and a.size and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        a = a.astype(np.int64)
    if a.dtype.kind not in "iu":
        return Bad("missing", f"returned an array of dtype {a.dtype}; return integer indices into paths")
    return a.astype(np.int64).reshape(-1) if a.ndim <= 1 else Bad("missing", f"returned an array of shape {a.shape}; return 1-D index arrays")


def probe_split(ns, seed):
    from pathlib import Path

    labels_of_digits = digits_labels()
    out = {}
    for case in SPLIT_CASES:
        names, labels, frac, sd, as_path = split_inputs(seed, case, labels_of_digits)
        paths = [Path(n) for n in names] if as_path else list(names)
        lab_arg = labels.copy() if case in ("uneven", "seed 7") else [int(x) for x in labels]
        kwargs = {}
        if frac is not None:
            kwargs["test_fraction"] = frac
        if sd is not None:
            kwargs["seed"] = sd
        r = ns.call("split_dataset", paths, lab_arg, **kwargs)
        if isinstance(r, Bad):
            out[case] = r
        elif isinstance(r, (tuple, list)) and len(r) == 2:
            out[case] = [_index_array(r[0]), _index_array(r[1])]
        else:
            got = f"a {type(r).__name__}" + (f" of length {len(r)}" if isinstance(r, (tuple, list)) else "")
            out[case] = Bad("missing", f"returned {got}; it must return a pair (train_idx, test_idx)")
    return out


# --------------------------------------------------------------------------
# hw2.digits_augment

AUG_DRAWS = 8
AUG_SCANS = (174, 205, 196, 193, 148, 153)  # two 2s, two 3s, two 4s: none looks like its own mirror image


def augment_images(seed: int) -> np.ndarray:
    """Six clean digits (flat ink on flat paper, centred, 46 x 40 px), colours from the seed."""
    from data_scripts.digits14 import _colours, _scans, ink_mask, paint

    scans, _ = _scans()
    rng = seeded(seed, 34)
    out = []
    for i in AUG_SCANS:
        bg, fg = _colours(rng)
        out.append(paint(ink_mask(scans[i], 46, 40), bg, fg))
    return np.stack(out)


def probe_augment(ns, seed):
    return transform_draws(ns, "make_transforms", augment_images(seed), AUG_DRAWS, tensor_record)


# --------------------------------------------------------------------------
# hw2.digits_model: the model is trained here on renders drawn from the public seed and
# predicts the images the judge sends (``ns.given["test"]``: held-out scans;
# ``ns.given["train"]``: training scans drawn anew), whose labels only the judge holds.

DIGIT_STEPS = 500
DIGIT_RENDERS = 4          # the training scans are drawn this many times (different colours, places)
DIGIT_CAP_S = 30.0
DIGIT_TEST_FRACTION = 0.2
DIGIT_EVAL_KEYS = ("test", "train")


def grader_split(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The grader's own stratified 80/20 split of the scans (not the student's): the model
    trains on the first part; the judge draws its evaluation images from both."""
    rng = seeded(seed, 33)
    test = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test.extend(idx[: int(round(DIGIT_TEST_FRACTION * len(idx)))].tolist())
    test = np.sort(np.asarray(test, dtype=np.int64))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


def render_seed(seed: int, r: int) -> int:
    return 10 * int(seed) + r


def training_set(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The grader's training images (uint8) and class indices (digit - 1)."""
    from data_scripts.digits14 import digits14_arrays

    renders = [digits14_arrays(render_seed(seed, r)) for r in range(DIGIT_RENDERS)]
    labels = renders[0][1]
    train, _ = grader_split(labels, seed)
    x_train = np.concatenate([renders[r][0][train] for r in range(DIGIT_RENDERS)])
    y_train = np.concatenate([labels[train] - 1] * DIGIT_RENDERS)
    return x_train, y_train


def probe_model(ns, seed):
    model = build_model(ns, "build_digits_model", seed)
    if isinstance(model, Bad):
        return {"build": model}
    out = {"build": "ok", "params": param_count(model), "shapes": output_shapes(ns, model, 4, seed)}
    if not trainable(out["shapes"], 4):
        return out
    evals = given_images(ns.given, DIGIT_EVAL_KEYS)
    if isinstance(evals, Bad):
        out["train"] = evals
        return out
    x_train, y_train = training_set(seed)
    out["train"] = ns.guard(train_and_predict, model, x_train, y_train, evals, DIGIT_STEPS, seed, DIGIT_CAP_S, 4)
    return out
