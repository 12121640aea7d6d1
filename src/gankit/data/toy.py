"""2-D mixtures of Gaussians, the toy data of VEEGAN (Srivastava et al. 2017) and
PacGAN (Lin et al. 2018), on which mode collapse can be seen and counted.

- ``toy-ring``: 8 Gaussians evenly spaced on a circle of radius 2, std 0.02;
- ``toy-grid``: 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05.

Each sample picks a mode uniformly, then adds isotropic Gaussian noise. The data
is drawn, not read, so a split is just a seed: the same split always gives the
same points, and train and test are independent draws. The dataset carries its
centres and std, which :func:`gankit.metrics.modes.toy_modes` needs to count
the modes a generator captures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data.datasets import SPLITS, ImageDataset, check_split
from gankit.metrics.modes import grid_centers, ring_centers
from gankit.registry import DATASETS

DEFAULT_SIZE = 100_000
SPLIT_SEEDS = {"train": 0, "test": 1}


def ring() -> np.ndarray:
    """The ring of 8: float64 [8, 2] centres at radius 2 (cos, sin)(2 pi i / 8)."""
    return ring_centers(8, radius=2.0)


def grid() -> np.ndarray:
    """The 5 x 5 grid: float64 [25, 2] centres at {-4, -2, 0, 2, 4}^2, row by row."""
    return grid_centers(25, spacing=2.0)


@dataclass(frozen=True)
class Mixture:
    """A registered toy mixture: equal-weight Gaussians of one std around ``centers()``."""

    name: str
    centers: Callable[[], np.ndarray]  # -> float64 [M, 2]
    std: float
    help: str


MIXTURES = {
    m.name: m
    for m in (
        Mixture(
            "toy-ring",
            ring,
            0.02,
            "2-D ring of 8 Gaussians, radius 2, std 0.02 (VEEGAN, Srivastava et al. 2017; PacGAN); "
            "generated points, 100,000 by default",
        ),
        Mixture(
            "toy-grid",
            grid,
            0.05,
            "2-D 5x5 grid of 25 Gaussians at {-4..4}^2, std 0.05 (VEEGAN; PacGAN, Lin et al. 2018); "
            "generated points, 100,000 by default",
        ),
    )
}


def sample_mixture(centers: np.ndarray, std: float, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``size`` points: float32 [size, 2], and their mode indices int64 [size].

    Only ``seed`` decides the draw (numpy's default_rng), so it is the same on
    every machine and numpy version that keeps PCG64 and its Gaussian sampler.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(centers), size=size)  # [N], uniform over the modes
    noise = rng.standard_normal((size, 2))  # [N, 2]
    points = centers[labels] + std * noise  # [N, 2]
    return points.astype(np.float32), labels.astype(np.int64)


def load_mixture(
    mixture: Mixture,
    split: str = "train",
    device: str | torch.device = "cpu",
    size: int | None = None,
) -> ImageDataset:
    """One split of ``mixture`` as a "points" dataset on ``device``; labels are the mode indices."""
    check_split(mixture.name, split, SPLITS)
    size = size or DEFAULT_SIZE
    seed = SPLIT_SEEDS[split]
    centers = mixture.centers()  # [M, 2]
    points, labels = sample_mixture(centers, mixture.std, size, seed)
    return ImageDataset(
        name=mixture.name,
        split=split,
        images=torch.from_numpy(points).to(device),  # float32 [N, 2]
        labels=torch.from_numpy(labels).to(device),  # int64 [N]
        num_classes=len(centers),
        class_names=tuple(str(i) for i in range(len(centers))),
        source=f"generated: numpy default_rng({seed})",
        kind="points",
        modes=torch.from_numpy(centers.astype(np.float32)).to(device),  # float32 [M, 2]
        mode_std=mixture.std,
    )


def _register(mixture: Mixture) -> None:
    def load(cfg: DataConfig, split: str, device: str | torch.device = "cpu") -> ImageDataset:
        """Reads data.size; the split picks the seed (train 0, test 1). There are no files."""
        return load_mixture(mixture, split=split, device=device, size=cfg.size)

    load.__name__ = load.__qualname__ = f"load_{mixture.name.replace('-', '_')}"
    DATASETS.register(mixture.name, load, help=mixture.help, where=lambda root: "generated from a seed (no files)",
                      settings=("size",), points=True)


for _mixture in MIXTURES.values():
    _register(_mixture)
