"""Precision, recall, density and coverage of generated samples in feature space.

Each sample set is turned into a manifold estimate: the union of balls around its
points, each ball's radius being the distance from the point to its k-th nearest
neighbour in the same set (the point itself excluded), NND_k. With real features
X = {x_i}, i = 1..N, and fake features Y = {y_j}, j = 1..M:

Precision and recall (Kynkaanniemi et al. 2019, "Improved Precision and Recall
Metric for Assessing Generative Models", k = 3):

    precision = (1/M) sum_j 1[ exists i: ||y_j - x_i|| <= NND_k(x_i) ]   fakes on the real manifold
    recall    = (1/N) sum_i 1[ exists j: ||x_i - y_j|| <= NND_k(y_j) ]   reals on the fake manifold

Density and coverage (Naeem et al. 2020, "Reliable Fidelity and Diversity
Metrics for Generative Models", k = 5):

    density  = 1/(k M) sum_j sum_i 1[ ||y_j - x_i|| <= NND_k(x_i) ]      ~1 when Y ~ X, unbounded above
    coverage = (1/N) sum_i 1[ min_j ||x_i - y_j|| <= NND_k(x_i) ]         reals with a fake in their ball

Balls are closed (<=), as in the inequality of Kynkaanniemi et al.

Distances are computed a block of rows at a time, so memory stays under ~100 MB
whatever N and M are. Every criterion above compares distances, so squared distances
are enough: each block is ||a||^2 + ||b||^2 - 2 a.b^T from one matrix product
(what torch.cdist does internally for large inputs, without its square root,
and measurably faster on CPU). :func:`prdc` needs three passes (real-real,
fake-fake, fake-real): 10,000 x 10,000 features of dimension 128 take a few
seconds on two CPU cores.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from gankit.metrics.fid import ArrayLike, as_features, check_same_dim, positive_int

Tensor = torch.Tensor

# Entries of one block of the distance matrix: 8M floats = 32 MB in float32.
_BLOCK_ELEMENTS = 1 << 23


def _prepare(real_features: ArrayLike, fake_features: ArrayLike, real_min: int, fake_min: int,
             dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Validate both sets and return them as torch [N, D], [M, D] in ``dtype``.

    Both are shifted by the real mean first (in float64): distances do not
    change, and points close to the origin lose less precision in the
    ||a||^2 + ||b||^2 - 2 a.b expansion.
    """
    real = as_features(real_features, "real_features", min_rows=real_min)
    fake = as_features(fake_features, "fake_features", min_rows=fake_min)
    check_same_dim(real, fake, "real_features", "fake_features")
    center = real.mean(axis=0, keepdims=True)  # [1, D]
    return (torch.from_numpy(real - center).to(dtype), torch.from_numpy(fake - center).to(dtype))


