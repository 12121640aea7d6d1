"""Helpers for tests of networks: parameter counts, smooth test images, a few steps of fitting."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def smooth_images(n: int, channels: int, size: int, seed: int = 1) -> torch.Tensor:
    """A fixed batch of smooth images in [-1, 1]: 4x4 uniform noise, upsampled bilinearly."""
    coarse = torch.rand(n, channels, 4, 4, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    return F.interpolate(coarse, size=size, mode="bilinear")


def fit(G: nn.Module, x: torch.Tensor, target: torch.Tensor, steps: int = 20, lr: float = 3e-3) -> tuple[float, float]:
    """L1 loss before and after ``steps`` Adam steps on one fixed batch (the networks can learn)."""
    opt = torch.optim.Adam(G.parameters(), lr=lr)
    losses = []
    for _ in range(steps + 1):
        loss = (G(x) - target).abs().mean()
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return losses[0], losses[-1]
