"""The gankit command line: train, sample, evaluate, report, interpolate, export, translate, list.

Usage errors print one line and exit with status 2; so do errors in what the
user supplied (config values, paths, data files, run folders). An interrupted
training run exits with status 130 after saving a checkpoint.
"""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gankit import __version__
from gankit.config import EvalConfig, non_negative, positive
from gankit.errors import GankitError


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, status 2
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def checked_number(convert: Callable[[str], Any], expected: str,
                   check: Callable[[Any], str | None]) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)`` that passes ``check`` (a problem, or None)."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        problem = check(value)
        if problem:
            raise argparse.ArgumentTypeError(f"{problem}, got {text}")
        return value

    return parse


def whole_number(check: Callable[[Any], str | None]) -> Callable[[str], int]:
    """A whole number that passes a config check (config.positive, config.non_negative)."""
    return checked_number(int, "a whole number", check)


positive_int = whole_number(positive)
non_negative_int = whole_number(non_negative)
positive_float = checked_number(float, "a number", lambda v: None if 0 < v < float("inf") else
                                "must be a finite number > 0")
unit_fraction = checked_number(float, "a number", lambda v: None if 0 <= v <= 1 else "must be between 0 and 1")


def positive_floats(text: str) -> list[float]:
    """'0.5,0.7,1' -> [0.5, 0.7, 1.0], each a finite number > 0."""
    return [positive_float(part.strip()) for part in text.split(",")]


# What the file system answers when a disk is full, read-only or failing: the user's to fix, not a bug.
STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}

# Train flags that are shorthands for config keys.
FLAG_KEYS = {
    "dataset": "data.dataset",
    "model": "model.arch",
    "data_root": "data.root",
    "split": "data.split",
    "epochs": "train.epochs",
    "steps": "train.steps",
    "batch_size": "train.batch_size",
    "seed": "train.seed",
    "device": "train.device",
}
# What may change when a run is resumed: nothing that alters the computation.
RESUMABLE = {"epochs", "steps", "device", "data_root"}


def checkpoint_option(p: argparse.ArgumentParser) -> None:
    """--checkpoint of the commands that read a trained run's generator."""
    p.add_argument("--checkpoint", choices=["final", "last", "best"], default="final",
                   help="final: generator.safetensors (else last.pt); last/best: checkpoints/<that>.pt")


def device_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")


