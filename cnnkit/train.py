"""A training loop for classification that the notebooks share.

::

    from cnnkit.train import fit, evaluate, predict
    history = fit(model, train_loader, val_loader, epochs=20, lr=1e-3,
                  scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 10, 0.1),
                  patience=5, checkpoint="best.pt")
    val_loss, val_acc = evaluate(model, val_loader)   # the best epoch's weights

What :func:`fit` does, epoch by epoch: one pass over ``train_loader`` (progress bar,
optimizer steps), one pass over ``val_loader`` in ``eval()`` mode, a scheduler step,
then it keeps a copy of the weights if the validation accuracy is the best so far.
At the end the model holds those best weights. The model must return logits
``(N, num_classes)``; a model returning a tuple has its last element taken as logits.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from .data import progress_bar

__all__ = ["History", "fit", "evaluate", "predict", "predict_proba", "load_checkpoint", "resolve_device"]


@dataclass
class History:
    """What :func:`fit` measured, one entry per epoch run.

    ``train_loss``/``train_acc``: averages over the epoch's batches while training
    (train mode, weights changing); ``val_loss``/``val_acc``: measured on the
    validation loader after the epoch (``nan`` when there is none); ``lr``: the
    learning rate used during the epoch (first parameter group).
    ``best_epoch``: 0-based index of the epoch whose weights the model holds when
    ``fit`` returns (so ``history.val_acc[history.best_epoch]`` is the best accuracy;
    without validation data, the last epoch); ``None`` if no epoch finished.
    ``stopped_early``: early stopping (or a non-finite loss) ended training before
    ``epochs``; ``interrupted``: you pressed stop (KeyboardInterrupt).
    """

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    interrupted: bool = False
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        """How many epochs ran."""
        return len(self.train_loss)

    @property
    def best_val_acc(self) -> float:
        """Validation accuracy of the kept weights (``nan`` without validation)."""
        if self.best_epoch is None or not self.val_acc:
            return math.nan
        return self.val_acc[self.best_epoch]

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        if not self.train_loss:
            return "History(no epoch run)"
        b = self.best_epoch if self.best_epoch is not None else len(self.train_loss) - 1
        end = "stopped early" if self.stopped_early else ("interrupted" if self.interrupted else "all epochs")
        return (f"History({self.epochs} epochs, {end}, {self.seconds:.1f} s; best epoch {b + 1}: "
                f"train acc {self.train_acc[b]:.3f}, val acc {self.val_acc[b]:.3f})")


def resolve_device(device="cpu") -> torch.device:
    """``"auto"``: CUDA if available, else Apple's MPS, else the CPU; anything else
    is passed to ``torch.device``."""
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(device)


def _logits(out):
    if isinstance(out, (tuple, list)):
        out = out[-1]
    return out


def _inputs(batch):
    """The images of a batch that is ``(x, y)``, ``(x, y, ...)`` or just ``x``."""
    if isinstance(batch, (tuple, list)):
        return batch[0]
    if isinstance(batch, dict):
        return batch.get("image", batch.get("x"))
    return batch


def _xy(batch):
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError("fit/evaluate need a loader of (images, labels) batches")
    return batch[0], batch[1]


def evaluate(model: nn.Module, loader, loss_fn: Callable | None = None, device="cpu",
             progress: bool = False) -> tuple[float, float]:
    """``(mean loss, accuracy)`` of ``model`` over ``loader`` in ``eval()`` mode,
    without gradients. ``loss_fn`` defaults to cross-entropy and must average over
    the batch (the mean over all samples is reported). The model's train/eval mode
    is restored afterwards. An empty loader gives ``(nan, nan)``."""
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    n = 0
    it = progress_bar(loader, desc="evaluate", leave=False) if progress else loader
    try:
        with torch.no_grad():
            for batch in it:
                x, y = _xy(batch)
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                logits = _logits(model(x))
                total_loss += loss_fn(logits, y).detach().double() * len(y)
                correct += (logits.argmax(dim=1) == y).sum()
                n += len(y)
    finally:
        model.train(was_training)
        if progress:
            it.close()
    if n == 0:
        return math.nan, math.nan
    return float(total_loss) / n, int(correct) / n


def _outputs(model: nn.Module, loader, device, per_batch) -> list:
    """``per_batch(logits)`` for every batch the loader yields, in ``eval()`` mode
    and without gradients; the model's train/eval mode is restored afterwards."""
    device = resolve_device(device)
    was_training = model.training
    model.eval()
    parts = []
    try:
        with torch.no_grad():
            for batch in loader:
                x = _inputs(batch).to(device, non_blocking=True)
                parts.append(per_batch(_logits(model(x))).cpu())
    finally:
        model.train(was_training)
    return parts


