"""The 2-D mixtures: centres, spread, determinism per split, and what a trainer reads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gankit.data import load_dataset, toy
from gankit.errors import ConfigError
from gankit.metrics.modes import toy_modes


def test_ring_centres_are_eight_points_on_a_circle_of_radius_two() -> None:
    c = toy.ring()
    assert c.shape == (8, 2)
    assert np.allclose(np.hypot(c[:, 0], c[:, 1]), 2.0)
    assert np.allclose(c[0], [2.0, 0.0]) and np.allclose(c[2], [0.0, 2.0])  # counter-clockwise, 45 degrees apart


def test_grid_centres_are_the_5x5_grid() -> None:
    c = toy.grid()
    assert c.shape == (25, 2)
    expected = {(x, y) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert {tuple(p) for p in c.round().astype(int).tolist()} == expected
    assert np.allclose(c, c.round())


@pytest.mark.parametrize("name, modes, std", [("toy-ring", 8, 0.02), ("toy-grid", 25, 0.05)])
def test_a_split_is_points_around_its_modes(name: str, modes: int, std: float) -> None:
    ds = load_dataset(name, "train", size=20_000)

    assert (ds.name, ds.split, ds.kind, len(ds)) == (name, "train", "points", 20_000)
    assert ds.images.dtype == torch.float32 and ds.images.shape == (20_000, 2) and ds.shape == (2,)
    assert ds.labels.dtype == torch.int64 and ds.num_classes == modes and len(ds.class_names) == modes
    assert ds.modes is not None and ds.modes.shape == (modes, 2) and ds.mode_std == std
    # Each point lies near the centre its label names, with the mixture's spread per axis.
    offsets = ds.images - ds.modes[ds.labels]  # [N, 2]
    assert abs(float(offsets.std()) - std) < 0.05 * std
    assert abs(float(offsets.mean())) < 3 * std / np.sqrt(offsets.numel())
    # Modes are drawn uniformly.
    counts = torch.bincount(ds.labels, minlength=modes).float()
    assert float(counts.min()) > 0.8 * 20_000 / modes
    # The data itself passes the mode metric: every mode captured, nearly all high quality.
    result = toy_modes(ds.images[:2500], ds.modes, ds.mode_std)
    assert result["modes_captured"] == modes and result["high_quality"] > 0.98


def test_same_split_same_points_other_split_other_points() -> None:
    a, b = load_dataset("toy-ring", "train", size=500), load_dataset("toy-ring", "train", size=500)
    test = load_dataset("toy-ring", "test", size=500)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, test.images)
    assert "default_rng(0)" in a.source and "default_rng(1)" in test.source


def test_default_size_and_ignored_options() -> None:
    ds = load_dataset("toy-grid", "test", root="/no/such/folder", download=False, resolution=64, channels=1)
    assert len(ds) == toy.DEFAULT_SIZE == 100_000


def test_bad_size_and_split() -> None:
    with pytest.raises(ConfigError, match=r"data\.size=0: must be > 0"):
        load_dataset("toy-ring", size=0)
    with pytest.raises(ConfigError, match=r"unknown split 'valid' for dataset toy-grid"):
        load_dataset("toy-grid", "valid")
