"""Checkpoints: what one holds, and how it is written and read.

A checkpoint holds everything needed to continue a run exactly, bit for bit on
the same device: model weights and buffers, the EMA, optimizer states, the step
counter, and every random number generator the step uses (see
:meth:`gankit.train.trainer.Trainer.state_dict`). It is a plain dict of tensors,
numbers and strings, saved with ``torch.save`` and loaded with
``weights_only=True``, so loading a checkpoint never runs code from the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from gankit import __version__, atomic
from gankit.errors import CheckpointError

FORMAT = 1  # bump when the layout of the dict changes


def save(path: str | Path, payload: dict[str, Any]) -> None:
    """Write a checkpoint atomically (temp file, fsync, rename)."""
    payload = {"format": FORMAT, "gankit_version": __version__, **payload}
    with atomic.atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; a missing, damaged or foreign file is a CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many types for bad files; all mean the same to a user
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(e).__name__}); it is corrupt or not a gankit checkpoint"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {path} is not a gankit checkpoint of format {FORMAT}")
    return ckpt
