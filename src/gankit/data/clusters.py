"""Pseudo-labels without labels: k-means clusters of the training images (model.clusters).

A class-conditional GAN learns MNIST several times faster than an unconditional one,
and most of that gain is in the labels' splitting of the data into modes that G and D
can treat apart. Clusters of the images themselves give part of that split with no
labels at all: the idea of self-conditioned GANs (Liu et al. 2020, "Diverse Image
Generation via Self-Conditioned Generative Adversarial Networks"), which cluster D's
features; here the clusters are of pixels, fixed before training.

The features are the images at half resolution (2x2 sums of uint8 pixels: integers
0..1020), so every dot product k-means takes is a sum of integers below 2**53 and
exact in float64 in any order: the clusters are the same on any device, thread count
or process, which keeps resume bit-exact and torchrun's ranks in agreement without a
collective. scikit-learn's KMeans would give clusters that depend on its threads.
"""

from __future__ import annotations

import torch

MAX_ITERATIONS = 50  # Lloyd iterations at most; they stop earlier when no image changes cluster
CHUNK = 8192  # images per distance block: memory stays [CHUNK, k] whatever the dataset size


def features(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, C, H, W] -> float64 [N, C * H/2 * W/2]: integer sums of 2x2 blocks (sides of 16 px and
    up; an odd last row or column is left out), else the pixels themselves."""
    x = images.to("cpu", torch.int64)
    n, c, h, w = x.shape
    if min(h, w) >= 16:
        x = x[..., : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).sum((3, 5))
    return x.flatten(1).to(torch.float64)


def nearest(x: torch.Tensor, sums: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Index [N] of the nearest centre (sums / counts) of each row of ``x``. ||x - s/c||^2 less the
    row's own ||x||^2 is -2 x.s / c + ||s||^2 / c^2, with x.s exact (integers) and the rest
    computed once per centre, so the result does not depend on how the products are summed."""
    c = counts.to(torch.float64).clamp(min=1)
    s_norm = (sums * sums).sum(1).to(torch.float64) / (c * c)  # [k], exact int64 sum, then one rounding
    s = sums.to(torch.float64)
    out = torch.empty(len(x), dtype=torch.long)
    for i in range(0, len(x), CHUNK):
        d = -2 * (x[i : i + CHUNK] @ s.T) / c + s_norm  # [chunk, k]
        out[i : i + CHUNK] = d.argmin(1)
    return out


def kmeans(images: torch.Tensor, k: int, seed: int) -> torch.Tensor:
    """Cluster index int64 [N] of each image: k-means++ seeding from ``seed``, then Lloyd iterations."""
    n = len(images)
    if not 2 <= k <= n:
        raise ValueError(f"model.clusters must be between 2 and the {n} training images, got {k}")
    x = features(images)  # [N, D]
    xi = x.to(torch.int64)
    g = torch.Generator().manual_seed(seed)
    # k-means++: each next centre drawn with probability proportional to its squared distance
    chosen = [int(torch.randint(n, (1,), generator=g))]
    best = ((x - x[chosen[0]]) ** 2).sum(1)  # [N] squared distance to the nearest chosen centre
    for _ in range(1, k):
        nxt = int(torch.multinomial(best / best.sum(), 1, generator=g)) if best.sum() > 0 else len(chosen)
        chosen.append(nxt)
        best = torch.minimum(best, ((x - x[nxt]) ** 2).sum(1))
    sums, counts = xi[chosen], torch.ones(k, dtype=torch.int64)
    assign = nearest(x, sums, counts)
    for _ in range(MAX_ITERATIONS):
        counts = torch.bincount(assign, minlength=k)
        sums = torch.zeros(k, x.shape[1], dtype=torch.int64).index_add_(0, assign, xi)
        empty = counts == 0  # a centre that lost all its images keeps its place
        sums[empty], counts[empty] = xi[torch.tensor(chosen)[empty]], 1
        new = nearest(x, sums, counts)
        if torch.equal(new, assign):
            break
        assign = new
    return assign