def predict_proba(model: nn.Module, loader, device="cpu") -> np.ndarray:
    """Softmax probabilities ``(N, num_classes)`` (float32) for every image the
    loader yields, in order (batches ``(x, y)`` or just ``x``), in ``eval()`` mode."""
    parts = _outputs(model, loader, device, lambda z: torch.softmax(z.float(), dim=1))
    if not parts:
        return np.zeros((0, 0), dtype=np.float32)
    return torch.cat(parts).numpy()


def predict(model: nn.Module, loader, device="cpu") -> np.ndarray:
    """Predicted class indices (int64, one per image, in the loader's order).
    Use a loader with ``shuffle=False`` to match them with the data set's labels."""
    parts = _outputs(model, loader, device, lambda z: z.argmax(dim=1))
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return torch.cat(parts).numpy().astype(np.int64)


_PER_BATCH = (torch.optim.lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.CyclicLR)
_PLATEAU = torch.optim.lr_scheduler.ReduceLROnPlateau


def _make_optimizer(optimizer, model, lr):
    if optimizer is None:
        return torch.optim.Adam(model.parameters(), lr=lr)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):  # a factory: lambda params: torch.optim.SGD(params, lr=0.1)
        opt = optimizer(model.parameters())
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError("fit: optimizer factory must return a torch.optim.Optimizer")
        return opt
    raise TypeError("fit: optimizer must be None, a torch.optim.Optimizer or a function of the parameters")


def _make_scheduler(scheduler, optimizer):
    if scheduler is None:
        return None
    if isinstance(scheduler, type) or not hasattr(scheduler, "step"):
        scheduler = scheduler(optimizer)  # a factory (a class, a lambda, functools.partial)
    if not hasattr(scheduler, "step"):
        raise TypeError("fit: scheduler must be an LR scheduler or a function of the optimizer returning one")
    bound = getattr(scheduler, "optimizer", optimizer)
    if bound is not optimizer:
        raise ValueError("fit: the scheduler was built for another optimizer; pass that optimizer "
                         "to fit too, or pass a factory: scheduler=lambda opt: StepLR(opt, 10)")
    return scheduler


