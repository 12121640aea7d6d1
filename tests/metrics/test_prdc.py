"""Precision/recall and density/coverage: against a brute-force reading of the
definitions, and their behaviour on sets whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gankit.metrics.prdc as prdc_module
from gankit.metrics.prdc import density_coverage, knn_radii, prdc, precision_recall


def _gauss(seed: int, n: int = 1000, d: int = 4, shift: float = 0.0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, d)) + shift


def _brute_force(real: np.ndarray, fake: np.ndarray, k_pr: int = 3, k_dc: int = 5) -> dict[str, float]:
    """The four definitions, written out on full float64 distance matrices."""

    def dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))

    def radii(x: np.ndarray, k: int) -> np.ndarray:
        d = dist(x, x)
        return np.array([np.sort(np.delete(row, i))[k - 1] for i, row in enumerate(d)])

    d_fr = dist(fake, real)  # [M, N]
    r_pr, r_dc, f_pr = radii(real, k_pr), radii(real, k_dc), radii(fake, k_pr)
    return {
        "precision": np.mean([any(d_fr[j, i] <= r_pr[i] for i in range(len(real))) for j in range(len(fake))]),
        "recall": np.mean([any(d_fr[j, i] <= f_pr[j] for j in range(len(fake))) for i in range(len(real))]),
        "density": sum((d_fr[j] <= r_dc).sum() for j in range(len(fake))) / (k_dc * len(fake)),
        "coverage": np.mean([d_fr[:, i].min() <= r_dc[i] for i in range(len(real))]),
    }


def test_matches_brute_force_definitions() -> None:
    real, fake = _gauss(0, n=80, d=3), _gauss(1, n=60, d=3, shift=0.4)
    expected = _brute_force(real, fake)
    got = prdc(real, fake, dtype=torch.float64)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-12), key
    assert precision_recall(real, fake, dtype=torch.float64) == pytest.approx(
        {"precision": expected["precision"], "recall": expected["recall"]}, abs=1e-12)
    assert density_coverage(real, fake, dtype=torch.float64) == pytest.approx(
        {"density": expected["density"], "coverage": expected["coverage"]}, abs=1e-12)


def test_other_k_match_brute_force() -> None:
    real, fake = _gauss(2, n=50, d=2), _gauss(3, n=40, d=2, shift=0.3)
    expected = _brute_force(real, fake, k_pr=1, k_dc=7)
    got = prdc(real, fake, k_pr=1, k_dc=7, dtype=torch.float64)
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-12), key


def test_blocking_does_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    real, fake = _gauss(4, n=60), _gauss(5, n=50, shift=0.5)
    whole = prdc(real, fake, dtype=torch.float64)
    # 500 entries per block: 8 rows at a time, with a ragged last block.
    monkeypatch.setattr(prdc_module, "_BLOCK_ELEMENTS", 500)
    assert prdc(real, fake, dtype=torch.float64) == whole


def test_float32_agrees_with_float64() -> None:
    real, fake = _gauss(6), _gauss(7, shift=0.5)
    a, b = prdc(real, fake), prdc(real, fake, dtype=torch.float64)
    for key in a:
        assert a[key] == pytest.approx(b[key], abs=2e-3), key


def test_knn_radii_exclude_the_point_but_count_duplicates() -> None:
    x = np.array([[0.0], [1.0], [3.0], [3.0], [10.0]])
    np.testing.assert_allclose(knn_radii(x, 1).numpy(), [1.0, 1.0, 0.0, 0.0, 7.0])
    np.testing.assert_allclose(knn_radii(x, 2).numpy(), [3.0, 2.0, 2.0, 2.0, 7.0])


def test_balls_are_closed() -> None:
    # Reals 0..4 on a line, k = 1: every ball has radius 1. A fake at 5 sits exactly
    # on the boundary of the ball around 4, and counts (Kynkaanniemi et al.: <=).
    real = np.arange(5.0)[:, None]
    fake = np.array([[5.0], [5.0]])
    assert precision_recall(real, fake, k=1, dtype=torch.float64)["precision"] == 1.0
    dc = density_coverage(real, fake, k=1, dtype=torch.float64)
    assert dc == {"density": 1.0, "coverage": 0.2}


def test_same_distribution_scores_near_one() -> None:
    scores = prdc(_gauss(8), _gauss(9))
    assert scores["precision"] > 0.9
    assert scores["recall"] > 0.9
    assert scores["coverage"] > 0.9
    assert scores["density"] == pytest.approx(1.0, abs=0.1)


def test_collapsed_fake_set_has_precision_but_no_recall_or_coverage() -> None:
    real = _gauss(10)
    rng = np.random.default_rng(11)
    # 500 fakes huddled around 20 of the 1000 real points.
    fake = np.repeat(real[:20], 25, axis=0) + 0.01 * rng.standard_normal((500, real.shape[1]))
    scores = prdc(real, fake)
    assert scores["precision"] > 0.95
    assert scores["recall"] < 0.1
    assert scores["coverage"] < 0.2


def test_far_away_fake_set_scores_zero() -> None:
    real = _gauss(12)
    scores = prdc(real, _gauss(13) + 100.0)
    assert scores == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_all_four_fall_as_the_fake_set_moves_away() -> None:
    real, base = _gauss(14), _gauss(15)
    runs = [prdc(real, base + shift) for shift in (0.0, 0.5, 1.0, 2.0)]
    for key in ("precision", "recall", "density", "coverage"):
        values = [r[key] for r in runs]
        assert all(a > b for a, b in zip(values, values[1:])), (key, values)
        assert values[-1] < 0.6 * values[0], (key, values)


def test_results_are_python_floats_with_the_documented_keys() -> None:
    real, fake = torch.randn(50, 3), torch.randn(40, 3)
    assert set(precision_recall(real, fake)) == {"precision", "recall"}
    assert set(density_coverage(real, fake)) == {"density", "coverage"}
    scores = prdc(real, fake)
    assert set(scores) == {"precision", "recall", "density", "coverage"}
    assert all(type(v) is float for v in scores.values())


def test_distance_blocks_stay_within_the_memory_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    real = torch.randn(3000, 8, generator=torch.Generator().manual_seed(0))
    fake = torch.randn(3000, 8, generator=torch.Generator().manual_seed(1))
    sizes: list[int] = []
    blocks = prdc_module._blocks

    def spy(a: torch.Tensor, b: torch.Tensor):
        for start, sq in blocks(a, b):
            sizes.append(sq.numel())
            yield start, sq

    monkeypatch.setattr(prdc_module, "_blocks", spy)
    scores = prdc(real, fake)
    assert len(sizes) > 3  # 3000 x 3000 does not fit one block
    assert max(sizes) <= prdc_module._BLOCK_ELEMENTS
    assert 0.8 < scores["density"] < 1.2


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: precision_recall(np.ones((3, 2)), np.ones((10, 2)), k=3), "at least 4"),
        (lambda: precision_recall(np.ones((10, 2)), np.ones((3, 2)), k=3), "at least 4"),
        (lambda: density_coverage(np.ones((5, 2)), np.ones((10, 2)), k=5), "at least 6"),
        (lambda: density_coverage(np.ones((10, 2)), np.ones((0, 2)), k=5), "at least 1"),
        (lambda: precision_recall(np.ones((10, 2)), np.ones((10, 2)), k=0), "integer >= 1"),
        (lambda: precision_recall(np.ones((10, 2)), np.ones((10, 2)), k=2.5), "integer >= 1"),
        (lambda: prdc(np.ones((10, 2)), np.ones((10, 3))), "feature dimensions"),
        (lambda: prdc(np.ones(10), np.ones((10, 1))), "2-D"),
        (lambda: prdc(np.full((10, 2), np.nan), np.ones((10, 2))), "NaN or inf"),
        (lambda: knn_radii(np.ones((3, 2)), 3), "at least 4"),
    ],
)
def test_bad_input_raises_value_error(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
