"""Discriminator regularizers, registered by name in ``gankit.registry.REGULARIZERS``.

Each regularizer's function is called as ``reg.fn(D, real, fake, y)`` and
returns a scalar penalty R. The GAN step adds it to D's loss as

    loss_d = d_loss + weight * reg.scale * R

where ``weight`` is ``reg.weight`` from the config (else the loss's own
``penalty_weight``, else ``reg.default_weight``). ``fake`` is detached; only
the gradient penalty reads it.

D is called as ``D(x, y)`` with y int64 labels [B] or None, and may return
logits [B] or an ACGAN pair ``(logits [B], class_logits [B, K])``; only the
logits are differentiated. Inputs are images [B, C, H, W] or points [B, 2].
Random draws use the global torch generator, so they are reproducible from
the seed and restored with the checkpointed RNG state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from gankit.losses import GANLoss, adversarial
from gankit.registry import REGULARIZERS

Tensor = torch.Tensor


@dataclass(frozen=True)
class Regularizer:
    """A D penalty ``fn(D, real, fake, y) -> scalar`` and how the trainer weighs it."""

    fn: Callable[[nn.Module, Tensor, Tensor | None, Tensor | None], Tensor]
    # lambda (gp, dragan) or gamma (r1) when neither the config nor the loss sets one
    default_weight: float
    # constant factor the trainer applies with the weight: 0.5 for r1 (gamma / 2)
    scale: float = 1.0
    help: str = ""


def per_sample_uniform(x: Tensor) -> Tensor:
    """U[0, 1) draws, one per sample, shaped to broadcast over x: [B, 1, ..., 1]."""
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    return torch.rand(shape, device=x.device, dtype=x.dtype)


def input_gradient(D: nn.Module, x: Tensor, y: Tensor | None) -> Tensor:
    """grad_x of sum_i D(x_i, y_i), kept in the graph so a penalty on it trains D.

    Each logit depends on its own sample only, so row i of the result is the
    gradient of D(x_i) with respect to x_i. Returns the same shape as x.
    """
    x = x.detach().requires_grad_(True)
    logits = adversarial(D(x, y))  # [B]
    (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
    return grad


def gradient_norms(grad: Tensor) -> Tensor:
    """||grad_i||_2 per sample: [B, ...] -> [B]."""
    return torch.linalg.vector_norm(grad.flatten(1), dim=1)


def unit_norm_penalty(D: nn.Module, x: Tensor, y: Tensor | None) -> Tensor:
    """E[(||grad_x D(x)||_2 - 1)^2] over the batch: pulls D's gradient norm towards 1."""
    return (gradient_norms(input_gradient(D, x, y)) - 1).pow(2).mean()


def gradient_penalty(D: nn.Module, real: Tensor, fake: Tensor | None, y: Tensor | None = None) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad D(x_hat)||_2 - 1)^2].

    x_hat = eps * real + (1 - eps) * fake, with eps ~ U[0, 1] drawn per sample
    (shape [B, 1, 1, 1] for images, [B, 1] for points): random points on the
    lines between real and fake samples, where the optimal critic has unit
    gradient norm.
    """
    if fake is None:
        raise ValueError("the gradient penalty needs fake samples")
    real, fake = real.detach(), fake.detach()
    eps = per_sample_uniform(real)  # [B, 1, ...]
    x_hat = eps * real + (1 - eps) * fake  # [B, ...]
    return unit_norm_penalty(D, x_hat, y)


def r1_penalty(D: nn.Module, real: Tensor, fake: Tensor | None = None, y: Tensor | None = None) -> Tensor:
    """R1 (Mescheder et al. 2018): E[||grad_x D(x)||_2^2] on real data only.

    Returns the squared norm itself; the paper's penalty is gamma / 2 times it,
    which the trainer forms as weight (= gamma) * scale (= 0.5) * R1. With lazy
    regularization the trainer applies it every k D steps, multiplied by k.
    """
    grad = input_gradient(D, real, y)  # [B, ...]
    return grad.flatten(1).pow(2).sum(dim=1).mean()


def dragan_penalty(D: nn.Module, real: Tensor, fake: Tensor | None = None, y: Tensor | None = None) -> Tensor:
    """DRAGAN (Kodali et al. 2017): E[(||grad D(x_hat)||_2 - 1)^2] around the data.

    x_p = real + 0.5 * std(real) * u with u ~ U[0, 1] per element, then
    x_hat = alpha * real + (1 - alpha) * x_p with alpha ~ U[0, 1] per sample:
    points in a small neighbourhood of the real samples, where sharp gradients
    of D signal mode collapse.
    """
    real = real.detach()
    x_p = real + 0.5 * real.std() * torch.rand_like(real)  # [B, ...]
    alpha = per_sample_uniform(real)  # [B, 1, ...]
    x_hat = alpha * real + (1 - alpha) * x_p
    return unit_norm_penalty(D, x_hat, y)


def _register(name: str, reg: Regularizer) -> None:
    REGULARIZERS.register(name, reg, help=reg.help)


_register("gp", Regularizer(
    gradient_penalty, default_weight=10.0,
    help="gradient penalty on real-fake interpolates, lambda 10 (Gulrajani et al. 2017)",
))
_register("r1", Regularizer(
    r1_penalty, default_weight=10.0, scale=0.5,
    help="gamma/2 * squared gradient norm on real data, gamma 10 (Mescheder et al. 2018)",
))
_register("dragan", Regularizer(
    dragan_penalty, default_weight=10.0,
    help="gradient penalty around perturbed real data, lambda 10 (Kodali et al. 2017)",
))


@dataclass(frozen=True)
class Penalty:
    """A regularizer as a D step applies it: at every ``every``-th D step (lazy regularization),
    ``weight * reg.scale * every`` times the penalty is added to D's loss; nothing in between."""

    reg: Regularizer
    weight: float
    every: int = 1

    def due(self, d_index: int) -> bool:
        return d_index % self.every == 0

    def term(self, penalty: Tensor) -> Tensor:
        return self.weight * self.reg.scale * self.every * penalty


def penalty_for(name: str | None, weight: float | None, every: int, loss: GANLoss) -> Penalty | None:
    """The Penalty a run's ``reg.*`` and loss give (see ``resolve``), or None when no regularizer applies."""
    reg, weight = resolve(name, weight, loss)
    return None if reg is None else Penalty(reg, weight, every)


def resolve(name: str | None, weight: float | None, loss: GANLoss) -> tuple[Regularizer | None, float]:
    """The regularizer and weight a run uses, from ``reg.name``, ``reg.weight`` and the loss.

    A named regularizer wins; with none named, the loss's own (wgan-gp: gp) is
    used, else there is none. The weight is ``reg.weight`` when set, else the
    loss's ``penalty_weight`` for its own regularizer, else the regularizer's
    ``default_weight``. Returns (None, 0.0) when no regularizer applies.
    """
    own = name is None or name == loss.penalty
    name = loss.penalty if name is None else name
    if name is None:
        return None, 0.0
    reg: Regularizer = REGULARIZERS.get(name)
    if weight is None:
        weight = loss.penalty_weight if own and loss.penalty_weight is not None else reg.default_weight
    return reg, float(weight)
