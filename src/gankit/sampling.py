"""Sampling from a trained run: the Python API behind ``gankit sample``.

    >>> import gankit
    >>> g = gankit.load("runs/20261127-120000-dcgan-mnist")
    >>> images = g.sample(16, seed=0)       # uint8 [16, 1, 28, 28]
    >>> sevens = g.sample(16, labels=7)     # a class-conditional run: class 7 only

The same seed gives the same images on every device: the noise (and the labels
of a conditional model, when not given) is drawn on the CPU and moved to the
device. Models of 2-D data return float points [n, 2] instead of images.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gankit import viz
from gankit.config import Config
from gankit.device import resolve_device
from gankit.errors import CheckpointError
from gankit.models import build_generator
from gankit.run import RunDir
from gankit.run import generator as run_generator


class Sampler:
    def __init__(self, generator: torch.nn.Module, config: Config, device: torch.device, step: int | None = None):
        self.generator = generator.eval().to(device)
        self.config = config
        self.device = device
        self.step = step  # G steps the weights were trained for

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.generator.out_shape)

    @property
    def num_classes(self) -> int:
        return getattr(self.generator, "num_classes", 0)

    def sample(self, n: int, seed: int = 0, labels: int | torch.Tensor | None = None,
               batch_size: int = 1000) -> torch.Tensor:
        """``n`` images as uint8 [n, C, H, W] (points: float [n, 2]) on the CPU.

        ``labels``: for a class-conditional model, one class for all or a tensor
        of n classes; None draws them uniformly from ``seed``.
        """
        return generate(self.generator, n, seed, self.device, batch_size, labels)


@torch.inference_mode()
def generate(G: torch.nn.Module, n: int, seed: int, device: torch.device, batch_size: int = 1000,
             labels: int | torch.Tensor | None = None) -> torch.Tensor:
    """``n`` samples from G in inference mode, on the CPU: uint8 images, or float points.

    z (and the labels, when not given) are drawn on the CPU from ``seed`` alone, so
    the samples do not depend on the device, the batch size, or any other random
    stream (training's included).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    k = getattr(G, "num_classes", 0)
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.latent_dim, generator=g)
    y = None
    if k:
        if labels is None:
            y = torch.randint(k, (n,), generator=g)
        else:
            given = torch.as_tensor(labels, dtype=torch.long)
            y = given.expand(n).clone() if given.dim() == 0 else given
            if len(y) != n or y.min() < 0 or y.max() >= k:
                raise ValueError(f"labels must be {n} classes in 0..{k - 1}")
    elif labels is not None:
        raise ValueError("this generator is not class-conditional: it takes no labels")
    points = len(G.out_shape) == 1
    was_training = G.training
    G.eval()
    out = []
    for i in range(0, n, batch_size):
        x = G(z[i : i + batch_size].to(device), None if y is None else y[i : i + batch_size].to(device))
        out.append(x.float().cpu() if points else viz.to_uint8(x).cpu())
    G.train(was_training)
    return torch.cat(out)


def load(run_dir: str | Path, device: str = "auto", checkpoint: str = "final") -> Sampler:
    """Load a run's generator.

    ``checkpoint``: "final" reads generator.safetensors, or the last checkpoint of a
    run that has not finished; "last" and "best" read checkpoints/<that>.pt.
    """
    saved = run_generator.read(RunDir.open(run_dir), checkpoint)
    dev = resolve_device(device)
    G = build_generator(saved.config.model, saved.shape, saved.num_classes)
    try:
        G.load_state_dict(saved.weights)
    except RuntimeError as e:
        raise CheckpointError(
            f"{run_dir}: the saved generator does not match its config.yaml ({str(e).splitlines()[0]})"
        ) from None
    return Sampler(G, saved.config, dev, saved.step)
