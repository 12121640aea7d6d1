"""The GAN step on its own: tiny linear G and D, SGD, and every number checked by hand.

G(z) = A z + c maps z [B, 2] to "images" [B, 3]; D(x) = x . w + b gives logits [B].
With the non-saturating loss and plain SGD (lr 0.1) the losses and the updates have
closed forms, so the test knows exactly which weights a phase may change and to what.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.registry import LOSSES
from gankit.train.interface import StepInputs
from gankit.train.step import GANStep
from gankit.train.trainer import Trainer

LR = 0.1


class TinyG(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(2, 3)

    def forward(self, z, y=None):
        return self.net(z)  # [B, 3]


class TinyD(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(3, 1)

    def forward(self, x, y=None):
        return self.net(x).squeeze(1)  # [B]


def make_step(n_critic: int = 1, loss: str = "nonsaturating") -> GANStep:
    torch.manual_seed(0)
    G, D = TinyG(), TinyD()
    return GANStep(G, D, torch.optim.SGD(G.parameters(), lr=LR), torch.optim.SGD(D.parameters(), lr=LR),
                   LOSSES.get(loss), n_critic=n_critic)


def make_inputs(n: int = 1, seed: int = 1) -> StepInputs:
    g = torch.Generator().manual_seed(seed)
    reals = tuple(torch.randn(4, 3, generator=g) for _ in range(n))
    zs = tuple(torch.randn(4, 2, generator=g) for _ in range(n))
    return StepInputs(reals, (None,) * n, zs, (None,) * n, d_index=0)


def weights(m: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def test_d_step_changes_d_alone_by_the_hand_computed_gradient():
    step, inputs = make_step(), make_inputs()
    real, z = inputs.reals[0], inputs.z[0]
    g0, d0 = weights(step.G), weights(step.D)
    A, c, w, b = g0["net.weight"], g0["net.bias"], d0["net.weight"][0], d0["net.bias"][0]
    fake = z @ A.T + c  # [4, 3]
    l_real, l_fake = real @ w + b, fake @ w + b  # [4] logits

    stats = step.d_step(real, None, fake, None, d_index=0)

    # loss_d = E[softplus(-D(x))] + E[softplus(D(G(z)))]
    assert torch.allclose(stats["loss_d"], F.softplus(-l_real).mean() + F.softplus(l_fake).mean(), atol=1e-6)
    assert torch.allclose(stats["d_real"], torch.sigmoid(l_real).mean(), atol=1e-6)
    assert torch.allclose(stats["d_fake"], torch.sigmoid(l_fake).mean(), atol=1e-6)
    # d loss / d logit: -sigmoid(-l) on reals, sigmoid(l) on fakes, each averaged over the batch
    g_real, g_fake = -torch.sigmoid(-l_real) / 4, torch.sigmoid(l_fake) / 4
    grad_w = g_real @ real + g_fake @ fake
    grad_b = g_real.sum() + g_fake.sum()
    d1 = weights(step.D)
    assert torch.allclose(stats["grad_norm_d"], torch.cat([grad_w, grad_b.view(1)]).norm(), atol=1e-6)
    assert torch.allclose(d1["net.weight"][0], w - LR * grad_w, atol=1e-6)
    assert torch.allclose(d1["net.bias"][0], b - LR * grad_b, atol=1e-6)
    assert all(torch.equal(v, weights(step.G)[k]) for k, v in g0.items())  # G untouched


def test_g_step_changes_g_alone_by_the_hand_computed_gradient():
    step, inputs = make_step(), make_inputs()
    real, z = inputs.reals[0], inputs.z[0]
    g0, d0 = weights(step.G), weights(step.D)
    A, c, w, b = g0["net.weight"], g0["net.bias"], d0["net.weight"][0], d0["net.bias"][0]
    fake = step.G(z)
    l_fake = (z @ A.T + c) @ w + b

    stats = step.g_step(real, None, fake, None)

    # loss_g = E[softplus(-D(G(z)))]; d loss / d logit = -sigmoid(-l) / B; d logit / dA = w z^T
    assert torch.allclose(stats["loss_g"], F.softplus(-l_fake).mean(), atol=1e-6)
    g_logit = -torch.sigmoid(-l_fake) / 4  # [4]
    grad_A = torch.outer(w, z.T @ g_logit)  # [3, 2]
    grad_c = w * g_logit.sum()
    g1 = weights(step.G)
    assert torch.allclose(stats["grad_norm_g"], torch.cat([grad_A.flatten(), grad_c]).norm(), atol=1e-6)
    assert torch.allclose(g1["net.weight"], A - LR * grad_A, atol=1e-6)
    assert torch.allclose(g1["net.bias"], c - LR * grad_c, atol=1e-6)
    assert all(torch.equal(v, weights(step.D)[k]) for k, v in d0.items())  # D untouched
    assert all(p.requires_grad for p in step.D.parameters())  # and trainable again for the next D step
    assert all(p.grad is None for p in step.D.parameters())  # no D weight gradients were even formed


def test_a_step_is_n_critic_d_steps_on_its_batches_then_one_g_step():
    step, inputs = make_step(n_critic=2), make_inputs(n=2)
    # the same phases by hand, on a copy
    ref = make_step(n_critic=2)
    for k in range(2):
        fake = ref.G(inputs.z[k]).detach()
        ref.d_step(inputs.reals[k], None, fake, None, d_index=k)
    ref.g_step(inputs.reals[1], None, ref.G(inputs.z[1]), None)

    stats = step(inputs)

    assert set(stats) == {"loss_d", "d_real", "d_fake", "grad_norm_d", "loss_g", "grad_norm_g"}
    for net, ref_net in ((step.G, ref.G), (step.D, ref.D)):
        assert all(torch.equal(v, weights(ref_net)[k]) for k, v in weights(net).items())


def test_a_step_is_a_function_of_its_inputs():
    a, b = make_step(), make_step()
    a(make_inputs(seed=3))
    b(make_inputs(seed=3))
    assert all(torch.equal(v, weights(b.G)[k]) for k, v in weights(a.G).items())
    c = make_step()
    c(make_inputs(seed=4))  # other noise and data, other result
    assert not torch.equal(weights(c.G)["net.weight"], weights(a.G)["net.weight"])


def test_wasserstein_d_step_clips_the_critic_and_reports_scores():
    step = make_step(loss="wasserstein")
    step.clip = 0.05
    stats = step(make_inputs())
    assert {"score_real", "score_fake"} <= set(stats) and "d_real" not in stats
    assert max(p.abs().max().item() for p in step.D.parameters()) <= 0.05 + 1e-7


def test_acgan_class_losses_follow_aux_fakes_and_g_weight():
    # D's outputs as an ACGAN D gives them: (logits [B], class logits [B, K]); the class
    # losses enter D's loss with aux_weight (real, and fake unless aux_fakes is off) and
    # G's loss with aux_weight_g
    step = make_step()
    torch.manual_seed(2)
    y_real, y_fake = torch.tensor([0, 1, 2, 1]), torch.tensor([2, 2, 0, 1])
    out_real, out_fake = (torch.randn(4), torch.randn(4, 3)), (torch.randn(4), torch.randn(4, 3))
    x = torch.zeros(4, 3)
    ce_real, ce_fake = F.cross_entropy(out_real[1], y_real), F.cross_entropy(out_fake[1], y_fake)
    adv_d = step.loss.d_loss(out_real[0], out_fake[0])
    step.aux_weight = 0.5
    both, _ = step.d_loss(out_real, out_fake, x, y_real, x, y_fake, 0)
    torch.testing.assert_close(both, adv_d + 0.5 * (ce_real + ce_fake))
    step.aux_fakes = False
    real_only, _ = step.d_loss(out_real, out_fake, x, y_real, x, y_fake, 0)
    torch.testing.assert_close(real_only, adv_d + 0.5 * ce_real)
    step.aux_weight_g = 0.1
    loss_g, stats = step.g_loss(out_fake, None, y_fake)
    torch.testing.assert_close(loss_g, step.loss.g_loss(out_fake[0], None) + 0.1 * ce_fake)
    assert torch.equal(stats["aux_g"], ce_fake)


def test_acgan_g_weight_defaults_to_the_d_weight(tiny_config):
    step = Trainer(tiny_config(model__conditioning="acgan", loss__aux_weight=0.3)).step_fn
    assert step.aux_weight == step.aux_weight_g == 0.3 and step.aux_fakes
    step = Trainer(tiny_config(model__conditioning="acgan", loss__aux_weight_g=0.05,
                               loss__aux_fakes=False)).step_fn
    assert (step.aux_weight, step.aux_weight_g, step.aux_fakes) == (1.0, 0.05, False)


def test_tac_gan_twin_classifier_learns_the_fakes_and_g_subtracts_it():
    # a TAC-GAN D gives (logits [B], classifier [B, K], twin [B, K]): D's class loss is the
    # classifier on real labels plus the twin on fake ones; G's is the classifier's minus the twin's
    step = make_step()
    torch.manual_seed(3)
    y_real, y_fake = torch.tensor([0, 1, 2, 1]), torch.tensor([2, 2, 0, 1])
    out_real = (torch.randn(4), torch.randn(4, 3), torch.randn(4, 3))
    out_fake = (torch.randn(4), torch.randn(4, 3), torch.randn(4, 3))
    x = torch.zeros(4, 3)
    step.aux_weight = step.aux_weight_g = 0.5
    loss_d, _ = step.d_loss(out_real, out_fake, x, y_real, x, y_fake, 0)
    expected = step.loss.d_loss(out_real[0], out_fake[0]) + 0.5 * (
        F.cross_entropy(out_real[1], y_real) + F.cross_entropy(out_fake[2], y_fake))
    torch.testing.assert_close(loss_d, expected)
    loss_g, _ = step.g_loss(out_fake, None, y_fake)
    expected = step.loss.g_loss(out_fake[0], None) + 0.5 * (
        F.cross_entropy(out_fake[1], y_fake) - F.cross_entropy(out_fake[2], y_fake))
    torch.testing.assert_close(loss_g, expected)
