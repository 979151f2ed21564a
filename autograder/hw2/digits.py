"""Handwritten digits 1-4 (003 P5): labels from file names, the 80/20 split, augmentation,
and a model the grader trains itself. The judge half; the probes are in
``autograder/probes/hw2/digits.py``.

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

The model item: the probe builds the model, checks its output shape, trains it with
the grader's fixed loop (Adam, one-cycle LR schedule, fixed batch size and number of
steps, a CPU-time cap) on the offline digits of ``data_scripts.digits14`` drawn from
the seed, and predicts the images this judge sends (``Item.give``): the held-out scans
(those of the grader's split that training never sees) drawn twice, and 100 training
scans drawn anew, all with a seed derived from the course secret
(:func:`autograder.core.held_out_seed`) and shuffled, so the child cannot regenerate
them or their labels. The judge keeps the labels and computes the accuracies: >= 90 %
on the held-out scans (and on the training scans) is full marks; less earns part of
the accuracy points, in steps from 57.5 % (halfway between chance, 25 %, and 90 %) up
to 90 %.

The image helpers (``best_match``, the Normalize detection) are the toolkit's
(autograder/judging), shared with HW5's face augmentation.
"""
from __future__ import annotations

import functools
import math
import re

import numpy as np

from ..core import Bad, Fail, Item, held_out_seed, unwrap
from ..probes.hw2.digits import (AUG_DRAWS, AUG_SCANS, BATCH, DIGIT_CAP_S, DIGIT_EVAL_KEYS,  # noqa: F401
                                 DIGIT_STEPS, SPLIT_CASES, augment_images, digits_labels, grader_split,
                                 label_inputs, probe_augment, probe_labels, probe_model, probe_split, split_inputs,
                                 transform_draws)
from ..judging import accuracy_tiers, best_match, fail_all
from .common import channel_normalization, checking, part, short, undo_normalization

# --------------------------------------------------------------------------
# Shared by the two model items (catsdogs imports these).


def judge_build(out: dict, fn: str, n_classes: int, ck, weight: float, rest: float) -> bool:
    """The "model" part: built, and (N, n_classes) logits. When that fails, the
    ``rest`` of the weight (training, accuracy) fails with it, under one message;
    returns whether the rest can be judged."""
    name = f"`{fn}` model"
    build = out.get("build")
    shapes = out.get("shapes")
    if isinstance(build, Bad) or not isinstance(shapes, dict) or not shapes:
        bad = build if isinstance(build, Bad) else Bad("missing", "no output shape came back")
        with ck.part(name, weight + rest):
            raise Fail(bad.describe(f"{fn}()"))
        return False
    try:
        with checking(f"{fn}(): the model's output"):
            for n, got in sorted(shapes.items(), key=lambda kv: str(kv[0])):
                n = int(n)
                got = unwrap(got, f"{fn}(): the model on a batch of shape ({n}, 3, 64, 64)")
                if isinstance(got, str):
                    raise Fail(f"{fn}(): the model returned {short(got, 40)} for a batch of shape ({n}, 3, 64, 64); "
                               "return logits")
                if not isinstance(got, (list, tuple)) or list(got) != [n, n_classes]:
                    raise Fail(f"{fn}(): the model maps a batch of shape ({n}, 3, 64, 64) to {short(tuple(got) if isinstance(got, (list, tuple)) else got)}; "
                               f"expected ({n}, {n_classes}), one logit per class")
    except Fail as e:
        with ck.part(name, weight + rest):
            raise e
        return False
    with ck.part(name, weight):
        pass
    return True


def predictions(res: dict, k: int, n: int, n_classes: int) -> np.ndarray:
    """The ``k``-th array of predictions: ``n`` class indices in range, or Fail."""
    preds = res.get("preds")
    if not isinstance(preds, (list, tuple)) or len(preds) <= k:
        raise Fail("no predictions came back")
    p = preds[k]
    if not isinstance(p, np.ndarray) or p.shape != (n,) or p.dtype.kind not in "iu":
        raise Fail("the predictions are malformed")
    if p.size and (p.min() < 0 or p.max() >= n_classes):
        raise Fail("the predicted classes are out of range")
    return p


