"""Probe of template matching with CNN features (003 P4).

``feature_ncc`` runs on small feature maps built from the seed. ``match_template_cnn`` runs
on the templates the judge sends (``ns.given``: perturbed templates cut from scikit-image's
photographs, with the name and size of the photograph to search and the feature extractor's
stride and border); where each template was cut stays with the judge. The probe returns the
scores and boxes the student's functions produced.
"""
from __future__ import annotations

import numpy as np

from autograder.probes.runtime import Bad

from autograder.probes.kit.convert import as_float_array

NCC_KEY = 4001


def ncc_inputs(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(search (C, H, W), template (C, h, w)) as float64 arrays holding float32 values."""
    r = np.random.default_rng([seed, NCC_KEY])
    f32 = lambda a: a.astype(np.float32).astype(np.float64)  # noqa: E731
    cases = []
    s = r.normal(0, 1, (16, 20, 24)) + r.uniform(0, 2, (16, 1, 1))
    cases.append((f32(s), f32(r.normal(0, 1, (16, 5, 7)))))
    s = r.normal(0, 1, (1, 15, 11))
    cases.append((f32(s), f32(r.normal(0, 1, (1, 4, 3)))))
    s = np.abs(r.normal(0, 1, (8, 18, 18)))
    t = s[:, 6:12, 3:8] * 2.0 + 0.5  # a rescaled crop of the search map
    cases.append((f32(s), f32(t)))
    s = np.abs(r.normal(0, 1, (6, 16, 16)))
    s[:, :9, :10] = 0.0  # a region without features (a ReLU output of 0)
    cases.append((f32(s), f32(r.normal(0, 1, (6, 5, 5)))))
    s = r.normal(0, 1, (4, 6, 30))
    cases.append((f32(s), f32(r.normal(0, 1, (4, 6, 9)))))
    return cases


GIVEN_KEYS = ("templates", "template_shapes", "photos", "image_sizes", "strides", "borders")


def unpack_matching(given) -> list[tuple[int, int, str, int, np.ndarray]]:
    """The judge's matching cases: (stride, border, photo name, photo size, template (h, w, 3) float32)."""
    from data_scripts.scenes import PHOTOS

    if not isinstance(given, dict) or any(not isinstance(given.get(k), np.ndarray) for k in GIVEN_KEYS):
        raise ValueError("no matching cases were given")
    flat = given["templates"].astype(np.float32).reshape(-1)
    shapes = given["template_shapes"].astype(np.int64).reshape(-1, 2)
    photos, sizes = given["photos"].astype(np.int64), given["image_sizes"].astype(np.int64)
    strides, borders = given["strides"].astype(np.int64), given["borders"].astype(np.int64)
    cases, off = [], 0
    for k, (h, w) in enumerate(shapes):
        n = int(h) * int(w) * 3
        cases.append((int(strides[k]), int(borders[k]), PHOTOS[int(photos[k])], int(sizes[k]),
                      flat[off:off + n].reshape(int(h), int(w), 3)))
        off += n
    return cases


def to_chw(a):
    import torch

    return torch.from_numpy(np.ascontiguousarray(np.asarray(a).transpose(2, 0, 1), dtype=np.float32))


def probe(ns, seed):
    import torch

    from data_scripts.scenes import edge_feature_extractor, photo

    out: dict = {"ncc": [], "match": []}
    for s, t in ncc_inputs(seed):
        ts, tt = torch.tensor(s, dtype=torch.float32), torch.tensor(t, dtype=torch.float32)
        r = ns.call("feature_ncc", ts, tt)
        out["ncc"].append({"is_tensor": bool(torch.is_tensor(r)), "value": as_float_array(r)})
    try:
        cases = unpack_matching(ns.given)
    except (ValueError, TypeError, IndexError, KeyError):
        out["match"] = Bad("missing", "no matching cases were given")
        return out
    extractors, images = {}, {}
    for stride, border, name, size, template in cases:
        if stride not in extractors:
            extractors[stride] = edge_feature_extractor(stride)
        if (name, size) not in images:
            images[(name, size)] = photo(name, size)
        r = ns.call("match_template_cnn", to_chw(images[(name, size)]), to_chw(template), extractors[stride], border)
        out["match"].append(as_float_array(r))
    return out
