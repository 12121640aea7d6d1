"""Fully connected GANs (Goodfellow et al. 2014): ``mlp``, for images and for 2-D points.

Images (C, H, W), width w (default 256):
    G: z -> w -> 2w -> 4w (256, 512, 1024), LeakyReLU, -> C*H*W, tanh, reshaped
    D: C*H*W -> 2w -> w (512, 256), LeakyReLU + dropout(model.dropout), -> 1 logit

Points (d,), e.g. the 2-D rings and grids of VEEGAN (Srivastava et al. 2017) and
PacGAN (Lin et al. 2018); width w (default 128), three hidden layers each:
    G: z -> w -> w -> w, ReLU, -> d, linear output (points are unbounded)
    D: d -> w -> w -> w, LeakyReLU, -> 1 logit (no dropout, as in those papers)

Neither G has batch norm, so projection conditioning (which swaps G's batch norm
for conditional batch norm) gives G the concatenated label embedding of cgan; its
D is the projection D all the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.layers import (
    ConditionalHead,
    Dropout,
    MinibatchStd,
    apply_spectral_norm,
    class_count,
    generator_labels,
    require_labels,
)
from gankit.registry import MODELS


class MLPGenerator(nn.Module):
    def __init__(self, latent_dim: int, out_shape: tuple, hidden: list[int], act: Callable[[], nn.Module], tanh: bool,
                 conditioning: str = "none", num_classes: int = 0):
        super().__init__()
        self.latent_dim = latent_dim
        self.out_shape = tuple(out_shape)
        self.num_classes = num_classes if conditioning != "none" else 0
        self.label, _ = generator_labels(conditioning, self.num_classes, has_batch_norm=False)
        sizes = [latent_dim + (self.label.dim if self.label is not None else 0), *hidden]
        layers: list[nn.Module] = []
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), act()]
        layers.append(nn.Linear(sizes[-1], math.prod(self.out_shape)))
        if tanh:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        y = require_labels(y, self.num_classes, "generator")
        if self.label is not None:
            z = self.label(z, y)  # [B, latent + label_dim]
        return self.net(z).view(-1, *self.out_shape)  # [B, prod(shape)] -> [B, *shape]


class MLPDiscriminator(nn.Module):
    def __init__(self, in_shape: tuple, hidden: list[int], act: Callable[[], nn.Module], dropout: float = 0.0,
                 conditioning: str = "none", num_classes: int = 0, spectral_norm: bool = False,
                 minibatch_std: bool = False):
        super().__init__()
        sizes = [math.prod(in_shape), *hidden]
        layers: list[nn.Module] = [nn.Flatten()]  # [B, *shape] -> [B, prod(shape)]
        for a, b in zip(sizes, sizes[1:]):
            layers += [nn.Linear(a, b), act()] + ([Dropout(dropout)] if dropout else [])
        layers += [MinibatchStd()] if minibatch_std else []  # -> h [B, hidden[-1] (+ 1)]
        self.features = nn.Sequential(*layers)
        self.head = ConditionalHead(sizes[-1] + minibatch_std, conditioning, num_classes)
        self.conditioning, self.num_classes = conditioning, self.head.num_classes
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return self.head(self.features(x), y)  # logits [B] (ACGAN: and class logits [B, K])


# the model.* keys the mlp reads on 2-D points (gankit.train.unused); on images its D also has dropout
POINTS_SETTINGS = ("width", "latent_dim", "leaky_slope", "spectral_norm", "minibatch_std", "conditioning")


@MODELS.register("mlp", settings=(*POINTS_SETTINGS, "dropout"), points_settings=POINTS_SETTINGS,
                 help="fully connected G and D for images or 2-D points (Goodfellow et al. 2014)")
def build_mlp(cfg, shape: tuple, num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (1, 3) or min(shape, default=0) < 1:
        raise ConfigError(f"model mlp makes images (C, H, W) or points (d,), but the dataset's shape is {shape}")
    k = class_count(cfg, num_classes, "mlp")
    c = cfg.conditioning
    leaky = partial(nn.LeakyReLU, cfg.leaky_slope)
    if len(shape) == 1:  # points: 3 hidden layers of w units
        w = cfg.width or 128
        g = MLPGenerator(cfg.latent_dim, shape, [w] * 3, nn.ReLU, False, c, k)
        d = MLPDiscriminator(shape, [w] * 3, leaky, 0.0, c, k, cfg.spectral_norm, cfg.minibatch_std)
    else:
        w = cfg.width or 256
        g = MLPGenerator(cfg.latent_dim, shape, [w, 2 * w, 4 * w], leaky, True, c, k)
        d = MLPDiscriminator(shape, [2 * w, w], leaky, cfg.dropout, c, k, cfg.spectral_norm, cfg.minibatch_std)
    return g, d
