"""The training doctor: watches a run for the failures the tutorial warns of, and names them.

Findings so far: none (being built).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from gankit.config import Config


@dataclass(frozen=True)
class Finding:
    """One diagnosis: what is wrong, seen at which step, and what gankit offers against it."""

    name: str  # a short stable identifier, e.g. "d-overpowers-g"
    step: int  # the G step it was seen at
    message: str  # what was seen, in plain words, with the numbers
    remedy: str  # a concrete gankit option to try

    def line(self) -> str:
        return f"doctor at step {self.step}: {self.message}. Try: {self.remedy}"

    def record(self) -> dict[str, Any]:
        """The metrics.jsonl line of the finding."""
        return {"step": self.step, "finding": self.name, "message": self.message, "remedy": self.remedy}


class Doctor:
    def __init__(self, cfg: Config, data: Any, device: torch.device):
        self.cfg = cfg

    def check_log(self, record: dict[str, Any]) -> list[Finding]:
        """Look at one log interval's averaged statistics (a metrics.jsonl record)."""
        return []

    def check_samples(self, step: int, samples: torch.Tensor) -> list[Finding]:
        """Look at the fixed noise batch through G: uint8 images [N, C, H, W], or float points [N, 2]."""
        return []
