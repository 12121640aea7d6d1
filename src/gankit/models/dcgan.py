"""The seed's DCGAN for 28x28 images (MNIST, Fashion-MNIST), corrected.

The seed's Keras generator has three stride-2 transposed convolutions after the
7x7 start (7 -> 14 -> 28 -> 56), so it emits 56x56 images that its own 28x28
discriminator cannot take. Two stride-2 layers reach 28x28, as in the TensorFlow
DCGAN tutorial the seed follows; the extra 32-channel layer is dropped.

Layers mirror the seed: Keras ``padding='same'`` becomes explicit padding, Keras
Dense/Conv defaults (Glorot-uniform kernels, zero biases) are kept, and the
discriminator ends in a raw logit (``Dense(1)``, no sigmoid) so that losses can
be computed stably from logits.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.registry import MODELS


def glorot_init(module: nn.Module) -> None:
    """Keras' default initialisation: Glorot-uniform weights, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class Generator28(nn.Module):
    def __init__(self, latent_dim: int = 100, channels: int = 1, slope: float = 0.2):
        super().__init__()
        self.latent_dim = latent_dim
        self.out_shape = (channels, 28, 28)
        self.project = nn.Sequential(  # z [B, latent] -> [B, 7*7*256]
            nn.Linear(latent_dim, 7 * 7 * 256, bias=False),
            nn.BatchNorm1d(7 * 7 * 256),
            nn.LeakyReLU(slope),
        )
        self.upsample = nn.Sequential(
            # [B, 256, 7, 7] -> [B, 128, 7, 7]
            nn.ConvTranspose2d(256, 128, 5, stride=1, padding=2, bias=False),
            nn.BatchNorm2d(128),
            nn.LeakyReLU(slope),
            # -> [B, 64, 14, 14]
            nn.ConvTranspose2d(128, 64, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.LeakyReLU(slope),
            # -> [B, C, 28, 28] in [-1, 1]
            nn.ConvTranspose2d(64, channels, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.Tanh(),
        )
        glorot_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(-1, 256, 7, 7)
        return self.upsample(h)


class Discriminator28(nn.Module):
    def __init__(self, channels: int = 1, slope: float = 0.2, dropout: float = 0.3):
        super().__init__()
        self.features = nn.Sequential(
            # [B, C, 28, 28] -> [B, 64, 14, 14]
            nn.Conv2d(channels, 64, 5, stride=2, padding=2),
            nn.LeakyReLU(slope),
            nn.Dropout(dropout),
            # -> [B, 128, 7, 7]
            nn.Conv2d(64, 128, 5, stride=2, padding=2),
            nn.LeakyReLU(slope),
            nn.Dropout(dropout),
            nn.Flatten(),  # -> [B, 6272]
        )
        self.head = nn.Linear(128 * 7 * 7, 1)
        glorot_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)  # [B] logits


@MODELS.register("dcgan-28", help="the seed's DCGAN for 28x28 images (Radford et al. 2015, as the TF tutorial)")
def build_dcgan28(cfg, shape: tuple[int, int, int]) -> tuple[nn.Module, nn.Module]:
    channels, height, width = shape
    if (height, width) != (28, 28):
        raise ConfigError(f"model dcgan-28 makes 28x28 images, but the dataset's are {height}x{width}")
    g = Generator28(cfg.latent_dim, channels, cfg.leaky_slope)
    d = Discriminator28(channels, cfg.leaky_slope, cfg.dropout)
    return g, d
