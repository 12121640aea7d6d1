"""One training step of a GAN: a D step, then a G step.

Shapes: real [B, C, H, W] in [-1, 1]; z [B, latent]; logits [B].
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.losses import GANLoss


def gan_step(
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    loss: GANLoss,
    real: torch.Tensor,
    z: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """Update D once and G once; return detached per-step statistics (on the device)."""
    fake = G(z)  # [B, C, H, W]; one G forward serves both steps

    # D step: raise D on real images, lower it on fakes. The fakes are detached so
    # that this backward pass stops at D and G's weights are left alone.
    real_logits = D(real)
    fake_logits = D(fake.detach())
    loss_d = loss.d_loss(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()

    # G step: judge the same fakes with the just-updated D and move G to fool it.
    # D's weights are frozen for this pass: the backward computes gradients with
    # respect to D's input only (the path to G), not D's unused weight gradients.
    D.requires_grad_(False)
    fake_logits_g = D(fake)
    loss_g = loss.g_loss(fake_logits_g, real_logits.detach())
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    D.requires_grad_(True)

    stats = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach()}
    if loss.probabilistic:  # mean D(x) and D(G(z)) as probabilities: 0.5 means D can't tell
        stats["d_real"] = torch.sigmoid(real_logits.detach()).mean()
        stats["d_fake"] = torch.sigmoid(fake_logits.detach()).mean()
    return stats
