"""Pieces every architecture shares: class conditioning, spectral norm, builder checks.

Conditioning (``model.conditioning``) enters the networks through three layers:

- ``LabelConcat``: G's input is ``[z, embed(y)]`` (cgan, acgan and tac; Mirza &
  Osindero 2014, Odena et al. 2017).
- ``ConditionalBatchNorm``: batch norm whose gamma and beta are looked up per
  class (projection; Miyato & Koyama 2018, after de Vries et al. 2017). Layers
  that need the label subclass ``LabelConditioned`` and a ``CondSequential``
  hands them ``y``; every other layer is called with ``x`` alone.
- ``ConditionalHead``: D's last linear layer on its feature vector h, with the
  conditioning's extra: a label embedding concatenated to h (cgan), an
  auxiliary classifier (acgan; and its twin, tac) or the projection ``<embed(y), h>``.

``apply_spectral_norm`` puts ``torch.nn.utils.parametrizations.spectral_norm``
(Miyato et al. 2018) on every conv, linear and projection-embedding layer of a
discriminator. The builder checks (``image_shape``, ``class_count``) turn a
shape or conditioning an architecture cannot serve into a one-line ConfigError.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.errors import ConfigError

CONDITIONINGS = ("none", "cgan", "acgan", "tac", "projection")
MAX_LABEL_DIM = 128


def label_dim(num_classes: int) -> int:
    """Size of a concatenated label embedding: one dimension per class (the information of
    the one-hot label Mirza & Osindero feed), at most ``MAX_LABEL_DIM``."""
    return min(num_classes, MAX_LABEL_DIM)


def require_labels(y: torch.Tensor | None, num_classes: int, who: str) -> torch.Tensor | None:
    """``y`` for a conditional network (a clear ValueError when it is missing); None otherwise."""
    if not num_classes:
        return None
    if y is None:
        raise ValueError(f"this {who} is class-conditional ({num_classes} classes): pass labels y, int64 [B]")
    return y


# ---------------------------------------------------------------------------
# layers that take the label
# ---------------------------------------------------------------------------


class LabelConditioned(nn.Module):
    """A layer whose forward is ``forward(x, y)``; ``CondSequential`` passes it the labels."""


class CondSequential(nn.Sequential, LabelConditioned):
    """``nn.Sequential`` that also hands the labels y to the layers that take them.

    Parameter names are those of ``nn.Sequential`` (``0.weight``, ...), so a plain
    Sequential can be swapped for it without renaming saved weights.
    """

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        for layer in self:
            x = cond_call(layer, x, y)
        return x


def cond_call(layer: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """``layer(x, y)`` for a layer that takes labels, ``layer(x)`` for any other."""
    return layer(x, y) if isinstance(layer, LabelConditioned) else layer(x)


class ConditionalBatchNorm(LabelConditioned):
    """Batch norm with a per-class affine map: ``BN(x) * gamma[y] + beta[y]``.

    The normalisation (and its running statistics) is shared by all classes; only
    gamma and beta are per class, initialised to 1 and 0 so that every class starts
    as plain batch norm. ``dim`` is 1 for [B, F] inputs and 2 for [B, F, H, W].
    """

    def __init__(self, num_features: int, num_classes: int, dim: int = 2):
        super().__init__()
        self.num_features = num_features
        self.bn = (nn.BatchNorm2d if dim == 2 else nn.BatchNorm1d)(num_features, affine=False)
        self.gamma = nn.Embedding(num_classes, num_features)  # [K, F]
        self.beta = nn.Embedding(num_classes, num_features)  # [K, F]
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            raise ValueError("conditional batch norm needs labels y, int64 [B]")
        shape = (-1, self.num_features) + (1,) * (x.dim() - 2)  # [B, F] or [B, F, 1, 1]
        return self.bn(x) * self.gamma(y).view(shape) + self.beta(y).view(shape)


def batch_norm(num_features: int, num_classes: int = 0, dim: int = 2) -> nn.Module:
    """Plain batch norm, or conditional batch norm when ``num_classes`` > 0."""
    if num_classes:
        return ConditionalBatchNorm(num_features, num_classes, dim)
    return nn.BatchNorm2d(num_features) if dim == 2 else nn.BatchNorm1d(num_features)


class LabelConcat(nn.Module):
    """G's conditional input: z [B, latent] -> [z, embed(y)] [B, latent + label_dim(K)]."""

    def __init__(self, num_classes: int):
        super().__init__()
        self.embed = nn.Embedding(num_classes, label_dim(num_classes))
        self.dim = self.embed.embedding_dim

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, self.embed(y)], dim=1)


