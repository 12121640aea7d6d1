"""Pictures: image grids, the progress animation, and loss curves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from gankit import atomic


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> uint8 [0, 255], same shape."""
    return images.float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)


def as_target(images: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """uint8 images [N, C, h, w] shown at another shape (C', H, W) beside it: enlarged by repeating
    pixels (a small source next to its super-resolved output), grey repeated to RGB, RGB to grey."""
    c, h, w = shape
    if images.shape[-2:] != (h, w):
        images = torch.nn.functional.interpolate(images.float(), size=(h, w), mode="nearest").round().to(torch.uint8)
    if images.shape[1] != c:
        if c == 3:
            images = images.expand(-1, 3, -1, -1)
        else:
            luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images.float() * luma).sum(1, keepdim=True).round().to(torch.uint8)
    return images


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


def upscale(picture: np.ndarray, scale: int) -> np.ndarray:
    """A picture [H, W, C] enlarged ``scale`` times by repeating pixels (nearest), for viewing."""
    return picture.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else picture


def save_picture(picture: np.ndarray, path: str | Path) -> None:
    """Save a uint8 picture [H, W, C] (C = 1, 3 or 4) as a PNG, atomically."""
    img = Image.fromarray(picture[..., 0] if picture.shape[2] == 1 else picture)
    with atomic.atomic_path(path) as tmp:
        img.save(tmp, format="PNG")


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, scale: int = 2) -> None:
    """Save uint8 [N, C, H, W] as a PNG grid, upscaled ``scale`` times (nearest) for viewing."""
    save_picture(upscale(grid(images, nrow), scale), path)


def save_animation(pictures: Sequence[np.ndarray], path: str | Path, ms_per_frame: int = 120) -> None:
    """uint8 pictures [H, W, C] as a looping GIF."""
    imgs = [Image.fromarray(p[..., 0] if p.shape[2] == 1 else p) for p in pictures]
    with atomic.atomic_path(path) as tmp:
        imgs[0].save(tmp, format="GIF", save_all=True, append_images=imgs[1:], duration=ms_per_frame, loop=0)


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


def scatter_figure(points: torch.Tensor, modes: torch.Tensor | None = None, title: str = "") -> Figure:
    """2-D samples [N, 2] as a scatter plot, over the true modes when known."""
    fig = Figure(figsize=(5, 5), dpi=100)
    ax = fig.subplots()
    p = points.detach().cpu().numpy()
    ax.scatter(p[:, 0], p[:, 1], s=2, alpha=0.4, color="tab:blue", label="samples")
    if modes is not None:
        m = torch.as_tensor(modes).cpu().numpy()
        ax.scatter(m[:, 0], m[:, 1], s=60, marker="x", color="tab:red", label="modes")
        span = max(abs(m).max() * 1.5, 1.0)
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return fig


def save_scatter(points: torch.Tensor, path: str | Path, modes: torch.Tensor | None = None, title: str = "") -> None:
    """2-D samples [N, 2] as a scatter plot PNG, over the true modes when known."""
    save_figure(scatter_figure(points, modes, title), path)


def scatter_picture(points: torch.Tensor, modes: torch.Tensor | None = None, title: str = "") -> np.ndarray:
    """The scatter plot as a uint8 RGB picture [H, W, 3]."""
    return figure_picture(scatter_figure(points, modes, title))


# Groups of metrics.jsonl keys drawn together, in panels top to bottom.
PANELS = (
    ("loss", ("loss_d", "loss_g", "loss", "recon", "kl")),
    ("D output", ("d_real", "d_fake")),
    ("critic score", ("score_real", "score_fake")),
    ("regularizer", ("penalty", "aux_d", "aux_g")),
    ("FID (evaluator features)", ("fid",)),
)
LABELS = {"loss_d": "D loss", "loss_g": "G loss", "d_real": "mean D(x)", "d_fake": "mean D(G(z))",
          "score_real": "mean D(x)", "score_fake": "mean D(G(z))", "penalty": "penalty", "aux_d": "D aux loss",
          "aux_g": "G aux loss", "loss": "loss", "recon": "reconstruction", "kl": "KL", "fid": "FID",
          "grad_norm_d": "D gradient norm", "grad_norm_g": "G gradient norm"}


def plot_losses(records: list[dict[str, Any]], path: str | Path) -> None:
    """Curves of every logged quantity over G steps, from metrics.jsonl records, one panel per kind."""
    fig = curves_figure(records)
    if fig is not None:
        save_figure(fig, path)


def curves_figure(records: list[dict[str, Any]], panels: Sequence[tuple[str, Sequence[str]]] = PANELS,
                  columns: int = 1) -> Figure | None:
    """One panel per group of ``panels`` that ``records`` hold a key of, in ``columns`` columns
    sharing the G-step axis; None when the records hold none of the keys."""
    panels = [(title, [k for k in keys if any(k in r for r in records)]) for title, keys in panels]
    panels = [(title, keys) for title, keys in panels if keys]
    if not panels:
        return None
    columns = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / columns)
    fig = Figure(figsize=(8 if columns == 1 else 10.4, 2.6 * rows + 0.6), dpi=100)
    axes = fig.subplots(rows, columns, sharex=True, squeeze=False).ravel()
    for ax, (title, keys) in zip(axes, panels):
        for k in keys:
            kept = [r for r in records if k in r]
            ax.plot([r["step"] for r in kept], [r[k] for r in kept], "o-" if k == "fid" else "-",
                    ms=3, label=LABELS.get(k, k))
        if keys[0] == "d_real":
            ax.axhline(0.5, color="gray", lw=0.8, ls="--")
        ax.set_ylabel(title)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    for i, ax in enumerate(axes):
        if i >= len(panels):
            ax.set_visible(False)
        elif i + columns >= len(panels):  # the lowest panel of its column
            ax.set_xlabel("G step")
            ax.xaxis.set_tick_params(labelbottom=True)
    return fig


def save_figure(fig: Figure, path: str | Path) -> None:
    """Save a matplotlib figure as a PNG, atomically. Figures are drawn on their own canvas,
    never through pyplot, so gankit leaves the user's matplotlib backend alone."""
    fig.tight_layout()
    with atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")


def figure_picture(fig: Figure) -> np.ndarray:
    """A matplotlib figure rendered to a uint8 RGB picture [H, W, 3]."""
    fig.tight_layout()
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
