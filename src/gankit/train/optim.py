"""Optimizers of the training steps, from the ``optim`` config section."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from gankit.config import OptimConfig


def make_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimConfig, lr: float, device: torch.device,
                   capturable: bool = False) -> torch.optim.Optimizer:
    """Adam (or RMSprop for WGAN); ``capturable`` when the step is replayed as a CUDA graph (the
    optimizer then keeps its step counts on the device, where a replay can advance them)."""
    if cfg.name == "rmsprop":  # the WGAN paper: momentum-free, as Adam destabilised its critic
        return torch.optim.RMSprop(params, lr=lr, capturable=capturable)
    fused = device.type == "cuda" if cfg.fused is None else cfg.fused
    return torch.optim.Adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), fused=fused or None, capturable=capturable)


def load_optimizer(opt: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """Restore an optimizer's state; how it computes (fused, capturable, foreach) follows this run's
    config, not the checkpoint's, so a run can resume on another device or with CUDA graphs."""
    how = ("fused", "capturable", "foreach")
    groups = [{**old, **{k: new[k] for k in how if k in new}} for old, new in zip(saved["param_groups"],
                                                                                 opt.param_groups)]
    opt.load_state_dict({**saved, "param_groups": groups})


def lr_factor(cfg: OptimConfig, step: int, total: int) -> float:
    """The learning-rate multiplier at G step ``step`` (0-based) of a run of ``total`` steps.

    Counted in steps, not epochs, and computed from the step alone, so a resumed run
    continues its schedule exactly with no scheduler state to restore:
    constant: 1; linear: 1 until optim.decay_start (default: half way), then down to 0
    at the last step (pix2pix, CycleGAN); multistep: optim.gamma ** (milestones passed).
    Times (step + 1) / optim.lr_warmup during the first optim.lr_warmup steps.
    """
    ramp = min(1.0, (step + 1) / cfg.lr_warmup) if cfg.lr_warmup else 1.0
    return ramp * _schedule_factor(cfg, step, total)


def _schedule_factor(cfg: OptimConfig, step: int, total: int) -> float:
    if cfg.schedule == "linear":
        start = total // 2 if cfg.decay_start is None else cfg.decay_start
        if step < start or total <= start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / (total - start))
    if cfg.schedule == "multistep":
        passed = sum(step >= int(m) for m in cfg.milestones.split(",") if m.strip())
        return cfg.gamma**passed
    return 1.0


def set_learning_rates(optimizers: dict[str, torch.optim.Optimizer], cfg: OptimConfig, step: int, total: int,
                       scale: float = 1.0) -> None:
    """Set every optimizer's learning rate to its base rate times lr_factor and ``scale`` (the guard's
    halvings after rollbacks); a no-op for a constant schedule at scale 1 without a warm-up."""
    if cfg.schedule == "constant" and not cfg.lr_warmup and scale == 1.0:
        return
    factor = lr_factor(cfg, step, total) * scale
    for opt in optimizers.values():
        for group in opt.param_groups:
            group.setdefault("initial_lr", group["lr"])
            group["lr"] = group["initial_lr"] * factor
