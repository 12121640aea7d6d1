"""Network interpolation: one generator whose every weight is ``(1 - alpha) * A + alpha * B``.

ESRGAN (Wang et al. 2018, section 3.4) trains a pixel-loss network and fine-tunes a GAN from
it, then blends the two networks' weights: ``alpha`` moves the output continuously between
the first's fidelity (PSNR) and the second's texture (realism), with no training. Two runs
of one architecture blend: typically an enhancement preset (B) and its pixel-loss twin
(A, ``--set translate.adv_weight=0``), or two GAN runs of one generator.

    gankit blend RUN_PIXEL RUN_GAN --alpha 0.8 --out runs/blend-0.8

The result is a run folder of its own: B's config.yaml, generator.safetensors with the
blended weights (B's step and metadata), and blend.json naming the two sources and alpha.
``gankit translate``, ``evaluate``, ``sample`` and ``gankit.load`` read it as any other run.
Why the runs must agree on ``model.*`` and ``pair.*``: the weights are summed name by name,
which only means something when both networks compute the same function of them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from gankit import atomic
from gankit.config import differing_keys
from gankit.errors import CheckpointError, ConfigError
from gankit.run import generator as run_generator
from gankit.run.folder import RunDir

SECTIONS = ("model.", "pair.")  # config keys that must be equal in both runs
RECORD = "blend.json"  # in the output folder: the sources and alpha


def blend_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """``(1 - alpha) * a + alpha * b`` for each floating-point tensor; other tensors (counters such
    as BatchNorm's num_batches_tracked) are taken from ``b``. Both hold the same names and shapes."""
    return {name: torch.lerp(a[name].float(), t.float(), alpha).to(t.dtype) if t.is_floating_point() else t.clone()
            for name, t in b.items()}


def blend(run_a: str | Path, run_b: str | Path, alpha: float, out: str | Path, checkpoint: str = "final") -> RunDir:
    """Write the run folder ``out`` whose generator blends ``run_a``'s (alpha 0) and ``run_b``'s (alpha 1).

    ``checkpoint`` chooses the file of each run as for ``gankit.load`` ("final", "last", "best").
    Nothing is left in ``out`` unless it is complete: the folder is written beside it and renamed.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be between 0 (the first run's generator) and 1 (the second's), got {alpha}")
    target = RunDir(out)
    if target.taken:  # not RunDir.create's message, which offers --resume
        raise CheckpointError(f"{target.path} already exists and is not empty; choose another --out")
    a, b = (run_generator.read(RunDir.open(run), checkpoint) for run in (run_a, run_b))
    check_compatible(a, b, run_a, run_b)
    weights = blend_weights(a.weights, b.weights, alpha)
    G = run_generator.build_network(b)
    G.load_state_dict(weights)  # the names and shapes were checked against this network when read

    target.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.path.name}.", suffix=".tmp", dir=target.path.parent))
    try:
        staged = RunDir(tmp)
        staged.write_config(b.config)
        run_generator.write(staged.generator, G, b.config, b.step, b.shape, b.num_classes, b.ema, b.source_shape)
        record = {"alpha": alpha, "run_a": str(Path(run_a).resolve()), "run_b": str(Path(run_b).resolve()),
                  "checkpoint": checkpoint, "formula": "(1 - alpha) * run_a + alpha * run_b"}
        atomic.write_text(tmp / RECORD, json.dumps(record, indent=2) + "\n")
        if target.path.exists():  # an empty folder, which may be used: make way for the rename
            target.path.rmdir()
        os.replace(tmp, target.path)
        atomic.fsync_dir(target.path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def check_compatible(a: run_generator.SavedGenerator, b: run_generator.SavedGenerator,
                     run_a: str | Path, run_b: str | Path) -> None:
    """One ConfigError naming what differs when two generators cannot be blended weight by weight."""
    keys = [k for k in differing_keys(a.config.to_dict(), b.config.to_dict()) if k.startswith(SECTIONS)]
    if keys:
        shown = ", ".join(keys[:4]) + (" ..." if len(keys) > 4 else "")
        raise ConfigError(f"{run_a} and {run_b} differ in {shown}: only generators of one architecture and one "
                          "kind of input blend weight by weight (e.g. a preset and its --set "
                          "translate.adv_weight=0 twin)")
    for what, x, y in (("sample shape", a.shape, b.shape), ("input shape", a.source_shape, b.source_shape),
                       ("class count", a.num_classes, b.num_classes)):
        if x != y:
            raise ConfigError(f"{run_a} and {run_b} differ in {what} ({x} against {y}); they were trained on "
                              "different data and their generators do not blend")
    # the tensors' names and shapes then agree too: read() checked each file against this one network
