"""cnnkit.data and data_scripts.cifar: tensors, loaders, downloads, CIFAR in its
real on-disk format (written here) and the offline generator."""
from __future__ import annotations

import hashlib
import pickle
import struct
import tarfile
import time

import numpy as np
import pytest
import torch
from torch import nn

from cnnkit.data import (ArrayDataset, ChecksumError, DownloadError, cache_dir, download, file_hash, make_loader,
                         to_tensor)
from data_scripts.cifar import (SPECS, load_cifar, read_cifar_batches, synthetic_cifar, synthetic_class_names)

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- tensors and loaders

def test_to_tensor_layouts():
    img = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    t = to_tensor(img)
    assert t.dtype == torch.float32 and t.shape == (3, 4, 5)
    assert torch.allclose(t, torch.from_numpy(img.transpose(2, 0, 1)).float() / 255)
    assert to_tensor(np.full((4, 5), 255, np.uint8)).shape == (1, 4, 5)
    assert float(to_tensor(np.full((4, 5), 255, np.uint8)).max()) == 1.0
    chw = torch.rand(3, 4, 5)
    assert torch.equal(to_tensor(chw), chw)
    assert torch.allclose(to_tensor(torch.full((3, 2, 2), 51, dtype=torch.uint8)), torch.full((3, 2, 2), 0.2))
    with pytest.raises(ValueError):
        to_tensor(np.zeros((2, 2, 2, 2), np.uint8))


def test_array_dataset_and_seeded_loader():
    x = np.random.default_rng(0).integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    y = np.arange(10) % 3
    ds = ArrayDataset(x, y)
    assert len(ds) == 10 and ds.num_classes == 3
    xi, yi = ds[4]
    assert xi.shape == (3, 8, 8) and xi.dtype == torch.float32 and 0 <= xi.min() and xi.max() <= 1
    assert yi.dtype == torch.int64 and int(yi) == 1
    flipped = ArrayDataset(x, y, transform=lambda im: to_tensor(im[:, ::-1]))
    assert torch.equal(flipped[2][0], ds[2][0].flip(-1))
    with pytest.raises(ValueError, match="one label per image"):
        ArrayDataset(x, y[:5])

    def order(seed):
        return torch.cat([b[1] for b in make_loader(ArrayDataset(x, np.arange(10)), 4, shuffle=True, seed=seed)])

    assert torch.equal(order(1), order(1))
    assert not torch.equal(order(1), order(2))
    assert sorted(order(1).tolist()) == list(range(10))
    xb, yb = next(iter(make_loader(ds, batch_size=4)))
    assert xb.shape == (4, 3, 8, 8) and yb.tolist() == [0, 1, 2, 0]


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_COURSE_KIT_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" and cache_dir("cifar").is_dir()
    monkeypatch.delenv("CNN_COURSE_KIT_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "cnn-course-kit"


# ----------------------------------------------------------------------------- download

def test_download_checks_the_checksum(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"course data" * 100)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    md5 = hashlib.md5(src.read_bytes()).hexdigest()
    dest = download(src.as_uri(), tmp_path / "out" / "a.bin", sha256=sha, progress=False)
    assert dest.read_bytes() == src.read_bytes() and file_hash(dest) == sha
    assert download(src.as_uri(), tmp_path / "out", md5=md5, progress=False) == tmp_path / "out" / "src.bin"
    # a file already in place with the right checksum is not fetched again
    src.write_bytes(b"changed")
    assert download(src.as_uri(), dest, sha256=sha, progress=False).read_bytes() == b"course data" * 100
    # the wrong content: ChecksumError, and nothing left behind
    bad = tmp_path / "bad.bin"
    with pytest.raises(ChecksumError, match="expected"):
        download(src.as_uri(), bad, sha256=sha, progress=False)
    assert not bad.exists() and not (tmp_path / "bad.bin.part").exists()
    with pytest.raises(ValueError):
        download(src.as_uri(), bad, sha256=sha, md5=md5)


def test_download_failures_are_explained(tmp_path, monkeypatch):
    with pytest.raises(DownloadError, match="could not download"):
        download((tmp_path / "missing.bin").as_uri(), tmp_path / "x.bin", progress=False)
    monkeypatch.setenv("CNN_COURSE_KIT_OFFLINE", "1")
    t = time.perf_counter()
    with pytest.raises(DownloadError, match="offline"):
        download("https://example.invalid/data.tar.gz", tmp_path / "y.tar.gz", progress=False)
    assert time.perf_counter() - t < 1


# ----------------------------------------------------------------------------- the offline generator

def test_synthetic_cifar_is_seeded_balanced_and_complete():
    x, y = synthetic_cifar(10, 200, seed=3)
    assert x.shape == (200, 32, 32, 3) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.bincount(y, minlength=10).tolist() == [20] * 10
    x2, y2 = synthetic_cifar(10, 200, seed=3, chunk=37)  # chunking changes nothing
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    x3, _ = synthetic_cifar(10, 200, seed=4)
    assert not np.array_equal(x, x3)
    assert x.std() > 20  # not blank
    xc, yc = synthetic_cifar(100, 250, seed=0)
    assert xc.shape == (250, 32, 32, 3) and set(yc.tolist()) == set(range(100))
    names = synthetic_class_names(100)
    assert len(set(names)) == 100 and names[0] == "red disk"
    with pytest.raises(ValueError):
        synthetic_cifar(101, 10)


def test_a_small_cnn_learns_synthetic_cifar():
    from cnnkit.train import fit

    x, y = synthetic_cifar(10, 1000, seed=0)
    xv, yv = synthetic_cifar(10, 400, seed=1)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
        nn.Linear(32, 10))
    h = fit(model, make_loader(ArrayDataset(x, y), 50, shuffle=True, seed=0),
            make_loader(ArrayDataset(xv, yv), 200), epochs=4, lr=3e-3, progress=False)
    assert h.best_val_acc > 0.3, h.val_acc  # chance: 0.10; measured 0.55-0.57 on seeds 0-2