def speed_part(ck, res: dict, fn: str, steps: int, cap_s: float, weight: float) -> str:
    """The "time" part; returns a note for the accuracy messages."""
    status = res.get("status")
    done = res.get("steps")
    done = done if isinstance(done, int) and not isinstance(done, bool) else "?"
    with ck.part(f"`{fn}` training time", weight):
        if status == "capped":
            raise Fail(f"{fn}(): training too slow: the grader's {cap_s:g} s CPU budget ran out after {done} of {steps} "
                       f"steps (batch {BATCH}); make the model smaller or downsample earlier (stride, pooling)")
    if status == "diverged":
        return f" (the loss became NaN/inf after {done} steps)"
    if status == "capped":
        return f" (only {done} of {steps} steps fitted in the time budget)"
    if status == "no parameters":
        return " (the model has no trainable parameters)"
    return ""


def training_result(out: dict, fn: str, ck, parts: list[tuple[str, float]]) -> dict | None:
    """What the grader's training returned, or None after failing all ``parts``."""
    res = out.get("train")
    if not isinstance(res, dict):
        why = res.describe(f"{fn}(): training your model") if isinstance(res, Bad) else f"{fn}(): the model was not trained"
        fail_all(ck, parts, why)
        return None
    return res


# --------------------------------------------------------------------------
# hw2.digits_labels

_LABEL_NAME = re.compile(r"digit([1-4])_\d{5}\.png")


def expected_label(text: str) -> int:
    """The digit in the file name (the last path component) of a generated case."""
    return int(_LABEL_NAME.fullmatch(text.rsplit("/", 1)[-1]).group(1))


def _as_int(v):
    """The value as an int when it is one, or a digit string (judged separately)."""
    if isinstance(v, (list, tuple)) and len(v) == 2:
        t, val = v
        if isinstance(val, int) and not isinstance(val, bool) and not (isinstance(t, str) and t == "bool"):
            return val, True
        if isinstance(val, str):
            s = val.strip("'\"")
            if s.isdigit() and len(s) < 10:
                return int(s), False
    return None, False


def judge_labels(out, seed, ck):
    out = out if isinstance(out, list) else []
    cases = [(text, expected_label(text), kind) for text, kind in label_inputs(seed)]
    groups = {"name": ("file names", 1.0), "folders": ("paths with digits in the folder names", 1.0),
              "path": ("pathlib.Path arguments", 0.5)}
    values = [_as_int(out[i])[0] if i < len(out) and not isinstance(out[i], Bad) else None for i in range(len(cases))]
    index_like = all(values[i] == lab - 1 for i, (_, lab, k) in enumerate(cases) if k == "name")
    for kind, (title, w) in groups.items():
        mine = [i for i, (_, _, k) in enumerate(cases) if k == kind]
        for i in mine:  # each case earns its share of the group's weight
            text, label, k = cases[i]
            with ck.part(f"`label_from_filename` on {title}", w / len(mine)):
                arg = f"Path({text!r})" if k == "path" else repr(text)
                call = f"label_from_filename({arg})"
                with checking(call):
                    got = out[i] if i < len(out) else Bad("missing", "no result")
                    got = unwrap(got, call)
                    value, _ = _as_int(got)
                    if value != label:
                        shown = got[1] if isinstance(got, (list, tuple)) and len(got) == 2 else got
                        hint = ""
                        if value == label - 1 and index_like:
                            hint = "; return the digit itself (1-4), not a class index"
                        elif k != "name":
                            hint = "; take the label from the file name only, not from the folders"
                        raise Fail(f"{call} returned {short(shown, 40)}, expected {label}{hint}")
    with ck.part("`label_from_filename` returns an int", 0.5):
        for i, (text, label, k) in enumerate(cases):
            call = f"label_from_filename({text!r})"
            with checking(call):
                got = out[i] if i < len(out) else Bad("missing", "no result")
                got = unwrap(got, call)
                value, is_int = _as_int(got)
                if value is not None and not is_int:
                    raise Fail(f"{call} returned the string {short(got[1], 40)}; return an int (int(...))")
                if not is_int:
                    t = got[0] if isinstance(got, (list, tuple)) and got else type(got).__name__
                    raise Fail(f"{call} returned a {short(t, 40)}; return an int")


