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
    bad: list[Bad] = field(default_factory=list)  # the refused updates of the current step

    @classmethod
    def for_device(cls, policy: str, device: torch.device) -> Guard:
        deferred = device.type == "cuda"
        return cls(policy, deferred, torch.zeros((), dtype=torch.bool, device=device) if deferred else None)

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

    def take(self) -> list[Bad]:
        """The updates refused since the last call (one step's), forgetting them."""
        bad, self.bad = self.bad, []
        return bad

    def take_flag(self) -> bool:
        """Deferred: whether anything was not finite since the last call (one host read), and reset."""
        if self.flag is None:
            return False
        seen = bool(self.flag)
        self.flag.zero_()
        return seen


OFF = Guard()  # steps built without a trainer (tests, tools) check nothing
