"""Probe half of the cats-vs-dogs item (hw2.catsdogs_model).

Runs in the child: builds the student's model, records which torch functions its
forward pass calls (through a ``TorchFunctionMode``, so ``F.relu`` counts as much as
``nn.ReLU``) and which kinds of layers it holds, its output shapes, then trains it
with the grader's fixed loop (:func:`autograder.probes.hw2.digits.train_and_predict`, on
the toolkit's budgeted loop) on offline cartoon cats and dogs drawn from the public seed,
and predicts the validation images the judge sends (``ns.given["val"]``, drawn from a
seed only the judge knows; the judge keeps their labels).
"""
from __future__ import annotations

from autograder.probes.runtime import Bad

from autograder.probes.kit.train import param_count
from .digits import build_model, given_images, output_shapes, train_and_predict, trainable

CD_TRAIN = 1000
CD_STEPS = 300
CD_CAP_S = 30.0
CD_EVAL_KEYS = ("val",)


def train_seed(seed: int) -> int:
    return 3 * int(seed) + 1


def _calls(ns, model) -> list | Bad:
    """Names of the torch functions one forward pass calls."""
    import torch
    from torch.overrides import TorchFunctionMode

    class Record(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.names: list[str] = []

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", None) or repr(func)
            if len(self.names) < 5000:
                self.names.append(str(name)[:60])
            return func(*args, **(kwargs or {}))

    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    rec = Record()

    def run():
        with torch.no_grad(), rec:
            model(x)
        return sorted(set(rec.names))

    return ns.guard(run)


def layer_kinds(model) -> dict:
    """Which kinds of layers the model holds: conv, activation, pooling."""
    import torch.nn as nn

    kinds = {"conv": False, "activation": False, "pool": False}
    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            kinds["conv"] = True
        if type(m).__module__ == "torch.nn.modules.activation" and not isinstance(m, (nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.MultiheadAttention)):
            kinds["activation"] = True
        if type(m).__module__ == "torch.nn.modules.pooling":
            kinds["pool"] = True
    return kinds


def probe_model(ns, seed):
    from data_scripts.catsdogs import catsdogs_arrays

    model = build_model(ns, "build_catsdogs_model", seed)
    if isinstance(model, Bad):
        return {"build": model}
    out = {"build": "ok", "params": param_count(model), "layers": layer_kinds(model)}
    model.eval()
    out["calls"] = _calls(ns, model)
    out["shapes"] = output_shapes(ns, model, 2, seed)
    if not trainable(out["shapes"], 2):
        return out
    evals = given_images(ns.given, CD_EVAL_KEYS)
    if isinstance(evals, Bad):
        out["train"] = evals
        return out
    x_train, y_train = catsdogs_arrays(CD_TRAIN, seed=train_seed(seed))
    out["train"] = ns.guard(train_and_predict, model, x_train, y_train, evals, CD_STEPS, seed, CD_CAP_S, 2)
    return out
