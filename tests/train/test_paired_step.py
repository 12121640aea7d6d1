"""The paired translation step on tiny linear networks, its losses checked by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.registry import LOSSES, REGULARIZERS
from gankit.regularizers import Penalty
from gankit.train.interface import StepInputs
from gankit.train.paired_step import PairedStep

LR = 0.1


class TinyG(nn.Module):
    """[B, 1, 2, 2] -> [B, 1, 2, 2] through one linear map of the 4 pixels."""

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4, 4)

    def forward(self, x):
        return self.net(x.flatten(1)).view_as(x)


class TinyD(nn.Module):
    """Logits [B, 1] of (image, source) stacked: one linear map of the 8 values; features = its input.
    With classes y [B], class k adds k to every logit (a stand-in for a class projection)."""

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(8, 1)

    def forward(self, x, source=None, features=False, y=None):
        h = torch.cat([x, source], 1).flatten(1)  # [B, 8]
        logits = self.net(h) + (0 if y is None else y.float()[:, None])
        return (logits, [h]) if features else logits


class TinyImageD(nn.Module):
    """Logits [B, 1] of the image alone (an unconditional D): one linear map of its 4 pixels."""

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4, 1)

    def forward(self, x, source=None, features=False, y=None):
        assert source is None, "an unconditional D is given no source"
        h = x.flatten(1)  # [B, 4]
        return (self.net(h), [h]) if features else self.net(h)


class SquaredError(nn.Module):
    """A stand-in perceptual loss: the mean squared difference of output and target (each image's: [B])."""

    def forward(self, fake, target, per_image=False):
        error = (fake - target).pow(2)
        return error.flatten(1).mean(1) if per_image else error.mean()


def make(adv_weight=1.0, pixel_weight=2.0, warmup=0, fm=0.0, penalty=None, d_sees_source=True, perceptual_weight=0.0,
         warmup_loss="content"):
    torch.manual_seed(0)
    G, D = TinyG(), TinyD() if d_sees_source else TinyImageD()
    opt_d = torch.optim.SGD(D.parameters(), lr=LR) if adv_weight else None
    return PairedStep(G, D, torch.optim.SGD(G.parameters(), lr=LR), opt_d, LOSSES.get("nonsaturating"),
                      adv_weight=adv_weight, pixel_weight=pixel_weight, warmup_steps=warmup, warmup_loss=warmup_loss,
                      perceptual=SquaredError() if perceptual_weight else None, perceptual_weight=perceptual_weight,
                      feature_matching_weight=fm, penalty=penalty, d_sees_source=d_sees_source)


def inputs(step=0):
    g = torch.Generator().manual_seed(1)
    source, target = torch.randn(3, 1, 2, 2, generator=g), torch.randn(3, 1, 2, 2, generator=g)
    return StepInputs((target,), (None,), d_index=step, sources=(source,))


def snapshot(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


def test_g_loss_is_adversarial_plus_weighted_pixel_loss():
    step, x = make(), inputs()
    source, target = x.sources[0], x.reals[0]
    d_before = snapshot(step.D)
    stats = step(x)
    # the D step ran first; G's loss is judged by the updated D
    fake = TinyG()
    torch.manual_seed(0)
    fake = make().G(source)
    logits = step.D(fake.detach(), source)
    expected_pixel = (fake - target).abs().mean()
    assert torch.allclose(stats["pixel"], expected_pixel.detach(), atol=1e-6)
    assert torch.allclose(stats["adv_g"], F.softplus(-logits).mean().detach(), atol=1e-6)
    assert torch.allclose(stats["loss_g"], stats["adv_g"] + 2.0 * stats["pixel"], atol=1e-6)
    assert not torch.equal(d_before["net.weight"], step.D.state_dict()["net.weight"])  # D was trained
    assert {"loss_d", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"} <= set(stats)


def test_with_class_projection_d_judges_both_steps_with_the_targets_classes():
    x = inputs()
    y = torch.tensor([0, 2, 5])
    labelled = StepInputs(x.reals, (y,), d_index=0, sources=x.sources)
    source, target = x.sources[0], x.reals[0]
    for projected in (False, True):
        step = make()
        step.class_projection = projected
        d0 = TinyD()
        d0.load_state_dict(snapshot(step.D))
        fake0 = step.G(source).detach()
        stats = step(labelled)
        shift = y.float()[:, None] if projected else 0  # without the projection the labels go unread
        real, fake = d0.net(torch.cat([target, source], 1).flatten(1)) + shift, d0.net(
            torch.cat([fake0, source], 1).flatten(1)) + shift
        assert torch.allclose(stats["loss_d"], F.softplus(-real).mean() + F.softplus(fake).mean(), atol=1e-6)
        # G is judged by the updated D, with the same classes
        fake1 = make().G(source)
        assert torch.allclose(stats["adv_g"], F.softplus(-step.D(fake1, source, y=y if projected else None)).mean(),
                              atol=1e-6)


def test_a_d_that_does_not_see_the_source_judges_target_and_output_alone():
    # SRGAN's D: D's loss is softplus(-D(target)) + softplus(D(fake)), G's softplus(-D'(fake)), no source given
    step, x = make(fm=1.0, penalty=Penalty(REGULARIZERS.get("r1"), 10.0), d_sees_source=False), inputs()
    source, target = x.sources[0], x.reals[0]
    torch.manual_seed(0)
    fake = TinyG()(source)
    D0 = TinyImageD()
    D0.load_state_dict(step.D.state_dict())
    stats = step(x)
    expected_d = F.softplus(-D0(target)).mean() + F.softplus(D0(fake)).mean()
    assert torch.allclose(stats["loss_d"], expected_d.detach(), atol=1e-6)
    assert torch.allclose(stats["penalty"], D0.net.weight.detach().pow(2).sum(), atol=1e-6)  # R1 in the image
    assert torch.allclose(stats["adv_g"], F.softplus(-step.D(fake)).mean().detach(), atol=1e-6)
    # feature matching in D's features of the images alone (TinyImageD's feature is its input)
    assert torch.allclose(stats["feature_matching"], (fake - target).abs().mean().detach(), atol=1e-6)


def test_r1_penalises_ds_gradient_in_the_judged_image_alone():
    # TinyD's logit is w . [image, source] + b: its gradient in the image is w's first 4 entries for
    # every sample, so R1 = |w[:4]|^2, and gamma/2 * R1 adds lr * gamma * w[:4] to SGD's step on them
    plain, with_r1 = make(), make(penalty=Penalty(REGULARIZERS.get("r1"), 10.0))
    w = plain.D.net.weight.detach().clone()  # [1, 8]: image pixels, then source pixels
    stats, stats_r1 = plain(inputs()), with_r1(inputs())
    assert "penalty" not in stats
    assert torch.allclose(stats_r1["penalty"], w[0, :4].pow(2).sum(), atol=1e-6)
    assert torch.allclose(stats_r1["loss_d"], stats["loss_d"])  # the adversarial part, reported alone
    shift = with_r1.D.net.weight.detach() - plain.D.net.weight.detach()
    assert torch.allclose(shift[0, :4], -LR * 10.0 * w[0, :4], atol=1e-6)
    assert torch.allclose(shift[0, 4:], torch.zeros(4), atol=1e-7)  # the source is held fixed


def test_a_lazy_penalty_is_applied_every_k_steps_scaled_by_k():
    plain, lazy = make(), make(penalty=Penalty(REGULARIZERS.get("r1"), 10.0, every=2))
    plain(inputs(step=1))
    assert "penalty" not in lazy(inputs(step=1))
    assert torch.equal(plain.D.net.weight, lazy.D.net.weight)  # step 1: no penalty, the same update
    w = lazy.D.net.weight.detach().clone()
    plain(inputs(step=2))
    assert torch.allclose(lazy(inputs(step=2))["penalty"], w[0, :4].pow(2).sum(), atol=1e-6)
    shift = lazy.D.net.weight.detach() - plain.D.net.weight.detach()
    assert torch.allclose(shift[0, :4], -LR * 10.0 * 2 * w[0, :4], atol=1e-6)  # twice the penalty, half as often


def after_l1_step(g0, x, weight):
    """TinyG's weight after one SGD step on weight * L1 from weights g0 on inputs x:
    d/dW of weight * mean|W s + c - t| = weight * sign(out - t) s^T / (B * 4)."""
    source, target = x.sources[0].flatten(1), x.reals[0].flatten(1)  # [3, 4] each
    out = source @ g0["net.weight"].T + g0["net.bias"]
    grad_w = weight * torch.sign(out - target).T @ source / 12
    return g0["net.weight"] - LR * grad_w


def test_the_pixel_baseline_trains_no_d_and_follows_the_l1_gradient():
    step, x = make(adv_weight=0.0), inputs()
    g0 = snapshot(step.G)
    stats = step(x)
    assert set(stats) == {"pixel", "loss_g", "grad_norm_g"} and list(step.optimizers) == ["G"]
    assert torch.allclose(step.G.state_dict()["net.weight"], after_l1_step(g0, x, 2.0), atol=1e-6)


def test_the_warm_up_leaves_out_the_adversarial_term_then_adds_it():
    step = make(warmup=5, perceptual_weight=3.0)
    warm = step(inputs(step=4))
    assert "adv_g" not in warm and "loss_d" not in warm
    # the default warm-up ("content") trains on every other loss at its weight
    assert torch.allclose(warm["loss_g"], 2.0 * warm["pixel"] + 3.0 * warm["perceptual"], atol=1e-6)
    assert {"adv_g", "loss_d"} <= set(step(inputs(step=5)))


def test_a_pixel_warm_up_trains_on_the_pixel_loss_alone_then_on_every_loss():
    step = make(warmup=5, perceptual_weight=3.0, warmup_loss="pixel")
    g0 = snapshot(step.G)
    warm = step(inputs(step=4))
    assert set(warm) == {"pixel", "loss_g", "grad_norm_g"}  # no D step, no perceptual term
    assert torch.equal(warm["loss_g"], warm["pixel"])  # unweighted: pixel_weight is 2
    # the update is that of the pixel loss alone, at weight 1
    assert torch.allclose(step.G.state_dict()["net.weight"], after_l1_step(g0, inputs(step=4), 1.0), atol=1e-6)
    after = step(inputs(step=5))
    assert {"adv_g", "loss_d", "perceptual"} <= set(after)
    assert torch.allclose(after["loss_g"], after["adv_g"] + 2.0 * after["pixel"] + 3.0 * after["perceptual"],
                          atol=1e-6)


def test_a_pixel_warm_up_holds_for_the_pixel_loss_baseline_too():
    # the twin of an SRGAN run (adv_weight 0) keeps its pre-training: pixel loss alone, then the content losses
    step = make(adv_weight=0.0, warmup=5, perceptual_weight=3.0, warmup_loss="pixel")
    warm, after = step(inputs(step=4)), step(inputs(step=5))
    assert "perceptual" not in warm and torch.equal(warm["loss_g"], warm["pixel"])
    assert "adv_g" not in after
    assert torch.allclose(after["loss_g"], 2.0 * after["pixel"] + 3.0 * after["perceptual"], atol=1e-6)


def test_feature_matching_compares_d_features_of_output_and_target():
    step, x = make(fm=3.0), inputs()
    stats = step(x)
    assert "feature_matching" in stats and stats["feature_matching"] > 0
    assert torch.allclose(stats["loss_g"], stats["adv_g"] + 2.0 * stats["pixel"] + 3.0 * stats["feature_matching"],
                          atol=1e-6)


class TinyNoisyG(nn.Module):
    """[B, 1, 2, 2] and z [B, 2] -> [B, 1, 2, 2] through one linear map of the 4 pixels and z."""

    noise_channels = 2

    def __init__(self):
        super().__init__()
        self.net = nn.Linear(6, 4)

    def forward(self, x, z=None):
        z = torch.randn(len(x), 2) if z is None else z
        return self.net(torch.cat([x.flatten(1), z], 1)).view_as(x)


def noisy_step(step, x):
    """Run ``step`` on ``x`` with the global RNG at seed 7; return its stats, the step's noise z [6, 2]
    (two for each of the 3 sources) and G's outputs [6, 1, 2, 2] from its weights before the step, with
    their graph (a fresh TinyNoisyG, whose .grad is then G's gradient)."""
    g0 = snapshot(step.G)
    torch.manual_seed(7)
    stats = step(x)
    torch.manual_seed(7)
    z = torch.randn(6, 2)  # the step's draw
    before = TinyNoisyG()
    before.load_state_dict(g0)
    source = x.sources[0]
    return stats, z, before, before(torch.cat([source, source]), z)


def test_the_mode_seeking_term_is_the_inverse_ratio_of_output_to_noise_distance():
    torch.manual_seed(0)
    G, D = TinyNoisyG(), TinyD()
    step = PairedStep(G, D, torch.optim.SGD(G.parameters(), lr=LR), torch.optim.SGD(D.parameters(), lr=LR),
                      LOSSES.get("nonsaturating"), pixel_weight=2.0, diversity_weight=0.5)
    x = inputs()
    stats, z, _, out = noisy_step(step, x)
    ratio = (out[:3] - out[3:]).abs().mean() / (z[:3] - z[3:]).abs().mean()
    assert torch.allclose(stats["diversity"], ratio.detach(), atol=1e-6)
    assert torch.allclose(stats["pixel"], (out[:3] - x.reals[0]).abs().mean().detach(), atol=1e-6)
    expected = stats["adv_g"] + 2.0 * stats["pixel"] + 0.5 / (stats["diversity"] + 1e-5)
    assert torch.allclose(stats["loss_g"], expected, atol=1e-5)


class TinyFeatures(nn.Module):
    """A stand-in for the perceptual loss's frozen network: two 'taps' of an image."""

    def features(self, x):
        return [2 * x, x.square()]


def test_in_perceptual_space_the_mode_seeking_distance_is_between_features_and_moves_both_outputs():
    """translate.diversity_space=perceptual: mean |f(fake) - f(fake2)| over the network's taps, and G's
    gradient flows through both outputs (neither is held constant, as a target's features are)."""
    torch.manual_seed(0)
    G = TinyNoisyG()
    step = PairedStep(G, TinyD(), torch.optim.SGD(G.parameters(), lr=LR), None, LOSSES.get("nonsaturating"),
                      adv_weight=0.0, pixel_weight=2.0, diversity_weight=0.5, diversity_features=TinyFeatures())
    g0, x = snapshot(G), inputs()
    stats, z, before, out = noisy_step(step, x)
    a, b = out[:3], out[3:]
    features = ((2 * a - 2 * b).abs().mean() + (a.square() - b.square()).abs().mean()) / 2
    ratio = features / (z[:3] - z[3:]).abs().mean()
    assert torch.allclose(stats["diversity"], ratio.detach(), atol=1e-6)
    loss = 2.0 * (a - x.reals[0]).abs().mean() + 0.5 / (ratio + 1e-5)
    assert torch.allclose(stats["loss_g"], loss.detach(), atol=1e-5)
    loss.backward()
    expected = g0["net.weight"] - LR * before.net.weight.grad
    assert torch.allclose(G.state_dict()["net.weight"], expected, atol=1e-6)


def test_a_stochastic_g_without_the_term_draws_its_own_noise_once_per_source():
    torch.manual_seed(0)
    G = TinyNoisyG()
    step = PairedStep(G, TinyD(), torch.optim.SGD(G.parameters(), lr=LR), None, LOSSES.get("nonsaturating"),
                      adv_weight=0.0)
    stats = step(inputs())
    assert "diversity" not in stats and set(stats) == {"pixel", "loss_g", "grad_norm_g"}


def test_a_pixel_warm_up_draws_no_second_output_for_the_mode_seeking_term():
    torch.manual_seed(0)
    G = TinyNoisyG()
    step = PairedStep(G, TinyD(), torch.optim.SGD(G.parameters(), lr=LR), torch.optim.SGD(TinyD().parameters(), lr=LR),
                      LOSSES.get("nonsaturating"), pixel_weight=2.0, diversity_weight=0.5, warmup_steps=5,
                      warmup_loss="pixel")
    warm = step(inputs(step=4))
    assert set(warm) == {"pixel", "loss_g", "grad_norm_g"} and torch.equal(warm["loss_g"], warm["pixel"])
    assert "diversity" in step(inputs(step=5))


# ---------------------------------------------------------------------------
# best of K (translate.best_of): only each source's closest output bears the content losses
# ---------------------------------------------------------------------------


def best_of_step(adv_weight=0.0, **kwargs):
    torch.manual_seed(0)
    G, D = TinyNoisyG(), TinyD()
    opt_d = torch.optim.SGD(D.parameters(), lr=LR) if adv_weight else None
    return PairedStep(G, D, torch.optim.SGD(G.parameters(), lr=LR), opt_d, LOSSES.get("nonsaturating"),
                      adv_weight=adv_weight, pixel_weight=2.0, best_of=2, **kwargs)


def per_draw(out, target, power=1):
    """Mean |out - target|^power of each of two draws of 3 outputs [6, 1, 2, 2]: [draw, source]."""
    return (out - target.repeat(2, 1, 1, 1)).abs().pow(power).flatten(1).mean(1).view(2, 3)


def test_best_of_two_holds_only_each_sources_closest_output_to_its_target():
    step = best_of_step(perceptual=SquaredError(), perceptual_weight=0.5)
    g0, x = snapshot(step.G), inputs()
    torch.manual_seed(7)
    with torch.no_grad():  # the step's outputs (noisy_step's draw): source 0's first draw and source 1's
        planned = step.G(x.sources[0].repeat(2, 1, 1, 1), torch.randn(6, 2))  # second become their targets
    x.reals[0][:2] = planned[[0, 4]] + 0.01
    stats, z, before, out = noisy_step(step, x)  # out: draw 1 of the 3 sources, then draw 2
    pixel, perceptual = per_draw(out, x.reals[0]), per_draw(out, x.reals[0], power=2)
    content = 2.0 * pixel + 0.5 * perceptual
    closest = content.argmin(0)  # [3]
    assert closest[:2].tolist() == [0, 1]
    chosen = content.gather(0, closest[None]).squeeze(0)
    assert torch.allclose(stats["loss_g"], chosen.mean().detach(), atol=1e-6)
    assert torch.allclose(stats["pixel"], pixel.gather(0, closest[None]).mean().detach(), atol=1e-6)
    assert torch.allclose(stats["perceptual"], perceptual.gather(0, closest[None]).mean().detach(), atol=1e-6)
    chosen.mean().backward()  # the other draws' losses carry no gradient
    expected = g0["net.weight"] - LR * before.net.weight.grad
    assert torch.allclose(step.G.state_dict()["net.weight"], expected, atol=1e-6)
    assert not torch.allclose(content.mean(), chosen.mean())  # a plain mean over the draws would differ


def test_best_of_two_d_and_the_adversarial_term_judge_the_first_draw():
    step = best_of_step(adv_weight=1.0)
    d0, x = snapshot(step.D), inputs()
    stats, _, _, out = noisy_step(step, x)
    D = TinyD()
    D.load_state_dict(d0)
    source = x.sources[0]
    assert torch.allclose(stats["d_fake"], torch.sigmoid(D(out[:3].detach(), source)).mean(), atol=1e-6)
    # G's adversarial term: the first draw, judged by the updated D
    assert torch.allclose(stats["adv_g"], F.softplus(-step.D(out[:3].detach(), source)).mean().detach(), atol=1e-5)


def test_best_of_with_the_mode_seeking_term_shares_its_draws_and_holds_in_a_pixel_warm_up():
    step = best_of_step(diversity_weight=0.5, warmup_steps=1, warmup_loss="pixel")
    x = inputs()
    warm, z, _, out = noisy_step(step, x)  # the warm-up: best of two on the pixel loss alone, unweighted
    pixel = per_draw(out, x.reals[0])
    assert "diversity" not in warm and torch.allclose(warm["loss_g"], pixel.min(0).values.mean().detach(), atol=1e-6)
    after, z, _, out = noisy_step(step, inputs(step=1))  # the same two draws for both terms
    pixel = per_draw(out, x.reals[0])
    ratio = (out[:3] - out[3:]).abs().mean() / (z[:3] - z[3:]).abs().mean()
    assert torch.allclose(after["diversity"], ratio.detach(), atol=1e-6)
    expected = 2.0 * pixel.min(0).values.mean() + 0.5 / (ratio + 1e-5)
    assert torch.allclose(after["loss_g"], expected.detach(), atol=1e-5)


@pytest.mark.parametrize("best_of", [1, 2])
def test_best_of_two_spreads_outputs_toward_both_targets_a_source_allows_where_one_output_learns_their_mean(
        best_of):
    """Every source's target is all +1 or all -1 at random. Held to the target (best of 1, L2), G's
    output shrinks to their mean, 0, whatever its noise; held only where it is the closer of two
    draws, its outputs spread toward both. (G is linear in z, its outputs Gaussian: the best spread
    for two draws is a standard deviation of about 0.58.)"""
    torch.manual_seed(0)
    G = TinyNoisyG()
    step = PairedStep(G, TinyD(), torch.optim.SGD(G.parameters(), lr=0.05), None, LOSSES.get("nonsaturating"),
                      adv_weight=0.0, pixel="l2", pixel_weight=1.0, best_of=best_of)
    g = torch.Generator().manual_seed(3)
    source = torch.zeros(64, 1, 2, 2)
    for i in range(400):
        sign = torch.randint(0, 2, (64, 1, 1, 1), generator=g).float() * 2 - 1
        step(StepInputs((sign.expand(64, 1, 2, 2),), (None,), d_index=i, sources=(source,)))
    with torch.no_grad():
        outputs = G(torch.zeros(2000, 1, 2, 2), torch.randn(2000, 2, generator=g))  # one source, many z
    if best_of == 1:
        assert outputs.std() < 0.1 and outputs.abs().mean() < 0.1
    else:
        assert 0.45 < outputs.std() < 0.7
        assert (outputs > 0.2).float().mean() > 0.3 and (outputs < -0.2).float().mean() > 0.3
