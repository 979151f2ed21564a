"""The references of autograder/hw5/cam.py are fair, on the three seeds.

The judges' own CAM and Grad-CAM find every square of the known-position images (so the
peak test asks nothing impossible), and a correct Monte-Carlo Shapley estimate sits well
inside the Hoeffding tolerance of the Shapley judge and adds up to v(all) - v(none).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from autograder.hw5 import cam
from autograder.probes.hw5 import cam as probe_cam
from tests.kit import SEEDS


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def model():
    return cam.toy_net()


@pytest.mark.parametrize("seed", SEEDS)
def test_shapley_estimate_well_inside_tolerance(seed):
    """The permutation estimator (as the notebook's solution computes it) lands well inside
    the judge's Hoeffding tolerance, and leave-one-out lands outside it."""
    net = cam.shap_net(seed)
    for call, (size, k, n_perm, s) in enumerate(cam.SHAP_CALLS):
        x = cam.shap_image(seed, call)
        phi_ex, spread, v_all, v_none = cam.exact_shapley(net, "0", x, k)
        tol = spread * math.sqrt(math.log(2 / cam.HOEFFDING_DELTA) / (2 * n_perm))
        rng = np.random.default_rng([seed, call])
        xt = torch.as_tensor(x)
        store = {}
        h = net[0].register_forward_hook(lambda m, i, o: o * store["mask"][:, :, None, None])
        try:
            est = np.zeros(cam.SHAP_C)
            for _ in range(n_perm):
                order = rng.permutation(cam.SHAP_C)
                masks = torch.zeros(cam.SHAP_C + 1, cam.SHAP_C)
                for j in range(cam.SHAP_C):
                    masks[j + 1:, order[j]] = 1
                store["mask"] = masks
                with torch.no_grad():
                    vals = net(xt.expand(cam.SHAP_C + 1, -1, -1, -1))[:, k].double().numpy()
                est[order] += np.diff(vals)
            est /= n_perm
        finally:
            h.remove()
        assert np.all(np.abs(est - phi_ex) <= 0.6 * tol + 1e-6), (est, phi_ex, tol)
        assert abs(est.sum() - (v_all - v_none)) < 1e-4 * max(1, abs(v_all))


@pytest.mark.parametrize("seed", SEEDS)
def test_maps_peak_on_objects(model, seed):
    """The judges' own CAM and Grad-CAM find every square: the peak test is fair."""
    x, labels, boxes = probe_cam.cam_object_images(seed)
    feats, w = probe_cam.cam_object_features(x)
    for j in range(2):
        maps = cam.ref_cam(feats, w, labels[:, j], (32, 32))
        assert all(cam.peak_on_box(maps[i], boxes[i][j], margin=0) for i in range(len(x)))
    x, labels, boxes = probe_cam.gc_object_images(seed)
    for name in cam.GC_OBJECT_LAYERS:
        for j in range(2):
            maps = cam.ref_grad_cam(model, name, x, labels[:, j])
            assert all(cam.peak_on_box(maps[i], boxes[i][j], margin=0) for i in range(len(x)))
