"""The PatchGAN discriminator of every translation model (Isola et al. 2017).

Instead of one verdict per image, D gives one logit per overlapping patch: its last
layer sees a ``receptive_field(d_layers)``-pixel square of the input, so it judges local
texture and sharpness and leaves the global structure to the pixel loss. Layers, with
w = ``model.width`` (default 64) and n = ``model.d_layers``:

- n 4x4 stride-2 convs (w, 2w, 4w, ... channels, capped at 8w), each halving the size;
- one 4x4 stride-1 conv (the next channel count);
- a 4x4 stride-1 conv to 1 channel: the patch logits.

With ``num_classes`` > 0 D knows the classes of its domain, in one or both of two ways:

- a class head (``class_head``; CycleGAN's class-consistency loss, ``translate.class_weight``):
  a linear layer on the last hidden map, flattened, giving class logits [B, K]
  (:meth:`PatchGAN.judge`); it sees the whole image, not one patch;
- a class projection (``projection``; ``translate.class_projection``): called with classes
  y [B], D judges each patch as a patch of an image of class y. A class embedding e_y is
  dotted with the last hidden map at every cell (Miyato & Koyama 2018's projection, made
  per patch), and each patch logit gains the mean of those products over the 2x2 cells
  at its centre.

With ``model.minibatch_std`` the logit conv also sees one more channel: the spread of the
last hidden map across groups of 4 images (ProGAN's minibatch standard deviation), so each
verdict can weigh how varied the batch is beside the image itself.

All convs have padding 1; LeakyReLU (``model.leaky_slope``) after every hidden conv,
a normalization after all but the first (``model.d_norm``): BatchNorm by default, none
under ``model.spectral_norm`` (which normalises every conv's weights), or InstanceNorm.
With BatchNorm in train mode D sees a batch of real images and a batch of fakes apart,
and may tell them by the batches' statistics rather than image by image; InstanceNorm
(CycleGAN's; pix2pix's BatchNorm at its batch of 1 is the same) normalises each image
alone. With n = 3 this is the paper's 70x70 PatchGAN. The default n is the most
layers whose receptive field fits the image, at most 3 (``DEFAULT_MAX_LAYERS``: the
paper found 70x70 patches better than larger ones): 1 at 28x28 and 32x32 (16x16 patches),
2 at 64x64 (34x34), 3 from 70x70 on. An explicit n may give a field larger than the
image, so that every logit judges the whole image (the paper's ImageGAN; a global
discriminator for inpainting, Iizuka et al. 2017): 2 or 3 at 28x28 (5x5 or 1x1 logits).
An n that leaves no patch is a ConfigError.

Conditional (paired) D's judge an image together with its source, stacked as channels
(unconditional ones, the image alone: a cycle run's, or a paired run's under
``translate.d_sees_source=false``);
a source of another size (super-resolution) is resized to the image's size (bicubic)
first. Weights ~ N(0, 0.02), BatchNorm gammas ~ N(1, 0.02), biases 0, as in the paper.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.models.dcgan import dcgan_init
from gankit.models.layers import MinibatchStd, apply_spectral_norm
from gankit.models.unet import level_channels

KERNEL = 4
DEFAULT_WIDTH = 64
# the model.* keys the PatchGAN reads, beside those of the generator it judges (gankit.train.unused)
SETTINGS = ("d_layers", "width", "leaky_slope", "spectral_norm", "d_norm", "minibatch_std")
NORMS = {"batch": nn.BatchNorm2d, "instance": lambda c: nn.InstanceNorm2d(c, affine=True), "none": None}
DEFAULT_MAX_LAYERS = 3


def resolve_norm(d_norm: str, spectral_norm: bool) -> str:
    """``model.d_norm`` resolved: auto is batch, or none under spectral norm."""
    return ("none" if spectral_norm else "batch") if d_norm == "auto" else d_norm


def receptive_field(d_layers: int) -> int:
    """Side, in pixels, of the input square one patch logit sees (3 layers: 70).

    Walking back from one output pixel, a k x k conv of stride s turns a field r into
    (r - 1) * s + k.
    """
    field = 1
    for stride in [1, 1] + [2] * d_layers:  # the logit conv, the stride-1 conv, then the stride-2 convs
        field = (field - 1) * stride + KERNEL
    return field


def patch_grid(size: int, d_layers: int) -> int:
    """Patches along a side of ``size`` pixels: each stride-2 conv floors size / 2, each stride-1 conv takes 1."""
    for _ in range(d_layers):
        size //= 2
    return size - 2


def resolve_layers(d_layers: int | None, height: int, width: int) -> int:
    """``model.d_layers``, or by default the most (at most ``DEFAULT_MAX_LAYERS``) whose field fits.

    An explicit n may give a field larger than the image: then every logit sees all of it
    (the paper's ImageGAN, Iizuka et al. 2017's global discriminator), as long as at least
    one patch is left; more layers are a ConfigError.
    """
    side, smallest = min(height, width), receptive_field(0)
    if side < smallest:
        raise ConfigError(f"the PatchGAN needs images of at least {smallest}x{smallest}, but they are "
                          f"{height}x{width} (model.d_layers)")
    fits = 0  # the most stride-2 layers whose field fits
    while receptive_field(fits + 1) <= side:
        fits += 1
    if d_layers is None:
        return min(fits, DEFAULT_MAX_LAYERS)
    most = 0  # the most stride-2 layers that leave one patch
    while patch_grid(side, most + 1) >= 1:
        most += 1
    if d_layers > most:  # from 7x7 on, one layer always leaves a patch
        raise ConfigError(f"model.d_layers={d_layers} halves the {height}x{width} images past the PatchGAN's "
                          f"last patch: set model.d_layers to {most} or less ({fits} or less for patches "
                          "smaller than the image)")
    return d_layers


class PatchGAN(nn.Module):
    """Image [B, C, H, W] (+ its source) -> patch logits [B, P]."""

    def __init__(self, image_shape: tuple[int, ...], source_shape: tuple[int, ...] | None, d_layers: int,
                 width: int = DEFAULT_WIDTH, slope: float = 0.2, spectral_norm: bool = False, num_classes: int = 0,
                 class_head: bool = True, projection: bool = False, norm: str = "auto", minibatch_std: bool = False):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.source_shape = tuple(source_shape) if source_shape is not None else None
        self.conditional = source_shape is not None
        self.d_layers, self.patch_size = d_layers, receptive_field(d_layers)
        c_in = self.image_shape[0] + (self.source_shape[0] if self.conditional else 0)
        strides = [2] * d_layers + [1]
        make_norm = NORMS[resolve_norm(norm, spectral_norm)]
        hidden = []
        for i, (stride, c) in enumerate(zip(strides, level_channels(width, d_layers + 1))):
            # [B, c_in, H', W'] -> [B, c, H'/2, W'/2] (stride 2) or [B, c, H'-1, W'-1] (stride 1)
            normed = i > 0 and make_norm is not None
            layers = [nn.Conv2d(c_in, c, KERNEL, stride=stride, padding=1, bias=not normed)]
            layers += [make_norm(c)] if normed else []
            hidden.append(nn.Sequential(*layers, nn.LeakyReLU(slope)))
            c_in = c
        self.hidden = nn.ModuleList(hidden)
        self.spread = MinibatchStd() if minibatch_std else None  # [B, c, H', W'] -> [B, c + 1, H', W']
        self.head = nn.Conv2d(c_in + minibatch_std, 1, KERNEL, stride=1, padding=1)  # -> [B, 1, H'-1, W'-1]
        self.num_classes = num_classes
        self.class_head = bool(num_classes) and class_head
        self.projection = bool(num_classes) and projection
        if self.class_head:  # the last hidden map [B, c, H', W'], flattened -> class logits [B, K]
            side = patch_grid(self.image_shape[1], d_layers) + 1, patch_grid(self.image_shape[2], d_layers) + 1
            self.classifier = nn.Linear(c_in * side[0] * side[1], num_classes)
        dcgan_init(self)
        if self.projection:  # e_y [c] for each class; small, so the class term starts near 0 beside the patch logits
            self.embed = nn.Embedding(num_classes, c_in)
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        if spectral_norm:
            apply_spectral_norm(self)

    def stack(self, x: torch.Tensor, source: torch.Tensor | None) -> torch.Tensor:
        """D's input: x, or [x, source resized to x's size] along channels."""
        if not self.conditional:
            if source is not None:
                raise ValueError("this PatchGAN is unconditional: call it with the image alone")
            return x
        if source is None:
            raise ValueError("this PatchGAN judges an image with its source: pass source [B, Cs, h, w]")
        if source.shape[-2:] != x.shape[-2:]:
            source = F.interpolate(source, size=x.shape[-2:], mode="bicubic", align_corners=False)
        return torch.cat([x, source], dim=1)  # [B, C + Cs, H, W]

    def forward(self, x: torch.Tensor, source: torch.Tensor | None = None, features: bool = False,
                y: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Patch logits [B, P] (and the hidden maps); with classes y [B], each patch judged as one of class y."""
        if (y is not None) != self.projection:
            raise ValueError("this PatchGAN judges images with their classes: pass y [B]" if self.projection else
                             "this PatchGAN has no class projection: build it with projection=True to pass y")
        h = self.stack(x, source)
        maps = []
        for layer in self.hidden:
            h = layer(h)
            maps.append(h)
        logits = self.head(h if self.spread is None else self.spread(h))  # [B, 1, H'-1, W'-1]: one logit a patch
        if y is not None:  # <e_y, h> at each cell [B, 1, H', W'], averaged over each patch's 2x2 centre cells
            per_cell = (self.embed(y)[:, :, None, None] * h).sum(1, keepdim=True)
            logits = logits + F.avg_pool2d(per_cell, 2, stride=1)
        logits = logits.flatten(1)  # [B, P]
        return (logits, maps) if features else logits

    def judge(self, x: torch.Tensor, source: torch.Tensor | None = None,
              y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(patch logits [B, P], class logits [B, K]) of one pass; only for a D built with a class head."""
        if not self.class_head:
            raise ValueError("this PatchGAN has no class head: build it with num_classes > 0")
        logits, maps = self.forward(x, source, features=True, y=y)
        return logits, self.classifier(maps[-1].flatten(1))  # [B, c * H' * W'] -> [B, K]


def build_patchgan(cfg, image_shape: tuple, source_shape: tuple | None, num_classes: int = 0,
                   class_head: bool = True, projection: bool = False) -> nn.Module:
    """The PatchGAN for images of ``image_shape`` (C, H, W), conditioned on sources of ``source_shape`` unless None;
    with ``num_classes`` > 0, a class head of that many outputs (``class_head``) and/or a class projection."""
    shapes = [image_shape] + ([source_shape] if source_shape is not None else [])
    if any(len(s) != 3 for s in shapes):
        raise ConfigError(f"the PatchGAN judges images (C, H, W), but got shapes {', '.join(map(str, shapes))}")
    image = tuple(int(s) for s in image_shape)
    source = tuple(int(s) for s in source_shape) if source_shape is not None else None
    d_layers = resolve_layers(cfg.d_layers, image[1], image[2])
    return PatchGAN(image, source, d_layers, cfg.width or DEFAULT_WIDTH, cfg.leaky_slope, cfg.spectral_norm,
                    num_classes, class_head, projection, cfg.d_norm, cfg.minibatch_std)
