"""Data-parallel training on torch.distributed, as launched by torchrun.

    torchrun --nproc-per-node 4 -m gankit train --preset dcgan-mnist ...
    torchrun --nnodes 2 --node-rank R --nproc-per-node 8 --rdzv-backend c10d \
             --rdzv-endpoint HOST:29500 -m gankit train ...

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; :func:`init` then joins the
process group (NCCL on GPUs, gloo on CPUs) and each rank trains its own replica
of G and D under DistributedDataParallel, which averages their gradients:

- data: every rank walks the same per-epoch permutation and takes its own slice
  of each global batch (``train.batch_size`` is per rank; the global batch is
  batch_size x world size);
- noise: every rank draws the whole global batch of z from one shared stream and
  keeps its slice, so the ranks' noise differs and the union is what one process
  with the global batch would draw; dropout, DiffAugment and penalties use
  per-rank streams;
- BatchNorm: per-rank statistics by default; ``train.sync_bn`` normalises with
  the statistics of the global batch (``torch.nn.SyncBatchNorm`` on GPUs,
  :class:`DistBatchNorm` on CPUs, where torch's has no kernel);
- rank 0 alone writes logs, pictures, evaluations and checkpoints; checkpoints
  keep every rank's RNG state and step state (a cycle run's pools of past fakes,
  which differ by rank), so a run resumes exactly with the same world size.
"""

from __future__ import annotations

import datetime
import logging
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

import torch
import torch.distributed as dist
from torch import nn

from gankit.errors import ConfigError


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


SINGLE = Dist()


def init(device_name: str = "auto", timeout_s: float = 300.0) -> Dist:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1), else a single process.

    Every wait on the other processes (the rendezvous, each collective) gives up after
    ``timeout_s`` seconds (train.dist_timeout) with an error, so a run whose peer died
    never hangs.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return SINGLE
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    if not dist.is_initialized():
        if cuda:
            torch.cuda.set_device(local)
        timeout = datetime.timedelta(seconds=timeout_s)
        store, _, _ = next(dist.rendezvous("env://", rank=rank, world_size=world, timeout=timeout))
        # torchrun's store outlives a restart of the workers: without a prefix of their own the
        # restarted processes would read the dead ones' addresses and wait on them until the timeout.
        attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        store = dist.PrefixStore(f"gankit/attempt-{attempt}/", store)
        dist.init_process_group("nccl" if cuda else "gloo", store=store, rank=rank, world_size=world,
                                timeout=timeout)
    return Dist(rank, world, local)


def launched() -> bool:
    """Whether this process is one of several torchrun started (WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def leave(code: int) -> NoReturn:
    """End a torchrun worker with ``code`` once its run is over: output flushed, no interpreter shutdown.

    Once torch._dynamo is imported (DistributedDataParallel imports it), the gloo group's
    threads (its connection loop and workers) outlive ``destroy_process_group``: the group
    is never freed. A worker finalising its interpreter beside those threads could abort
    ("terminate called without an active exception", SIGABRT) after its run had ended well,
    and torchrun then reported a finished run as failed. ``os._exit`` skips the shutdown
    where that happens. Nothing is lost: by then the run's files are closed and every rank
    has passed the last barrier and left the group.
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


def device_for(d: Dist, device_name: str) -> str:
    """Each rank's device: its own GPU (by LOCAL_RANK) when on CUDA."""
    if d.active and device_name in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{d.local_rank}"
    if d.active and device_name.startswith("cuda:"):
        raise ConfigError("under torchrun each rank takes the GPU of its LOCAL_RANK: use --device auto or cuda")
    return device_name


