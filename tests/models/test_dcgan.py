import pytest
import torch

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.models import build_models
from gankit.registry import MODELS


def test_shapes_and_ranges():
    torch.manual_seed(0)
    G, D = build_models(ModelConfig(), (1, 28, 28))
    z = torch.randn(5, 100)
    x = G(z)
    assert x.shape == (5, 1, 28, 28)  # not the seed's 56x56
    assert x.min() >= -1 and x.max() <= 1  # tanh
    assert D(x).shape == (5,)  # one logit per image
    assert G.latent_dim == 100 and G.out_shape == (1, 28, 28)


def test_parameter_counts_match_the_seeds_layers():
    G, D = build_models(ModelConfig(), (1, 28, 28))
    # Dense 100->12544 (no bias) + BN, ConvT 256->128, BN, ConvT 128->64, BN, ConvT 64->1 (all 5x5, no bias)
    g = 100 * 12544 + 2 * 12544 + 256 * 128 * 25 + 2 * 128 + 128 * 64 * 25 + 2 * 64 + 64 * 1 * 25
    # Conv 1->64 and 64->128 (5x5, bias), Dense 6272->1
    d = (1 * 64 * 25 + 64) + (64 * 128 * 25 + 128) + (6272 + 1)
    assert sum(p.numel() for p in G.parameters()) == g == 2_305_472
    assert sum(p.numel() for p in D.parameters()) == d == 212_865


def test_channels_and_latent_dim_follow_the_config():
    G, D = build_models(ModelConfig(latent_dim=16), (3, 28, 28))
    assert G(torch.randn(2, 16)).shape == (2, 3, 28, 28)
    assert D(torch.zeros(2, 3, 28, 28)).shape == (2,)


def test_wrong_image_size_is_a_clear_error():
    with pytest.raises(ConfigError, match="28x28.*32x32"):
        build_models(ModelConfig(), (3, 32, 32))


def test_dropout_only_in_training_mode():
    _, D = build_models(ModelConfig(), (1, 28, 28))
    x = torch.randn(8, 1, 28, 28)
    D.eval()
    assert torch.equal(D(x), D(x))
    D.train()
    assert not torch.equal(D(x), D(x))


def test_registry():
    assert "dcgan-28" in MODELS.names()
