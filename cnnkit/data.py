"""Data helpers for the torch homework: an in-memory data set, seeded loaders,
the download cache and a checksummed downloader.

Typical use in a notebook::

    from cnnkit.data import ArrayDataset, make_loader
    train_ds = ArrayDataset(x_train, y_train)            # x_train: uint8 (N, H, W, 3)
    train_loader = make_loader(train_ds, batch_size=64, shuffle=True, seed=0)

Downloads go to :func:`cache_dir` (``~/.cache/cnn-course-kit``, or the folder
named by ``$CNN_COURSE_KIT_CACHE``), once; :func:`download` checks the file's
checksum and says plainly when the machine is offline.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "ArrayDataset", "to_tensor", "make_loader", "cache_dir", "download", "file_hash",
    "DownloadError", "ChecksumError",
]

CACHE_ENV = "CNN_COURSE_KIT_CACHE"
OFFLINE_ENV = "CNN_COURSE_KIT_OFFLINE"


# ----------------------------------------------------------------------------- tensors

def to_tensor(img) -> torch.Tensor:
    """One image as a float32 tensor ``(C, H, W)`` with values in ``[0, 1]``.

    Accepts a uint8 array ``(H, W, C)`` or ``(H, W)`` (divided by 255), a float
    array in ``(H, W, C)`` layout (kept as is), a PIL image, or a tensor that is
    already ``(C, H, W)`` (uint8 is divided by 255, float is returned as float32).
    """
    if isinstance(img, torch.Tensor):
        t = img
        if t.ndim == 2:
            t = t.unsqueeze(0)
        if t.dtype == torch.uint8:
            return t.float().div_(255.0)
        return t.float()
    a = np.asarray(img)  # a PIL image converts to (H, W[, C]) uint8
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"to_tensor: expected an image (H, W) or (H, W, C), got shape {a.shape}")
    t = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))
    if t.dtype == torch.uint8:
        return t.float().div_(255.0)
    return t.float()


class ArrayDataset(Dataset):
    """Images and labels held in memory, as a torch ``Dataset``.

    ``images``: uint8 array ``(N, H, W, C)`` (or ``(N, H, W)`` for grey images);
    ``labels``: ``N`` integer class indices. ``dataset[i]`` is
    ``(transform(images[i]), label)`` with ``label`` a 0-d int64 tensor;
    the default transform is :func:`to_tensor` (float32 ``(C, H, W)`` in ``[0, 1]``).
    A transform receives the uint8 ``(H, W, C)`` NumPy image (augmentations such as
    random flips and crops go there; end them with ``to_tensor``).
    """

    def __init__(self, images, labels, transform: Callable | None = None):
        images = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
        labels = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
        if images.ndim not in (3, 4):
            raise ValueError(f"ArrayDataset: images must be (N, H, W, C) or (N, H, W), got shape {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"ArrayDataset: need one label per image: {len(images)} images, "
                             f"labels of shape {labels.shape}")
        if len(labels) and not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"ArrayDataset: labels must be integers, got dtype {labels.dtype}")
        self.images = images
        self.labels = labels.astype(np.int64)
        self.transform = to_tensor if transform is None else transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), torch.tensor(self.labels[i], dtype=torch.int64)

    @property
    def num_classes(self) -> int:
        return int(self.labels.max()) + 1 if len(self.labels) else 0


def make_loader(dataset, batch_size: int = 64, shuffle: bool = False, seed: int | None = 0,
                num_workers: int = 0, drop_last: bool = False, **kwargs) -> DataLoader:
    """A ``DataLoader`` whose shuffling (and random augmentation in workers) is
    reproducible: it draws from its own ``torch.Generator`` seeded with ``seed``
    (``seed=None``: a fresh random order each run). Extra keyword arguments go to
    ``DataLoader``."""
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=gen,
                      num_workers=num_workers, drop_last=drop_last, **kwargs)


# ----------------------------------------------------------------------------- downloads

def progress_bar(iterable=None, **kwargs):
    """``tqdm.auto.tqdm`` (a widget in Jupyter, text elsewhere); falls back to the
    text bar in a notebook whose Jupyter lacks ipywidgets instead of failing."""
    from tqdm.auto import tqdm
    try:
        return tqdm(iterable, **kwargs)
    except ImportError:  # tqdm.notebook without ipywidgets: "IProgress not found"
        from tqdm.std import tqdm as text_tqdm
        return text_tqdm(iterable, **kwargs)


class DownloadError(OSError):
    """The file could not be fetched (offline, server error, bad URL)."""


class ChecksumError(OSError):
    """A downloaded file does not match its expected checksum."""


def cache_dir(*parts: str) -> Path:
    """The course's download cache, created if needed: ``$CNN_COURSE_KIT_CACHE``
    when set, else ``~/.cache/cnn-course-kit``. ``parts`` name a sub-folder."""
    root = os.environ.get(CACHE_ENV)
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "cnn-course-kit"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_hash(path, algorithm: str = "sha256", chunk: int = 1 << 20) -> str:
    """Hex digest of a file (``algorithm``: ``"sha256"``, ``"md5"``, ...)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _expected(sha256: str | None, md5: str | None) -> tuple[str, str] | None:
    if sha256 and md5:
        raise ValueError("download: give sha256 or md5, not both")
    if sha256:
        return "sha256", sha256.lower()
    if md5:
        return "md5", md5.lower()
    return None


