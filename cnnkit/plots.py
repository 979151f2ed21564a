"""Pictures for the notebooks: training curves, image grids, feature maps,
filters and confusion matrices.

Every function draws one matplotlib figure and returns it (save it with
``fig.savefig(...)``). In Jupyter the figure is shown once, whether or not the
call is the cell's last line. Images may be NumPy arrays or torch tensors:
uint8 ``(H, W, C)``, float ``(C, H, W)`` or ``(H, W, C)``, or grey ``(H, W)``.
"""
from __future__ import annotations

import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

__all__ = ["plot_history", "show_images", "show_feature_maps", "show_filters", "show_confusion",
           "confusion_matrix"]


class KitFigure(Figure):
    """A Figure that Jupyter shows exactly once: at the end of the cell, or where
    a function returning it is the cell's last line (a plain pyplot figure would be
    shown twice then: as the cell's value and by the inline backend)."""

    def _ipython_display_(self):
        from IPython import get_ipython
        from IPython.display import display
        from matplotlib._pylab_helpers import Gcf

        in_pyplot = any(m.canvas.figure is self for m in Gcf.get_all_fig_managers())
        inline = "inline" in matplotlib.get_backend().lower()
        if in_pyplot and not inline and matplotlib.is_interactive():
            return  # a window or widget backend shows the figure itself
        ip = get_ipython()
        if ip is None:
            return
        formatter = ip.display_formatter
        hook = formatter.ipython_display_formatter
        enabled, hook.enabled = hook.enabled, False  # format as a plain Figure (png, retina, svg...)
        try:
            data, metadata = formatter.format(self)
        finally:
            hook.enabled = enabled
        display(data, metadata=metadata, raw=True)
        if in_pyplot and inline:
            plt.close(self)  # shown now: the end-of-cell flush must not show it again


def _numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _grid(n: int, ncols: int, cell: float = 1.6, title: str | None = None):
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + (0.4 if title else 0)),
                             squeeze=False, FigureClass=KitFigure)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[n:]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig, axes.flat


def _as_hwc(img) -> np.ndarray:
    """One image for imshow: (H, W) or (H, W, 3), uint8 or float in [0, 1]."""
    a = _numpy(img)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = a.transpose(1, 2, 0)  # CHW -> HWC
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ValueError(f"cannot show an image of shape {_numpy(img).shape}")
    if a.dtype == np.uint8:
        return a
    a = a.astype(np.float32)
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    if lo < 0 or hi > 1:  # e.g. normalized with a mean and std: stretch to [0, 1]
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    return np.clip(a, 0, 1)


def _history_dict(history) -> dict:
    if isinstance(history, dict):
        return history
    return {k: getattr(history, k, None) for k in ("train_loss", "train_acc", "val_loss", "val_acc", "lr",
                                                    "best_epoch")}


def plot_history(history, title: str | None = None) -> Figure:
    """Loss and accuracy per epoch, training vs validation (a :class:`cnnkit.train.History`
    or a dict with the same keys); the kept (best) epoch is marked with a dotted line,
    and a third panel shows the learning rate when it changed during training."""
    h = _history_dict(history)
    train_loss = list(h.get("train_loss") or [])
    epochs = np.arange(1, len(train_loss) + 1)
    lr = list(h.get("lr") or [])
    show_lr = len(set(lr)) > 1
    fig, axes = plt.subplots(1, 3 if show_lr else 2, figsize=(13 if show_lr else 10, 3.6), FigureClass=KitFigure)
    for ax, key, name in ((axes[0], "loss", "loss"), (axes[1], "acc", "accuracy")):
        for split, style in (("train", "-o"), ("val", "-s")):
            ys = np.asarray(h.get(f"{split}_{key}") or [], dtype=float)
            if len(ys) and np.isfinite(ys).any():
                ax.plot(epochs[:len(ys)], ys, style, ms=3, label=("train" if split == "train" else "validation"))
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        best = h.get("best_epoch")
        if best is not None and len(epochs) > 1:
            ax.axvline(best + 1, color="gray", ls=":", lw=1, label=f"kept (epoch {best + 1})")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    if show_lr:
        axes[2].plot(epochs[:len(lr)], lr, "-o", ms=3, color="tab:green")
        axes[2].set_yscale("log")
        axes[2].set_xlabel("epoch")
        axes[2].set_title("learning rate")
        axes[2].grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_images(images, titles=None, ncols: int = 8, colors=None, title: str | None = None,
                cell: float = 1.6) -> Figure:
    """A grid of images: an array/tensor ``(N, H, W, C)`` uint8 or ``(N, C, H, W)``
    float, or a list of single images. ``titles``: one string per image;
    ``colors``: one colour per title (e.g. ``"green"`` right, ``"red"`` wrong)."""
    if isinstance(images, (list, tuple)):
        imgs = [_as_hwc(im) for im in images]
    else:
        arr = _numpy(images)
        single = arr.ndim == 2 or (arr.ndim == 3 and (arr.shape[-1] in (3, 4) or arr.shape[0] in (1, 3)))
        if single:  # one image; a 3-d array otherwise is a batch of grey images (N, H, W)
            arr = arr[None]
        imgs = [_as_hwc(im) for im in arr]
    fig, axes = _grid(len(imgs), ncols, cell, title)
    for i, (ax, im) in enumerate(zip(axes, imgs)):
        ax.imshow(im, cmap="gray" if im.ndim == 2 else None)
        if titles is not None and i < len(titles):
            color = colors[i] if colors is not None and i < len(colors) else None
            ax.set_title(str(titles[i]), fontsize=8, **({"color": color} if color is not None else {}))
    fig.tight_layout()
    return fig


