"""The interface between the Trainer and a training step.

The Trainer builds the networks (:class:`Networks`), draws each step's inputs
(:class:`StepInputs`) and calls the step, which updates the networks and returns
its statistics as device tensors. The Trainer is the only place where a step's
data and noise are drawn (real batches from the data order, z and fake labels
from the noise generator); a step is a function of its inputs and of the
networks' own random layers (dropout, DiffAugment, penalties), which draw from
torch's global generator.

Each kind of model has its step, registered in ``gankit.registry.STEPS`` under
the kind its models are registered with (``MODELS.register(..., kind=...)``):
"gan" (train/step.py), "likelihood" (train/elbo_step.py); translation models train with
"paired" (train/paired_step.py) or, on unpaired data, "cycle" (train/cycle_step.py).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar, Protocol

import torch
from torch import nn

Tensor = torch.Tensor


@dataclass
class StepInputs:
    """One G step's inputs, one entry per D step (n of them: ``optim.n_critic`` for a GAN).

    reals        n x float [B, C, H, W] in [-1, 1] (2-D points: [B, 2])
    labels       n x int64 [B], the reals' classes; None for unconditional models (and for
                 paired translation unless D projects the targets' classes)
    z            n x float [B, latent]; empty for steps that draw no noise
    fake_labels  n x int64 [B], the class each fake is asked for; None when unconditional
    d_index      index of the first of these D steps in the whole run (lazy regularization
                 counts D steps; a translation step, one D step per G step, its warm-up)
    sources      translation: n x float [B, Cs, h, w], the images to translate (reals are
                 their targets, or for unpaired data the other domain's images); empty otherwise
    source_labels  translation: n x int64 [B], the sources' classes on unpaired data, with
                 ``labels`` the other domain's (the class-consistency loss), or None when
                 paired; empty for models that generate from noise
    """

    reals: tuple[Tensor, ...]
    labels: tuple[Tensor | None, ...]
    z: tuple[Tensor, ...] = ()
    fake_labels: tuple[Tensor | None, ...] = ()
    d_index: int = 0
    sources: tuple[Tensor, ...] = ()
    source_labels: tuple[Tensor | None, ...] = ()

    def clone(self) -> StepInputs:
        """A copy with tensors of its own (a CUDA graph's fixed input buffers)."""
        return StepInputs(**{f.name: _map(getattr(self, f.name), lambda t: t.clone()) for f in fields(self)})

    def copy_(self, other: StepInputs) -> None:
        """Copy ``other``'s tensors into this one's, in place."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, tuple):
                for a, b in zip(mine, theirs, strict=True):
                    if a is not None:
                        a.copy_(b)


def _map(value, fn):
    if isinstance(value, tuple):
        return tuple(None if t is None else fn(t) for t in value)
    return value


@dataclass
class Networks:
    """The networks a step trains: the plain modules, and what the step runs."""

    G: nn.Module
    D: nn.Module  # the discriminator, or a likelihood model's encoder
    G_ddp: nn.Module  # under torchrun the DistributedDataParallel wrapper of G (which averages
    D_ddp: nn.Module  # gradients over the ranks); else, or for a step that averages its own, G and D
    device: torch.device


class Step(Protocol):
    """A training step: ``step(inputs) -> {name: scalar tensor}``, one G step per call."""

    capturable: ClassVar[bool]  # whether one call can be recorded as a CUDA graph
    # under torchrun: whether the step all-reduces its gradients itself, so its networks are not
    # wrapped in DDP (absent: False)
    averages_gradients: ClassVar[bool]
    n_batches: int  # real batches per call (D steps per G step)
    uses_noise: bool  # whether it reads inputs.z and inputs.fake_labels
    optimizers: dict[str, torch.optim.Optimizer]  # by name, as checkpoints keep them

    def __call__(self, inputs: StepInputs) -> dict[str, Tensor]: ...
