"""Sampling from a trained run: the Python API behind ``gankit sample``.

    >>> import gankit
    >>> g = gankit.load("runs/20261127-120000-dcgan-mnist")
    >>> images = g.sample(16, seed=0)       # uint8 [16, 1, 28, 28]

The same seed gives the same images on every device: the noise is drawn on the
CPU and moved to the device.
"""

from __future__ import annotations

from pathlib import Path

import safetensors
import safetensors.torch
import torch

from gankit import viz
from gankit.config import Config
from gankit.device import resolve_device
from gankit.errors import CheckpointError
from gankit.models import build_generator
from gankit.train import state
from gankit.train.run_dir import RunDir


class Sampler:
    def __init__(self, generator: torch.nn.Module, config: Config, device: torch.device):
        self.generator = generator.eval().to(device)
        self.config = config
        self.device = device

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.generator.out_shape)

    @torch.inference_mode()
    def sample(self, n: int, seed: int = 0, batch_size: int = 1000) -> torch.Tensor:
        """``n`` images as uint8 [n, C, H, W] on the CPU."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.generator.latent_dim, generator=g)
        out = [viz.to_uint8(self.generator(chunk.to(self.device))).cpu() for chunk in z.split(batch_size)]
        return torch.cat(out)


def load(run_dir: str | Path, device: str = "auto") -> Sampler:
    """Load a run's generator: generator.safetensors if the run finished, else its last checkpoint."""
    run = RunDir.open(run_dir)
    cfg = run.read_config()
    dev = resolve_device(device)
    if run.generator.is_file():
        try:
            with safetensors.safe_open(str(run.generator), "pt") as f:
                shape = tuple(int(s) for s in f.metadata()["image_shape"].split(","))
            weights = safetensors.torch.load_file(str(run.generator))
        except Exception as e:
            raise CheckpointError(f"{run.generator} cannot be read ({type(e).__name__}); it is corrupt") from None
    elif run.last_checkpoint.is_file():
        ckpt = state.load(run.last_checkpoint)
        shape, weights = tuple(ckpt["image_shape"]), ckpt["models"]["G"]
    else:
        raise CheckpointError(f"{run.path} holds no generator yet (no generator.safetensors, no checkpoint)")
    G = build_generator(cfg.model, shape)
    try:
        G.load_state_dict(weights)
    except RuntimeError as e:
        raise CheckpointError(f"{run.path}: the saved generator does not match its config.yaml ({str(e).splitlines()[0]})") from None
    return Sampler(G, cfg, dev)
