"""Mode-coverage metrics: how many of the data's modes a generator reaches, and
how evenly it spreads its samples over them.

- :func:`class_modes`: from a classifier's class probabilities on generated
  images (e.g. an MNIST classifier: 10 modes).
- :func:`stacked_modes`: Stacked MNIST, three MNIST digits as the R, G, B
  channels, 10^3 = 1000 modes (Metz et al. 2017; the protocol of VEEGAN,
  Srivastava et al. 2017, and PacGAN, Lin et al. 2018).
- :func:`toy_modes`: 2-D mixtures of Gaussians on a ring or a grid
  (VEEGAN, PacGAN), with :func:`ring_centers` and :func:`grid_centers`.

All KL divergences are KL(p_hat || uniform) in nats, where p_hat is the
histogram of modes among the samples:

    KL(p_hat || U_K) = sum_c p_hat_c log(p_hat_c * K)      (terms with p_hat_c = 0 are 0)

It is 0 when every mode gets the same share and log(K / m) when the samples
are spread evenly over only m of the K modes.
"""

from __future__ import annotations

import math

import numpy as np

from gankit.metrics.fid import ArrayLike, positive_int, to_numpy

STACKED_MODES = 1000  # 10 digits per channel, 3 channels


def _as_probs(probs: ArrayLike, name: str, classes: int | None = None) -> np.ndarray:
    """Check class probabilities [N, K] (N >= 1, rows non-negative summing to 1); float64."""
    try:
        p = np.asarray(to_numpy(probs), dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{name}: cannot read as a numeric array ({exc})") from None
    if p.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array of class probabilities [N, K], got shape {p.shape}")
    if p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"{name}: is empty (shape {p.shape})")
    if classes is not None and p.shape[1] != classes:
        raise ValueError(f"{name}: expected {classes} classes per row, got {p.shape[1]}")
    if not np.isfinite(p).all():
        raise ValueError(f"{name}: contains NaN or inf")
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError(
            f"{name}: rows must be probabilities (non-negative, summing to 1); apply softmax to logits first")
    return p


