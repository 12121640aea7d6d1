"""Does the fast setting keep quality? The tutorial's DCGAN trained the same number of
steps in float32 and in each fast setting, over several seeds, each scored with
the default protocol (10,000 samples against the MNIST test images).

    python benchmarks/fast_quality.py --steps 1000 --seeds 0 1
    python benchmarks/fast_quality.py --device cuda --setting "graph=train.precision=bf16 train.cuda_graph=true" ...

A fast setting keeps quality when its mean FID is no worse than the float32 runs'
worst seed plus the fast setting's own seed-to-seed spread; the table also says
whether it lies within float32's spread, or below it (better).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import gankit
from gankit import presets
from gankit.metrics.protocol import Reference, evaluate
from gankit.run import RunDir
from gankit.train.loop import train

SETTINGS = {
    "float32": ["train.precision=fp32"],
    "bf16": ["train.precision=bf16"],
    "bf16 + simultaneous": ["train.precision=bf16", "optim.update=simultaneous"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--device", default="cpu")
    p.add_argument("--setting", action="append", metavar="NAME=KEY=VALUE ...",
                   help="a setting to compare with float32: a name, '=', then space-separated config overrides "
                        "(repeatable; default: bf16, and bf16 + simultaneous)")
    args = p.parse_args()
    given = {n: o.split() for n, _, o in (t.partition("=") for t in args.setting or [])}
    settings = {"float32": SETTINGS["float32"], **given} if given else SETTINGS
    root = Path(tempfile.mkdtemp(prefix="gankit-fast-"))
    fids: dict[str, list[float]] = {}
    reference = None
    for name, sets in settings.items():
        for seed in args.seeds:
            cfg = presets.config("dcgan-mnist", {"data.root": args.data_root, "data.split": "test",
                                                 "train.steps": args.steps, "train.seed": seed,
                                                 "train.device": args.device, "log.tensorboard": False}, sets)
            run = RunDir.create(root / f"{name.replace(' ', '')}-{seed}", "r")
            t0 = time.perf_counter()
            train(cfg, run, verbose=False)
            seconds = time.perf_counter() - t0
            reference = reference or Reference.for_run(cfg)
            fid = evaluate(gankit.load(run.path, device=args.device).sample, reference,
                           metrics=["fid"])["metrics"]["fid"]
            fids.setdefault(name, []).append(fid)
            print(f"{name:<22} seed {seed}: FID {fid:7.1f}  ({args.steps} steps in {seconds:.0f} s)", flush=True)
    base = fids["float32"]
    print(f"\n| setting | FID per seed | mean | against float32's spread ({min(base):.1f}-{max(base):.1f}) "
          "| keeps quality |")
    print("| --- | --- | --- | --- | --- |")
    for name, values in fids.items():
        m, own = statistics.mean(values), max(values) - min(values)
        where = "below (better)" if m < min(base) - own else "above (worse)" if m > max(base) + own else "within"
        keeps = "yes" if m <= max(base) + own else "no"
        print(f"| {name} | {', '.join(f'{v:.1f}' for v in values)} | {m:.1f} | {where} | {keeps} |")


if __name__ == "__main__":
    main()
