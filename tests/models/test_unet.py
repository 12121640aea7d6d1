"""The pix2pix U-Net, and the checks every translation generator shares."""

import pytest
import torch
from torch import nn

from gankit.cli import main
from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.models import build_models, build_translator, model_kind
from gankit.models.unet import halvings
from gankit.registry import MODELS
from tests.nets import fit, n_params, smooth_images


def unet(source=(1, 28, 28), target=(1, 28, 28), **kw) -> nn.Module:
    torch.manual_seed(0)
    return build_translator(ModelConfig(arch="unet", **{"width": 8, **kw}), source, target)


@pytest.mark.parametrize("size", [28, 32])
@pytest.mark.parametrize("cs,ct", [(1, 1), (1, 3), (3, 1), (3, 3)])
def test_shapes_and_ranges(size, cs, ct):
    G = unet((cs, size, size), (ct, size, size))
    assert G.in_shape == (cs, size, size) and G.out_shape == (ct, size, size)
    assert G.scale == 1 and G.size_multiple == 2**G.depth
    y = G(torch.randn(2, cs, size, size).clamp(-1, 1))
    assert y.shape == (2, ct, size, size) and y.min() >= -1 and y.max() <= 1
    big = G(torch.rand(2, cs, 2 * size, 2 * size) * 2 - 1)  # the same weights on larger images
    assert big.shape == (2, ct, 2 * size, 2 * size)
    assert G(torch.zeros(1, cs, size, 2 * size)).shape == (1, ct, size, 2 * size)  # and on non-square ones


def test_default_depth_is_what_the_size_allows_at_most_3():
    assert halvings(28) == 2 and halvings(32) == 5 and halvings(7) == 0 and halvings(32, smallest=2) == 4
    assert [unet((1, s, s), (1, s, s)).depth for s in (28, 32, 12, 64, 14)] == [2, 3, 2, 3, 1]
    assert unet((1, 32, 32), (1, 32, 32), depth=5).depth == 5  # down to 1x1, as pix2pix at 256x256


def test_a_depth_the_size_cannot_take_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match=r"^model\.depth=3 is too deep for unet on 28x28 images: they halve evenly "
                                          r"at most 2 times; set model\.depth to 2 or less$"):
        unet(depth=3)
    with pytest.raises(ConfigError, match="32x32 .* at most 5 times"):
        unet((1, 32, 32), (1, 32, 32), depth=6)
    for depth in (None, 1):
        with pytest.raises(ConfigError, match=r"^model unet halves its images \(model\.depth\), but 27x27 images do "
                                              r"not halve evenly: resize them to an even size of at least 2$") as e:
            unet((1, 27, 27), (1, 27, 27), depth=depth)
        assert "\n" not in str(e.value)


def test_shapes_it_cannot_translate_are_config_errors():
    with pytest.raises(ConfigError, match="source is 7x7 and the target 28x28: use model.arch=srresnet or rrdb"):
        unet((1, 7, 7), (1, 28, 28))
    with pytest.raises(ConfigError, match="2-D points"):
        unet((2,), (2,))
    with pytest.raises(ConfigError, match="set pair.kind"):  # asked for as a GAN: build(cfg, shape, num_classes)
        build_models(ModelConfig(arch="unet"), (1, 28, 28))


def test_default_parameter_count():
    G = build_translator(ModelConfig(arch="unet"), (1, 28, 28), (1, 28, 28))
    # w = 64, depth 2 (28 -> 14 -> 7); 4x4 kernels. Encoder: conv 1->64 (+bias), conv 64->128 + BN.
    # Decoder: convT 128->64 + BN, then [64 up, 64 skip] -> convT 128->1 (+bias).
    enc = (1 * 64 * 16 + 64) + 64 * 128 * 16 + 2 * 128
    dec = 128 * 64 * 16 + 2 * 64 + (128 * 1 * 16 + 1)
    assert n_params(G) == enc + dec == 265_665


def test_channels_double_per_level_capped_at_8w():
    G = unet((3, 32, 32), (1, 32, 32), depth=5)
    assert [b[-1].num_features if i else b[0].out_channels for i, b in enumerate(G.down)] == [8, 16, 32, 64, 64]
    convT = [next(m for m in b if isinstance(m, nn.ConvTranspose2d)) for b in G.up]
    assert [c.in_channels for c in convT] == [16, 32, 64, 128, 64]  # [up, skip] concatenated; the innermost alone
    assert [c.out_channels for c in convT] == [1, 8, 16, 32, 64]


