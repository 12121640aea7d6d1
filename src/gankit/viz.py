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
    """Loss curves (top) and mean D outputs (bottom) over G steps, from metrics.jsonl records."""
    records = [r for r in records if "loss_d" in r]
    if not records:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in records]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    top.plot(steps, [r["loss_d"] for r in records], label="D loss")
    top.plot(steps, [r["loss_g"] for r in records], label="G loss")
    top.set_ylabel("loss")
    top.legend()
    top.grid(alpha=0.3)
    if "d_real" in records[0]:
        bottom.plot(steps, [r["d_real"] for r in records], label="mean D(x)")
        bottom.plot(steps, [r["d_fake"] for r in records], label="mean D(G(z))")
        bottom.axhline(0.5, color="gray", lw=0.8, ls="--")
        bottom.set_ylabel("D output")
        bottom.legend()
        bottom.grid(alpha=0.3)
    bottom.set_xlabel("G step")
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
