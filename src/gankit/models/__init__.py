"""Generator/discriminator pairs, registered by name in ``gankit.registry.MODELS``.

A model builder takes the ``model`` section of the config, the data's shape
((C, H, W) for images, (2,) for 2-D points) and the number of classes (0 for
unlabelled data) and returns ``(generator, discriminator)``:

- generator: attributes ``latent_dim``, ``out_shape`` and ``num_classes`` (0 when
  unconditional); ``G(z [B, latent_dim], y int64 [B] | None) -> [B, *out_shape]``,
  images in [-1, 1] (tanh), points unbounded. A conditional G requires y.
- discriminator: attributes ``conditioning`` and ``num_classes``;
  ``D(x, y=None) -> logits [B]``, or ``(logits [B], class_logits [B, K])`` when
  ``model.conditioning`` is acgan. cgan and projection D's require y.

Each model is registered with its ``kind``, which picks the training step:
"gan" (the default) for a generator and discriminator; "likelihood" for the
``vae`` baseline, whose builder returns ``(decoder, encoder)``: the decoder is a
generator as above and ``gankit.losses.elbo_loss`` trains the pair.

A shape an architecture cannot make, or conditioning without classes, is a
one-line ConfigError.
"""

from __future__ import annotations

from torch import nn

from gankit.errors import ConfigError
from gankit.models import dcgan, mlp, resnet, vae  # noqa: F401  (register the architectures)
from gankit.models.pack import Packed, packed_shape
from gankit.registry import MODELS


def build_models(cfg, shape: tuple, num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    """Build (G, D) for the ``model`` config section, data shape and class count.

    With ``model.pack`` m > 1, D is built for m samples at once and wrapped to take
    them packed (PacGAN, see pack.py).
    """
    shape = tuple(int(s) for s in shape)
    build = MODELS.get(cfg.arch)
    G, D = build(cfg, shape, int(num_classes))
    m = cfg.pack
    if m > 1:
        if model_kind(cfg.arch) != "gan":
            raise ConfigError(f"model.pack applies to GAN discriminators, and {cfg.arch} is not a GAN")
        D = Packed(build(cfg, packed_shape(shape, m), int(num_classes))[1], m)
    return G, D


def build_generator(cfg, shape: tuple, num_classes: int = 0) -> nn.Module:
    """Build the generator alone (to load saved weights and sample): no packed D is needed."""
    return MODELS.get(cfg.arch)(cfg, tuple(int(s) for s in shape), int(num_classes))[0]


def model_kind(arch: str) -> str:
    """The kind ``arch`` was registered with: "gan" or "likelihood" (it picks the training step)."""
    return MODELS.attrs(arch).get("kind", "gan")