def test_batch_norm_on_all_but_the_first_layer_and_tanh_out():
    G = unet((1, 32, 32), (1, 32, 32))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.down[0])
    assert all(isinstance(b[-1], nn.BatchNorm2d) and isinstance(b[0], nn.LeakyReLU) for b in G.down[1:])
    assert G.down[1][0].negative_slope == 0.2
    assert all(isinstance(b[0], nn.ReLU) and isinstance(b[-1], nn.BatchNorm2d) for b in G.up[1:])
    assert isinstance(G.up[0][-1], nn.Tanh)
    assert unet(leaky_slope=0.1).down[1][0].negative_slope == 0.1


def test_skip_connections_carry_the_image_past_the_bottleneck():
    G = unet().eval()
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    G.down[-1].register_forward_hook(lambda module, args, out: torch.zeros_like(out))  # cut the bottleneck
    with torch.no_grad():
        y = G(x)
    assert y.abs().amax() > 0  # not zeroed
    assert (y[0] - y[1]).abs().amax() > 1e-3 * y.abs().amax()  # and still a function of each input


def seen_by(G: nn.Module, row: int, col: int, size: int = 28) -> torch.Tensor:
    """[size, size] bool: the input pixels output pixel (row, col) depends on (nonzero gradient for some input)."""
    seen = torch.zeros(size, size, dtype=torch.bool)
    for _ in range(4):  # a ReLU can hide a path for one input, not for all
        x = (torch.rand(1, 1, size, size) * 2 - 1).requires_grad_()
        G(x)[0, 0, row, col].backward()
        seen |= x.grad[0, 0] != 0
    return seen


def test_dilated_blocks_at_the_bottleneck_let_every_pixel_see_the_whole_image():
    torch.manual_seed(0)
    plain, wide = unet().eval(), unet(blocks=2).eval()
    assert len(plain.blocks) == 0
    assert [[c.dilation for c in b.body if isinstance(c, nn.Conv2d)] for b in wide.blocks] == [[(1, 1)] * 2,
                                                                                              [(2, 2)] * 2]
    centre = seen_by(plain, 14, 14)  # the middle of a 12x12 hole at (8, 8)-(19, 19)
    rows = centre.any(dim=1).nonzero().flatten()
    assert rows.min() >= 5 and rows.max() <= 22  # at most 3 pixels past the hole's edges
    for row, col in ((14, 14), (0, 0), (27, 27), (0, 27)):
        assert seen_by(wide, row, col).all(), (row, col)
    assert wide(torch.zeros(2, 1, 56, 44)).shape == (2, 1, 56, 44)  # still any multiple of 4


def test_the_blocks_add_two_dilated_3x3_convs_of_the_bottlenecks_width_each():
    conv_bn = 128 * 128 * 9 + 2 * 128  # no bias: BatchNorm follows
    assert n_params(unet(width=64, blocks=3)) == 265_665 + 3 * 2 * conv_bn


def test_pix2pix_initialisation():
    G = build_translator(ModelConfig(arch="unet"), (3, 32, 32), (3, 32, 32))
    w = G.down[1][1].weight  # conv 64 -> 128, 4x4
    assert abs(w.mean().item()) < 1e-3 and w.std().item() == pytest.approx(0.02, rel=0.02)
    assert G.down[1][2].weight.std().item() == pytest.approx(0.02, rel=0.3)  # BN gamma ~ N(1, 0.02)
    assert G.down[1][2].weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.all(G.down[0][0].bias == 0)


def test_an_input_of_the_wrong_size_is_a_clear_error():
    G = unet()  # size_multiple 4
    with pytest.raises(ValueError, match=r"unet takes images \[B, 1, H, W\] with H and W multiples of 4, got"):
        G(torch.zeros(1, 1, 30, 30))
    with pytest.raises(ValueError, match="multiples of 4"):
        G(torch.zeros(1, 3, 28, 28))


def test_it_learns_a_fixed_batch():
    G = unet((1, 16, 16), (3, 16, 16))
    x = smooth_images(4, 1, 16)
    before, after = fit(G, x, torch.cat([x, -x, x.flip(-1)], dim=1))  # a colour per transform
    assert after < 0.5 * before


def test_registered_as_a_translation_model_citing_the_paper():
    assert model_kind("unet") == "translation"
    assert "Isola" in next(e.help for e in MODELS.entries() if e.name == "unet")


def test_gankit_list_models_lists_every_architecture(capsys):
    assert main(["list", "models"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line and not line[0].isspace()}
    assert listed == set(MODELS.names())
    assert {"unet", "resnet-gen", "srresnet", "rrdb", "dcgan-28", "vae"} <= listed
