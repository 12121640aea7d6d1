"""The evaluator of 2-D data: the points are their own features.

Its class probabilities are one-hot on the nearest mode, so the mode metrics
count which modes the samples land nearest to; ``toy-modes`` also checks how
close (within 3 standard deviations, as VEEGAN and PacGAN do).
"""

from __future__ import annotations

import hashlib

import torch


class PointsEvaluator:
    name = "points-identity"

    def __init__(self, modes: torch.Tensor, mode_std: float):
        self.modes = torch.as_tensor(modes, dtype=torch.float32).cpu()  # [M, 2]
        self.mode_std = float(mode_std)
        self.meta = {"modes": self.modes, "mode_std": self.mode_std}
        self.sha256 = hashlib.sha256(self.modes.numpy().tobytes() + repr(self.mode_std).encode()).hexdigest()

    def embed(self, points: torch.Tensor, batch_size: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """float [N, 2] -> (the points [N, 2], one-hot of the nearest mode [N, M])."""
        if points.dim() != 2 or points.shape[1] != 2:
            raise ValueError(f"expected 2-D points [N, 2], got {tuple(points.shape)}")
        x = points.float().cpu()
        nearest = torch.cdist(x, self.modes).argmin(1)
        return x, torch.nn.functional.one_hot(nearest, len(self.modes)).float()
