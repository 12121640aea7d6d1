"""docs/results.md, from training to page: every number on it is made by this script.

    python tools/results.py all                       # train and score everything, then write the page
    python tools/results.py run image --minutes 10    # one section (appends to its raw numbers)
    python tools/results.py render                    # write the page from the raw numbers alone
    python tools/results.py add image runs/X          # score a run trained elsewhere and record it

The runs of each section are listed in tools/results_runs.py.

Sections (raw numbers in benchmarks/measured/results/<section>.jsonl, one JSON line per run;
a run already measured with the same settings is skipped, and a run a killed command left
in --runs continues from its last checkpoint, so an interrupted command goes on where it stopped):
  image        every MNIST and Fashion-MNIST preset and the VAE baseline, on the train split,
               scored with the default protocol (10,000 samples against the 10,000 test images
               in the dataset classifier's features)
  toy          the 2-D mixtures at their papers' lengths, scored on 2,500 samples
  toy-search   what was tried on the 2-D grid on the way to r1-toy-grid (seed 0)
  stacked      Stacked MNIST, scored on 26,000 samples (PacGAN's protocol)
  search       the fast CPU recipe's search: one trial per setting, the same budget each
  fast         mnist-fast against dcgan-mnist (and the best conditional recipe) at 30 minutes
  translation  the translation and enhancement presets, each beside its pixel-loss twin
  translation-search  what was tried to make the adversarial loss pay on inpainting and
               super-resolution (seed 0, 1,500 steps each)
  translation-blend  ESRGAN's network interpolation: the GAN's and its twin's weights blended
               (gankit blend), scored at each alpha; the two runs are the translation section's

Budgets: ``--minutes`` of training steps per run (train.max_minutes; evaluation excluded)
on a CPU; ``--full`` trains each preset to its own length (its epochs), as a GPU allows.
Every line records the machine, so the page says where and how long each took.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import torch

# the runs, by section: tools/results_runs.py (this script is run from tools/, which Python puts on sys.path)
from results_runs import (
    ADVERSARIAL_ONLY,
    BLEND_ALPHAS,
    BLEND_PRESETS,
    FAST_EXTRA,
    FAST_LATE,
    FAST_MINUTES,
    FAST_PRESETS,
    FAST_STEPS,
    IMAGE_EXTRA,
    IMAGE_PRESETS,
    NO_GAN,
    SEARCH,
    STACKED_EXTRA,
    STACKED_PRESETS,
    TOY_PRESETS,
    TOY_SEARCH,
    TRANSLATION_EXTRA,
    TRANSLATION_PRESETS,
    TRANSLATION_SEARCH,
    TRANSLATION_SEARCH_STEPS,
    TWIN,
)

import gankit
from gankit import config as C
from gankit import presets, viz
from gankit.metrics import compute
from gankit.metrics.protocol import Reference, evaluate, parse_metrics
from gankit.metrics.translation import REVISION
from gankit.run import RunDir
from gankit.run.blend import blend
from gankit.train.loop import train

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "benchmarks" / "measured" / "results"
IMAGES = ROOT / "docs" / "images" / "results"
PAGE = ROOT / "docs" / "results.md"

TRANSLATION_HELD_OUT = 5000  # test pairs a translation run is scored on

# The row each generated row is read against: real training images scored as if generated,
# with the section's protocol (sampling noise and the data's own class balance set it).
REAL = "real images (train split)"
FLOOR_SECTIONS = {"stacked": "pacdcgan-stacked-mnist", "fast": "mnist-fast"}
SEARCHES = ("search", "toy-search", "translation-search")  # seed 0 only; the page shows no grids of theirs

IMAGE_COLUMNS = ["fid", "kid_mean", "precision", "recall", "density", "coverage", "classes_covered", "kl_to_uniform"]


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------


def machine() -> str:
    """The CPU (or GPU) and threads the numbers were measured on."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (CUDA)"
    name = platform.processor() or platform.machine()
    try:
        name = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    threads = torch.get_num_threads()
    return f"{name}, {threads} thread{'s' if threads > 1 else ''}"


@functools.cache
def shipped(preset: str) -> C.Config:
    """A preset as it ships, read once: the rows ask it again and again, and only read it."""
    return presets.config(preset)


