"""The training loop: build the parts, then step, log, sample and checkpoint.

Phases of one run:
  setup    data on the device, G and D, optimizers, RNGs (restored on resume)
  loop     per G step: batch -> D step + G step -> stats; at intervals: log,
           epoch grid, checkpoint; a stop request (Ctrl-C) ends the loop cleanly
  finish   final checkpoint, generator.safetensors, progress.gif, losses.png
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from typing import Any

import safetensors.torch
import torch

from gankit import __version__, atomic, viz
from gankit.config import Config
from gankit.data import load_dataset
from gankit.data.batches import DeviceBatches
from gankit.device import resolve_device
from gankit.models import build_models
from gankit.registry import LOSSES
from gankit.train import state
from gankit.train.monitor import Monitor
from gankit.train.run_dir import RunDir
from gankit.train.step import gan_step


class Trainer:
    """The parts of a run and their state: G, D, optimizers, data, RNGs."""

    def __init__(self, cfg: Config, device: torch.device | None = None):
        self.cfg = cfg
        self.device = device or resolve_device(cfg.train.device)
        torch.manual_seed(cfg.train.seed)  # initial weights and the dropout stream
        self.data = load_dataset(cfg.data.dataset, cfg.data.split, root=cfg.data.root,
                                 download=cfg.data.download, device=self.device)
        n = cfg.data.subset or len(self.data)
        self.batches = DeviceBatches(self.data.images[:n], self.data.labels[:n], cfg.train.batch_size, cfg.train.seed)
        self.G, self.D = build_models(cfg.model, self.data.shape)
        self.G.to(self.device)
        self.D.to(self.device)
        self.loss = LOSSES.get(cfg.loss.name)
        o = cfg.optim
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=o.lr_g, betas=(o.beta1, o.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=o.lr_d, betas=(o.beta1, o.beta2))
        self.noise = torch.Generator(self.device).manual_seed(cfg.train.seed)  # draws z
        # One fixed noise batch, drawn on the CPU so every device shows the same digits.
        g = torch.Generator().manual_seed(cfg.train.seed + 1)
        self.fixed_z = torch.randn(cfg.log.grid, cfg.model.latent_dim, generator=g).to(self.device)
        self.step = 0  # G steps done
        self.best: dict[str, float] = {}  # {"fid": lowest FID so far, "step": when}

    @property
    def total_steps(self) -> int:
        t = self.cfg.train
        total = t.epochs * self.batches.steps_per_epoch
        return min(total, t.steps) if t.steps else total

    def train_step(self) -> dict[str, torch.Tensor]:
        real, _ = self.batches.get(self.step)  # [B, C, H, W] in [-1, 1]
        z = torch.randn(real.shape[0], self.cfg.model.latent_dim, device=self.device, generator=self.noise)
        stats = gan_step(self.G, self.D, self.opt_g, self.opt_d, self.loss, real, z)
        self.step += 1
        return stats

    @torch.no_grad()
    def sample_fixed(self) -> torch.Tensor:
        """uint8 [grid, C, H, W] from the fixed noise, G in inference mode (BN running stats)."""
        self.G.eval()
        images = viz.to_uint8(self.G(self.fixed_z))
        self.G.train()
        return images

    # checkpoints ------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "config": self.cfg.to_dict(),
            "step": self.step,
            "image_shape": list(self.data.shape),  # so a sampler needs no dataset
            "models": {"G": self.G.state_dict(), "D": self.D.state_dict()},
            "optimizers": {"G": self.opt_g.state_dict(), "D": self.opt_d.state_dict()},
            "rng": state.rng_state(self.noise),
            "best": self.best,
        }

    def load_state_dict(self, ckpt: dict[str, Any]) -> None:
        self.G.load_state_dict(ckpt["models"]["G"])
        self.D.load_state_dict(ckpt["models"]["D"])
        self.opt_g.load_state_dict(ckpt["optimizers"]["G"])
        self.opt_d.load_state_dict(ckpt["optimizers"]["D"])
        state.set_rng_state(ckpt["rng"], self.noise)
        self.step = ckpt["step"]
        self.best = ckpt.get("best", {})

    def save_generator(self, path) -> None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.G.state_dict().items()}
        meta = {"config": self.cfg.to_yaml(), "gankit_version": __version__, "step": str(self.step),
                "image_shape": ",".join(map(str, self.data.shape))}
        with atomic.atomic_path(path) as tmp:
            safetensors.torch.save_file(tensors, str(tmp), metadata=meta)


class PeriodicEval:
    """Evaluation during training: the same noise, reference and evaluator each time."""

    def __init__(self, cfg: Config, device: torch.device):
        from gankit.metrics.evaluate import Reference, get_evaluator, parse_metrics

        self.cfg = cfg.eval
        self.device = device
        self.metrics = parse_metrics(cfg.eval.metrics)
        evaluator = get_evaluator(cfg.eval.evaluator, cfg.data.dataset, device)
        self.reference = Reference.from_dataset(evaluator, cfg.data.dataset, cfg.eval.split, cfg.eval.real_n,
                                   root=cfg.data.root, download=cfg.data.download)

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


def train(cfg: Config, run: RunDir, resume: bool = False, verbose: bool = True) -> Result:
    """Train ``cfg`` into ``run``; with ``resume``, continue from run's last checkpoint."""
    # setup ------------------------------------------------------------------
    trainer = Trainer(cfg)
    periodic_eval = PeriodicEval(cfg, trainer.device) if cfg.eval.every else None
    if resume:
        trainer.load_state_dict(state.load(run.last_checkpoint))
        run.truncate_metrics(trainer.step)
    run.prepare()
    run.write_config(cfg)
    total, spe = trainer.total_steps, trainer.batches.steps_per_epoch
    mon = Monitor(run, total, trainer.step, cfg.train.batch_size, spe, cfg.log.every,
                  cfg.log.tensorboard, show=verbose)
    mon.note(_banner(trainer, run, total, resume))

    def checkpoint() -> None:
        state.save(run.last_checkpoint, trainer.state_dict())

    def evaluate() -> None:
        values = periodic_eval(trainer.G)
        mon.evaluation(trainer.step, values)
        if "fid" in values and values["fid"] < trainer.best.get("fid", float("inf")):
            trainer.best = {"fid": values["fid"], "step": trainer.step}
            state.save(run.best_checkpoint, trainer.state_dict())

    def epoch_grid() -> None:
        epoch = -(-trainer.step // spe)  # 1-based epoch holding the last step done
        images = trainer.sample_fixed()
        viz.save_grid(images, run.epoch_grid(epoch))
        mon.image("samples", torch.from_numpy(viz.grid(images)).permute(2, 0, 1), trainer.step)

    # loop -------------------------------------------------------------------
    with StopRequest() as stop:
        while trainer.step < total and not stop.requested:
            stats = trainer.train_step()
            step = trainer.step
            mon.update(step, stats)
            if step % spe == 0:
                epoch_grid()
                viz.save_gif(run.epoch_grids(), run.gif)
                viz.plot_losses(run.read_metrics(), run.losses_plot)
            if periodic_eval and step % cfg.eval.every == 0:
                evaluate()
            if step % spe == 0 or step % cfg.checkpoint.every == 0:
                checkpoint()

    # finish -----------------------------------------------------------------
    mon.flush(trainer.step)
    if trainer.step % spe:
        epoch_grid()  # a run that stops mid-epoch still shows where it got to
    checkpoint()
    trainer.save_generator(run.generator)
    viz.save_gif(run.epoch_grids(), run.gif)
    viz.plot_losses(run.read_metrics(), run.losses_plot)
    mon.close()
    return Result(run, trainer.step, total, interrupted=trainer.step < total)


def _banner(t: Trainer, run: RunDir, total: int, resume: bool) -> str:
    n_g = sum(p.numel() for p in t.G.parameters())
    n_d = sum(p.numel() for p in t.D.parameters())
    what = f"resuming at step {t.step}" if resume else "training"
    return (
        f"gankit {what}: {t.cfg.model.arch} on {t.data.name}/{t.data.split} ({t.batches.images.shape[0]} images from "
        f"{t.data.source}), G {n_g / 1e6:.2f}M + D {n_d / 1e6:.2f}M params, {t.device}, "
        f"{total} steps of batch {t.cfg.train.batch_size} ({t.batches.steps_per_epoch} per epoch) -> {run.path}"
    )