def _matches(path: Path, want: tuple[str, str] | None) -> bool:
    return want is None or file_hash(path, want[0]) == want[1]


def download(url: str, dest, sha256: str | None = None, md5: str | None = None,
             progress: bool = True, timeout: float = 30.0) -> Path:
    """Fetch ``url`` into the file ``dest`` (a folder: the URL's file name inside it)
    and return its path.

    If ``dest`` already exists and matches the checksum (or no checksum is given)
    nothing is fetched. The file is written to ``dest.part`` first and renamed only
    once complete and verified, so an interrupted download never looks finished.
    Raises :class:`DownloadError` when the URL cannot be reached (for example
    offline; setting ``$CNN_COURSE_KIT_OFFLINE=1`` makes every non-``file://``
    download fail at once) and :class:`ChecksumError` when the content is not the
    expected one (the bad file is deleted).
    """
    want = _expected(sha256, md5)
    dest = Path(dest).expanduser()
    if dest.is_dir():
        dest = dest / Path(urllib.parse.urlparse(url).path).name
    if dest.is_file() and _matches(dest, want):
        return dest
    scheme = urllib.parse.urlparse(url).scheme
    if os.environ.get(OFFLINE_ENV) and scheme != "file":
        raise DownloadError(f"not downloading {url}: ${OFFLINE_ENV} is set (offline mode)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "cnn-course-kit"})
        with urllib.request.urlopen(req, timeout=timeout) as resp, open(part, "wb") as out:
            total = resp.headers.get("Content-Length")
            bar = progress_bar(total=int(total) if total else None, unit="B", unit_scale=True,
                               unit_divisor=1024, desc=dest.name) if progress else None
            try:
                while True:
                    block = resp.read(1 << 20)
                    if not block:
                        break
                    out.write(block)
                    if bar is not None:
                        bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
    except (OSError, ValueError) as e:  # URLError, HTTPError and timeouts are OSErrors
        part.unlink(missing_ok=True)
        reason = getattr(e, "reason", None) or e
        hint = (" Are you offline?" if isinstance(e, (urllib.error.URLError, TimeoutError))
                and not isinstance(e, urllib.error.HTTPError) else "")
        raise DownloadError(
            f"could not download {url}: {reason}.{hint} If you have the file, put it at {dest} "
            f"and run again."
        ) from e
    if want is not None:
        got = file_hash(part, want[0])
        if got != want[1]:
            part.unlink(missing_ok=True)
            raise ChecksumError(
                f"{url}: {want[0]} is {got}, expected {want[1]}; the download is corrupt or "
                f"not the expected file (deleted; try again)"
            )
    shutil.move(str(part), str(dest))
    return dest