def generator_labels(conditioning: str, num_classes: int,
                     has_batch_norm: bool = True) -> tuple[LabelConcat | None, int]:
    """How a generator takes its label: (input embedding or None, classes of its conditional BN).

    cgan, acgan and tac concatenate a label embedding to z; projection swaps batch norm for
    conditional batch norm, or, in a generator without batch norm, falls back to the
    concatenated embedding (its only way to see the label).
    """
    if conditioning == "none" or not num_classes:
        return None, 0
    if conditioning == "projection" and has_batch_norm:
        return None, num_classes
    return LabelConcat(num_classes), 0


class ProjectionEmbedding(nn.Embedding):
    """The class embedding of a projection discriminator (spectrally normalised with D)."""


class ConditionalHead(nn.Linear):
    """D's last layer: h [B, F] -> logits [B], plus the conditioning's extra.

    It is a ``nn.Linear`` (its weight and bias are the plain head's), with:

    - none:        linear(h)
    - cgan:        linear([h, embed(y)])                 (Mirza & Osindero 2014)
    - acgan:       (linear(h), classifier(h) [B, K])     (Odena et al. 2017); y is ignored
    - tac:         (linear(h), classifier(h), twin(h))   (Gong et al. 2019): the twin
                   classifier learns the fakes' labels, the classifier the real ones
    - projection:  linear(h) + <embed(y), h>             (Miyato & Koyama 2018)
    """

    def __init__(self, in_features: int, conditioning: str = "none", num_classes: int = 0):
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
        if conditioning != "none" and not num_classes:
            raise ValueError(f"conditioning {conditioning!r} needs num_classes > 0")
        extra = label_dim(num_classes) if conditioning == "cgan" else 0
        super().__init__(in_features + extra, 1)
        self.conditioning = conditioning
        self.num_classes = num_classes if conditioning != "none" else 0
        if conditioning == "cgan":
            self.embed = nn.Embedding(num_classes, extra)
        elif conditioning in ("acgan", "tac"):
            self.classifier = nn.Linear(in_features, num_classes)
            if conditioning == "tac":
                self.twin = nn.Linear(in_features, num_classes)
        elif conditioning == "projection":
            self.embed = ProjectionEmbedding(num_classes, in_features)  # [K, F]
            nn.init.xavier_uniform_(self.embed.weight)  # N(0, 1) rows would swamp linear(h) at the start

    def forward(self, h: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, ...]:
        c = self.conditioning
        if c in ("cgan", "projection"):
            require_labels(y, self.num_classes, "discriminator")
        if c == "cgan":
            return super().forward(torch.cat([h, self.embed(y)], dim=1)).squeeze(1)
        logits = super().forward(h).squeeze(1)  # [B]
        if c == "acgan":
            return logits, self.classifier(h)  # [B], [B, K]
        if c == "tac":
            return logits, self.classifier(h), self.twin(h)  # [B], [B, K], [B, K]
        if c == "projection":
            return logits + (self.embed(y) * h).sum(dim=1)
        return logits


# ---------------------------------------------------------------------------
# spectral normalization
# ---------------------------------------------------------------------------

SN_LAYERS = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, ProjectionEmbedding)


