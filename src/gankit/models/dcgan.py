"""DCGANs: the tutorial's 28x28 model (``dcgan-28``) and the paper's 32x32 and 64x64 ones.

``dcgan-28``: the tutorial's DCGAN for 28x28 images (MNIST, Fashion-MNIST), corrected.
The tutorial's Keras generator has three stride-2 transposed convolutions after the
7x7 start (7 -> 14 -> 28 -> 56), so it emits 56x56 images that its own 28x28
discriminator cannot take. Two stride-2 layers reach 28x28, as in the TensorFlow
DCGAN tutorial the tutorial follows; the extra 32-channel layer is dropped. Layers
mirror the tutorial: Keras ``padding='same'`` becomes explicit padding, Keras
Dense/Conv defaults (Glorot-uniform kernels, zero biases) are kept, and the
discriminator ends in a raw logit (``Dense(1)``, no sigmoid) so that losses can
be computed stably from logits. Width w (default 64): G 4w/2w/w channels, D w/2w.

``dcgan-32``, ``dcgan-64``: the architecture of Radford et al. 2015. G projects z
to 4x4x8w with a 4x4 transposed convolution, then doubles the resolution with
4x4 stride-2 transposed convolutions + BN + ReLU (8w, 4w, 2w[, w] channels) up
to a final one to C channels and tanh. D halves the resolution with 4x4 stride-2
convolutions + BN + LeakyReLU (w, 2w, 4w[, 8w] channels; no BN on the first,
none at all under spectral norm) down to 4x4, then one logit. Weights are drawn
from N(0, 0.02), BN gammas from N(1, 0.02), as in the paper. w defaults to 64.

Conditioning and spectral norm follow ``gankit.models.layers``.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.models.layers import (
    ConditionalHead,
    CondSequential,
    Dropout,
    MinibatchStd,
    apply_spectral_norm,
    batch_norm,
    class_count,
    generator_labels,
    image_shape,
    require_labels,
)
from gankit.registry import MODELS


def glorot_init(module: nn.Module) -> None:
    """Keras' default initialisation: Glorot-uniform weights, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: weights ~ N(0, 0.02), BN (and InstanceNorm) gamma ~ N(1, 0.02), zero
    biases."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


# ---------------------------------------------------------------------------
# dcgan-28: the tutorial's model
# ---------------------------------------------------------------------------


