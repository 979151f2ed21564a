"""cnnkit.train: the training loop the HW2+ notebooks share (fast: tiny models)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cnnkit.train import History, evaluate, fit, load_checkpoint, predict, predict_proba

torch.set_num_threads(1)


def blobs(n=200, k=3, seed=0, spread=0.3):
    """``k`` well separated Gaussian blobs in 2-D: a linear layer learns them."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % k
    angle = 2 * math.pi * y.float() / k
    centres = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1) * 2
    x = centres + spread * torch.randn(n, 2, generator=g)
    return x, y


def loaders(n=200, k=3, seed=0, batch_size=32):
    xtr, ytr = blobs(n, k, seed)
    xva, yva = blobs(n // 2, k, seed + 1)
    g = torch.Generator().manual_seed(seed)
    return (DataLoader(TensorDataset(xtr, ytr), batch_size=batch_size, shuffle=True, generator=g),
            DataLoader(TensorDataset(xva, yva), batch_size=64))


def linear(k=3, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(2, k)


def frozen_optimizer(lr=0.1):
    """An optimizer over a parameter the model does not use: the model never
    changes (validation stays constant), while the learning rate can be scheduled."""
    return torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=lr)


def test_fit_learns_a_separable_problem():
    train, val = loaders()
    model = linear()
    before = evaluate(model, val)
    h = fit(model, train, val, epochs=6, lr=0.05, progress=False)
    assert isinstance(h, History)
    assert len(h.train_loss) == len(h.train_acc) == len(h.val_loss) == len(h.val_acc) == len(h.lr) == 6
    assert h.train_loss[-1] < h.train_loss[0]
    assert max(h.val_acc) > 0.95 > before[1]
    assert h.lr == [0.05] * 6
    assert not h.stopped_early and 0 <= h.best_epoch < 6
    assert "epochs" in str(h)


def test_early_stopping_after_patience_epochs_without_improvement():
    train, val = loaders()
    model = linear()
    h = fit(model, train, val, epochs=20, optimizer=frozen_optimizer(), patience=3, progress=False)
    # validation is identical every epoch: epoch 0 is the best, then 3 epochs without improvement
    assert h.stopped_early
    assert h.epochs == 4 and h.best_epoch == 0
    assert len(set(h.val_acc)) == 1


def test_early_stopping_on_val_loss_and_no_patience_runs_all_epochs():
    train, val = loaders()
    h = fit(linear(), train, val, epochs=5, optimizer=frozen_optimizer(), patience=2, monitor="val_loss",
            progress=False)
    assert h.stopped_early and h.epochs == 3
    h = fit(linear(), train, val, epochs=5, optimizer=frozen_optimizer(), patience=None, progress=False)
    assert not h.stopped_early and h.epochs == 5


class FlippingLoader:
    """Correct labels for the first ``good`` epochs, then labels moved to the next
    class: validation accuracy rises, then collapses."""

    def __init__(self, x, y, k, good=3, batch_size=32):
        self.x, self.y, self.k, self.good, self.bs, self.epoch = x, y, k, good, batch_size, 0

    def __len__(self):
        return math.ceil(len(self.x) / self.bs)

    def __iter__(self):
        y = self.y if self.epoch < self.good else (self.y + 1) % self.k
        self.epoch += 1
        for i in range(0, len(self.x), self.bs):
            yield self.x[i:i + self.bs], y[i:i + self.bs]


def test_best_checkpoint_is_restored_and_saved(tmp_path):
    x, y = blobs(240, 3, seed=0, spread=0.8)
    _, val = loaders()
    model = linear()
    path = tmp_path / "sub" / "best.pt"
    h = fit(model, FlippingLoader(x, y, 3), val, epochs=7, lr=0.1, progress=False, checkpoint=path)
    assert h.epochs == 7
    assert h.val_acc[-1] < max(h.val_acc) - 0.3, h.val_acc  # the flip really hurt
    # the best epoch: highest accuracy; among equal accuracies, the lowest loss
    tied = [e for e, a in enumerate(h.val_acc) if a == max(h.val_acc)]
    assert h.best_epoch == min(tied, key=lambda e: h.val_loss[e]) < 6
    loss, acc = evaluate(model, val)
    assert acc == max(h.val_acc) == h.best_val_acc
    assert loss == pytest.approx(h.val_loss[h.best_epoch], rel=1e-6)
    state = torch.load(path, weights_only=True)
    assert set(state) == set(model.state_dict())
    for k, v in model.state_dict().items():
        assert torch.equal(state[k], v)
    fresh = load_checkpoint(linear(seed=5), path)
    assert evaluate(fresh, val)[1] == acc


def test_scheduler_factory_object_and_plateau():
    train, val = loaders()
    h = fit(linear(), train, val, epochs=3, lr=0.1, progress=False,
            scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5))
    assert h.lr == pytest.approx([0.1, 0.05, 0.025])

    model = linear()
    opt = torch.optim.SGD(model.parameters(), lr=0.2)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[2], gamma=0.1)
    h = fit(model, train, val, epochs=3, optimizer=opt, scheduler=sched, progress=False)
    assert h.lr == pytest.approx([0.2, 0.2, 0.02])

    opt = frozen_optimizer(lr=1.0)  # constant validation loss: the plateau scheduler halves the lr
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    h = fit(linear(), train, val, epochs=4, optimizer=opt, scheduler=sched, progress=False)
    assert h.lr == pytest.approx([1.0, 1.0, 0.5, 0.25])