def show_feature_maps(maps, ncols: int = 8, title: str | None = None, max_maps: int = 64,
                      cmap: str = "viridis", cell: float = 1.4) -> Figure:
    """The channels of one activation ``(C, H, W)`` (or ``(1, C, H, W)``), each
    scaled to its own range (bright = strong response); at most ``max_maps``."""
    a = _numpy(maps).astype(np.float32)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"show_feature_maps expects (C, H, W), got shape {a.shape}")
    a = a[:max_maps]
    fig, axes = _grid(len(a), ncols, cell, title)
    for c, (ax, m) in enumerate(zip(axes, a)):
        ax.imshow(m, cmap=cmap)
        ax.set_title(f"ch {c}", fontsize=7)
    fig.tight_layout()
    return fig


def show_filters(weight, ncols: int = 8, title: str | None = None, channel: int | None = None,
                 cell: float = 1.0) -> Figure:
    """Convolution filters ``(F, C, k, k)`` (a weight or a ``Conv2d``). With 3 input
    channels (a first layer) each filter is shown in colour, stretched to [0, 1];
    otherwise ``channel`` picks one input channel (default: the mean over channels),
    shown with a diverging colour map (red positive, blue negative)."""
    w = _numpy(getattr(weight, "weight", weight)).astype(np.float32)
    if w.ndim != 4:
        raise ValueError(f"show_filters expects a weight (F, C, k, k), got shape {w.shape}")
    fig, axes = _grid(len(w), ncols, cell, title)
    rgb = w.shape[1] == 3 and channel is None
    for f, (ax, k) in enumerate(zip(axes, w)):
        if rgb:
            k = k.transpose(1, 2, 0)
            lo, hi = k.min(), k.max()
            ax.imshow((k - lo) / (hi - lo) if hi > lo else np.zeros_like(k), interpolation="nearest")
        else:
            m = k.mean(axis=0) if channel is None else k[channel]
            v = float(np.abs(m).max()) or 1.0
            ax.imshow(m, cmap="bwr", vmin=-v, vmax=v, interpolation="nearest")
        ax.set_title(str(f), fontsize=7)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """``cm[i, j]`` = how many images of true class ``i`` were predicted ``j``."""
    y_true = _numpy(y_true).astype(np.int64).ravel()
    y_pred = _numpy(y_pred).astype(np.int64).ravel()
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1))) + 1
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def show_confusion(cm, class_names=None, normalize: bool = False, title: str | None = None,
                   cmap: str = "Blues") -> Figure:
    """A confusion matrix (rows: true class, columns: predicted), with the counts
    written in the cells (up to 20 classes); ``normalize=True`` shows each row as
    fractions of that class."""
    cm = _numpy(cm).astype(np.float64)
    k = cm.shape[0]
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    size = min(2.5 + 0.45 * k, 14)
    fig, ax = plt.subplots(figsize=(size + 1, size), FigureClass=KitFigure)
    im = ax.imshow(shown, cmap=cmap, vmin=0)
    fig.colorbar(im, ax=ax, fraction=0.046)
    if k <= 30:
        ax.set_xticks(range(k), names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right")
        ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 20:
        top = shown.max() if shown.size else 0
        for i in range(k):
            for j in range(k):
                txt = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=8,
                        color="white" if shown[i, j] > 0.6 * top else "black")
    acc = np.trace(cm) / cm.sum() if cm.sum() else float("nan")
    ax.set_title(title or f"confusion matrix (accuracy {acc:.3f})")
    fig.tight_layout()
    return fig
