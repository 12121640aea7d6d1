"""The run folder's layout, its config and its metrics.jsonl.

    RUN/
      config.yaml            the resolved config (every key, every default)
      metrics.jsonl          one JSON line per log interval (see Monitor)
      tb/                    TensorBoard event files
      samples/epoch-NNN.png  the fixed-noise grid at the end of each epoch
      progress.gif           those grids, animated
      losses.png             loss and D-output curves
      checkpoints/last.pt    everything needed to resume exactly
      checkpoints/last.prev.pt  the one before it, kept until last.pt is complete
      checkpoints/best.pt    the checkpoint with the lowest FID (when evaluating during training)
      generator.safetensors  the final generator weights (+ config in metadata)
      evaluation.json        the last `gankit evaluate` of the run: metrics and protocol
      report.html            the run's report, one self-contained page

Every reader and writer goes through :class:`RunDir`, so the layout is written
down once. Checkpoints and the generator file are read and written by
:mod:`gankit.run.checkpoint` and :mod:`gankit.run.generator`.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from gankit import atomic
from gankit.config import Config, from_dict, read_yaml
from gankit.errors import CheckpointError


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    # layout -----------------------------------------------------------------
    config = property(lambda self: self.path / "config.yaml")
    metrics = property(lambda self: self.path / "metrics.jsonl")
    tensorboard = property(lambda self: self.path / "tb")
    samples = property(lambda self: self.path / "samples")
    gif = property(lambda self: self.path / "progress.gif")
    losses_plot = property(lambda self: self.path / "losses.png")
    checkpoints = property(lambda self: self.path / "checkpoints")
    last_checkpoint = property(lambda self: self.path / "checkpoints" / "last.pt")
    previous_checkpoint = property(lambda self: self.path / "checkpoints" / "last.prev.pt")
    best_checkpoint = property(lambda self: self.path / "checkpoints" / "best.pt")
    generator = property(lambda self: self.path / "generator.safetensors")
    evaluation = property(lambda self: self.path / "evaluation.json")
    report = property(lambda self: self.path / "report.html")

    def epoch_grid(self, epoch: int) -> Path:
        """Grid of epoch ``epoch`` (1-based)."""
        return self.samples / f"epoch-{epoch:03d}.png"

    def epoch_grids(self) -> list[Path]:
        return sorted(self.samples.glob("epoch-*.png"))

    @property
    def taken(self) -> bool:
        """The path holds something: a file, or a folder that is not empty (an empty one may be used)."""
        return self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir()))

    # creation and opening ---------------------------------------------------
    @classmethod
    def create(cls, out: str | Path | None, name: str, root: str | Path = "runs") -> RunDir:
        """Choose a new run folder: ``out`` if given, else runs/<date>-<name>[-k].

        Nothing is written yet (see :meth:`prepare`), so a run that fails during
        setup, e.g. for want of data, leaves no empty folder behind.
        """
        if out is not None:
            path = Path(out)
            if cls(path).taken:
                raise CheckpointError(
                    f"{path} already exists and is not empty; continue it with --resume {path}, "
                    "or choose another --out"
                )
        else:
            stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
            path = Path(root) / f"{stamp}-{name}"
            k = 1
            while path.exists():
                k += 1
                path = Path(root) / f"{stamp}-{name}-{k}"
        return cls(path)

    def prepare(self) -> None:
        """Create the folder and its sub-folders (idempotent), and remove the temporary files a
        crash may have left behind (an atomic write that never completed)."""
        try:
            for folder in (self.path, self.samples, self.checkpoints):
                folder.mkdir(parents=True, exist_ok=True)
                for stale in folder.glob(".*.tmp"):
                    stale.unlink(missing_ok=True)
        except OSError as e:
            raise CheckpointError(f"cannot create run folder {self.path}: {e.strerror}") from None

    def has_checkpoint(self) -> bool:
        return self.last_checkpoint.is_file() or self.previous_checkpoint.is_file()

    def load_checkpoint(self, training: bool = False) -> dict[str, Any]:
        """The newest checkpoint of the run that loads (last.pt, else last.prev.pt); with ``training``,
        checked to hold everything resuming needs."""
        from gankit.run import checkpoint

        ckpt, path = checkpoint.load_latest(self.last_checkpoint, self.previous_checkpoint)
        return checkpoint.check_training(ckpt, path) if training else ckpt

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """An existing run folder; a clear error if ``path`` is not one."""
        run = cls(path)
        if not run.path.is_dir():
            raise CheckpointError(f"run folder {run.path} does not exist")
        if not run.config.is_file():
            raise CheckpointError(f"{run.path} is not a gankit run folder (it has no config.yaml)")
        return run

    # contents ---------------------------------------------------------------
    def write_config(self, cfg: Config) -> None:
        atomic.write_text(self.config, cfg.to_yaml())

    def read_config(self) -> Config:
        return from_dict(read_yaml(self.config), source=str(self.config))

    def write_evaluation(self, result: dict[str, Any], also: str | Path | None = None) -> None:
        """evaluation.json (and a copy at ``also``): what `gankit report` shows as the run's quality."""
        text = json.dumps(result, indent=2) + "\n"
        for path in (self.evaluation, also):
            if path is not None:
                atomic.write_text(path, text)

    def append_metrics(self, record: dict[str, Any]) -> None:
        try:
            with open(self.metrics, "a") as f:
                f.write(json.dumps(record) + "\n")
        except OSError as e:
            raise CheckpointError(f"cannot write {self.metrics}: {e.strerror or e}") from None

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics.exists():
            return []
        records = []
        for line in self.metrics.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
        return records

    def truncate_metrics(self, step: int) -> None:
        """Drop records logged after ``step``: on resume they are about to be redone."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        atomic.write_text(self.metrics, "".join(json.dumps(r) + "\n" for r in kept))
