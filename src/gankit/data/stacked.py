"""Stacked MNIST (Metz et al. 2017, as used by VEEGAN and PacGAN): three MNIST
digits as the red, green and blue channels of one 28x28 image.

The label of an image is its mode, 100 * d_r + 10 * d_g + d_b, one of 1000, which
is what :func:`gankit.metrics.modes.stacked_modes` counts on generated images.
The three digits of each image are drawn uniformly with replacement from the
requested MNIST split, by a seeded generator (train: seed 0, test: seed 1), so
a split always gives the same images. MNIST's train split may be missing where
only its test split is shipped; drawing from the test split then still gives
10,000^3 possible images.
"""

from __future__ import annotations

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data.datasets import SPECS, SPLITS, ImageDataset, check_split, read_idx_split, spec_where
from gankit.registry import DATASETS

DEFAULT_SIZE = 128_000  # the training set size of VEEGAN and PacGAN
SPLIT_SEEDS = {"train": 0, "test": 1}
NUM_MODES = 1000
CLASS_NAMES = tuple(f"{mode:03d}" for mode in range(NUM_MODES))  # "000" .. "999": the digits r, g, b


def draw_triples(count: int, size: int, seed: int) -> np.ndarray:
    """int64 [size, 3]: for each image, the indices of its R, G and B digits among ``count``."""
    return np.random.default_rng(seed).integers(0, count, size=(size, 3), dtype=np.int64)


def stack_digits(
    digits: torch.Tensor,  # uint8 [M, 28, 28]
    digit_labels: torch.Tensor,  # int64 [M], 0..9
    triples: torch.Tensor,  # int64 [N, 3], indices into digits
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather the stacked images uint8 [N, 3, 28, 28] and their modes int64 [N].

    One tensor gather each, no Python loop: 128,000 images are 301 MB.
    """
    images = digits[triples]  # [N, 3, 28, 28]: channel c of image i is digits[triples[i, c]]
    d = digit_labels[triples]  # [N, 3]
    modes = 100 * d[:, 0] + 10 * d[:, 1] + d[:, 2]  # [N], 0..999
    return images, modes


@DATASETS.register(
    "stacked-mnist",
    settings=("size",),
    where=lambda root: "drawn from mnist, read from " + spec_where(SPECS["mnist"], root),
    help="Stacked MNIST (Metz et al. 2017; VEEGAN; PacGAN): 3 MNIST digits as R, G, B, 28x28, 1000 modes "
    "(128,000 drawn by default)",
)
def load_stacked_mnist(cfg: DataConfig, split: str, device: str | torch.device = "cpu") -> ImageDataset:
    """data.size stacked images (default 128,000, whatever the split) drawn from MNIST's ``split``.

    Reads data.root and data.download (to find the MNIST files, exactly as for
    ``mnist``) and data.size.
    """
    check_split("stacked-mnist", split, SPLITS)
    size = cfg.size or DEFAULT_SIZE
    mnist = read_idx_split(SPECS["mnist"], split=split, root=cfg.root, download=cfg.download, device=device)
    triples = torch.from_numpy(draw_triples(len(mnist), size, SPLIT_SEEDS[split])).to(mnist.images.device)
    images, modes = stack_digits(mnist.images[:, 0], mnist.labels, triples)
    return ImageDataset(
        name="stacked-mnist",
        split=split,
        images=images,  # uint8 [N, 3, 28, 28]
        labels=modes,  # int64 [N]
        num_classes=NUM_MODES,
        class_names=CLASS_NAMES,
        source=mnist.source,
    )
