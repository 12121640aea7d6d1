"""The shipped generator: ``generator.safetensors``, and reading a generator from any run file.

The file holds the sampling generator's weights (the EMA's when the run kept
one) and, in its safetensors metadata, what a sampler needs to rebuild the
network without the dataset: the resolved config, the data shape, the class
count, the step and whether the weights are the EMA's; for translation models also
the source shape, the architecture, the size multiple and scale, the noise channels
of a stochastic one, and how pairs were made. The file format's version is
``FORMAT``. :func:`read` gives the same :class:`SavedGenerator` from that file or
from a checkpoint.

Either file may come from elsewhere, so :func:`read` checks what it is given before
anything is built: the metadata (every key, and values that parse), and the tensors'
names and shapes against the network the run's config.yaml describes, built on the
meta device (no memory, no weights). A file that fails is a one-line CheckpointError
naming it and what differs; the tensors of generator.safetensors are read only once
their names and shapes are known to fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

from gankit import __version__, atomic
from gankit.config import Config
from gankit.errors import CheckpointError, GankitError
from gankit.models.noise_input import noise_channels
from gankit.run import checkpoint
from gankit.run.folder import RunDir

CHECKPOINTS = ("final", "last", "best")  # which file of a run to read a generator from
FORMAT = "1"  # of generator.safetensors' metadata (files from before the key existed have the same layout)
REQUIRED_METADATA = ("image_shape", "step", "num_classes", "ema")  # written by every gankit
MAX_SIDE = 1 << 16  # no dimension of a sample is larger; a larger one is a damaged file
_SHOWN = 3  # tensor names a mismatch message lists


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
                     "scale": str(getattr(module, "scale", 1)),
                     "noise_channels": str(noise_channels(module))})
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
        return _read_file(run.generator, config)  # checked there, before its tensors are read
    path = run.best_checkpoint if which == "best" else run.last_checkpoint
    if which != "best" and run.has_checkpoint():
        ckpt = run.load_checkpoint()  # the newest that loads
    elif not path.is_file():
        what = "no best checkpoint (evaluation during training was off)" if which == "best" else "no checkpoint"
        raise CheckpointError(f"{run.path} holds {what}: {path} is missing")
    else:
        ckpt = checkpoint.load(path)
    saved = _from_checkpoint(ckpt, config, path)
    check_architecture(saved, {name: tuple(t.shape) for name, t in saved.weights.items()}, path)
    return saved


def build_network(saved: SavedGenerator) -> torch.nn.Module:
    """The network ``saved``'s weights belong to, as its config describes it (untrained).

    Built under ``torch.device("meta")`` it costs no memory, which is how :func:`read`
    compares a file's tensors with it; ``gankit.sampling.load`` builds the same network.
    """
    from gankit.models import build_generator, build_translation_generator

    cfg = saved.config
    if saved.translation:
        return build_translation_generator(cfg.model, saved.source_shape, saved.shape,
                                           cycle=cfg.pair.kind == "unpaired")
    return build_generator(cfg.model, saved.shape, saved.num_classes)


def check_architecture(saved: SavedGenerator, shapes: dict[str, tuple[int, ...]], path: Path) -> None:
    """``shapes`` (tensor name -> shape, from ``path``) must be exactly the tensors of the network that
    ``saved``'s config and shapes describe: none missing, none extra, each of the same shape."""
    try:
        with torch.device("meta"):
            expected = {name: tuple(t.shape) for name, t in build_network(saved).state_dict().items()}
    except GankitError as e:  # the builders' own one-line refusals: a shape the model cannot make
        raise CheckpointError(f"{path}: its shapes do not fit the model of config.yaml: {e}") from None
    missing = [name for name in expected if name not in shapes]
    extra = [name for name in shapes if name not in expected]
    wrong = [f"{name} is {list(shapes[name])}, the model's is {list(expected[name])}" for name in expected
             if name in shapes and shapes[name] != expected[name]]
    faults = [f"{what}: {', '.join(names[:_SHOWN])}{' ...' if len(names) > _SHOWN else ''}" for what, names in
              (("missing", missing), ("unexpected", extra), ("wrong shape", wrong)) if names]
    if faults:
        raise CheckpointError(f"{path}: its tensors do not match the {saved.config.model.arch} generator of "
                              f"config.yaml ({'; '.join(faults)}); it belongs to another run or is damaged")


