import pytest
import torch
from torch import nn

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.models import build_models
from gankit.models.layers import Dropout
from gankit.registry import MODELS


def linears(m: nn.Module) -> list[nn.Linear]:
    return [layer for layer in m.modules() if isinstance(layer, nn.Linear)]


def test_points_follow_the_toy_setup():
    G, D = build_models(ModelConfig(arch="mlp", latent_dim=8), (2,))
    assert G.out_shape == (2,) and G.latent_dim == 8
    assert [(m.in_features, m.out_features) for m in linears(G)] == [(8, 128), (128, 128), (128, 128), (128, 2)]
    assert [(m.in_features, m.out_features) for m in linears(D)] == [(2, 128), (128, 128), (128, 128), (128, 1)]
    assert sum(isinstance(m, nn.ReLU) for m in G.modules()) == 3
    assert sum(isinstance(m, nn.LeakyReLU) for m in D.modules()) == 3
    assert not any(isinstance(m, (nn.Tanh, Dropout, nn.BatchNorm1d)) for m in [*G.modules(), *D.modules()])
    x = G(torch.randn(16, 8))
    assert x.shape == (16, 2) and D(x).shape == (16,)


def test_points_are_unbounded():
    G, _ = build_models(ModelConfig(arch="mlp", latent_dim=8, width=16), (2,))
    with torch.no_grad():
        G.net[-1].weight.mul_(1000.0)
        x = G(torch.randn(64, 8))
    assert x.abs().max() > 1.5  # a linear output layer, no tanh


def test_width_sets_the_hidden_units_of_points():
    G, D = build_models(ModelConfig(arch="mlp", width=32), (2,))
    assert {m.out_features for m in linears(G)[:-1]} == {32} and {m.out_features for m in linears(D)[:-1]} == {32}


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_images_shapes_and_range(shape):
    G, D = build_models(ModelConfig(arch="mlp", width=16), shape)
    x = G(torch.randn(4, 100))
    assert x.shape == (4, *shape) and G.out_shape == shape
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (4,)


def test_images_layer_sizes_and_parameter_count():
    G, D = build_models(ModelConfig(arch="mlp", dropout=0.25), (1, 28, 28))
    assert [m.out_features for m in linears(G)] == [256, 512, 1024, 784]
    assert [m.out_features for m in linears(D)] == [512, 256, 1]
    g = (100 * 256 + 256) + (256 * 512 + 512) + (512 * 1024 + 1024) + (1024 * 784 + 784)
    d = (784 * 512 + 512) + (512 * 256 + 256) + (256 + 1)
    assert sum(p.numel() for p in G.parameters()) == g
    assert sum(p.numel() for p in D.parameters()) == d
    drops = [m for m in D.modules() if isinstance(m, Dropout)]
    assert len(drops) == 2 and all(m.p == 0.25 for m in drops)
    assert isinstance(G.net[-1], nn.Tanh)


def test_projection_generator_takes_a_label_embedding():
    # no batch norm to make conditional: the label enters with z, as in cgan
    G, D = build_models(ModelConfig(arch="mlp", conditioning="projection", width=8, latent_dim=4), (2,), 3)
    assert G.label is not None and linears(G)[0].in_features == 4 + 3
    assert D.head.conditioning == "projection"


@pytest.mark.parametrize("shape", [(2, 2), (28, 28), (0,), (1, 0, 28)])
def test_unusable_shapes(shape):
    with pytest.raises(ConfigError, match="model mlp"):
        build_models(ModelConfig(arch="mlp"), shape)


def test_registry_names_the_paper():
    assert "Goodfellow" in next(e.help for e in MODELS.entries() if e.name == "mlp")
