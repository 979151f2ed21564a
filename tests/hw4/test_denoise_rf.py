"""The dilated receptive-field oracle of hw4.dilated_rf agrees with the seed's formula, and
the judge tells the classic wrong formulas apart on its own cases."""
from __future__ import annotations

import itertools

from autograder.core import Checker
from autograder.hw4 import denoise


def test_oracle_matches_the_formula():
    for k, d, i in itertools.product(range(1, 8), range(1, 5), range(1, 5)):
        assert denoise.reference_rf(k, d, i) == 1 + i * d * (k - 1), (k, d, i)
    for k, d, i in [(3, 2, 1), (2, 3, 4), (5, 1, 2), (4, 4, 3)]:
        n = 1 + i * d * (k - 1) + 7
        assert denoise.reference_size(n, k, d, i) == n - i * d * (k - 1)


def test_cases_cover_even_kernels_unit_dilation_and_several_layers():
    cases = denoise.rf_cases(2024)
    assert any(k % 2 == 0 for k, _, _, _ in cases)
    assert any(d == 1 for _, d, _, _ in cases) and any(d > 1 for _, d, _, _ in cases)
    assert any(i > 2 for _, _, i, _ in cases)
    assert all(n - i * d * (k - 1) >= 1 for k, d, i, n in cases)


def _score(rf, size):
    cases = denoise.rf_cases(2024)
    out = {"rf": [rf(k, d, i) for k, d, i, _ in cases], "size": [size(n, k, d, i) for k, d, i, n in cases],
           "size1": size(30, 3, 2, 1), "stack": []}
    ck = Checker(4)
    denoise.judge_dilated(out, 2024, ck)
    return {name: ok for name, _, ok, _ in ck.parts}


def test_judge_rejects_the_classic_mistakes():
    right_size = lambda n, k, d, i: n - i * d * (k - 1)  # noqa: E731
    assert _score(lambda k, d, i: 1 + i * d * (k - 1), right_size)["dilated_receptive_field"]
    for wrong in (lambda k, d, i: 1 + i * (k - 1), lambda k, d, i: i * d * k, lambda k, d, i: i * d * (k - 1),
                  lambda k, d, i: (1 + d * (k - 1)) ** i):
        assert not _score(wrong, right_size)["dilated_receptive_field"]
    assert not _score(lambda k, d, i: 1, lambda n, k, d, i: n - d * (k - 1))["dilated_output_size"]
