"""Self-tests of the graders' own oracles (not of any student code).

The layer calculator's expected numbers come from torch modules and a gradient
footprint; here they must reproduce the numbers known from the seed questions, and
agree with the textbook recursion on the random specs the grader uses. The SGD
grader's worked example must come out as 001 Q4's result.
"""
from __future__ import annotations

import numpy as np
import pytest

from autograder.hw1 import calculator, optim
from autograder.probes.hw1 import calculator as calculator_inputs

NETS = calculator_inputs.seed_networks()


def _table(name):
    shape, layers = NETS[name]
    return layers, calculator.oracle_table(shape, layers)


def _params(rows):
    return [r["params"] for r in rows]


def test_004_q3_parameters_total_4906():
    layers, rows = _table("004 Q3 network")
    assert [p for p in _params(rows) if p] == [224, 16, 3216, 1450]
    assert sum(_params(rows)) == 4906
    assert rows[7]["output_shape"] == (144,)


def test_003_q3_flatten_is_43264_and_matches_its_linear():
    layers, rows = _table("003 Q3 network")
    flat = [r for l, r in zip(layers, rows) if l["type"] == "flatten"]
    assert flat[0]["output_shape"] == (43264,)
    first_linear = next(r for l, r in zip(layers, rows) if l["type"] == "linear")
    assert first_linear["params"] == 43264 * 1024 + 1024  # Linear(43264, 1024)
    # BatchNorm: 2C parameters (gamma and beta), not 2 and not 4C.
    assert [r["params"] for l, r in zip(layers, rows) if l["type"] == "bn"] == [64, 128, 256, 256, 512]
    assert rows[12]["rf"] == 65 and rows[13]["rf"] is None


def test_001_q1_parameter_counts():
    layers, rows = _table("001 Q1 network")
    assert [p for p in _params(rows) if p] == [4736, 51264, 73856, 147584, 295168, 6554624, 10250]
    assert rows[8]["output_shape"] == (6400,)


def test_000_q4f_receptive_field():
    _, rows = _table("000 Q4(f) network")
    assert [r["rf"] for r in rows] == [3, 5, 13, 21]


def test_000_q5_networks():
    _, a = _table("000 Q5 network A")
    _, b = _table("000 Q5 network B")
    assert [r["output_shape"] for r in a][1::2] == [(64, 256, 256), (128, 128, 128), (256, 64, 64)]
    assert [r["output_shape"] for r in b] == [(64, 256, 256), (128, 128, 128), (256, 64, 64)]
    assert _params(a) == [48, 192, 1024, 8192, 2048, 32768]
    assert _params(b) == [3072, 131072, 524288]
    assert sum(r["macs"] for r in a) == 309329920
    assert sum(r["macs"] for r in b) == 4496293888


def _recursion(shape, layers):
    """The textbook recursion, written independently of the grader's oracle."""
    c, h, w = shape
    flat, rf, jump, rows = None, 1, 1, []
    for spec in layers:
        t, params, macs = spec["type"], 0, 0
        if t == "conv":
            k, s, d, g, out = spec["k"], spec.get("s", 1), spec.get("d", 1), spec.get("groups", 1), spec["out"]
            keff, p = d * (k - 1) + 1, spec.get("p", 0)
            if p == "same":
                ho, wo = h, w
            else:
                p = 0 if p == "valid" else p
                ho, wo = (h + 2 * p - keff) // s + 1, (w + 2 * p - keff) // s + 1
            params = c // g * k * k * out + (out if spec.get("bias", True) else 0)
            macs = out * ho * wo * (c // g) * k * k
            c, h, w, rf, jump = out, ho, wo, rf + (keff - 1) * jump, jump * s
        elif t in ("maxpool", "avgpool"):
            k, p = spec["k"], spec.get("p", 0)
            s = spec.get("s", k)
            h, w, rf, jump = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1, rf + (k - 1) * jump, jump * s
        elif t == "bn":
            params = 2 * (c if flat is None else flat)
        elif t == "flatten":
            flat = c * h * w
        elif t == "linear":
            params = flat * spec["out"] + (spec["out"] if spec.get("bias", True) else 0)
            macs, flat = flat * spec["out"], spec["out"]
        rows.append({"output_shape": (c, h, w) if flat is None else (flat,), "params": params, "macs": macs,
                     "rf": rf if flat is None else None})
    return rows


@pytest.mark.parametrize("seed", [2024, 1, 2])
def test_oracle_agrees_with_the_recursion_on_random_specs(seed):
    for case in range(calculator_inputs.N_RANDOM):
        shape, layers = calculator_inputs.random_network(seed, case)
        assert calculator.oracle_table(shape, layers) == _recursion(shape, layers), (seed, case, shape, layers)


def test_random_specs_cover_the_tricky_cases():
    specs = [l for case in range(calculator_inputs.N_RANDOM) for l in calculator_inputs.random_network(2024, case)[1]]
    convs = [l for l in specs if l["type"] == "conv"]
    assert any(l.get("p") == "same" and l["k"] % 2 == 0 for l in convs)
    assert any(l.get("p") == "same" and l.get("d", 1) > 1 for l in convs)
    assert any(l.get("groups", 1) > 1 for l in convs)
    assert any("s" not in l for l in specs if l["type"].endswith("pool"))
    assert any(l.get("bias") is False for l in specs)
    assert any(l["type"] == "bn" for l in specs)


def test_random_specs_are_plain_python():
    for case in range(calculator_inputs.N_RANDOM):
        shape, layers = calculator_inputs.random_network(2024, case)
        assert all(type(v) is int for v in shape)
        for l in layers:
            for v in l.values():
                assert type(v) in (int, float, str, bool), (l, type(v))


def test_sgd_worked_example_is_001_q4():
    np.testing.assert_allclose(optim.worked_example_reference(), [4.04, 2.04, -4.04, 4.04], atol=1e-12)


@pytest.mark.parametrize("seed", [2024, 1, 2])
def test_equivariance_oracle(seed):
    """The translation-equivariance grader credits the interior only when the whole-map
    gap is positive: its own whole-map gaps must be, and its interior gaps must be 0."""
    from autograder.hw1 import identities
    from autograder.probes.hw1.identities import GAP_CASES, gap_inputs

    for case in range(len(GAP_CASES)):
        x, w, dy, dx = gap_inputs(seed, case)
        assert identities.reference_gap(x, w, dy, dx, True) < 1e-12
        assert identities.reference_gap(x, w, dy, dx, False) > 1e-3


def test_fold_oracle_matches_the_formula():
    from autograder.hw1 import folding
    from autograder.probes.hw1.folding import CASES, inputs

    for case in range(len(CASES)):
        w, b, gamma, beta, mean, var, eps, x = inputs(2024, case)
        eps = folding.DEFAULT_EPS if eps is None else eps
        s = gamma / np.sqrt(var + eps)
        bias = np.zeros(w.shape[0]) if b is None else b
        stride, padding = CASES[case][7:]
        got = folding.folded_conv(w * s[:, None, None, None], s * (bias - mean) + beta, x, stride, padding)
        want = folding.conv_bn_reference(w, b, gamma, beta, mean, var, eps, x, stride, padding)
        assert np.max(np.abs(got - want)) < 1e-12 * max(1.0, np.max(np.abs(want)))