# --------------------------------------------------------------------------
# hw2.digits_split


def _describe_split(case: str, n: int) -> str:
    sizes, frac, sd, _, as_path = SPLIT_CASES[case]
    f = 0.2 if frac is None else frac
    s = 42 if sd is None else sd
    args = f"test_fraction={f:g}" + ("" if frac is not None else " (default)") + f", seed={s}" + ("" if sd is not None else " (default)")
    what = "the digits data set" if sizes is None else f"classes of sizes {sizes}"
    return f"N={n}, {what}, {args}" + (", paths as pathlib.Path" if as_path else "")


SIZES_WEIGHT = 0.5  # out of 3.5: the rounding of the test size


def judge_split(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    labels_of_digits = digits_labels()
    inputs = {case: split_inputs(seed, case, labels_of_digits) for case in SPLIT_CASES}
    ctxs = {case: f"split_dataset ({_describe_split(case, len(inputs[case][0]))})" for case in SPLIT_CASES}
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
            elif all(isinstance(x, np.ndarray) and x.ndim == 1 and x.dtype.kind in "iu" for x in r):
                got[case] = (r[0].astype(np.int64), r[1].astype(np.int64))
            else:
                first_bad = first_bad or (case, Bad("missing", "returned something that is not two 1-D integer index arrays"))
        else:
            first_bad = first_bad or (case, Bad("missing", "returned an unexpected value"))
    if first_bad is not None:
        case, bad = first_bad
        names = inputs[case][0]
        fail_all(ck, [("`split_dataset` partition", 1), ("`split_dataset` sizes", SIZES_WEIGHT), ("`split_dataset` stratified", 1),
                      ("`split_dataset` reproducible", 0.5), ("`split_dataset` seed", 0.5)],
                 f"{bad.describe('split_dataset')} ({_describe_split(case, len(names))})")
        return

    for case, (tr, te) in got.items():  # each case earns its share
        names, labels, *_ = inputs[case]
        n = len(names)
        ctx = _describe_split(case, n)
        with ck.part("`split_dataset` partition", 1 / len(got)), checking(ctxs[case]):
            both = np.concatenate([tr, te])
            if both.size and (both.min() < 0 or both.max() >= n):
                raise Fail(f"split_dataset: indices out of range 0..{n - 1} ({ctx})")
            if len(np.unique(tr)) != len(tr) or len(np.unique(te)) != len(te):
                raise Fail(f"split_dataset: an index appears twice in one part ({ctx})")
            if np.intersect1d(tr, te).size:
                raise Fail(f"split_dataset: {np.intersect1d(tr, te).size} indices are in both parts ({ctx})")
            if len(both) != n:
                raise Fail(f"split_dataset: the two parts hold {len(both)} of the {n} items; every item must be in exactly one ({ctx})")
    # How the test size is rounded is a convention of its own (scikit-learn's ceil, this notebook's;
    # int(f * N), or per class, with torch's random_split): a small part per case.
    for case, (tr, te) in got.items():
        names, labels, frac, *_ = inputs[case]
        f = 0.2 if frac is None else frac
        with part(ck, "`split_dataset` sizes", SIZES_WEIGHT / len(got), ctxs[case]):
            want = math.ceil(f * len(names) - 1e-9)
            if len(te) != want:
                counts = [int((labels == c).sum()) for c in np.unique(labels)]
                other = {math.floor(f * len(names) + 1e-9): "rounded down (int(f * N))",
                         sum(math.floor(f * n_c + 1e-9) for n_c in counts): "rounded down per class (torch's random_split "
                                                                               "of each class)"}
                how = f"; yours is {other[len(te)]}" if len(te) in other else ""
                raise Fail(f"split_dataset: the test part has {len(te)} items; this notebook rounds the test size up as "
                           f"scikit-learn's train_test_split does: ceil({f:g} * {len(names)}) = {want}{how} "
                           f"({_describe_split(case, len(names))})")
    for case, (tr, te) in got.items():
        names, labels, frac, *_ = inputs[case]
        f = 0.2 if frac is None else frac
        with ck.part("`split_dataset` stratified", 1 / len(got)), checking(ctxs[case]):
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

    with part(ck, "`split_dataset` reproducible", 0.5, ctxs["again"]):
        if not same(got["default"], got["again"]):
            raise Fail("split_dataset: two calls with the same arguments gave different splits "
                       f"({_describe_split('again', len(inputs['again'][0]))}); draw the permutation "
                       "from a generator seeded with `seed` (np.random.default_rng(seed) or random_state=seed)")
    with part(ck, "`split_dataset` seed", 0.5, ctxs["seed 7"]):
        if not same(got["default"], got["explicit 42"]):
            raise Fail("split_dataset: the call without `seed` differs from seed=42; the default seed must be 42 and be used")
        if same(got["default"], got["seed 7"]):
            raise Fail("split_dataset: seed=7 gave the same split as seed=42; the split must depend on the seed")


# --------------------------------------------------------------------------
# hw2.digits_augment

AUG_MARGIN = 10      # the centre of an augmented image is searched for in the original, +-10 px
MIN_MATCH = 0.70     # mean best match (normalised cross-correlation) with the original
MAX_MIRRORED = 0.15  # share of augmented images that match a mirrored / upside-down original better
EVAL_T = "make_transforms(False)"
TRAIN_T = "make_transforms(True)"


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


def _image_case(k: int, n: int, digit: int) -> str:
    return f"on digit image {k + 1} of {n} (a {digit}, uint8 64x64x3)"


def _check_output(rec, what: str) -> np.ndarray:
    rec = unwrap(rec, what)
    if not isinstance(rec, dict):
        raise Fail(f"{what}: no output")
    if not rec.get("tensor"):
        raise Fail(f"{what}: returned a {short(rec.get('type'), 40)}; return a torch tensor "
                   "(e.g. end with v2.ToDtype(torch.float32, scale=True))")
    if rec.get("dtype") != "float32":
        raise Fail(f"{what}: returned a tensor of dtype {short(rec.get('dtype'), 40)}; it must be float32")
    if rec.get("shape") != [3, 64, 64]:
        shape = rec.get("shape")
        raise Fail(f"{what}: returned shape {short(tuple(shape) if isinstance(shape, (list, tuple)) else '?')}; "
                   "expected (3, 64, 64), channels first")
    a = rec.get("array")
    if not isinstance(a, np.ndarray) or a.shape != (3, 64, 64):
        raise Fail(f"{what}: the output could not be read")
    if not np.all(np.isfinite(a)):
        raise Fail(f"{what}: the output contains NaN or inf")
    return a.astype(np.float32)


def judge_augment(out, seed, ck):
    out = out if isinstance(out, dict) else {}
    images = augment_images(seed)
    digits = [int(d) for d in digits_labels()[list(AUG_SCANS)]]
    n_img = len(images)
    # Normalize(mean, std) after the conversion is a convention of its own (the PyTorch tutorials'
    # pipelines; this notebook keeps [0, 1]): accepted by the eval part, undone before the train
    # transform's checks, charged in its own part.
    parts_eval = [("`make_transforms` eval transform", 0.7), ("`make_transforms` no Normalize", 0.3)]
    parts_train = [("`make_transforms` train transform output", 0.5), ("`make_transforms` train transform is random", 0.5),
                   ("`make_transforms` train transform keeps the digit", 1.0)]

    ev = out.get(False, Bad("missing", "no result"))
    norm = None  # a per-channel Normalize the eval transform applies (another convention), undone below
    if isinstance(ev, Bad) or not isinstance(ev, list) or len(ev) != n_img:
        fail_all(ck, parts_eval, ev.describe(EVAL_T) if isinstance(ev, Bad) else f"{EVAL_T}: no result for the {n_img} digit images")
    else:
        evals = []  # (img / 255, what the transform gave)
        eval_ok = False
        with ck.part(parts_eval[0][0], parts_eval[0][1]):
            for k, (img, draws) in enumerate(zip(images, ev)):
                what = f"the transform from {EVAL_T} {_image_case(k, n_img, digits[k])}"
                with checking(what):
                    want = img.transpose(2, 0, 1).astype(np.float32) / 255.0
                    a = _check_output(draws[0], what)
                    b = _check_output(draws[1], what)
                    if not np.array_equal(a, b):
                        raise Fail(f"{what}: two calls on the same image differ; {EVAL_T} must only convert "
                                   "(no augmentation at test time)")
                    evals.append((want, a))
            norm = channel_normalization(evals)
            for k, (want, a) in enumerate(evals):
                what = f"the transform from {EVAL_T} {_image_case(k, n_img, digits[k])}"
                err = float(np.max(np.abs(a - want)))
                if err > 1e-4 and norm is None:
                    hint = " (values 0-255: divide by 255)" if abs(float(a.mean()) - float(want.mean()) * 255) < 1 else ""
                    raise Fail(f"{what}: must return exactly img / 255 as a (3, 64, 64) tensor; "
                               f"max difference {err:.3g}{hint}")
            eval_ok = True
        with ck.part(parts_eval[1][0], parts_eval[1][1]):
            if not eval_ok:
                raise Fail(f"{EVAL_T}: its outputs are not img / 255 (see above)")
            if norm is not None:
                mean, std = norm
                raise Fail(f"{EVAL_T}: this notebook's transforms give img / 255 in [0, 1] (no Normalize: the grader's "
                           f"model is trained on such images); yours normalise each channel with mean "
                           f"{np.round(mean, 3).tolist()} and std {np.round(std, 3).tolist()}, as the PyTorch tutorials' "
                           f"ToTensor-then-Normalize pipelines do")

    tr = out.get(True, Bad("missing", "no result"))
    if isinstance(tr, Bad) or not isinstance(tr, list) or len(tr) != n_img:
        fail_all(ck, parts_train, tr.describe(TRAIN_T) if isinstance(tr, Bad) else f"{TRAIN_T}: no result for the {n_img} digit images")
        return
    arrays: list[list[np.ndarray]] = []
    with ck.part(parts_train[0][0], 0.5):
        for k, draws in enumerate(tr):
            what = f"the transform from {TRAIN_T} {_image_case(k, n_img, digits[k])}"
            with checking(what):
                if not isinstance(draws, list) or len(draws) != AUG_DRAWS:
                    raise Fail(f"{what}: no result for its {AUG_DRAWS} calls")
                row = []
                for rec in draws:
                    a = undo_normalization(_check_output(rec, what), norm)
                    if a.min() < -1e-3 or a.max() > 1 + 1e-3:
                        raise Fail(f"{what}: returned values in [{a.min():.3g}, {a.max():.3g}]; keep them in [0, 1] "
                                   "like the eval transform (clamp after adding noise; no Normalize)")
                    row.append(a)
                arrays.append(row)
    if len(arrays) != n_img:
        fail_all(ck, parts_train[1:], f"{TRAIN_T}: the transform's outputs could not be checked (see above)")
        return
    with part(ck, parts_train[1][0], 0.5, TRAIN_T):
        varied = sum(1 for row in arrays if any(np.max(np.abs(row[0] - o)) > 1e-3 for o in row[1:]))
        if varied < n_img - 1:
            raise Fail(f"{TRAIN_T}: the transform gave the same output on {AUG_DRAWS} calls for {n_img - varied} of the "
                       f"{n_img} digit images; augmentation must be random (a new variation at every call)")
    with part(ck, parts_train[2][0], 1.0, TRAIN_T):
        match, mirrored = augment_stats(images, arrays)
        ctx = f"{TRAIN_T} on {n_img} digit images, {AUG_DRAWS} calls each"
        if mirrored > MAX_MIRRORED and match >= MIN_MATCH:
            raise Fail(f"{ctx}: {mirrored:.0%} of the augmented digits look more like the mirrored or upside-down "
                       "original than the original: no flips and no large rotations (a mirrored 3 is not a 3)")
        if mirrored > MAX_MIRRORED:
            raise Fail(f"{ctx}: the augmented digits are too far from the originals (mean match {match:.2f}, needs >= "
                       f"{MIN_MATCH}; {mirrored:.0%} look more like a mirrored or upside-down original); keep it mild: "
                       "rotations up to ~15 degrees, shifts up to ~10 %, scale 0.9-1.1, colour changes; no flips, "
                       "no large crops or erasing")
        if match < MIN_MATCH:
            raise Fail(f"{ctx}: the augmented digits are too far from the originals (mean match {match:.2f}, needs >= "
                       f"{MIN_MATCH}); keep it mild: rotations up to ~15 degrees, shifts up to ~10 %, scale 0.9-1.1, "
                       "colour changes; no large crops or erasing")


# --------------------------------------------------------------------------
# hw2.digits_model: held-out evaluation images (sent to the probe) and their labels (kept here).

DIGIT_TEST_RENDERS = 2     # the held-out scans are drawn this many times
DIGIT_TRAIN_EVAL = 100     # training scans drawn anew, for the train accuracy
DIGIT_THRESHOLD = 0.90
DIGITS_MODEL = "hw2.digits_model"


@functools.lru_cache(maxsize=4)
def _held_out_set(hseed: int, seed: int) -> dict:
    from data_scripts.digits14 import _ink, _paint, _scans

    scans, labels = _scans()
    train, test = grader_split(labels, seed)
    rng = np.random.default_rng([hseed, 35])
    chosen = {"test": np.concatenate([test] * DIGIT_TEST_RENDERS),
              "train": rng.choice(train, DIGIT_TRAIN_EVAL, replace=False)}
    out = {}
    for key in DIGIT_EVAL_KEYS:
        idx = rng.permutation(chosen[key])
        images = np.stack([_paint(_ink(scans[i], rng), rng) for i in idx])
        out[key] = (images, (labels[idx] - 1).astype(np.int64))
    return out


def held_out_digits(seed: int) -> dict:
    """``{"test": (images, class indices), "train": (...)}``: uint8 (N, 64, 64, 3) images
    drawn with a seed only the judge knows, in a shuffled order, and their labels."""
    return _held_out_set(held_out_seed(DIGITS_MODEL, seed), int(seed))


def give_model(seed: int) -> dict:
    """What the probe gets: the images alone."""
    return {key: images for key, (images, _) in held_out_digits(seed).items()}


def judge_model(out, seed, ck):
    fn = "build_digits_model"
    out = out if isinstance(out, dict) else {}
    parts = [(f"`{fn}` training time", 1.0), (f"`{fn}` test accuracy", 4.0), (f"`{fn}` train accuracy", 1.0)]
    if not judge_build(out, fn, 4, ck, 1.0, sum(w for _, w in parts)):
        return
    res = training_result(out, fn, ck, parts)
    if res is None:
        return
    note = speed_part(ck, res, fn, DIGIT_STEPS, DIGIT_CAP_S, 1.0)
    sets = held_out_digits(seed)
    y_test, y_train = sets["test"][1], sets["train"][1]
    try:
        with checking("the predictions"):
            acc_test = float(np.mean(predictions(res, 0, len(y_test), 4) == y_test))
            acc_train = float(np.mean(predictions(res, 1, len(y_train), 4) == y_train))
    except Fail as e:
        fail_all(ck, parts[1:], f"{fn}(): {e}")
        return
    accuracy_tiers(ck, parts[1][0], acc_test, 0.25, DIGIT_THRESHOLD, 4.0, 4,
                   f"{fn}(): test accuracy (held-out scans, {len(y_test)} images)", note)
    accuracy_tiers(ck, parts[2][0], acc_train, 0.25, DIGIT_THRESHOLD, 1.0, 2,
                   f"{fn}(): train accuracy (training scans drawn anew, {len(y_train)} images)", note)


ITEMS = [
    Item("hw2.digits_labels", 3, ("label_from_filename",), probe_labels, judge_labels,
         title="Digits 1-4: the label from a file name", timeout=20),
    Item("hw2.digits_split", 3, ("split_dataset",), probe_split, judge_split,
         title="Digits 1-4: the stratified 80/20 split with seed 42", timeout=30),
    Item("hw2.digits_augment", 2, ("make_transforms",), probe_augment, judge_augment,
         title="Digits 1-4: training and test transforms", timeout=30),
    Item(DIGITS_MODEL, 8, ("build_digits_model",), probe_model, judge_model,
         title="Digits 1-4: a CNN the grader trains to >= 90 % accuracy", timeout=90, memory_mb=3072,
         give=give_model),
]
