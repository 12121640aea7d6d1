"""CycleGAN's ResNet generator."""

import pytest
import torch
from torch import nn

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.models import build_translator, model_kind
from gankit.models.resnet_gen import ResidualBlock
from gankit.registry import MODELS
from tests.nets import fit, n_params, smooth_images


def resnet_gen(source=(1, 28, 28), target=(1, 28, 28), **kw) -> nn.Module:
    torch.manual_seed(0)
    return build_translator(ModelConfig(arch="resnet-gen", **{"width": 8, "blocks": 2, **kw}), source, target)


def convs(G: nn.Module, kind: type = nn.Conv2d) -> list[nn.Module]:
    return [m for m in G.modules() if type(m) is kind]


@pytest.mark.parametrize("size", [28, 32])
@pytest.mark.parametrize("cs,ct", [(1, 1), (1, 3), (3, 1), (3, 3)])
def test_shapes_and_ranges(size, cs, ct):
    G = resnet_gen((cs, size, size), (ct, size, size))
    assert G.in_shape == (cs, size, size) and G.out_shape == (ct, size, size)
    assert G.scale == 1 and G.size_multiple == 4
    y = G(torch.rand(2, cs, size, size) * 2 - 1)
    assert y.shape == (2, ct, size, size) and y.min() >= -1 and y.max() <= 1
    assert G(torch.rand(1, cs, 2 * size, 2 * size) * 2 - 1).shape == (1, ct, 2 * size, 2 * size)  # larger images


def test_defaults_depth_2_and_6_blocks():
    G = build_translator(ModelConfig(arch="resnet-gen"), (3, 32, 32), (3, 32, 32))
    assert len(G.down) == 2 and len(G.up) == 2 and len(G.blocks) == 6
    assert [c.out_channels for c in convs(G)] == [64, 128, 256] + [256] * 12 + [3]  # c7s1-64, d128, d256, R256, c7s1-3
    assert [c.out_channels for c in convs(G, nn.ConvTranspose2d)] == [128, 64]  # u128, u64


def test_depth_and_blocks_follow_the_config():
    G = resnet_gen((1, 32, 32), (1, 32, 32), depth=4, blocks=3)
    assert G.size_multiple == 16 and len(G.blocks) == 3
    assert [c.out_channels for c in convs(G)[:5]] == [8, 16, 32, 64, 64]  # doubling, capped at 8w
    assert G(torch.zeros(1, 1, 32, 32)).shape == (1, 1, 32, 32)  # a 2x2 bottleneck still reflect-pads
    assert resnet_gen((1, 14, 14), (1, 14, 14)).size_multiple == 2  # the default, capped by the size


def test_a_depth_the_size_cannot_take_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match=r"^model\.depth=3 is too deep for resnet-gen on 28x28 images: they halve "
                                          r"evenly at most 2 times; set model\.depth to 2 or less$"):
        resnet_gen(depth=3)
    with pytest.raises(ConfigError, match="model.depth=5 .* 32x32 .* at most 4 times"):  # the innermost must stay >= 2
        resnet_gen((1, 32, 32), (1, 32, 32), depth=5)
    with pytest.raises(ConfigError, match="model.arch=srresnet or rrdb"):
        resnet_gen((1, 14, 14), (1, 28, 28))


def test_default_parameter_count():
    G = build_translator(ModelConfig(arch="resnet-gen"), (1, 28, 28), (1, 28, 28))
    # w = 64; every conv has a bias, InstanceNorm has no parameters.
    stem = 1 * 64 * 49 + 64  # c7s1-64
    down = (64 * 128 * 9 + 128) + (128 * 256 * 9 + 256)  # d128, d256
    blocks = 6 * 2 * (256 * 256 * 9 + 256)  # R256 x 6
    up = (256 * 128 * 9 + 128) + (128 * 64 * 9 + 64)  # u128, u64
    head = 64 * 1 * 49 + 1  # c7s1-1
    assert n_params(G) == stem + down + blocks + up + head == 7_825_153


def test_reflect_padding_and_parameter_free_instance_norm():
    G = resnet_gen()
    pads = [m.padding for m in G.modules() if isinstance(m, nn.ReflectionPad2d)]
    assert pads == [(3, 3, 3, 3)] + [(1, 1, 1, 1)] * 4 + [(3, 3, 3, 3)]  # c7s1, 2 blocks x 2 convs, c7s1
    norms = [m for m in G.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 1 + 2 + 2 * 2 + 2 and not any(m.affine for m in norms)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.modules())
    assert isinstance(G.head[-1], nn.Tanh)


def test_a_residual_block_adds_its_input():
    block = ResidualBlock(4)
    x = torch.randn(2, 4, 6, 6)
    last = block.body[-2]  # the second conv
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
    torch.testing.assert_close(block(x), x)  # the branch is zero: identity


def test_cyclegan_initialisation():
    G = build_translator(ModelConfig(arch="resnet-gen"), (3, 32, 32), (3, 32, 32))
    w = G.blocks[0].body[1].weight  # 256 -> 256, 3x3
    assert abs(w.mean().item()) < 1e-3 and w.std().item() == pytest.approx(0.02, rel=0.02)
    assert all(torch.all(c.bias == 0) for c in convs(G))


def test_an_input_of_the_wrong_size_is_a_clear_error():
    with pytest.raises(ValueError, match="resnet-gen takes images .* multiples of 4"):
        resnet_gen()(torch.zeros(1, 1, 30, 30))


def test_it_learns_a_fixed_batch():
    G = resnet_gen((1, 16, 16), (1, 16, 16))
    x = smooth_images(4, 1, 16)
    before, after = fit(G, x, -x.flip(-1))
    assert after < 0.5 * before


def test_registered_as_a_translation_model_citing_the_papers():
    assert model_kind("resnet-gen") == "translation"
    help = next(e.help for e in MODELS.entries() if e.name == "resnet-gen")
    assert "Johnson" in help and "Zhu" in help
