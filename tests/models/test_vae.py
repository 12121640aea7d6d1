import pytest
import torch

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.losses import SIGMA, elbo_loss, kl_divergence
from gankit.models import build_generator, build_models
from gankit.registry import MODELS


def vae(shape, **kw):
    return build_models(ModelConfig(arch="vae", latent_dim=8, width=8, **kw), shape)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 28, 28), (1, 32, 32), (3, 32, 32)])
def test_encoder_and_decoder_shapes(shape):
    decoder, encoder = vae(shape)
    assert decoder.latent_dim == 8 and decoder.out_shape == shape and decoder.num_classes == 0
    x = decoder(torch.randn(5, 8), None)  # the generator contract: forward(z, y=None)
    assert x.shape == (5, *shape) and x.min() >= -1 and x.max() <= 1
    mu, logvar = encoder(x)
    assert mu.shape == logvar.shape == (5, 8)


def test_decoder_is_what_sampling_builds():
    decoder = build_generator(ModelConfig(arch="vae", latent_dim=8, width=8), (1, 28, 28))
    assert decoder(torch.randn(2, 8)).shape == (2, 1, 28, 28)


def test_kl_is_zero_at_the_prior_and_matches_torch():
    assert torch.equal(kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))
    mu, logvar = torch.randn(3, 4), torch.randn(3, 4)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3, 4), torch.ones(3, 4))
    torch.testing.assert_close(kl_divergence(mu, logvar), torch.distributions.kl_divergence(q, p).sum(1))


def test_elbo_terms():
    x = torch.rand(4, 1, 28, 28) * 2 - 1

    def encoder(x):  # the prior as posterior: KL = 0, z = eps
        return torch.zeros(len(x), 8), torch.zeros(len(x), 8)

    def decoder(z):  # predicts grey everywhere
        return torch.zeros(len(z), 1, 28, 28)

    loss, stats = elbo_loss(decoder, encoder, x)
    recon = (x**2).flatten(1).sum(1) / (2 * SIGMA**2)
    assert stats["kl"].item() == 0
    torch.testing.assert_close(stats["recon"], recon.mean())
    torch.testing.assert_close(loss, recon.mean())


def test_elbo_decreases_on_a_fixed_batch():
    torch.manual_seed(0)
    decoder, encoder = vae((1, 28, 28))
    x = -torch.ones(8, 1, 28, 28)  # a bright 8x8 square on black, in eight places
    for i in range(8):
        x[i, :, 2 * i:2 * i + 8, 3 * i:3 * i + 8] = 1.0
    opt = torch.optim.Adam([*decoder.parameters(), *encoder.parameters()], lr=2e-3)
    torch.manual_seed(1)
    first, stats = elbo_loss(decoder, encoder, x)
    assert set(stats) == {"recon", "kl"} and not stats["recon"].requires_grad
    for _ in range(15):
        loss, _ = elbo_loss(decoder, encoder, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.manual_seed(1)  # the same eps as the first evaluation
    last, _ = elbo_loss(decoder, encoder, x)
    assert last.item() < 0.8 * first.item()


def test_reparameterisation_uses_the_global_rng():
    decoder, encoder = vae((1, 28, 28))
    x = torch.zeros(2, 1, 28, 28)
    torch.manual_seed(3)
    a, _ = elbo_loss(decoder, encoder, x)
    torch.manual_seed(3)
    b, _ = elbo_loss(decoder, encoder, x)
    assert torch.equal(a, b)


@pytest.mark.parametrize("shape,kw,match", [
    ((3, 64, 64), {}, "28x28 or 32x32"),
    ((2,), {}, "points"),
    ((1, 28, 28), {"conditioning": "cgan"}, "unconditional"),
    ((1, 28, 28), {"spectral_norm": True}, "spectral_norm"),
])
def test_config_errors(shape, kw, match):
    with pytest.raises(ConfigError, match=match):
        build_models(ModelConfig(arch="vae", **kw), shape, num_classes=10)


def test_registry_names_the_paper():
    assert "Kingma" in next(e.help for e in MODELS.entries() if e.name == "vae")
