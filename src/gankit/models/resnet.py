"""``resnet-32``: the ResNet GAN of SNGAN for 32x32 images (Miyato et al. 2018, CIFAR-10).

G (width 256): Linear z -> 4x4x256, three up blocks (4 -> 8 -> 16 -> 32), then
BN-ReLU-Conv3x3(C)-tanh. An up block is BN-ReLU-Upsample-Conv3x3-BN-ReLU-Conv3x3
with an Upsample-Conv1x1 shortcut (nearest-neighbour upsampling by 2).

D (width 128): an optimised first block (Conv3x3-ReLU-Conv3x3-AvgPool, shortcut
AvgPool-Conv1x1; 32 -> 16), a down block (ReLU-Conv3x3-ReLU-Conv3x3-AvgPool,
shortcut Conv1x1-AvgPool; 16 -> 8), two plain blocks (identity shortcut), then
ReLU, a sum over the 8x8 positions and a linear layer to the logit. SNGAN trains
it with spectral norm (``model.spectral_norm``, on in the presets that use it).

``model.width`` w sets D's channels to w and G's to 2w (defaults 128 and 256).
Residual 3x3 convs start Glorot-uniform with gain sqrt(2), shortcuts and the
linear layers with gain 1, biases at zero, as in the SNGAN code. Conditioning
(cgan, acgan, projection with conditional BN in every G block) follows
``gankit.models.layers``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.models.layers import (
    ConditionalHead,
    CondSequential,
    LabelConditioned,
    apply_spectral_norm,
    batch_norm,
    class_count,
    cond_call,
    generator_labels,
    image_shape,
    require_labels,
)
from gankit.registry import MODELS


def _init(layer: nn.Module, gain: float = 1.0) -> nn.Module:
    nn.init.xavier_uniform_(layer.weight, gain)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def conv3x3(c_in: int, c_out: int, gain: float = math.sqrt(2)) -> nn.Conv2d:
    return _init(nn.Conv2d(c_in, c_out, 3, padding=1), gain)


def conv1x1(c_in: int, c_out: int) -> nn.Conv2d:
    return _init(nn.Conv2d(c_in, c_out, 1))


class UpBlock(LabelConditioned):
    """G's residual block: [B, c_in, H, W] -> [B, c_out, 2H, 2W]."""

    def __init__(self, c_in: int, c_out: int, num_classes: int = 0):
        super().__init__()
        self.bn1 = batch_norm(c_in, num_classes)
        self.conv1 = conv3x3(c_in, c_out)
        self.bn2 = batch_norm(c_out, num_classes)
        self.conv2 = conv3x3(c_out, c_out)
        self.shortcut = conv1x1(c_in, c_out)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = F.interpolate(F.relu(cond_call(self.bn1, x, y)), scale_factor=2)  # [B, c_in, 2H, 2W]
        h = self.conv2(F.relu(cond_call(self.bn2, self.conv1(h), y)))  # [B, c_out, 2H, 2W]
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class OptimizedBlock(nn.Module):
    """D's first block: [B, C, H, W] -> [B, c_out, H/2, W/2] (no ReLU before the first conv)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = conv3x3(c_in, c_out)
        self.conv2 = conv3x3(c_out, c_out)
        self.shortcut = conv1x1(c_in, c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(x))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))


class DownBlock(nn.Module):
    """D's residual block: [B, c_in, H, W] -> [B, c_out, H/2, W/2] (``down``) or [B, c_out, H, W]."""

    def __init__(self, c_in: int, c_out: int, down: bool):
        super().__init__()
        self.down = down
        self.conv1 = conv3x3(c_in, c_out)
        self.conv2 = conv3x3(c_out, c_out)
        self.shortcut = conv1x1(c_in, c_out) if down or c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        s = self.shortcut(x)
        if self.down:
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        return h + s


class ResNetGenerator(nn.Module):
    def __init__(self, latent_dim: int = 128, channels: int = 3, width: int = 256, conditioning: str = "none",
                 num_classes: int = 0):
        super().__init__()
        self.latent_dim = latent_dim
        self.out_shape = (channels, 32, 32)
        self.num_classes = num_classes if conditioning != "none" else 0
        self.label, cbn = generator_labels(conditioning, self.num_classes)
        z_dim = latent_dim + (self.label.dim if self.label is not None else 0)
        self.width = width
        self.project = _init(nn.Linear(z_dim, 4 * 4 * width))  # z [B, z_dim] -> [B, 16w]
        # [B, w, 4, 4] -> [B, w, 8, 8] -> [B, w, 16, 16] -> [B, w, 32, 32]
        self.blocks = CondSequential(*(UpBlock(width, width, cbn) for _ in range(3)))
        self.out = CondSequential(  # -> [B, C, 32, 32] in [-1, 1]
            batch_norm(width, cbn), nn.ReLU(), _init(nn.Conv2d(width, channels, 3, padding=1)), nn.Tanh()
        )

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        y = require_labels(y, self.num_classes, "generator")
        if self.label is not None:
            z = self.label(z, y)  # [B, latent + label_dim]
        h = self.project(z).view(-1, self.width, 4, 4)
        return self.out(self.blocks(h, y), y)


class ResNetDiscriminator(nn.Module):
    def __init__(self, channels: int = 3, width: int = 128, conditioning: str = "none", num_classes: int = 0,
                 spectral_norm: bool = False):
        super().__init__()
        self.blocks = nn.Sequential(
            OptimizedBlock(channels, width),  # [B, C, 32, 32] -> [B, w, 16, 16]
            DownBlock(width, width, down=True),  # -> [B, w, 8, 8]
            DownBlock(width, width, down=False),
            DownBlock(width, width, down=False),
        )
        self.head = _init(ConditionalHead(width, conditioning, num_classes))
        self.conditioning, self.num_classes = conditioning, self.head.num_classes
        if spectral_norm:
            apply_spectral_norm(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, ...]:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))  # global sum pooling: [B, w, 8, 8] -> [B, w]
        return self.head(h, y)  # logits [B] (ACGAN: and class logits [B, K])


@MODELS.register("resnet-32", settings=("width", "latent_dim", "spectral_norm", "conditioning"),
                 help="the SNGAN ResNet for 32x32 images, CIFAR-10 (Miyato et al. 2018)")
def build_resnet32(cfg, shape: tuple, num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    channels, _ = image_shape(shape, "resnet-32", (32,))
    k = class_count(cfg, num_classes, "resnet-32")
    w = cfg.width or 128
    g = ResNetGenerator(cfg.latent_dim, channels, 2 * w, cfg.conditioning, k)
    d = ResNetDiscriminator(channels, w, cfg.conditioning, k, cfg.spectral_norm)
    return g, d
