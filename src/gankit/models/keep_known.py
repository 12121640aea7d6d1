"""``model.keep_known``: a translation generator that fills only the holes of its input.

Inpainting's known pixels are given: the context encoder (Pathak et al. 2016) and the
global-and-local completion network (Iizuka et al. 2017) paste them back over the
network's output, so the model is judged, by its losses, its discriminator and its
metrics, only on what it fills in. ``KeepKnown`` does that around any same-size
translation generator:

    out = where(hole, G(x), x)      x, out [B, C, H, W]; hole [B, 1, H, W]

A pixel is in the hole when every channel is mid grey (``HOLE_VALUE``, as
``pair.degradation=inpaint`` makes them) to within one 8-bit level, so a hole painted
in a PNG (value 127 or 128) counts too. The wrapper has no weights of its own: the
saved generator's tensors are the inner network's, under ``net.``.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.unet import carry_attributes

HOLE_VALUE = 0.0  # an inpainting hole is mid grey in [-1, 1] pixel units
HOLE_TOLERANCE = 1 / 127.5  # one 8-bit level in [-1, 1] units: 127 and 128 of 255 are mid grey


def holes(x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> bool [B, 1, H, W]: True where every channel is mid grey."""
    return (x - HOLE_VALUE).abs().le(HOLE_TOLERANCE).all(dim=1, keepdim=True)


class KeepKnown(nn.Module):
    """Source [B, C, H, W] -> [B, C, H, W]: ``net``'s output in the holes, the source elsewhere."""

    def __init__(self, net: nn.Module):
        super().__init__()
        if tuple(net.in_shape) != tuple(net.out_shape):
            raise ConfigError(f"model.keep_known keeps the source's pixels in the output, but the source is "
                              f"{tuple(net.in_shape)} and the output {tuple(net.out_shape)}: it needs images of "
                              "the same channels and size (inpainting); set model.keep_known=false")
        self.net = net
        carry_attributes(self, net)

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        out = self.net(x) if z is None else self.net(x, z)  # [B, C, H, W]
        return torch.where(holes(x), out, x.to(out.dtype))
