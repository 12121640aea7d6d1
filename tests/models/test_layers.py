"""The shared layers, and the contract every architecture keeps through them."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.models import build_generator, build_models
from gankit.models.layers import (
    ConditionalBatchNorm,
    ConditionalHead,
    CondSequential,
    LabelConcat,
    ProjectionEmbedding,
    apply_spectral_norm,
    batch_norm,
    class_count,
    generator_labels,
    image_shape,
    label_dim,
)

K = 5


def labels(b: int = 4) -> torch.Tensor:
    return torch.arange(b) % K


# ---------------------------------------------------------------------------
# the layers
# ---------------------------------------------------------------------------


def test_conditional_batch_norm_starts_as_plain_batch_norm():
    torch.manual_seed(0)
    cbn, bn = ConditionalBatchNorm(6, K), nn.BatchNorm2d(6)
    assert torch.all(cbn.gamma.weight == 1) and torch.all(cbn.beta.weight == 0)
    x = torch.randn(4, 6, 3, 3)
    torch.testing.assert_close(cbn(x, labels()), bn(x))
    torch.testing.assert_close(cbn.bn.running_mean, bn.running_mean)


def test_conditional_batch_norm_is_per_class():
    cbn = ConditionalBatchNorm(3, K, dim=1)
    with torch.no_grad():
        cbn.gamma.weight[2] = 2.0
        cbn.beta.weight[2] = 0.5
    x = torch.randn(4, 3)
    out = cbn(x, torch.tensor([0, 2, 0, 2]))  # [B, F]
    h = cbn.bn(x)
    torch.testing.assert_close(out[[0, 2]], h[[0, 2]])
    torch.testing.assert_close(out[[1, 3]], 2 * h[[1, 3]] + 0.5)
    with pytest.raises(ValueError, match="labels"):
        cbn(x)


def test_batch_norm_factory():
    assert isinstance(batch_norm(4), nn.BatchNorm2d) and isinstance(batch_norm(4, dim=1), nn.BatchNorm1d)
    assert isinstance(batch_norm(4, K), ConditionalBatchNorm)


def test_cond_sequential_passes_labels_only_to_layers_that_take_them():
    seq = CondSequential(nn.Linear(3, 4), ConditionalBatchNorm(4, K, dim=1), nn.ReLU())
    assert list(seq.state_dict())[:2] == ["0.weight", "0.bias"]  # nn.Sequential's names
    assert seq(torch.randn(4, 3), labels()).shape == (4, 4)
    plain = CondSequential(nn.Linear(3, 4), nn.ReLU())
    assert plain(torch.randn(2, 3)).shape == (2, 4)  # no labels needed without conditional layers


def test_label_concat():
    lc = LabelConcat(K)
    assert lc.dim == label_dim(K) == K
    assert lc(torch.zeros(4, 7), labels()).shape == (4, 7 + K)
    assert label_dim(1000) == 128


def test_generator_labels():
    assert generator_labels("none", K) == (None, 0)
    assert isinstance(generator_labels("cgan", K)[0], LabelConcat)
    assert isinstance(generator_labels("acgan", K)[0], LabelConcat)
    assert generator_labels("projection", K) == (None, K)  # conditional BN
    assert isinstance(generator_labels("projection", K, has_batch_norm=False)[0], LabelConcat)


def test_conditional_heads():
    h = torch.randn(4, 8)
    assert ConditionalHead(8)(h).shape == (4,)
    cgan = ConditionalHead(8, "cgan", K)
    assert cgan.in_features == 8 + K and cgan(h, labels()).shape == (4,)
    logits, classes = ConditionalHead(8, "acgan", K)(h)
    assert logits.shape == (4,) and classes.shape == (4, K)
    tac = ConditionalHead(8, "tac", K)
    logits, classes, twin = tac(h)
    assert logits.shape == (4,) and classes.shape == twin.shape == (4, K)
    torch.testing.assert_close(twin, tac.twin(h))
    assert not torch.equal(classes, twin)  # two classifiers, initialised apart
    proj = ConditionalHead(8, "projection", K)
    y = labels()
    expected = nn.functional.linear(h, proj.weight, proj.bias).squeeze(1) + (proj.embed.weight[y] * h).sum(1)
    torch.testing.assert_close(proj(h, y), expected)
    for c in ("cgan", "projection"):
        with pytest.raises(ValueError, match="class-conditional"):
            ConditionalHead(8, c, K)(h)


def test_spectral_norm_normalises_the_largest_singular_value():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3), nn.Flatten(), nn.Linear(16 * 6 * 6, 10))
    head = ConditionalHead(10, "projection", K)
    with torch.no_grad():  # make the raw weights far from unit norm
        net[0].weight.mul_(7.0)
        head.embed.weight.mul_(30.0)
    model = apply_spectral_norm(nn.ModuleDict({"net": net, "head": head}))
    for layer in (net[0], net[2], head, head.embed):
        assert parametrize.is_parametrized(layer, "weight")
    model.train()
    x = torch.randn(4, 3, 8, 8)
    for _ in range(10):  # one power iteration per forward in training mode
        head(net(x), labels())
    for layer in (net[0], net[2], head.embed):
        w = layer.weight.reshape(layer.weight.shape[0], -1)  # the effective (normalised) weight
        assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=1e-2)


def test_image_shape_and_class_count_checks():
    assert image_shape((3, 32, 32), "x", (28, 32)) == (3, 32)
    with pytest.raises(ConfigError, match="^model x makes 28x28 images, but the dataset's are 32x32$"):
        image_shape((1, 32, 32), "x", (28,))
    assert class_count(ModelConfig(), 10, "x") == 0
    assert class_count(ModelConfig(conditioning="acgan"), 10, "x") == 10
    with pytest.raises(ConfigError, match="conditioning=acgan"):
        class_count(ModelConfig(conditioning="acgan"), 0, "x")


# ---------------------------------------------------------------------------
# every architecture, through the shared layers
# ---------------------------------------------------------------------------

ARCHS = [("dcgan-28", (1, 28, 28)), ("dcgan-32", (3, 32, 32)), ("dcgan-64", (3, 64, 64)),
         ("resnet-32", (3, 32, 32)), ("mlp", (1, 28, 28)), ("mlp", (2,))]
CONDITIONINGS = ["none", "cgan", "acgan", "tac", "projection"]


def build(arch, shape, conditioning="none", spectral_norm=False):
    torch.manual_seed(0)
    cfg = ModelConfig(arch=arch, conditioning=conditioning, spectral_norm=spectral_norm, width=8, latent_dim=16)
    G, D = build_models(cfg, shape, K if conditioning != "none" else 0)
    return G, D


@pytest.mark.parametrize("arch,shape", ARCHS)
@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_contract(arch, shape, conditioning):
    G, D = build(arch, shape, conditioning)
    conditional = conditioning != "none"
    assert G.latent_dim == 16 and G.out_shape == shape and G.num_classes == (K if conditional else 0)
    z, y = torch.randn(4, 16), labels()
    x = G(z, y)
    assert x.shape == (4, *shape) and x.dtype == torch.float32
    out = D(x, y)
    if conditioning in ("acgan", "tac"):
        assert isinstance(out, tuple) and len(out) == (2 if conditioning == "acgan" else 3)
        assert out[0].shape == (4,) and all(o.shape == (4, K) for o in out[1:])
        assert torch.equal(D.eval()(x, y)[0], D(x, None)[0])  # ACGAN's D ignores the label
    else:
        assert isinstance(out, torch.Tensor) and out.shape == (4,)
    assert D.conditioning == conditioning and D.num_classes == G.num_classes
    if conditional:
        with pytest.raises(ValueError, match="class-conditional"):
            G(z)
    if conditioning in ("cgan", "projection"):
        with pytest.raises(ValueError, match="class-conditional"):
            D(x)


@pytest.mark.parametrize("arch,shape", ARCHS)
@pytest.mark.parametrize("conditioning", ["cgan", "acgan", "projection"])
def test_labels_change_the_samples(arch, shape, conditioning):
    G, _ = build(arch, shape, conditioning)
    G.eval()  # no batch statistics: each sample depends on its own z and y only
    cbns = [m for m in G.modules() if isinstance(m, ConditionalBatchNorm)]
    z = torch.randn(1, 16).repeat(K, 1)  # one z, every label
    if cbns:  # per-class gamma and beta start equal (1 and 0): let them differ as training would
        with torch.no_grad():
            assert torch.equal(G(z, torch.arange(K))[0], G(z, torch.arange(K))[1])
            for m in cbns:
                m.gamma.weight.normal_(1.0, 0.3)
                m.beta.weight.normal_(0.0, 0.3)
    with torch.no_grad():
        x = G(z, torch.arange(K)).flatten(1)
    # (eval-mode outputs of a freshly initialised DCGAN are tiny: compare relative to their scale)
    assert (x[1:] - x[0]).abs().amax(dim=1).min() > 1e-3 * x.abs().max()


@pytest.mark.parametrize("arch,shape", ARCHS)
def test_spectral_norm_on_every_discriminator_layer(arch, shape):
    G, D = build(arch, shape, "projection", spectral_norm=True)
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear, ProjectionEmbedding))]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(parametrize.is_parametrized(m) for m in G.modules())
    _, D_plain = build(arch, shape, "projection")
    assert not any(parametrize.is_parametrized(m) for m in D_plain.modules())
    D.train()
    x = torch.randn(4, *shape)
    for _ in range(5):
        D(x, labels())
    for m in layers:
        w = m.weight.reshape(m.weight.shape[0], -1)
        assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=2e-2)


@pytest.mark.parametrize("arch,shape", ARCHS)
@pytest.mark.parametrize("conditioning,sn", [("none", False), ("projection", True), ("acgan", True), ("tac", True)])
def test_state_dicts_round_trip(arch, shape, conditioning, sn):
    G, D = build(arch, shape, conditioning, sn)
    torch.manual_seed(1)
    cfg = ModelConfig(arch=arch, conditioning=conditioning, spectral_norm=sn, width=8, latent_dim=16)
    G2, D2 = build_models(cfg, shape, K if conditioning != "none" else 0)
    G2.load_state_dict(G.state_dict())
    D2.load_state_dict(D.state_dict())
    for m in (G, D, G2, D2):
        m.eval()
    z, y = torch.randn(3, 16), labels(3)
    with torch.no_grad():
        x = G(z, y)
        torch.testing.assert_close(G2(z, y), x, rtol=0, atol=0)
        out, out2 = D(x, y), D2(x, y)
    torch.testing.assert_close(out, out2, rtol=0, atol=0)


@pytest.mark.parametrize("arch,shape", ARCHS)
def test_conditioning_without_classes_is_a_config_error(arch, shape):
    cfg = ModelConfig(arch=arch, conditioning="cgan", width=8)
    with pytest.raises(ConfigError, match="conditioning=cgan") as e:
        build_models(cfg, shape)
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError):
        build_generator(cfg, shape, num_classes=0)


def test_classes_without_conditioning_give_unconditional_models():
    G, D = build_models(ModelConfig(width=8), (1, 28, 28), num_classes=10)
    assert G.num_classes == 0 and D.num_classes == 0
    assert G(torch.randn(2, 100)).shape == (2, 1, 28, 28)


def test_fast_dropout_matches_nn_dropout_in_distribution_and_gradient():
    from gankit.models.layers import Dropout

    torch.manual_seed(0)
    d = Dropout(0.3)
    x = torch.ones(400, 500, requires_grad=True)
    y = d(x)
    kept = (y != 0).float()
    assert abs(kept.mean().item() - 0.7) < 0.005  # p = 0.3 within sampling noise (200,000 draws)
    assert torch.allclose(y[y != 0], torch.full_like(y[y != 0], 1 / 0.7), rtol=1e-4)  # inverted scaling
    assert abs(y.mean().item() - 1.0) < 0.01  # expectation preserved
    y.sum().backward()
    assert torch.equal(x.grad != 0, kept.bool())  # the gradient flows through kept units only
    # rows of the mask are independent: neighbouring 16-bit chunks of one draw are not correlated
    assert abs(torch.corrcoef(kept.view(-1, 4).T)[0, 1:].abs().max().item()) < 0.02
    d.eval()
    assert torch.equal(d(x), x)
    torch.manual_seed(1)
    a = Dropout(0.3)(torch.ones(1000))
    torch.manual_seed(1)
    assert torch.equal(a, Dropout(0.3)(torch.ones(1000)))  # the global generator drives it


def test_minibatch_std_adds_the_spread_of_each_group():
    from gankit.models.layers import MinibatchStd

    h = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [5.0, 5.0], [5.0, 5.0], [5.0, 5.0], [5.0, 5.0]])
    out = MinibatchStd(group=4)(h)  # groups: samples {0, 2, 4, 6} and {1, 3, 5, 7}
    assert out.shape == (8, 3) and torch.equal(out[:, :2], h)
    spread = [torch.tensor([0.0, 2.0, 5.0, 5.0]).std(unbiased=False), torch.tensor([1.0, 3.0, 5.0, 5.0]).std(
        unbiased=False)]
    assert torch.allclose(out[:, 2], torch.stack(spread).repeat(4), atol=1e-4)
    collapsed = MinibatchStd()(torch.ones(8, 4))[:, -1]
    assert (collapsed < 1e-3).all()  # identical samples: no spread for D to miss
    assert MinibatchStd()(torch.randn(6, 4)).shape == (6, 5)  # 6 is not a multiple of 4: groups of 3


def test_minibatch_std_of_feature_maps_is_one_more_channel_constant_over_positions():
    from gankit.models.layers import MinibatchStd

    h = torch.randn(8, 3, 5, 5)
    out = MinibatchStd(group=4)(h)  # -> [8, 4, 5, 5]
    assert out.shape == (8, 4, 5, 5) and torch.equal(out[:, :3], h)
    flat = MinibatchStd(group=4)(h.flatten(1))[:, -1]  # the same spread as of the flattened features
    assert torch.allclose(out[:, 3], flat[:, None, None].expand(8, 5, 5))


@pytest.mark.parametrize("arch, shape", [("dcgan-28", (1, 28, 28)), ("dcgan-32", (3, 32, 32)), ("mlp", (2,))])
def test_minibatch_std_is_an_option_of_d(arch, shape):
    from gankit.config import ModelConfig
    from gankit.models import build_models

    _, plain = build_models(ModelConfig(arch=arch, dropout=0.0), shape, 0)
    _, with_std = build_models(ModelConfig(arch=arch, dropout=0.0, minibatch_std=True), shape, 0)
    assert with_std.head.in_features == plain.head.in_features + 1
    assert with_std(torch.randn(4, *shape)).shape == (4,)
