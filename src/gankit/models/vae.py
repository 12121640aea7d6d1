"""``vae``: the variational autoencoder of Kingma & Welling 2014, the baseline GANs are compared with.

The builder returns ``(decoder, encoder)`` in the places of (G, D):

- ``Decoder`` is a generator: ``latent_dim``, ``out_shape``, ``num_classes`` = 0 and
  ``forward(z [B, latent], y=None) -> [B, C, H, W]`` in [-1, 1], so sampling a VAE
  is sampling a GAN: z ~ N(0, I) through the decoder.
- ``Encoder``: ``forward(x) -> (mu [B, latent], logvar [B, latent])``, the mean and
  log-variance of the Gaussian posterior q(z | x).

Both are DCGAN-shaped, width w (default 32), for 28x28 and 32x32 images, C from
the data: the encoder halves the resolution with 4x4 stride-2 convs (w, 2w[, 4w]
channels; 28 -> 14 -> 7, 32 -> 16 -> 8 -> 4) then maps to (mu, logvar) linearly;
the decoder mirrors it with transposed convs and ends in tanh. Neither has batch
norm: the ELBO is a sum of per-image terms, which batch statistics would couple.

``gankit.losses.elbo_loss(decoder, encoder, x)`` is the negative ELBO that trains them.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.layers import image_shape
from gankit.registry import MODELS

SIZES = {28: (7, 2), 32: (4, 3)}  # image size -> (resolution of the smallest feature map, stride-2 layers)


class Encoder(nn.Module):
    def __init__(self, latent_dim: int = 100, channels: int = 1, size: int = 28, width: int = 32,
                 slope: float = 0.2):
        super().__init__()
        self.latent_dim = latent_dim
        res, n = SIZES[size]
        layers: list[nn.Module] = []
        c_in, c = channels, width
        for _ in range(n):  # [B, c_in, r, r] -> [B, c, r/2, r/2]
            layers += [nn.Conv2d(c_in, c, 4, stride=2, padding=1), nn.LeakyReLU(slope)]
            c_in, c = c, 2 * c
        layers.append(nn.Flatten())  # [B, c_in, res, res] -> [B, c_in*res*res]
        self.features = nn.Sequential(*layers)
        self.posterior = nn.Linear(c_in * res * res, 2 * latent_dim)  # -> [B, 2*latent]: mu, logvar

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.posterior(self.features(x)).chunk(2, dim=1)
        return mu, logvar  # [B, latent] each


class Decoder(nn.Module):
    def __init__(self, latent_dim: int = 100, channels: int = 1, size: int = 28, width: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.out_shape = (channels, size, size)
        self.num_classes = 0
        res, n = SIZES[size]
        self.start = (width * 2 ** (n - 1), res, res)  # 2w x 7 x 7 or 4w x 4 x 4
        c = self.start[0]
        self.project = nn.Sequential(nn.Linear(latent_dim, c * res * res), nn.ReLU())  # z -> [B, c*res*res]
        layers: list[nn.Module] = []
        for _ in range(n - 1):  # [B, c, r, r] -> [B, c/2, 2r, 2r]
            layers += [nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1), nn.ReLU()]
            c //= 2
        layers += [nn.ConvTranspose2d(c, channels, 4, stride=2, padding=1), nn.Tanh()]  # -> [B, C, size, size]
        self.upsample = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.upsample(self.project(z).view(-1, *self.start))


@MODELS.register("vae", kind="likelihood", settings=("width", "latent_dim", "leaky_slope"),
                 help="variational autoencoder baseline, returns (decoder, encoder) (Kingma & Welling 2014)")
def build_vae(cfg, shape: tuple, num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    channels, size = image_shape(shape, "vae", tuple(SIZES))
    if cfg.conditioning != "none":
        raise ConfigError(f"model vae is unconditional: model.conditioning must be none, not {cfg.conditioning}")
    if cfg.spectral_norm:
        raise ConfigError("model vae has no discriminator: model.spectral_norm must be false")
    w = cfg.width or 32
    decoder = Decoder(cfg.latent_dim, channels, size, w)
    encoder = Encoder(cfg.latent_dim, channels, size, w, cfg.leaky_slope)
    return decoder, encoder
