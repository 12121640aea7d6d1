"""Translation data on the training device: (source, target) batches by index.

``pair.kind`` says where the pairs come from (gankit.data.degrade, gankit.data.pairs):
  degrade    the run's dataset gives the targets; each batch's sources are made from
             them on the device by the degradation, with the Trainer's noise generator,
             so a resumed run draws the same pairs
  aligned    pairs read from data.root (side by side, or A/ and B/ folders)
  unpaired   two datasets: domain A (the sources) and domain B (the ``reals``), each in
             its own order; one epoch is a pass over the smaller
"""

from __future__ import annotations

import torch

from gankit.config import Config
from gankit.data import degrade as D
from gankit.data import load_dataset
from gankit.data import pairs as P
from gankit.data.batches import DeviceBatches
from gankit.errors import ConfigError

Tensor = torch.Tensor
# where folders of images get their classes, for the errors of options that need labels
LABELS_HINT = "folders of images get classes from their subfolders with data.labels_from_folders=true"


class PairedBatches:
    def __init__(self, cfg: Config, device: torch.device, rank: int = 0, world_size: int = 1):
        self.cfg = cfg
        self.kind = cfg.pair.kind
        self.rank, self.world_size = rank, world_size
        split, b, seed = cfg.data.split, cfg.train.batch_size, cfg.train.seed
        n = cfg.data.subset
        self.data_b = None
        if self.kind == "degrade":
            self.data = load_dataset(cfg.data, split, device)
            self.batches = DeviceBatches(self.data.images[:n], self.data.labels[:n], b, seed, rank, world_size)
            self.source_shape, self.target_shape = D.pair_shapes(cfg.pair, self.data.shape)
        elif self.kind == "aligned":
            self.data = P.load_aligned(cfg.data, cfg.pair, split, device)
            self.batches = DeviceBatches(self.data.images[:n], self.data.labels[:n], b, seed, rank, world_size,
                                         sources=self.data.sources[:n])
            self.source_shape, self.target_shape = tuple(self.data.sources.shape[1:]), self.data.shape
        elif self.kind == "unpaired":
            self.data, self.data_b = P.load_unpaired(cfg.data, cfg.pair, split, device)
            self.batches = DeviceBatches(self.data.images[:n], self.data.labels[:n], b, seed, rank, world_size)
            # domain B walks its own order (another seed), so the two domains are not paired by position
            self.batches_b = DeviceBatches(self.data_b.images, self.data_b.labels, b, seed + 1, rank, world_size)
            self.source_shape = _with_channels(self.data.shape, cfg.pair.source_channels)
            self.target_shape = _with_channels(self.data_b.shape, cfg.pair.target_channels)
        else:
            raise ConfigError(f"model {cfg.model.arch} translates images: set pair.kind to degrade, aligned or "
                              "unpaired (and pair.degradation, or the pairs' folders)")
        self.num_classes = self._shared_classes(cfg) if self.kind == "unpaired" else self._target_classes(cfg)

    def _target_classes(self, cfg: Config) -> int:
        """A paired run's classes: the targets', where D projects them (translate.class_projection), else 0."""
        if not cfg.translate.class_projection:
            return 0
        if not self.data.num_classes:
            hint = ("aligned pairs carry none" if self.kind == "aligned" else
                    f"{self.data.name} has none ({LABELS_HINT})")
            raise ConfigError("translate.class_projection=true judges each output with its target's class, "
                              f"which needs labels, and {hint}; set translate.class_projection=false")
        return self.data.num_classes

    def _shared_classes(self, cfg: Config) -> int:
        """The classes that tie domain A's class k to domain B's class k (translate.class_weight,
        translate.class_projection): both domains', which must agree; 0 when neither is on."""
        t = cfg.translate
        used = [(f"translate.class_weight={t.class_weight}", "translate.class_weight=0")] if t.class_weight else []
        used += [("translate.class_projection=true", "translate.class_projection=false")] if t.class_projection else []
        if not used:
            return 0
        keys, off = (" and ".join(settings) for settings in zip(*used))  # what is on, and how to turn it off
        k_a, k_b = self.data.num_classes, self.data_b.num_classes
        if not k_a or k_a != k_b:
            raise ConfigError(f"{keys} maps class k of domain A to class k of domain B, so both need labels with "
                              f"one number of classes: A ({self.data.name}) has {k_a}, B ({self.data_b.name}) has "
                              f"{k_b}; set {off} ({LABELS_HINT})")
        return k_a

    def _used(self, labels: Tensor) -> Tensor | None:
        """A paired batch's classes where D projects them, else None (nothing to copy or capture)."""
        return labels if self.num_classes else None

    @property
    def batches_per_epoch(self) -> int:
        if self.kind == "unpaired":
            return min(self.batches.batches_per_epoch, self.batches_b.batches_per_epoch)
        return self.batches.batches_per_epoch

    @property
    def num_samples(self) -> int:
        return self.batches.images.shape[0]

    def get(self, i: int, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """Batch i's (source [B, Cs, h, w], target [B, Ct, H, W]) in [-1, 1], and their classes int64 [B]
        where a step uses them (unpaired: the source's and the target's; paired: the target's alone, for
        D's class projection), else None."""
        pair = self.cfg.pair
        if self.kind == "degrade":
            x, y = self.batches.get(i)
            # this rank's slice of the global batch, degraded as one process with that batch would
            return (*D.degrade(x, pair, generator, part=(self.rank, self.world_size)), None, self._used(y))
        if self.kind == "aligned":
            source, target, y = self.batches.get_pair(i)
            return (_channels(source, pair.source_channels), _channels(target, pair.target_channels), None,
                    self._used(y))
        a, y_a = self.batches.get(i)
        b, y_b = self.batches_b.get(i)
        return _channels(a, pair.source_channels), _channels(b, pair.target_channels), y_a, y_b

    def fixed(self, n: int, seed: int) -> tuple[Tensor, Tensor | None]:
        """The first n training pairs, for the epoch pictures: (sources, targets; None when unpaired).
        Degradations draw from a CPU generator of ``seed``, so the pictures are the same on every device."""
        pair = self.cfg.pair
        images = self.batches.images[:n]
        x = images.float().div(127.5).sub(1.0) if images.dtype == torch.uint8 else images
        if self.kind == "degrade":
            source, target = D.degrade(x.cpu(), pair, torch.Generator().manual_seed(seed))
            return source.to(x.device), target.to(x.device)
        if self.kind == "aligned":
            source = self.batches.sources[:n].float().div(127.5).sub(1.0)
            return _channels(source, pair.source_channels), _channels(x, pair.target_channels)
        return _channels(x, pair.source_channels), None


def _channels(x: Tensor, channels: int | None) -> Tensor:
    return x if channels is None or x.shape[1] == channels else D.to_channels(x, channels)


def _with_channels(shape: tuple[int, ...], channels: int | None) -> tuple[int, ...]:
    return shape if channels is None else (channels, *shape[1:])
