"""Each loss against its formula, on values computed by hand."""

import math

import pytest
import torch
import torch.nn.functional as F

from gankit.losses import GANLoss, acgan_loss, adversarial, clip_weights_
from gankit.registry import LOSSES

REAL = torch.tensor([0.0, 2.0])  # logits of D on real images
FAKE = torch.tensor([-1.0, 3.0])  # logits of D on fakes


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# By hand: sigmoid(0) = 0.5, sigmoid(2) = 0.8807971, sigmoid(-1) = 0.2689414, sigmoid(3) = 0.9525741
#   -log D(x):       -log 0.5 = 0.6931472,   -log 0.8807971 = 0.1269280  -> mean 0.4100376
#   -log(1-D(G(z))): -log 0.7310586 = 0.3132617, -log 0.0474259 = 3.0485874 -> mean 1.6809245
#   -log D(G(z)):    -log 0.2689414 = 1.3132617, -log 0.9525741 = 0.0485874 -> mean 0.6809245
D_LOSS = 0.4100376 + 1.6809245
MINIMAX_G = -1.6809245
NONSAT_G = 0.6809245


def test_hand_values_match_the_formulas():
    # guard the hand arithmetic itself against the textbook expressions
    d = -(math.log(sigmoid(0)) + math.log(sigmoid(2))) / 2 - (math.log(1 - sigmoid(-1)) + math.log(1 - sigmoid(3))) / 2
    assert d == pytest.approx(D_LOSS, abs=1e-6)


@pytest.mark.parametrize("name", ["minimax", "nonsaturating"])
def test_d_loss_is_negated_value_function(name):
    loss: GANLoss = LOSSES.get(name)
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(D_LOSS, abs=1e-5)


def test_minimax_g_loss_is_log_one_minus_d():
    assert LOSSES.get("minimax").g_loss(FAKE, REAL).item() == pytest.approx(MINIMAX_G, abs=1e-5)


def test_nonsaturating_g_loss_is_minus_log_d():
    assert LOSSES.get("nonsaturating").g_loss(FAKE, REAL).item() == pytest.approx(NONSAT_G, abs=1e-5)


def test_losses_stay_finite_where_log_sigmoid_overflows():
    # log(sigmoid(-200)) is -inf in float32; from logits the loss is exactly 200.
    far = torch.tensor([-200.0])
    assert torch.log(torch.sigmoid(far)).isinf().all()
    assert LOSSES.get("nonsaturating").g_loss(far, far).item() == pytest.approx(200.0)
    assert LOSSES.get("minimax").d_loss(-far, -far).item() == pytest.approx(200.0)


def test_nonsaturating_gradient_is_strong_where_minimax_vanishes():
    # D confidently rejects the fake (logit -8): the minimax G gradient nearly vanishes.
    grads = {}
    for name in ("minimax", "nonsaturating"):
        logit = torch.tensor([-8.0], requires_grad=True)
        LOSSES.get(name).g_loss(logit, logit).backward()
        grads[name] = abs(logit.grad.item())
    assert grads["minimax"] < 1e-3 < 0.9 < grads["nonsaturating"]


def test_registry_lists_the_losses_and_rejects_unknown_names():
    assert {"minimax", "nonsaturating"} <= set(LOSSES.names())
    with pytest.raises(Exception, match="unknown loss 'wgan'.*minimax"):
        LOSSES.get("wgan")


# ---------------------------------------------------------------------------
# Wasserstein, hinge, least squares, relativistic
# ---------------------------------------------------------------------------

NEW_LOSSES = ["wasserstein", "wgan-gp", "hinge", "lsgan", "relativistic"]


@pytest.mark.parametrize("name", ["wasserstein", "wgan-gp"])
def test_wasserstein_losses_are_differences_of_means(name):
    real = torch.tensor([0.5, 2.5])  # mean 1.5
    fake = torch.tensor([-1.0, 3.0])  # mean 1.0
    loss: GANLoss = LOSSES.get(name)
    # d = mean(fake) - mean(real) = 1.0 - 1.5 = -0.5;  g = -mean(fake) = -1.0
    assert loss.d_loss(real, fake).item() == pytest.approx(-0.5)
    assert loss.g_loss(fake, real).item() == pytest.approx(-1.0)


def test_hinge_loss_by_hand():
    loss: GANLoss = LOSSES.get("hinge")
    # real [0, 2]:  relu(1 - 0) = 1, relu(1 - 2) = 0   -> mean 0.5
    # fake [-1, 3]: relu(1 - 1) = 0, relu(1 + 3) = 4   -> mean 2.0
    # d = 0.5 + 2.0 = 2.5;  g = -mean(fake) = -(-1 + 3) / 2 = -1.0
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(2.5)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(-1.0)


def test_lsgan_loss_by_hand():
    loss: GANLoss = LOSSES.get("lsgan")
    # real [0, 2]:  (0 - 1)^2 = 1, (2 - 1)^2 = 1   -> 0.5 * mean 1 = 0.5
    # fake [-1, 3]: (-1)^2 = 1, 3^2 = 9             -> 0.5 * mean 5 = 2.5
    # d = 0.5 + 2.5 = 3.0
    # g: (-1 - 1)^2 = 4, (3 - 1)^2 = 4              -> 0.5 * mean 4 = 2.0
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(3.0)
    assert loss.g_loss(FAKE, REAL).item() == pytest.approx(2.0)


