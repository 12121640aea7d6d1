"""Stacked MNIST evaluation: three MNIST digits as the R, G, B channels, 1000 modes.

Each channel is classified by the MNIST evaluator (the protocol of VEEGAN and
PacGAN); the mode of an image is the triple of its channels' digits. The
evaluator presents that as an ordinary 1000-class classifier: its probabilities
are the outer product p_r x p_g x p_b (so the top class is exactly the triple of
per-channel top digits), and its features are the three channels' features side
by side, so FID and friends work unchanged.
"""

from __future__ import annotations

import torch

from gankit.metrics.classifiers import load_evaluator


class StackedMNISTEvaluator:
    dataset = "stacked-mnist"

    def __init__(self, device: str | torch.device = "cpu"):
        self.mnist = load_evaluator("mnist", device)
        self.name = f"stacked-{self.mnist.name}"
        self.sha256 = self.mnist.sha256
        self.feature_dim = 3 * self.mnist.feature_dim
        self.num_classes = 1000

    def embed(self, images: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
        """uint8 [N, 3, 28, 28] -> (features [N, 384], probabilities [N, 1000], index 100*r + 10*g + b)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"stacked MNIST images are [N, 3, 28, 28], got {tuple(images.shape)}")
        parts = [self.mnist.embed(images[:, c : c + 1].contiguous(), batch_size) for c in range(3)]
        features = torch.cat([f for f, _ in parts], dim=1)
        (_, pr), (_, pg), (_, pb) = parts
        probs = pr[:, :, None, None] * pg[:, None, :, None] * pb[:, None, None, :]  # [N, 10, 10, 10]
        return features, probs.reshape(len(images), 1000)


def channel_probs(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Undo the outer product: [N, 1000] -> the three channels' [N, 10] marginals."""
    p = probs.reshape(-1, 10, 10, 10)
    return p.sum((2, 3)), p.sum((1, 3)), p.sum((1, 2))
