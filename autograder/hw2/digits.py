"""Handwritten digits 1-4 (003 P5): labels from file names, the 80/20 split, augmentation,
and a model the grader trains itself.

Student API:
    label_from_filename(path) -> int
        ``path``: a str or a pathlib.Path whose file name is ``digit{label}_{index:05d}.png``;
        the folders above it may contain any digits. Returns the digit 1..4 as an int.
    split_dataset(paths, labels, test_fraction=0.2, seed=42) -> (train_idx, test_idx)
        Integer indices into ``paths``; disjoint, together every index once; the test
        part has ceil(test_fraction * N) items (scikit-learn's rule) and is stratified:
        each class c has test_fraction * n_c of its n_c items in it, less than 2 off;
        the same arguments give the same split, another seed another split.
    make_transforms(train) -> callable: uint8 (64, 64, 3) NumPy image -> float32 tensor (3, 64, 64)
        train=False: exactly img / 255 in channels-first order (no normalization);
        train=True: random, mild, label-preserving augmentation, values kept in [0, 1];
        no mirror images (a mirrored 2, 3 or 4 is no longer that digit).
    build_digits_model() -> nn.Module
        (N, 3, 64, 64) float in [0, 1] -> (N, 4) logits; class index = digit - 1.

The model item: the grader builds the model, checks its output shape, trains it with
its own fixed loop (:func:`train_and_predict`: Adam, one-cycle LR schedule, fixed
batch size and number of steps, a wall-clock cap) on the offline digits of
``data_scripts.digits14`` drawn from the seed, and returns its predictions on
held-out scans. The judge rebuilds the labels and the split from the seed and
computes the accuracies: >= 90 % on the test scans (and on the training scans) is
full marks; less earns part of the accuracy points, in steps from 57.5 % (halfway
between chance, 25 %, and 90 %) up to 90 %.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..core import Bad, Fail, Item, unwrap

# --------------------------------------------------------------------------
# Shared by the two model items (catsdogs imports these).

BATCH = 32
LR = 2e-3
EVAL_BATCH = 100
MAX_OUTPUT_FLOATS = 10**6


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

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    y_all = torch.from_numpy(np.asarray(y_train, dtype=np.int64))
    losses: list[float] = []
    done = 0
    status = "finished"
    start = time.process_time()  # CPU seconds: the budget does not shrink when the machine is busy
    if params:
        opt = torch.optim.Adam(params, lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
        model.train()
        order = torch.empty(0, dtype=torch.int64)
        for _ in range(steps):
            if len(order) < batch:
                order = torch.cat([order, torch.randperm(len(x_train), generator=gen)])
            idx, order = order[:batch], order[batch:]
            xb = to_batch(x_train[idx.numpy()])
            loss = F.cross_entropy(_logits(model, xb, n_classes), y_all[idx])
            if not torch.isfinite(loss):
                status = "diverged"
                break
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            done += 1
            losses.append(float(loss.detach()))
            if time.process_time() - start > cap_s:
                status = "capped"
                break
    else:
        status = "no parameters"
    seconds = time.process_time() - start
    model.eval()
    preds = []
    with torch.no_grad():
        for x in evals:
            p = [_logits(model, to_batch(x[i:i + EVAL_BATCH]), n_classes).argmax(dim=1) for i in range(0, len(x), EVAL_BATCH)]
            preds.append(torch.cat(p).numpy().astype(np.int64))
    k = max(1, len(losses) // 10)
    return {"status": status, "steps": done, "seconds": round(seconds, 2), "preds": preds,
            "loss_start": float(np.mean(losses[:k])) if losses else float("nan"),
            "loss_end": float(np.mean(losses[-k:])) if losses else float("nan")}


def build_model(ns, fn: str, seed: int):
    """Build the student's model in the child: the module, or a Bad saying why not."""
    import torch

    torch.manual_seed(seed)
    model = ns.call(fn)
    if isinstance(model, Bad):
        return model
    if not isinstance(model, torch.nn.Module):
        what = "the class itself" if isinstance(model, type) else f"a {type(model).__name__}"
        return Bad("missing", f"returned {what}, not an nn.Module instance; return a new network (e.g. `return MyNet()`)")
    moved = ns.guard(model.cpu)  # the grader trains on the CPU, whatever device the notebook used
    return moved if isinstance(moved, Bad) else model


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
            return list(out.shape)

        shapes[n] = ns.guard(run)
    return shapes