def build_parser() -> Parser:
    p = Parser(prog="gankit", description="Train, evaluate, sample and ship GANs.")
    p.add_argument("--version", action="version", version=f"gankit {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    t = sub.add_parser("train", help="train a GAN (plain `gankit train` runs the dcgan-mnist preset)",
                       description="Train a GAN. Config layers: defaults < --preset < --config < flags < --set.")
    t.add_argument("--config", metavar="FILE", help="YAML config file (partial or a run's config.yaml)")
    t.add_argument("--preset", metavar="NAME", help="named config (gankit list presets); default dcgan-mnist")
    t.add_argument("--dataset", metavar="NAME", help="dataset (gankit list datasets)")
    t.add_argument("--model", metavar="NAME", help="architecture (gankit list models), e.g. vae for the baseline")
    t.add_argument("--data-root", metavar="DIR", help="folder holding the dataset files")
    t.add_argument("--split", choices=["train", "test"], help="dataset split to train on")
    t.add_argument("--epochs", type=positive_int, metavar="N", help="passes over the data (total)")
    t.add_argument("--steps", type=positive_int, metavar="N", help="stop after N G steps in total")
    t.add_argument("--batch-size", type=positive_int, metavar="N", help="images per step")
    t.add_argument("--seed", type=non_negative_int, metavar="N", help="random seed")
    t.add_argument("--device", metavar="D", help="auto, cpu, cuda or cuda:N")
    t.add_argument("--out", metavar="DIR", help="run folder (default runs/<date>-<name>)")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config key, e.g. --set optim.lr_g=1e-4 (repeatable)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    t.add_argument("--auto-resume", action="store_true",
                   help="with --out: continue the run in that folder if it exists, else start it; the same command "
                        "can then be repeated after a crash (implied when torchrun restarts the workers)")
    t.add_argument("--quiet", action="store_true", help="no progress output")
    t.set_defaults(func=cmd_train, parser=t)

    s = sub.add_parser("sample", help="draw images from a trained run",
                       description="Draw images from a trained run's generator.")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("--n", type=positive_int, default=64, help="number of images (default 64)")
    s.add_argument("--seed", type=non_negative_int, default=0, help="noise seed (default 0)")
    s.add_argument("--class", dest="klass", metavar="K|all",
                   help="class-conditional runs: only class K, or 'all' for a grid with one row of N per class")
    checkpoint_option(s)
    s.add_argument("--out", metavar="FILE",
                   help=".png: a grid; .npy: uint8 array (N, C, H, W) (default RUN_DIR/samples/sample-seedS.png)")
    s.add_argument("--truncation", type=positive_float, metavar="PSI",
                   help="draw z from the normal truncated at +-PSI (BigGAN's trick): closer to the typical "
                        "sample, less varied; e.g. 0.7")
    device_option(s)
    s.set_defaults(func=cmd_sample, parser=s)

    e = sub.add_parser("evaluate", help="score a trained run: FID, KID, precision/recall, density/coverage, modes",
                       description="Score a run's generator against real images in an evaluator's features, with "
                       "the run's own evaluation settings (eval.* in its config) unless told otherwise. Default "
                       "protocol: 10,000 generated vs 10,000 real test images.")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--n", type=positive_int, help=f"generated images (default: the run's eval.n, {EvalConfig().n})")
    e.add_argument("--metrics", help=f"comma-separated (gankit list metrics); default: the run's eval.metrics "
                   f"({EvalConfig().metrics} unless its preset says otherwise, e.g. toy-modes for 2-D data)")
    e.add_argument("--split", choices=["train", "test"], help="real reference split (default: the run's eval.split)")
    e.add_argument("--real-n", type=positive_int, help="real reference images (default: the run's eval.real_n)")
    e.add_argument("--evaluator", help="auto (the dataset's classifier, else Inception-v3), inception, mnist-cnn, "
                   "fashion-mnist-cnn, or a version such as mnist-cnn-v1 (default: the run's eval.evaluator)")
    checkpoint_option(e)
    e.add_argument("--seed", type=non_negative_int, default=0, help="noise seed (default 0)")
    e.add_argument("--data-root", metavar="DIR", help="folder holding the reference dataset files")
    device_option(e)
    e.add_argument("--truncation", type=positive_floats, metavar="PSI[,PSI...]",
                   help="also score samples drawn with each truncation psi, e.g. 0.5,0.7,1.0: the precision/recall "
                        "trade-off it buys (the report plots it)")
    e.add_argument("--compare", metavar="RUN_DIR",
                   help="translation and enhancement runs: also score this run the same way (e.g. its L1-only twin)")
    e.add_argument("--json", metavar="FILE", help="also write the result, with its protocol, as JSON "
                   "(it is always written to RUN_DIR/evaluation.json)")
    e.set_defaults(func=cmd_evaluate, parser=e)

    r = sub.add_parser("report", help="one self-contained HTML page of a run, or of several side by side",
                       description="Write a report: config, curves, sample grids by epoch, final samples, "
                       "evaluation and the training doctor's findings. Several runs: a comparison table too.")
    r.add_argument("run_dirs", metavar="RUN_DIR", nargs="+")
    r.add_argument("--out", metavar="FILE",
                   help="the HTML file (default RUN_DIR/report.html for one run, report.html for several)")
    r.set_defaults(func=cmd_report, parser=r)

    w = sub.add_parser("interpolate", help="walk through the latent space between random points",
                       description="Spherical interpolation between random latents: an animation (.gif) or a "
                       "grid with one walk per row (.png).")
    w.add_argument("run_dir", metavar="RUN_DIR")
    w.add_argument("--out", metavar="FILE", required=True, help="walk.gif (animated) or walk.png (a grid)")
    w.add_argument("--n", type=positive_int, default=8, help="number of walks (pairs of end points; default 8)")
    w.add_argument("--steps", type=whole_number(lambda v: None if v >= 2 else "must be >= 2"), default=10,
                   help="points along each walk, ends included (default 10)")
    w.add_argument("--seed", type=non_negative_int, default=0, help="seed of the end points (default 0)")
    w.add_argument("--class", dest="klass", type=non_negative_int, metavar="K",
                   help="class-conditional runs: walk within class K (default: a random class per walk)")
    checkpoint_option(w)
    device_option(w)
    w.set_defaults(func=cmd_interpolate, parser=w)

    x = sub.add_parser("export", help="export the generator as ONNX or TorchScript",
                       description="Export the run's generator (the EMA weights where the run kept them) with "
                       "a dynamic batch size and the config in the file's metadata.")
    x.add_argument("run_dir", metavar="RUN_DIR")
    x.add_argument("--format", choices=["onnx", "torchscript"], required=True)
    x.add_argument("--out", metavar="FILE", required=True, help="e.g. generator.onnx or generator.pt")
    checkpoint_option(x)
    x.set_defaults(func=cmd_export, parser=x)

    b = sub.add_parser("blend", help="blend two runs' generators weight by weight (ESRGAN's network interpolation)",
                       description="Write a run whose generator is (1 - alpha) * RUN_A + alpha * RUN_B, weight by "
                       "weight: between a pixel-loss run (A) and its GAN (B) alpha trades fidelity (PSNR) for "
                       "texture, with no training. The two runs must share model.* and pair.*.")
    b.add_argument("run_a", metavar="RUN_A", help="the generator at alpha 0 (e.g. the translate.adv_weight=0 twin)")
    b.add_argument("run_b", metavar="RUN_B", help="the generator at alpha 1 (e.g. the GAN); its config is kept")
    b.add_argument("--alpha", type=unit_fraction, required=True, help="the weight of RUN_B, from 0 to 1")
    b.add_argument("--out", metavar="DIR", required=True, help="the new run folder (must not exist, or be empty)")
    checkpoint_option(b)
    b.set_defaults(func=cmd_blend, parser=b)

    tr = sub.add_parser("translate", aliases=["enhance"],
                        help="run a translation or enhancement model on image files or folders",
                        description="Translate or enhance images of any size with a trained run: files and folders "
                        "of PNG/JPEG/BMP/GIF/WebP in, PNGs out (folders keep their layout under --out).")
    tr.add_argument("run_dir", metavar="RUN_DIR")
    tr.add_argument("inputs", metavar="INPUT", nargs="+", help="image files or folders of images")
    tr.add_argument("--out", metavar="DIR", required=True, help="folder to write the outputs to")
    tr.add_argument("--tile", type=positive_int, default=256,
                    help="larger images go through the model in overlapping tiles of this many pixels (default 256)")
    tr.add_argument("--seed", type=int, default=0,
                    help="a stochastic model (model.noise_channels): the seed of its noise (default 0)")
    tr.add_argument("--samples", type=positive_int, default=1,
                    help="a stochastic model: outputs per image, NAME-1.png ... NAME-N.png, sample j from noise of "
                    "seed + j - 1 (default 1: NAME.png)")
    checkpoint_option(tr)
    device_option(tr)
    tr.set_defaults(func=cmd_translate, parser=tr)

    ls = sub.add_parser("list", help="list presets, models, losses, regularizers, datasets, metrics or config keys",
                        description="List the registered choices.")
    ls.add_argument("what", choices=["presets", "models", "losses", "regularizers", "datasets", "metrics", "config"])
    ls.set_defaults(func=cmd_list, parser=ls)
    return p


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def resolve_train_config(args: argparse.Namespace) -> Any:
    """Layer defaults < preset < --config < flags < --set into a validated Config."""
    from gankit import config as C
    from gankit import presets

    data: dict[str, Any] = {}
    if args.preset or not args.config:
        data = presets.load(args.preset or presets.DEFAULT)
    if args.config:
        layer = C.read_yaml(args.config)
        C.from_dict(layer, source=args.config)  # a bad key or value is named with the file it is in
        data = C.merge(data, layer)
    for flag, key in FLAG_KEYS.items():
        value = getattr(args, flag)
        if value is not None:
            data = C.set_key(data, key, value)
    for item in args.set:
        data = C.set_key(data, *C.parse_override(item))
    return C.from_dict(data)


def cmd_train(args: argparse.Namespace) -> int:
    import os

    import torch.distributed

    from gankit.train import distributed

    if not args.resume and auto_resuming(args):
        run, cfg = auto_resumed_config(args)
    else:
        run, cfg = resumed_config(args) if args.resume else (None, resolve_train_config(args))
    dist = distributed.SINGLE
    try:
        # joins the process group under torchrun: NCCL when the resolved config trains on CUDA, else gloo
        dist = distributed.init(cfg.train.device, cfg.train.dist_timeout)
        code = resume_train(cfg, run, args, dist) if run else new_train(cfg, args, dist)
        if dist.active:
            # every rank has finished before any closes its connections: a rank that tore
            # down its group while a slower peer still used it could abort that peer
            torch.distributed.barrier()
        return code
    except torch_distributed_error() as e:  # a peer died or stopped answering: an event, not a bug
        from gankit.errors import GankitError

        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        rank = os.environ.get("RANK", "0")
        raise GankitError(f"rank {rank}: the other processes stopped answering within train.dist_timeout="
                          f"{cfg.train.dist_timeout:g} s ({first[:200]}); the last checkpoint is intact: resume "
                          "with the same command under torchrun, or --resume RUN_DIR") from None
    finally:
        if dist.active:
            torch.distributed.destroy_process_group()


def new_train(cfg: Any, args: argparse.Namespace, dist: Any) -> int:
    """A new run; under torchrun every rank calls this, and only rank 0 reports."""
    from gankit.errors import CheckpointError
    from gankit.run import RunDir
    from gankit.train import distributed
    from gankit.train.loop import train

    # rank 0 chooses the run folder (its name holds the time) and tells the others,
    # or tells them why it could not
    chosen: Any = None
    if dist.main:
        try:
            chosen = str(RunDir.create(args.out, cfg.name).path)
        except CheckpointError as e:
            chosen = e
    chosen = distributed.broadcast(chosen, dist)
    if isinstance(chosen, Exception):
        raise chosen
    result = train(cfg, RunDir(chosen), verbose=not args.quiet, dist=dist)
    return report(result, args.quiet) if dist.main else 0


def torch_distributed_error() -> tuple[type[BaseException], ...]:
    """The errors torch.distributed raises when a peer is lost (timeouts, closed connections)."""
    import torch.distributed as td

    return (td.DistError,) if hasattr(td, "DistError") else ()


def auto_resuming(args: argparse.Namespace) -> bool:
    """--auto-resume (or a torchrun restart) with an --out folder that already holds a run."""
    import os

    restarted = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0
    if not (args.auto_resume or restarted):
        return False
    if not args.out:
        args.parser.error("--auto-resume needs --out: the run folder to continue or to start")
    return (Path(args.out) / "config.yaml").is_file()


def auto_resumed_config(args: argparse.Namespace) -> tuple[Any, Any]:
    """The run in --out, continued; the command's own config must be the run's, but for what a
    resume may change."""
    from gankit import config as C
    from gankit.errors import ConfigError
    from gankit.run import RunDir

    asked = resolve_train_config(args).to_dict()
    run = RunDir.open(args.out)
    saved = run.read_config().to_dict()
    free = {FLAG_KEYS[f] for f in RESUMABLE} | {"train.steps"}
    differ = [k for k in C.differing_keys(asked, saved) if k not in free]
    if differ:
        raise ConfigError(f"--auto-resume: the run in {args.out} was started with another config "
                          f"({', '.join(differ[:5])} differ); choose another --out, or --resume {args.out}")
    data = run.load_checkpoint(training=True)["config"] if run.has_checkpoint() else saved
    for flag in RESUMABLE:
        if getattr(args, flag) is not None:
            data = C.set_key(data, FLAG_KEYS[flag], getattr(args, flag))
    return run, C.from_dict(data)


def resumed_config(args: argparse.Namespace) -> tuple[Any, Any]:
    """(run, config) of ``--resume RUN_DIR``: the run's saved config with the flags a resume may change."""
    from gankit import config as C
    from gankit.run import RunDir

    fixed = [f"--{k.replace('_', '-')}" for k in (*FLAG_KEYS, "config", "preset", "out")
             if getattr(args, k) is not None and k not in RESUMABLE]
    fixed += ["--set"] if args.set else []
    if fixed:
        args.parser.error(f"--resume continues a run with its own config; {', '.join(fixed)} cannot change "
                          "(only --epochs, --steps, --device, --data-root)")
    run = RunDir.open(args.resume)
    # the newest checkpoint that loads; a run stopped before its first checkpoint starts again from its config
    data = run.load_checkpoint(training=True)["config"] if run.has_checkpoint() else run.read_config().to_dict()
    for flag in RESUMABLE:
        if getattr(args, flag) is not None:
            data = C.set_key(data, FLAG_KEYS[flag], getattr(args, flag))
    if args.epochs is not None and args.steps is None:
        data = C.set_key(data, "train.steps", None)  # a new epoch count replaces an old step cap
    return run, C.from_dict(data)


def resume_train(cfg: Any, run: Any, args: argparse.Namespace, dist: Any) -> int:
    from gankit.train.loop import train

    result = train(cfg, run, resume=True, verbose=not args.quiet, dist=dist)
    return report(result, args.quiet) if dist.main else 0


def report(result: Any, quiet: bool) -> int:
    run = result.run.path
    if result.interrupted:  # said even with --quiet: the user must know how to continue
        print(f"stopped at step {result.step}/{result.total_steps}; checkpoint saved. "
              f"Continue with: gankit train --resume {run}", file=sys.stderr)
        return 130
    if not quiet:
        print(f"done: {result.step} steps. Samples: {run}/samples/, {run}/progress.gif; "
              f"curves: {run}/losses.png; generator: {run}/generator.safetensors")
    return 0


# ---------------------------------------------------------------------------
# sample, list
# ---------------------------------------------------------------------------


def load_run(args: argparse.Namespace, translation: bool) -> Any:
    """The run's generator for a command that needs one kind: a Translator for translate, a Sampler
    (noise in) for sample and interpolate; a usage error naming the command to use for the other kind."""
    import gankit
    from gankit.translate import Translator

    loaded = gankit.load(args.run_dir, device=args.device, checkpoint=args.checkpoint)
    if isinstance(loaded, Translator) and not translation:
        args.parser.error(f"{args.run_dir} is a translation or enhancement run: its generator takes images, not "
                          f"noise; use gankit translate {args.run_dir} INPUT... --out DIR")
    if translation and not isinstance(loaded, Translator):
        args.parser.error(f"{args.run_dir} generates images from noise; translate needs a translation or "
                          "enhancement run (e.g. --preset pix2pix-inpaint-mnist); use gankit sample")
    return loaded


def cmd_sample(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from gankit import atomic, viz

    out = Path(args.out) if args.out else Path(args.run_dir) / "samples" / f"sample-seed{args.seed}.png"
    if out.suffix not in (".png", ".npy"):
        args.parser.error(f"--out {out}: the file must end in .png (a grid) or .npy (an array)")
    sampler = load_run(args, translation=False)
    k, n, nrow, labels = sampler.num_classes, args.n, None, None
    if args.klass is not None:
        if not k:
            args.parser.error(f"--class: {args.run_dir} is not class-conditional")
        if args.klass == "all":  # one row of n per class
            labels, nrow = torch.arange(k).repeat_interleave(n), n
            n = len(labels)
        elif args.klass.isdigit() and int(args.klass) < k:
            labels = int(args.klass)
        else:
            args.parser.error(f"--class {args.klass}: expected 'all' or a class in 0..{k - 1}")
    samples = sampler.sample(n, seed=args.seed, labels=labels, truncation=args.truncation)  # uint8 [N, C, H, W]
    if out.suffix == ".npy":
        with atomic.atomic_path(out) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, samples.numpy())
    elif samples.dim() == 2:
        viz.save_scatter(samples, out, title=f"{n} samples, seed {args.seed}")
    else:
        viz.save_grid(samples, out, nrow=nrow)
    print(f"wrote {n} samples to {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import gankit
    from gankit.metrics.protocol import Reference, evaluate, parse_metrics
    from gankit.run import RunDir
    from gankit.translate import Translator

    psis = args.truncation or []
    sampler = gankit.load(args.run_dir, device=args.device, checkpoint=args.checkpoint)
    if isinstance(sampler, Translator):
        return evaluate_translation_run(sampler, args)
    own = sampler.config.eval  # the run's own evaluation settings fill what the command line leaves out
    args.n, args.real_n = args.n or own.n, args.real_n or own.real_n
    args.split, args.evaluator = args.split or own.split, args.evaluator or own.evaluator
    if args.compare:
        args.parser.error("--compare is for translation and enhancement runs")
    metrics = parse_metrics(args.metrics or own.metrics)
    reference = Reference.for_run(sampler.config, args.evaluator, args.split, args.real_n, root=args.data_root,
                                  device=sampler.device)
    result = evaluate(sampler.sample, reference, n=args.n, metrics=metrics, seed=args.seed)
    result["protocol"]["run"] = {"path": str(args.run_dir), "checkpoint": args.checkpoint, "step": sampler.step}
    print(format_result(result))
    if psis:
        result["truncation"] = []
        for psi in psis:
            truncated = evaluate(lambda n, seed, psi=psi: sampler.sample(n, seed=seed, truncation=psi), reference,
                                 n=args.n, metrics=metrics, seed=args.seed)
            result["truncation"].append({"psi": psi, "metrics": truncated["metrics"]})
            shown = ", ".join(f"{k} {v:.4g}" for k, v in truncated["metrics"].items() if not k.endswith("_std"))
            print(f"truncation {psi:g}: {shown}")
    RunDir.open(args.run_dir).write_evaluation(result, also=args.json)
    return 0


def evaluate_translation_run(translator: Any, args: argparse.Namespace) -> int:
    """gankit evaluate on a translation or enhancement run: see gankit.metrics.translation."""
    import dataclasses

    import gankit
    from gankit.metrics.translation import evaluate_translation, format_translation
    from gankit.run import RunDir

    for flag, value in (("--metrics", args.metrics), ("--truncation", args.truncation), ("--real-n", args.real_n)):
        if value:  # the held-out pairs set the protocol; these options belong to sampling from noise
            args.parser.error(f"{flag} is for runs that generate from noise; a translation run is scored on --n "
                              "held-out pairs (PSNR, SSIM, FID/KID, precision and recall against n other real images, "
                              "accuracy)")
    compare = gankit.load(args.compare, device=args.device) if args.compare else None
    if compare is not None and not hasattr(compare, "translate"):
        args.parser.error(f"--compare {args.compare}: not a translation or enhancement run")
    cfg = translator.config  # its own evaluation settings, but for the split and data folder asked for
    cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, split=args.split or cfg.eval.split),
                              data=dataclasses.replace(cfg.data, root=args.data_root or cfg.data.root))
    result = evaluate_translation(translator, cfg, n=args.n or cfg.eval.n, seed=args.seed,
                                  evaluator=args.evaluator or cfg.eval.evaluator, compare=compare)
    result["protocol"]["run"] = {"path": str(args.run_dir), "checkpoint": args.checkpoint, "step": translator.step,
                                 "compare": str(args.compare) if args.compare else None}
    print(format_translation(result))
    RunDir.open(args.run_dir).write_evaluation(result, also=args.json)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from gankit.report import write_report

    print(f"wrote {write_report(args.run_dirs, args.out)}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from gankit import viz

    out = Path(args.out)
    if out.suffix not in (".gif", ".png"):
        args.parser.error(f"--out {out}: the file must end in .gif (an animation) or .png (a grid)")
    sampler = load_run(args, translation=False)
    if args.klass is not None and not (sampler.num_classes and args.klass < sampler.num_classes):
        k = sampler.num_classes
        args.parser.error(f"--class {args.klass}: " + (f"expected a class in 0..{k - 1}" if k else
                                                       f"{args.run_dir} is not class-conditional"))
    walks = sampler.interpolate(args.n, args.steps, seed=args.seed, labels=args.klass)  # [n, steps, C, H, W]
    if out.suffix == ".png":  # one walk per row
        viz.save_grid(walks.flatten(0, 1), out, nrow=args.steps)
    else:  # frame t: every walk at step t, there and back again
        frames = [viz.upscale(viz.grid(walks[:, t]), 2) for t in [*range(args.steps), *range(args.steps - 2, 0, -1)]]
        viz.save_animation(frames, out)
    print(f"wrote {args.n} walks of {args.steps} steps to {out}")
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from gankit.translate import translate_files

    translator = load_run(args, translation=True)
    written, skipped = translate_files(translator, args.inputs, args.out, tile=args.tile, seed=args.seed,
                                       samples=args.samples)
    print(f"wrote {len(written)} image(s) to {args.out}")
    if skipped:
        first = next(iter(skipped.values()))
        print(f"skipped {len(skipped)} unusable image(s), e.g. {first}", file=sys.stderr)
    return 0


def cmd_blend(args: argparse.Namespace) -> int:
    from gankit.run.blend import blend

    run = blend(args.run_a, args.run_b, args.alpha, args.out, checkpoint=args.checkpoint)
    print(f"wrote {run.path}: {1 - args.alpha:g} x {args.run_a} + {args.alpha:g} x {args.run_b}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from gankit.export import export_generator

    print(f"wrote {export_generator(args.run_dir, args.format, args.out, checkpoint=args.checkpoint)}")
    return 0


def format_result(result: dict[str, Any]) -> str:
    """The metrics as a table, then the protocol they were measured with."""
    p = result["protocol"]
    ref = p["reference"]
    lines = [f"{'metric':<16} value"]
    lines += [f"{k:<16} {v:.4f}" if isinstance(v, float) else f"{k:<16} {v}" for k, v in result["metrics"].items()]
    lines.append(
        f"protocol: {p['generated']} generated vs {ref['count']} real {ref['dataset']}/{ref['split']} images, "
        f"evaluator {p['evaluator']['name']} (sha256 {p['evaluator']['sha256'][:12]}), seed {p['seed']}, "
        f"gankit {p['gankit_version']}")
    s = result["seconds"]
    lines.append(f"time: sampling {s['sample']} s, embedding {s['embed']} s, metrics {s['metrics']} s")
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    from gankit import config, presets
    from gankit.registry import DATASETS, LOSSES, METRICS, MODELS, REGULARIZERS

    if args.what == "presets":
        rows = presets.describe()
    elif args.what == "config":
        keys = config.describe_keys()
        vw = max(len(repr(v)) for _, v, _ in keys)
        rows = [(k, f"{v!r:<{vw}}  {h}") for k, v, h in keys]
    elif args.what == "datasets":  # each with where it would be read from now
        from gankit.data.datasets import where

        rows = [(e.name, f"{e.help}\n    read from: {where(e.name)}") for e in DATASETS.entries()]
    elif args.what == "models":  # each with the model.* keys it reads (a run refuses the others)
        from gankit.train.unused import reads

        rows = [(e.name, f"{e.help}\n    reads: {reads(e.name)}") for e in MODELS.entries()]
    else:
        reg = {"losses": LOSSES, "regularizers": REGULARIZERS, "metrics": METRICS}[args.what]
        rows = [(e.name, e.help) for e in reg.entries()]
    width = max(len(name) for name, _ in rows)
    for name, text in rows:
        print(f"{name:<{width}}  {text}".replace("\n", "\n" + " " * width))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code = run_command(args)
    if args.command == "train":
        from gankit.train import distributed

        if distributed.launched():
            distributed.leave(code)  # a torchrun worker ends here, without the interpreter's shutdown
    return code


def run_command(args: argparse.Namespace) -> int:
    """The command's exit code; a user's error is one line on stderr and code 2."""
    try:
        from gankit.registry import load_all

        load_all()
        return args.func(args)
    except GankitError as e:
        print(f"gankit {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.errno not in STORAGE_ERRORS:
            raise  # anything else is a bug, and keeps its traceback
        where = f" {e.filename}" if e.filename else ""
        print(f"gankit {args.command}: error: cannot write{where}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
