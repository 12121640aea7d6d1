"""The measured table of docs/results.md: every MNIST and Fashion-MNIST preset and
the VAE under one CPU budget, the toy presets, and Stacked MNIST.

    python tools/results.py --minutes 3 --seeds 0 1 \
        --out docs/results.md --images docs/images/results

Each image preset trains for ``--minutes`` of training steps (train.max_minutes,
the same CPU budget for all, evaluation excluded) on the MNIST test split (the
train split is not available offline) or the Fashion-MNIST train split, then is
scored with the default protocol (10,000 samples against 10,000 test images,
the dataset's evaluator). The toy presets run their own step counts and are
scored on 2,500 samples as VEEGAN and PacGAN do; Stacked MNIST on 26,000.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gankit
from gankit import config as C
from gankit import presets, viz
from gankit.metrics.protocol import Reference, evaluate, parse_metrics
from gankit.run import RunDir
from gankit.sampling import Sampler
from gankit.train.loop import train

IMAGE_PRESETS = ["dcgan-mnist", "wgan-mnist", "wgan-gp-mnist", "lsgan-mnist", "hinge-sn-mnist", "dragan-mnist",
                 "acgan-mnist", "cgan-projection-mnist", "vae-mnist", "dcgan-fashion"]
TOY_PRESETS = ["gan-toy-ring", "gan-toy-grid", "pacgan-toy-grid"]
STACKED = "dcgan-stacked-mnist"
IMAGE_COLUMNS = ["fid", "precision", "recall", "density", "coverage", "classes_covered", "kl_to_uniform"]


def configure(name: str, seed: int, data_root: str | None, minutes: float | None) -> C.Config:
    sets = {"train.seed": seed, "log.tensorboard": False, "eval.every": None}
    if presets.config(name).data.dataset in ("mnist", "stacked-mnist"):
        sets.update({"data.root": data_root, "data.split": "test"})
    if minutes and name not in TOY_PRESETS:
        sets["train.max_minutes"] = minutes
    return presets.config(name, sets)


def score(sampler: Sampler, cfg: C.Config, name: str) -> dict:
    if name in TOY_PRESETS:
        metrics, n = ["toy-modes"], 2500
    elif name == STACKED:
        metrics, n = ["stacked-modes"], 26_000
    else:
        metrics, n = parse_metrics(cfg.eval.metrics), 10_000
    ref = Reference.for_run(cfg, split="test", n=n if name != STACKED else 10_000)
    result = evaluate(sampler.sample, ref, n=n, metrics=metrics)
    return {**result["metrics"], "steps": sampler.step}


def cell(values: list[float]) -> str:
    if isinstance(values[0], int) and len(set(values)) == 1:
        return str(values[0])
    m = statistics.mean(values)
    whole = all(isinstance(v, int) for v in values)  # counts: steps, modes, classes
    fmt = (lambda v: f"{v:.1f}") if whole or abs(m) >= 10 else (lambda v: f"{v:.3f}")
    return fmt(m) + (f" ± {fmt((max(values) - min(values)) / 2)}" if len(values) > 1 else "")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", help="folder with the MNIST test split")
    p.add_argument("--minutes", type=float, default=3.0, help="training budget of each image preset")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--presets", nargs="*", default=IMAGE_PRESETS + TOY_PRESETS + [STACKED])
    p.add_argument("--out", default="docs/results.md")
    p.add_argument("--images", default="docs/images/results")
    p.add_argument("--runs", default=None, help="keep the runs here (default: a temporary folder)")
    p.add_argument("--json", default=None, help="also write the raw numbers")
    p.add_argument("--from-json", default=None, metavar="FILE",
                   help="train nothing: render --out from the raw numbers a previous --json wrote")
    args = p.parse_args()
    if args.from_json:
        raw = json.loads(Path(args.from_json).read_text())
        meta = raw.pop("_meta", {"minutes": args.minutes, "seeds": args.seeds, "command": command_line(args)})
        Path(args.out).write_text(render(raw, **meta))
        return

    runs_root = Path(args.runs or tempfile.mkdtemp(prefix="gankit-results-"))
    Path(args.images).mkdir(parents=True, exist_ok=True)
    raw: dict[str, list[dict]] = {}
    for name in args.presets:
        for seed in args.seeds:
            cfg = configure(name, seed, args.data_root, args.minutes)
            run = RunDir.create(runs_root / f"{name}-seed{seed}", name)
            t0 = time.perf_counter()
            train(cfg, run, verbose=False)
            sampler = gankit.load(run.path)
            values = score(sampler, cfg, name)
            values["wall_s"] = round(time.perf_counter() - t0, 1)
            raw.setdefault(name, []).append(values)
            print(name, seed, json.dumps(values), file=sys.stderr, flush=True)
            if seed == args.seeds[0]:
                save_picture(sampler, name, Path(args.images))
    meta = {"minutes": args.minutes, "seeds": args.seeds, "command": command_line(args)}
    if args.json:
        Path(args.json).write_text(json.dumps({**raw, "_meta": meta}, indent=1))
    Path(args.out).write_text(render(raw, **meta))


def command_line(args: argparse.Namespace) -> str:
    """The command that trains and renders this table (what docs/results.md shows)."""
    root = f" --data-root {args.data_root}" if args.data_root else ""
    return (f"python tools/results.py{root} --minutes {args.minutes:g} --seeds {' '.join(map(str, args.seeds))} "
            f"--out {args.out} --images {args.images}")


def save_picture(sampler: Sampler, name: str, folder: Path) -> None:
    if name in TOY_PRESETS:
        viz.save_scatter(sampler.sample(2500, seed=0), folder / f"{name}.png",
                         None, title=name)
    elif sampler.num_classes and sampler.num_classes <= 10:
        import torch

        labels = torch.arange(sampler.num_classes).repeat_interleave(8)
        viz.save_grid(sampler.sample(len(labels), seed=0, labels=labels), folder / f"{name}.png", nrow=8)
    else:
        viz.save_grid(sampler.sample(64, seed=0), folder / f"{name}.png", nrow=8)


def render(raw: dict[str, list[dict]], minutes: float, seeds: list[int], command: str) -> str:
    intro = RESULTS_INTRO.format(minutes=f"{minutes:g}", seeds=", ".join(map(str, seeds)))
    lines = ["# Measured results", "", intro, "",
             "| preset | G steps | " + " | ".join(IMAGE_COLUMNS) + " |",
             "| --- | --- |" + " --- |" * len(IMAGE_COLUMNS)]
    for name, rows in raw.items():
        if name in TOY_PRESETS or name == STACKED:
            continue
        cells = [cell([r["steps"] for r in rows])] + [cell([r[c] for r in rows]) for c in IMAGE_COLUMNS]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    lines += ["", "## 2-D toy data", "",
              "Scored on 2,500 samples, as VEEGAN and PacGAN do; a sample is of high quality",
              "within 3 standard deviations of a mode.", "",
              "| preset | G steps | modes captured | high-quality samples | published |",
              "| --- | --- | --- | --- | --- |"]
    published = {"gan-toy-ring": "GAN 1 of 8 (VEEGAN Table 1); PacGAN2 7.9 of 8, 95.6% (PacGAN Table 1)",
                 "gan-toy-grid": "PacGAN2 23.8 of 25 (PacGAN Table 1)",
                 "pacgan-toy-grid": "PacGAN2 23.8 of 25 (PacGAN Table 1)"}
    for name in TOY_PRESETS:
        if name in raw:
            rows = raw[name]
            cells = [cell([r[c] for r in rows]) for c in ("steps", "modes_captured", "high_quality")]
            lines.append(f"| `{name}` | " + " | ".join(cells) + f" | {published[name]} |")
    if STACKED in raw:
        rows = raw[STACKED]
        lines += ["", "## Stacked MNIST (1,000 modes)", "", "Scored on 26,000 samples, each channel's digit read by "
                  "the MNIST evaluator.", "", "| preset | G steps | modes of 1000 | KL | published |",
                  "| --- | --- | --- | --- | --- |",
                  f"| `{STACKED}` | {cell([r['steps'] for r in rows])} | {cell([r['modes_covered'] for r in rows])} | "
                  f"{cell([r['kl_to_uniform'] for r in rows])} | DCGAN 99 / 3.4 (VEEGAN Table 2); "
                  "PacDCGAN 1000 / 0.06 (PacGAN Table 2) |"]
    lines += ["", "## Samples", ""]
    lines += [f"**{name}**\n\n![{name}](images/results/{name}.png)\n" for name in raw]
    lines += ["", "Made with:", "", "```bash", command, "```", ""]
    return "\n".join(lines)


RESULTS_INTRO = """Every MNIST and Fashion-MNIST preset and the VAE baseline, trained with the same CPU budget:
{minutes} minutes of training steps each (evaluation excluded) on 2 CPU cores, MNIST on its
10,000-image test split (its train split is not available offline), Fashion-MNIST on its train
split; seeds {seeds}, shown as mean ± half the range. Each is scored with the default protocol of
[docs/metrics.md](metrics.md): 10,000 samples against the 10,000 test images in the dataset
evaluator's features (conditional models sample uniformly random labels).

A budget of minutes is a few hundred G steps (the "G steps" column; a preset with
n_critic 5 takes fewer): the table ranks how far each setup gets on a small CPU budget, not
where it converges. Stacked MNIST has the same budget; the toy presets run their own full
lengths (their steps are in the tables below)."""


if __name__ == "__main__":
    main()
