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
