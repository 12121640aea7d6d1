"""Batches from a dataset that lives whole on the training device.

MNIST-sized datasets fit in a few dozen MB as uint8, so they are kept on the
device and batches are gathered by index: no DataLoader, no worker processes, no
host-to-device copy per step. The order is a permutation per epoch drawn from
(seed, epoch) alone, so the batch of any step can be recomputed after a resume
without saving any data-loader state.

Image data is stored as uint8 and scaled to [-1, 1] per batch; float data (the
2-D points of the toy datasets) is already in model units and is returned as is.
Aligned translation pairs also carry a ``sources`` tensor, one source per image,
gathered with the same indices as the images (:meth:`DeviceBatches.get_pair`).
"""

from __future__ import annotations

import torch

from gankit.errors import ConfigError


class DeviceBatches:
    def __init__(
        self,
        images: torch.Tensor,  # uint8 [N, C, H, W], or float [N, ...] (points), on the training device
        labels: torch.Tensor,  # int64 [N]
        batch_size: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        sources: torch.Tensor | None = None,  # uint8 [N, Cs, h, w]: the source of each image (aligned pairs)
    ):
        n = images.shape[0]
        if sources is not None and sources.shape[0] != n:
            raise ValueError(f"DeviceBatches needs one source per image: {sources.shape[0]} sources, {n} images")
        global_batch = batch_size * world_size
        if global_batch > n:
            raise ConfigError(
                f"train.batch_size={batch_size} x {world_size} process(es) is larger than the dataset ({n} images)"
            )
        self.images, self.labels, self.sources = images, labels, sources
        self.batch_size, self.seed = batch_size, seed
        self.rank, self.world_size = rank, world_size
        # Every rank walks the same permutation and takes its own slice of each
        # global batch; the last partial global batch of an epoch is dropped.
        self.batches_per_epoch = n // global_batch
        self._epoch = -1
        self._perm = torch.empty(0)

    @property
    def num_samples(self) -> int:
        return self.images.shape[0]

    def permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.images.shape[0], generator=g).to(self.images.device)

    def _indices(self, i: int) -> torch.Tensor:
        """The dataset indices [B] of batch ``i`` of the run (0-based, counted over epochs) on this rank."""
        epoch, k = divmod(i, self.batches_per_epoch)
        if epoch != self._epoch:
            self._epoch, self._perm = epoch, self.permutation(epoch)
        start = (k * self.world_size + self.rank) * self.batch_size
        return self._perm[start : start + self.batch_size]

    def get(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``i`` of the run (0-based, counted over epochs) and its labels [B].

        uint8 images come back as float [B, C, H, W] in [-1, 1]; float data (e.g.
        points [B, 2]) comes back unchanged.
        """
        idx = self._indices(i)
        return _scaled(self.images[idx]), self.labels[idx]

    def get_pair(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Batch ``i`` of aligned pairs: (sources [B, Cs, h, w], targets [B, C, H, W], labels [B]).

        The same images as ``get(i)``, each with its own source; both scaled as ``get`` scales.
        """
        if self.sources is None:
            raise ValueError("get_pair needs the sources of the images: build DeviceBatches with sources=")
        idx = self._indices(i)
        return _scaled(self.sources[idx]), _scaled(self.images[idx]), self.labels[idx]


def _scaled(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]; float data unchanged."""
    if x.dtype == torch.uint8:
        return x.float().div_(127.5).sub_(1.0)
    return x