def configure(name: str, seed: int, minutes: float | None, overrides: list[str] = ()) -> C.Config:
    sets: dict = {"train.seed": seed, "log.tensorboard": False, "eval.every": None}
    if minutes:
        sets["train.max_minutes"] = minutes
    return presets.config(name, sets, overrides)


def score(name: str, cfg: C.Config, run: RunDir) -> dict:
    """The run's numbers with its own evaluation settings (eval.*), as gankit evaluate gives them."""
    sampler = gankit.load(run.path)
    if hasattr(sampler, "translate"):
        from gankit.metrics.translation import evaluate_translation

        result = evaluate_translation(sampler, cfg, n=TRANSLATION_HELD_OUT, seed=0)
        values = {"steps": sampler.step, "revision": result["protocol"]["revision"],
                  **{f"{col}/{k}": v for col, numbers in result["metrics"].items()
                     for k, v in numbers.items() if not isinstance(v, str)}}
    else:
        e = cfg.eval
        reference = Reference.for_run(cfg, e.evaluator, e.split, e.real_n)
        result = evaluate(sampler.sample, reference, n=e.n, metrics=parse_metrics(e.metrics), seed=e.seed)
        values = {"steps": sampler.step, "evaluator": result["protocol"]["evaluator"]["name"], **result["metrics"]}
    # as gankit evaluate leaves it, so that gankit report shows the run's numbers
    result["protocol"]["run"] = {"path": str(run.path), "checkpoint": None, "step": sampler.step}
    run.write_evaluation(result)
    return values


def measure(section: str, label: str, preset: str, seed: int, minutes: float | None, overrides: list[str],
            runs: Path, with_picture: bool) -> dict:
    """Train one run, score it, save its picture when asked; return its raw line."""
    if section == "translation-blend":
        return measure_blend(label, preset, seed, minutes, overrides, runs, with_picture)
    cfg, run, train_s = trained(section, label, preset, seed, minutes, overrides, runs)
    values = score(preset, cfg, run)
    if with_picture:
        save_picture(run, picture(section, label))
    return raw_line(section, label, preset, seed, minutes, overrides, train_s, run, values)


def trained(section: str, label: str, preset: str, seed: int, minutes: float | None, overrides: list[str],
            runs: Path) -> tuple[C.Config, RunDir, float]:
    """One run trained to its length in ``runs``: its config, folder and training seconds. A run of the
    same settings that a killed command left there is continued from its last checkpoint (a finished
    one only read)."""
    cfg = configure(preset, seed, minutes, overrides)
    run = RunDir(runs / run_name(section, label, minutes, overrides, seed))
    resume = run.has_checkpoint()
    differ = C.differing_keys(run.read_config().to_dict(), cfg.to_dict()) if resume else []
    if differ:
        raise SystemExit(f"{run.path} holds a run of other settings than {label!r} (seed {seed}: "
                         f"{', '.join(differ[:5])} differ); move it away or choose another --runs")
    run = run if resume else RunDir.create(run.path, preset)
    result = train(cfg, run, resume=resume, verbose=False)
    if result.interrupted:  # a run stopped short would stand on the page as if it had trained its length
        raise SystemExit(f"{label} (seed {seed}) was stopped at step {result.step}; not recorded. "
                         "Run the same command again to measure it.")
    # the training steps' own time (train.max_minutes counts the same), an interrupted part
    # included: the same for a run trained at once or continued, and for runs that share a machine
    # or a GPU with others (their set-up, pictures and checkpoints excluded)
    return cfg, run, run.load_checkpoint()["train_seconds"]


def blend_label(preset: str, alpha: float) -> str:
    return f"{preset}, alpha {alpha:g}"


def measure_blend(label: str, preset: str, seed: int, minutes: float | None, overrides: list[str], runs: Path,
                  with_picture: bool) -> dict:
    """The blend of ``preset``'s GAN and twin at ``label``'s alpha, scored; the two runs are the translation
    section's own folders in ``runs``, trained there first when missing. Its minutes are both trainings'."""
    alpha = float(label.rsplit(" ", 1)[1])
    # both runs' training steps' own time, the same whether they were trained now or before
    _, gan, gan_s = trained("translation", preset, preset, seed, minutes, overrides, runs)
    _, twin, twin_s = trained("translation", preset + TWIN, preset, seed, minutes, [NO_GAN, *overrides], runs)
    seconds = gan_s + twin_s
    out = runs / run_name("translation-blend", label, minutes, overrides, seed)
    if out.exists():  # a blend left by a killed command: remade in seconds
        shutil.rmtree(out)
    mixed = blend(twin.path, gan.path, alpha, out)
    values = score(preset, mixed.read_config(), mixed)
    if with_picture and alpha == BLEND_ALPHAS[-1]:
        save_blend_picture(preset, seed, minutes, overrides, runs)
    return {**raw_line("translation-blend", label, preset, seed, minutes, overrides, seconds, gan, values),
            "alpha": alpha}


