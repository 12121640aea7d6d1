"""Batches from a dataset that lives whole on the training device.

MNIST-sized datasets fit in a few dozen MB as uint8, so they are kept on the
device and batches are gathered by index: no DataLoader, no worker processes, no
host-to-device copy per step. The order is a permutation per epoch drawn from
(seed, epoch) alone, so the batch of any step can be recomputed after a resume
without saving any data-loader state.

Image data is stored as uint8 and scaled to [-1, 1] per batch; float data (the
2-D points of the toy datasets) is already in model units and is returned as is.
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
    ):
        n = images.shape[0]
        global_batch = batch_size * world_size
        if global_batch > n:
            raise ConfigError(
                f"train.batch_size={batch_size} x {world_size} process(es) is larger than the dataset ({n} images)"
            )
        self.images, self.labels = images, labels
        self.batch_size, self.seed = batch_size, seed
        self.rank, self.world_size = rank, world_size
        # Every rank walks the same permutation and takes its own slice of each
        # global batch; the last partial global batch of an epoch is dropped.
        self.batches_per_epoch = n // global_batch
        self._epoch = -1
        self._perm = torch.empty(0)

    def permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.images.shape[0], generator=g).to(self.images.device)

    def get(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch ``i`` of the run (0-based, counted over epochs) and its labels [B].

        uint8 images come back as float [B, C, H, W] in [-1, 1]; float data (e.g.
        points [B, 2]) comes back unchanged.
        """
        epoch, k = divmod(i, self.batches_per_epoch)
        if epoch != self._epoch:
            self._epoch, self._perm = epoch, self.permutation(epoch)
        start = (k * self.world_size + self.rank) * self.batch_size
        idx = self._perm[start : start + self.batch_size]
        x = self.images[idx]
        if x.dtype == torch.uint8:
            x = x.float().div_(127.5).sub_(1.0)  # uint8 [0, 255] -> [-1, 1]
        return x, self.labels[idx]
