"""Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD GANs").

KID is the squared Maximum Mean Discrepancy between the real and fake feature
distributions under the cubic polynomial kernel

    k(x, y) = (x . y / d + 1)^3          (d = feature dimension)

estimated without bias on m real samples X and m fake samples Y:

    MMD^2_u = 1/(m(m-1)) sum_{i != j} k(x_i, x_j)
            + 1/(m(m-1)) sum_{i != j} k(y_i, y_j)
            - 2/m^2      sum_{i, j}    k(x_i, y_j)

Being unbiased, the estimate is ~0 (and can be slightly negative) when both sets
come from the same distribution, at any sample size. As in the paper, it is
averaged over several random subsets, and their spread is reported too.
"""

from __future__ import annotations

import numpy as np

from gankit.metrics.fid import ArrayLike, as_features, check_same_dim, positive_int


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x . y / d + 1)^3 for x [M, D], y [N, D] -> [M, N]."""
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between x [m, D] and y [n, D] (m, n >= 2), polynomial kernel.

    The within-set sums leave out the diagonal k(x_i, x_i), which is what makes
    the estimator unbiased.
    """
    m, n = x.shape[0], y.shape[0]
    k_xx = polynomial_kernel(x, x)  # [m, m]
    k_yy = polynomial_kernel(y, y)  # [n, n]
    k_xy = polynomial_kernel(x, y)  # [m, n]
    sum_xx = k_xx.sum() - np.trace(k_xx)
    sum_yy = k_yy.sum() - np.trace(k_yy)
    return float(sum_xx / (m * (m - 1)) + sum_yy / (n * (n - 1)) - 2.0 * k_xy.sum() / (m * n))


def kid(
    real_features: ArrayLike,
    fake_features: ArrayLike,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """KID between real [N1, D] and fake [N2, D] features (Binkowski et al. 2018).

    For each of ``subsets`` rounds, draws ``m = min(subset_size, N1, N2)`` real
    and ``m`` fake samples without replacement (fresh draws each round, from a
    generator seeded with ``seed``), and computes the unbiased MMD^2 above.

    Returns {"kid_mean": mean over rounds, "kid_std": population standard
    deviation over rounds (ddof=0)}. Both are in the raw MMD^2 units; papers
    often print them multiplied by 1000 or 100.

    Cost: 3 * subsets matrix products of size m x D x m in float64.
    """
    subsets = positive_int(subsets, "subsets")
    subset_size = positive_int(subset_size, "subset_size", minimum=2)  # the unbiased estimate leaves out i == j
    real = as_features(real_features, "real_features", min_rows=2)
    fake = as_features(fake_features, "fake_features", min_rows=2)
    check_same_dim(real, fake, "real_features", "fake_features")

    m = min(subset_size, real.shape[0], fake.shape[0])
    if m == real.shape[0] == fake.shape[0]:
        subsets = 1  # every "subset" would be the whole of both sets: one round says it all
    rng = np.random.default_rng(seed)
    scores = np.empty(subsets, dtype=np.float64)
    for s in range(subsets):
        x = real[rng.choice(real.shape[0], size=m, replace=False)]  # [m, D]
        y = fake[rng.choice(fake.shape[0], size=m, replace=False)]  # [m, D]
        scores[s] = mmd2_unbiased(x, y)
    return {"kid_mean": float(scores.mean()), "kid_std": float(scores.std())}
