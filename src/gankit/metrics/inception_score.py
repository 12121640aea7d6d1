"""The Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))).

High when each sample is confidently one class (sharp p(y|x)) and the samples
spread over the classes (broad p(y)). With a domain classifier instead of
Inception-v3 it is the "classifier score" of TF-GAN's MNIST evaluation.
"""

from __future__ import annotations

import numpy as np
import torch


def inception_score(probs: torch.Tensor, splits: int = 10, seed: int = 0) -> dict[str, float]:
    """exp(E_x KL(p(y|x) || p(y))) over ``splits`` shuffled chunks: mean and std."""
    p = probs.double()
    p = p[torch.randperm(len(p), generator=torch.Generator().manual_seed(seed))]
    scores = []
    for chunk in p.chunk(splits):
        marginal = chunk.mean(0, keepdim=True)
        kl = (chunk * (chunk.clamp_min(1e-12).log() - marginal.clamp_min(1e-12).log())).sum(1).mean()
        scores.append(kl.exp().item())
    return {"is_mean": float(np.mean(scores)), "is_std": float(np.std(scores))}
