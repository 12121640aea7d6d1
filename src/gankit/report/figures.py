"""The report's pictures, as PNG data: URIs, so the page needs no file beside it.

Plots are drawn on matplotlib Figures with their own canvas (never pyplot), as in
:mod:`gankit.viz`, so writing a report leaves the user's matplotlib state alone.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from gankit import viz

# Training curves: viz's panels but FID (evaluations have their own plot), plus the gradient norms.
TRAINING_PANELS = tuple(p for p in viz.PANELS if "fid" not in p[1]) + (("gradient norm",
                                                                        ("grad_norm_d", "grad_norm_g")),)
# Evaluation numbers drawn in one panel together; any other metric gets a panel of its own.
METRIC_PANELS = (("FID", ("fid",)), ("KID", ("kid_mean",)), ("precision / recall", ("precision", "recall")),
                 ("density / coverage", ("density", "coverage")))
MAX_OTHER_PANELS = 6  # logged numbers outside those panels (a new step's losses) get a panel each, this many at most
DPI = 100


def png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def file_uri(path: Path) -> str:
    """A PNG file as a data: URI (its bytes as they are: no decoding, no re-encoding)."""
    return png_uri(path.read_bytes())


def picture_uri(picture: np.ndarray) -> str:
    """A uint8 picture [H, W, C] (C = 1 or 3) as a PNG data: URI."""
    buf = io.BytesIO()
    Image.fromarray(picture[..., 0] if picture.shape[2] == 1 else picture).save(buf, format="PNG", optimize=True)
    return png_uri(buf.getvalue())


def figure_uri(fig: Figure, left: float = 0.7, bottom: float = 0.5, top: float = 0.3, gap: float = 0.7) -> str:
    """The figure as a PNG data: URI. Margins and the ``gap`` between panels are in inches and
    fixed, not measured (tight_layout would draw the figure once more: a third of the time)."""
    w, h = fig.get_size_inches()
    rows, cols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry() if fig.axes else (1, 1)
    panel_w = (w - left - 0.2 - gap * (cols - 1)) / cols
    panel_h = (h - bottom - top - gap * (rows - 1)) / rows
    fig.subplots_adjust(left=left / w, right=1 - 0.2 / w, bottom=bottom / h, top=1 - top / h,
                        wspace=gap / panel_w, hspace=gap / panel_h)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return png_uri(buf.getvalue())


def training_curves(records: list[dict[str, Any]]) -> str | None:
    """Losses, mean D outputs (or critic scores), penalties and gradient norms over G steps, then any
    other number the step logs (a panel each), in rows of two or three panels (whichever leaves no
    hole, or the smaller one)."""
    known = {k for _, keys in TRAINING_PANELS for k in keys} | {"step", "epoch", "images_per_s"}
    others = [k for k in dict.fromkeys(k for r in records for k in r)
              if k not in known and any(isinstance(r.get(k), int | float) for r in records)]
    panels = TRAINING_PANELS + tuple((k, (k,)) for k in others[:MAX_OTHER_PANELS])
    n = sum(any(k in r for r in records for k in keys) for _, keys in panels)
    fig = viz.curves_figure(records, panels, columns=3 if n % 3 == 0 or n == 5 else 2)
    if fig is None:
        return None
    for ax in fig.axes:
        ax.spines[["top", "right"]].set_visible(False)
    return figure_uri(fig, left=0.8, top=0.15, gap=0.85)


def metric_curves(evaluations: list[dict[str, Any]], lower: set[str]) -> str | None:
    """Each evaluation metric over G steps, a small panel each (three a row); ``lower``: keys where lower is better."""
    keys = [k for r in evaluations for k in r if k not in ("step", "epoch") and not k.endswith("_std")]
    keys = list(dict.fromkeys(keys))
    grouped = {k for _, ks in METRIC_PANELS for k in ks}
    panels = [(title, [k for k in ks if k in keys]) for title, ks in METRIC_PANELS]
    panels = [(title, ks) for title, ks in panels if ks] + [(k, [k]) for k in keys if k not in grouped]
    if not panels:
        return None
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = Figure(figsize=(3.6 * cols, 2.5 * rows), dpi=DPI)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (title, ks) in zip(axes, panels):
        for k in ks:
            kept = [r for r in evaluations if isinstance(r.get(k), int | float)]
            ax.plot([r["step"] for r in kept], [r[k] for r in kept], "o-", ms=4, label=k)
        better = " (lower is better)" if all(k in lower for k in ks) else ""
        _style(ax, title + better, "G step")
        if len(ks) > 1:
            ax.legend(fontsize=8)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return figure_uri(fig)


def truncation_plot(rows: Sequence[dict[str, Any]]) -> str | None:
    """Precision and recall (and FID, in a second panel) against the truncation psi of evaluation.json."""
    rows = sorted((r for r in rows if isinstance(r.get("metrics"), dict) and isinstance(r.get("psi"), int | float)),
                  key=lambda r: r["psi"])
    pr = [k for k in ("precision", "recall", "density", "coverage") if any(k in r["metrics"] for r in rows)]
    fid = any("fid" in r["metrics"] for r in rows)
    if not rows or not (pr or fid):
        return None
    fig = Figure(figsize=(3.0 * (bool(pr) + fid), 2.6), dpi=DPI)
    axes = list(fig.subplots(1, bool(pr) + fid, squeeze=False)[0])
    if pr:
        ax = axes.pop(0)
        for k in pr:
            kept = [r for r in rows if k in r["metrics"]]
            ax.plot([r["psi"] for r in kept], [r["metrics"][k] for r in kept], "o-", ms=4, label=k)
        ax.legend(fontsize=8)
        _style(ax, "fidelity and variety", "truncation psi")
    if fid:
        ax = axes.pop(0)
        kept = [r for r in rows if "fid" in r["metrics"]]
        ax.plot([r["psi"] for r in kept], [r["metrics"]["fid"] for r in kept], "o-", ms=4, color="tab:red")
        _style(ax, "FID (lower is better)", "truncation psi")
    return figure_uri(fig)


def _style(ax: Any, title: str, xlabel: str) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
