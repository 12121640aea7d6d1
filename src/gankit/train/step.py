"""One training step of a GAN: n_critic D steps, then a G step.

The step is called with its inputs, drawn by the Trainer (see interface.py):
``GANStep(inputs)``, where D step k takes ``inputs.reals[k]`` and the fakes of
``inputs.z[k]``. Shapes: real [B, C, H, W] in [-1, 1] (or points [B, 2]); y int64
[B] or None; z [B, latent]; logits [B]; class logits [B, K] (ACGAN, TAC-GAN).

Phases of a step:
  D step       raise D on real data, lower it on fakes (the fakes detached, so the
               backward pass stops at D); + regularizer (gp, r1, dragan) when due;
               + ACGAN's auxiliary classification of real (and fake) labels
               (TAC-GAN: fake labels by a twin classifier);
               then weight clipping for the original WGAN.
  G step       judge the last D step's fakes with the updated D and move G to fool
               it (D's weights frozen, so only input gradients flow through D).
  EMA          the generator's moving average follows G (done by the caller).
DiffAugment, when on, transforms every image D sees, real or fake, in every phase.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from gankit.augment import diff_augment
from gankit.config import Config
from gankit.errors import ConfigError
from gankit.losses import GANLoss, acgan_loss, adversarial, clip_weights_
from gankit.registry import LOSSES, STEPS
from gankit.regularizers import Penalty, penalty_for
from gankit.train.guard import OFF, Guard
from gankit.train.interface import Networks, StepInputs
from gankit.train.optim import make_optimizer

Tensor = torch.Tensor


@dataclass
class GANStep:
    capturable: ClassVar[bool] = True  # one call can be recorded as a CUDA graph
    uses_noise: ClassVar[bool] = True

    G: nn.Module  # what the step runs: the networks, or their DDP wrappers under torchrun
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    loss: GANLoss
    n_critic: int = 1
    penalty: Penalty | None = None  # D's regularizer (reg.*), None: none
    clip: float = 0.01  # WGAN weight clipping bound (used when loss.weight_clipping)
    aux_weight: float = 1.0  # ACGAN auxiliary loss weight in D's loss
    aux_weight_g: float = 1.0  # ... and in G's
    aux_fakes: bool = True  # D's classifier also learns the fakes' labels (Odena et al.); else real ones only
    augment: str = ""  # DiffAugment policy
    bf16: bool = False  # forward passes under bfloat16 autocast (weights, optimizers and losses stay float32)
    simultaneous: bool = False  # one D pass serves the D and the G loss (see joint_step)
    autocast_cache: bool = True  # off inside a CUDA graph, whose replays must not reuse one replay's casts
    guard: Guard = field(default_factory=lambda: OFF)  # NaN and Inf: may an update go ahead? (guard.py)
    optimizers: dict[str, torch.optim.Optimizer] = field(init=False)

    def __post_init__(self) -> None:
        self.optimizers = {"G": self.opt_g, "D": self.opt_d}

    @property
    def n_batches(self) -> int:
        return self.n_critic

    @classmethod
    def build(cls, cfg: Config, nets: Networks, precision: str, graphed: bool, world_size: int = 1) -> GANStep:
        """The step ``cfg`` describes, with its two optimizers (capturable when ``graphed``)."""
        o = cfg.optim
        if o.update == "simultaneous" and (o.n_critic > 1 or world_size > 1):
            raise ConfigError("optim.update=simultaneous needs optim.n_critic=1 and a single process")
        loss = LOSSES.get(cfg.loss.name)
        return cls(nets.G_ddp, nets.D_ddp,
                   make_optimizer(nets.G.parameters(), o, o.lr_g, nets.device, graphed),
                   make_optimizer(nets.D.parameters(), o, o.lr_d, nets.device, graphed),
                   loss, n_critic=o.n_critic,
                   penalty=penalty_for(cfg.reg.name, cfg.reg.weight, cfg.reg.every, loss),
                   clip=cfg.loss.clip, aux_weight=cfg.loss.aux_weight,
                   aux_weight_g=cfg.loss.aux_weight if cfg.loss.aux_weight_g is None else cfg.loss.aux_weight_g,
                   aux_fakes=cfg.loss.aux_fakes, augment=cfg.augment.policy,
                   bf16=precision == "bf16", simultaneous=o.update == "simultaneous", autocast_cache=not graphed)

    def amp(self) -> contextlib.AbstractContextManager:
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(next(self.G.parameters()).device.type, dtype=torch.bfloat16,
                              cache_enabled=self.autocast_cache)

    def critic(self, x: Tensor, y: Tensor | None, D: nn.Module | None = None) -> Tensor | tuple[Tensor, Tensor]:
        """D as every phase sees it: through DiffAugment when that is on, under autocast when asked."""
        with self.amp():
            return (self.D if D is None else D)(diff_augment(x, self.augment) if self.augment else x, y)

    def __call__(self, inputs: StepInputs) -> dict[str, Tensor]:
        """One G step: a D step on each of the n_critic real batches, then the G step."""
        if self.simultaneous:
            return self.joint_step(inputs.reals[0], inputs.labels[0], inputs.z[0], inputs.fake_labels[0],
                                   inputs.d_index)
        stats: dict[str, Tensor] = {}
        for k in range(self.n_critic):
            real, y, z, y_fake = inputs.reals[k], inputs.labels[k], inputs.z[k], inputs.fake_labels[k]
            last = k == self.n_critic - 1
            with torch.set_grad_enabled(last), self.amp():  # only the last fakes are reused by the G step
                fake = self.G(z, y_fake)  # [B, C, H, W]
            stats.update(self.d_step(real, y, fake.detach(), y_fake, inputs.d_index + k))
        stats.update(self.g_step(real, y, fake, y_fake))
        return stats

    def d_step(self, real: Tensor, y: Tensor | None, fake: Tensor, y_fake: Tensor | None,
               d_index: int) -> dict[str, Tensor]:
        # two autocast regions, not one: each pass casts D's weights itself, so the two passes'
        # weight gradients are summed in float32 rather than in bfloat16
        out_real, out_fake = self.critic(real, y), self.critic(fake, y_fake)
        loss_d, stats = self.d_loss(out_real, out_fake, real, y, fake, y_fake, d_index)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        stats["grad_norm_d"] = grad_norm(self.opt_d)
        if self.guard.allows("D", loss_d=loss_d, grad_norm=stats["grad_norm_d"]):
            self.opt_d.step()
            if self.loss.weight_clipping:
                clip_weights_(self.D, self.clip)
        return stats

    def d_loss(self, out_real, out_fake, real: Tensor, y: Tensor | None, fake: Tensor, y_fake: Tensor | None,
               d_index: int) -> tuple[Tensor, dict[str, Tensor]]:
        """D's loss from its outputs on real and fake images: adversarial + ACGAN + penalty."""
        real_logits, fake_logits = adversarial(out_real).float(), adversarial(out_fake).float()
        loss_d = self.loss.d_loss(real_logits, fake_logits)
        stats = {"loss_d": loss_d.detach(), **d_outputs(self.loss, real_logits, fake_logits)}
        if isinstance(out_real, tuple):  # ACGAN: classify real (and, as Odena et al., fake) images by their labels
            aux = acgan_loss(out_real[1].float(), y)
            if len(out_fake) == 3:  # TAC-GAN: the twin classifier learns the fakes' labels instead
                aux = aux + acgan_loss(out_fake[2].float(), y_fake)
            elif self.aux_fakes:  # Odena et al.'s ACGAN: the one classifier learns the fakes' labels too
                aux = aux + acgan_loss(out_fake[1].float(), y_fake)
            loss_d = loss_d + self.aux_weight * aux
            stats["aux_d"] = aux.detach()
            stats["aux_acc_real"] = (out_real[1].argmax(1) == y).float().mean()
        if self.penalty is not None and self.penalty.due(d_index):
            penalty = self.penalty.reg.fn(self.critic, real, fake.detach(), y).float()
            loss_d = loss_d + self.penalty.term(penalty)
            stats["penalty"] = penalty.detach()
        return loss_d, stats

    def g_loss(self, out_fake, out_real, y_fake: Tensor | None) -> tuple[Tensor, dict[str, Tensor]]:
        """G's loss from D's outputs on its fakes (and on real images, for RaGAN)."""
        real_logits = adversarial(out_real).float() if out_real is not None else None
        loss_g = self.loss.g_loss(adversarial(out_fake).float(), real_logits)
        stats = {}
        if isinstance(out_fake, tuple):
            aux = acgan_loss(out_fake[1].float(), y_fake)
            if len(out_fake) == 3:  # TAC-GAN: minus the twin's loss, so G is not paid for making each
                # label's images easier to tell apart than the real ones are (Gong et al. 2019)
                aux = aux - acgan_loss(out_fake[2].float(), y_fake)
            loss_g = loss_g + self.aux_weight_g * aux
            stats["aux_g"] = aux.detach()
        stats["loss_g"] = loss_g.detach()
        return loss_g, stats

    def joint_step(self, real: Tensor, y: Tensor | None, z: Tensor, y_fake: Tensor | None,
                   d_index: int) -> dict[str, Tensor]:
        """The D and G updates from one pass of D over real and fake images, as the
        TensorFlow DCGAN tutorial computes them: both gradients are taken at the same
        (pre-update) parameters, which saves one D forward pass per step.

        D's gradient comes from D's loss alone and G's from G's loss alone, each with
        torch.autograd.grad, which computes only what it is asked for: no D weight
        gradients for G's loss, nothing of G for D's loss.
        """
        with self.amp():  # one autocast region: D's weights are cast to bfloat16 once for both passes
            fake = self.G(z, y_fake)  # [B, C, H, W]
            out_real, out_fake = self.critic(real, y), self.critic(fake, y_fake)
            loss_d, stats = self.d_loss(out_real, out_fake, real, y, fake, y_fake, d_index)
            loss_g, g_stats = self.g_loss(out_fake, out_real if self.loss.g_uses_real else None, y_fake)
        d_params = [p for p in self.D.parameters() if p.requires_grad]
        g_params = [p for p in self.G.parameters() if p.requires_grad]
        d_grads = torch.autograd.grad(loss_d, d_params, retain_graph=True, allow_unused=True)
        g_grads = torch.autograd.grad(loss_g, g_params, allow_unused=True)
        for params, grads in ((d_params, d_grads), (g_params, g_grads)):
            for p, g in zip(params, grads):
                p.grad = g
        stats["grad_norm_d"], g_stats["grad_norm_g"] = grad_norm(self.opt_d), grad_norm(self.opt_g)
        if self.guard.allows("D", loss_d=loss_d, grad_norm=stats["grad_norm_d"]):
            self.opt_d.step()
            if self.loss.weight_clipping:
                clip_weights_(self.D, self.clip)
        if self.guard.allows("G", loss_g=loss_g, grad_norm=g_stats["grad_norm_g"]):
            self.opt_g.step()
        return {**stats, **g_stats}

    def g_step(self, real: Tensor, y: Tensor | None, fake: Tensor, y_fake: Tensor | None) -> dict[str, Tensor]:
        D = getattr(self.D, "module", self.D)  # a DDP wrapper's plain module: D is not updated here, so no sync
        D.requires_grad_(False)
        out_fake = self.critic(fake, y_fake, D)
        out_real = self.critic(real, y, D) if self.loss.g_uses_real else None
        loss_g, stats = self.g_loss(out_fake, out_real, y_fake)
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        stats["grad_norm_g"] = grad_norm(self.opt_g)
        if self.guard.allows("G", loss_g=loss_g, grad_norm=stats["grad_norm_g"]):
            self.opt_g.step()
        D.requires_grad_(True)
        return stats


def grad_norm(opt: torch.optim.Optimizer) -> Tensor:
    """The L2 norm of all the gradients an optimizer is about to apply, as a device tensor (no sync):
    logged, and watched by the training doctor (a G whose gradients vanish has stopped learning)."""
    grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads).detach()


def d_outputs(loss: GANLoss, real_logits: Tensor, fake_logits: Tensor) -> dict[str, Tensor]:
    """Mean D(x) and D(G(z)) as probabilities (0.5: D cannot tell), or raw critic scores."""
    if loss.probabilistic:
        return {"d_real": torch.sigmoid(real_logits.detach()).mean(),
                "d_fake": torch.sigmoid(fake_logits.detach()).mean()}
    return {"score_real": real_logits.detach().mean(), "score_fake": fake_logits.detach().mean()}


STEPS.register("gan", GANStep, help="n_critic D steps, then a G step (train/step.py)")
