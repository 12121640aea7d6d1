"""Differentiable augmentation, DiffAugment (Zhao et al. 2020).

The same random transformations are applied to real and generated images
before D sees them, and they are differentiable with respect to the images,
so G is trained through them. D then cannot memorise the (few) real images,
and G is not pushed to reproduce the augmentations: both sides see them.

    diff_augment(x, "color,translation,cutout")

Operations, each drawn independently per sample from the global torch
generator (reproducible from the seed, restored with the checkpointed RNG):

    color        brightness  x + b,                          b ~ U[-0.5, 0.5]
                 saturation  (x - mean_c x) * s + mean_c x,  s ~ U[0, 2]   (mean over channels, per pixel)
                 contrast    (x - mean x) * k + mean x,      k ~ U[0.5, 1.5] (mean over C, H, W, per image)
    translation  shift by up to 1/8 of the height and width (rounded to whole pixels), zero padding
    cutout       zero a square of half the height and width at a random position inside the image

Images are [B, C, H, W] in [-1, 1]; zero is mid-grey.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Tensor = torch.Tensor

TRANSLATION_RATIO = 1 / 8  # largest shift, as a fraction of the image size
CUTOUT_RATIO = 1 / 2  # side of the cut square, as a fraction of the image size


def _per_sample(x: Tensor, low: float, high: float) -> Tensor:
    """U[low, high) draws, one per image: [B, 1, 1, 1]."""
    return low + (high - low) * torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)


def brightness(x: Tensor) -> Tensor:
    """Add b ~ U[-0.5, 0.5] to every pixel of each image."""
    return x + _per_sample(x, -0.5, 0.5)


def saturation(x: Tensor) -> Tensor:
    """Scale each pixel's deviation from its channel mean by s ~ U[0, 2] (no-op for 1 channel)."""
    mean = x.mean(dim=1, keepdim=True)  # [B, 1, H, W]
    return (x - mean) * _per_sample(x, 0.0, 2.0) + mean


def contrast(x: Tensor) -> Tensor:
    """Scale each image's deviation from its mean by k ~ U[0.5, 1.5]."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # [B, 1, 1, 1]
    return (x - mean) * _per_sample(x, 0.5, 1.5) + mean


def color(x: Tensor) -> Tensor:
    """Brightness, then saturation, then contrast."""
    return contrast(saturation(brightness(x)))


def translation(x: Tensor, ratio: float = TRANSLATION_RATIO) -> Tensor:
    """Shift each image by (dy, dx), |dy| <= round(ratio H), |dx| <= round(ratio W), zero padding.

    out[b, :, i, j] = x[b, :, i - dy_b, j - dx_b] where that pixel exists, else 0.
    """
    b, _, h, w = x.shape
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (b,), device=x.device)  # [B]
    dx = torch.randint(-max_dx, max_dx + 1, (b,), device=x.device)  # [B]
    # Pad by the largest shift, then read an H x W window offset by the shift:
    # padded row i + max_dy - dy holds x's row i - dy (or padding).
    padded = torch.nn.functional.pad(x, (max_dx, max_dx, max_dy, max_dy))  # [B, C, H + 2 max_dy, W + 2 max_dx]
    rows = torch.arange(h, device=x.device)[None, :] + (max_dy - dy)[:, None]  # [B, H]
    cols = torch.arange(w, device=x.device)[None, :] + (max_dx - dx)[:, None]  # [B, W]
    batch = torch.arange(b, device=x.device)[:, None, None]  # [B, 1, 1]
    # advanced indices on dims 0, 2, 3 around the channel slice: result [B, H, W, C]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2)  # [B, C, H, W]


def cutout(x: Tensor, ratio: float = CUTOUT_RATIO) -> Tensor:
    """Zero a (ratio H) x (ratio W) rectangle (rounded) at a random position inside each image."""
    b, _, h, w = x.shape
    cut_h, cut_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h - cut_h + 1, (b, 1), device=x.device)  # [B, 1]
    left = torch.randint(0, w - cut_w + 1, (b, 1), device=x.device)  # [B, 1]
    rows = torch.arange(h, device=x.device)[None, :]  # [1, H]
    cols = torch.arange(w, device=x.device)[None, :]  # [1, W]
    in_rows = (rows >= top) & (rows < top + cut_h)  # [B, H]
    in_cols = (cols >= left) & (cols < left + cut_w)  # [B, W]
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])  # [B, H, W]
    return x * keep[:, None].to(x.dtype)


OPS: dict[str, Callable[[Tensor], Tensor]] = {
    "color": color,
    "translation": translation,
    "cutout": cutout,
}


def parse_policy(policy: str) -> list[str]:
    """'color, translation' -> ['color', 'translation']; unknown names raise ValueError."""
    ops = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        raise ValueError(f"unknown augmentation {', '.join(unknown)}; use {', '.join(OPS)}")
    return ops


def diff_augment(x: Tensor, policy: str) -> Tensor:
    """Apply the policy's operations in order to images x [B, C, H, W]; same shape and dtype.

    An empty policy returns x itself. Inputs that are not images (e.g. points
    [B, 2]) cannot be augmented: a non-empty policy raises ValueError.
    """
    ops = parse_policy(policy)
    if not ops:
        return x
    if x.ndim != 4:
        raise ValueError(f"DiffAugment needs images [B, C, H, W], got shape {list(x.shape)}; set augment.policy ''")
    for op in ops:
        x = OPS[op](x)
    return x