def _state_copy(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit(model: nn.Module, train_loader, val_loader=None, epochs: int = 10, optimizer=None,
        lr: float = 1e-3, scheduler=None, patience: int | None = None, device="cpu",
        progress: bool = True, checkpoint=None, loss_fn: Callable | None = None,
        monitor: str = "val_acc", min_delta: float = 0.0) -> History:
    """Train ``model`` for up to ``epochs`` epochs; return a :class:`History`.

    optimizer: a ``torch.optim`` optimizer over the model's parameters, a function
        ``params -> optimizer``, or ``None`` for ``Adam(lr=lr)`` (``lr`` is used only then).
    scheduler: an LR scheduler built on that optimizer, or a function
        ``optimizer -> scheduler`` (handy when ``fit`` builds the optimizer). It steps
        once per epoch, after validation; ``ReduceLROnPlateau`` steps on the validation
        loss (on the accuracy if its ``mode="max"``; on the training loss without
        validation data); ``OneCycleLR`` and ``CyclicLR`` step after every batch.
    patience: early stopping. Training stops after ``patience`` epochs in a row
        without a new best validation score. The score (``monitor``) is the
        validation accuracy (``"val_acc"``, the default; an equal accuracy with a
        lower loss counts as better) or the validation loss (``"val_loss"``);
        ``min_delta`` is the smallest change that counts as an improvement.
        ``None``: never stop early.
    checkpoint: a file path: every new best ``state_dict`` is also saved there with
        ``torch.save`` (load it with ``model.load_state_dict(torch.load(path,
        weights_only=True))``). In any case a copy of the best weights is kept in
        memory and loaded into the model before ``fit`` returns.
    val_loader=None: no validation, so no early stopping (``patience`` is ignored,
        with a warning), no best epoch: the model keeps its last weights (and
        ``checkpoint`` receives them after every epoch); ``val_*`` entries are ``nan``.
    loss_fn: ``loss_fn(logits, labels)`` averaged over the batch; cross-entropy by default.
    device: ``"cpu"``, ``"cuda"``, ``"auto"``... the model is moved there, and each batch.
    progress: progress bars and one line per epoch; ``False`` prints nothing.

    Stopping the cell (KeyboardInterrupt) ends training cleanly: the best weights so
    far are loaded and the history is returned with ``interrupted=True``.
    """
    if monitor not in ("val_acc", "val_loss"):
        raise ValueError('fit: monitor must be "val_acc" or "val_loss"')
    if patience is not None and patience < 1:
        raise ValueError("fit: patience must be a positive number of epochs or None")
    device = resolve_device(device)
    model.to(device)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn
    optimizer = _make_optimizer(optimizer, model, lr)
    scheduler = _make_scheduler(scheduler, optimizer)
    per_batch = isinstance(scheduler, _PER_BATCH)
    has_val = val_loader is not None
    if not has_val and patience is not None:
        warnings.warn("fit: patience needs val_loader; training without early stopping", stacklevel=2)
        patience = None
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    if checkpoint is not None:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)

    history = History()
    best_state = None
    best_score: tuple[float, float] | None = None  # compared as (primary, tie-break), larger is better
    waited = 0
    start = time.perf_counter()
    epoch_bar = progress_bar(total=epochs, desc="epochs", unit="epoch") if progress else None
    log = epoch_bar.write if epoch_bar is not None else (lambda s: None)

    def better(score):
        if best_score is None:
            return True
        if score[0] > best_score[0] + min_delta:
            return True
        return min_delta == 0 and score[0] == best_score[0] and score[1] > best_score[1]

    try:
        for epoch in range(epochs):
            history.lr.append(float(optimizer.param_groups[0]["lr"]))
            model.train()
            total_loss = torch.zeros((), dtype=torch.float64, device=device)
            correct = torch.zeros((), dtype=torch.int64, device=device)
            n = 0
            batches = (progress_bar(train_loader, desc=f"epoch {epoch + 1}/{epochs}", leave=False, unit="batch")
                       if progress else train_loader)
            try:
                for i, batch in enumerate(batches):
                    x, y = _xy(batch)
                    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                    optimizer.zero_grad(set_to_none=True)
                    logits = _logits(model(x))
                    loss = loss_fn(logits, y)
                    loss.backward()
                    optimizer.step()
                    if per_batch:
                        scheduler.step()
                    total_loss += loss.detach().double() * len(y)
                    correct += (logits.detach().argmax(dim=1) == y).sum()
                    n += len(y)
                    if progress and i % 10 == 0:
                        batches.set_postfix(loss=f"{float(total_loss) / n:.4f}", acc=f"{int(correct) / n:.3f}",
                                            refresh=False)
            finally:
                if progress:
                    batches.close()
            if n == 0:
                raise ValueError("fit: train_loader yielded no batch")
            train_loss, train_acc = float(total_loss) / n, int(correct) / n
            history.train_loss.append(train_loss)
            history.train_acc.append(train_acc)

            if has_val:
                val_loss, val_acc = evaluate(model, val_loader, loss_fn, device)
            else:
                val_loss, val_acc = math.nan, math.nan
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)

            if scheduler is not None and not per_batch:
                if isinstance(scheduler, _PLATEAU):
                    if has_val:
                        scheduler.step(val_acc if scheduler.mode == "max" else val_loss)
                    else:
                        scheduler.step(train_loss)
                else:
                    scheduler.step()

            if not math.isfinite(train_loss):
                warnings.warn(f"fit: the training loss became {train_loss} in epoch {epoch + 1}; stopping. "
                              "Try a smaller learning rate.", stacklevel=2)
                history.stopped_early = True
                break

            if has_val:
                score = (val_acc, -val_loss) if monitor == "val_acc" else (-val_loss, val_acc)
                improved = math.isfinite(val_loss) and better(score)
            else:
                improved = True  # without validation the last weights are the ones kept
            if improved:
                best_score = score if has_val else None
                best_state = _state_copy(model)
                history.best_epoch = epoch
                waited = 0
                if checkpoint is not None:
                    torch.save(best_state, checkpoint)
            else:
                waited += 1

            if progress:
                val_txt = f" | val loss {val_loss:.4f} acc {val_acc:.3f}" if has_val else ""
                log(f"epoch {epoch + 1:3d}/{epochs}  train loss {train_loss:.4f} acc {train_acc:.3f}"
                    f"{val_txt}  lr {history.lr[-1]:.2e}{'  *best' if improved and has_val else ''}")
                epoch_bar.set_postfix(best_val_acc=f"{history.best_val_acc:.3f}" if has_val else "-", refresh=False)
                epoch_bar.update(1)

            if patience is not None and waited >= patience:
                history.stopped_early = True
                if progress:
                    log(f"early stopping: no better {monitor.replace('_', ' ')} for {patience} epochs")
                break
    except KeyboardInterrupt:
        history.interrupted = True
        # a half-finished epoch leaves lists of unequal length; drop its partial entries
        k = min(len(history.train_loss), len(history.val_loss))
        for name in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
            del getattr(history, name)[k:]
        print(f"fit: interrupted after {k} complete epoch(s); keeping the best weights so far")
    finally:
        if epoch_bar is not None:
            epoch_bar.close()
        history.seconds = time.perf_counter() - start

    if best_state is not None:
        model.load_state_dict(best_state)
    if progress and history.best_epoch is not None and has_val:
        print(f"best epoch {history.best_epoch + 1}: val acc {history.best_val_acc:.4f} "
              f"(weights restored){'; saved to ' + str(checkpoint) if checkpoint else ''}")
    return history


def load_checkpoint(model: nn.Module, path, device="cpu") -> nn.Module:
    """Load a ``state_dict`` saved by :func:`fit` (``checkpoint=path``) into ``model``."""
    state = torch.load(path, map_location=resolve_device(device), weights_only=True)
    model.load_state_dict(state)
    return model

