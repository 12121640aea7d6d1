"""model.noise_channels: a translation generator that takes noise z beside its source."""

import pytest
import torch

from gankit.config import ModelConfig
from gankit.data.degrade import inpaint
from gankit.errors import ConfigError
from gankit.models import build_translator
from gankit.models.keep_known import KeepKnown, holes
from gankit.models.noise_input import NoiseInput, noise_channels, noise_for, translate


def build(arch="unet", k=4, source=(1, 28, 28), target=(1, 28, 28), **sets):
    torch.manual_seed(0)
    return build_translator(ModelConfig(arch=arch, width=8, noise_channels=k, **sets), source, target)


def test_z_changes_the_output_and_the_same_z_gives_the_same_output():
    G = build().eval()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    z, other = torch.randn(3, 4), torch.randn(3, 4)
    assert torch.equal(G(x, z), G(x, z))
    assert (G(x, z) - G(x, other)).abs().mean() > 1e-4
    # each image's output depends on its own row of z only
    assert torch.allclose(G(x[:1], z[:1]), G(x, z)[:1], atol=1e-6)


def test_the_noise_is_constant_planes_beside_the_source():
    G = build()
    seen = {}
    G.net.register_forward_pre_hook(lambda m, args: seen.update(x=args[0]))
    x, z = torch.rand(2, 1, 28, 28), torch.randn(2, 4)
    G(x, z)
    assert seen["x"].shape == (2, 5, 28, 28)  # [B, Cs + k, H, W]
    assert torch.equal(seen["x"][:, :1], x)
    assert torch.equal(seen["x"][:, 1:], z[:, :, None, None].expand(2, 4, 28, 28))


def test_the_wrapper_keeps_the_source_shape_and_adds_no_weights():
    G, plain = build(), build(k=0)
    assert isinstance(G, NoiseInput) and noise_channels(G) == 4 and noise_channels(plain) == 0
    assert G.in_shape == plain.in_shape == (1, 28, 28) and G.net.in_shape == (5, 28, 28)
    assert [k.removeprefix("net.") for k in G.state_dict()] == list(plain.state_dict())
    first = next(v for v in G.state_dict().values() if v.dim() == 4)  # the first conv's weight
    assert first.shape[1] == 5  # built for the source's channel and the 4 of noise
    sr = build("srresnet", k=2, source=(1, 7, 7), blocks=1)
    assert sr(torch.rand(2, 1, 7, 7), torch.randn(2, 2)).shape == (2, 1, 28, 28) and sr.scale == 4


def test_without_z_the_generator_draws_it_from_the_global_rng():
    G, x = build().eval(), torch.rand(2, 1, 28, 28)
    torch.manual_seed(5)
    a = G(x)
    torch.manual_seed(5)
    assert torch.equal(a, G(x))
    torch.manual_seed(5)
    assert torch.equal(a, G(x, torch.randn(2, 4)))


def test_keep_known_passes_z_through_and_keeps_the_known_pixels():
    G = build(keep_known=True).eval()
    assert isinstance(G, KeepKnown) and noise_channels(G) == 4
    holed = inpaint(torch.rand(2, 1, 28, 28) * 2 - 1, 10, "center", torch.Generator().manual_seed(0))
    a, b = G(holed, torch.randn(2, 4)), G(holed, torch.randn(2, 4))
    hole = holes(holed)
    assert torch.equal(a[~hole], holed[~hole]) and torch.equal(b[~hole], holed[~hole])
    assert not torch.equal(a[hole], b[hole])  # other noise, other fill


def test_noise_for_and_translate_treat_deterministic_generators_alike():
    G, plain = build().eval(), build(k=0).eval()
    g = torch.Generator().manual_seed(0)
    z = noise_for(G, 3, g)
    assert z.shape == (3, 4) and noise_for(plain, 3, g) is None
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(translate(G, x, z), G(x, z)) and torch.equal(translate(plain, x, None), plain(x))
    assert torch.equal(translate(plain, x, z), plain(x))  # a deterministic G ignores the noise given


def test_bad_noise_is_a_clear_error():
    G = build()
    with pytest.raises(ValueError, match=r"z must be \[B, 4\]"):
        G(torch.rand(2, 1, 28, 28), torch.randn(2, 3))
    with pytest.raises(ConfigError, match="noise_channels"):
        NoiseInput(build(k=0), 1)  # a network built for the source's channels alone
