"""The guard against NaN and Inf: a bad update is skipped, repeated trouble rolls the run back.

Each optimizer update of a step asks the guard first (``guard.allows(network, loss=...,
grad_norm=...)``), with the loss and the gradient norm it is about to apply, as device
scalars. What the guard does with them depends on the device:

- on a CPU it reads them at once (a CPU has no queue of work to wait for, so the read
  costs nothing) and refuses an update whose loss or gradient is not finite: the weights
  and the optimizer's state stay as they were;
- on a GPU it reads nothing (a read would wait for the GPU at every step, and rule out
  CUDA graphs): it ORs "not finite" into a flag on the device, and the training loop
  looks at the flag at each log interval, where it syncs anyway. Updates are then not
  skipped; a bad interval rolls the run back instead.

The decisions look at gradient norms, which under torchrun are the norms of gradients
already averaged over the ranks: every rank sees the same numbers and decides the same.
A healthy run computes exactly the same numbers with the guard on or off: it only reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

Tensor = torch.Tensor


@dataclass
class Bad:
    """One refused update: which network, and the values that were not finite."""

    network: str
    values: dict[str, float]

    def describe(self) -> str:
        shown = ", ".join(f"{k} {v:g}" for k, v in self.values.items())
        return f"{self.network}'s update ({shown})"


@dataclass
class Guard:
    policy: str = "off"  # skip, stop or off (guard.nonfinite)
    deferred: bool = False  # a GPU: accumulate a device flag instead of reading per step
    flag: Tensor | None = None  # deferred: True once anything was not finite
    max_bad_steps: int = 5  # skip: bad steps in a row before a rollback (guard.max_bad_steps)
    max_rollbacks: int = 3  # skip: rollbacks before the run stops (guard.max_rollbacks)
    bad: list[Bad] = field(default_factory=list)  # the refused updates of the current step
    # the record, kept in checkpoints: updates skipped in all, rollbacks, the learning rates' scale
    skipped: int = 0
    rollbacks: int = 0
    lr_scale: float = 1.0
    bad_in_a_row: int = 0  # G steps in a row with a refused update
    last_bad: list[Bad] = field(default_factory=list)  # the refused updates of the last bad step

    @classmethod
    def for_device(cls, policy: str, device: torch.device, max_bad_steps: int = 5, max_rollbacks: int = 3) -> Guard:
        deferred = device.type == "cuda"
        flag = torch.zeros((), dtype=torch.bool, device=device) if deferred else None
        return cls(policy, deferred, flag, max_bad_steps, max_rollbacks)

    @property
    def active(self) -> bool:
        return self.policy != "off"

    def allows(self, network: str, **values: Tensor) -> bool:
        """Whether the update of ``network`` may go ahead, given its loss and gradient norm."""
        if not self.active:
            return True
        finite = torch.stack([torch.isfinite(v.detach().float()) for v in values.values()]).all()
        if self.deferred:
            self.flag |= ~finite
            return True
        if bool(finite):
            return True
        self.bad.append(Bad(network, {k: float(v.detach()) for k, v in values.items()}))
        return False

    def end_step(self) -> None:
        """Count the step just run: its refused updates, and whether it makes a run of bad steps."""
        if self.bad:
            self.skipped += len(self.bad)
            self.bad_in_a_row += 1
            self.last_bad, self.bad = self.bad, []
        else:
            self.bad_in_a_row = 0

    def take_flag(self) -> bool:
        """Deferred: whether anything was not finite since the last call (one host read), and reset."""
        if self.flag is None:
            return False
        seen = bool(self.flag)
        self.flag.zero_()
        return seen

    def verdict(self, deferred_flag: bool = False) -> str | None:
        """After a step (or, on a GPU, with the flag read at a log interval): None, "rollback" or "stop"."""
        if not self.active or not (self.bad_in_a_row or deferred_flag):
            return None
        if self.policy == "stop":
            return "stop"
        if deferred_flag or self.bad_in_a_row >= self.max_bad_steps:
            return "stop" if self.rollbacks >= self.max_rollbacks else "rollback"
        return None

    def rolled_back(self) -> None:
        """The run went back to its last checkpoint: one more rollback, half the learning rates."""
        self.rollbacks += 1
        self.lr_scale /= 2
        self.bad_in_a_row = 0

    def last_bad_text(self) -> str:
        """The refused updates of the last bad step, in words ("" when none)."""
        return "; ".join(b.describe() for b in self.last_bad)

    def diagnosis(self, step: int) -> str:
        """Why the guard stops the run: which network, which values, at which step, after what."""
        what = self.last_bad_text() or "a non-finite value (seen at a log interval)"
        return (f"non-finite values at step {step}: {what}; {self.skipped} update(s) skipped in all, "
                f"{self.rollbacks} rollback(s) to the last checkpoint (learning rates now x{self.lr_scale:g}). "
                "Try lower learning rates (optim.lr_d, optim.lr_g), a gradient penalty (reg.name=r1), "
                "train.precision=fp32, or a stable preset such as hinge-sn-mnist")

    def state_dict(self) -> dict[str, float]:
        return {"skipped": self.skipped, "rollbacks": self.rollbacks, "lr_scale": self.lr_scale}

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.skipped, self.rollbacks = state.get("skipped", 0), state.get("rollbacks", 0)
        self.lr_scale = state.get("lr_scale", 1.0)


OFF = Guard()  # steps built without a trainer (tests, tools) check nothing
