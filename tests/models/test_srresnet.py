"""The super-resolution generators: SRGAN's SRResNet and ESRGAN's RRDB network."""

import math

import pytest
import torch
from torch import nn

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.models import build_translator, model_kind
from gankit.models.srresnet import RRDB, DenseBlock
from gankit.registry import MODELS
from tests.nets import fit, n_params, smooth_images

ARCHS = ["srresnet", "rrdb"]


def sr(arch, source=(1, 7, 7), target=(1, 28, 28), **kw) -> nn.Module:
    torch.manual_seed(0)
    return build_translator(ModelConfig(arch=arch, **{"width": 8, "blocks": 1, **kw}), source, target)


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("size", [28, 32])
@pytest.mark.parametrize("factor", [1, 2, 4])
@pytest.mark.parametrize("cs,ct", [(1, 1), (1, 3), (3, 3)])
def test_shapes_and_ranges(arch, size, factor, cs, ct):
    s = size // factor
    G = sr(arch, (cs, s, s), (ct, size, size))
    assert G.in_shape == (cs, s, s) and G.out_shape == (ct, size, size)
    assert G.scale == factor and G.size_multiple == 1
    y = G(torch.rand(2, cs, s, s) * 2 - 1)
    assert y.shape == (2, ct, size, size) and y.min() >= -1 and y.max() <= 1
    assert G(torch.rand(1, cs, s + 5, 2 * s) * 2 - 1).shape == (1, ct, factor * (s + 5), 2 * size)  # any size


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("source,target", [((1, 9, 9), (1, 27, 27)), ((1, 28, 28), (1, 14, 14)),
                                           ((1, 8, 8), (1, 28, 28)), ((1, 7, 7), (1, 28, 14)),
                                           ((1, 4, 4), (1, 32, 32))])
def test_a_factor_other_than_1_2_4_is_a_one_line_config_error(arch, source, target):
    with pytest.raises(ConfigError, match=rf"^model {arch} upsamples by 1, 2 or 4, but the target is "
                                          rf"{target[1]}x{target[2]} and the source {source[1]}x{source[2]}: "
                                          r"choose pair\.degradation sr2 or sr4") as e:
        sr(arch, source, target)
    assert "\n" not in str(e.value)


def test_srresnet_default_parameter_count():
    cfg = ModelConfig(arch="srresnet")
    G1 = build_translator(cfg, (1, 28, 28), (1, 28, 28))
    G4 = build_translator(cfg, (1, 7, 7), (1, 28, 28))
    # w = 32, 8 blocks. Convs followed by BN have no bias; each PReLU has one slope.
    stem = 1 * 32 * 81 + 32 + 1  # 9x9 conv 1->32, PReLU
    block = 2 * (32 * 32 * 9 + 2 * 32) + 1  # conv-BN-PReLU-conv-BN
    trunk = 8 * block + 32 * 32 * 9 + 2 * 32  # the blocks, conv-BN before the global skip
    head = 32 * 1 * 81 + 1  # 9x9 conv 32->1
    up = 32 * 128 * 9 + 128 + 1  # conv 32->4*32, PixelShuffle(2), PReLU
    assert n_params(G1) == stem + trunk + head == 162_986
    assert n_params(G4) == stem + trunk + 2 * up + head == 236_972


def test_rrdb_default_parameter_count():
    cfg = ModelConfig(arch="rrdb")
    G1 = build_translator(cfg, (1, 28, 28), (1, 28, 28))
    G2 = build_translator(cfg, (1, 14, 14), (1, 28, 28))
    # w = 32, growth 16, 4 RRDBs of 3 dense blocks of 5 3x3 convs (with biases); no BN.
    dense = sum((32 + k * 16) * 16 * 9 + 16 for k in range(4)) + (32 + 4 * 16) * 32 * 9 + 32
    assert dense == 60_000
    conv = 32 * 32 * 9 + 32
    total = (1 * 32 * 9 + 32) + 4 * 3 * dense + conv + conv + (32 * 1 * 9 + 1)  # stem, RRDBs, trunk conv, head
    up = 32 * 128 * 9 + 128
    assert n_params(G1) == total == 739_105
    assert n_params(G2) == total + up == 776_097


