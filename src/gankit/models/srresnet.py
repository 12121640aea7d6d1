"""Super-resolution generators: ``srresnet`` (SRGAN, Ledig et al. 2017) and ``rrdb`` (ESRGAN, Wang et al. 2018).

Both upsample by the factor target size / source size, 1, 2 or 4 (``SCALES``), with
log2(factor) blocks of conv -> PixelShuffle(2) (sub-pixel convolution, Shi et al. 2016)
-> activation. With factor 1 they are plain restoration networks at full resolution
(denoising, inpainting, colorization). They have no stride: any input size works
(``size_multiple`` 1). Both end in tanh, so outputs are in [-1, 1] like every image in
gankit.

``srresnet``, small (w = ``model.width``, default 32; ``model.blocks`` B, default 8; the
paper has 64 and 16): 9x9 conv to w + PReLU; B residual blocks conv3x3-BN-PReLU-conv3x3-BN;
conv3x3-BN, plus a global skip from the first conv's output; the upsampling blocks
(conv3x3 to 4w, PixelShuffle(2), PReLU); a 9x9 conv to the target's channels; tanh.
Convs followed by BatchNorm have no bias. The paper does not state its initialisation:
convs are He-normal (He et al. 2015, who introduced PReLU and its initialisation).

``rrdb``, small (w = ``model.width``, default 32, growth w/2; ``model.blocks`` RRDBs, default
4; the paper has 64, 32 and 23): a 3x3 conv to w; RRDBs, each three dense blocks inside a
residual connection; a 3x3 conv, plus a global skip; the upsampling blocks (conv3x3 to 4w,
PixelShuffle(2), LeakyReLU); conv3x3 + LeakyReLU; a 3x3 conv to the target's channels;
tanh. A dense block has five 3x3 convs, each taking every earlier output concatenated
(growth channels each, the last back to w), LeakyReLU ``model.leaky_slope`` after the first
four. No BatchNorm. Every residual branch is scaled by 0.2 before it is added (residual
scaling), and dense-block convs start He-normal scaled by 0.1, the paper's smaller
initialisation that makes the deep residual stack trainable; other convs are He-normal.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.unet import check_input, image_pair
from gankit.registry import MODELS

SCALES = (1, 2, 4)
DEFAULT_WIDTH = 32
SRRESNET_BLOCKS = 8
RRDB_BLOCKS = 4
DENSE_BLOCKS = 3  # per RRDB
DENSE_CONVS = 5  # per dense block
RESIDUAL_SCALE = 0.2
DENSE_INIT_SCALE = 0.1


def upscale_factor(source: tuple[int, ...], target: tuple[int, ...], arch: str) -> int:
    """target size / source size, one of ``SCALES`` on both axes, else a ConfigError."""
    (_, h, w), (_, H, W) = source, target
    factor = H // h if h and H % h == 0 else 0
    if factor not in SCALES or W != factor * w:
        raise ConfigError(f"model {arch} upsamples by 1, 2 or 4, but the target is {H}x{W} and the source {h}x{w}: "
                          "choose pair.degradation sr2 or sr4, or sources of the target's size")
    return factor


def he_init(module: nn.Module, gain: float = 1.0) -> None:
    """He-normal conv weights (fan in, for ReLU-like activations) times ``gain``, zero biases."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
            m.weight.data.mul_(gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def conv3x3(c_in: int, c_out: int, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias)


def upsampler(width: int, factor: int, act: Callable[[], nn.Module]) -> nn.Sequential:
    """[B, w, H, W] -> [B, w, factor H, factor W]: log2(factor) x (conv3x3 to 4w, PixelShuffle(2), act())."""
    layers: list[nn.Module] = []
    for _ in range(int(math.log2(factor))):
        # [B, w, H, W] -> [B, 4w, H, W] -> [B, w, 2H, 2W]
        layers += [conv3x3(width, 4 * width), nn.PixelShuffle(2), act()]
    return nn.Sequential(*layers)


class TranslatorShapes(nn.Module):
    """The attributes of a translation generator at upscaling ``factor``."""

    def __init__(self, in_shape: tuple[int, ...], out_channels: int, factor: int):
        super().__init__()
        self.in_shape = tuple(in_shape)
        self.out_shape = (out_channels, factor * self.in_shape[1], factor * self.in_shape[2])
        self.scale, self.size_multiple = factor, 1


# ---------------------------------------------------------------------------
# srresnet: SRGAN's generator
# ---------------------------------------------------------------------------


class SRBlock(nn.Module):
    """x + (conv3x3-BN-PReLU-conv3x3-BN)(x); [B, w, H, W] throughout."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(conv3x3(width, width, bias=False), nn.BatchNorm2d(width), nn.PReLU(),
                                  conv3x3(width, width, bias=False), nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class SRResNet(TranslatorShapes):
    """Source [B, Cs, h, w] -> target [B, Ct, factor h, factor w]."""

    def __init__(self, in_shape: tuple[int, ...], out_channels: int, factor: int = 1, width: int = DEFAULT_WIDTH,
                 blocks: int = SRRESNET_BLOCKS):
        super().__init__(in_shape, out_channels, factor)
        self.stem = nn.Sequential(nn.Conv2d(self.in_shape[0], width, 9, padding=4), nn.PReLU())  # -> [B, w, h, w]
        self.blocks = nn.Sequential(*(SRBlock(width) for _ in range(blocks)),
                                    conv3x3(width, width, bias=False), nn.BatchNorm2d(width))  # same shape
        self.upsample = upsampler(width, factor, nn.PReLU)  # -> [B, w, H, W]
        self.head = nn.Sequential(nn.Conv2d(width, out_channels, 9, padding=4), nn.Tanh())  # -> [B, Ct, H, W]
        he_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_shape[0], 1, "srresnet")
        h = self.stem(x)
        return self.head(self.upsample(h + self.blocks(h)))  # the global skip around the residual blocks


@MODELS.register("srresnet", kind="translation", settings=("width", "blocks"),
                 help="SRGAN's generator: residual blocks, PixelShuffle upsampling by 1, 2 or 4 (Ledig et al. 2017)")
def build_srresnet(cfg, source_shape: tuple, target_shape: tuple) -> nn.Module:
    source, target = image_pair(source_shape, target_shape, "srresnet")
    factor = upscale_factor(source, target, "srresnet")
    return SRResNet(source, target[0], factor, cfg.width or DEFAULT_WIDTH, cfg.blocks or SRRESNET_BLOCKS)


# ---------------------------------------------------------------------------
# rrdb: ESRGAN's generator
# ---------------------------------------------------------------------------


class DenseBlock(nn.Module):
    """x + 0.2 * conv5([x, y1, y2, y3, y4]), y_k = LeakyReLU(conv_k([x, y1, ..., y_{k-1}])); [B, w, H, W] throughout."""

    def __init__(self, width: int, growth: int, slope: float = 0.2):
        super().__init__()
        # conv k takes w + k * growth channels; the last returns to w
        self.convs = nn.ModuleList(
            conv3x3(width + k * growth, growth if k < DENSE_CONVS - 1 else width) for k in range(DENSE_CONVS)
        )
        self.act = nn.LeakyReLU(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in self.convs[:-1]:
            feats.append(self.act(conv(torch.cat(feats, dim=1))))  # + [B, growth, H, W]
        return x + RESIDUAL_SCALE * self.convs[-1](torch.cat(feats, dim=1))


class RRDB(nn.Module):
    """Residual in residual dense block: x + 0.2 * (three dense blocks)(x); [B, w, H, W] throughout."""

    def __init__(self, width: int, growth: int, slope: float = 0.2):
        super().__init__()
        self.body = nn.Sequential(*(DenseBlock(width, growth, slope) for _ in range(DENSE_BLOCKS)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALE * self.body(x)


class RRDBNet(TranslatorShapes):
    """Source [B, Cs, h, w] -> target [B, Ct, factor h, factor w]."""

    def __init__(self, in_shape: tuple[int, ...], out_channels: int, factor: int = 1, width: int = DEFAULT_WIDTH,
                 blocks: int = RRDB_BLOCKS, slope: float = 0.2):
        super().__init__(in_shape, out_channels, factor)
        growth = max(1, width // 2)
        self.stem = conv3x3(self.in_shape[0], width)  # -> [B, w, h, w]
        self.blocks = nn.Sequential(*(RRDB(width, growth, slope) for _ in range(blocks)), conv3x3(width, width))
        self.upsample = upsampler(width, factor, lambda: nn.LeakyReLU(slope))  # -> [B, w, H, W]
        self.head = nn.Sequential(conv3x3(width, width), nn.LeakyReLU(slope),
                                  conv3x3(width, out_channels), nn.Tanh())  # -> [B, Ct, H, W]
        he_init(self)
        for block in self.blocks.modules():
            if isinstance(block, DenseBlock):
                he_init(block, DENSE_INIT_SCALE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_shape[0], 1, "rrdb")
        h = self.stem(x)
        return self.head(self.upsample(h + self.blocks(h)))  # the global skip around the RRDBs


@MODELS.register("rrdb", kind="translation", settings=("width", "blocks", "leaky_slope"),
                 help="ESRGAN's generator: residual-in-residual dense blocks, no BatchNorm, PixelShuffle "
                      "upsampling by 1, 2 or 4 (Wang et al. 2018)")
def build_rrdb(cfg, source_shape: tuple, target_shape: tuple) -> nn.Module:
    source, target = image_pair(source_shape, target_shape, "rrdb")
    factor = upscale_factor(source, target, "rrdb")
    return RRDBNet(source, target[0], factor, cfg.width or DEFAULT_WIDTH, cfg.blocks or RRDB_BLOCKS,
                   cfg.leaky_slope)
