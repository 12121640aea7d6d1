"""Mode coverage: hand-built probability arrays and toy 2-D samples with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gankit.metrics.modes import class_modes, grid_centers, kl_to_uniform, ring_centers, stacked_modes, toy_modes


def _one_hot(labels: np.ndarray, classes: int = 10, confidence: float = 1.0) -> np.ndarray:
    """[N, classes] probabilities: ``confidence`` on the label, the rest spread evenly."""
    rest = (1.0 - confidence) / (classes - 1)
    probs = np.full((len(labels), classes), rest)
    probs[np.arange(len(labels)), labels] = confidence
    return probs


# ---- class_modes ---------------------------------------------------------------

def test_balanced_ten_classes() -> None:
    result = class_modes(_one_hot(np.arange(100) % 10))
    assert result["classes_covered"] == 10
    assert result["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)
    assert result["mean_confidence"] == pytest.approx(1.0)


def test_two_classes_only_give_log_five() -> None:
    result = class_modes(_one_hot(np.array([3, 7] * 50)))
    assert result["classes_covered"] == 2
    assert result["kl_to_uniform"] == pytest.approx(math.log(5.0), rel=1e-12)


def test_single_class_gives_log_k() -> None:
    result = class_modes(_one_hot(np.zeros(30, dtype=int)))
    assert result["classes_covered"] == 1
    assert result["kl_to_uniform"] == pytest.approx(math.log(10.0), rel=1e-12)


def test_unbalanced_histogram_kl() -> None:
    # 3 of one class, 1 of another, out of 4 classes: p = (3/4, 1/4, 0, 0).
    result = class_modes(_one_hot(np.array([0, 0, 0, 1]), classes=4))
    expected = 0.75 * math.log(0.75 * 4) + 0.25 * math.log(0.25 * 4)
    assert result["kl_to_uniform"] == pytest.approx(expected, rel=1e-12)


def test_mean_confidence_is_the_mean_top1_probability() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4], [0.3, 0.3, 0.4]])
    result = class_modes(torch.from_numpy(probs).float())
    assert result["mean_confidence"] == pytest.approx((0.7 + 0.5 + 0.4) / 3, rel=1e-6)
    assert result["classes_covered"] == 3


def test_min_count_threshold() -> None:
    labels = np.array([0] * 5 + [1] * 2 + [2])
    assert class_modes(_one_hot(labels), min_count=1)["classes_covered"] == 3
    assert class_modes(_one_hot(labels), min_count=2)["classes_covered"] == 2
    assert class_modes(_one_hot(labels), min_count=5)["classes_covered"] == 1
    assert class_modes(_one_hot(labels), min_count=6)["classes_covered"] == 0


def test_kl_to_uniform_rejects_an_empty_histogram() -> None:
    with pytest.raises(ValueError, match="empty"):
        kl_to_uniform(np.zeros(10))


# ---- stacked_modes -------------------------------------------------------------

def _stacked(modes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return _one_hot(modes // 100), _one_hot(modes // 10 % 10), _one_hot(modes % 10)


def test_all_thousand_modes_equally() -> None:
    result = stacked_modes(*_stacked(np.repeat(np.arange(1000), 2)))
    assert result["modes_covered"] == 1000
    assert result["kl_to_uniform"] == pytest.approx(0.0, abs=1e-12)


def test_stacked_mode_is_100r_10g_b() -> None:
    # Every image is digits (1, 2, 3): one mode, 123, whatever the classifier confidence.
    r, g, b = (_one_hot(np.full(4, d), confidence=0.6) for d in (1, 2, 3))
    result = stacked_modes(r, g, b)
    assert result["modes_covered"] == 1
    assert result["kl_to_uniform"] == pytest.approx(math.log(1000.0), rel=1e-12)
    # Swapping the channels gives a different single mode, 321: still one.
    assert stacked_modes(b, g, r)["modes_covered"] == 1


def test_half_the_modes() -> None:
    modes = np.arange(0, 1000, 2)  # 500 modes, one sample each
    result = stacked_modes(*_stacked(modes))
    assert result["modes_covered"] == 500
    assert result["kl_to_uniform"] == pytest.approx(math.log(2.0), rel=1e-12)


def test_stacked_min_count() -> None:
    modes = np.array([5, 5, 5, 17, 17, 999])
    assert stacked_modes(*_stacked(modes))["modes_covered"] == 3
    assert stacked_modes(*_stacked(modes), min_count=2)["modes_covered"] == 2
    assert stacked_modes(*_stacked(modes), min_count=3)["modes_covered"] == 1


# ---- toy_modes -----------------------------------------------------------------

def test_ring_centers() -> None:
    c = ring_centers()
    assert c.shape == (8, 2)
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 2.0)
    np.testing.assert_allclose(c[0], [2.0, 0.0])
    np.testing.assert_allclose(c[2], [0.0, 2.0], atol=1e-12)


def test_grid_centers() -> None:
    c = grid_centers()
    assert c.shape == (25, 2)
    assert sorted(set(c[:, 0])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert sorted(set(c[:, 1])) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    assert len({tuple(p) for p in c}) == 25
    np.testing.assert_allclose(grid_centers(4, spacing=1.0), [[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])


def test_samples_on_every_ring_center() -> None:
    centers = ring_centers()
    result = toy_modes(np.repeat(centers, 10, axis=0), centers, std=0.02)
    assert result == {"modes_captured": 8, "high_quality": 1.0}


def test_samples_on_one_center() -> None:
    centers = grid_centers()
    result = toy_modes(np.tile(centers[7], (100, 1)), centers, std=0.05)
    assert result == {"modes_captured": 1, "high_quality": 1.0}


def test_samples_far_from_every_center() -> None:
    centers = ring_centers()
    # The origin is 2 from every centre on the ring: nearest to some, but not high quality.
    result = toy_modes(np.zeros((50, 2)), centers, std=0.02)
    assert result == {"modes_captured": 0, "high_quality": 0.0}


def test_three_std_boundary_and_gaussian_noise() -> None:
    centers = ring_centers()
    std = 0.02
    inside = centers[0] + [2.9 * std, 0.0]
    outside = centers[1] + [0.0, 3.1 * std]
    result = toy_modes(np.stack([inside, outside]), centers, std=std)
    assert result == {"modes_captured": 1, "high_quality": 0.5}
    # Gaussian samples around every centre: ~98.9% fall within 3 std in 2-D (1 - exp(-4.5)).
    rng = np.random.default_rng(0)
    samples = np.repeat(centers, 500, axis=0) + std * rng.standard_normal((4000, 2))
    result = toy_modes(torch.from_numpy(samples), torch.from_numpy(centers), std=std)
    assert result["modes_captured"] == 8
    assert result["high_quality"] == pytest.approx(1.0 - math.exp(-4.5), abs=0.01)


def test_toy_min_count() -> None:
    centers = ring_centers()
    samples = np.concatenate([np.tile(centers[0], (5, 1)), np.tile(centers[3], (1, 1))])
    assert toy_modes(samples, centers, std=0.02)["modes_captured"] == 2
    assert toy_modes(samples, centers, std=0.02, min_count=2)["modes_captured"] == 1


# ---- validation ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: class_modes(np.ones(10) / 10), "2-D"),
        (lambda: class_modes(np.zeros((0, 10))), "empty"),
        (lambda: class_modes(np.array([[2.0, -1.0]])), "probabilities"),
        (lambda: class_modes(np.array([[3.0, 1.0]])), "softmax"),
        (lambda: class_modes(np.array([[np.nan, 1.0]])), "NaN or inf"),
        (lambda: class_modes(np.eye(3), min_count=0), "min_count"),
        (lambda: stacked_modes(np.eye(10), np.eye(10), np.eye(10)[:5]), "one row per image"),
        (lambda: stacked_modes(np.eye(9), np.eye(9), np.eye(9)), "10 classes"),
        (lambda: toy_modes(np.zeros((5, 3)), ring_centers(), std=0.02), r"\[N, 2\]"),
        (lambda: toy_modes(np.zeros((5, 2)), np.zeros((0, 2)), std=0.02), "at least 1"),
        (lambda: toy_modes(np.full((5, 2), np.inf), ring_centers(), std=0.02), "NaN or inf"),
        (lambda: toy_modes(np.zeros((5, 2)), ring_centers(), std=0.0), "std"),
        (lambda: grid_centers(24), "perfect square"),
        (lambda: ring_centers(0), "integer >= 1"),
    ],
)
def test_bad_input_raises_value_error(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
