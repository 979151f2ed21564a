"""The judges' shared floor: what every homework's judge half needs, written once.

Judge side only (the probe server never imports this module). Next to
:mod:`autograder.core` (the Checker and the staged type / shape / value comparisons),
this holds what the homeworks' judges used to write again each:

* parts whose failure on an odd value still names the student's function and the case
  (:func:`part`, :func:`checking`, :func:`attempt`), one message for several parts
  (:func:`fail_all`), short renderings of untrusted values (:func:`short`);
* convention splits: :func:`matches` and :func:`which` recognise which of several widely
  used conventions a value follows, and :func:`convention_part` is the small part of its
  own that the other convention costs, with a reason naming both;
* the grader-trained items: what the training returned (:func:`trained`), its time part
  and status note (:func:`time_part`, :func:`status_note`), points in steps up to a
  threshold (:func:`levels`, :func:`accuracy_tiers`);
* image helpers shared by the augmentation items (:func:`best_match`,
  :func:`channel_normalization`, :func:`undo_normalization`, :func:`normalize_reason`);
* layer oracles (:func:`torch_shapes_params_macs`, :func:`footprint_rfs`): output sizes,
  parameters, multiply-adds and receptive fields of a stack of layers, from torch;
* :func:`one_thread`, a decorator for judges that run torch.
"""
from __future__ import annotations

import contextlib
import functools
import warnings
from typing import Any, Callable, Iterable

import numpy as np

from .core import Bad, Checker, Fail, rel_error

NO_RESULT = Bad("missing", "no result")


# --------------------------------------------------------------------------
# Parts and reasons


def short(v: Any, n: int = 80, as_repr: bool = False) -> str:
    """``str(v)`` (``repr(v)`` with ``as_repr``) cut to ``n`` characters: a value from the
    child can be anything, of any size, with a ``__str__`` that raises."""
    try:
        s = repr(v) if as_repr else str(v)
    except Exception:  # noqa: BLE001
        s = f"a {type(v).__name__}"
    return s if len(s) <= n else s[: n - 3] + "..."


def unexpected(where: str) -> str:
    return f"{where}: the result has an unexpected type or structure and could not be checked"


@contextlib.contextmanager
def checking(where):
    """Inside a part: an unexpected error while checking (a result of an odd type or
    structure) fails with a reason naming ``where``, the student's function and the case
    (a str, or a one-element list the caller updates as it goes through the cases)."""
    try:
        yield
    except Fail:
        raise
    except Exception:  # noqa: BLE001
        raise Fail(unexpected(where[0] if isinstance(where, list) else where)) from None


@contextlib.contextmanager
def part(ck: Checker, name: str, weight: float, where):
    """``ck.part(name, weight)`` whose failure on an unexpected value still names ``where``
    (the Checker's own message knows only the part's name)."""
    with ck.part(name, weight), checking(where):
        yield


def attempt(where: str, fn: Callable, *args, **kwargs) -> tuple[Any, str | None]:
    """Run a check outside a part: (its value, None), or (None, the reason it failed)."""
    try:
        return fn(*args, **kwargs), None
    except Fail as e:
        return None, str(e)
    except Exception:  # noqa: BLE001
        return None, unexpected(where)


def convention_part(ck: Checker, name: str, weight: float, followed: str, checked: bool, unchecked: str) -> None:
    """The small part of its own that one convention split costs. The value parts accept both
    conventions (they compare where the conventions agree, or accept either); this part
    fails with ``followed``, the reason naming both conventions, when the submission follows
    the other one ("" when it follows the notebook's). When no case of the function came out
    right (``checked`` false: a blank or broken function), it fails with ``unchecked`` (the
    first failure of the value parts), so nothing is earned here for nothing."""
    with ck.part(name, weight):
        if not checked:
            raise Fail(unchecked)
        if followed:
            raise Fail(followed)


def any_passed(ck: Checker, *names: str) -> tuple[bool, str]:
    """(whether a part called one of ``names`` has passed so far, the first failure among them):
    what :func:`convention_part` needs to know about the value parts it follows."""
    done = [(ok, msg) for name, _, ok, msg in ck.parts if name in names]
    return any(ok for ok, _ in done), next((msg for ok, msg in done if not ok), "no case could be checked")


def fail_all(ck: Checker, parts: list[tuple[str, float]], message: str) -> None:
    """Fail the weight of all ``parts`` at once, with one message."""
    with ck.part(parts[0][0], sum(w for _, w in parts)):
        raise Fail(message)


