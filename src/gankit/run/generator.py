"""The shipped generator: ``generator.safetensors``, and reading a generator from any run file.

The file holds the sampling generator's weights (the EMA's when the run kept
one) and, in its safetensors metadata, what a sampler needs to rebuild the
network without the dataset: the resolved config, the data shape, the class
count, the step and whether the weights are the EMA's; for translation models also
the source shape, the architecture, the size multiple and scale, and how pairs were
made. The file format's version is ``FORMAT``. :func:`read` gives the same
:class:`SavedGenerator` from that file or from a checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from gankit import __version__, atomic
from gankit.config import Config
from gankit.errors import CheckpointError
from gankit.run import checkpoint
from gankit.run.folder import RunDir

CHECKPOINTS = ("final", "last", "best")  # which file of a run to read a generator from
FORMAT = "1"  # of generator.safetensors' metadata


@dataclass
class SavedGenerator:
    """A generator's weights and what is needed to rebuild its network."""

    config: Config
    weights: dict[str, torch.Tensor]
    shape: tuple[int, ...]  # one sample: (C, H, W), or (2,) for points
    num_classes: int  # 0 when unconditional
    step: int  # G steps the weights were trained for
    ema: bool  # the weights are the generator's moving average
    source_shape: tuple[int, ...] | None = None  # translation: one source image (C, h, w)

    @property
    def translation(self) -> bool:
        return self.source_shape is not None


def write(path: str | Path, module: torch.nn.Module, config: Config, step: int, shape: tuple[int, ...],
          num_classes: int, ema: bool, source_shape: tuple[int, ...] | None = None) -> None:
    """Save ``module``'s weights with the metadata above, atomically."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    meta = {"format": FORMAT, "config": config.to_yaml(), "gankit_version": __version__, "step": str(step),
            "image_shape": ",".join(map(str, shape)), "num_classes": str(num_classes), "ema": str(ema),
            "arch": config.model.arch}
    if source_shape is not None:
        meta.update({"source_shape": ",".join(map(str, source_shape)), "pair": config.pair.kind,
                     "degradation": config.pair.degradation if config.pair.kind == "degrade" else "",
                     "size_multiple": str(getattr(module, "size_multiple", 1)),
                     "scale": str(getattr(module, "scale", 1))})
    with atomic.atomic_path(path) as tmp:
        safetensors.torch.save_file(tensors, str(tmp), metadata=meta)


def read(run: RunDir, which: str = "final") -> SavedGenerator:
    """The generator of ``run``.

    ``which``: "final" reads generator.safetensors, or the last checkpoint of a run
    that has not finished; "last" and "best" read checkpoints/<that>.pt, taking the
    EMA weights when the run kept them.
    """
    if which not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {CHECKPOINTS}, got {which!r}")
    config = run.read_config()
    if which == "final" and run.generator.is_file():
        return _read_file(run.generator, config)
    path = run.best_checkpoint if which == "best" else run.last_checkpoint
    if not path.is_file():
        what = "no best checkpoint (evaluation during training was off)" if which == "best" else "no checkpoint"
        raise CheckpointError(f"{run.path} holds {what}: {path} is missing")
    ckpt = checkpoint.load(path)
    ema = bool(ckpt.get("ema"))
    source = ckpt.get("source_shape")
    return SavedGenerator(config, ckpt["ema"] if ema else ckpt["models"]["G"], tuple(ckpt["image_shape"]),
                          ckpt.get("num_classes", 0), ckpt["step"], ema, tuple(source) if source else None)


def _read_file(path: Path, config: Config) -> SavedGenerator:
    try:
        with safetensors.safe_open(str(path), "pt") as f:
            meta = f.metadata()
        shape = tuple(int(s) for s in meta["image_shape"].split(","))
        source = tuple(int(s) for s in meta["source_shape"].split(",")) if meta.get("source_shape") else None
        weights = safetensors.torch.load_file(str(path))
        return SavedGenerator(config, weights, shape, int(meta.get("num_classes", 0)), int(meta["step"]),
                              meta.get("ema") == "True", source)
    except Exception as e:
        raise CheckpointError(f"{path} cannot be read ({type(e).__name__}); it is corrupt") from None