def test_srresnet_layers():
    G = sr("srresnet", blocks=3)
    assert len(G.blocks) == 3 + 2  # the residual blocks, then conv-BN
    assert G.stem[0].kernel_size == (9, 9) and isinstance(G.stem[1], nn.PReLU)
    assert [type(m) for m in G.upsample] == [nn.Conv2d, nn.PixelShuffle, nn.PReLU] * 2  # log2(4) blocks
    assert G.head[0].kernel_size == (9, 9) and isinstance(G.head[-1], nn.Tanh)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 2 * 3 + 1


def test_rrdb_layers_have_no_batch_norm_and_scale_their_residuals():
    G = sr("rrdb", blocks=2, leaky_slope=0.1)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.modules())
    assert sum(isinstance(m, RRDB) for m in G.modules()) == 2
    assert all(len(r.body) == 3 for r in G.modules() if isinstance(r, RRDB))
    assert {m.negative_slope for m in G.modules() if isinstance(m, nn.LeakyReLU)} == {0.1}
    assert [type(m) for m in G.upsample] == [nn.Conv2d, nn.PixelShuffle, nn.LeakyReLU] * 2
    dense = DenseBlock(8, 4)
    assert [c.in_channels for c in dense.convs] == [8, 12, 16, 20, 24]  # every earlier output concatenated
    x = torch.randn(2, 8, 5, 5)
    with torch.no_grad():
        dense.convs[-1].weight.zero_()
        dense.convs[-1].bias.fill_(1.0)
    torch.testing.assert_close(dense(x), x + 0.2)  # x + 0.2 * branch
    rrdb = RRDB(8, 4)
    with torch.no_grad():
        torch.testing.assert_close(rrdb(x), x + 0.2 * rrdb.body(x))


def test_initialisation():
    G = build_translator(ModelConfig(arch="rrdb"), (3, 32, 32), (3, 32, 32))
    conv = G.blocks[0].body[0].convs[2]  # a dense-block conv: He-normal x 0.1 (ESRGAN's smaller init)
    he = math.sqrt(2 / (conv.in_channels * 9))
    assert conv.weight.std().item() == pytest.approx(0.1 * he, rel=0.05)
    assert G.stem.weight.std().item() == pytest.approx(math.sqrt(2 / (3 * 9)), rel=0.2)  # other convs: He-normal
    S = build_translator(ModelConfig(arch="srresnet"), (3, 32, 32), (3, 32, 32))
    conv = S.blocks[0].body[0]
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / (32 * 9)), rel=0.05)
    assert torch.all(S.stem[0].bias == 0)


@pytest.mark.parametrize("arch", ARCHS)
def test_the_input_channels_are_checked(arch):
    with pytest.raises(ValueError, match=rf"{arch} takes images \[B, 1, H, W\]"):
        sr(arch)(torch.zeros(1, 3, 7, 7))


@pytest.mark.parametrize("arch", ARCHS)
def test_it_learns_a_fixed_batch(arch):
    G = sr(arch, (1, 8, 8), (1, 16, 16))
    hr = smooth_images(4, 1, 16)
    lr = nn.functional.avg_pool2d(hr, 2)  # [4, 1, 8, 8]
    before, after = fit(G, lr, hr)
    assert after < 0.5 * before


def test_registered_as_translation_models_citing_the_papers():
    helps = {e.name: e.help for e in MODELS.entries()}
    assert model_kind("srresnet") == model_kind("rrdb") == "translation"
    assert "Ledig" in helps["srresnet"] and "Wang" in helps["rrdb"]
