"""PacGAN packing (Lin et al. 2018): D judges m samples at once.

m samples of the same kind (all real or all fake) are concatenated along the
channel axis (images [B, C, H, W] -> [B/m, m*C, H, W]; points [B, 2] -> [B/m, 2m])
and D, built for m times the channels, returns one logit per pack. A generator
that collapses onto few modes makes packs that look alike, which real packs do
not, so D can penalise the collapse that it cannot see one sample at a time.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError


def packed_shape(shape: tuple, m: int) -> tuple:
    """The shape D is built for: m times the channels (or point coordinates)."""
    return (shape[0] * m, *shape[1:])


class Packed(nn.Module):
    def __init__(self, D: nn.Module, m: int):
        super().__init__()
        if getattr(D, "conditioning", "none") != "none":
            raise ConfigError("model.pack > 1 works with unconditional models only (model.conditioning=none)")
        self.D, self.m = D, m

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        b = x.shape[0]
        if b % self.m:
            raise ConfigError(f"train.batch_size={b} must be a multiple of model.pack={self.m}")
        # [B, C, ...] -> [B/m, m, C, ...] -> [B/m, m*C, ...]: consecutive samples form a pack
        return self.D(x.reshape(b // self.m, self.m * x.shape[1], *x.shape[2:]))
