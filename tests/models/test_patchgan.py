"""The PatchGAN discriminator of the translation models."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from gankit.config import ModelConfig
from gankit.errors import ConfigError
from gankit.models import CycleDiscriminators, CycleGenerators, build_translation
from gankit.models.patchgan import build_patchgan, patch_grid, receptive_field
from tests.nets import n_params, smooth_images


def patchgan(image=(1, 28, 28), source=(1, 28, 28), **kw) -> nn.Module:
    torch.manual_seed(0)
    return build_patchgan(ModelConfig(**{"width": 8, **kw}), image, source)


def test_receptive_fields():
    # back from one logit: 4 (logit conv), +3 (stride-1 conv) = 7, then r -> 2(r - 1) + 4 per stride-2 conv
    assert [receptive_field(n) for n in range(5)] == [7, 16, 34, 70, 142]  # 3: the paper's 70x70 PatchGAN


@pytest.mark.parametrize("size,layers,grid", [(28, 1, 12), (32, 1, 14), (34, 2, 6), (64, 2, 14), (70, 3, 6),
                                               (256, 3, 30)])
def test_default_layers_and_patch_counts(size, layers, grid):
    D = patchgan((3, size, size), None)
    assert D.d_layers == layers and D.patch_size == receptive_field(layers) <= size
    assert patch_grid(size, layers) == grid  # each stride-2 conv halves the side, each stride-1 conv takes 1
    assert D(torch.zeros(2, 3, size, size)).shape == (2, grid * grid)


def test_an_explicit_d_layers_may_see_the_whole_image_but_must_leave_a_patch():
    assert patchgan(d_layers=1).d_layers == 1
    for layers, grid in ((2, 5), (3, 1)):  # fields of 34 and 70 px: every logit sees all of a 28x28 image
        D = patchgan(d_layers=layers)
        assert D.patch_size > 28 and D(torch.zeros(2, 1, 28, 28), torch.zeros(2, 1, 28, 28)).shape == (2, grid * grid)
    with pytest.raises(ConfigError, match=r"^model\.d_layers=4 halves the 28x28 images past the PatchGAN's last "
                                          r"patch: set model\.d_layers to 3 or less \(1 or less for patches smaller "
                                          r"than the image\)$") as e:
        patchgan(d_layers=4)
    assert "\n" not in str(e.value)
    assert patchgan((1, 64, 64), None, d_layers=2).d_layers == 2
    assert patchgan((1, 12, 12), None).d_layers == 0  # 7x7 patches by default
    assert patchgan((1, 12, 12), None, d_layers=2)(torch.zeros(2, 1, 12, 12)).shape == (2, 1)
    with pytest.raises(ConfigError, match=r"^model\.d_layers=3 halves the 12x12 images .* 2 or less \(0 or less"):
        patchgan((1, 12, 12), None, d_layers=3)
    with pytest.raises(ConfigError, match=r"^the PatchGAN needs images of at least 7x7, but they are 6x6"):
        patchgan((1, 6, 6), None)
    with pytest.raises(ConfigError, match=r"judges images \(C, H, W\)"):
        patchgan((2,), None)


def test_layers_channels_and_batch_norm_placement():
    D = patchgan((3, 70, 70), (1, 70, 70))  # 3 stride-2 layers
    conv = [b[0] for b in D.hidden]
    assert [c.stride for c in conv] == [(2, 2)] * 3 + [(1, 1)] and D.head.stride == (1, 1)
    assert all(c.kernel_size == (4, 4) for c in conv + [D.head])
    assert [c.out_channels for c in conv] == [8, 16, 32, 64] and D.head.out_channels == 1
    assert conv[0].in_channels == 3 + 1  # image and source stacked
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.hidden[0])
    assert all(isinstance(b[1], nn.BatchNorm2d) and isinstance(b[2], nn.LeakyReLU) for b in D.hidden[1:])
    deep = patchgan((1, 256, 256), None, d_layers=4)
    assert [b[0].out_channels for b in deep.hidden] == [8, 16, 32, 64, 64]  # capped at 8w


def test_default_parameter_count():
    D = build_patchgan(ModelConfig(), (1, 28, 28), (1, 28, 28))
    # w = 64, 1 stride-2 layer at 28x28; 4x4 convs. Conv 2->64 (+bias), conv 64->128 + BN, conv 128->1 (+bias).
    assert n_params(D) == (2 * 64 * 16 + 64) + (64 * 128 * 16 + 2 * 128) + (128 * 16 + 1) == 135_489
    D = build_patchgan(ModelConfig(), (3, 256, 256), (3, 256, 256))  # the paper's 70x70 PatchGAN
    n = (6 * 64 * 16 + 64) + sum(c * 2 * c * 16 + 2 * 2 * c for c in (64, 128, 256)) + (512 * 16 + 1)
    assert n_params(D) == n == 2_768_705


def test_the_source_changes_the_logits():
    D = patchgan().eval()
    x, s = smooth_images(2, 1, 28), smooth_images(2, 1, 28, seed=2)
    with torch.no_grad():
        a, b = D(x, s), D(x, -s)
    assert a.shape == (2, 144) and (a - b).abs().amax() > 1e-4
    with pytest.raises(ValueError, match="pass source"):
        D(x)
    with pytest.raises(ValueError, match="unconditional"):
        patchgan(source=None)(x, s)


def test_a_smaller_source_is_resized_bicubic():
    D = patchgan((3, 28, 28), (1, 7, 7)).eval()  # super-resolution x4
    x, s = torch.rand(2, 3, 28, 28), torch.rand(2, 1, 7, 7)
    up = nn.functional.interpolate(s, size=(28, 28), mode="bicubic", align_corners=False)
    with torch.no_grad():
        torch.testing.assert_close(D(x, s), D(x, up))
    assert D(x, s).shape == (2, 144)


def test_spectral_norm_on_every_conv_and_no_batch_norm():
    D = patchgan((1, 64, 64), (1, 64, 64), spectral_norm=True)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 4 and all(parametrize.is_parametrized(c, "weight") for c in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    D.train()
    x = torch.randn(2, 1, 64, 64)
    for _ in range(5):
        D(x, x)
    for c in convs:
        assert torch.linalg.matrix_norm(c.weight.flatten(1), ord=2).item() == pytest.approx(1.0, abs=2e-2)
    assert not any(parametrize.is_parametrized(m) for m in patchgan().modules())


@pytest.mark.parametrize("d_norm, layer", [("instance", nn.InstanceNorm2d), ("none", None)])
def test_d_norm_sets_the_normalization_and_instance_norm_judges_each_image_alone(d_norm, layer):
    torch.manual_seed(0)
    x, source = smooth_images(8, 1, 28), smooth_images(8, 1, 28)
    D = patchgan((1, 28, 28), (1, 28, 28), d_layers=3, d_norm=d_norm).train()
    norms = [b[1] for b in D.hidden[1:]]
    assert all(isinstance(n, layer) for n in norms) if layer else all(isinstance(n, nn.LeakyReLU) for n in norms)
    assert all(b[0].bias is None for b in D.hidden[1:]) == (layer is not None)  # a bias only without a norm
    # in train mode a BatchNorm D's verdict on an image moves with the rest of its batch; these do not
    alone, with_others = D(x[:1], source[:1]), D(x, source)[:1]
    assert torch.allclose(alone, with_others, atol=1e-5)
    batch = patchgan((1, 28, 28), (1, 28, 28), d_layers=3).train()
    assert not torch.allclose(batch(x[:2], source[:2])[:1], batch(x, source)[:1], atol=1e-3)


def test_instance_norm_may_go_with_spectral_norm():
    D = patchgan((1, 28, 28), (1, 28, 28), spectral_norm=True, d_norm="instance")
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in D.modules()) == len(D.hidden) - 1


def test_minibatch_std_lets_each_verdict_see_how_varied_its_group_is():
    x, source = smooth_images(8, 1, 28), smooth_images(8, 1, 28)
    D = patchgan(d_layers=3, d_norm="instance", minibatch_std=True)
    assert D.head.in_channels == patchgan(d_layers=3, d_norm="instance").head.in_channels + 1
    with torch.no_grad():
        D.head.weight[:, -1] = 1.0  # the spread's say, larger than at initialisation, so that it shows
    # with InstanceNorm an image's verdict is its own, but for the spread of its group of 4 (images i, i+2, ...)
    varied = D(x, source)[0]
    same_group_collapsed = x.clone()
    same_group_collapsed[0::2] = x[0]  # image 0's group now holds four copies of it
    assert (D(same_group_collapsed, source)[0] - varied).abs().item() > 0.01
    other_group_changed = x.clone()
    other_group_changed[1::2] = x[1]  # the other group only
    torch.testing.assert_close(D(other_group_changed, source)[0], varied)


def test_features_are_the_hidden_maps():
    D = patchgan((1, 64, 64), (1, 64, 64)).eval()  # 2 stride-2 layers, one stride-1
    x = torch.rand(2, 1, 64, 64)
    logits, maps = D(x, x, features=True)
    assert [tuple(m.shape) for m in maps] == [(2, 8, 32, 32), (2, 16, 16, 16), (2, 32, 15, 15)]
    torch.testing.assert_close(logits, D(x, x))
    assert logits.shape == (2, 14 * 14)


def test_pix2pix_initialisation():
    D = build_patchgan(ModelConfig(), (3, 64, 64), None)
    w = D.hidden[1][0].weight  # 64 -> 128
    assert abs(w.mean().item()) < 1e-3 and w.std().item() == pytest.approx(0.02, rel=0.02)
    assert torch.all(D.head.bias == 0)


def test_it_learns_to_tell_patches_apart():
    D = patchgan((1, 16, 16), None, leaky_slope=0.2)
    real, fake = smooth_images(4, 1, 16), smooth_images(4, 1, 16, seed=3).sign()  # sharp edges vs smooth
    bce = nn.functional.binary_cross_entropy_with_logits
    opt = torch.optim.Adam(D.parameters(), lr=2e-3)
    losses = []
    for _ in range(16):
        r, f = D(torch.cat([real, fake])).split(4)  # one batch: the same BatchNorm statistics for both
        loss = bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f))
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < 0.5 * losses[0]


def test_build_translation_pairs_a_generator_with_patchgans():
    cfg = ModelConfig(arch="srresnet", width=8, blocks=1)
    G, D = build_translation(cfg, (1, 14, 14), (3, 28, 28))
    assert G.scale == 2 and D.conditional and D.hidden[0][0].in_channels == 3 + 1
    x = torch.rand(2, 1, 14, 14)
    assert D(G(x), x).shape == (2, 144)
    _, D = build_translation(cfg, (1, 14, 14), (3, 28, 28), d_sees_source=False)  # SRGAN's D: the image alone
    assert not D.conditional and D.hidden[0][0].in_channels == 3 and D(G(x)).shape == (2, 144)
    with pytest.raises(ValueError, match="unconditional"):
        D(G(x), x)
    G, D = build_translation(ModelConfig(arch="unet", width=8), (1, 28, 28), (3, 28, 28), cycle=True)
    assert isinstance(G, CycleGenerators) and isinstance(D, CycleDiscriminators)
    assert not D.a.conditional and not D.b.conditional
    assert G.ba(G(torch.rand(2, 1, 28, 28))).shape == (2, 1, 28, 28)
    assert D.b(G(torch.rand(2, 1, 28, 28))).shape == (2, 144)


@pytest.mark.parametrize("size", [28, 64])
def test_a_class_head_reads_the_whole_image(size):
    torch.manual_seed(0)
    D = build_patchgan(ModelConfig(arch="unet", width=8), (1, size, size), None, num_classes=10)
    x = torch.zeros(2, 1, size, size)
    logits, classes = D.judge(x)
    assert logits.shape == (2, patch_grid(size, D.d_layers) ** 2) and classes.shape == (2, 10)
    corner = x.clone()
    corner[:, :, :4, :4] = 1.0  # a change in one corner, outside most patches
    far = x.clone()
    far[:, :, -4:, -4:] = 1.0  # and one in the opposite corner
    a, b = D.judge(corner)[1], D.judge(far)[1]
    assert not torch.allclose(a, classes) and not torch.allclose(b, classes) and not torch.allclose(a, b)


def test_a_patchgan_without_classes_has_no_class_head():
    D = build_patchgan(ModelConfig(arch="unet", width=8), (1, 28, 28), None)
    assert not hasattr(D, "classifier")
    with pytest.raises(ValueError, match="no class head"):
        D.judge(torch.zeros(1, 1, 28, 28))


def test_a_class_projection_judges_each_patch_as_one_of_its_class():
    torch.manual_seed(0)
    D = build_patchgan(ModelConfig(arch="unet", width=8), (1, 28, 28), None, num_classes=10, class_head=False,
                       projection=True).eval()  # eval: BatchNorm's running statistics, images judged one by one
    assert not hasattr(D, "classifier") and D.embed.weight.shape[0] == 10
    with torch.no_grad():
        D.embed.weight[3] = 0.0
        D.embed.weight[4] = 0.0
    x = torch.rand(2, 1, 28, 28) * 2 - 1

    def y(k):
        return torch.full((2,), k)

    base = D(x, y=y(3))
    assert base.shape == (2, 144) and torch.equal(base, D(x, y=y(4)))  # a zero embedding: the patch verdicts alone
    term = D(x, y=y(5)) - base  # class 5's term, patch by patch [2, 144]
    assert term.abs().min() > 0
    corner = x.clone()
    corner[:, :, :4, :4] = 1.0  # a change in one corner: only the patches centred near it judge it
    changed = ~torch.isclose(D(corner, y=y(5)) - D(corner, y=y(3)), term, atol=1e-5).view(2, 12, 12)
    assert changed[:, :3, :3].all() and not changed[:, 6:, :].any() and not changed[:, :, 6:].any()
    with pytest.raises(ValueError, match="pass y"):
        D(x)


def test_a_patchgan_without_a_class_projection_refuses_classes():
    D = build_patchgan(ModelConfig(arch="unet", width=8), (1, 28, 28), None, num_classes=10)
    assert not hasattr(D, "embed")
    with pytest.raises(ValueError, match="no class projection"):
        D(torch.zeros(1, 1, 28, 28), y=torch.zeros(1, dtype=torch.long))
