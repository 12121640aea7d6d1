"""Adversarial losses, computed from discriminator logits and registered by name.

Each loss gives the two quantities the trainer minimises:

    d_loss(real_logits, fake_logits)   for the D step
    g_loss(fake_logits, real_logits)   for the G step

with D(x) = sigmoid(logit). Probabilities are never formed and then logged:
log D(x) = -softplus(-l) and log(1 - D(x)) = -softplus(l) are exact and stay
finite where log(sigmoid(l)) underflows to -inf (|l| > ~88 in float32).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gankit.registry import LOSSES

Tensor = torch.Tensor


@dataclass(frozen=True)
class GANLoss:
    d_loss: Callable[[Tensor, Tensor], Tensor]
    g_loss: Callable[[Tensor, Tensor], Tensor]
    # True when D's logits mean probabilities through a sigmoid, so that the
    # mean D(x) and D(G(z)) logged during training are meaningful.
    probabilistic: bool = True


def _d_loss_bce(real: Tensor, fake: Tensor) -> Tensor:
    # D maximises E[log D(x)] + E[log(1 - D(G(z)))]; we minimise the negation.
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _g_loss_minimax(fake: Tensor, real: Tensor | None = None) -> Tensor:
    # G minimises E[log(1 - D(G(z)))] = -E[softplus(l)]. Its gradient vanishes when
    # D confidently rejects the fakes (D(G(z)) -> 0), which is early in training.
    return -F.softplus(fake).mean()


def _g_loss_nonsaturating(fake: Tensor, real: Tensor | None = None) -> Tensor:
    # G maximises E[log D(G(z))], i.e. minimises E[softplus(-l)]: the same fixed
    # point as minimax, but strong gradients exactly when D rejects the fakes.
    return F.softplus(-fake).mean()


LOSSES.register(
    "minimax",
    GANLoss(_d_loss_bce, _g_loss_minimax),
    help="the original value function: G minimises log(1 - D(G(z))) (Goodfellow et al. 2014)",
)
LOSSES.register(
    "nonsaturating",
    GANLoss(_d_loss_bce, _g_loss_nonsaturating),
    help="G maximises log D(G(z)): same fixed point, strong early gradients (Goodfellow et al. 2014)",
)
