"""Frechet Inception Distance (Heusel et al. 2017, "GANs Trained by a Two
Time-Scale Update Rule Converge to a Local Nash Equilibrium").

Both feature sets are summarised by a Gaussian N(mu, Sigma) and compared with the
Frechet (2-Wasserstein) distance between the two Gaussians:

    FID = ||mu1 - mu2||^2 + Tr(Sigma1 + Sigma2 - 2 (Sigma1 Sigma2)^(1/2))

Everything is computed in float64. The functions take feature arrays (torch
tensors or numpy arrays) and return Python floats; which network produced the
features is the caller's business.

This module also holds :func:`as_features`, the input check that the KID and
PRDC modules share.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

ArrayLike = Any  # a torch.Tensor or anything np.asarray accepts


def to_numpy(x: ArrayLike) -> np.ndarray:
    """A torch tensor (any device, detached) or array-like as a numpy array, no dtype change."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:  # numpy has no bfloat16
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def as_features(x: ArrayLike, name: str = "features", min_rows: int = 1) -> np.ndarray:
    """Check a feature array and return it as float64 numpy [N, D].

    Raises ValueError (one line) unless ``x`` is numeric, two-dimensional, has
    at least ``min_rows`` rows and one column, and is finite everywhere.
    """
    try:
        arr = to_numpy(x)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{name}: cannot read as an array ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array [N, D], got shape {tuple(arr.shape)}")
    n, d = arr.shape
    if d < 1:
        raise ValueError(f"{name}: has no feature columns (shape {tuple(arr.shape)})")
    if n < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} samples, got {n}")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).any(axis=1).sum())
        raise ValueError(f"{name}: {bad} of {n} rows contain NaN or inf")
    return arr


def positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """``value`` as an int, or ValueError unless it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_same_dim(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    """Raise ValueError unless two [N, D] arrays share D."""
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{name_a} has {a.shape[1]} feature dimensions but {name_b} has {b.shape[1]}: "
            "both must come from the same feature extractor"
        )


def feature_stats(features: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of features [N, D], in float64.

    mu = (1/N) sum_i x_i;  Sigma = 1/(N-1) sum_i (x_i - mu)(x_i - mu)^T
    (``np.cov(features, rowvar=False)``, as in the FID literature).
    Needs N >= 2.
    """
    x = as_features(features, "features", min_rows=2)  # [N, D]
    mu = x.mean(axis=0)  # [D]
    sigma = np.cov(x, rowvar=False)  # [D, D]
    sigma = np.atleast_2d(sigma)  # np.cov returns a 0-d array when D == 1
    return mu, sigma


def _check_gaussian(mu: ArrayLike, sigma: ArrayLike, name: str) -> tuple[np.ndarray, np.ndarray]:
    mu = np.asarray(to_numpy(mu), dtype=np.float64)
    sigma = np.asarray(to_numpy(sigma), dtype=np.float64)
    if mu.ndim != 1:
        raise ValueError(f"mu{name}: expected a 1-D mean [D], got shape {mu.shape}")
    d = mu.shape[0]
    if sigma.shape != (d, d):
        raise ValueError(f"sigma{name}: expected a [{d}, {d}] covariance to match mu{name}, got shape {sigma.shape}")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise ValueError(f"mu{name}/sigma{name}: contain NaN or inf")
    return mu, sigma


def _factor(sigma: np.ndarray) -> np.ndarray:
    """A matrix F with F F^T = sigma, for symmetric PSD sigma [D, D].

    Cholesky when sigma is positive definite (fast); otherwise (a singular
    covariance: fewer samples than dimensions, or a constant feature) the
    symmetric square root from the eigendecomposition, with rounding-level
    negative eigenvalues clipped to 0.
    """
    sym = 0.5 * (sigma + sigma.T)  # remove rounding asymmetry
    try:
        return np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(sym)  # w [D], v [D, D]
        return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T  # v diag(sqrt w) v^T


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((Sigma1 Sigma2)^(1/2)) for symmetric PSD Sigma1, Sigma2.

    With Sigma1 = F F^T, the product Sigma1 Sigma2 is not symmetric, but it has
    the same eigenvalues as the symmetric PSD matrix M = F^T Sigma2 F (AB and BA
    share their eigenvalues, with A = F, B = F^T Sigma2). Hence
    Tr((Sigma1 Sigma2)^(1/2)) = sum_i sqrt(lambda_i(M)).

    We take this route (a Cholesky factor and eigvalsh of a symmetric matrix)
    rather than scipy.linalg.sqrtm on the product: the eigenvalues of a
    symmetric matrix are real, so there is no spurious imaginary part to
    discard and no eps * I retry for singular covariances (the only clean-up is
    clipping rounding-level negatives to 0); it is also many times faster at
    D = 2048, and keeps scipy out of the runtime dependencies.
    """
    f = _factor(sigma1)  # [D, D]
    m = f.T @ sigma2 @ f  # [D, D], symmetric PSD up to rounding
    eig = np.linalg.eigvalsh(0.5 * (m + m.T))  # [D], ascending
    return float(np.sqrt(np.clip(eig, 0.0, None)).sum())


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Frechet distance between N(mu1, Sigma1) and N(mu2, Sigma2) (Heusel et al. 2017):

        d^2 = ||mu1 - mu2||^2 + Tr(Sigma1) + Tr(Sigma2) - 2 Tr((Sigma1 Sigma2)^(1/2))

    The covariances must be symmetric positive semi-definite (as any sample
    covariance is). The result is clamped at 0: it is a squared distance, and
    only rounding can push it below.
    """
    mu1, sigma1 = _check_gaussian(mu1, sigma1, "1")
    mu2, sigma2 = _check_gaussian(mu2, sigma2, "2")
    if mu1.shape != mu2.shape:
        raise ValueError(
            f"mu1 has {mu1.shape[0]} dimensions but mu2 has {mu2.shape[0]}: "
            "both must come from the same feature extractor"
        )
    diff = mu1 - mu2  # [D]
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return max(float(value), 0.0)


def fid(real_features: ArrayLike, fake_features: ArrayLike) -> float:
    """FID between real features [N1, D] and fake features [N2, D] (N1, N2 >= 2).

    Note that FID is biased upwards for small N; compare scores only at equal
    sample counts (the literature uses 10,000 or 50,000 with Inception-v3 pool3
    features, D = 2048).
    """
    real = as_features(real_features, "real_features", min_rows=2)
    fake = as_features(fake_features, "fake_features", min_rows=2)
    check_same_dim(real, fake, "real_features", "fake_features")
    mu1, sigma1 = feature_stats(real)
    mu2, sigma2 = feature_stats(fake)
    return frechet_distance(mu1, sigma1, mu2, sigma2)
