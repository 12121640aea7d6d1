"""``model.noise_channels``: a stochastic translation generator, noise z beside the source.

A deterministic translator gives one output per input. Where the input leaves the target
open (the hue a grey digit had, the stroke a hole hid) it can only give one guess, the
same for every such input. ``NoiseInput`` gives any translation generator k more input
channels holding z ~ N(0, I) [B, k], each value repeated over the image (BicycleGAN's
noise input, Zhu et al. 2017):

    out = net(cat(x, z[:, :, None, None].expand(B, k, h, w)))    x [B, Cs, h, w]

Constant planes keep the network fully convolutional and give every tile of an image the
same z, so a large image translated in tiles stays one sample. Left to the pixel loss,
G learns to ignore z (Isola et al. 2017 found the same of dropout noise);
``translate.diversity_weight`` gives it a reason not to (the mode-seeking term of Mao et
al. 2019, train/paired_step.py).

The wrapper has no weights of its own: the saved generator's tensors are the inner
network's, under ``net.``, and the inner network is built for Cs + k input channels.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.unet import carry_attributes


class NoiseInput(nn.Module):
    """Source [B, Cs, h, w] (and z [B, k], else drawn from the global RNG) -> ``net``'s output."""

    def __init__(self, net: nn.Module, channels: int):
        super().__init__()
        if channels < 1 or net.in_shape[0] <= channels:
            raise ConfigError(f"model.noise_channels={channels}: the network must be built for the source's channels "
                              f"plus the noise's, and it takes {net.in_shape[0]} channels")
        self.net = net
        carry_attributes(self, net)
        self.noise_channels = int(channels)
        c, h, w = net.in_shape
        self.in_shape = (c - self.noise_channels, h, w)  # what callers give: the source alone

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if z is None:
            z = torch.randn(x.shape[0], self.noise_channels, device=x.device)
        tracing = torch.jit.is_tracing() or torch.compiler.is_compiling()
        if not tracing and (z.dim() != 2 or tuple(z.shape) != (x.shape[0], self.noise_channels)):
            raise ValueError(f"z must be [B, {self.noise_channels}] for sources [B, ...], got z {list(z.shape)} and "
                             f"sources {list(x.shape)}")
        planes = z.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[-2:])  # [B, k, h, w]
        return self.net(torch.cat([x, planes], dim=1))  # [B, Cs + k, h, w] -> [B, Ct, H, W]


def noise_channels(G: nn.Module) -> int:
    """The noise channels a translation generator takes (0: deterministic), through DDP and wrappers."""
    return int(getattr(getattr(G, "module", G), "noise_channels", 0))


def noise_for(G: nn.Module, batch: int, generator: torch.Generator) -> torch.Tensor | None:
    """z [batch, k] ~ N(0, I) from ``generator`` for a generator that takes noise; None for one that does not."""
    k = noise_channels(G)
    return torch.randn(batch, k, generator=generator, device=generator.device) if k else None


def translate(G: nn.Module, x: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
    """G(x), with z where G takes noise (``z`` None: drawn from the global RNG) and alone where it does not."""
    return G(x, z) if z is not None and noise_channels(G) else G(x)
