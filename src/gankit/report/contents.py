"""What the report shows of one run, read from its folder.

Reading never fails on a run that is incomplete or still training: each part
that is missing or cannot be read is left empty with a line saying why, and the
page shows that line in its place. Only a path that is not a run folder at all
is an error (:meth:`RunDir.open`'s CheckpointError).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import gankit
import gankit.metrics  # noqa: F401  (registers the metrics, whose keys tell evaluations apart)
from gankit import viz
from gankit.config import Config
from gankit.data.toy import MIXTURES
from gankit.errors import GankitError
from gankit.registry import METRICS
from gankit.report import figures
from gankit.run import RunDir
from gankit.sampling import Sampler

SEED = 0  # noise seed of the final samples: the same pictures each time the report is written
PER_ROW = 8  # final samples: an 8 x 8 grid, or one row of 8 per class
MAX_CLASS_ROWS = 16  # conditional runs with more classes get a plain grid of random classes
POINTS = 2500  # 2-D runs: points in the final scatter plot (as in each epoch's)
TARGET_WIDTH = 500  # final sample grids are upscaled (nearest) to about this many pixels across
MAX_FRAMES = 100  # epoch pictures behind the slider, at most

_EPOCH = re.compile(r"epoch-(\d+)$")


@dataclass
class Samples:
    """The final samples as one picture, and where the generator came from."""

    picture: np.ndarray  # uint8 [H, W, C]
    step: int | None  # G steps the generator was trained for
    source: str  # the file read, in words
    what: str = ""  # what the picture shows, when not samples from noise

    @functools.cached_property
    def uri(self) -> str:
        """The picture as a PNG data: URI (encoded once: a comparison shows it twice)."""
        return figures.picture_uri(self.picture)


@dataclass
class RunContents:
    """Everything the page shows of one run; empty parts carry a note saying why."""

    run: RunDir
    config: dict[str, Any] = field(default_factory=dict)  # dotted key -> value
    config_note: str = ""
    training: list[dict[str, Any]] = field(default_factory=list)  # log records: losses, D outputs
    evaluations: list[dict[str, Any]] = field(default_factory=list)  # evaluations during training
    findings: list[dict[str, Any]] = field(default_factory=list)  # the training doctor's findings
    grids: list[tuple[int, Path]] = field(default_factory=list)  # (epoch, picture) in epoch order
    samples: Samples | None = None
    samples_note: str = ""
    evaluation: dict[str, Any] | None = None  # evaluation.json
    evaluation_note: str = ""

    @property
    def label(self) -> str:
        """A short name for the run: its folder's name."""
        return self.run.path.resolve().name or str(self.run.path)

    @property
    def points(self) -> bool:
        """A 2-D toy run: its pictures are scatter plots, not image grids."""
        return self.config.get("data.dataset") in MIXTURES

    @property
    def steps(self) -> int:
        """G steps done: the latest of the generator's step and the last logged step."""
        known = [r["step"] for r in self.training if "step" in r]
        if self.samples and self.samples.step is not None:
            known.append(self.samples.step)
        return max(known, default=0)

    def final_metrics(self) -> tuple[dict[str, Any], str]:
        """The run's latest numbers and where they come from: evaluation.json, else the
        last evaluation during training, else none."""
        if self.evaluation and isinstance(self.evaluation.get("metrics"), dict):
            run = self.evaluation.get("protocol", {}).get("run", {})
            at = f", step {run['step']}" if run.get("step") is not None else ""
            metrics = self.evaluation["metrics"]
            if self.evaluation.get("protocol", {}).get("kind") == "translation":  # the model's column
                metrics = {k: v for k, v in metrics.get("model", {}).items() if not isinstance(v, str)}
            return metrics, f"gankit evaluate{at}"
        if self.evaluations:
            last = self.evaluations[-1]
            numbers = {k: v for k, v in last.items() if k not in ("step", "epoch")}
            return numbers, f"during training, step {last.get('step', '?')}"
        return {}, "not evaluated"


def read_run(path: str | Path) -> RunContents:
    """Read what the report shows of the run at ``path``; a CheckpointError if it is not a run folder."""
    run = RunDir.open(path)
    c = RunContents(run)
    c.config, c.config_note = _config(run)
    records = [r for r in run.read_metrics() if isinstance(r, dict) and "step" in r]
    keys = metric_keys()
    c.findings = [r for r in records if "finding" in r]
    c.evaluations = [r for r in records if "finding" not in r and _is_evaluation(r, keys)]
    c.training = [r for r in records if "finding" not in r and not _is_evaluation(r, keys)]
    c.grids = epoch_pictures(run)
    c.samples, c.samples_note = final_samples(run, c.points)
    c.evaluation, c.evaluation_note = _evaluation(run)
    return c


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config dict as dotted keys: {"loss": {"name": "hinge"}} -> {"loss.name": "hinge"}."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


DEFAULTS = flatten(Config().to_dict())


def metric_keys() -> set[str]:
    """Every number a registered metric reports (fid, precision, kid_mean, ...)."""
    return {key for entry in METRICS.entries() for key in entry.obj.keys}


