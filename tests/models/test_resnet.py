import math

import pytest
import torch
from torch import nn

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.models import build_models
from gankit.models.resnet import DownBlock, OptimizedBlock, UpBlock
from gankit.registry import MODELS


@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_range(channels):
    G, D = build_models(ModelConfig(arch="resnet-32", width=8, latent_dim=16), (channels, 32, 32))
    x = G(torch.randn(3, 16))
    assert x.shape == (3, channels, 32, 32) and G.out_shape == (channels, 32, 32)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (3,)


def test_blocks_change_resolution_as_in_sngan():
    x = torch.randn(2, 8, 8, 8)
    assert UpBlock(8, 4)(x).shape == (2, 4, 16, 16)
    assert OptimizedBlock(8, 4)(x).shape == (2, 4, 4, 4)
    assert DownBlock(8, 4, down=True)(x).shape == (2, 4, 4, 4)
    plain = DownBlock(8, 8, down=False)
    assert plain(x).shape == (2, 8, 8, 8) and isinstance(plain.shortcut, nn.Identity)


def test_default_widths_and_discriminator_parameter_count():
    G, D = build_models(ModelConfig(arch="resnet-32", latent_dim=128), (3, 32, 32))
    assert G.project.out_features == 4 * 4 * 256 and G.width == 256
    assert all(b.conv1.out_channels == 256 for b in G.blocks)
    assert [type(b).__name__ for b in D.blocks] == ["OptimizedBlock", "DownBlock", "DownBlock", "DownBlock"]
    conv3 = 128 * 128 * 9 + 128
    d = (3 * 128 * 9 + 128) + conv3 + (3 * 128 + 128)  # optimised block: two 3x3 convs, 1x1 shortcut
    d += 2 * conv3 + (128 * 128 + 128)  # down block with a 1x1 shortcut
    d += 2 * (2 * conv3)  # two plain blocks, identity shortcuts
    d += 128 + 1  # linear to the logit
    assert sum(p.numel() for p in D.parameters()) == d


def test_width_scales_both_networks():
    G, D = build_models(ModelConfig(arch="resnet-32", width=32), (3, 32, 32))
    assert G.width == 64 and D.head.in_features == 32


def test_sngan_initialisation():
    torch.manual_seed(0)
    G, D = build_models(ModelConfig(arch="resnet-32", width=16), (3, 32, 32))
    conv = D.blocks[1].conv1  # residual 3x3: Glorot-uniform with gain sqrt(2)
    bound = math.sqrt(2) * math.sqrt(6 / (16 * 9 + 16 * 9))
    assert conv.weight.abs().max() <= bound and conv.weight.abs().max() > 0.9 * bound
    sc = D.blocks[1].shortcut  # shortcut: gain 1
    assert sc.weight.abs().max() <= math.sqrt(6 / (16 + 16))
    assert torch.all(conv.bias == 0) and torch.all(G.project.bias == 0)


def test_global_sum_pooling():
    _, D = build_models(ModelConfig(arch="resnet-32", width=8), (3, 32, 32))
    D.eval()
    x = torch.randn(2, 3, 32, 32)
    h = torch.relu(D.blocks(x)).sum(dim=(2, 3))  # [B, 8]
    torch.testing.assert_close(D(x), D.head(h))


@pytest.mark.parametrize("shape", [(3, 28, 28), (3, 64, 64), (2,)])
def test_wrong_shapes(shape):
    with pytest.raises(ConfigError, match="resnet-32 makes 32x32"):
        build_models(ModelConfig(arch="resnet-32"), shape)


def test_registry_names_the_paper():
    assert "Miyato" in next(e.help for e in MODELS.entries() if e.name == "resnet-32")
