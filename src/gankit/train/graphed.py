"""The whole training step as one CUDA graph (train.cuda_graph).

At batch 128 the seed's DCGAN step is a few hundred small kernels (forward and
backward of G and D, losses, two Adam updates) that each run for microseconds: on
a GPU, launching them from Python costs more than running them. A CUDA graph
records the step's kernels once and replays them with one launch.

Phases of a call:
  inputs    eager: D step k's real batch (DeviceBatches) and noise (the trainer's
            generator) are drawn as in any step, then copied into the graph's
            fixed input tensors
  warm-up   the first ``warmup`` calls run the step eagerly on a side stream, so
            that cuDNN has chosen its algorithms and Adam has created its state
            before anything is recorded
  capture   the next call records the step (recording runs nothing), then replays it
  replay    every call after that: copy the inputs in, replay, copy the statistics out

Should the capture fail (an operation that a graph cannot hold), the step warns once and
runs eagerly from then on; with train.cuda_graph=true, asked for explicitly, it raises.

Every call is one real training step. Inside the graph, dropout and DiffAugment
draw from the device's default generator, which advances with each replay.
Conditions, checked by the Trainer: CUDA, one process, a GAN step with a fixed
regularization schedule (reg.every=1), optimizers created with ``capturable=True``,
and autocast without its weight cache (the cache would hold tensors of one replay).
Nothing outside the step may keep its autograd graph alive (a loss, or a clone of a
weight taken with gradients on): backward would then have to wait on another stream,
which a capture refuses.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

Tensor = torch.Tensor


class GraphedStep:
    def __init__(self, step: Callable[..., dict[str, Tensor]], n_critic: int, warmup: int = 3,
                 strict: bool = False):
        self.step = step  # a GANStep: step(batches, sample_z, d_step0) -> stats
        self.n_critic = n_critic
        self.warmup = warmup
        self.strict = strict  # asked for explicitly: a failed capture is an error, not a fallback
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.eager = False  # the capture failed: every step runs eagerly
        self.inputs: list[list[Tensor | None]] = []  # per D step: real [B, C, H, W], y [B], z [B, latent], y_fake [B]
        self.outputs: dict[str, Tensor] = {}  # the step's statistics, rewritten by each replay

    def __call__(self, batches: Callable[[int], tuple], sample_z: Callable[[int], tuple],
                 d_step0: int) -> dict[str, Tensor]:
        drawn = []
        for k in range(self.n_critic):
            real, y = batches(d_step0 + k)
            drawn.append([real, y, *sample_z(real.shape[0])])
        self.calls += 1
        if self.calls <= self.warmup:
            return self._eager_on_side_stream(drawn, d_step0)
        if self.graph is None and not self.eager:
            try:
                self._capture(drawn, d_step0)
            except RuntimeError as e:  # CUDA's capture errors included
                if self.strict:
                    raise
                self.eager, self.graph = True, None
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                warnings.warn(f"train.cuda_graph: this step could not be captured as a CUDA graph ({first}); "
                              "training goes on without it (train.cuda_graph=false skips the attempt)",
                              stacklevel=2)
        if self.eager:
            return self._run(drawn, d_step0)
        for fixed, new in zip(self.inputs, drawn):
            for f, t in zip(fixed, new):
                if f is not None:
                    f.copy_(t)
        self.graph.replay()
        return {k: v.clone() for k, v in self.outputs.items()}  # the next replay overwrites the outputs

    def _run(self, inputs: list[list[Tensor | None]], d_step0: int) -> dict[str, Tensor]:
        return self.step(lambda i: tuple(inputs[i - d_step0][:2]), _replay_noise(inputs), d_step0)

    def _eager_on_side_stream(self, inputs, d_step0: int) -> dict[str, Tensor]:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            out = self._run(inputs, d_step0)
        torch.cuda.current_stream().wait_stream(side)
        return out

    def _capture(self, drawn, d_step0: int) -> None:
        self.inputs = [[t.clone() if t is not None else None for t in ts] for ts in drawn]
        torch.cuda.synchronize()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.outputs = self._run(self.inputs, d_step0)


def _replay_noise(inputs: list[list[Tensor | None]]) -> Callable[[int], tuple]:
    """A sample_z that hands out D step k's (z, y_fake) on its k-th call."""
    calls = iter(range(len(inputs)))
    return lambda b: tuple(inputs[next(calls)][2:])
