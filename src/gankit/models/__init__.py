"""Generator/discriminator pairs, registered by name in ``gankit.registry.MODELS``.

A model builder takes the ``model`` section of the config and the data's image
shape (C, H, W) and returns ``(generator, discriminator)``. Every generator has
``latent_dim`` and ``out_shape`` attributes and maps z [B, latent_dim] to images
[B, C, H, W] in [-1, 1]; every discriminator maps images to logits [B].
"""

from __future__ import annotations

from torch import nn

from gankit.models import dcgan  # noqa: F401  (registers dcgan-28)
from gankit.registry import MODELS


def build_models(cfg, shape: tuple[int, int, int]) -> tuple[nn.Module, nn.Module]:
    """Build (G, D) for the ``model`` config section and image shape (C, H, W)."""
    return MODELS.get(cfg.arch)(cfg, shape)


def build_generator(cfg, shape: tuple[int, int, int]) -> nn.Module:
    return build_models(cfg, shape)[0]