class Generator28(nn.Module):
    def __init__(self, latent_dim: int = 100, channels: int = 1, slope: float = 0.2, width: int = 64,
                 conditioning: str = "none", num_classes: int = 0):
        super().__init__()
        self.latent_dim = latent_dim
        self.out_shape = (channels, 28, 28)
        self.num_classes = num_classes if conditioning != "none" else 0
        self.label, cbn = generator_labels(conditioning, self.num_classes)
        z_dim = latent_dim + (self.label.dim if self.label is not None else 0)
        c = self.base = 4 * width  # 256 by default
        self.project = CondSequential(  # z [B, z_dim] -> [B, 7*7*4w]
            nn.Linear(z_dim, 7 * 7 * c, bias=False),
            batch_norm(7 * 7 * c, cbn, dim=1),
            nn.LeakyReLU(slope),
        )
        self.upsample = CondSequential(
            # [B, 4w, 7, 7] -> [B, 2w, 7, 7]
            nn.ConvTranspose2d(c, c // 2, 5, stride=1, padding=2, bias=False),
            batch_norm(c // 2, cbn),
            nn.LeakyReLU(slope),
            # -> [B, w, 14, 14]
            nn.ConvTranspose2d(c // 2, c // 4, 5, stride=2, padding=2, output_padding=1, bias=False),
            batch_norm(c // 4, cbn),
            nn.LeakyReLU(slope),
            # -> [B, C, 28, 28] in [-1, 1]
            nn.ConvTranspose2d(c // 4, channels, 5, stride=2, padding=2, output_padding=1, bias=False),
            nn.Tanh(),
        )
        glorot_init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        y = require_labels(y, self.num_classes, "generator")
        if self.label is not None:
            z = self.label(z, y)  # [B, latent + label_dim]
        h = self.project(z, y).view(-1, self.base, 7, 7)
        return self.upsample(h, y)


class Discriminator28(nn.Module):
    def __init__(self, channels: int = 1, slope: float = 0.2, dropout: float = 0.3, width: int = 64,
                 conditioning: str = "none", num_classes: int = 0, spectral_norm: bool = False,
                 minibatch_std: bool = False):
        super().__init__()
        self.features = nn.Sequential(
            # [B, C, 28, 28] -> [B, w, 14, 14]
            nn.Conv2d(channels, width, 5, stride=2, padding=2),
            nn.LeakyReLU(slope),
            Dropout(dropout),
            # -> [B, 2w, 7, 7]
            nn.Conv2d(width, 2 * width, 5, stride=2, padding=2),
            nn.LeakyReLU(slope),
            Dropout(dropout),
            nn.Flatten(),  # -> [B, 2w*49]
            *([MinibatchStd()] if minibatch_std else []),  # -> [B, 2w*49 + 1]
        )
        self.head = ConditionalHead(2 * width * 7 * 7 + minibatch_std, conditioning, num_classes)
        self.conditioning, self.num_classes = conditioning, self.head.num_classes
        glorot_init(self)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return self.head(self.features(x), y)  # logits [B] (ACGAN: and class logits [B, K])


# the model.* keys the DCGANs read (gankit.train.unused); the 28 px one's D also has dropout
DCGAN_SETTINGS = ("width", "latent_dim", "leaky_slope", "spectral_norm", "minibatch_std", "conditioning")


@MODELS.register("dcgan-28", settings=(*DCGAN_SETTINGS, "dropout"),
                 help="the tutorial's DCGAN for 28x28 images (Radford et al. 2015, as the TF tutorial)")
def build_dcgan28(cfg, shape: tuple, num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    channels, _ = image_shape(shape, "dcgan-28", (28,))
    k = class_count(cfg, num_classes, "dcgan-28")
    w = cfg.width or 64
    g = Generator28(cfg.latent_dim, channels, cfg.leaky_slope, w, cfg.conditioning, k)
    d = Discriminator28(channels, cfg.leaky_slope, cfg.dropout, w, cfg.conditioning, k, cfg.spectral_norm,
                        cfg.minibatch_std)
    return g, d


# ---------------------------------------------------------------------------
# dcgan-32, dcgan-64: Radford et al. 2015
# ---------------------------------------------------------------------------


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, channels: int = 3, size: int = 32, width: int = 64,
                 conditioning: str = "none", num_classes: int = 0):
        super().__init__()
        self.latent_dim = latent_dim
        self.out_shape = (channels, size, size)
        self.num_classes = num_classes if conditioning != "none" else 0
        self.label, cbn = generator_labels(conditioning, self.num_classes)
        z_dim = latent_dim + (self.label.dim if self.label is not None else 0)
        c = 8 * width
        layers: list[nn.Module] = [  # [B, z_dim, 1, 1] -> [B, 8w, 4, 4]
            nn.ConvTranspose2d(z_dim, c, 4, stride=1, padding=0, bias=False),
            batch_norm(c, cbn),
            nn.ReLU(),
        ]
        res = 4
        while res * 2 < size:  # [B, c, res, res] -> [B, c/2, 2res, 2res]
            layers += [nn.ConvTranspose2d(c, c // 2, 4, stride=2, padding=1, bias=False), batch_norm(c // 2, cbn),
                       nn.ReLU()]
            c, res = c // 2, res * 2
        # [B, 2w (32x32) or w (64x64), size/2, size/2] -> [B, C, size, size] in [-1, 1]
        layers += [nn.ConvTranspose2d(c, channels, 4, stride=2, padding=1), nn.Tanh()]
        self.net = CondSequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        y = require_labels(y, self.num_classes, "generator")
        if self.label is not None:
            z = self.label(z, y)  # [B, latent + label_dim]
        return self.net(z[:, :, None, None], y)


class DCGANDiscriminator(nn.Module):
    def __init__(self, channels: int = 3, size: int = 32, width: int = 64, slope: float = 0.2,
                 conditioning: str = "none", num_classes: int = 0, spectral_norm: bool = False,
                 minibatch_std: bool = False):
        super().__init__()
        layers: list[nn.Module] = []
        c_in, c, res = channels, width, size
        while res > 4:  # [B, c_in, res, res] -> [B, c, res/2, res/2]
            norm = bool(layers) and not spectral_norm  # no BN on the first layer, none under SN
            layers += [nn.Conv2d(c_in, c, 4, stride=2, padding=1, bias=not norm)]
            layers += [nn.BatchNorm2d(c)] if norm else []
            layers += [nn.LeakyReLU(slope)]
            c_in, c, res = c, 2 * c, res // 2
        layers.append(nn.Flatten())  # [B, 4w or 8w, 4, 4] -> [B, 16 * (4w or 8w)]
        layers += [MinibatchStd()] if minibatch_std else []  # -> [B, 16 * (4w or 8w) + 1]
        self.features = nn.Sequential(*layers)
        # The paper's last layer, a 4x4 valid conv to one channel, is this linear map of the
        # flattened 4x4 features; as a linear layer it also carries the conditioning.
        self.head = ConditionalHead(16 * c_in + minibatch_std, conditioning, num_classes)
        self.conditioning, self.num_classes = conditioning, self.head.num_classes
        dcgan_init(self)
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return self.head(self.features(x), y)  # logits [B] (ACGAN: and class logits [B, K])


def _dcgan_builder(size: int):
    arch = f"dcgan-{size}"

    def build(cfg, shape: tuple, num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
        channels, _ = image_shape(shape, arch, (size,))
        k = class_count(cfg, num_classes, arch)
        w = cfg.width or 64
        g = DCGANGenerator(cfg.latent_dim, channels, size, w, cfg.conditioning, k)
        d = DCGANDiscriminator(channels, size, w, cfg.leaky_slope, cfg.conditioning, k, cfg.spectral_norm,
                               cfg.minibatch_std)
        return g, d

    build.__name__ = f"build_dcgan{size}"
    return build


build_dcgan32 = MODELS.register("dcgan-32", _dcgan_builder(32), settings=DCGAN_SETTINGS,
                                help="DCGAN for 32x32 images, 4x4 stride-2 (transposed) convs (Radford et al. 2015)")
build_dcgan64 = MODELS.register("dcgan-64", _dcgan_builder(64), settings=DCGAN_SETTINGS,
                                help="DCGAN for 64x64 images, 4x4 stride-2 (transposed) convs (Radford et al. 2015)")
