"""Probe half of hw5.class_visualization and hw5.fgsm.

Runs in the child, beside the student's code, on the grader's fixed colour-square
classifier (``cam.toy_net``). The input builders of the FGSM value cases and of the
visualization calls are here (the judge imports them). The images on which the accuracy
drop and the accuracy-vs-epsilon curve are measured are NOT built here: the judge sends
them (``ns.given["x"]``, drawn from a seed only the judge knows) and keeps their labels;
the probe attacks the model's own predictions on them (the model is right on every clean
image) and returns what the student's functions produced. The judge computes the
accuracies.
"""
from __future__ import annotations

import numpy as np

from autograder.probes.runtime import Bad, error_text

from .cam import K_CLASSES, input_rec, model_state, object_images, tensor_rec, toy_net

# --------------------------------------------------------------------------
# hw5.class_visualization

# (class offset, size, steps, lr, l2_reg, jitter, seed argument); calls 0 and 1 are the same
# (reproducibility), call 2 is call 0 without L2.
VIS_L2 = 0.05
VIS_CALLS = [
    (0, (24, 28), 40, 0.5, VIS_L2, 2, 3),
    (0, (24, 28), 40, 0.5, VIS_L2, 2, 3),
    (0, (24, 28), 40, 0.5, 0.0, 2, 3),
    (3, (32, 32), 40, 0.5, VIS_L2, 1, 7),
]


def vis_class(seed, call) -> int:
    """The class whose logit call ``call`` maximises."""
    k = VIS_CALLS[call][0]
    return int((k + seed) % K_CLASSES)


def start_image(size, seed):
    """The starting noise of a visualization drawn with the seed argument ``seed``."""
    import torch

    return torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(seed)).numpy()


def probe_visualization(ns, seed):
    out = {}
    for call, (_, size, steps, lr, l2, jitter, s) in enumerate(VIS_CALLS):
        try:
            model = toy_net()
            if call == 3:
                model.train()  # no dropout or BN: the same function, but the mode must be kept
            before = model_state(model)
            v = ns.call("class_visualization", model, vis_class(seed, call), steps=steps, lr=lr, l2_reg=l2,
                        jitter=jitter, seed=s, size=size)
            out[call] = {"img": tensor_rec(v, "image"), "before": before, "after": model_state(model)}
        except Exception as e:  # noqa: BLE001
            out[call] = {"img": Bad("missing", f"the result of `class_visualization` could not be used ({error_text(e)})")}
    return out


# --------------------------------------------------------------------------
# hw5.fgsm

# (n images, size, eps, targeted, model mode)
FGSM_CASES = [
    (6, (32, 32), 0.03, False, "eval"),
    (5, (24, 40), 0.1, False, "eval"),
    (6, (32, 32), 0.05, True, "eval"),
    (3, (28, 20), 0.2, True, "train"),
]
FGSM_EPS = 0.05              # the budget of the accuracy-drop attack
CURVE_EPS = [0.0, 0.02, 0.05, 0.1]
CURVE_N = 60                 # the curve runs on the first CURVE_N of the images the judge sends


def fgsm_inputs(seed, case):
    """The inputs of FGSM value case ``case``: x, y (true classes, or the targets), eps, targeted, mode."""
    n, size, eps, targeted, mode = FGSM_CASES[case]
    x, labels, _ = object_images([seed, 71, case], n, size)
    # saturated pixels: a row of 0 and a row of 1, so that a missing clamp shows
    x[:, :, 0, :] = 0.0
    x[:, :, -1, :] = 1.0
    y = labels[:, 0]
    if targeted:
        y = (y + 1 + np.random.default_rng([seed, 72, case]).integers(0, K_CLASSES - 1, n)) % K_CLASSES
    return x, y.astype(np.int64), eps, targeted, mode


def model_predictions(model, x: np.ndarray) -> np.ndarray:
    """The classes the grader's model predicts on ``x`` (what FGSM attacks on the judge's images)."""
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).argmax(1).numpy().astype(np.int64)


def _call_fgsm(ns, x, y, eps, targeted, mode):
    import torch

    model = toy_net()
    if mode == "train":
        model.train()
    before = model_state(model)
    xt, yt = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
    v = ns.call("fgsm", model, xt, yt, eps, targeted=targeted)
    after = model_state(model)
    return {"x_adv": tensor_rec(v, "x_adv"), "before": before, "after": after, "x_after": input_rec(xt),
            "y_after": input_rec(yt)}


def _given_images(ns):
    """The images the judge sent, or a Bad."""
    given = getattr(ns, "given", None)
    x = given.get("x") if isinstance(given, dict) else None
    if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[1] != 3:
        return Bad("missing", "the grader's evaluation images did not reach the grading process")
    return np.ascontiguousarray(x, dtype=np.float32)


def _trouble(e: BaseException, fn: str) -> Bad:
    return Bad("missing", f"the result of `{fn}` could not be used ({error_text(e)})")


def probe_fgsm(ns, seed):
    import torch

    out = {}
    for case in range(len(FGSM_CASES)):
        try:
            out[case] = _call_fgsm(ns, *fgsm_inputs(seed, case))
        except Exception as e:  # noqa: BLE001
            out[case] = {"x_adv": _trouble(e, "fgsm")}
    x = _given_images(ns)
    if isinstance(x, Bad):
        out["drop"] = out["curve"] = x
        return out
    y = model_predictions(toy_net(), x)
    try:
        out["drop"] = _call_fgsm(ns, x, y, FGSM_EPS, False, "eval")["x_adv"]
    except Exception as e:  # noqa: BLE001
        out["drop"] = _trouble(e, "fgsm")
    try:
        xc, yc = torch.from_numpy(x[:CURVE_N].copy()), torch.from_numpy(y[:CURVE_N].copy())
        accs = ns.call("accuracy_vs_epsilon", toy_net(), xc, yc, list(CURVE_EPS))
        if isinstance(accs, Bad):
            out["curve"] = accs
        else:
            try:
                out["curve"] = [float(a) for a in accs]
            except Exception as e:  # noqa: BLE001
                out["curve"] = Bad("missing", f"returned {type(accs).__name__}, not a list of numbers ({error_text(e)[:80]})")
    except Exception as e:  # noqa: BLE001
        out["curve"] = _trouble(e, "accuracy_vs_epsilon")
    return out
