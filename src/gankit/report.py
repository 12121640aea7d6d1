"""The report of a run (or of several side by side): one self-contained HTML file.

Being built.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gankit import atomic


def write_report(run_dirs: Sequence[str | Path], out: str | Path | None = None) -> Path:
    """Write the report of ``run_dirs`` to ``out`` (default: RUN/report.html for one run,
    report.html in the current folder for several) and return its path."""
    paths = [Path(p) for p in run_dirs]
    out = Path(out) if out else (paths[0] / "report.html" if len(paths) == 1 else Path("report.html"))
    atomic.write_text(out, "<!doctype html><title>gankit report</title>\n")
    return out