def _from_checkpoint(ckpt: dict[str, Any], config: Config, path: Path) -> SavedGenerator:
    """The generator part of a loaded checkpoint, each entry checked: a one-line error for each fault."""
    ema = bool(ckpt.get("ema"))
    models = ckpt.get("models")
    weights = ckpt.get("ema") if ema else models.get("G") if isinstance(models, dict) else None
    if not (isinstance(weights, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in weights.items())):
        where = "ema" if ema else "models.G"
        raise CheckpointError(f"checkpoint {path}: its {where} entry is not a generator's weights (a mapping of "
                              "names to tensors); it is damaged or not a gankit checkpoint")
    source = ckpt.get("source_shape")
    return SavedGenerator(config, weights, _shape(ckpt.get("image_shape"), "image_shape", path),
                          _count(ckpt.get("num_classes", 0), "num_classes", path),
                          _count(ckpt.get("step"), "step", path), ema,
                          None if source is None else _shape(source, "source_shape", path))


def _read_file(path: Path, config: Config) -> SavedGenerator:
    """generator.safetensors: metadata checked, tensor names and shapes checked, then the tensors read."""
    try:
        with safetensors.safe_open(str(path), "pt") as f:
            meta = f.metadata()
            shapes = {name: tuple(f.get_slice(name).get_shape()) for name in f.keys()}
    except Exception as e:  # safetensors raises its own types for damaged headers
        raise CheckpointError(f"{path} cannot be read ({type(e).__name__}); it is corrupt") from None
    saved = _from_metadata(meta, config, path)
    check_architecture(saved, shapes, path)
    try:
        saved.weights = safetensors.torch.load_file(str(path))
    except Exception as e:
        raise CheckpointError(f"{path} cannot be read ({type(e).__name__}); it is corrupt") from None
    return saved


def _from_metadata(meta: dict[str, str] | None, config: Config, path: Path) -> SavedGenerator:
    """A SavedGenerator (weights not yet read) from generator.safetensors' metadata, every key checked."""
    if not meta:
        raise CheckpointError(f"{path} has no metadata: it was not written by gankit, which records the config, "
                              "shape and step of the generator there; export it again from its run")
    missing = [key for key in REQUIRED_METADATA if key not in meta]
    if missing:
        raise CheckpointError(f"{path}: its metadata lacks {', '.join(missing)}; it was not written by gankit "
                              "or is damaged")
    found = meta.get("format", FORMAT)
    if found != FORMAT:
        raise CheckpointError(f"{path} has format {found!r:.20}, and this gankit ({__version__}) reads format "
                              f"{FORMAT!r}")
    arch = meta.get("arch", config.model.arch)
    if arch != config.model.arch:
        raise CheckpointError(f"{path} holds a {arch!r:.40} generator, but config.yaml beside it says "
                              f"model.arch={config.model.arch}; the files belong to different runs")
    if meta["ema"] not in ("True", "False"):
        raise CheckpointError(f"{path}: its metadata has ema={meta['ema']!r:.20}, not True or False; it is damaged")
    source = meta.get("source_shape")
    return SavedGenerator(config, {}, _shape(meta["image_shape"], "image_shape", path),
                          _count(meta["num_classes"], "num_classes", path), _count(meta["step"], "step", path),
                          meta["ema"] == "True", _shape(source, "source_shape", path) if source else None)


def _shape(value: Any, key: str, path: Path) -> tuple[int, ...]:
    """A sample's shape: (C, H, W) or (2,), as "1,28,28" (metadata) or [1, 28, 28] (checkpoint)."""
    try:
        parts = value.split(",") if isinstance(value, str) else list(value)
        shape = tuple(_natural(part) for part in parts)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) not in (1, 3) or not all(0 < side <= MAX_SIDE for side in shape):
        raise CheckpointError(f"{path}: its {key} {value!r:.40} is not the shape of a sample (C,H,W or 2); "
                              "it is damaged")
    return shape


def _count(value: Any, key: str, path: Path) -> int:
    """A whole number >= 0 (a step, a class count), as text (metadata) or a number (checkpoint)."""
    try:
        return _natural(value)
    except (TypeError, ValueError):
        raise CheckpointError(f"{path}: its {key} {value!r:.40} is not a whole number >= 0; it is damaged") from None


def _natural(value: Any) -> int:
    """int(value) for a whole number >= 0 given as an int or as decimal text; else ValueError or TypeError."""
    if isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 18:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(value)