def param_count(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def judge_build(out: dict, fn: str, n_classes: int, ck, weight: float, rest: float) -> bool:
    """The "model" part: built, and (N, n_classes) logits. When that fails, the
    ``rest`` of the weight (training, accuracy) fails with it, under one message;
    returns whether the rest can be judged."""
    build = out.get("build")
    shapes = out.get("shapes")
    if isinstance(build, Bad) or not isinstance(shapes, dict):
        bad = build if isinstance(build, Bad) else Bad("missing", "no output shape came back")
        with ck.part("model", weight + rest):
            raise Fail(bad.describe(f"{fn}()"))
        return False
    try:
        for n, got in sorted(shapes.items(), key=lambda kv: str(kv[0])):
            got = unwrap(got, f"{fn}(): the model on a batch of shape ({n}, 3, 64, 64)")
            if isinstance(got, str):
                raise Fail(f"{fn}(): the model returned {got} for a batch of shape ({n}, 3, 64, 64); return logits")
            if list(got) != [int(n), n_classes]:
                raise Fail(f"{fn}(): the model maps a batch of shape ({n}, 3, 64, 64) to {tuple(got)}; expected "
                           f"({n}, {n_classes}), one logit per class")
    except Fail as e:
        with ck.part("model", weight + rest):
            raise e
        return False
    with ck.part("model", weight):
        pass
    return True


def fail_all(ck, parts: list[tuple[str, float]], message: str) -> None:
    """Fail the weight of all ``parts`` at once, with one message."""
    with ck.part(parts[0][0], sum(w for _, w in parts)):
        raise Fail(message)


def accuracy_tiers(ck, name: str, acc, chance: float, threshold: float, weight: float, tiers: int, what: str,
                   note: str = "") -> None:
    """Full weight at ``acc >= threshold``; below it, ``weight / tiers`` for each of the
    ``tiers`` evenly spaced levels that ``acc`` reaches, from halfway between chance
    and the threshold (exclusive) up to the threshold. So a model no better than
    halfway (a linear model on the pixels, say) earns nothing here."""
    floor = (chance + threshold) / 2
    reached = 0
    if isinstance(acc, float):
        reached = sum(1 for i in range(1, tiers + 1) if acc >= floor + (threshold - floor) * i / tiers - 1e-9)
    if reached:
        with ck.part(name, weight * reached / tiers):
            pass
    if reached < tiers:
        with ck.part(name, weight * (tiers - reached) / tiers):
            raise Fail(f"{what} {acc:.1%} after the grader's training, below the {threshold:.0%} needed for full points"
                       f"{note}")


def predictions(res: dict, k: int, n: int, n_classes: int) -> np.ndarray:
    preds = res.get("preds")
    if not isinstance(preds, (list, tuple)) or len(preds) <= k:
        raise Fail("no predictions came back")
    p = preds[k]
    if not isinstance(p, np.ndarray) or p.shape != (n,) or p.dtype.kind not in "iu":
        raise Fail("the predictions are malformed")
    if p.size and (p.min() < 0 or p.max() >= n_classes):
        raise Fail("the predicted classes are out of range")
    return p


def speed_part(ck, res: dict, steps: int, cap_s: float, weight: float) -> str:
    """The "time" part; returns a note for the accuracy messages."""
    status = res.get("status")
    done = res.get("steps")
    with ck.part("time", weight):
        if status == "capped":
            raise Fail(f"training too slow: the grader's {cap_s:g} s CPU budget ran out after {done} of {steps} steps "
                       f"(batch {BATCH}); make the model smaller or downsample earlier (stride, pooling)")
    if status == "diverged":
        return f" (the loss became NaN/inf after {done} steps)"
    if status == "capped":
        return f" (only {done} of {steps} steps fitted in the time budget)"
    if status == "no parameters":
        return " (the model has no trainable parameters)"
    return ""


# --------------------------------------------------------------------------
# hw2.digits_labels


def _label_cases(seed: int) -> list[tuple[str, int, str]]:
    """(path text, label, kind) with kind "name", "folders" or "path" (passed as a Path)."""
    rng = np.random.default_rng([seed, 31])
    cases = []
    folders = ["data/digits14", "/data/run2/set4", "/home/u1/hw2/3_4/img", "C:/x/digit4_old/v1",
               "/data/digit2_00031.png.d", "./2024/12/31", "/mnt/data/4/3/2/1", "digits_v3/fold1",
               "/srv/digit1_backup/digit3_old"]
    for i in range(12):
        label = int(rng.integers(1, 5))
        index = int(rng.integers(0, 100000))
        name = f"digit{label}_{index:05d}.png"
        if i < 4:
            cases.append((name, label, "name"))
        elif i < 9:
            folder = folders[int(rng.integers(0, len(folders)))] if i > 5 else folders[i - 3]
            cases.append((f"{folder}/{name}", label, "folders"))
        else:
            cases.append((f"{folders[(i + 4) % len(folders)]}/{name}", label, "path"))
    # an index made of other labels' digits, and a folder named like a file of another class
    cases.append(("digit1_04321.png", 1, "name"))
    cases.append(("/data/digit2_00031.png.d/digit4_00123.png", 4, "folders"))
    cases.append(("/data/sets/1/2/digit3_00042.png", 3, "path"))
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
    for text, _, kind in _label_cases(seed):
        arg = Path(text) if kind == "path" else text
        r = ns.call("label_from_filename", arg)
        out.append(r if isinstance(r, Bad) else _plain(r))
    return out


def _as_int(v):
    """The value as an int when it is one, or a digit string (judged separately)."""
    if isinstance(v, (list, tuple)) and len(v) == 2:
        t, val = v
        if isinstance(val, int) and t != "bool":
            return val, True
        if isinstance(val, str):
            s = val.strip("'\"")
            if s.isdigit():
                return int(s), False
    return None, False


def judge_labels(out, seed, ck):
    out = out if isinstance(out, list) else []
    cases = _label_cases(seed)
    groups = {"name": ("file names", 1.0), "folders": ("paths with digits in the folder names", 1.0),
              "path": ("pathlib.Path arguments", 0.5)}
    values = [_as_int(out[i])[0] if i < len(out) and not isinstance(out[i], Bad) else None for i in range(len(cases))]
    index_like = all(values[i] == lab - 1 for i, (_, lab, k) in enumerate(cases) if k == "name")
    for kind, (title, w) in groups.items():
        with ck.part(title, w):
            for i, (text, label, k) in enumerate(cases):
                if k != kind:
                    continue
                arg = f"Path({text!r})" if k == "path" else repr(text)
                got = out[i] if i < len(out) else Bad("missing", "no result")
                got = unwrap(got, f"label_from_filename({arg})")
                value, _ = _as_int(got)
                if value != label:
                    shown = got[1] if isinstance(got, (list, tuple)) and len(got) == 2 else got
                    hint = ""
                    if value == label - 1 and index_like:
                        hint = "; return the digit itself (1-4), not a class index"
                    elif k != "name":
                        hint = "; take the label from the file name only, not from the folders"
                    raise Fail(f"label_from_filename({arg}) returned {shown}, expected {label}{hint}")
    with ck.part("returns an int", 0.5):
        for i, (text, label, k) in enumerate(cases):
            got = out[i] if i < len(out) else Bad("missing", "no result")
            got = unwrap(got, "label_from_filename")
            value, is_int = _as_int(got)
            if value is not None and not is_int:
                raise Fail(f"label_from_filename({text!r}) returned the string {got[1]}; return an int (int(...))")
            if not is_int:
                t = got[0] if isinstance(got, (list, tuple)) and got else type(got).__name__
                raise Fail(f"label_from_filename({text!r}) returned a {t}; return an int")


# --------------------------------------------------------------------------
# hw2.digits_split

# (N, class sizes (None: the digits data set), test_fraction passed (None: default), seed passed (None: default), shuffled labels, paths as Path)
SPLIT_CASES = {
    "default": (None, None, None, True, False),
    "explicit 42": (None, 0.2, 42, True, False),
    "again": (None, None, None, True, False),
    "seed 7": (None, 0.2, 7, True, False),
    "uneven": ((40, 30, 20, 11), 0.25, 3, False, True),
    "small": ((13, 12, 13, 12), 0.3, 0, True, False),
}


def _digits_labels() -> np.ndarray:
    from data_scripts.digits14 import _scans

    return _scans()[1]


def _split_inputs(seed: int, case: str, digits_labels: np.ndarray):
    sizes, frac, sd, shuffled, as_path = SPLIT_CASES[case]
    if sizes is None:
        labels = digits_labels
    else:
        labels = np.concatenate([np.full(n, c + 1) for c, n in enumerate(sizes)])
        if shuffled:
            labels = np.random.default_rng([seed, 32, len(labels)]).permutation(labels)
    names = [f"data/digits14/digit{int(lab)}_{i:05d}.png" for i, lab in enumerate(labels)]
    return names, labels.astype(np.int64), frac, sd, as_path


def _index_array(v):
    """In the probe: an index sequence as an int64 array, or a Bad saying what it is."""
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

    digits_labels = _digits_labels()
    out = {}
    for case in SPLIT_CASES:
        names, labels, frac, sd, as_path = _split_inputs(seed, case, digits_labels)
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


def _describe_split(case: str, n: int) -> str:
    sizes, frac, sd, _, as_path = SPLIT_CASES[case]
    f = 0.2 if frac is None else frac
    s = 42 if sd is None else sd
    args = f"test_fraction={f:g}" + ("" if frac is not None else " (default)") + f", seed={s}" + ("" if sd is not None else " (default)")
    what = "the digits data set" if sizes is None else f"classes of sizes {sizes}"
    return f"N={n}, {what}, {args}" + (", paths as pathlib.Path" if as_path else "")


def judge_split(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    digits_labels = _digits_labels()
    got: dict = {}
    first_bad = None
    for case in SPLIT_CASES:
        r = out.get(case, Bad("missing", "no result"))
        if isinstance(r, Bad):
            first_bad = first_bad or (case, r)
        elif isinstance(r, (list, tuple)) and len(r) == 2:
            bad = next((x for x in r if isinstance(x, Bad)), None)
            if bad is not None:
                first_bad = first_bad or (case, bad)
            elif all(isinstance(x, np.ndarray) for x in r):
                got[case] = (r[0], r[1])
            else:
                first_bad = first_bad or (case, Bad("missing", "returned something that is not index arrays"))
        else:
            first_bad = first_bad or (case, Bad("missing", "returned an unexpected value"))
    if first_bad is not None:
        case, bad = first_bad
        names, labels, *_ = _split_inputs(seed, case, digits_labels)
        fail_all(ck, [("partition", 1), ("sizes", 1), ("stratified", 1), ("reproducible", 0.5), ("seed", 0.5)],
                 f"{bad.describe('split_dataset')} ({_describe_split(case, len(names))})")
        return

    with ck.part("partition", 1):
        for case, (tr, te) in got.items():
            names, labels, *_ = _split_inputs(seed, case, digits_labels)
            n = len(names)
            ctx = _describe_split(case, n)
            both = np.concatenate([tr, te])
            if both.size and (both.min() < 0 or both.max() >= n):
                raise Fail(f"split_dataset: indices out of range 0..{n - 1} ({ctx})")
            if len(np.unique(tr)) != len(tr) or len(np.unique(te)) != len(te):
                raise Fail(f"split_dataset: an index appears twice in one part ({ctx})")
            if np.intersect1d(tr, te).size:
                raise Fail(f"split_dataset: {np.intersect1d(tr, te).size} indices are in both parts ({ctx})")
            if len(both) != n:
                raise Fail(f"split_dataset: the two parts hold {len(both)} of the {n} items; every item must be in exactly one ({ctx})")
    with ck.part("sizes", 1):
        for case, (tr, te) in got.items():
            names, labels, frac, *_ = _split_inputs(seed, case, digits_labels)
            f = 0.2 if frac is None else frac
            want = math.ceil(f * len(names) - 1e-9)
            if len(te) != want:
                raise Fail(f"split_dataset: the test part has {len(te)} items, expected ceil({f:g} * {len(names)}) = {want} "
                           f"({_describe_split(case, len(names))})")
    with ck.part("stratified", 1):
        for case, (tr, te) in got.items():
            names, labels, frac, *_ = _split_inputs(seed, case, digits_labels)
            f = 0.2 if frac is None else frac
            te_ok = te[(te >= 0) & (te < len(labels))]
            tr_ok = tr[(tr >= 0) & (tr < len(labels))]
            for c in np.unique(labels):
                n_c = int((labels == c).sum())
                in_test = int((labels[te_ok] == c).sum())
                if in_test == 0 or int((labels[tr_ok] == c).sum()) == 0:
                    raise Fail(f"split_dataset: class {c} is missing from the {'test' if in_test == 0 else 'training'} part "
                               f"({_describe_split(case, len(names))}); split each class separately (stratify)")
                if abs(in_test - f * n_c) >= 2:
                    raise Fail(f"split_dataset: class {c} has {in_test} of its {n_c} items in the test part, expected about "
                               f"{f * n_c:.1f} ({_describe_split(case, len(names))}); stratify by label")

    def same(a, b):
        return np.array_equal(np.sort(a[0]), np.sort(b[0])) and np.array_equal(np.sort(a[1]), np.sort(b[1]))

    with ck.part("reproducible", 0.5):
        if not same(got["default"], got["again"]):
            raise Fail("split_dataset: two calls with the same arguments gave different splits; draw the permutation "
                       "from a generator seeded with `seed` (np.random.default_rng(seed) or random_state=seed)")
    with ck.part("seed", 0.5):
        if not same(got["default"], got["explicit 42"]):
            raise Fail("split_dataset: the call without `seed` differs from seed=42; the default seed must be 42 and be used")
        if same(got["default"], got["seed 7"]):
            raise Fail("split_dataset: seed=7 gave the same split as seed=42; the split must depend on the seed")


# --------------------------------------------------------------------------
# hw2.digits_augment

AUG_DRAWS = 8
AUG_SCANS = (174, 205, 196, 193, 148, 153)  # two 2s, two 3s, two 4s: none looks like its own mirror image
AUG_MARGIN = 10      # the centre of an augmented image is searched for in the original, +-10 px
MIN_MATCH = 0.70     # mean best match (normalised cross-correlation) with the original
MAX_MIRRORED = 0.15  # share of augmented images that match a mirrored / upside-down original better


def _augment_images(seed: int) -> np.ndarray:
    """Six clean digits (flat ink on flat paper, centred, 46 x 40 px), colours from the seed."""
    from data_scripts.digits14 import _colours, _scans, ink_mask, paint

    scans, _ = _scans()
    rng = np.random.default_rng([seed, 34])
    out = []
    for i in AUG_SCANS:
        bg, fg = _colours(rng)
        out.append(paint(ink_mask(scans[i], 46, 40), bg, fg))
    return np.stack(out)


def _tensor_record(v) -> dict:
    import torch

    rec = {"type": type(v).__name__}
    if torch.is_tensor(v):
        rec["tensor"] = True
        rec["dtype"] = str(v.dtype).replace("torch.", "")
        a = v.detach().cpu()
    else:
        rec["tensor"] = False
        rec["dtype"] = str(getattr(v, "dtype", ""))
        a = v
    try:
        a = np.asarray(a)
        if a.dtype.kind in "biuf" and a.size <= MAX_OUTPUT_FLOATS:
            rec["array"] = a.astype(np.float32)
        rec["shape"] = list(a.shape)
    except Exception:  # noqa: BLE001
        pass
    return rec


def transform_draws(ns, builder: str, images, train_draws: int, record) -> dict:
    """Probe side of a transform item: ``builder(train)`` for train False and True, each
    transform applied to copies of ``images`` (``train_draws`` times in training mode, to
    see the randomness; twice in eval mode, to see it is fixed), each output turned
    into plain data by ``record``. Also used by HW5's face augmentation."""
    out = {}
    for train in (False, True):
        t = ns.call(builder, train)
        if isinstance(t, Bad):
            out[train] = t
            continue
        if not callable(t):
            out[train] = Bad("missing", f"returned a {type(t).__name__}, not a callable transform")
            continue
        recs = []
        for img in images:
            draws = []
            for _ in range(train_draws if train else 2):
                r = ns.guard(t, img.copy())
                draws.append(r if isinstance(r, Bad) else record(r))
            recs.append(draws)
        out[train] = recs
    return out


def probe_augment(ns, seed):
    return transform_draws(ns, "make_transforms", _augment_images(seed), AUG_DRAWS, _tensor_record)


def best_match(template: np.ndarray, image: np.ndarray) -> float:
    """max over positions of |normalised cross-correlation| of ``template`` with the
    windows of ``image`` (template matching)."""
    from numpy.lib.stride_tricks import sliding_window_view

    with np.errstate(all="ignore"):
        t = template - template.mean()
        tn = float(np.sqrt((t * t).sum()))
        w = sliding_window_view(image, t.shape)
        num = np.einsum("ijkl,kl->ij", w, t)
        wm = w.mean(axis=(2, 3))
        wn = np.sqrt(np.maximum((w * w).sum(axis=(2, 3)) - wm ** 2 * t.size, 1e-12))
        best = float(np.max(np.abs(num / (wn * tn + 1e-12))))
    return best if np.isfinite(best) else 0.0


def augment_stats(originals: np.ndarray, outputs: list[list[np.ndarray]]) -> tuple[float, float]:
    """On grey levels: the mean best match of each augmented image's centre in its
    original (1.0 for a pure shift, lower the more the digit is changed), and the share
    of augmented images whose centre matches the original mirrored left-right,
    top-bottom or turned upside down better than the original."""
    m = AUG_MARGIN
    scores, mirrored, n = [], 0, 0
    for img, outs in zip(originals, outputs):
        g = img.astype(np.float64).mean(axis=2) / 255.0
        variants = [g[:, ::-1], g[::-1, :], g[::-1, ::-1]]
        for o in outs:
            grey = o.astype(np.float64).mean(axis=0)
            centre = grey[m:-m, m:-m]
            s = best_match(centre, g)
            scores.append(s)
            if max(best_match(centre, v) for v in variants) > s:
                mirrored += 1
            n += 1
    return (float(np.mean(scores)) if scores else 0.0), mirrored / max(n, 1)


def _check_output(rec, what: str) -> np.ndarray:
    rec = unwrap(rec, what)
    if not isinstance(rec, dict):
        raise Fail(f"{what}: no output")
    if not rec.get("tensor"):
        raise Fail(f"{what}: returned a {rec.get('type')}; return a torch tensor (e.g. end with v2.ToDtype(torch.float32, scale=True))")
    if rec.get("dtype") != "float32":
        raise Fail(f"{what}: returned a tensor of dtype {rec.get('dtype')}; it must be float32")
    if rec.get("shape") != [3, 64, 64]:
        raise Fail(f"{what}: returned shape {tuple(rec.get('shape') or ())}; expected (3, 64, 64), channels first")
    a = rec.get("array")
    if not isinstance(a, np.ndarray) or a.shape != (3, 64, 64):
        raise Fail(f"{what}: the output could not be read")
    if not np.all(np.isfinite(a)):
        raise Fail(f"{what}: the output contains NaN or inf")
    return a


def judge_augment(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    images = _augment_images(seed)
    parts_eval = [("eval transform", 1.0)]
    parts_train = [("train transform output", 0.5), ("train transform is random", 0.5), ("train transform keeps the digit", 1.0)]

    ev = out.get(False, Bad("missing", "no result"))
    if isinstance(ev, Bad) or not isinstance(ev, list):
        fail_all(ck, parts_eval, ev.describe("make_transforms(False)") if isinstance(ev, Bad) else "make_transforms(False): no result")
    else:
        with ck.part("eval transform", 1.0):
            for img, draws in zip(images, ev):
                want = img.transpose(2, 0, 1).astype(np.float32) / 255.0
                a = _check_output(draws[0], "the eval transform")
                b = _check_output(draws[1], "the eval transform")
                if not np.array_equal(a, b):
                    raise Fail("the eval transform is random: two calls on the same image differ; make_transforms(False) "
                               "must only convert (no augmentation at test time)")
                err = float(np.max(np.abs(a - want)))
                if err > 1e-4:
                    hint = ""
                    if abs(float(a.mean()) - float(want.mean()) * 255) < 1:
                        hint = " (values 0-255: divide by 255)"
                    elif a.min() < -1e-3:
                        hint = " (no Normalize: the grader's model gets img / 255, so must your test images)"
                    raise Fail(f"the eval transform must return exactly img / 255 as a (3, 64, 64) tensor; "
                               f"max difference {err:.3g}{hint}")

    tr = out.get(True, Bad("missing", "no result"))
    if isinstance(tr, Bad) or not isinstance(tr, list):
        fail_all(ck, parts_train, tr.describe("make_transforms(True)") if isinstance(tr, Bad) else "make_transforms(True): no result")
        return
    arrays: list[list[np.ndarray]] = []
    with ck.part("train transform output", 0.5):
        for draws in tr:
            row = []
            for rec in draws:
                a = _check_output(rec, "the train transform")
                if a.min() < -1e-3 or a.max() > 1 + 1e-3:
                    raise Fail(f"the train transform returned values in [{a.min():.3g}, {a.max():.3g}]; keep them in [0, 1] "
                               "like the eval transform (clamp after adding noise; no Normalize)")
                row.append(a)
            arrays.append(row)
    if len(arrays) != len(images):
        fail_all(ck, parts_train[1:], "the train transform's outputs could not be checked (see above)")
        return
    with ck.part("train transform is random", 0.5):
        varied = sum(1 for row in arrays if any(np.max(np.abs(row[0] - o)) > 1e-3 for o in row[1:]))
        if varied < len(arrays) - 1:
            raise Fail(f"the train transform gave the same output on {AUG_DRAWS} calls for {len(arrays) - varied} of "
                       f"{len(arrays)} images; augmentation must be random (a new variation at every call)")
    with ck.part("train transform keeps the digit", 1.0):
        match, mirrored = augment_stats(images, arrays)
        if mirrored > MAX_MIRRORED and match >= MIN_MATCH:
            raise Fail(f"{mirrored:.0%} of the augmented digits look more like the mirrored or upside-down original than "
                       "the original: no flips and no large rotations (a mirrored 3 is not a 3)")
        if mirrored > MAX_MIRRORED:
            raise Fail(f"the augmented digits are too far from the originals (mean match {match:.2f}, needs >= {MIN_MATCH}; "
                       f"{mirrored:.0%} look more like a mirrored or upside-down original); keep it mild: rotations up to "
                       "~15 degrees, shifts up to ~10 %, scale 0.9-1.1, colour changes; no flips, no large crops or erasing")
        if match < MIN_MATCH:
            raise Fail(f"the augmented digits are too far from the originals (mean match {match:.2f}, needs >= "
                       f"{MIN_MATCH}); keep it mild: rotations up to ~15 degrees, shifts up to ~10 %, scale 0.9-1.1, "
                       "colour changes; no large crops or erasing")


# --------------------------------------------------------------------------
# hw2.digits_model

DIGIT_STEPS = 500
DIGIT_RENDERS = 4          # the training scans are drawn this many times (different colours, places)
DIGIT_TEST_RENDERS = 2     # the held-out scans, this many times
DIGIT_CAP_S = 30.0
DIGIT_THRESHOLD = 0.90
DIGIT_TEST_FRACTION = 0.2


def grader_split(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The grader's own stratified 80/20 split of the scans (not the student's)."""
    rng = np.random.default_rng([seed, 33])
    test = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test.extend(idx[: int(round(DIGIT_TEST_FRACTION * len(idx)))].tolist())
    test = np.sort(np.asarray(test, dtype=np.int64))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


def render_seed(seed: int, r: int) -> int:
    return 10 * int(seed) + r


def probe_model(ns, seed):
    from data_scripts.digits14 import digits14_arrays

    model = build_model(ns, "build_digits_model", seed)
    if isinstance(model, Bad):
        return {"build": model}
    out = {"build": "ok", "params": param_count(model), "shapes": output_shapes(ns, model, 4, seed)}
    if any(isinstance(s, Bad) or s != [n, 4] for n, s in out["shapes"].items()):
        return out
    renders = [digits14_arrays(render_seed(seed, r)) for r in range(max(DIGIT_RENDERS, DIGIT_TEST_RENDERS))]
    labels = renders[0][1]
    train, test = grader_split(labels, seed)
    x_train = np.concatenate([renders[r][0][train] for r in range(DIGIT_RENDERS)])
    y_train = np.concatenate([labels[train] - 1] * DIGIT_RENDERS)
    x_test = np.concatenate([renders[r][0][test] for r in range(DIGIT_TEST_RENDERS)])
    out["train"] = ns.guard(train_and_predict, model, x_train, y_train, [x_test, renders[0][0][train]],
                            DIGIT_STEPS, seed, DIGIT_CAP_S, 4)
    return out


def judge_model(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    parts = [("time", 1.0), ("test accuracy", 4.0), ("train accuracy", 1.0)]
    if not judge_build(out, "build_digits_model", 4, ck, 1.0, sum(w for _, w in parts)):
        return
    res = out.get("train")
    if not isinstance(res, dict):
        why = res.describe("build_digits_model(): training your model") if isinstance(res, Bad) else "the model was not trained"
        fail_all(ck, parts, why)
        return
    note = speed_part(ck, res, DIGIT_STEPS, DIGIT_CAP_S, 1.0)
    labels = _digits_labels()
    train, test = grader_split(labels, seed)
    y_test = np.concatenate([labels[test] - 1] * DIGIT_TEST_RENDERS)
    y_train = labels[train] - 1
    try:
        acc_test = float(np.mean(predictions(res, 0, len(y_test), 4) == y_test))
        acc_train = float(np.mean(predictions(res, 1, len(y_train), 4) == y_train))
    except Fail as e:
        fail_all(ck, parts[1:], f"build_digits_model: {e}")
        return
    accuracy_tiers(ck, "test accuracy", acc_test, 0.25, DIGIT_THRESHOLD, 4.0, 4,
                   f"test accuracy (held-out scans, {len(y_test)} images)", note)
    accuracy_tiers(ck, "train accuracy", acc_train, 0.25, DIGIT_THRESHOLD, 1.0, 2,
                   f"train accuracy ({len(y_train)} images)", note)


ITEMS = [
    Item("hw2.digits_labels", 3, ("label_from_filename",), probe_labels, judge_labels,
         title="Digits 1-4: the label from a file name", timeout=20),
    Item("hw2.digits_split", 3, ("split_dataset",), probe_split, judge_split,
         title="Digits 1-4: the stratified 80/20 split with seed 42", timeout=30),
    Item("hw2.digits_augment", 2, ("make_transforms",), probe_augment, judge_augment,
         title="Digits 1-4: training and test transforms", timeout=30),
    Item("hw2.digits_model", 8, ("build_digits_model",), probe_model, judge_model,
         title="Digits 1-4: a CNN the grader trains to >= 90 % accuracy", timeout=90, memory_mb=3072),
]
