"""The training loop: build the parts, then step, log, sample and checkpoint.

Phases of one run:
  setup    the Trainer: data on the device, G and D, the step and its optimizers,
           EMA, RNGs (restored on resume); the evaluation reference when evaluating
  loop     per G step: the Trainer draws the step's inputs and runs the step
           (n_critic D steps + a G step, train/step.py), then the EMA; at
           intervals: log, epoch picture, evaluation, checkpoint; a stop request
           (Ctrl-C, SIGTERM) ends the loop cleanly after the step in flight
  finish   final checkpoint, generator.safetensors, progress.gif, losses.png, report.html

The training doctor (train/doctor.py) looks at each log interval's statistics and
each epoch's samples, and names the failures it sees once each.
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
from gankit.errors import TrainingDiverged
from gankit.metrics.protocol import Reference, evaluate, parse_metrics
from gankit.metrics.translation import TranslationEval
from gankit.report import write_report
from gankit.run import RunDir, checkpoint
from gankit.sampling import generate
from gankit.train import distributed
from gankit.train.doctor import Doctor
from gankit.train.monitor import Monitor
from gankit.train.trainer import Trainer
from gankit.translate import Translator

# The epoch grids are written every epoch; progress.gif and losses.png, which are rebuilt
# from all of them, at most this often while training, and at the end: on a GPU an epoch
# of MNIST can be shorter than drawing a loss plot.
SUMMARY_EVERY_S = 10.0


class PeriodicEval:
    """Evaluation during training: the same noise, reference and evaluator each time.

    A translation run is scored by the translation protocol (metrics/translation.py): the
    same held-out pairs and real reference at every evaluation, FID and KID in the target
    domain beside PSNR, SSIM, accuracy (or class purity and cycle PSNR) and, for a
    stochastic G, diversity.
    """

    def __init__(self, cfg: Config, trainer: Trainer):
        self.cfg = cfg.eval
        self.device = trainer.device
        self.shapes = (trainer.source_shape, trainer.shape) if trainer.translation else None
        if self.shapes:
            self.config = cfg
            self.protocol = TranslationEval(cfg, n=cfg.eval.n, seed=cfg.eval.seed, evaluator=cfg.eval.evaluator,
                                            device=self.device)
        else:
            self.metrics = parse_metrics(cfg.eval.metrics)
            self.reference = Reference.for_run(cfg, cfg.eval.evaluator, device=self.device)

    def __call__(self, G: torch.nn.Module) -> dict[str, float]:
        if self.shapes:
            was_training = G.training
            try:  # the Translator runs G in eval mode; training goes on in G's own mode
                values = self.protocol.model(Translator(G, self.config, self.device, None, *self.shapes))
            finally:
                G.train(was_training)
            return {k: v for k, v in values.items() if isinstance(v, float)}  # not the per-class text
        result = evaluate(lambda n, seed: generate(G, n, seed, self.device), self.reference,
                          n=self.cfg.n, metrics=self.metrics, seed=self.cfg.seed)
        return result["metrics"]


class StopRequest:
    """First Ctrl-C (or SIGTERM) asks the loop to checkpoint and stop; a second one aborts at once.

    Under torchrun SIGTERM keeps its default, to end the process at once: torchrun sends it
    to the surviving workers when one has died, and a graceful stop would wait for the
    dead one at the next collective. The last checkpoint is what the restart resumes from.
    """

    def __init__(self, distributed: bool = False) -> None:
        self.requested = False
        self.signals = (signal.SIGINT,) if distributed else (signal.SIGINT, signal.SIGTERM)
        self._old: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in self.signals:
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
    periodic_eval = PeriodicEval(cfg, trainer) if cfg.eval.every and main else None
    doctor = Doctor(cfg, trainer.data, trainer.device) if main else None
    evaluating = bool(cfg.eval.every)
    if resume and run.has_checkpoint():
        trainer.load_state_dict(run.load_checkpoint(training=True))  # the newest that loads
    trainer.warm_up()  # oneDNN's kernels run once, so a resumed run repeats the run never stopped
    if main:
        if resume:
            run.truncate_metrics(trainer.step)
            doctor.reported |= {r["finding"] for r in run.read_metrics() if "finding" in r}  # once a run
        run.prepare()
        run.write_config(cfg)
    total, spe = trainer.total_steps, trainer.steps_per_epoch
    mon = Monitor(run, total, trainer.step, cfg.train.batch_size, spe, cfg.log.every,
                  cfg.log.tensorboard, show=verbose, dist=dist,
                  budget_left=trainer.budget_left)
    mon.note(_banner(trainer, run, total, resume))

    saved = {"step": -1}  # the step last.pt holds

    def save_checkpoint(path: Path = run.last_checkpoint) -> None:
        if path == run.last_checkpoint and saved["step"] == trainer.step:
            return  # already written at this step (an epoch's end that is also a checkpoint step, the end)
        if cfg.guard.nonfinite != "off" and not trainer.weights_finite():
            mon.note(f"guard: not checkpointing step {trainer.step}: the weights hold NaN or Inf")
            return  # the checkpoint to roll back to must be a good one
        payload = trainer.state_dict()  # a collective under torchrun: every rank calls it
        if main:  # last.pt keeps its predecessor until it is complete; best.pt is a single file
            checkpoint.save(path, payload, previous=run.previous_checkpoint if path == run.last_checkpoint else None)
        if path == run.last_checkpoint:
            saved["step"] = trainer.step

    def guard(record: dict | None) -> None:
        """The guard's verdict after a step: go on, roll back to the last checkpoint, or stop."""
        flagged = record is not None and trainer.guard.take_flag()  # a GPU's flag, read at log intervals
        g = trainer.guard
        if g.bad_in_a_row == 1 and g.last_bad:
            mon.note(f"guard: skipped {g.last_bad_text()} at step {trainer.step}")
        verdict = g.verdict(flagged)
        if verdict == "stop":
            raise TrainingDiverged(g.diagnosis(trainer.step))
        if verdict == "rollback":
            at = trainer.step
            trainer.rollback(run.load_checkpoint())
            if main:
                run.truncate_metrics(trainer.step)
                run.append_metrics({"step": trainer.step, "guard": "rollback", "from_step": at,
                                    "lr_scale": g.lr_scale})
            mon.note(f"guard: {cfg.guard.max_bad_steps} bad steps in a row at step {at}: rolled back to step "
                     f"{trainer.step}, learning rates x{g.lr_scale:g}")

    def evaluate() -> None:
        """Rank 0 scores the sampling G; a new best FID is checkpointed (by every rank together)."""
        values = periodic_eval(trainer.sampling_G) if main else None
        values = distributed.broadcast(values, dist)
        if main:
            mon.evaluation(trainer.step, values)
        if trainer.improves_best(values):
            save_checkpoint(run.best_checkpoint)

    def epoch_picture() -> None:
        epoch = -(-trainer.step // spe)  # 1-based epoch holding the last step done
        samples = trainer.sample_fixed()  # uint8 [N, C, H, W], or float points [N, 2]
        picture = trainer.picture(samples, f"epoch {epoch}")  # uint8 [H, W, C]
        viz.save_picture(picture, run.epoch_grid(epoch))
        mon.image("samples", picture, trainer.step)
        if not trainer.translation:  # a translator's outputs follow its inputs: no collapse of their own
            for finding in doctor.check_samples(trainer.step, samples):
                mon.finding(finding)

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
    try:  # the progress bar and TensorBoard's file are closed however the run ends
        if trainer.step == 0:
            save_checkpoint()  # a first checkpoint: something to resume or roll back to from the first step
        summarised = -SUMMARY_EVERY_S  # when progress.gif and losses.png were last written
        with StopRequest(distributed=dist.active) as stop:
            while trainer.step < total and not should_stop(trainer.step):
                stats = trainer.train_step()  # draws the step's inputs, runs the step, moves the EMA
                step = trainer.step
                record = mon.update(step, stats)  # the averaged statistics, at log intervals
                guard(record)
                step = trainer.step  # a rollback moves it back
                if record and main:
                    for finding in doctor.check_log(record):
                        mon.finding(finding)
                if main and step % spe == 0:
                    epoch_picture()
                    if time.perf_counter() - summarised >= SUMMARY_EVERY_S:
                        summaries()
                        summarised = time.perf_counter()
                if evaluating and step % cfg.eval.every == 0:
                    evaluate()
                if step % spe == 0 or step % cfg.checkpoint.every == 0:
                    save_checkpoint()

        # finish -----------------------------------------------------------------
        mon.flush(trainer.step)
        save_checkpoint()
        if main:
            if trainer.step % spe:
                epoch_picture()  # a run that stops mid-epoch still shows where it got to
            trainer.save_generator(run.generator)
            summaries()
            write_report([run.path], run.report)
    finally:
        mon.close()
    return Result(run, trainer.step, total, interrupted=stop.requested)


def _banner(t: Trainer, run: RunDir, total: int, resume: bool) -> str:
    n_g, n_d = t.parameter_counts()
    what = f"resuming at step {t.step}" if resume else "training"
    graph = ", one CUDA graph a step" if t.cuda_graph else ""
    budget = f" or {t.cfg.train.max_minutes:g} minutes of training" if t.cfg.train.max_minutes else ""
    return (
        f"gankit {what}: {t.cfg.model.arch} on {t.data.name}/{t.data.split} ({t.num_samples} samples from "
        f"{t.data.source}), G {n_g / 1e6:.2f}M + D {n_d / 1e6:.2f}M params, {t.device} {t.precision}{graph}, "
        f"{total} steps of batch {t.cfg.train.batch_size} ({t.steps_per_epoch} per epoch){budget} -> {run.path}"
    )