def test_one_cycle_steps_every_batch_and_foreign_scheduler_is_refused():
    train, val = loaders(n=96, batch_size=32)  # 3 batches per epoch
    model = linear()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=9)
    h = fit(model, train, val, epochs=3, optimizer=opt, scheduler=sched, progress=False)
    assert sched.last_epoch == 9 and len(set(h.lr)) == 3

    other = torch.optim.SGD(linear().parameters(), lr=0.1)
    with pytest.raises(ValueError, match="another optimizer"):
        fit(linear(), train, val, epochs=1, scheduler=torch.optim.lr_scheduler.StepLR(other, 1), progress=False)


def test_without_validation_data():
    train, _ = loaders()
    with pytest.warns(UserWarning, match="patience needs val_loader"):
        h = fit(linear(), train, None, epochs=3, lr=0.05, patience=1, progress=False)
    assert h.epochs == 3 and h.best_epoch == 2 and not h.stopped_early
    assert all(math.isnan(v) for v in h.val_loss + h.val_acc)
    assert math.isnan(h.best_val_acc)


def test_progress_false_prints_nothing_and_true_reports(capfd):
    train, val = loaders(n=60)
    fit(linear(), train, val, epochs=2, lr=0.05, progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    fit(linear(), train, val, epochs=2, lr=0.05, progress=True)
    out, err = capfd.readouterr()
    assert "epoch   2/2" in out + err and "val acc" in out + err


def test_interrupt_keeps_best_weights():
    x, y = blobs(120, 3)
    _, val = loaders()

    class Stop(FlippingLoader):
        def __iter__(self):
            if self.epoch == 2:
                yield self.x[:32], self.y[:32]
                raise KeyboardInterrupt
            yield from super().__iter__()

    model = linear()
    h = fit(model, Stop(x, y, 3, good=10), val, epochs=5, lr=0.1, progress=False)
    assert h.interrupted and h.epochs == 2 and len(h.lr) == len(h.val_acc) == 2
    assert evaluate(model, val)[1] == max(h.val_acc)


def test_evaluate_predict_predict_proba():
    train, val = loaders()
    model = linear()
    fit(model, train, val, epochs=3, lr=0.05, progress=False)
    model.train()
    loss, acc = evaluate(model, val)
    assert model.training  # mode restored
    xs, ys = val.dataset.tensors
    pred = predict(model, val)
    proba = predict_proba(model, val)
    assert pred.dtype == np.int64 and pred.shape == (len(ys),)
    assert proba.shape == (len(ys), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    assert np.array_equal(proba.argmax(1), pred)
    assert acc == pytest.approx(float(np.mean(pred == ys.numpy())))
    ref = nn.functional.cross_entropy(model(xs), ys).item()
    assert loss == pytest.approx(ref, rel=1e-5)
    # loaders of images only (no labels) work for prediction
    assert np.array_equal(predict(model, DataLoader(xs, batch_size=50)), pred)


def test_model_returning_features_and_logits():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 3)

        def forward(self, x):
            return x, self.fc(x)  # (features, logits), as in center-loss models

    train, val = loaders()
    torch.manual_seed(0)
    h = fit(Net(), train, val, epochs=3, lr=0.05, progress=False)
    assert max(h.val_acc) > 0.9


def test_plot_history(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnkit.plots import plot_history

    train, val = loaders(n=60)
    h = fit(linear(), train, val, epochs=3, lr=0.1, progress=False,
            scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1, 0.5))
    fig = plot_history(h, title="blobs")
    assert len(fig.axes) == 3  # loss, accuracy, and the learning rate that changed
    assert [len(line.get_xdata()) for line in fig.axes[0].get_lines()][:2] == [3, 3]
    fig.savefig(tmp_path / "h.png")
    h2 = fit(linear(), train, None, epochs=2, lr=0.1, progress=False)
    assert len(plot_history(h2.as_dict()).axes) == 2  # no validation curve, constant lr
    plt.close("all")
