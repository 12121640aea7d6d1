"""``resnet-gen``: CycleGAN's ResNet generator (Johnson et al. 2016; Zhu et al. 2017).

In the papers' notation, with w = ``model.width`` (default 64) and d = ``model.depth``
(default 2) downsamplings:

    c7s1-w, d2w, d4w, R4w x blocks, u2w, uw, c7s1-C

- c7s1-k: reflect padding 3, 7x7 conv to k channels, InstanceNorm, ReLU (the last one
  ends in tanh instead);
- dk: 3x3 stride-2 conv to k channels, InstanceNorm, ReLU (halves the size);
- Rk: a residual block of two reflect-padded 3x3 convs with k channels, InstanceNorm after
  each and ReLU between (``model.blocks`` of them, default 6: the paper's choice for
  128x128 images; 9 for 256x256);
- uk: 3x3 stride-2 transposed conv to k channels, InstanceNorm, ReLU (doubles the size).

Channels double at each downsampling, capped at 8w. InstanceNorm has no affine
parameters and the convs have biases, as in the CycleGAN code. ``depth`` is checked
against the image size as the U-Net's is (``gankit.models.unet.resolve_depth``); the
innermost size must stay at least 2 for the reflect padding. Weights ~ N(0, 0.02),
biases 0, as in CycleGAN.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.models.dcgan import dcgan_init
from gankit.models.unet import check_input, image_pair, level_channels, resolve_depth, same_size
from gankit.registry import MODELS

DEFAULT_WIDTH = 64
DEFAULT_DEPTH = 2
DEFAULT_BLOCKS = 6


def c7s1(c_in: int, c_out: int, last: bool = False) -> nn.Sequential:
    """[B, c_in, H, W] -> [B, c_out, H, W]: reflect pad 3, 7x7 conv, then InstanceNorm-ReLU (or tanh when last)."""
    end = [nn.Tanh()] if last else [nn.InstanceNorm2d(c_out), nn.ReLU()]
    return nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(c_in, c_out, 7), *end)


def down(c_in: int, c_out: int) -> nn.Sequential:
    """[B, c_in, H, W] -> [B, c_out, H/2, W/2]."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.InstanceNorm2d(c_out), nn.ReLU())


def up(c_in: int, c_out: int) -> nn.Sequential:
    """[B, c_in, H, W] -> [B, c_out, 2H, 2W]."""
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1),
                         nn.InstanceNorm2d(c_out), nn.ReLU())


class ResidualBlock(nn.Module):
    """x + F(x), F = two reflect-padded 3x3 convs with InstanceNorm; [B, c, H, W] throughout."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """Source [B, Cs, H, W] -> target [B, Ct, H, W]."""

    def __init__(self, in_shape: tuple[int, ...], out_channels: int, depth: int = DEFAULT_DEPTH,
                 blocks: int = DEFAULT_BLOCKS, width: int = DEFAULT_WIDTH):
        super().__init__()
        self.in_shape = tuple(in_shape)
        self.out_shape = (out_channels, *self.in_shape[1:])
        self.scale, self.size_multiple = 1, 2**depth
        chans = level_channels(width, depth + 1)  # w at full size, then one entry per downsampling
        self.stem = c7s1(self.in_shape[0], width)  # -> [B, w, H, W]
        self.down = nn.Sequential(*(down(chans[i], chans[i + 1]) for i in range(depth)))  # -> [B, c, H/2^d, W/2^d]
        self.blocks = nn.Sequential(*(ResidualBlock(chans[-1]) for _ in range(blocks)))  # same shape
        self.up = nn.Sequential(*(up(chans[i + 1], chans[i]) for i in reversed(range(depth))))  # -> [B, w, H, W]
        self.head = c7s1(width, out_channels, last=True)  # -> [B, Ct, H, W] in [-1, 1]
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_shape[0], self.size_multiple, "resnet-gen")
        return self.head(self.up(self.blocks(self.down(self.stem(x)))))


@MODELS.register("resnet-gen", kind="translation", settings=("depth", "blocks", "width"),
                 help="CycleGAN's ResNet generator: downsampling, residual blocks, upsampling "
                      "(Johnson et al. 2016; Zhu et al. 2017)")
def build_resnet_gen(cfg, source_shape: tuple, target_shape: tuple) -> nn.Module:
    source, target = image_pair(source_shape, target_shape, "resnet-gen")
    same_size(source, target, "resnet-gen")
    depth = resolve_depth(cfg.depth, source[1], source[2], "resnet-gen", DEFAULT_DEPTH, smallest=2)
    return ResnetGenerator(source, target[0], depth, cfg.blocks or DEFAULT_BLOCKS, cfg.width or DEFAULT_WIDTH)
