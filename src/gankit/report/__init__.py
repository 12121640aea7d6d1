"""The report of a run, or of several side by side: one self-contained HTML file.

    gankit report RUN [RUN ...] [--out FILE]

The page shows what a run made (final samples, and the epoch pictures behind a
slider), how it trained (losses, D outputs, evaluations during training, the
training doctor's findings), how good it is (evaluation.json, with its protocol
and truncation sweep) and its config. With several runs a comparison comes first:
the config keys that differ, the final metrics and the final samples side by side.

Pictures are embedded as data: URIs and the style and script are inline, so the
file needs nothing beside it and no network. Training writes RUN/report.html at
the end of every run, so the report takes a second or so:

- :mod:`~gankit.report.contents` reads a run folder (missing parts become notes);
- :mod:`~gankit.report.figures` draws the plots and encodes pictures;
- :mod:`~gankit.report.sections` and :mod:`~gankit.report.page` write the HTML.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path

from gankit import atomic
from gankit.report.contents import RunContents, read_run
from gankit.report.page import document
from gankit.report.sections import comparison_section, run_header, run_sections

__all__ = ["write_report"]


def write_report(run_dirs: Sequence[str | Path], out: str | Path | None = None) -> Path:
    """Write the report of ``run_dirs`` to ``out`` (default: RUN/report.html for one run,
    report.html in the current folder for several) and return its path.

    A path that is not a run folder is a CheckpointError; anything a run lacks is
    said in its place on the page.
    """
    paths = [Path(p) for p in run_dirs]
    if not paths:
        raise ValueError("write_report needs at least one run folder")
    runs = [read_run(p) for p in paths]
    out = Path(out) if out else (paths[0] / "report.html" if len(paths) == 1 else Path("report.html"))
    atomic.write_text(out, render(runs))
    return out


def render(runs: Sequence[RunContents]) -> str:
    """The page of one run, or of several: a comparison, then each run's own sections."""
    generated = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    if len(runs) == 1:
        name = runs[0].config.get("name", runs[0].label)
        return document(f"gankit report: {name}", run_header(runs[0], "run-1", name) + run_sections(runs[0], "run-1"),
                        generated)
    body = f'<header class="top"><h1>{len(runs)} runs compared</h1></header>' + comparison_section(runs)
    for i, c in enumerate(runs, 1):
        body += run_header(c, f"run-{i}", c.label) + run_sections(c, f"run-{i}")
    return document(f"gankit report: {len(runs)} runs", body, generated)