def field(container: Any, key: Any) -> Any:
    """``container[key]`` from what the probe returned, whatever it is: a Bad passes
    through (it says what went wrong), anything else that is not a dict holding ``key``
    gives a Bad "no result". Never raises."""
    if isinstance(container, Bad):
        return container
    if isinstance(container, dict):
        try:
            return container.get(key, NO_RESULT)
        except TypeError:
            return NO_RESULT
    return NO_RESULT


def item_of(seq: Any, i: int) -> Any:
    """``seq[i]`` of a list the probe returned, or a Bad "no result". Never raises."""
    return seq[i] if isinstance(seq, list) and 0 <= i < len(seq) else NO_RESULT


def one_thread(judge):
    """Decorator: the judge runs torch on one thread, restored afterwards (the same bits as the
    child, and far faster than several threads on tensors this small)."""

    @functools.wraps(judge)
    def wrapped(out, seed, ck):
        import torch

        n = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return judge(out, seed, ck)
        finally:
            torch.set_num_threads(n)

    return wrapped


# --------------------------------------------------------------------------
# Conventions: which widely used convention a value follows


def matches(got: Any, want: Any, tol: float = 1e-6) -> bool:
    """Whether the student's value equals ``want`` to ``tol`` (relative to the largest
    entry), as numbers of the same shape; never raises. For recognizing which
    convention a wrong value follows, so that its reason can name it."""
    try:
        if isinstance(got, (Bad, bool, str, bytes, dict)) or got is None:
            return False
        g = np.asarray(got)
        if g.dtype.kind not in "fiub":  # strings, objects, complex numbers: not a match
            return False
        g = g.astype(np.float64)
        w = np.asarray(want, dtype=np.float64)
        return g.shape == w.shape and bool(np.all(np.isfinite(g))) and rel_error(g, w) <= tol
    except Exception:  # noqa: BLE001 -- anything odd is simply "not equal"
        return False


def which(got: Any, candidates: dict[str, Any], tol: float = 1e-6) -> str | None:
    """The name of the first of ``candidates`` (name -> the value under that convention or
    mistake) that ``got`` matches, or None."""
    for name, want in candidates.items():
        if matches(got, want, tol):
            return name
    return None


# --------------------------------------------------------------------------
# Grader-trained items


def steps_done(res: dict) -> int | str:
    done = res.get("steps")
    return done if isinstance(done, int) and not isinstance(done, bool) else "?"


def trained(res: Any, who: str, ck: Checker, parts: list[tuple[str, float]]) -> dict | None:
    """What the grader's training returned, or None after failing all ``parts`` with the
    reason (the Bad's, or that nothing came back)."""
    if isinstance(res, dict):
        return res
    fail_all(ck, parts, res.describe(who) if isinstance(res, Bad) else f"{who}: no result came back")
    return None


def status_note(res: dict, steps: int, diverged: str = "the loss became NaN/inf",
                capped: str | None = None) -> str:
    """What to add to a result's reason about how the training ended: `` (the loss became
    NaN/inf after 12 steps)``, `` (only 40 of 90 steps fitted in the time budget)`` (or
    ``capped``, formatted with ``done`` and ``steps``), `` (the model has no trainable
    parameters)``, or nothing when it finished."""
    done = steps_done(res)
    status = res.get("status")
    if status == "diverged":
        return f" ({diverged} after {done} steps)"
    if status == "capped":
        return " (" + (capped or "only {done} of {steps} steps fitted in the time budget").format(done=done, steps=steps) + ")"
    if status == "no parameters":
        return " (the model has no trainable parameters)"
    return ""


def time_part(ck: Checker, name: str, weight: float, res: dict, message: str, steps: int) -> None:
    """The training-time part: fails with ``message`` (formatted with ``done`` and
    ``steps``) when the grader's CPU budget ran out."""
    with ck.part(name, weight):
        if res.get("status") == "capped":
            raise Fail(message.format(done=steps_done(res), steps=steps))


def levels(ck: Checker, name: str, value: Any, weight: float, thresholds: Iterable[float], message: str,
           higher_is_better: bool = True) -> int:
    """Points in steps: ``weight / len(thresholds)`` for each threshold ``value`` reaches
    (``>=``; ``<=`` when lower is better), the rest failed with ``message``. Returns how
    many were reached."""
    thresholds = list(thresholds)
    ok = (lambda t: value >= t) if higher_is_better else (lambda t: value <= t)
    reached = sum(1 for t in thresholds if isinstance(value, (int, float)) and ok(t))
    n = len(thresholds)
    if reached:
        with ck.part(name, weight * reached / n):
            pass
    if reached < n:
        with ck.part(name, weight * (n - reached) / n):
            raise Fail(message)
    return reached


