"""Stacked MNIST built from the real MNIST test split."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.data import datasets, load_dataset, stacked
from gankit.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def mnist_test(mnist_root: Path):
    return load_dataset("mnist", "test", root=mnist_root, download=False)


def test_channels_are_the_drawn_mnist_digits(mnist_root: Path, mnist_test) -> None:
    ds = load_dataset("stacked-mnist", "test", root=mnist_root, download=False, size=300)

    assert (ds.name, ds.split, ds.kind, ds.source) == ("stacked-mnist", "test", "image", str(mnist_root))
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (300, 3, 28, 28)
    assert ds.num_classes == 1000 and ds.class_names[0] == "000" and ds.class_names[987] == "987"
    triples = torch.from_numpy(stacked.draw_triples(10_000, 300, seed=1))  # the test split's seed
    digits, labels = mnist_test.images[:, 0], mnist_test.labels  # [10000, 28, 28], [10000]
    for i in (0, 1, 150, 299):
        for c in range(3):
            assert torch.equal(ds.images[i, c], digits[triples[i, c]])
    d = labels[triples]  # [300, 3]
    assert torch.equal(ds.labels, 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2])
    assert int(ds.labels.min()) >= 0 and int(ds.labels.max()) <= 999


def test_label_digits_match_each_channel(mnist_root: Path, mnist_test) -> None:
    ds = load_dataset("stacked-mnist", "test", root=mnist_root, download=False, size=200)
    digits = torch.stack([ds.labels // 100, ds.labels // 10 % 10, ds.labels % 10], dim=1)  # [N, 3]
    # Find each channel back in MNIST: its digit must be the one the label names.
    flat = mnist_test.images[:, 0].reshape(10_000, -1).float()
    for i in range(0, 200, 40):
        for c in range(3):
            match = (flat == ds.images[i, c].reshape(-1).float()).all(dim=1).nonzero()[:, 0]
            assert int(digits[i, c]) in mnist_test.labels[match].tolist()


def test_deterministic_per_split(mnist_root: Path) -> None:
    a = load_dataset("stacked-mnist", "test", root=mnist_root, download=False, size=100)
    b = load_dataset("stacked-mnist", "test", root=mnist_root, download=False, size=100)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    # The train split draws with another seed (here only the triples can be compared).
    assert not np.array_equal(stacked.draw_triples(10_000, 100, 0), stacked.draw_triples(10_000, 100, 1))


def test_stack_digits_gathers_by_index() -> None:
    digits = torch.arange(4, dtype=torch.uint8).view(4, 1, 1).expand(4, 2, 2)  # digit k is all k
    labels = torch.tensor([7, 3, 0, 9])
    images, modes = stacked.stack_digits(digits, labels, torch.tensor([[0, 1, 2], [3, 3, 0]]))
    assert images.shape == (2, 3, 2, 2)
    assert images[:, :, 0, 0].tolist() == [[0, 1, 2], [3, 3, 0]]
    assert modes.tolist() == [730, 997]


def test_default_size() -> None:
    assert stacked.DEFAULT_SIZE == 128_000


def test_mnist_files_are_searched_like_mnist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(datasets.SPECS, "mnist", dataclasses.replace(datasets.SPECS["mnist"], embedded=None))
    with pytest.raises(DataError, match=r"cannot find the mnist test split"):
        load_dataset("stacked-mnist", "test", root=tmp_path, download=False, size=10)
    with pytest.raises(ConfigError, match=r"data\.size=-1: must be > 0"):
        load_dataset("stacked-mnist", "test", root=tmp_path, download=False, size=-1)
