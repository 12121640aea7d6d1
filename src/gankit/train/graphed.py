"""The whole training step as one CUDA graph (train.cuda_graph).

At batch 128 the tutorial's DCGAN step is a few hundred small kernels (forward and
backward of G and D, losses, two Adam updates) that each run for microseconds: on
a GPU, launching them from Python costs more than running them. A CUDA graph
records the step's kernels once and replays them with one launch.

Phases of a call ``graphed(inputs)``, with the step's inputs drawn by the Trainer
as for any step:
  inputs    the inputs are copied into the graph's fixed input tensors
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

import torch

from gankit.train.interface import Step, StepInputs

Tensor = torch.Tensor


class GraphedStep:
    def __init__(self, step: Step, warmup: int = 3, strict: bool = False):
        self.step = step  # a capturable step: step(inputs) -> stats
        self.warmup = warmup
        self.strict = strict  # asked for explicitly: a failed capture is an error, not a fallback
        self.calls = 0
        self.graph: torch.cuda.CUDAGraph | None = None
        self.eager = False  # the capture failed: every step runs eagerly
        self.inputs: StepInputs | None = None  # the graph's fixed inputs, rewritten before each replay
        self.outputs: dict[str, Tensor] = {}  # the step's statistics, rewritten by each replay

    # the step's own description, so the Trainer can treat this as the step
    capturable = True
    n_batches = property(lambda self: self.step.n_batches)
    uses_noise = property(lambda self: self.step.uses_noise)
    optimizers = property(lambda self: self.step.optimizers)

    def __call__(self, inputs: StepInputs) -> dict[str, Tensor]:
        self.calls += 1
        if self.calls <= self.warmup:
            return self._eager_on_side_stream(inputs)
        if self.graph is None and not self.eager:
            try:
                self._capture(inputs)
            except RuntimeError as e:  # CUDA's capture errors included
                if self.strict:
                    raise
                self.eager, self.graph = True, None
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                warnings.warn(f"train.cuda_graph: this step could not be captured as a CUDA graph ({first}); "
                              "training goes on without it (train.cuda_graph=false skips the attempt)",
                              stacklevel=2)
        if self.eager:
            return self.step(inputs)
        self.inputs.copy_(inputs)
        self.graph.replay()
        return {k: v.clone() for k, v in self.outputs.items()}  # the next replay overwrites the outputs

    def _eager_on_side_stream(self, inputs: StepInputs) -> dict[str, Tensor]:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            out = self.step(inputs)
        torch.cuda.current_stream().wait_stream(side)
        return out

    def _capture(self, inputs: StepInputs) -> None:
        self.inputs = inputs.clone()
        torch.cuda.synchronize()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.outputs = self.step(self.inputs)
