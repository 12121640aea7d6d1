"""The training loop: build the parts, then step, log, sample and checkpoint.

Phases of one run:
  setup    the Trainer: data on the device, G and D, optimizers, EMA, RNGs
           (restored on resume); the evaluation reference when evaluating
  loop     per G step: n_critic D steps + a G step + EMA (train/step.py); at
           intervals: log, epoch picture, evaluation, checkpoint; a stop request
           (Ctrl-C, SIGTERM) ends the loop cleanly after the step in flight
  finish   final checkpoint, generator.safetensors, progress.gif, losses.png
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gankit import viz
from gankit.config import Config
from gankit.train import distributed, state
from gankit.train.monitor import Monitor
from gankit.train.run_dir import RunDir
from gankit.train.trainer import Trainer

# The epoch grids are written every epoch; progress.gif and losses.png, which are rebuilt
# from all of them (a loss plot costs 0.2-0.3 s), at most this often while training, and
# at the end. On a GPU an epoch of MNIST can take under a second.
SUMMARY_EVERY_S = 10.0


class PeriodicEval:
    """Evaluation during training: the same noise, reference and evaluator each time."""

    def __init__(self, cfg: Config, device: torch.device):
        from gankit.metrics.evaluate import Reference, parse_metrics

        self.cfg = cfg.eval
        self.device = device
        self.metrics = parse_metrics(cfg.eval.metrics)
        self.reference = Reference.for_run(cfg, cfg.eval.evaluator, device=device)

    def __call__(self, G: torch.nn.Module) -> dict[str, float]:
        from gankit.metrics.evaluate import evaluate
        from gankit.sampling import generate

        result = evaluate(lambda n, seed: generate(G, n, seed, self.device), self.reference,
                          n=self.cfg.n, metrics=self.metrics, seed=self.cfg.seed)
        return result["metrics"]


class StopRequest:
    """First Ctrl-C (or SIGTERM) asks the loop to checkpoint and stop; a second one aborts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


@dataclass
class Result:
    run: RunDir
    step: int
    total_steps: int
    interrupted: bool


def train(cfg: Config, run: RunDir, resume: bool = False, verbose: bool = True,
          dist: distributed.Dist = distributed.SINGLE) -> Result:
    """Train ``cfg`` into ``run``; with ``resume``, continue from run's last checkpoint.

    Under torchrun every rank calls this; rank 0 alone writes to ``run``.
    """
    # setup ------------------------------------------------------------------
    main = dist.main
    trainer = Trainer(cfg, dist=dist)
    periodic_eval = PeriodicEval(cfg, trainer.device) if cfg.eval.every and main else None
    evaluating = bool(cfg.eval.every)
    if resume:
        trainer.load_state_dict(state.load(run.last_checkpoint))
    if main:
        if resume:
            run.truncate_metrics(trainer.step)
        run.prepare()
        run.write_config(cfg)
    total, spe = trainer.total_steps, trainer.steps_per_epoch
    mon = Monitor(run, total, trainer.step, cfg.train.batch_size, spe, cfg.log.every,
                  cfg.log.tensorboard, show=verbose, dist=dist)
    mon.note(_banner(trainer, run, total, resume))

    def checkpoint(path: Path = run.last_checkpoint) -> None:
        payload = trainer.state_dict()  # a collective under torchrun: every rank calls it
        if main:
            state.save(path, payload)

    def evaluate() -> None:
        """Rank 0 scores the sampling G; a new best FID is checkpointed (by every rank together)."""
        best = trainer.best
        if main:
            values = periodic_eval(trainer.sampling_G)
            mon.evaluation(trainer.step, values)
            if "fid" in values and values["fid"] < best.get("fid", float("inf")):
                best = {"fid": values["fid"], "step": trainer.step}
        best = distributed.broadcast(best, dist)
        if best != trainer.best:
            trainer.best = best
            checkpoint(run.best_checkpoint)

    def epoch_grid() -> None:
        epoch = -(-trainer.step // spe)  # 1-based epoch holding the last step done
        samples = trainer.sample_fixed()
        if trainer.points:  # 2-D data: a scatter plot over the true modes
            viz.save_scatter(samples, run.epoch_grid(epoch), trainer.data.modes, title=f"epoch {epoch}")
            return
        viz.save_grid(samples, run.epoch_grid(epoch), nrow=trainer.grid_nrow)
        mon.image("samples", torch.from_numpy(viz.grid(samples, trainer.grid_nrow)).permute(2, 0, 1), trainer.step)

    def summaries() -> None:
        """progress.gif and losses.png, rebuilt from every epoch grid and metric so far."""
        viz.save_gif(run.epoch_grids(), run.gif)
        viz.plot_losses(run.read_metrics(), run.losses_plot)

    def should_stop(step: int) -> bool:
        halt = stop.requested or trainer.over_budget
        if not dist.active:
            return halt
        # ranks must stop at the same step: agree at log intervals (one small collective)
        return step % cfg.log.every == 0 and distributed.any_rank(halt, dist)

    # loop -------------------------------------------------------------------
    summarised = -SUMMARY_EVERY_S  # when progress.gif and losses.png were last written
    with StopRequest() as stop:
        while trainer.step < total and not should_stop(trainer.step):
            stats = trainer.train_step()
            step = trainer.step
            mon.update(step, stats)
            if main and step % spe == 0:
                epoch_grid()
                if time.perf_counter() - summarised >= SUMMARY_EVERY_S:
                    summaries()
                    summarised = time.perf_counter()
            if evaluating and step % cfg.eval.every == 0:
                evaluate()
            if step % spe == 0 or step % cfg.checkpoint.every == 0:
                checkpoint()

    # finish -----------------------------------------------------------------
    mon.flush(trainer.step)
    checkpoint()
    if main:
        if trainer.step % spe:
            epoch_grid()  # a run that stops mid-epoch still shows where it got to
        trainer.save_generator(run.generator)
        summaries()
    mon.close()
    return Result(run, trainer.step, total, interrupted=stop.requested)


def _banner(t: Trainer, run: RunDir, total: int, resume: bool) -> str:
    n_g = sum(p.numel() for p in t.G.parameters())
    n_d = sum(p.numel() for p in t.D.parameters())
    what = f"resuming at step {t.step}" if resume else "training"
    graph = ", one CUDA graph a step" if t.cuda_graph else ""
    return (
        f"gankit {what}: {t.cfg.model.arch} on {t.data.name}/{t.data.split} ({t.batches.images.shape[0]} samples from "
        f"{t.data.source}), G {n_g / 1e6:.2f}M + D {n_d / 1e6:.2f}M params, {t.device} {t.precision}{graph}, "
        f"{total} steps of batch {t.cfg.train.batch_size} ({t.steps_per_epoch} per epoch) -> {run.path}"
    )
