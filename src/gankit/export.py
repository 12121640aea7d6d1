"""Export a run's generator to run outside Python's gankit: ONNX or TorchScript.

Being built.
"""

from __future__ import annotations

from pathlib import Path

FORMATS = ("onnx", "torchscript")


def export_generator(run_dir: str | Path, fmt: str, out: str | Path, checkpoint: str = "final") -> Path:
    """Write the run's sampling generator (EMA weights where present) to ``out`` in format ``fmt``."""
    raise NotImplementedError
