import pytest
import torch
from torch import nn

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.models import build_models
from gankit.registry import MODELS


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------------------
# dcgan-28, the tutorial's model
# ---------------------------------------------------------------------------


def test_shapes_and_ranges():
    torch.manual_seed(0)
    G, D = build_models(ModelConfig(), (1, 28, 28))
    z = torch.randn(5, 100)
    x = G(z)
    assert x.shape == (5, 1, 28, 28)  # not the tutorial's 56x56
    assert x.min() >= -1 and x.max() <= 1  # tanh
    assert D(x).shape == (5,)  # one logit per image
    assert G.latent_dim == 100 and G.out_shape == (1, 28, 28)
    assert G.num_classes == 0 and D.num_classes == 0 and D.conditioning == "none"


def test_parameter_counts_match_the_seeds_layers():
    G, D = build_models(ModelConfig(), (1, 28, 28))
    # Dense 100->12544 (no bias) + BN, ConvT 256->128, BN, ConvT 128->64, BN, ConvT 64->1 (all 5x5, no bias)
    g = 100 * 12544 + 2 * 12544 + 256 * 128 * 25 + 2 * 128 + 128 * 64 * 25 + 2 * 64 + 64 * 1 * 25
    # Conv 1->64 and 64->128 (5x5, bias), Dense 6272->1
    d = (1 * 64 * 25 + 64) + (64 * 128 * 25 + 128) + (6272 + 1)
    assert n_params(G) == g == 2_305_472
    assert n_params(D) == d == 212_865


def test_parameter_names_of_saved_runs_are_kept():
    G, D = build_models(ModelConfig(), (1, 28, 28))
    assert list(G.state_dict())[:3] == ["project.0.weight", "project.1.weight", "project.1.bias"]
    assert "upsample.0.weight" in G.state_dict() and "upsample.6.weight" in G.state_dict()
    assert list(D.state_dict()) == ["features.0.weight", "features.0.bias", "features.3.weight",
                                    "features.3.bias", "head.weight", "head.bias"]