def test_relativistic_loss_by_hand():
    loss: GANLoss = LOSSES.get("relativistic")
    real = torch.tensor([1.0, 3.0])  # mean 2
    fake = torch.tensor([-1.0, 3.0])  # mean 1
    # r~ = real - mean(fake) = [0, 2];  f~ = fake - mean(real) = [-3, 1]
    # softplus: sp(0) = 0.6931472, sp(±1) = 1.3132617 / 0.3132617,
    #           sp(±2) = 2.1269280 / 0.1269280, sp(±3) = 3.0485874 / 0.0485874
    # d = mean(sp(-r~)) + mean(sp(f~)) = (0.6931472 + 0.1269280) / 2 + (0.0485874 + 1.3132617) / 2
    #   = 0.4100376 + 0.6809246 = 1.0909622
    # g = mean(sp(-f~)) + mean(sp(r~)) = (3.0485874 + 0.3132617) / 2 + (0.6931472 + 2.1269280) / 2
    #   = 1.6809246 + 1.4100376 = 3.0909622
    assert loss.d_loss(real, fake).item() == pytest.approx(1.0909622, abs=1e-5)
    assert loss.g_loss(fake, real).item() == pytest.approx(3.0909622, abs=1e-5)


def test_relativistic_g_loss_needs_real_logits():
    with pytest.raises(ValueError, match="real"):
        LOSSES.get("relativistic").g_loss(FAKE, None)


def test_loss_flags():
    flags = {n: LOSSES.get(n) for n in ["minimax", "nonsaturating", *NEW_LOSSES]}
    assert {n for n, f in flags.items() if f.probabilistic} == {"minimax", "nonsaturating"}
    assert {n for n, f in flags.items() if f.g_uses_real} == {"relativistic"}
    assert {n for n, f in flags.items() if f.weight_clipping} == {"wasserstein"}
    assert {n: (f.penalty, f.penalty_weight) for n, f in flags.items() if f.penalty} == {"wgan-gp": ("gp", 10.0)}


@pytest.mark.parametrize("name", ["minimax", "nonsaturating", *NEW_LOSSES])
def test_gradients_point_the_right_way(name):
    # With D unsure (logits near 0.5), lowering d_loss raises D on reals and lowers
    # it on fakes, and lowering g_loss raises D on fakes.
    loss: GANLoss = LOSSES.get(name)
    real = torch.tensor([0.3, 0.7], requires_grad=True)
    fake = torch.tensor([0.2, 0.6], requires_grad=True)
    loss.d_loss(real, fake).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()
    fake.grad = None
    loss.g_loss(fake, real.detach()).backward()
    assert (fake.grad < 0).all()


def test_hinge_ignores_samples_beyond_the_margin():
    real = torch.tensor([2.0, 0.0], requires_grad=True)  # the first is beyond +1
    fake = torch.tensor([-3.0, 0.0], requires_grad=True)  # the first is beyond -1
    LOSSES.get("hinge").d_loss(real, fake).backward()
    assert real.grad.tolist() == [0.0, -0.5] and fake.grad.tolist() == [0.0, 0.5]


@pytest.mark.parametrize("name", ["minimax", "nonsaturating", *NEW_LOSSES])
def test_losses_and_gradients_are_finite_at_extreme_logits(name):
    loss: GANLoss = LOSSES.get(name)
    real = torch.tensor([-1e4, 1e4, 0.0], requires_grad=True)
    fake = torch.tensor([1e4, -1e4, 0.0], requires_grad=True)
    total = loss.d_loss(real, fake) + loss.g_loss(fake, real)
    total.backward()
    assert total.isfinite() and real.grad.isfinite().all() and fake.grad.isfinite().all()


@pytest.mark.parametrize("name", NEW_LOSSES)
def test_new_losses_name_their_paper(name):
    entry = next(e for e in LOSSES.entries() if e.name == name)
    assert "20" in entry.help and "(" in entry.help


# ---------------------------------------------------------------------------
# adversarial, clip_weights_, acgan_loss
# ---------------------------------------------------------------------------


def test_adversarial_takes_the_logits_of_plain_and_acgan_outputs():
    logits = torch.tensor([0.5, -1.0])  # [B]
    class_logits = torch.zeros(2, 10)  # [B, K]
    assert adversarial(logits) is logits
    assert adversarial((logits, class_logits)) is logits


def test_clip_weights_clamps_every_parameter_in_place():
    d = torch.nn.Linear(3, 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([[-1.0, 0.005, 2.0]]))
        d.bias.fill_(-0.5)
    weight = d.weight
    clip_weights_(d, 0.01)
    assert d.weight is weight and d.weight.requires_grad
    assert d.weight[0].tolist() == pytest.approx([-0.01, 0.005, 0.01])  # float32 values
    assert d.bias.tolist() == pytest.approx([-0.01])
    with pytest.raises(ValueError):
        clip_weights_(d, 0.0)


