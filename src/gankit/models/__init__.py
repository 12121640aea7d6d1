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

With ``model.clusters`` k > 0 the networks are built conditional on k classes, the
k-means clusters of the data, and G is wrapped to draw its cluster from z
(self_conditioned.py): an unconditional generator, ``num_classes`` 0. With
``model.keep_known`` a translation generator is wrapped to fill only the holes of its
input (keep_known.py), and with ``model.noise_channels`` to take noise beside its source
(noise_input.py).

A shape an architecture cannot make, or conditioning without classes, is a
one-line ConfigError.
"""

from __future__ import annotations

from torch import nn

from gankit.errors import ConfigError
from gankit.models import dcgan, mlp, patchgan, resnet, resnet_gen, srresnet, unet, vae  # noqa: F401  (register)
from gankit.models.keep_known import KeepKnown
from gankit.models.noise_input import NoiseInput
from gankit.models.pack import Packed, packed_shape
from gankit.models.self_conditioned import SelfConditioned
from gankit.models.unet import carry_attributes
from gankit.registry import MODELS


def build_models(cfg, shape: tuple, num_classes: int = 0) -> tuple[nn.Module, nn.Module]:
    """Build (G, D) for the ``model`` config section, data shape and class count.

    With ``model.pack`` m > 1, D is built for m samples at once and wrapped to take
    them packed (PacGAN, see pack.py).
    """
    shape = tuple(int(s) for s in shape)
    build = MODELS.get(cfg.arch)
    k = classes(cfg, num_classes)
    G, D = build(cfg, shape, k)
    m = cfg.pack
    if m > 1:
        if model_kind(cfg.arch) != "gan":
            raise ConfigError(f"model.pack applies to GAN discriminators, and {cfg.arch} is not a GAN")
        D = Packed(build(cfg, packed_shape(shape, m), k)[1], m)
    return (SelfConditioned(G, k) if cfg.clusters else G), D


def build_generator(cfg, shape: tuple, num_classes: int = 0) -> nn.Module:
    """Build the generator alone (to load saved weights and sample): no packed D is needed."""
    k = classes(cfg, num_classes)
    G = MODELS.get(cfg.arch)(cfg, tuple(int(s) for s in shape), k)[0]
    return SelfConditioned(G, k) if cfg.clusters else G


def classes(cfg, num_classes: int) -> int:
    """The classes the networks are built for: the data's, or model.clusters' (labels unused)."""
    if not cfg.clusters:
        return int(num_classes)
    if cfg.conditioning == "none" or model_kind(cfg.arch) != "gan":
        raise ConfigError(f"model.clusters={cfg.clusters} conditions a GAN on clusters of the data in place of "
                          "labels: set model.conditioning (projection, cgan or acgan) and a GAN model.arch")
    return int(cfg.clusters)


def model_kind(arch: str) -> str:
    """The kind ``arch`` was registered with: "gan", "likelihood" or "translation" (it picks the step)."""
    return MODELS.attrs(arch).get("kind", "gan")


class CycleGenerators(nn.Module):
    """The two generators of an unpaired (cycle) model: ``ab`` maps domain A to B, ``ba`` B to A.
    Calling the pair is calling ``ab``: the translation a trained model is used for."""

    def __init__(self, ab: nn.Module, ba: nn.Module):
        super().__init__()
        self.ab, self.ba = ab, ba
        carry_attributes(self, ab)

    def forward(self, x):
        return self.ab(x)


class CycleDiscriminators(nn.Module):
    """The two discriminators of a cycle model: ``a`` judges images of domain A, ``b`` of B."""

    def __init__(self, a: nn.Module, b: nn.Module):
        super().__init__()
        self.a, self.b = a, b


def build_translator(cfg, source_shape: tuple, target_shape: tuple) -> nn.Module:
    """The generator alone of a translation model: source [B, *source_shape] -> target [B, *target_shape]."""
    if model_kind(cfg.arch) != "translation":
        raise ConfigError(f"model {cfg.arch} generates from noise; translation needs one of: "
                          f"{', '.join(n for n in MODELS.names() if model_kind(n) == 'translation')}")
    c, *size = map(int, source_shape)
    k = cfg.noise_channels
    G = MODELS.get(cfg.arch)(cfg, (c + k, *size), tuple(map(int, target_shape)))  # the noise's channels too
    if k:
        G = NoiseInput(G, k)
    return KeepKnown(G) if cfg.keep_known else G


def build_translation_generator(cfg, source_shape: tuple, target_shape: tuple, cycle: bool = False) -> nn.Module:
    """The generator(s) alone of a translation model, to load saved weights: no D is built."""
    G = build_translator(cfg, source_shape, target_shape)
    return CycleGenerators(G, build_translator(cfg, target_shape, source_shape)) if cycle else G


def build_translation(cfg, source_shape: tuple, target_shape: tuple,
                      cycle: bool = False, num_classes: int = 0, class_head: bool = True,
                      projection: bool = False, d_sees_source: bool = True) -> tuple[nn.Module, nn.Module]:
    """(G, D) of a translation model.

    Paired: G maps sources to targets and D is a PatchGAN that judges a target-shaped image
    together with its source (stacked as channels; with ``d_sees_source`` false the image
    alone), and with ``projection`` its class too.
    Cycle (unpaired): G holds both directions and D both domains' unconditional PatchGANs;
    with ``num_classes`` > 0 each has a class head (``class_head``, the class-consistency
    loss) and/or judges images with their classes (``projection``).
    """
    if not cycle:
        G = build_translator(cfg, source_shape, target_shape)
        return G, patchgan.build_patchgan(cfg, target_shape, source_shape if d_sees_source else None,
                                          num_classes if projection else 0,
                                          class_head=False, projection=projection)
    G = CycleGenerators(build_translator(cfg, source_shape, target_shape),
                        build_translator(cfg, target_shape, source_shape))
    D = CycleDiscriminators(*(patchgan.build_patchgan(cfg, shape, None, num_classes, class_head, projection)
                              for shape in (source_shape, target_shape)))
    return G, D