def save_blend_picture(preset: str, seed: int, minutes: float | None, overrides: list[str], runs: Path,
                       n: int = 8) -> None:
    """One held-out test image a row: the input (enlarged) | the blend at each alpha | the real image."""
    from gankit.metrics.translation import held_out

    models = [gankit.load(runs / run_name("translation-blend", blend_label(preset, a), minutes, overrides, seed))
              for a in BLEND_ALPHAS]
    data = held_out(models[0].config, n, seed=0)
    outputs = [m.translate(data["sources"]) for m in models]  # each uint8 [n, C, H, W]
    shape = tuple(outputs[0].shape[1:])
    columns = [viz.as_target(data["sources"], shape), *outputs, data["targets"]]
    path = picture("translation-blend", preset)
    path.parent.mkdir(parents=True, exist_ok=True)
    viz.save_grid(torch.stack(columns, 1).flatten(0, 1), path, nrow=len(columns))


def run_name(section: str, label: str, minutes: float | None, overrides: list[str], seed: int) -> str:
    """A run's folder: the same label trained to another length is another folder."""
    steps = [o.split("=", 1)[1] for o in overrides if o.startswith("train.steps=")]
    length = f"{steps[-1]}steps" if steps else f"{minutes:g}min" if minutes else "full"
    return f"{section}-{label}-{length}-seed{seed}".replace(" ", "_").replace("/", "_")


def floor(section: str, preset: str) -> dict:
    """The protocol's floor, as a raw line: the first eval.n training images of ``preset``'s dataset
    scored against its reference (eval.split, eval.real_n) with its metrics, as if generated."""
    cfg = shipped(preset)
    e = cfg.eval
    reference = Reference.for_run(cfg, e.evaluator, e.split, e.real_n)
    real = Reference.for_run(cfg, e.evaluator, "train", e.n)
    values = compute(parse_metrics(e.metrics), reference.embedding, real.embedding, seed=e.seed)
    return {"section": section, "label": REAL, "preset": preset, "seed": 0, "minutes": None, "overrides": [],
            "machine": machine(), "train_s": None, "epochs": None, "steps": None,
            "evaluator": reference.evaluator.name, **values}


def add(section: str, path: str, label: str | None) -> dict:
    """Score a finished run trained outside this script (the README's first command, a GPU job) with
    its own evaluation settings and return its raw line. Its minutes are the training steps' own
    time from the checkpoint (evaluation and sample grids excluded)."""
    run = RunDir.open(path)
    cfg = run.read_config()
    seconds = run.load_checkpoint().get("train_seconds")
    values = score(cfg.name, cfg, run)
    label = label or cfg.name
    if cfg.train.seed == 0:
        save_picture(run, picture(section, label))
    return raw_line(section, label, cfg.name, cfg.train.seed, cfg.train.max_minutes, [], seconds, run, values)


def raw_line(section: str, label: str, preset: str, seed: int, minutes: float | None, overrides: list[str],
             train_s: float | None, run: RunDir, values: dict) -> dict:
    """One run's line in benchmarks/measured/results/<section>.jsonl: what ran, where, how long, its numbers."""
    return {"section": section, "label": label, "preset": preset, "seed": seed, "minutes": minutes,
            "overrides": overrides, "machine": machine(), "train_s": round(train_s, 1) if train_s else None,
            "epochs": round(values["steps"] / max(1, _steps_per_epoch(run)), 2), **values}


def _steps_per_epoch(run: RunDir) -> int:
    records = [r for r in run.read_metrics() if "epoch" in r and r.get("epoch")]
    return round(records[-1]["step"] / records[-1]["epoch"]) if records else 1


def save_picture(run: RunDir, path: Path) -> None:
    """Seed 0's samples as the page shows them: the report's final-samples picture."""
    from gankit.report.contents import read_run

    samples = read_run(run.path).samples
    if samples is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        viz.save_picture(samples.picture, path)


