"""``unet``: the pix2pix generator, a U-Net (Isola et al. 2017), and what every translation generator shares.

A translation generator maps a source image x [B, Cs, h, w] in [-1, 1] to a target image
[B, Ct, H, W] in [-1, 1] (tanh). Its builder is ``build(cfg, source_shape, target_shape)``
and the generator carries:

- ``in_shape`` (Cs, h, w) and ``out_shape`` (Ct, H, W): the shapes it was built (trained) for;
- ``scale``: H // h (1 for image-to-image translation, 2 or 4 for super-resolution);
- ``size_multiple``: input sizes must be multiples of it. The networks are fully
  convolutional: the same weights run on any such size, e.g. 56x56 after training at 28x28.

The U-Net: an encoder of ``depth`` 4x4 stride-2 convs (LeakyReLU ``model.leaky_slope``,
BatchNorm on all but the first) halves the image at each level; a decoder of as many
4x4 stride-2 transposed convs (ReLU, BatchNorm) doubles it back, each level's output
concatenated with the encoder's output of the same size (the skip connections), and
the last one ends in tanh. Channels w, 2w, 4w, 8w, ... capped at 8w (w = ``model.width``,
default 64), as the paper's C64-C128-C256-C512-C512-... encoder. Activations come before
each conv, so the skips carry the encoder's convs' outputs, as in the paper's code.

Every level halves the size, and a 4x4 stride-2 conv (padding 1) halves an even size
exactly: ``depth`` can be at most the number of times the size halves evenly (28 -> 14
-> 7: two levels). The default is as many as that allows, at most 3 (``DEFAULT_DEPTH``).

So shallow a U-Net sees little: at 28x28 the middle output pixel is computed from an
18x18 window, and a pixel in the middle of a 12x12 hole sees 3 pixels past the hole's
edges, not the digit around it (pix2pix's U-Net at 256x256 goes down to 1x1 and sees
all). ``model.blocks`` residual blocks at the bottleneck widen the view, as Iizuka et al.
2017's completion network does with dilated convs: block i has two 3x3 convs dilated 2^i
(1, 2, 4, ...; ReLU, conv, BatchNorm, twice), and at 28x28 two blocks make every output
pixel see the whole image. The default is none, the paper's U-Net.

pix2pix also applies dropout in the decoder as its only noise; it is left out here: the
paper reports it adds little stochasticity, and the network is then deterministic.

Weights ~ N(0, 0.02), BatchNorm gammas ~ N(1, 0.02), biases 0, as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models.dcgan import dcgan_init
from gankit.registry import MODELS

DEFAULT_WIDTH = 64
DEFAULT_DEPTH = 3
MAX_CHANNELS = 8  # times the width: w, 2w, 4w, 8w, 8w, ...


# ---------------------------------------------------------------------------
# shared by the translation generators
# ---------------------------------------------------------------------------


def image_pair(source_shape: tuple, target_shape: tuple, arch: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The source and target (C, H, W) shapes as ints, or a ConfigError when either is not an image shape."""
    for shape in (source_shape, target_shape):
        if not isinstance(shape, (tuple, list)):  # e.g. built as a noise GAN: build(cfg, shape, num_classes)
            raise ConfigError(f"model {arch} translates images to images: set pair.kind to degrade, aligned or "
                              "unpaired to train it")
        if len(shape) != 3:
            what = "2-D points" if len(shape) == 1 else f"shape {tuple(shape)}"
            raise ConfigError(f"model {arch} translates images (C, H, W), but the data holds {what}")
    return tuple(int(s) for s in source_shape), tuple(int(s) for s in target_shape)


def same_size(source: tuple[int, ...], target: tuple[int, ...], arch: str) -> None:
    """A ConfigError unless source and target images have the same height and width."""
    if source[1:] != target[1:]:
        raise ConfigError(f"model {arch} keeps the image size, but the source is {source[1]}x{source[2]} and the "
                          f"target {target[1]}x{target[2]}: use model.arch=srresnet or rrdb to upsample")


def halvings(size: int, smallest: int = 1) -> int:
    """How many times ``size`` halves evenly while staying at least ``smallest`` (28: 2, as 28 -> 14 -> 7)."""
    n = 0
    while size % 2 == 0 and size // 2 >= smallest:
        size, n = size // 2, n + 1
    return n


def resolve_depth(depth: int | None, height: int, width: int, arch: str, default: int, smallest: int = 1) -> int:
    """``model.depth``, or ``default`` capped to what the size allows; a depth it cannot take is a ConfigError.

    ``smallest`` is the least size the innermost level may have (the ResNet generator's
    reflect-padded convs need 2).
    """
    allowed = min(halvings(height, smallest), halvings(width, smallest))
    size = f"{height}x{width}"
    if allowed == 0:
        raise ConfigError(f"model {arch} halves its images (model.depth), but {size} images do not halve evenly: "
                          f"resize them to an even size of at least {2 * smallest}")
    if depth is None:
        depth = min(default, allowed)
    if depth > allowed:
        raise ConfigError(f"model.depth={depth} is too deep for {arch} on {size} images: they halve evenly at most "
                          f"{allowed} times; set model.depth to {allowed} or less")
    return depth


