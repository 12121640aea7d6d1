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
    def __init__(self, generator: torch.nn.Module, config: Config, device: torch.device, step: int | None = None):
        self.generator = generator.eval().to(device)
        self.config = config
        self.device = device
        self.step = step  # G steps the weights were trained for

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.generator.out_shape)

    def sample(self, n: int, seed: int = 0, batch_size: int = 1000) -> torch.Tensor:
        """``n`` images as uint8 [n, C, H, W] on the CPU."""
        return generate(self.generator, n, seed, self.device, batch_size)


@torch.inference_mode()
def generate(G: torch.nn.Module, n: int, seed: int, device: torch.device, batch_size: int = 1000) -> torch.Tensor:
    """``n`` images from G in inference mode as uint8 [n, C, H, W] on the CPU.

    z is drawn on the CPU from ``seed`` alone, so the images do not depend on the
    device, the batch size, or any other random stream (training's included).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    was_training = G.training
    G.eval()
    z = torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(seed))
    out = [viz.to_uint8(G(chunk.to(device))).cpu() for chunk in z.split(batch_size)]
    G.train(was_training)
    return torch.cat(out)


CHECKPOINTS = ("final", "last", "best")


def load(run_dir: str | Path, device: str = "auto", checkpoint: str = "final") -> Sampler:
    """Load a run's generator.

    ``checkpoint``: "final" reads generator.safetensors, or the last checkpoint of a
    run that has not finished; "last" and "best" read checkpoints/<that>.pt.
    """
    if checkpoint not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {CHECKPOINTS}, got {checkpoint!r}")
    run = RunDir.open(run_dir)
    cfg = run.read_config()
    dev = resolve_device(device)
    if checkpoint == "final" and run.generator.is_file():
        try:
            with safetensors.safe_open(str(run.generator), "pt") as f:
                meta = f.metadata()
            shape = tuple(int(s) for s in meta["image_shape"].split(","))
            step = int(meta["step"])
            weights = safetensors.torch.load_file(str(run.generator))
        except Exception as e:
            raise CheckpointError(f"{run.generator} cannot be read ({type(e).__name__}); it is corrupt") from None
    else:
        path = run.best_checkpoint if checkpoint == "best" else run.last_checkpoint
        if not path.is_file():
            what = "no checkpoint"
            if checkpoint == "best":
                what = "no best checkpoint (evaluation during training was off)"
            raise CheckpointError(f"{run.path} holds {what}: {path} is missing")
        ckpt = state.load(path)
        shape, step, weights = tuple(ckpt["image_shape"]), ckpt["step"], ckpt["models"]["G"]
    G = build_generator(cfg.model, shape)
    try:
        G.load_state_dict(weights)
    except RuntimeError as e:
        raise CheckpointError(
            f"{run.path}: the saved generator does not match its config.yaml ({str(e).splitlines()[0]})"
        ) from None
    return Sampler(G, cfg, dev, step)
