"""What a user sees and keeps of a run while it trains.

Per-step statistics stay on the device and are summed there; every ``log.every``
steps they are read back in one host sync, averaged, and written to
metrics.jsonl, TensorBoard, and the screen: a progress bar with losses,
throughput and ETA on a terminal, or plain log lines otherwise.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from gankit.run import RunDir
from gankit.train import distributed


class Monitor:
    """Under torchrun every rank keeps its sums; at log time they are averaged over the
    ranks (one collective) and rank 0 alone writes and shows them."""

    def __init__(self, run: RunDir, total_steps: int, start_step: int, batch_size: int,
                 steps_per_epoch: int, every: int, tensorboard: bool, show: bool = True,
                 dist: distributed.Dist = distributed.SINGLE, budget_left: Callable[[], float | None] | None = None):
        self.run, self.total, self.every = run, total_steps, every
        self.budget_left = budget_left  # seconds of train.max_minutes left (None: no budget): the ETA is the sooner
        self.batch_size, self.steps_per_epoch = batch_size * dist.world_size, steps_per_epoch  # global batch
        self.dist = dist
        self.write = dist.main  # files: rank 0 only
        self.show = show and dist.main  # screen output: rank 0 only, and not when asked to be quiet
        self._sums: dict[str, torch.Tensor] = {}
        self._count = 0
        self._t0 = time.perf_counter()
        self.tty = sys.stderr.isatty()
        self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True,
                        disable=not (self.show and self.tty), file=sys.stderr)
        self.writer = None
        if tensorboard and self.write:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step drops events a crashed run logged after its last checkpoint
            self.writer = SummaryWriter(str(run.tensorboard), purge_step=start_step or None)

    def update(self, step: int, stats: dict[str, torch.Tensor]) -> dict[str, Any] | None:
        """Record the stats of G step ``step`` (1-based count of steps done); at log intervals
        return the averaged record just written (on every rank), else None."""
        for k, v in stats.items():
            self._sums[k] = self._sums[k] + v if k in self._sums else v.detach().clone()
        self._count += 1
        self.bar.update(1)
        if step % self.every == 0 or step == self.total:
            return self.flush(step)
        return None

    def flush(self, step: int) -> dict[str, Any] | None:
        if not self._count:
            return None
        sums = distributed.mean_stats(self._sums, self.dist)
        keys = list(sums)
        values = torch.stack([sums[k].float() for k in keys]).div(self._count).tolist()  # one sync
        now = time.perf_counter()
        record: dict[str, Any] = {"step": step, "epoch": step / self.steps_per_epoch}
        record.update({k: round(v, 6) for k, v in zip(keys, values)})
        record["images_per_s"] = round(self._count * self.batch_size / (now - self._t0), 1)
        self._sums, self._count, self._t0 = {}, 0, now
        if self.write:
            self._emit(record)
        return record

    def _emit(self, record: dict[str, Any]) -> None:
        self.run.append_metrics(record)
        step = record["step"]
        if self.writer:
            for k, v in record.items():
                if k != "step":
                    self.writer.add_scalar(f"train/{k}", v, step)
        short = {"loss_d": "D", "loss_g": "G", "d_real": "D(x)", "d_fake": "D(G(z))", "score_real": "D(x)",
                 "score_fake": "D(G(z))", "penalty": "pen", "loss": "loss", "recon": "rec", "kl": "KL"}
        parts = [f"{short[k]} {record[k]:.3f}" for k in short if k in record]
        if not self.show:
            return
        if self.tty:
            self.bar.set_postfix_str(", ".join(parts) + f", {record['images_per_s']:.0f} img/s")
        else:
            left = (self.total - step) * self.batch_size / max(record["images_per_s"], 1e-9)
            budget = self.budget_left() if self.budget_left else None
            if budget is not None:
                left = max(0.0, min(left, budget))
            print(f"step {step}/{self.total} epoch {record['epoch']:.2f} " + " ".join(parts)
                  + f" {record['images_per_s']:.0f} img/s eta {_hms(left)}", flush=True)

    def evaluation(self, step: int, values: dict[str, float]) -> None:
        """Record an evaluation's numbers (metrics.jsonl lines without loss_d are evaluations)."""
        self.run.append_metrics({"step": step, "epoch": step / self.steps_per_epoch, **values})
        if self.writer:
            for k, v in values.items():
                self.writer.add_scalar(f"eval/{k}", v, step)
        shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items() if not k.endswith("_std"))
        self.note(f"eval at step {step}: {shown}")

    def finding(self, finding: Any) -> None:
        """A training doctor's finding: on screen, in metrics.jsonl and TensorBoard (rank 0 writes)."""
        if not self.write:
            return
        self.run.append_metrics({**finding.record(), "epoch": finding.step / self.steps_per_epoch})
        if self.writer:
            self.writer.add_text("doctor", finding.line(), finding.step)
        self.note(finding.line())

    def image(self, tag: str, picture: np.ndarray, step: int) -> None:
        """A uint8 picture [H, W, C] to TensorBoard."""
        if self.writer:
            self.writer.add_image(tag, picture, step, dataformats="HWC")

    def note(self, text: str) -> None:
        if self.show:
            (self.bar.write if self.tty else print)(text)

    def close(self) -> None:
        self.bar.close()
        if self.writer:
            self.writer.close()


def _hms(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"