def carry_attributes(wrapper: nn.Module, net: nn.Module) -> None:
    """Give ``wrapper`` the attributes of the translation generator ``net`` it calls."""
    for name in ("in_shape", "out_shape", "size_multiple", "scale"):
        setattr(wrapper, name, getattr(net, name))
    wrapper.noise_channels = int(getattr(net, "noise_channels", 0))  # a stochastic net's z passes through


def check_input(x: torch.Tensor, channels: int, multiple: int, arch: str) -> None:
    """A clear ValueError for an input the generator cannot take (skipped while traced or compiled for export)."""
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        return
    if x.dim() != 4 or x.shape[1] != channels or x.shape[2] % multiple or x.shape[3] % multiple:
        raise ValueError(f"{arch} takes images [B, {channels}, H, W] with H and W multiples of {multiple}, "
                         f"got {list(x.shape)}")


def level_channels(width: int, levels: int) -> list[int]:
    """Channels of each level: w, 2w, 4w, 8w, then 8w."""
    return [width * min(2**i, MAX_CHANNELS) for i in range(levels)]


# ---------------------------------------------------------------------------
# the U-Net
# ---------------------------------------------------------------------------


def down_block(c_in: int, c_out: int, slope: float, outermost: bool) -> nn.Sequential:
    """[B, c_in, H, W] -> [B, c_out, H/2, W/2]: (LeakyReLU,) 4x4 stride-2 conv(, BatchNorm)."""
    if outermost:  # the image itself goes in: no activation before, no BatchNorm after
        return nn.Sequential(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1))
    return nn.Sequential(nn.LeakyReLU(slope), nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(c_out))


def up_block(c_in: int, c_out: int, outermost: bool) -> nn.Sequential:
    """[B, c_in, H, W] -> [B, c_out, 2H, 2W]: ReLU, 4x4 stride-2 transposed conv, BatchNorm (tanh when outermost)."""
    if outermost:
        return nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.Tanh())
    return nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False),
                         nn.BatchNorm2d(c_out))


class DilatedBlock(nn.Module):
    """x + F(x), F = (ReLU, 3x3 conv dilated ``dilation``, BatchNorm) twice; [B, c, H, W] throughout."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.body = nn.Sequential(*(layer for _ in range(2) for layer in (
            nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(channels))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UNet(nn.Module):
    """Source [B, Cs, H, W] -> target [B, Ct, H, W]; ``down[i]`` and ``up[i]`` work at level i (size H / 2^i)."""

    def __init__(self, in_shape: tuple[int, ...], out_channels: int, depth: int, width: int = DEFAULT_WIDTH,
                 slope: float = 0.2, blocks: int = 0):
        super().__init__()
        self.in_shape = tuple(in_shape)
        self.out_shape = (out_channels, *self.in_shape[1:])
        self.scale, self.size_multiple, self.depth = 1, 2**depth, depth
        chans = level_channels(width, depth)  # encoder output i: chans[i] channels at H / 2^(i+1)
        ins = [self.in_shape[0], *chans[:-1]]
        self.down = nn.ModuleList(down_block(ins[i], chans[i], slope, i == 0) for i in range(depth))
        self.blocks = nn.Sequential(*(DilatedBlock(chans[-1], 2**i) for i in range(blocks)))  # at the bottleneck
        # up[i]: level i+1 -> level i; its input is the bottleneck (innermost) or [up output, skip] (2x channels)
        self.up = nn.ModuleList(
            up_block(chans[i] if i == depth - 1 else 2 * chans[i], chans[i - 1] if i else out_channels, i == 0)
            for i in range(depth)
        )
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_shape[0], self.size_multiple, "unet")
        skips = []
        h = x
        for block in self.down:  # [B, c, H', W'] -> [B, chans[i], H'/2, W'/2]
            h = block(h)
            skips.append(h)
        h = self.blocks(h)  # [B, chans[-1], H / 2^depth, W / 2^depth], each pixel seeing further
        for i in reversed(range(self.depth)):
            h = self.up[i](h)  # -> [B, chans[i-1] (or Ct), H / 2^i, W / 2^i]
            if i:
                h = torch.cat([h, skips[i - 1]], dim=1)  # -> [B, 2 chans[i-1], H / 2^i, W / 2^i]
        return h  # [B, Ct, H, W] in [-1, 1]


@MODELS.register("unet", kind="translation", settings=("depth", "width", "leaky_slope", "blocks"),
                 help="pix2pix's U-Net: stride-2 encoder, decoder with skip connections (Isola et al. 2017), "
                      "optionally dilated residual blocks at the bottleneck (Iizuka et al. 2017)")
def build_unet(cfg, source_shape: tuple, target_shape: tuple) -> nn.Module:
    source, target = image_pair(source_shape, target_shape, "unet")
    same_size(source, target, "unet")
    depth = resolve_depth(cfg.depth, source[1], source[2], "unet", DEFAULT_DEPTH)
    return UNet(source, target[0], depth, cfg.width or DEFAULT_WIDTH, cfg.leaky_slope, cfg.blocks or 0)
