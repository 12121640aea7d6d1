"""Checkpoints: what one holds, and how it is written and read.

Two generations are kept: a new ``last.pt`` is written beside the old one, fsynced,
and only then does the old one become ``last.prev.pt``; so a crash at any moment (a
kill -9, a power cut) leaves at least one complete checkpoint, and resuming takes the
newest that loads (:func:`load_latest`).

A checkpoint holds everything needed to continue a run exactly, bit for bit on
the same device: model weights and buffers, the EMA, optimizer states, the step
counter, and every random number generator the step uses (see
:meth:`gankit.train.trainer.Trainer.state_dict`). It is a plain dict of tensors,
numbers and strings, saved with ``torch.save`` and loaded with
``weights_only=True``, so loading a checkpoint never runs code from the file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from gankit import __version__, atomic
from gankit.errors import CheckpointError

FORMAT = 1  # bump when the layout of the dict changes
_warned: set[Path] = set()  # torn checkpoints already reported by this process


def save(path: str | Path, payload: dict[str, Any], previous: str | Path | None = None) -> None:
    """Write a checkpoint atomically (temp file, fsync, rename); with ``previous``, the checkpoint it
    replaces is kept there. A full disk or an unwritable folder is a CheckpointError naming the folder
    and the cause; the previous checkpoint is then untouched."""
    path = Path(path)
    payload = {"format": FORMAT, "gankit_version": __version__, **payload}
    try:
        with atomic.atomic_path(path, keep_previous=previous) as tmp:
            torch.save(payload, tmp)
    except OSError as e:
        raise CheckpointError(f"cannot write the checkpoint {path.name} in {path.parent}: {e.strerror or e}; "
                              "the previous checkpoint is kept") from None


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
    if not isinstance(ckpt, dict) or "format" not in ckpt:
        raise CheckpointError(f"checkpoint {path} is not a gankit checkpoint (it has no format number)")
    if ckpt["format"] != FORMAT:
        raise CheckpointError(f"checkpoint {path} has format {ckpt['format']!r}, and this gankit "
                              f"({__version__}) reads format {FORMAT}")
    return ckpt


TRAINING_KEYS = ("config", "step", "models", "optimizers", "rng")  # what resuming a run reads


def check_training(ckpt: dict[str, Any], path: Path) -> dict[str, Any]:
    """``ckpt`` if it holds what resuming training needs, else a CheckpointError naming what it lacks."""
    missing = [k for k in TRAINING_KEYS if k not in ckpt]
    if missing:
        raise CheckpointError(f"checkpoint {path} lacks {', '.join(missing)}: it cannot resume a run "
                              "(it is damaged, or was not written by gankit train)")
    return ckpt


def load_latest(newest: Path, previous: Path) -> tuple[dict[str, Any], Path]:
    """The newest checkpoint that loads: ``newest``, else (with a one-line warning) ``previous``.
    A CheckpointError with both reasons when neither does."""
    try:
        return load(newest), newest
    except CheckpointError as first:
        if not previous.is_file():
            raise
        if newest not in _warned:  # once, however often the run is opened
            _warned.add(newest)
            print(f"gankit: warning: {first}; resuming from the previous checkpoint {previous.name}", file=sys.stderr)
        try:
            return load(previous), previous
        except CheckpointError as second:
            raise CheckpointError(f"no checkpoint of {newest.parent} loads: {first}; {second}") from None
