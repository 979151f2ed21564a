"""Margins of the thresholds in autograder/hw5/adversarial.py, on the three seeds.

The judges' references (not a student's code) are run directly: FGSM must bring the
grader's model well below FGSM_MAX_ACCURACY while noise of the same size (random signs)
stays well above it, on the held-out images the judge sends (drawn from
``core.held_out_seed``, so also under other course secrets); the reference class
visualization must clear its margins by a wide factor; and the fixed model must be what
the graders assume (right on every clean image, the same bits whatever the thread count).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.hw5 import adversarial as adv
from autograder.hw5 import cam
from tests.kit import SEEDS


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: one thread, like the graders' child (and far faster on a busy machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def model():
    return cam.toy_net()


def _acc(model, x, y):
    with torch.no_grad():
        return float(np.mean(model(torch.as_tensor(x, dtype=torch.float32)).argmax(1).numpy() == y))


def _margins(model, seed):
    """Clean accuracy, the reference FGSM's accuracy and the random-sign baseline's on the
    judge's held-out images (FGSM attacks the model's predictions, as the probe does)."""
    x, y = adv.held_out_images(seed)
    y_pred = adv.model_predictions(model, x)
    attacked, _ = adv.ref_fgsm(model, x, y_pred, adv.FGSM_EPS, False)
    rng = np.random.default_rng(seed)
    noisy = np.clip(x + adv.FGSM_EPS * rng.choice([-1.0, 1.0], x.shape), 0, 1)
    return _acc(model, x, y), _acc(model, attacked, y), _acc(model, noisy, y)


@pytest.mark.parametrize("seed", SEEDS)
def test_fgsm_threshold_margin(model, seed):
    clean, acc, noise = _margins(model, seed)
    assert clean == 1.0  # the grader's model is right on every clean image: its predictions are the labels
    assert acc <= adv.FGSM_MAX_ACCURACY - 0.15, acc
    # the weak baseline: the same budget on random signs barely hurts
    assert noise >= adv.FGSM_MAX_ACCURACY + 0.3, noise


@pytest.mark.parametrize("secret", ["another course", "s2", "xxxxxxxxxx"])
def test_fgsm_threshold_margin_under_other_secrets(model, monkeypatch, secret):
    """The held-out set depends on the course's secret: the margins must not depend on it."""
    monkeypatch.setenv("COURSE_KIT_SECRET", secret)
    for seed in SEEDS:
        clean, acc, noise = _margins(model, seed)
        assert clean == 1.0
        assert acc <= adv.FGSM_MAX_ACCURACY - 0.1, (seed, acc)
        assert noise >= adv.FGSM_MAX_ACCURACY + 0.3, (seed, noise)


def test_fgsm_held_out_images_stay_with_the_judge(monkeypatch):
    """What the judge sends: images only (no labels), a few MB, not the public seed's images,
    and other images under another secret."""
    given = adv.give_fgsm(2024)
    assert set(given) == {"x"} and given["x"].shape == (adv.FGSM_N, 3, 32, 32)
    assert given["x"].nbytes <= 3 * 2**20
    public, _, _ = adv.object_images([2024, adv.HELD_OUT_KEY], adv.FGSM_N, 32)
    assert not np.array_equal(public, given["x"])
    monkeypatch.setenv("COURSE_KIT_SECRET", "another course")
    assert not np.array_equal(adv.give_fgsm(2024)["x"], given["x"])


@pytest.mark.parametrize("seed", SEEDS)
def test_fgsm_cases_have_clamped_pixels(model, seed):
    """Every case must show a missing clamp: some pixels of the reference sit at 0 or 1 exactly
    where the unclamped step would leave [0, 1]."""
    for case in range(len(adv.FGSM_CASES)):
        x, y, eps, targeted, _ = adv.fgsm_inputs(seed, case)
        want, g = adv.ref_fgsm(model, x, y, eps, targeted)
        raw = x + (-1 if targeted else 1) * eps * np.sign(g)
        assert np.mean((raw < 0) | (raw > 1)) > 0.005


def _reference_visualization(model, k, size, steps, lr, l2, jitter, seed):
    gen = torch.Generator().manual_seed(seed)
    img = torch.rand(1, 3, *size, generator=gen)
    for _ in range(steps):
        dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=gen).tolist()
        img.requires_grad_(True)
        obj = model(torch.roll(img, shifts=(dy, dx), dims=(2, 3)))[0, k] - l2 * (img ** 2).sum()
        g, = torch.autograd.grad(obj, img)
        with torch.no_grad():
            img = (img + lr * g / (g.norm() + 1e-12)).clamp(0, 1)
    return img.detach().numpy()


@pytest.mark.parametrize("seed", SEEDS)
def test_visualization_margins(model, seed):
    for call in (0, 3):
        _, size, steps, lr, l2, jitter, s = adv.VIS_CALLS[call]
        k = adv.vis_class(seed, call)
        img = _reference_visualization(model, k, size, steps, lr, l2, jitter, s)
        z = adv._logits(model, img)
        z0 = adv._logits(model, adv.start_image(size, s))
        assert z[k] - z0[k] >= 2 * adv.VIS_RISE
        assert z[k] - np.delete(z, k).max() >= 2 * adv.VIS_MARGIN
    _, size, steps, lr, l2, jitter, s = adv.VIS_CALLS[0]
    k = adv.vis_class(seed, 0)
    reg = _reference_visualization(model, k, size, steps, lr, l2, jitter, s)
    free = _reference_visualization(model, k, size, steps, lr, 0.0, jitter, s)
    assert np.linalg.norm(reg) <= (adv.VIS_L2_RATIO - 0.05) * np.linalg.norm(free)


def test_fixed_model_same_bits_whatever_the_threads():
    n = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        a = cam.toy_net()
        x, _, _ = cam.object_images(0, 4)
        out1 = a(torch.as_tensor(x)).detach()
        torch.set_num_threads(max(2, n))
        b = cam.toy_net()
        assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
        out2 = b(torch.as_tensor(x)).detach()
        assert torch.allclose(out1, out2, atol=1e-6)
    finally:
        torch.set_num_threads(n)
    assert F.softmax(out1, 1).argmax(1).numel() == 4
