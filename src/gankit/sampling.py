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
from gankit.errors import CheckpointError, ConfigError
from gankit.run import RunDir
from gankit.run import generator as run_generator
from gankit.translate import Translator


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
               batch_size: int = 1000, truncation: float | None = None) -> torch.Tensor:
        """``n`` images as uint8 [n, C, H, W] (points: float [n, 2]) on the CPU.

        ``labels``: for a class-conditional model, one class for all or a tensor
        of n classes; None draws them uniformly from ``seed``. ``truncation``: draw z
        from the normal truncated at +-psi (see :func:`draw_latents`).
        """
        return generate(self.generator, n, seed, self.device, batch_size, labels, truncation)

    def interpolate(self, pairs: int, steps: int, seed: int = 0, labels: int | None = None) -> torch.Tensor:
        """Walks through latent space: uint8 [pairs, steps, C, H, W].

        Each walk goes from one latent to another along the great circle between them
        (spherical interpolation, :func:`slerp`), so every point of the walk is as
        likely under N(0, I) as its ends. A conditional model keeps one class along a
        walk: ``labels``, else one drawn from ``seed`` per walk.
        """
        if pairs < 1 or steps < 2:
            raise ValueError(f"an interpolation needs pairs >= 1 and steps >= 2, got {pairs} and {steps}")
        if len(self.shape) != 3:
            raise ConfigError("interpolation draws image grids; this run's generator makes 2-D points")
        g = torch.Generator().manual_seed(seed)
        ends = torch.randn(2, pairs, self.generator.latent_dim, generator=g)  # [2, pairs, latent]
        t = torch.linspace(0, 1, steps)
        z = torch.stack([slerp(ends[0], ends[1], ti) for ti in t], dim=1).flatten(0, 1)  # [pairs*steps, latent]
        y = _walk_labels(self.num_classes, pairs, steps, labels, g)
        images = _run(self.generator, z, y, self.device, batch_size=1000)
        return images.view(pairs, steps, *images.shape[1:])


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latents a and b [..., latent] at t in [0, 1] (Shoemake 1985):
    along the great circle, at a norm interpolated linearly; linear where a and b are parallel."""
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    cos = ((a / na) * (b / nb)).sum(-1, keepdim=True).clamp(-1, 1)
    omega = torch.acos(cos)
    so = torch.sin(omega)
    t = torch.as_tensor(t, dtype=a.dtype)
    linear = (1 - t) * a + t * b
    direction = (torch.sin((1 - t) * omega) * a / na + torch.sin(t * omega) * b / nb) / so.clamp_min(1e-7)
    spherical = direction * ((1 - t) * na + t * nb)
    return torch.where(so > 1e-6, spherical, linear)


def draw_latents(n: int, latent_dim: int, g: torch.Generator, truncation: float | None = None) -> torch.Tensor:
    """z [n, latent_dim] ~ N(0, I), drawn from ``g``; with ``truncation`` psi > 0, every value beyond
    +-psi is drawn again until it falls inside (the truncation trick of BigGAN, Brock et al. 2019):
    samples move towards the mode, trading variety (recall) for fidelity (precision)."""
    z = torch.randn(n, latent_dim, generator=g)
    if truncation is None:
        return z
    if not truncation > 0:
        raise ConfigError(f"truncation must be > 0, got {truncation}")
    while (outside := z.abs() > truncation).any():
        z[outside] = torch.randn(int(outside.sum()), generator=g)
    return z


@torch.inference_mode()
def generate(G: torch.nn.Module, n: int, seed: int, device: torch.device, batch_size: int = 1000,
             labels: int | torch.Tensor | None = None, truncation: float | None = None) -> torch.Tensor:
    """``n`` samples from G in inference mode, on the CPU: uint8 images, or float points.

    z (and the labels, when not given) are drawn on the CPU from ``seed`` alone, so
    the samples do not depend on the device, the batch size, or any other random
    stream (training's included).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    k = getattr(G, "num_classes", 0)
    g = torch.Generator().manual_seed(seed)
    z = draw_latents(n, G.latent_dim, g, truncation)
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
    return _run(G, z, y, device, batch_size)


@torch.inference_mode()
def _run(G: torch.nn.Module, z: torch.Tensor, y: torch.Tensor | None, device: torch.device,
         batch_size: int) -> torch.Tensor:
    """G on z [n, latent] (and labels [n]) in eval mode, in batches: uint8 images or float points, on the CPU."""
    points = len(G.out_shape) == 1
    was_training = G.training
    G.eval()
    out = []
    for i in range(0, len(z), batch_size):
        x = G(z[i : i + batch_size].to(device), None if y is None else y[i : i + batch_size].to(device))
        out.append(x.float().cpu() if points else viz.to_uint8(x).cpu())
    G.train(was_training)
    return torch.cat(out)


def _walk_labels(k: int, pairs: int, steps: int, labels: int | None, g: torch.Generator) -> torch.Tensor | None:
    """One class per walk, repeated along it: [pairs * steps], or None for unconditional models."""
    if not k:
        if labels is not None:
            raise ValueError("this generator is not class-conditional: it takes no labels")
        return None
    if labels is not None and not 0 <= labels < k:
        raise ValueError(f"the class must be in 0..{k - 1}, got {labels}")
    per_walk = torch.full((pairs,), labels) if labels is not None else torch.randint(k, (pairs,), generator=g)
    return per_walk.repeat_interleave(steps)


def load(run_dir: str | Path, device: str = "auto", checkpoint: str = "final") -> Sampler | Translator:
    """Load a run's generator: a Sampler, or for translation and enhancement runs a Translator.

    ``checkpoint``: "final" reads generator.safetensors, or the last checkpoint of a
    run that has not finished; "last" and "best" read checkpoints/<that>.pt.
    """
    saved = run_generator.read(RunDir.open(run_dir), checkpoint)
    dev = resolve_device(device)
    cfg = saved.config
    G = run_generator.build_network(saved)
    try:
        G.load_state_dict(saved.weights)
    except RuntimeError as e:
        raise CheckpointError(
            f"{run_dir}: the saved generator does not match its config.yaml ({str(e).splitlines()[0]})"
        ) from None
    if saved.translation:
        return Translator(G, cfg, dev, saved.step, saved.source_shape, saved.shape)
    return Sampler(G, cfg, dev, saved.step)
