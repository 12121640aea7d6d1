"""An exponential moving average of the generator's weights (Karras et al. 2018, 2020).

The averaged generator gives smoother, usually better samples than the last
iterate. Its decay is set by a half-life in images rather than in steps, so it
does not depend on the batch size: after each G step that trained on
``batch_images`` images,

    beta  = 0.5 ** (batch_images / half_life)
    theta_ema <- beta * theta_ema + (1 - beta) * theta

so a weight's contribution halves every ``half_life`` images. With a ramp-up
(StyleGAN2-ADA, Karras et al. 2020), the half-life is at most ``rampup *
images_seen``, so early in training, while the generator changes fast, the
average forgets its random start quickly. Buffers (BatchNorm running
statistics) are not averaged but copied from the generator.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn


class EMA:
    """A frozen copy of a generator, ``.module``, that tracks its moving average."""

    def __init__(self, model: nn.Module, half_life_images: float, rampup: float | None = None):
        if half_life_images <= 0:
            raise ValueError(f"the EMA half-life must be > 0 images, got {half_life_images}")
        if rampup is not None and rampup <= 0:
            raise ValueError(f"the EMA ramp-up must be > 0 or None, got {rampup}")
        self.half_life_images = float(half_life_images)
        self.rampup = rampup
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    def half_life(self, images_seen: int) -> float:
        """The half-life in images after ``images_seen`` images: min(half_life, rampup * images_seen)."""
        if self.rampup is None:
            return self.half_life_images
        return min(self.half_life_images, self.rampup * images_seen)

    def beta(self, batch_images: int, images_seen: int) -> float:
        """The decay of one step: 0.5 ** (batch_images / half-life); 0 (copy) at a zero half-life."""
        half_life = self.half_life(images_seen)
        return 0.5 ** (batch_images / half_life) if half_life > 0 else 0.0

    @torch.no_grad()
    def update(self, model: nn.Module, batch_images: int, images_seen: int) -> float:
        """Move the average towards ``model`` after a G step; return the beta used.

        ``batch_images`` is the number of images that step trained on, and
        ``images_seen`` the total number G has trained on, this step included.
        Parameters are lerped: ema + (1 - beta) (theta - ema); buffers are copied.
        """
        beta = self.beta(batch_images, images_seen)
        for ema_p, p in _matched(self.module.named_parameters(), model.named_parameters()):
            ema_p.lerp_(p.detach(), 1.0 - beta)
        for ema_b, b in _matched(self.module.named_buffers(), model.named_buffers()):
            ema_b.copy_(b)
        return beta

    def state_dict(self) -> dict[str, Any]:
        """The averaged generator's weights and buffers, for checkpoints."""
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.module.load_state_dict(state)


def _matched(
    ema: Iterable[tuple[str, torch.Tensor]], model: Iterable[tuple[str, torch.Tensor]]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Pair the EMA's tensors with the model's by name; a different model is an error."""
    ema, model = dict(ema), dict(model)
    if ema.keys() != model.keys():
        raise ValueError("the EMA copy and the model have different parameters or buffers")
    for name, tensor in ema.items():
        yield tensor, model[name]