def test_same_seed_same_model_as_before_the_refactor():
    # Values computed with the tutorial's dcgan-28 code before conditioning, width and
    # spectral norm were added: same seed, same weights, same outputs.
    torch.manual_seed(0)
    G, D = build_models(ModelConfig(), (1, 28, 28))
    z = torch.randn(4, 100, generator=torch.Generator().manual_seed(1))
    idx = [0, 100, 400, 783, 3000]
    G.eval(), D.eval()
    with torch.no_grad():
        x = G(z)
        logits = D(x)
        G.train()
        x_train = G(z)  # BN on batch statistics
    expect_eval = [0.017486106604337692, 0.030319752171635628, -0.002096528885886073, 0.0017248409567400813,
                   0.001904839649796486]
    expect_train = [0.4517795443534851, -0.08400746434926987, -0.46368569135665894, -0.025065960362553596,
                    -0.07393421232700348]
    expect_logits = [0.0001244802842848003, -0.0001472464355174452, 0.0017705679638311267, -0.0008438621880486608]
    torch.testing.assert_close(x.flatten()[idx], torch.tensor(expect_eval), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(x_train.flatten()[idx], torch.tensor(expect_train), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(logits, torch.tensor(expect_logits), rtol=1e-3, atol=1e-7)
    assert x.abs().sum().item() == pytest.approx(42.0507926940918, rel=1e-5)
    assert x_train.abs().sum().item() == pytest.approx(1064.259033203125, rel=1e-5)


def test_glorot_init_and_zero_biases():
    G, D = build_models(ModelConfig(), (1, 28, 28))
    w = D.features[3].weight  # Conv 64->128, 5x5: Glorot bound sqrt(6 / (fan_in + fan_out))
    bound = (6 / (64 * 25 + 128 * 25)) ** 0.5
    assert w.abs().max() <= bound and w.abs().max() > 0.9 * bound
    assert torch.all(D.features[3].bias == 0) and torch.all(D.head.bias == 0)


def test_channels_and_latent_dim_follow_the_config():
    G, D = build_models(ModelConfig(latent_dim=16), (3, 28, 28))
    assert G(torch.randn(2, 16)).shape == (2, 3, 28, 28)
    assert D(torch.zeros(2, 3, 28, 28)).shape == (2,)


def test_width_scales_the_channels():
    G, D = build_models(ModelConfig(width=16), (1, 28, 28))
    assert G.project[0].out_features == 7 * 7 * 64  # 4w
    assert [G.upsample[i].out_channels for i in (0, 3, 6)] == [32, 16, 1]
    assert [D.features[i].out_channels for i in (0, 3)] == [16, 32]
    assert G(torch.randn(2, 100)).shape == (2, 1, 28, 28)


def test_wrong_image_size_is_a_clear_error():
    with pytest.raises(ConfigError, match="28x28.*32x32"):
        build_models(ModelConfig(), (3, 32, 32))
    with pytest.raises(ConfigError, match="points"):
        build_models(ModelConfig(), (2,))


def test_dropout_only_in_training_mode():
    _, D = build_models(ModelConfig(), (1, 28, 28))
    x = torch.randn(8, 1, 28, 28)
    D.eval()
    assert torch.equal(D(x), D(x))
    D.train()
    assert not torch.equal(D(x), D(x))


def test_projection_swaps_every_batch_norm_for_conditional_batch_norm():
    G, _ = build_models(ModelConfig(conditioning="projection", width=8), (1, 28, 28), num_classes=10)
    kinds = {type(m).__name__ for m in G.modules()}
    assert "ConditionalBatchNorm" in kinds
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.affine for m in G.modules())


def test_registry():
    assert {"dcgan-28", "dcgan-32", "dcgan-64"} <= set(MODELS.names())
    assert all("Radford" in e.help for e in MODELS.entries() if e.name.startswith("dcgan"))


# ---------------------------------------------------------------------------
# dcgan-32, dcgan-64: Radford et al. 2015
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_paper_shapes_and_ranges(size, channels):
    G, D = build_models(ModelConfig(arch=f"dcgan-{size}", width=8, latent_dim=20), (channels, size, size))
    x = G(torch.randn(3, 20))
    assert x.shape == (3, channels, size, size) and G.out_shape == (channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (3,)


def test_dcgan32_parameter_count():
    G, D = build_models(ModelConfig(arch="dcgan-32"), (3, 32, 32))
    # ConvT 100->512 (4x4 start), BN, ConvT 512->256, BN, ConvT 256->128, BN, ConvT 128->3 (+bias); all 4x4
    g = 100 * 512 * 16 + 1024 + 512 * 256 * 16 + 512 + 256 * 128 * 16 + 256 + 128 * 3 * 16 + 3
    # Conv 3->64 (+bias, no BN), Conv 64->128, BN, Conv 128->256, BN, last 4x4x256 -> 1 (+bias)
    d = 3 * 64 * 16 + 64 + 64 * 128 * 16 + 256 + 128 * 256 * 16 + 512 + 256 * 16 + 1
    assert n_params(G) == g == 3_448_579
    assert n_params(D) == d == 663_361


def test_dcgan64_channels():
    G, D = build_models(ModelConfig(arch="dcgan-64", width=8), (3, 64, 64))
    g_convs = [m.out_channels for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    d_convs = [m.out_channels for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert g_convs == [64, 32, 16, 8, 3]  # 8w, 4w, 2w, w, C
    assert d_convs == [8, 16, 32, 64]  # w, 2w, 4w, 8w, then the 4x4 -> 1 head
    assert D.head.in_features == 64 * 4 * 4


def test_dcgan_discriminator_batch_norm_placement():
    _, D = build_models(ModelConfig(arch="dcgan-32", width=8), (3, 32, 32))
    layers = list(D.features)
    assert isinstance(layers[0], nn.Conv2d) and isinstance(layers[1], nn.LeakyReLU)  # no BN on the first layer
    assert sum(isinstance(m, nn.BatchNorm2d) for m in layers) == 2
    _, D_sn = build_models(ModelConfig(arch="dcgan-32", width=8, spectral_norm=True), (3, 32, 32))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D_sn.modules())


def test_dcgan_paper_initialisation():
    torch.manual_seed(0)
    G, D = build_models(ModelConfig(arch="dcgan-32"), (3, 32, 32))
    w = G.net[3].weight  # ConvT 512 -> 256
    assert abs(w.mean().item()) < 1e-3 and w.std().item() == pytest.approx(0.02, rel=0.02)
    gamma = G.net[1].weight  # BN after the 4x4 start
    assert gamma.mean().item() == pytest.approx(1.0, abs=0.005) and gamma.std().item() == pytest.approx(0.02, rel=0.2)
    assert torch.all(G.net[1].bias == 0)
    assert D.features[2].weight.std().item() == pytest.approx(0.02, rel=0.05)


@pytest.mark.parametrize("arch,shape", [("dcgan-32", (3, 28, 28)), ("dcgan-64", (3, 32, 32)),
                                        ("dcgan-32", (2,)), ("dcgan-64", (3, 64, 32))])
def test_dcgan_paper_wrong_shapes(arch, shape):
    with pytest.raises(ConfigError, match=arch):
        build_models(ModelConfig(arch=arch), shape)
