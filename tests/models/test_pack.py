import pytest
import torch

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.models import build_models


def test_packed_d_judges_m_samples_at_once():
    torch.manual_seed(0)
    _, D = build_models(ModelConfig(arch="mlp", pack=4, dropout=0.0), (2,))
    x = torch.randn(12, 2)
    out = D(x)
    assert out.shape == (3,)
    # a pack is consecutive samples concatenated: the inner D sees [B/m, m*2]
    assert torch.allclose(out, D.D(x.reshape(3, 8)))


def test_packed_images_concatenate_channels():
    torch.manual_seed(0)
    _, D = build_models(ModelConfig(arch="dcgan-28", pack=2, dropout=0.0), (3, 28, 28))
    x = torch.randn(6, 3, 28, 28)
    assert torch.allclose(D(x), D.D(torch.cat([x[0::2, None], x[1::2, None]], 1).reshape(3, 6, 28, 28)))


def test_pack_needs_a_divisible_batch_and_no_conditioning():
    _, D = build_models(ModelConfig(arch="mlp", pack=3, dropout=0.0), (2,))
    with pytest.raises(ConfigError, match="multiple of model.pack=3"):
        D(torch.randn(4, 2))
    with pytest.raises(ConfigError, match="unconditional"):
        build_models(ModelConfig(arch="dcgan-28", pack=2, conditioning="cgan"), (1, 28, 28), 10)