def slug(label: str) -> str:
    """A run's label as a file name: 'pix2pix-inpaint-mnist, no GAN loss' -> 'pix2pix-inpaint-mnist-no-gan-loss'."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def picture(section: str, label: str) -> Path:
    """Where a run's picture is kept: one folder a section, as a preset may stand in several."""
    return IMAGES / section / f"{slug(label)}.png"


def done(section: str) -> list[dict]:
    path = RAW / f"{section}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def first_protocol(line: dict) -> bool:
    """Whether a paired translation line was scored by the first protocol, whose FID reference was the
    test split's second half (MNIST's halves come from different writers): the page shows such lines
    apart, and a run asks to be measured again."""
    return (line["section"].startswith("translation") and line.get("revision", 1) < REVISION
            and shipped(line["preset"]).pair.kind != "unpaired")


def record(section: str, line: dict) -> None:
    RAW.mkdir(parents=True, exist_ok=True)
    with open(RAW / f"{section}.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")


def listed(presets: list[str], trials: list[tuple[str, str, list[str]]] = (),
           minutes: float | None = None) -> list[tuple[str, str, list[str], float | None]]:
    """Each preset as shipped, then each (label, preset, overrides) trial, all with one budget."""
    return [(p, p, [], minutes) for p in presets] + [(label, p, sets, minutes) for label, p, sets in trials]


def translation_length(args: argparse.Namespace, minutes: float | None) -> tuple[list[str], float | None]:
    """The translation sections' length: --steps N G steps (the overrides), else the budget or --full."""
    return ([f"train.steps={args.steps}"], None) if args.steps else ([], minutes)


def jobs(section: str, args: argparse.Namespace) -> list[tuple[str, str, list[str], float | None]]:
    """(label, preset, overrides, minutes) of every run of a section."""
    minutes = None if args.full else args.minutes
    if section == "image":
        return listed(IMAGE_PRESETS, IMAGE_EXTRA, minutes)
    if section == "toy":
        return listed(TOY_PRESETS)
    if section == "toy-search":
        return listed([], TOY_SEARCH)
    if section == "stacked":
        return listed(STACKED_PRESETS, STACKED_EXTRA, minutes)
    if section == "search":
        return [(label, "dcgan-mnist", sets, args.search_minutes) for label, sets in SEARCH]
    if section == "fast":
        at_steps = ["train.max_minutes=null", f"train.steps={FAST_STEPS}"]
        return listed(FAST_PRESETS, FAST_EXTRA, FAST_MINUTES) + [(label, p, [*sets, *at_steps], None)
                                                                 for label, p, sets in FAST_LATE]
    if section == "translation-search":
        steps = [f"train.steps={TRANSLATION_SEARCH_STEPS}"]
        return [(label, preset, [*sets, *steps], None) for label, preset, sets in TRANSLATION_SEARCH]
    if section == "translation":  # each paired preset beside its twin at the same number of steps
        steps, minutes = translation_length(args, minutes)
        # An unpaired (cycle) preset has no twin: without its adversarial loss nothing pulls its
        # outputs toward the other domain (cycle and identity losses alone are met by the identity map).
        rows = translation_rows()
        twins = [(label + TWIN, p, [*sets, NO_GAN, *steps], minutes) for label, p, sets in rows
                 if row_kind(p, sets) == "gan" and twin_label(label, p, sets) == label + TWIN]
        return [(label, p, [*sets, *steps], minutes) for label, p, sets in rows] + twins
    if section == "translation-blend":  # at the translation section's lengths
        steps, minutes = translation_length(args, minutes)
        return [(blend_label(p, a), p, steps, minutes) for p in BLEND_PRESETS for a in BLEND_ALPHAS]
    raise SystemExit(f"unknown section {section!r}")


def measured(section: str) -> set[tuple]:
    """(setting..., seed) of every run the section has recorded (by the current protocol)."""
    return {(*setting(d["label"], d["minutes"], d["overrides"]), d["seed"]) for d in done(section)
            if not first_protocol(d)}


