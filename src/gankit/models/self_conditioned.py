"""An unconditional generator made of a conditional one and clusters of the data (model.clusters).

Training conditions G and D on the k-means cluster of each real image
(gankit.data.clusters) instead of a class label. Outside training nobody holds a
cluster to pass, so the generator draws its own from z: the first coordinate of
z ~ N(0, 1), through the normal CDF, is a uniform number u, and the cluster is the
one whose slice of [0, 1] (its share of the training images) holds u. So
``G(z) -> image`` is a function of z alone, with clusters as frequent as in the data,
and sampling, walks, evaluation and ONNX export treat it as any unconditional G.
Truncated z (sampling's ``truncation``) narrows the clusters drawn as it narrows z.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SelfConditioned(nn.Module):
    """``inner``: a conditional generator with ``clusters`` classes; G(z, y=None) with y the cluster."""

    def __init__(self, inner: nn.Module, clusters: int):
        super().__init__()
        self.inner = inner
        self.latent_dim, self.out_shape = inner.latent_dim, inner.out_shape
        self.num_classes = 0  # no labels in: the cluster comes from z
        # upper ends of the clusters' slices of [0, 1] but the last: cumulative shares [clusters - 1];
        # even shares until set_shares (a saved generator's own are loaded with its weights)
        self.register_buffer("edges", torch.arange(1, clusters, dtype=torch.float32) / clusters)

    def set_shares(self, counts: torch.Tensor) -> None:
        """Each cluster's share of the training images, from its image counts [clusters]."""
        shares = counts.double() / counts.sum()
        self.edges.copy_(shares.cumsum(0)[:-1].to(self.edges))

    def cluster_of(self, z: torch.Tensor) -> torch.Tensor:
        """int64 [B]: the cluster z [B, latent_dim] draws, from its first coordinate."""
        u = 0.5 * (1 + torch.erf(z[:, 0].float() / math.sqrt(2)))  # [B], uniform on (0, 1)
        return (u[:, None] > self.edges[None, :]).sum(1)  # [B]: edges passed = cluster index

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.inner(z, self.cluster_of(z) if y is None else y)