def kl_to_uniform(counts: np.ndarray) -> float:
    """KL(p_hat || uniform over len(counts)) in nats, p_hat = counts / counts.sum()."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    if total <= 0:
        raise ValueError("kl_to_uniform: the histogram is empty")
    p = counts[counts > 0] / total  # zero bins contribute 0 * log 0 = 0
    return float(max((p * np.log(p * counts.size)).sum(), 0.0))  # clamp rounding below 0


def class_modes(probs: ArrayLike, min_count: int = 1) -> dict[str, float | int]:
    """Class coverage of generated samples from classifier probabilities [N, K].

    Each sample's mode is its top-1 class. Returns
      "classes_covered": number of classes that are top-1 for at least
                         ``min_count`` samples;
      "classes":         the number of classes K it is out of (the dataset's modes);
      "kl_to_uniform":   KL(p_hat || uniform over K) of the top-1 histogram
                         (0 when perfectly balanced; natural log);
      "mean_confidence": mean top-1 probability, mean_i max_c probs[i, c].
    """
    min_count = positive_int(min_count, "min_count")
    p = _as_probs(probs, "probs")  # [N, K]
    counts = np.bincount(p.argmax(axis=1), minlength=p.shape[1])  # [K]
    return {
        "classes_covered": int((counts >= min_count).sum()),
        "classes": int(p.shape[1]),
        "kl_to_uniform": kl_to_uniform(counts),
        "mean_confidence": float(p.max(axis=1).mean()),
    }


def stacked_modes(probs_r: ArrayLike, probs_g: ArrayLike, probs_b: ArrayLike,
                  min_count: int = 1) -> dict[str, float | int]:
    """Stacked MNIST mode coverage (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).

    probs_r, probs_g, probs_b: [N, 10] digit probabilities of a pretrained MNIST
    classifier on each channel of the same N generated images. A sample's mode
    is 100 * d_r + 10 * d_g + d_b with d = top-1 digit per channel, one of 1000.
    Returns
      "modes_covered": number of the 1000 modes with at least ``min_count``
                       samples (1 in VEEGAN and PacGAN, which count over
                       26,000 generated images);
      "kl_to_uniform": KL(mode histogram || uniform over 1000), natural log.
    """
    min_count = positive_int(min_count, "min_count")
    channels = [_as_probs(p, name, classes=10) for p, name in
                ((probs_r, "probs_r"), (probs_g, "probs_g"), (probs_b, "probs_b"))]
    sizes = {c.shape[0] for c in channels}
    if len(sizes) != 1:
        raise ValueError(f"probs_r, probs_g, probs_b must have one row per image each, got "
                         f"{[c.shape[0] for c in channels]} rows")
    d_r, d_g, d_b = (c.argmax(axis=1) for c in channels)  # [N] each, digits 0..9
    modes = 100 * d_r + 10 * d_g + d_b  # [N], 0..999
    counts = np.bincount(modes, minlength=STACKED_MODES)  # [1000]
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "kl_to_uniform": kl_to_uniform(counts),
    }


def _as_points(x: ArrayLike, name: str, min_rows: int) -> np.ndarray:
    try:
        a = np.asarray(to_numpy(x), dtype=np.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ValueError(f"{name}: cannot read as a numeric array ({exc})") from None
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"{name}: expected 2-D points [N, 2], got shape {a.shape}")
    if a.shape[0] < min_rows:
        raise ValueError(f"{name}: needs at least {min_rows} points, got {a.shape[0]}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name}: contains NaN or inf")
    return a


def toy_modes(samples: ArrayLike, centers: ArrayLike, std: float, min_count: int = 1) -> dict[str, float | int]:
    """Mode coverage on a 2-D mixture of Gaussians (samples [N, 2], centers [M, 2]).

    The rule of VEEGAN (Srivastava et al. 2017), which PacGAN (Lin et al. 2018)
    follows: a sample is *high quality* when it lies within
    three standard deviations of its nearest mode centre,
    ||x - c_nearest|| <= 3 * std; a mode is *captured* when it is the nearest
    centre of at least one high-quality sample (``min_count`` = 1; raise it
    for a stricter count). Both papers count over 2,500 generated samples; the
    usual setups are std 0.02 on the ring of 8 and 0.05 on the 5 x 5 grid.

    Returns
      "modes_captured": number of centres with >= ``min_count`` high-quality samples;
      "high_quality":   fraction of all samples that are high quality.
    """
    min_count = positive_int(min_count, "min_count")
    x = _as_points(samples, "samples", 1)  # [N, 2]
    c = _as_points(centers, "centers", 1)  # [M, 2]
    try:
        std = float(std)
    except (TypeError, ValueError):
        raise ValueError(f"std must be a positive number, got {std!r}") from None
    if not (math.isfinite(std) and std > 0):
        raise ValueError(f"std must be a positive number, got {std}")
    sq = ((x[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)  # [N, M]; M is small (8 or 25)
    nearest = sq.argmin(axis=1)  # [N]
    good = np.sqrt(sq[np.arange(x.shape[0]), nearest]) <= 3.0 * std  # [N]
    counts = np.bincount(nearest[good], minlength=c.shape[0])  # [M]
    return {
        "modes_captured": int((counts >= min_count).sum()),
        "high_quality": float(good.mean()),
    }


def ring_centers(n: int = 8, radius: float = 2.0) -> np.ndarray:
    """[n, 2] float64 centres evenly spaced on a circle: radius * (cos, sin)(2 pi i / n).

    The usual "ring of 8" has radius 2 and std 0.02 (VEEGAN, PacGAN).
    """
    n = positive_int(n, "n")
    angles = 2.0 * np.pi * np.arange(n) / n  # [n]
    return float(radius) * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def grid_centers(n: int = 25, spacing: float = 2.0) -> np.ndarray:
    """[n, 2] float64 centres of a square grid centred on the origin, row by row.

    n must be a perfect square; the default is the usual 5 x 5 grid at
    {-4, -2, 0, 2, 4}^2, with std 0.05 (VEEGAN, PacGAN).
    """
    n = positive_int(n, "n")
    side = math.isqrt(n)
    if side * side != n:
        raise ValueError(f"n must be a perfect square (25 for a 5 x 5 grid), got {n!r}")
    axis = (np.arange(side) - (side - 1) / 2.0) * float(spacing)  # [side]
    gx, gy = np.meshgrid(axis, axis, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=1)