def _blocks(a: Tensor, b: Tensor) -> Iterator[tuple[int, Tensor]]:
    """Yield (start, squared distances [rows, len(b)]) from the rows of ``a`` to all of ``b``."""
    rows = max(1, _BLOCK_ELEMENTS // max(1, b.shape[0]))
    b_sq = (b * b).sum(dim=1)[None, :]  # [1, M]
    for start in range(0, a.shape[0], rows):
        block = a[start:start + rows]  # [rows, D]
        sq = torch.addmm(b_sq, block, b.T, alpha=-2.0)  # ||b||^2 - 2 a.b  [rows, M]
        sq.add_((block * block).sum(dim=1, keepdim=True)).clamp_min_(0.0)  # rounding can dip below 0
        yield start, sq


def _sq_knn_radii(x: Tensor, ks: tuple[int, ...]) -> dict[int, Tensor]:
    """For each k in ``ks``: NND_k(x_i)^2, the squared distance from x_i to its k-th
    nearest neighbour among the other points of x [N, D]; each a [N] tensor.

    The point itself is left out by setting its own distance to +inf (so a
    duplicate of x_i elsewhere in x does count, at distance 0). Needs N > max(ks).
    """
    k_max = max(ks)
    radii = {k: torch.empty(x.shape[0], dtype=x.dtype) for k in ks}
    for start, sq in _blocks(x, x):  # sq [rows, N]
        rows = torch.arange(sq.shape[0])
        sq[rows, start + rows] = float("inf")  # exclude each point from its own neighbours
        nearest = sq.topk(k_max, dim=1, largest=False).values  # [rows, k_max], ascending
        for k in ks:
            radii[k][start:start + sq.shape[0]] = nearest[:, k - 1]
    return radii


def knn_radii(features: ArrayLike, k: int) -> Tensor:
    """NND_k(x_i) for features [N, D] (N > k): the distance from each point to its
    k-th nearest neighbour, itself excluded; a float64 [N] tensor."""
    k = positive_int(k, "k")
    x = torch.from_numpy(as_features(features, "features", min_rows=k + 1))
    return _sq_knn_radii(x, (k,))[k].sqrt()


def _cross_pass(real: Tensor, fake: Tensor, real_r_pr: Tensor | None, fake_r_pr: Tensor | None,
                real_r_dc: Tensor | None) -> dict[str, Tensor]:
    """One pass over the fake-to-real squared distances, accumulating what is asked for.

    real_r_pr [N], fake_r_pr [M]: squared NND_k for precision and recall;
    real_r_dc [N]: squared NND_k for density and coverage (None: not wanted).
    Returns raw counts and masks.
    """
    n_real = real.shape[0]
    out: dict[str, Tensor] = {}
    if real_r_pr is not None:
        out["precise"] = torch.zeros((), dtype=torch.int64)  # fakes inside some real ball
    if fake_r_pr is not None:
        out["recalled"] = torch.zeros(n_real, dtype=torch.bool)  # reals inside some fake ball
    if real_r_dc is not None:
        out["ball_hits"] = torch.zeros((), dtype=torch.int64)  # (fake, real ball) containment pairs
        out["nearest_fake"] = torch.full((n_real,), float("inf"), dtype=real.dtype)  # min_j ||x_i - y_j||^2
    for start, sq in _blocks(fake, real):  # sq [rows, N]: fakes start..start+rows to all reals
        if real_r_pr is not None:
            out["precise"] += (sq <= real_r_pr[None, :]).any(dim=1).sum()
        if fake_r_pr is not None:
            fake_r = fake_r_pr[start:start + sq.shape[0], None]  # [rows, 1]
            out["recalled"] |= (sq <= fake_r).any(dim=0)
        if real_r_dc is not None:
            out["ball_hits"] += (sq <= real_r_dc[None, :]).sum()
            out["nearest_fake"] = torch.minimum(out["nearest_fake"], sq.min(dim=0).values)
    return out


def precision_recall(real_features: ArrayLike, fake_features: ArrayLike, k: int = 3,
                     dtype: torch.dtype = torch.float32) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN balls.

    real_features [N, D], fake_features [M, D], both with more than k rows.
    Returns {"precision", "recall"}, each in [0, 1]. ``dtype`` is the precision
    of the distance computation (float32 by default; float64 is slower).
    """
    k = positive_int(k, "k")
    real, fake = _prepare(real_features, fake_features, k + 1, k + 1, dtype)
    real_r = _sq_knn_radii(real, (k,))[k]  # [N]
    fake_r = _sq_knn_radii(fake, (k,))[k]  # [M]
    out = _cross_pass(real, fake, real_r, fake_r, None)
    return {
        "precision": out["precise"].item() / fake.shape[0],
        "recall": out["recalled"].double().mean().item(),
    }


def density_coverage(real_features: ArrayLike, fake_features: ArrayLike, k: int = 5,
                     dtype: torch.dtype = torch.float32) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020) with k-NN balls around the real points.

    real_features [N, D] with more than k rows, fake_features [M, D] with at
    least one. Returns {"density" (>= 0, ~1 for matching distributions),
    "coverage" (in [0, 1])}.
    """
    k = positive_int(k, "k")
    real, fake = _prepare(real_features, fake_features, k + 1, 1, dtype)
    real_r = _sq_knn_radii(real, (k,))[k]  # [N]
    out = _cross_pass(real, fake, None, None, real_r)
    return {
        "density": out["ball_hits"].item() / (k * fake.shape[0]),
        "coverage": (out["nearest_fake"] <= real_r).double().mean().item(),
    }


def prdc(real_features: ArrayLike, fake_features: ArrayLike, k_pr: int = 3, k_dc: int = 5,
         dtype: torch.dtype = torch.float32) -> dict[str, float]:
    """All four metrics in three distance passes instead of five: the same values
    as :func:`precision_recall` (with k = k_pr) and :func:`density_coverage`
    (with k = k_dc). Returns {"precision", "recall", "density", "coverage"}.
    """
    k_pr = positive_int(k_pr, "k_pr")
    k_dc = positive_int(k_dc, "k_dc")
    real, fake = _prepare(real_features, fake_features, max(k_pr, k_dc) + 1, k_pr + 1, dtype)
    real_r = _sq_knn_radii(real, (k_pr, k_dc))  # {k: [N]}
    fake_r = _sq_knn_radii(fake, (k_pr,))[k_pr]  # [M]
    out = _cross_pass(real, fake, real_r[k_pr], fake_r, real_r[k_dc])
    return {
        "precision": out["precise"].item() / fake.shape[0],
        "recall": out["recalled"].double().mean().item(),
        "density": out["ball_hits"].item() / (k_dc * fake.shape[0]),
        "coverage": (out["nearest_fake"] <= real_r[k_dc]).double().mean().item(),
    }
