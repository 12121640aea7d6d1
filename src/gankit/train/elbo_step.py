"""The training step of a likelihood model (the VAE baseline): one ELBO update.

The model's pair is (decoder, encoder) in the places of (G, D); one optimizer
trains both on the negative ELBO of one real batch (gankit.losses.elbo_loss).
The posterior sample z ~ q(z|x) is drawn inside the loss from torch's global
generator, so the step reads no noise from its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from gankit.config import Config
from gankit.losses import elbo_loss
from gankit.registry import STEPS
from gankit.train.guard import OFF, Guard
from gankit.train.interface import Networks, StepInputs
from gankit.train.optim import make_optimizer
from gankit.train.step import grad_norm

Tensor = torch.Tensor


@dataclass
class ELBOStep:
    capturable: ClassVar[bool] = False  # the graph replay is written for GAN steps
    uses_noise: ClassVar[bool] = False
    n_batches: ClassVar[int] = 1

    decoder: nn.Module
    encoder: nn.Module
    opt: torch.optim.Optimizer
    guard: Guard = field(default_factory=lambda: OFF)
    optimizers: dict[str, torch.optim.Optimizer] = field(init=False)

    def __post_init__(self) -> None:
        self.optimizers = {"G": self.opt}

    @classmethod
    def build(cls, cfg: Config, nets: Networks, precision: str, graphed: bool, world_size: int = 1) -> ELBOStep:
        params = [*nets.G.parameters(), *nets.D.parameters()]
        return cls(nets.G_ddp, nets.D_ddp, make_optimizer(params, cfg.optim, cfg.optim.lr_g, nets.device))

    def __call__(self, inputs: StepInputs) -> dict[str, Tensor]:
        x = inputs.reals[0]  # [B, C, H, W]
        loss, stats = elbo_loss(self.decoder, self.encoder, x)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = grad_norm(self.opt)
        if self.guard.allows("VAE", loss=loss, grad_norm=norm):
            self.opt.step()
        return {"loss": loss.detach(), **stats, "grad_norm": norm}


STEPS.register("likelihood", ELBOStep, help="one update of the negative ELBO (train/elbo_step.py)")
