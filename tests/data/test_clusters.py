"""k-means clusters of training images (model.clusters): exact, repeatable, and digit-like on MNIST."""

from __future__ import annotations

import pytest
import torch

from gankit.data import load_dataset
from gankit.data.clusters import features, kmeans


@pytest.fixture(scope="module")
def digits(mnist_root):
    data = load_dataset("mnist", "train", root=mnist_root)
    return data.images[:2000], data.labels[:2000]


def purity(assign: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """Share of images whose cluster's most common digit is their own."""
    return sum(int(torch.bincount(labels[assign == j], minlength=10).max()) for j in range(k)) / len(labels)


def test_features_are_exact_sums_of_2x2_blocks_and_small_images_stay_whole():
    x = torch.arange(2 * 17 * 17, dtype=torch.int64).remainder(256).to(torch.uint8).reshape(2, 1, 17, 17)
    f = features(x)
    assert f.dtype == torch.float64 and f.shape == (2, 8 * 8)  # the odd last row and column left out
    assert f[0, 0] == int(x[0, 0, :2, :2].sum()) and f[1, 9] == int(x[1, 0, 2:4, 2:4].sum())
    small = torch.randint(0, 256, (3, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(features(small), small.flatten(1).double())


def test_clusters_of_mnist_split_the_digits_far_better_than_chance(digits):
    images, labels = digits
    assign = kmeans(images, 20, seed=0)
    assert assign.shape == (2000,) and assign.dtype == torch.int64
    assert torch.bincount(assign, minlength=20).min() > 0  # every cluster holds images
    shuffled = assign[torch.randperm(2000, generator=torch.Generator().manual_seed(0))]
    assert purity(assign, labels, 20) > 0.6 > purity(shuffled, labels, 20) + 0.3


def test_the_clusters_are_the_same_whatever_the_threads_and_differ_by_seed(digits):
    images, _ = digits
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = kmeans(images, 12, seed=3)
        torch.set_num_threads(2)
        two = kmeans(images, 12, seed=3)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)
    assert not torch.equal(one, kmeans(images, 12, seed=4))


def test_a_cluster_count_the_images_cannot_fill_is_refused(digits):
    images, _ = digits
    with pytest.raises(ValueError, match="model.clusters must be between 2 and the 5 training images"):
        kmeans(images[:5], 6, seed=0)
    with pytest.raises(ValueError, match="got 1"):
        kmeans(images, 1, seed=0)
