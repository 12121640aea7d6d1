"""FID: agreement with the textbook scipy computation, closed forms, and invariants."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gankit.metrics.fid import feature_stats, fid, frechet_distance, trace_sqrt_product


def _features(seed: int, n: int = 2000, d: int = 64, shift: float = 0.0, mix: float = 0.0) -> np.ndarray:
    """[n, d] Gaussian features: N(shift, A A^T) with A = I + mix * (random matrix)."""
    rng = np.random.default_rng(seed)
    a = np.eye(d) + mix * rng.standard_normal((d, d)) / np.sqrt(d)
    return rng.standard_normal((n, d)) @ a.T + shift


def _scipy_fid(x: np.ndarray, y: np.ndarray) -> float:
    """The textbook formula with scipy.linalg.sqrtm on the covariance product."""
    linalg = pytest.importorskip("scipy.linalg")
    mu1, mu2 = x.mean(axis=0), y.mean(axis=0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


@pytest.fixture(scope="module")
def real() -> np.ndarray:
    return _features(seed=0)


@pytest.fixture(scope="module")
def fake() -> np.ndarray:
    return _features(seed=1, shift=0.1, mix=0.5)


def test_matches_scipy_sqrtm(real: np.ndarray, fake: np.ndarray) -> None:
    expected = _scipy_fid(real, fake)
    assert expected > 1.0  # the two distributions really differ
    assert fid(real, fake) == pytest.approx(expected, abs=1e-3)


def test_matches_scipy_for_two_distributions_with_different_covariances() -> None:
    x = _features(seed=2, n=1500, d=32, mix=1.0)
    y = _features(seed=3, n=1500, d=32, shift=-0.3, mix=2.0)
    assert fid(x, y) == pytest.approx(_scipy_fid(x, y), abs=1e-3)


def test_identical_sets_give_zero(real: np.ndarray) -> None:
    assert fid(real, real) == pytest.approx(0.0, abs=1e-8)


def test_symmetric(real: np.ndarray, fake: np.ndarray) -> None:
    assert fid(real, fake) == pytest.approx(fid(fake, real), rel=1e-9)


def test_grows_with_mean_shift(real: np.ndarray) -> None:
    base = _features(seed=4)
    scores = [fid(real, base + shift) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert all(a < b for a, b in zip(scores, scores[1:])), scores


def test_mean_shift_changes_only_the_mean_term(real: np.ndarray, fake: np.ndarray) -> None:
    # Shifting a set by v moves its mean only: FID(v) = FID(0) + 2 (mu_f - mu_r).v + |v|^2.
    v = np.linspace(-1.0, 1.0, real.shape[1])
    expected = fid(real, fake) + 2.0 * (fake.mean(0) - real.mean(0)) @ v + v @ v
    assert fid(real, fake + v) == pytest.approx(expected, rel=1e-9)


def test_grows_with_covariance_scale(real: np.ndarray) -> None:
    base = _features(seed=5)
    base = base - base.mean(axis=0)
    scores = [fid(real, base * scale) for scale in (1.0, 1.5, 2.0, 3.0)]
    assert all(a < b for a, b in zip(scores, scores[1:])), scores


def test_closed_form_for_scaled_covariance() -> None:
    # N(0, S) vs N(0, s^2 S): Tr(S + s^2 S - 2 s S) = (1 - s)^2 Tr(S).
    rng = np.random.default_rng(6)
    a = rng.standard_normal((16, 16))
    sigma = a @ a.T + 0.1 * np.eye(16)
    mu = np.zeros(16)
    for s in (0.5, 1.0, 2.0, 3.0):
        expected = (1.0 - s) ** 2 * np.trace(sigma)
        assert frechet_distance(mu, sigma, mu, s * s * sigma) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_closed_form_for_diagonal_covariances() -> None:
    # Commuting (diagonal) covariances: sum_i (sqrt(a_i) - sqrt(b_i))^2 plus the mean term.
    a = np.array([1.0, 4.0, 9.0, 0.0])
    b = np.array([4.0, 1.0, 9.0, 2.0])
    mu1, mu2 = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 1.0, 0.0, 3.0])
    expected = 1.0 + 4.0 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-12)


def test_singular_covariances_fewer_samples_than_dimensions() -> None:
    x = _features(seed=7, n=20, d=64)
    y = _features(seed=8, n=30, d=64, shift=0.2)
    value = fid(x, y)
    assert np.isfinite(value) and value > 0
    assert fid(x, x) == pytest.approx(0.0, abs=1e-8)
    # A constant feature column gives a zero row and column in Sigma.
    x[:, 0] = 1.0
    assert np.isfinite(fid(x, y))


def test_trace_sqrt_product_of_a_matrix_with_itself_is_its_trace() -> None:
    rng = np.random.default_rng(9)
    a = rng.standard_normal((10, 10))
    sigma = a @ a.T
    assert trace_sqrt_product(sigma, sigma) == pytest.approx(np.trace(sigma), rel=1e-10)


def test_eigendecomposition_fallback_agrees_with_cholesky(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = _features(seed=12, n=500, d=16, mix=1.0), _features(seed=13, n=500, d=16, mix=0.5)
    _, s1 = feature_stats(x)
    _, s2 = feature_stats(y)
    with_cholesky = trace_sqrt_product(s1, s2)

    def not_positive_definite(a: np.ndarray) -> np.ndarray:
        raise np.linalg.LinAlgError("forced")

    monkeypatch.setattr(np.linalg, "cholesky", not_positive_definite)
    assert trace_sqrt_product(s1, s2) == pytest.approx(with_cholesky, rel=1e-10)


def test_feature_stats_is_float64_mean_and_unbiased_covariance() -> None:
    x = _features(seed=10, n=50, d=5).astype(np.float32)
    mu, sigma = feature_stats(torch.from_numpy(x))
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    assert mu.shape == (5,) and sigma.shape == (5, 5)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mu, x64.mean(axis=0), rtol=1e-12)
    centred = x64 - x64.mean(axis=0)
    np.testing.assert_allclose(sigma, centred.T @ centred / (50 - 1), rtol=1e-10)


def test_one_dimensional_features() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(0.0, 1.0, size=(4000, 1))
    y = rng.normal(1.0, 2.0, size=(4000, 1))
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2 for the sample moments.
    expected = (x.mean() - y.mean()) ** 2 + (x.std(ddof=1) - y.std(ddof=1)) ** 2
    assert fid(x, y) == pytest.approx(expected, rel=1e-9)


def test_torch_and_numpy_inputs_agree(real: np.ndarray, fake: np.ndarray) -> None:
    assert fid(torch.from_numpy(real), torch.from_numpy(fake)) == pytest.approx(fid(real, fake), rel=1e-12)


def test_returns_a_python_float(real: np.ndarray, fake: np.ndarray) -> None:
    assert type(fid(real, fake)) is float


@pytest.mark.parametrize(
    ("real_x", "fake_x", "match"),
    [
        (np.zeros(10), np.zeros((10, 3)), "2-D"),
        (np.zeros((10, 3, 2)), np.zeros((10, 3)), "2-D"),
        (np.ones((10, 3)), np.ones((10, 4)), "feature dimensions"),
        (np.ones((1, 3)), np.ones((10, 3)), "at least 2"),
        (np.full((10, 3), np.nan), np.ones((10, 3)), "NaN or inf"),
        (np.ones((10, 3)), np.array([[np.inf, 0, 0]] * 10), "NaN or inf"),
        (np.ones((10, 0)), np.ones((10, 0)), "no feature columns"),
        (np.array([["a", "b"], ["c", "d"]]), np.ones((2, 2)), "numeric"),
    ],
)
def test_bad_features_raise_value_error(real_x: np.ndarray, fake_x: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fid(real_x, fake_x)


def test_bad_gaussians_raise_value_error() -> None:
    mu, sigma = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match="covariance"):
        frechet_distance(mu, np.eye(4), mu, sigma)
    with pytest.raises(ValueError, match="dimensions"):
        frechet_distance(mu, sigma, np.zeros(4), np.eye(4))
    with pytest.raises(ValueError, match="1-D"):
        frechet_distance(np.zeros((3, 1)), sigma, mu, sigma)
    with pytest.raises(ValueError, match="NaN or inf"):
        frechet_distance(mu, sigma * np.nan, mu, sigma)


def test_error_messages_are_one_line() -> None:
    with pytest.raises(ValueError) as info:
        fid(np.ones((10, 3)), np.ones((10, 4)))
    assert "\n" not in str(info.value)