def tier_thresholds(floor: float, threshold: float, tiers: int) -> list[float]:
    """``tiers`` evenly spaced levels from ``floor`` (exclusive) up to ``threshold``."""
    return [floor + (threshold - floor) * i / tiers - 1e-9 for i in range(1, tiers + 1)]


def accuracy_tiers(ck: Checker, name: str, acc: Any, chance: float, threshold: float, weight: float, tiers: int,
                   what: str, note: str = "") -> None:
    """Full weight at ``acc >= threshold``; below it, ``weight / tiers`` for each of the
    ``tiers`` evenly spaced levels that ``acc`` reaches, from halfway between chance
    and the threshold (exclusive) up to the threshold. So a model no better than
    halfway (a linear model on the pixels, say) earns nothing here."""
    shown = f"{acc:.1%}" if isinstance(acc, (int, float)) else short(acc, 20)
    levels(ck, name, acc, weight, tier_thresholds((chance + threshold) / 2, threshold, tiers),
           f"{what} {shown} after the grader's training, below the {threshold:.0%} needed for full points{note}")


# --------------------------------------------------------------------------
# Layer oracles: output sizes, parameters, multiply-adds and receptive fields of a stack of
# layers given as specs ({"type": "conv", "out": 8, "k": 3, "s": 1, "p": 1, "d": 1}, "maxpool",
# "avgpool", "bn", "flatten", "linear", "dropout", an activation), from real torch modules.
# HW1's layer calculator and HW4's dilated stacks compare with them.

LAYER_ACTIVATIONS = ("relu", "leakyrelu", "sigmoid", "tanh", "gelu", "elu")


def _uninitialized(cls):
    """``cls`` without its random initialization: the shapes of the parameters and
    the forward pass are the real ones, the values are never read (the batch is
    empty), and a Linear(43264, 1024) costs no time."""
    return type(cls.__name__, (cls,), {"reset_parameters": lambda self: None})


def _torch_layer(spec: dict, shape: tuple, ceil: bool = False):
    """The torch module a spec stands for, on an input of ``shape`` (without batch);
    ``ceil``: pooling rounds its output size up (``ceil_mode=True``, Caffe's convention)."""
    import torch.nn as nn

    t = spec["type"]
    if t == "conv":
        p = spec.get("p", 0)
        return _uninitialized(nn.Conv2d)(shape[0], spec["out"], spec["k"], stride=spec.get("s", 1),
                                         padding=0 if p == "valid" else p, dilation=spec.get("d", 1),
                                         groups=spec.get("groups", 1), bias=spec.get("bias", True))
    if t in ("maxpool", "avgpool"):
        cls = nn.AvgPool2d if t == "avgpool" else nn.MaxPool2d
        return cls(spec["k"], stride=spec.get("s", spec["k"]), padding=spec.get("p", 0), ceil_mode=ceil)
    if t == "bn":
        return (nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d)(shape[0])
    if t == "flatten":
        return nn.Flatten()
    if t == "linear":
        return _uninitialized(nn.Linear)(shape[0], spec["out"], bias=spec.get("bias", True))
    if t == "dropout":
        return nn.Dropout(spec.get("p", 0.5))
    if t in LAYER_ACTIVATIONS:
        return {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
                "gelu": nn.GELU, "elu": nn.ELU}[t]()
    raise ValueError(f"unknown layer type {t!r}")


def torch_shapes_params_macs(input_shape, layers, ceil: bool = False) -> list[dict]:
    """Output shape, parameter count and multiply-adds of every layer, from real torch
    modules and a forward pass of an empty batch (shape (0, C, H, W): every output
    size is computed, no arithmetic is done). ``ceil``: pooling in ceil mode."""
    import torch
    import torch.nn as nn

    x = torch.zeros((0, *input_shape))
    rows = []
    with torch.no_grad(), warnings.catch_warnings():  # padding='same' with an even kernel warns
        warnings.simplefilter("ignore")
        for spec in layers:
            mod = _torch_layer(spec, tuple(x.shape[1:]), ceil).eval()
            y = mod(x)
            params = sum(p.numel() for p in mod.parameters())
            if isinstance(mod, nn.Conv2d):
                # every output element: one multiply-add per weight of its filter
                macs = y.shape[1:].numel() * mod.weight[0].numel()
            elif isinstance(mod, nn.Linear):
                macs = mod.weight.numel()
            else:
                macs = 0
            rows.append({"output_shape": tuple(int(v) for v in y.shape[1:]), "params": int(params), "macs": int(macs)})
            x = y
    return rows


