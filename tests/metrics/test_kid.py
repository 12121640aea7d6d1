"""KID: the unbiased MMD^2 estimator against its definition, and its behaviour."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from gankit.metrics.kid import kid, mmd2_unbiased, polynomial_kernel

D = 16
FAST = {"subsets": 10, "subset_size": 400}


def _gauss(seed: int, n: int = 1000, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, D)) + shift


def _kernel_by_hand(a: np.ndarray, b: np.ndarray) -> float:
    return (float(np.dot(a, b)) / a.size + 1.0) ** 3


def test_kernel_is_the_cubic_polynomial() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 5)), rng.standard_normal((3, 5))
    expected = np.array([[_kernel_by_hand(a, b) for b in y] for a in x])
    np.testing.assert_allclose(polynomial_kernel(x, y), expected, rtol=1e-12)


def test_mmd2_matches_the_definition_term_by_term() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((5, 3)) + 0.5
    m, n = len(x), len(y)
    xx = sum(_kernel_by_hand(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
    yy = sum(_kernel_by_hand(y[i], y[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    xy = sum(_kernel_by_hand(a, b) for a in x for b in y) / (m * n)
    assert mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2.0 * xy, rel=1e-12)


def test_full_sets_in_one_subset_equal_the_plain_estimate() -> None:
    x, y = _gauss(2, n=300), _gauss(3, n=300, shift=0.2)
    result = kid(x, y, subsets=1, subset_size=300)
    # A permutation of all rows leaves the estimate unchanged.
    assert result["kid_mean"] == pytest.approx(mmd2_unbiased(x, y), rel=1e-9)
    assert result["kid_std"] == 0.0


def test_same_distribution_is_near_zero() -> None:
    result = kid(_gauss(4), _gauss(5), **FAST)
    assert abs(result["kid_mean"]) < 3.0 * result["kid_std"]
    assert abs(result["kid_mean"]) < 0.01


def test_shifted_distribution_is_larger() -> None:
    same = kid(_gauss(4), _gauss(5), **FAST)
    shifted = kid(_gauss(4), _gauss(5, shift=0.5), **FAST)
    assert shifted["kid_mean"] > same["kid_mean"] + 10.0 * shifted["kid_std"]


def test_monotone_in_the_shift() -> None:
    real = _gauss(6)
    base = _gauss(7)
    means = [kid(real, base + s, **FAST)["kid_mean"] for s in (0.0, 0.2, 0.4, 0.8)]
    assert all(a < b for a, b in zip(means, means[1:])), means


def test_seeded_and_reproducible() -> None:
    x, y = _gauss(8, n=400), _gauss(9, n=400, shift=0.1)
    a = kid(x, y, subsets=5, subset_size=100, seed=3)
    assert kid(x, y, subsets=5, subset_size=100, seed=3) == a
    assert kid(x, y, subsets=5, subset_size=100, seed=4) != a


def test_subset_size_is_clamped_to_the_smaller_set() -> None:
    x, y = _gauss(10, n=40), _gauss(11, n=25)
    result = kid(x, y)  # defaults: 100 subsets of 1000
    assert np.isfinite(result["kid_mean"]) and np.isfinite(result["kid_std"])
    assert set(result) == {"kid_mean", "kid_std"}
    assert all(type(v) is float for v in result.values())


def test_torch_and_numpy_inputs_agree() -> None:
    x, y = _gauss(12, n=200), _gauss(13, n=200, shift=0.3)
    a = kid(x, y, subsets=3, subset_size=100)
    b = kid(torch.from_numpy(x), torch.from_numpy(y), subsets=3, subset_size=100)
    assert a["kid_mean"] == pytest.approx(b["kid_mean"], rel=1e-12)


@pytest.mark.parametrize(
    ("real_x", "fake_x", "kwargs", "match"),
    [
        (np.ones((10, 3)), np.ones((10, 4)), {}, "feature dimensions"),
        (np.ones(10), np.ones((10, 3)), {}, "2-D"),
        (np.ones((1, 3)), np.ones((10, 3)), {}, "at least 2"),
        (np.full((10, 3), np.inf), np.ones((10, 3)), {}, "NaN or inf"),
        (np.ones((10, 3)), np.ones((10, 3)), {"subsets": 0}, "subsets"),
        (np.ones((10, 3)), np.ones((10, 3)), {"subset_size": 1}, "subset_size must be an integer >= 2"),
    ],
)
def test_bad_input_raises_value_error(real_x: np.ndarray, fake_x: np.ndarray, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        kid(real_x, fake_x, **kwargs)