def run_section(section: str, args: argparse.Namespace) -> None:
    runs = Path(args.runs or tempfile.mkdtemp(prefix="gankit-results-"))
    seeds = [0] if section in SEARCHES else args.seeds
    wanted = not args.only or REAL in args.only
    if section in FLOOR_SECTIONS and wanted and (*setting(REAL, None, []), 0) not in measured(section):
        record(section, floor(section, FLOOR_SECTIONS[section]))
    for label, preset, overrides, minutes in jobs(section, args):
        if args.only and label not in args.only:
            continue
        for seed in seeds:
            # asked again before each run: another command may have recorded it since this one started
            if (*setting(label, minutes, overrides), seed) in measured(section):
                continue
            with_picture = seed == 0 and section not in SEARCHES
            line = measure(section, label, preset, seed, minutes, overrides, runs, with_picture)
            record(section, line)
            print(json.dumps(line), file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------


def cell(values: list, coarse: bool = False) -> str:
    """Mean ± half the range of a column over seeds; counts as whole numbers; ``coarse``: one decimal.
    Where only some seeds have the number (scored before the protocol gave it), it says how many."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    text = _summary(present, coarse)
    n = len(present)
    return text if n == len(values) else f"{text} ({n} seed{'' if n == 1 else 's'})"


def _summary(values: list, coarse: bool) -> str:
    m = statistics.mean(values)
    whole = all(isinstance(v, int) for v in values)
    fmt = (lambda v: f"{v:.1f}") if whole or coarse or abs(m) >= 10 else (lambda v: f"{v:.3f}")
    if len(set(values)) == 1:
        return str(values[0]) if whole else fmt(values[0])
    spread = fmt((max(values) - min(values)) / 2)
    return fmt(m) if float(spread) == 0 else f"{fmt(m)} ± {spread}"  # no "± 0.0" for float noise


def setting(label: str, minutes: float | None, overrides: list[str]) -> tuple:
    """What makes runs the same but for their seed: a label trained to another length is another row."""
    return label, minutes, tuple(overrides)


def grouped(lines: list[dict]) -> dict[tuple, list[dict]]:
    """Runs of one setting, over their seeds, in the order first measured."""
    out: dict[tuple, list[dict]] = {}
    for line in lines:
        out.setdefault(setting(line["label"], line["minutes"], line["overrides"]), []).append(line)
    return out


def minutes_of(line: dict) -> float | None:
    return line["train_s"] / 60 if line.get("train_s") else None


def table(lines: list[dict], columns: list[str], extra: dict[str, str] | None = None) -> list[str]:
    head = ["run", "seeds", "G steps", "epochs", "minutes", *columns] + (["published"] if extra else [])
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (label, _, _), runs in grouped(lines).items():
        cells = [f"`{label}`", str(len(runs)), cell([r["steps"] for r in runs]),
                 cell([r["epochs"] for r in runs], coarse=True),
                 cell([minutes_of(r) for r in runs], coarse=True), *[cell([r.get(c) for r in runs]) for c in columns]]
        if extra is not None:
            cells.append(extra.get(label, ""))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def image(section: str, label: str) -> str:
    return f"![{label}](images/results/{section}/{slug(label)}.png)"


def twin_order(line: dict) -> tuple:
    """Translation rows: preset by preset as the section lists them, each length's preset above its
    variants, and each GAN run above its twin."""
    known = line["preset"] in TRANSLATION_PRESETS
    base = line["label"].removesuffix(TWIN)
    labels = [label for label, _, _ in translation_rows()]
    return (TRANSLATION_PRESETS.index(line["preset"]) if known else len(TRANSLATION_PRESETS), line["steps"],
            base != line["preset"], labels.index(base) if base in labels else len(labels),
            line["label"].endswith(TWIN))


def translation_rows() -> list[tuple[str, str, list[str]]]:
    """(label, preset, overrides) of every translation row but the twins."""
    return [(p, p, []) for p in TRANSLATION_PRESETS] + TRANSLATION_EXTRA


def row_kind(preset: str, overrides: list[str]) -> str:
    """A translation row's kind: "unpaired" (a cycle: no twin), "pixel" (a paired baseline without the
    adversarial loss: no twin, it is one) or "gan" (a paired row beside its twin)."""
    cfg = shipped(preset)
    if cfg.pair.kind == "unpaired":
        return "unpaired"
    return "pixel" if NO_GAN in overrides or cfg.translate.adv_weight == 0 else "gan"


def twin_label(label: str, preset: str, overrides: list[str]) -> str:
    """A GAN row's twin: its own, or that of the row it differs from only in ``ADVERSARIAL_ONLY``
    overrides (the adversarial loss, its weight, D's depth: without an adversarial loss these are one run)."""
    rest = without_adversarial(overrides)
    if rest == overrides:
        return label + TWIN
    return next((other for other, p, sets in translation_rows()
                 if p == preset and without_adversarial(sets) == rest), label) + TWIN


def without_adversarial(overrides: list[str]) -> list[str]:
    """The overrides that still change a run trained without its adversarial loss."""
    # a pixel-loss warm-up trains G otherwise than the steps after it, with a D or without
    kept = ("translate.warmup_steps=",) if "translate.warmup_loss=pixel" in overrides else ()
    return [s for s in overrides if not s.startswith(ADVERSARIAL_ONLY) or s.startswith(kept)]


def side_by_side(lines: list[dict]) -> list[str]:
    """Each translation preset's (and variant's) seed-0 grid beside its twin's (source | output | target),
    captioned with the length of the seed-0 run recorded last, the one whose picture is kept; ``lines``
    in the order recorded."""
    latest = {d["label"]: d for d in lines if d["seed"] == 0}
    rows = ["| run | with the adversarial loss | pixel and content losses only |", "| --- | --- | --- |"]
    for base in dict.fromkeys(line["label"].removesuffix(TWIN) for line in sorted(lines, key=twin_order)):
        row = next(((p, sets) for label, p, sets in translation_rows() if label == base), None)
        cells = []
        for label in (base, twin_label(base, *row) if row else base + TWIN):
            shown = picture("translation", label).exists() and label in latest
            cells.append(f"{image('translation', label)}<br>{latest[label]['steps']} G steps" if shown else "")
        if row and row_kind(*row) == "pixel":  # a baseline: its grid in the pixel-loss column
            cells = [cells[1], cells[0]]
        if any(cells):
            rows.append(f"| `{base}` | " + " | ".join(cells) + " |")
    return rows + [""] if len(rows) > 2 else []


FIRST_PROTOCOL = ("Scored by the translation protocol's first revision, kept as measured: its held-out pairs were "
                  "the test split's first 5,000 and its FID reference the next 5,000, which on MNIST come from "
                  "other writers (real digits score FID 37 against them; 4 with the second revision's interleaved "
                  "halves). Their MNIST FIDs stand on that floor: read them against each other, not against rows "
                  "of the second revision.")
PRECISION_RECALL = ("model/precision", "real/precision", "model/recall", "real/recall")
FIRST_PROTOCOL_NEW = ("real/fid", "real/accuracy", *PRECISION_RECALL)  # columns the first revision did not have


def translation_tables(section: str, lines: list[dict], columns: list[str]) -> list[str]:
    """A translation section: its table, the first protocol's rows in a table of their own, the pictures."""
    current = [d for d in lines if not first_protocol(d)]
    first = [d for d in lines if first_protocol(d)]
    if section == "translation":
        current, first = sorted(current, key=twin_order), sorted(first, key=twin_order)
    parts = table(current, columns) + [""] if current else []
    if first:
        parts += [FIRST_PROTOCOL, "", *table(first, [c for c in columns if c not in FIRST_PROTOCOL_NEW]), ""]
    if section == "translation":
        parts += side_by_side(lines)
    if section == "translation-blend":  # one picture a preset: the input, each alpha, the real image
        shown = dict.fromkeys(line["preset"] for line in lines)
        caption = " | ".join(["input", *(f"alpha {a:g}" for a in BLEND_ALPHAS), "real"])
        parts += [f"**{p}**: {caption}\n\n{image(section, p)}\n" for p in shown if picture(section, p).exists()]
    return parts


def machines(*sections: str) -> str:
    names = sorted({d["machine"] for s in sections for d in done(s)})
    return "; ".join(names) if names else "not measured yet"


def render() -> str:
    parts = [(ROOT / "tools" / "results_intro.md").read_text().rstrip(), ""]
    for section, title, columns, published in SECTIONS:
        lines = done(section)
        parts += [f"## {title}", "", SECTION_TEXT[section].rstrip(), ""]
        if not lines:
            parts += ["Not measured yet.", ""]
            continue
        parts += [f"Machine: {machines(section)}.", ""]
        if section.startswith("translation"):
            parts += translation_tables(section, lines, columns)
            continue
        lines = sorted(lines, key=lambda d: d["label"] != REAL)  # the floor above the runs read against it
        parts += table(lines, columns, published) + [""]
        if section not in SEARCHES:
            labels = dict.fromkeys(line["label"] for line in lines)
            parts += [f"**{lab}**\n\n{image(section, lab)}\n" for lab in labels if picture(section, lab).exists()]
    parts += ["## Reproducing this page", "", "```bash", "python tools/results.py all", "```", ""]
    return "\n".join(parts)


TOY_PUBLISHED = {"gan-toy-ring": "GAN 1 of 8 (VEEGAN Table 1); PacGAN2 7.9 of 8, 95.6% (PacGAN Table 1)",
                 "gan-toy-grid": "PacGAN2 23.8 of 25, 91.3% (PacGAN Table 1)",
                 "pacgan-toy-grid": "PacGAN2 23.8 of 25, 91.3% (PacGAN Table 1)",
                 "r1-toy-ring": "PacGAN2 7.9 of 8, 95.6% (PacGAN Table 1)",
                 "r1-toy-grid": "PacGAN2 23.8 of 25, 91.3% (PacGAN Table 1)"}
PACDCGAN2 = "PacDCGAN2 1000 / 0.06 (PacGAN Table 2)"
STACKED_PUBLISHED = {"dcgan-stacked-mnist": "DCGAN 99 / 3.4 (VEEGAN Table 2); PacDCGAN 1000 / 0.06 (PacGAN Table 2)",
                     "pacdcgan-stacked-mnist": PACDCGAN2, "pacgan-sn-stacked-mnist": PACDCGAN2}
# real/: the real targets scored as outputs: the floor of FID, the ceiling of accuracy, the precision and recall
# of real images (what a model's are read against)
TRANSLATION_COLUMNS = ["model/fid", "input/fid", "real/fid", "model/psnr", "input/psnr", "model/ssim",
                       "model/accuracy", "input/accuracy", "real/accuracy", "model/saturation", "real/saturation",
                       "model/diversity", "model/class_purity", "model/cycle_psnr", *PRECISION_RECALL]
SECTIONS = [
    ("image", "MNIST and Fashion-MNIST", IMAGE_COLUMNS, None),
    ("toy", "2-D mixtures", ["modes_captured", "high_quality"], TOY_PUBLISHED),
    ("toy-search", "2-D grid: the search", ["modes_captured", "high_quality"], None),
    ("stacked", "Stacked MNIST (1,000 modes)", ["modes_covered", "kl_to_uniform"], STACKED_PUBLISHED),
    ("search", "The fast CPU recipe: the search", IMAGE_COLUMNS, None),
    ("fast", "The fast CPU recipe: 30 minutes", IMAGE_COLUMNS, None),
    ("translation", "Translation and enhancement", TRANSLATION_COLUMNS, None),
    ("translation-search", "Translation and enhancement: the search", TRANSLATION_COLUMNS[:9], None),
    ("translation-blend", "Translation and enhancement: network interpolation",
     ["model/fid", "model/psnr", "model/ssim", "model/accuracy"], None),
]
SECTION_TEXT = {s: (ROOT / "tools" / "results_text" / f"{s}.md").read_text()
                if (ROOT / "tools" / "results_text" / f"{s}.md").exists() else "" for s, *_ in SECTIONS}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["all", "run", "add", "render"])
    p.add_argument("section", nargs="?", choices=[name for name, *_ in SECTIONS],
                   help="with run or add: the section")
    p.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="with add: finished runs to score and record")
    p.add_argument("--label", help="with add: the label to record (default: the run's preset)")
    p.add_argument("--minutes", type=float, default=10.0, help="training budget of each run on a CPU (default 10)")
    p.add_argument("--search-minutes", type=float, default=10.0, help="budget of each search trial (default 10)")
    p.add_argument("--full", action="store_true", help="train each preset to its own length instead (a GPU)")
    p.add_argument("--steps", type=int, help="translation: this many G steps for each preset and its twin "
                   "instead of a budget in minutes")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--runs", help="keep the run folders here (default: a temporary folder)")
    p.add_argument("--only", nargs="+", metavar="LABEL", help="with run: only these runs of the section")
    args = p.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if args.what == "run":
        run_section(args.section, args)
    elif args.what == "add":
        for path in args.run_dirs:
            line = add(args.section, path, args.label)
            record(args.section, line)
            print(json.dumps(line), file=sys.stderr, flush=True)
    elif args.what == "all":
        for section, *_ in SECTIONS:
            run_section(section, args)
    PAGE.write_text(render())


if __name__ == "__main__":
    main()