def _footprint_layer(spec: dict):
    """The one-row, one-channel, unpadded copy of a layer (None: the identity)."""
    import torch
    import torch.nn as nn

    t = spec["type"]
    if t == "conv":
        m = nn.Conv1d(1, 1, spec["k"], stride=spec.get("s", 1), dilation=spec.get("d", 1), bias=False, dtype=torch.float64)
        nn.init.constant_(m.weight, 1.0)  # all positive: no gradient cancels out
        return m
    if t in ("maxpool", "avgpool"):
        # max pooling sends gradient to one position of its window only
        return nn.AvgPool1d(spec["k"], stride=spec.get("s", spec["k"]))
    return None


def footprint_rfs(input_shape, layers, start: int = 32, largest: int = 1 << 16) -> list[int | None]:
    """Receptive field (one side) of a central output unit of every layer, measured as
    the width of its gradient footprint on one row of the input.

    Kernels and strides act on rows and columns alike, so one row of one channel
    holds the whole story. The copy drops all padding: padding moves windows, it does
    not widen them, and without it every output unit's window lies inside the input,
    so no footprint is cut by a border. The input grows until every layer has output.
    """
    import torch

    first_flat = next((i for i, l in enumerate(layers) if l["type"] in ("flatten", "linear")), len(layers))
    mods = [_footprint_layer(spec) for spec in layers[:first_flat]]
    size = start
    while True:
        x = torch.zeros((1, 1, size), dtype=torch.float64, requires_grad=True)
        outs, y = [], x
        try:
            for m in mods:
                y = y if m is None else m(y)
                outs.append(y)
            if all(y.shape[-1] >= 1 for y in outs):
                break
        except RuntimeError:  # a window larger than its input: grow the input
            pass
        if size >= largest:
            raise RuntimeError(f"a layer still has no output at input size {size}")
        size *= 2
    rfs = []
    for y in outs:
        (g,) = torch.autograd.grad(y[0, 0, y.shape[-1] // 2], x, retain_graph=True)
        cols = torch.nonzero(g[0, 0] != 0).flatten()
        rfs.append(int(cols.max()) - int(cols.min()) + 1)
    return rfs + [None] * (len(layers) - first_flat)


# --------------------------------------------------------------------------
# Images


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


def channel_normalization(pairs, tol: float = 1e-4):
    """``pairs``: (img / 255, what an eval transform returned), (3, H, W) each. When the outputs are
    ``(img / 255 - mean_c) / std_c`` for one plausible (mean, std) per channel other than (0, 1)
    (a Normalize after the conversion: another widely used convention), returns (mean, std)
    arrays of 3; otherwise None (values 0-255, say, are a mistake, not a Normalize)."""
    if not pairs:
        return None
    mean, std = np.zeros(3), np.ones(3)
    for c in range(3):
        x = np.concatenate([np.asarray(w, dtype=np.float64)[c].ravel() for w, _ in pairs])
        y = np.concatenate([np.asarray(g, dtype=np.float64)[c].ravel() for _, g in pairs])
        if x.size < 2 or float(x.std()) < 1e-6:
            return None
        slope = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
        shift = float(y.mean() - slope * x.mean())
        if not slope > 0 or float(np.max(np.abs(y - (slope * x + shift)))) > tol * max(1.0, float(np.max(np.abs(y)))):
            return None
        mean[c], std[c] = -shift / slope, 1.0 / slope
    if np.allclose(mean, 0, atol=1e-4) and np.allclose(std, 1, atol=1e-4):
        return None
    if not (np.all((mean >= -1e-3) & (mean <= 1 + 1e-3)) and np.all((std >= 0.05) & (std <= 1 + 1e-3))):
        return None
    return mean, std


def undo_normalization(a: np.ndarray, norm) -> np.ndarray:
    """``a`` (3, H, W) back to [0, 1] units when the transform normalises (``norm`` = (mean, std))."""
    if norm is None:
        return a
    mean, std = norm
    return (a * std[:, None, None] + mean[:, None, None]).astype(np.float32)


def normalize_reason(fn: str, norm) -> str:
    """The reason of the small part a per-channel Normalize costs, naming both conventions."""
    mean, std = norm
    imagenet = np.allclose(mean, [0.485, 0.456, 0.406], atol=2e-3) and np.allclose(std, [0.229, 0.224, 0.225], atol=2e-3)
    who = ("ImageNet's mean and std, as torchvision's pretrained models and the PyTorch transfer-learning "
           "tutorial do" if imagenet else "a Normalize after the conversion, as the PyTorch tutorials do")
    return (f"{fn}: this notebook's transforms give img / 255 in [0, 1] (no Normalize); yours normalise each channel "
            f"with mean {np.round(mean, 3).tolist()} and std {np.round(std, 3).tolist()}, {who}")