def any_rank(flag: bool, d: Dist) -> bool:
    """True when ``flag`` is true on any rank (every rank must call this together)."""
    if not d.active:
        return flag
    t = torch.tensor([float(flag)], device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def broadcast(obj: Any, d: Dist) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not d.active:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(obj: Any, d: Dist) -> list[Any]:
    """Every rank's ``obj``, in rank order, on every rank."""
    if not d.active:
        return [obj]
    out: list[Any] = [None] * d.world_size
    dist.all_gather_object(out, obj)
    return out


def average_gradients(params: Iterable[nn.Parameter], world_size: int) -> None:
    """Average the gradients of ``params`` over every rank (in place, one collective), as DDP's
    hooks do for a network called once per backward. A step that calls its networks' parts
    several times a backward (the cycle step: G.ab on a and on G.ba(b), and the identities)
    calls this between backward and the optimizer step instead. Every rank must call it with
    the same parameters having gradients."""
    if world_size <= 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])  # [sum of sizes], one message
    dist.all_reduce(flat)
    flat /= world_size
    for g, part in zip(grads, flat.split([g.numel() for g in grads])):
        g.copy_(part.view_as(g))


def mean_stats(stats: dict[str, torch.Tensor], d: Dist) -> dict[str, torch.Tensor]:
    """Average logged statistics over the ranks (at log time only: one collective)."""
    if not d.active or not stats:
        return stats
    keys = sorted(stats)
    t = torch.stack([stats[k].float() for k in keys])
    dist.all_reduce(t)
    return dict(zip(keys, t / d.world_size))


def _comm_device() -> torch.device:
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


# ---------------------------------------------------------------------------
# BatchNorm over the global batch, for CPUs
# ---------------------------------------------------------------------------


class _GlobalNormalize(torch.autograd.Function):
    """x -> (x - mean) / sqrt(var + eps) with the mean and variance of every rank's batch.

    Backward, with g = dL/dxhat: dL/dx = invstd * (g - mean(g) - xhat * mean(g * xhat)),
    the means again over every rank's batch (as torch.nn.SyncBatchNorm; DDP then
    averages the parameter gradients over the ranks).
    """

    @staticmethod
    def forward(ctx, x, eps):
        dims = [0, *range(2, x.dim())]  # all but the channel axis
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype)
        sums = torch.cat([x.sum(dims), (x * x).sum(dims), count])
        dist.all_reduce(sums)
        c = x.shape[1]
        n = sums[-1]
        mean = sums[:c] / n
        var = (sums[c : 2 * c] / n - mean * mean).clamp_min(0)
        shape = [1, c] + [1] * (x.dim() - 2)
        invstd = (var + eps).rsqrt()
        xhat = (x - mean.view(shape)) * invstd.view(shape)
        ctx.save_for_backward(xhat, invstd)
        ctx.n, ctx.dims, ctx.shape = n, dims, shape
        return xhat, mean, var * n / (n - 1).clamp_min(1)  # unbiased variance for the running estimate

    @staticmethod
    def backward(ctx, g, _mean, _var):
        xhat, invstd = ctx.saved_tensors
        c = xhat.shape[1]
        sums = torch.cat([g.sum(ctx.dims), (g * xhat).sum(ctx.dims)])
        dist.all_reduce(sums)
        mean_g = (sums[:c] / ctx.n).view(ctx.shape)
        mean_gx = (sums[c:] / ctx.n).view(ctx.shape)
        return invstd.view(ctx.shape) * (g - mean_g - xhat * mean_gx), None


class DistBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm over the global batch on any backend (gloo included); the same
    parameters and buffers as nn.BatchNorm1d/2d, so checkpoints move freely."""

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input, got {x.dim()}-D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        xhat, mean, var = _GlobalNormalize.apply(x, self.eps)
        with torch.no_grad():
            self.num_batches_tracked += 1
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(var.detach(), self.momentum)
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
        return xhat * self.weight.view(shape) + self.bias.view(shape) if self.affine else xhat


def sync_batchnorm(module: nn.Module, cuda: bool) -> nn.Module:
    """Replace every BatchNorm of ``module`` with its global-batch version."""
    if cuda:
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if type(child) in (nn.BatchNorm1d, nn.BatchNorm2d):
            new = DistBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                child.track_running_stats)
            new.load_state_dict(child.state_dict())
            setattr(module, name, new)
        else:
            sync_batchnorm(child, cuda)
    return module