def lower_is_better() -> set[str]:
    return {key for entry in METRICS.entries() for key in entry.obj.lower_is_better}


def _is_evaluation(record: dict[str, Any], keys: set[str]) -> bool:
    """metrics.jsonl lines of evaluations during training carry metric ``keys`` and no loss."""
    return "loss_d" not in record and "loss" not in record and not keys.isdisjoint(record)


def _config(run: RunDir) -> tuple[dict[str, Any], str]:
    try:
        return flatten(run.read_config().to_dict()), ""
    except GankitError as e:
        return {}, f"The config cannot be shown: {e}"


def epoch_pictures(run: RunDir) -> list[tuple[int, Path]]:
    """samples/epoch-NNN.png as (epoch, path), in epoch order (also past epoch 999)."""
    found = [(_EPOCH.match(p.stem), p) for p in run.epoch_grids()]
    return sorted((int(m.group(1)), p) for m, p in found if m)


def thin(items: list[Any], most: int) -> list[Any]:
    """At most ``most`` of ``items``, evenly spaced, the first and the last kept (a long run's
    epoch pictures would make the page tens of megabytes)."""
    if len(items) <= most:
        return items
    picks = sorted({round(i * (len(items) - 1) / (most - 1)) for i in range(most)})
    return [items[i] for i in picks]


def final_samples(run: RunDir, points: bool) -> tuple[Samples | None, str]:
    """Samples of the run's generator (generator.safetensors, else the last checkpoint):
    an 8 x 8 grid, one row per class for conditional runs, or a scatter plot of 2-D points."""
    finished = run.generator.is_file()
    try:
        sampler = gankit.load(run.path, device="cpu")
    except GankitError as e:
        return None, f"No samples: {e}."
    if not isinstance(sampler, Sampler):
        return translated_examples(run, sampler)
    source = ("generator.safetensors" if finished else
              "checkpoints/last.pt: the run has no generator.safetensors yet (still training, or stopped by a crash)")
    if len(sampler.shape) == 1 or points:
        xy = sampler.sample(POINTS, seed=SEED)  # float [POINTS, 2]
        modes = MIXTURES[run.read_config().data.dataset].centers() if points else None
        picture = viz.scatter_picture(xy, None if modes is None else torch.from_numpy(modes),
                                      title=f"{POINTS} samples, step {sampler.step}")
        return Samples(picture, sampler.step, source), ""
    k = sampler.num_classes
    labels = torch.arange(k).repeat_interleave(PER_ROW) if 1 <= k <= MAX_CLASS_ROWS else None
    n = PER_ROW * PER_ROW if labels is None else len(labels)
    images = sampler.sample(n, seed=SEED, labels=labels)  # uint8 [n, C, H, W]
    picture = viz.grid(images, PER_ROW)  # uint8 [rows*(H+2)+2, 8*(W+2)+2, C]
    picture = viz.upscale(picture, max(1, round(TARGET_WIDTH / picture.shape[1])))
    return Samples(picture, sampler.step, source), ""


def translated_examples(run: RunDir, translator: Any) -> tuple[Samples | None, str]:
    """A translation run's held-out examples (the evaluation's first inputs): rows of
    source | output | target (source | output for unpaired data), two examples a row."""
    from gankit.metrics.translation import held_out

    finished = run.generator.is_file()
    source = "generator.safetensors" if finished else "checkpoints/last.pt"
    try:
        data = held_out(translator.config, PER_ROW * 2, SEED)
    except GankitError as e:
        return None, f"No examples: {e}."
    out = translator.translate(data["sources"], seed=SEED)  # uint8 [n, Ct, H, W]
    outputs = [out]
    if translator.noise_channels:  # a stochastic model: a second output of each input, other noise
        outputs.append(translator.translate(data["sources"], seed=SEED + 1))
    columns = [viz.as_target(data["sources"], tuple(out.shape[1:])), *outputs]
    names = ["source", *["output"] * len(outputs)]
    if data["targets"] is not None:
        columns.append(data["targets"])
        names.append("target")
    picture = viz.grid(torch.stack(columns, 1).flatten(0, 1), 2 * len(columns))
    picture = viz.upscale(picture, max(1, round(TARGET_WIDTH / picture.shape[1])))
    layout = " | ".join(names) + (" (two noises)" if len(outputs) > 1 else "")
    what = f"the first {len(out)} held-out {translator.config.eval.split} inputs, {layout}"
    return Samples(picture, translator.step, source, what), ""


def _evaluation(run: RunDir) -> tuple[dict[str, Any] | None, str]:
    if not run.evaluation.is_file():
        return None, f"Not evaluated yet: gankit evaluate {run.path} writes evaluation.json."
    try:
        result = json.loads(run.evaluation.read_text())
    except (OSError, ValueError) as e:
        return None, f"{run.evaluation} cannot be read ({type(e).__name__}); run gankit evaluate again."
    if not isinstance(result, dict) or not isinstance(result.get("metrics"), dict):
        return None, f"{run.evaluation} holds no metrics; run gankit evaluate again."
    return result, ""