def apply_spectral_norm(module: nn.Module) -> nn.Module:
    """Spectrally normalise every conv, linear and projection-embedding layer in ``module``.

    Each weight W is used as W / sigma(W), sigma estimated by one power iteration per
    forward pass in training mode (Miyato et al. 2018). Apply it after initialising
    the weights: the parametrization keeps the weight as it is then. Returns ``module``.
    """
    for layer in list(module.modules()):
        if isinstance(layer, SN_LAYERS):
            spectral_norm(layer)
    return module


# ---------------------------------------------------------------------------
# builder checks
# ---------------------------------------------------------------------------


def image_shape(shape: tuple, arch: str, sizes: tuple[int, ...]) -> tuple[int, int]:
    """(channels, size) of a square (C, H, W) image shape that ``arch`` can make, else ConfigError."""
    allowed = " or ".join(f"{s}x{s}" for s in sizes)
    if len(shape) != 3:
        what = "2-D points" if len(shape) == 1 else f"shape {tuple(shape)}"
        raise ConfigError(f"model {arch} makes {allowed} images (C, H, W), but the dataset holds {what}")
    channels, height, width = (int(s) for s in shape)
    if height != width or height not in sizes:
        raise ConfigError(f"model {arch} makes {allowed} images, but the dataset's are {height}x{width}")
    return channels, height


def class_count(cfg, num_classes: int, arch: str) -> int:
    """The number of classes the networks condition on: 0 when ``cfg.conditioning`` is none.

    Conditioning without classes is a ConfigError.
    """
    if cfg.conditioning == "none":
        return 0
    if num_classes <= 0:
        raise ConfigError(
            f"model {arch} with model.conditioning={cfg.conditioning} needs a labelled dataset (num_classes > 0)"
        )
    return num_classes



class MinibatchStd(nn.Module):
    """D's look at the batch as a whole (Karras et al. 2018, ProGAN): h [B, F] -> [B, F + 1], or feature
    maps h [B, C, H, W] -> [B, C + 1, H, W].

    Samples are split into groups of ``group``; the extra feature (or channel, the same at
    every position) of each sample is the standard deviation of every feature across its
    group, averaged over the features. A generator that makes the same sample again and
    again shows up as a small spread, which D can then reject: a direct pressure against
    mode collapse.
    """

    def __init__(self, group: int = 4):
        super().__init__()
        self.group = group

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b = h.shape[0]
        g = min(self.group, b)
        while b % g:  # the largest group size up to `group` that divides the batch
            g -= 1
        y = h.float().reshape(g, b // g, -1)  # [G, M, F]: sample i is member i // M of group i % M
        spread = (y.var(0, unbiased=False) + 1e-8).sqrt().mean(1)  # [M]
        extra = spread.repeat(g).to(h.dtype).view(b, 1, *([1] * (h.dim() - 2)))  # [B, 1(, 1, 1)]
        return torch.cat([h, extra.expand(b, 1, *h.shape[2:])], dim=1)  # [B, F + 1] or [B, C + 1, H, W]

    def extra_repr(self) -> str:
        return f"group={self.group}"


class Dropout(nn.Module):
    """nn.Dropout with a mask that is cheaper to draw on a CPU (docs/performance.md).

    torch's dropout draws one random number per element (a Bernoulli sample). Here
    one 64-bit draw from torch's generator gives four 15-bit uniform numbers, each
    compared with the threshold: the same kind of mask from the same (checkpointed,
    per-rank) random stream, with p rounded to a multiple of 1/32768.
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.threshold = round(p * 32768)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return x
        n = x.numel()
        words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_()  # bits 0..62 random
        chunks = words.view(torch.int16)[:n] & 0x7FFF  # 4 uniform numbers in [0, 32768) a word
        keep = (chunks >= self.threshold).view(x.shape)
        return x * keep.to(x.dtype) * (32768 / (32768 - self.threshold))

    def extra_repr(self) -> str:
        return f"p={self.p}"