# ----------------------------------------------------------------------------- real CIFAR, its on-disk format

class Py2Pickler(pickle._Pickler):
    """Writes every ``str`` and ``bytes`` the way Python 2 wrote its ``str`` (the
    BINSTRING opcodes), as in the real CIFAR files: loaded by Python 3 with
    ``encoding="bytes"`` their keys are ``b'data'``, ``b'labels'``..."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else bytes(obj)
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str


def py2_pickle(obj, path):
    import io

    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    # numpy 1 (as in 2009) named its reconstructor numpy.core.multiarray
    path.write_bytes(buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))


def cifar_rows(n, offset):
    """Rows (n, 3072) in CIFAR's layout, image i: red = offset + i, green = 100 + row,
    blue = 200 + column."""
    img = np.zeros((n, 3, 32, 32), np.uint8)
    img[:, 0] = (offset + np.arange(n))[:, None, None]
    img[:, 1] = 100 + np.arange(32)[None, :, None]
    img[:, 2] = 200 + np.arange(32)[None, None, :]
    return img.reshape(n, 3072)


def write_cifar_archive(tmp_path, name, per_batch=4):
    """A tiny archive laid out like the real one: ``<base_folder>/...`` in a tar.gz."""
    spec = SPECS[name]
    folder = tmp_path / "build" / spec.base_folder
    folder.mkdir(parents=True)
    k = spec.num_classes
    offset = 0
    for split, files in (("training", spec.train_files), ("testing", spec.test_files)):
        for j, fname in enumerate(files):
            n = per_batch + j  # batches of different sizes
            labels = [(offset + i) % k for i in range(n)]
            d = {"batch_label": f"{split} batch {j + 1} of {len(files)}", "data": cifar_rows(n, offset),
                 "filenames": [f"img_{offset + i:05d}.png" for i in range(n)]}
            if name == "cifar10":
                d["labels"] = labels
            else:
                d["fine_labels"] = labels
                d["coarse_labels"] = [lab // 5 for lab in labels]
            py2_pickle(d, folder / fname)
            offset += n
    if name == "cifar10":
        meta = {"num_cases_per_batch": per_batch, "label_names": [f"class{i}" for i in range(k)], "num_vis": 3072}
    else:
        meta = {"fine_label_names": [f"fine{i}" for i in range(k)],
                "coarse_label_names": [f"coarse{i}" for i in range(20)]}
    py2_pickle(meta, folder / spec.meta_file)
    (folder / "readme.html").write_text("<html></html>")
    archive = tmp_path / spec.filename
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=spec.base_folder)
    return archive, offset


def test_fixture_matches_the_real_format(tmp_path):
    archive, _ = write_cifar_archive(tmp_path, "cifar10")
    with tarfile.open(archive) as tar:
        assert "cifar-10-batches-py/data_batch_1" in tar.getnames()
        raw = tar.extractfile("cifar-10-batches-py/data_batch_1").read()
    d = pickle.loads(raw, encoding="bytes")
    assert set(d) == {b"batch_label", b"data", b"labels", b"filenames"}
    assert d[b"data"].dtype == np.uint8 and d[b"data"].shape == (4, 3072)
    assert b"numpy.core.multiarray" in raw and b"\x80\x02" == raw[:2]


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_read_cifar_batches(tmp_path, name):
    archive, total = write_cifar_archive(tmp_path, name)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "x", filter="data")
    d = read_cifar_batches(tmp_path / "x", name)  # the parent folder or the base folder itself
    spec = SPECS[name]
    n_train = sum(4 + j for j in range(len(spec.train_files)))
    assert d["x_train"].shape == (n_train, 32, 32, 3) and d["x_train"].dtype == np.uint8
    assert len(d["x_test"]) == total - n_train
    assert d["x_train"].flags.c_contiguous
    # pixel layout: red = image number, green = row, blue = column
    assert d["x_train"][3, 7, 11].tolist() == [3, 107, 211]
    assert d["x_test"][0, 31, 0].tolist() == [n_train, 131, 200]
    k = spec.num_classes
    assert d["y_train"].dtype == np.int64 and d["y_train"].tolist() == [i % k for i in range(n_train)]
    assert len(d["classes"]) == k and isinstance(d["classes"][0], str)
    if name == "cifar100":
        assert d["classes"][7] == "fine7" and d["coarse_classes"][0] == "coarse0"
        assert d["y_test_coarse"].tolist() == [(i % k) // 5 for i in range(n_train, total)]
    else:
        assert d["classes"][7] == "class7"
    assert np.array_equal(read_cifar_batches(tmp_path / "x" / spec.base_folder, name)["x_test"], d["x_test"])


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_load_cifar_downloads_checks_and_extracts(tmp_path, name, capsys):
    archive, total = write_cifar_archive(tmp_path, name)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    root = tmp_path / "cache"
    d = load_cifar(name, root=root, url=archive.as_uri(), md5=md5)
    assert d["source"] == "real" and len(d["y_train"]) + len(d["y_test"]) == total
    assert (root / SPECS[name].filename).is_file()
    assert "the real data set" in capsys.readouterr().out
    # once extracted, nothing is fetched: an unreachable URL does not matter
    again = load_cifar(name, root=root, url=(tmp_path / "nothing.tar.gz").as_uri(), offline_fallback=False)
    assert again["source"] == "real" and np.array_equal(again["x_train"], d["x_train"])


def test_load_cifar_uses_an_archive_placed_in_the_cache(tmp_path):
    archive, total = write_cifar_archive(tmp_path, "cifar100")
    root = tmp_path / "cache"
    root.mkdir()
    archive.rename(root / archive.name)
    md5 = file_hash(root / archive.name, "md5")
    d = load_cifar("cifar100", root=root, url=(tmp_path / "unreachable.tar.gz").as_uri(), md5=md5,
                   offline_fallback=False, verbose=False)
    assert d["source"] == "real" and len(d["x_train"]) + len(d["x_test"]) == total


def test_load_cifar_bad_checksum_and_offline_fallback(tmp_path, capsys):
    archive, _ = write_cifar_archive(tmp_path, "cifar10")
    with pytest.raises(ChecksumError):
        load_cifar("cifar10", root=tmp_path / "r1", url=archive.as_uri(), offline_fallback=False)  # official md5
    d = load_cifar("cifar-10", root=tmp_path / "r2", url=archive.as_uri(), synthetic_size=(30, 20))
    assert d["source"] == "synthetic" and "ChecksumError" in d["reason"]
    assert d["x_train"].shape == (30, 32, 32, 3) and d["x_test"].shape == (20, 32, 32, 3)
    assert d["classes"] == synthetic_class_names(10)
    out = capsys.readouterr().out
    assert "OFFLINE" in out and "not CIFAR-10" in out
    d = load_cifar("CIFAR100", root=tmp_path / "r3", url=(tmp_path / "none.tar.gz").as_uri(),
                   synthetic_size=(120, 10), verbose=False)
    assert d["source"] == "synthetic" and "DownloadError" in d["reason"] and d["name"] == "synthetic CIFAR-100"
    assert set(d["y_train"].tolist()) == set(range(100))
    assert capsys.readouterr().out == ""
    with pytest.raises(FileNotFoundError):
        load_cifar("cifar10", root=tmp_path / "r4", download=False, offline_fallback=False)
    with pytest.raises(ValueError, match="unknown"):
        load_cifar("mnist")


# ----------------------------------------------------------------------------- pictures

def test_show_images_feature_maps_filters_confusion(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnkit.plots import confusion_matrix, show_confusion, show_feature_maps, show_filters, show_images

    x, y = synthetic_cifar(10, 12, seed=0)
    fig = show_images(x, titles=[str(v) for v in y], ncols=5, colors=["green"] * 6 + ["red"] * 6)
    assert len([a for a in fig.axes if a.images]) == 12 and fig.axes[0].get_title() == str(y[0])
    batch = torch.stack([ArrayDataset(x, y)[i][0] for i in range(3)])  # float (N, C, H, W)
    assert len([a for a in show_images(batch).axes if a.images]) == 3
    assert len([a for a in show_images(x[0]).axes if a.images]) == 1  # one (H, W, C) image
    assert len([a for a in show_images(torch.randn(2, 5, 5)).axes if a.images]) == 2  # grey (N, H, W)
    conv = nn.Conv2d(3, 6, 5)
    maps = conv(batch[:1])[0]
    assert len([a for a in show_feature_maps(maps, ncols=4, title="conv1").axes if a.images]) == 6
    assert len([a for a in show_filters(conv).axes if a.images]) == 6
    assert len([a for a in show_filters(torch.randn(4, 8, 3, 3), channel=2).axes if a.images]) == 4
    cm = confusion_matrix([0, 1, 2, 2], [0, 2, 2, 2], 3)
    assert cm.tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 2]]
    fig = show_confusion(cm, ["a", "b", "c"])
    assert "0.750" in fig.axes[0].get_title()
    fig.savefig(tmp_path / "cm.png")
    plt.close("all")