def test_acgan_loss_is_mean_cross_entropy():
    class_logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # [B=2, K=3]
    labels = torch.tensor([0, 2])
    # sample 0: -log(e^2 / (e^2 + 2)) = log(1 + 2 e^-2) = log(1.2706706) = 0.2395448
    # sample 1: -log(e^0 / (1 + e + 1)) = log(2 + e)    = log(4.7182818) = 1.5514447
    # mean = 0.8954947
    assert acgan_loss(class_logits, labels).item() == pytest.approx(0.8954947, abs=1e-6)
    assert acgan_loss(class_logits, labels).item() == pytest.approx(F.cross_entropy(class_logits, labels).item())


# ---------------------------------------------------------------------------
# the perceptual loss: features of a frozen classifier that is not the scorer
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits(mnist_root):
    from gankit.data.datasets import load_dataset

    images = load_dataset("mnist", "test", root=mnist_root).images[:16]  # uint8 [16, 1, 28, 28]
    return images.float().div(127.5).sub(1.0)


@pytest.mark.parametrize("scored_by, used", [("mnist", "fashion-mnist"), ("fashion-mnist", "mnist"),
                                             (None, "mnist")])
def test_the_perceptual_network_is_never_the_scorer_and_is_frozen(scored_by, used):
    from gankit.losses import PerceptualLoss
    from gankit.metrics.classifiers import load_evaluator

    loss = PerceptualLoss(scored_by=scored_by)
    assert loss.source == f"{used}-cnn"
    theirs = load_evaluator(used).network.body.state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in loss.body.state_dict().items())
    assert not any(p.requires_grad for p in loss.parameters())
    assert not loss.train().training  # BatchNorm keeps its running statistics in a training step


def test_perceptual_loss_by_hand_and_its_gradient_reaches_the_output(digits):
    from gankit.losses import PerceptualLoss

    loss = PerceptualLoss(scored_by="mnist")
    output = digits.flip(0).clone().requires_grad_(True)  # other digits than the targets
    value = loss(output, digits)
    # by hand: the classifier body layer by layer, L1 at each tapped ReLU, averaged over the taps
    x, y, terms = output.detach(), digits, []
    for i, layer in enumerate(loss.body):
        x, y = layer(x.clone()), layer(y.clone())
        if i in loss.TAPS:
            terms.append((x - y).abs().mean())
    assert value.item() == pytest.approx(torch.stack(terms).mean().item(), rel=1e-5)
    assert loss(digits, digits).item() == 0.0 < value.item()
    value.backward()
    assert output.grad.abs().sum() > 0 and all(p.grad is None for p in loss.parameters())
    before = [b.clone() for b in loss.body.buffers()]
    loss.train()(output, digits)
    assert all(torch.equal(a, b) for a, b in zip(before, loss.body.buffers()))  # running statistics untouched


def test_rgb_is_the_mean_over_channels_and_other_sizes_are_resized(digits):
    from gankit.losses import PerceptualLoss

    loss = PerceptualLoss()
    out_rgb = torch.cat([digits, digits.flip(0), digits.roll(3, dims=-1)], 1)  # [16, 3, 28, 28]
    target_rgb = digits.repeat(1, 3, 1, 1)
    per_channel = [loss(out_rgb[:, c : c + 1], target_rgb[:, c : c + 1]) for c in range(3)]
    assert loss(out_rgb, target_rgb).item() == pytest.approx(torch.stack(per_channel).mean().item(), rel=1e-5)
    big = F.interpolate(digits, size=(56, 56), mode="nearest")  # each pixel a 2x2 block
    assert loss(big, big).item() == 0.0
    assert loss(big, F.interpolate(digits.flip(0), size=(56, 56), mode="nearest")).item() > 0


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_the_pixel_loss_per_image_is_each_images_own_mean(kind):
    from gankit.losses import pixel_loss

    output, target = torch.zeros(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)
    output[0, 0, 0, 0], output[1] = 2.0, -1.0  # image 0: one pixel off by 2; image 1: every pixel off by 1
    per_image = pixel_loss(output, target, kind, per_image=True)
    assert per_image.tolist() == ([0.5, 1.0] if kind == "l1" else [1.0, 1.0])
    assert pixel_loss(output, target, kind).item() == pytest.approx(per_image.mean().item())


def test_the_perceptual_loss_per_image_averages_to_the_batchs(digits):
    from gankit.losses import PerceptualLoss

    loss = PerceptualLoss()
    rgb = torch.cat([digits, digits.flip(0), digits.roll(3, dims=-1)], 1)  # [16, 3, 28, 28]
    target = digits.repeat(1, 3, 1, 1)
    per_image = loss(rgb, target, per_image=True)
    assert per_image.shape == (16,)
    assert per_image.mean().item() == pytest.approx(loss(rgb, target).item(), rel=1e-5)
    one = loss(rgb[5:6], target[5:6])  # image 5 alone: its loss is its entry, whatever the batch beside it
    assert per_image[5].item() == pytest.approx(one.item(), rel=1e-5)
    assert loss(target, target, per_image=True).eq(0).all()
