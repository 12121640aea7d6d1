"""Pictures: image grids, the progress animation, and loss curves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from gankit import atomic


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> uint8 [0, 255], same shape."""
    return images.float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """uint8 [N, C, H, W] -> one uint8 picture [rows*(H+pad)+pad, cols*(W+pad)+pad, C]."""
    images = images.detach().cpu()
    n, c, h, w = images.shape
    cols = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.zeros((rows * (h + pad) + pad, cols * (w + pad) + pad, c), dtype=np.uint8)
    for i, img in enumerate(images.numpy()):
        r, k = divmod(i, cols)
        y, x = pad + r * (h + pad), pad + k * (w + pad)
        out[y : y + h, x : x + w] = img.transpose(1, 2, 0)
    return out


def _pil(picture: np.ndarray, scale: int = 1) -> Image.Image:
    img = Image.fromarray(picture[..., 0] if picture.shape[2] == 1 else picture)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    return img


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 2) -> None:
    """Save uint8 [N, C, H, W] as a PNG grid, upscaled ``scale`` times (nearest) for viewing."""
    with atomic.atomic_path(path) as tmp:
        _pil(grid(images, nrow), scale).save(tmp, format="PNG")


def save_gif(frames: Sequence[str | Path], path: str | Path, ms_per_frame: int = 300) -> None:
    """Animate PNG frames into a looping GIF; the last frame is held longer."""
    if not frames:
        return
    imgs = []
    for f in frames:
        with Image.open(f) as img:
            imgs.append(img.copy() if img.mode in ("L", "RGB") else img.convert("RGB"))
    durations = [ms_per_frame] * (len(imgs) - 1) + [ms_per_frame * 5]
    with atomic.atomic_path(path) as tmp:
        imgs[0].save(tmp, format="GIF", save_all=True, append_images=imgs[1:], duration=durations, loop=0)


def plot_losses(records: list[dict[str, Any]], path: str | Path) -> None:
    """Loss curves, mean D outputs and (when evaluated) FID over G steps, from metrics.jsonl records."""
    train = [r for r in records if "loss_d" in r]
    evals = [r for r in records if "fid" in r]
    if not train:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 2 + bool(evals)
    fig, axes = plt.subplots(panels, 1, figsize=(8, 3 * panels), sharex=True)
    steps = [r["step"] for r in train]
    axes[0].plot(steps, [r["loss_d"] for r in train], label="D loss")
    axes[0].plot(steps, [r["loss_g"] for r in train], label="G loss")
    axes[0].set_ylabel("loss")
    if "d_real" in train[0]:
        axes[1].plot(steps, [r["d_real"] for r in train], label="mean D(x)")
        axes[1].plot(steps, [r["d_fake"] for r in train], label="mean D(G(z))")
        axes[1].axhline(0.5, color="gray", lw=0.8, ls="--")
        axes[1].set_ylabel("D output")
    if evals:
        axes[2].plot([r["step"] for r in evals], [r["fid"] for r in evals], "o-", label="FID (evaluator features)")
        axes[2].set_ylabel("FID")
    for ax in axes:
        if ax.lines:
            ax.legend()
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("G step")
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
