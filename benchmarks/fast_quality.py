"""Does the fast setting keep quality? The seed's DCGAN trained the same number of
steps in float32 and in each fast setting, over several seeds, each scored with
the default protocol (10,000 samples against the MNIST test images).

    python benchmarks/fast_quality.py --data-root ../shared/data/mnist --steps 1000 --seeds 0 1

A fast setting keeps quality when its mean FID lies within the float32 runs'
seed-to-seed spread (their min to max) widened by its own spread.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import gankit
from gankit import config as C
from gankit import presets
from gankit.metrics.evaluate import Reference, evaluate
from gankit.train.loop import train
from gankit.train.run_dir import RunDir

SETTINGS = {
    "float32": [],
    "bf16": ["train.precision=bf16"],
    "bf16 + simultaneous": ["train.precision=bf16", "optim.update=simultaneous"],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="gankit-fast-"))
    fids: dict[str, list[float]] = {}
    reference = None
    for name, sets in SETTINGS.items():
        for seed in args.seeds:
            data = presets.load("dcgan-mnist")
            for key, value in [("data.root", args.data_root), ("data.split", "test"), ("train.steps", args.steps),
                               ("train.seed", seed), ("train.device", "cpu"), ("log.tensorboard", False),
                               *(C.parse_override(s) for s in sets)]:
                data = C.set_key(data, key, value)
            cfg = C.from_dict(data)
            run = RunDir.create(root / f"{name.replace(' ', '')}-{seed}", "r")
            t0 = time.perf_counter()
            train(cfg, run, verbose=False)
            seconds = time.perf_counter() - t0
            reference = reference or Reference.for_run(cfg)
            fid = evaluate(gankit.load(run.path).sample, reference, metrics=["fid"])["metrics"]["fid"]
            fids.setdefault(name, []).append(fid)
            print(f"{name:<22} seed {seed}: FID {fid:7.1f}  ({args.steps} steps in {seconds:.0f} s)", flush=True)
    base = fids["float32"]
    print(f"\n| setting | FID per seed | mean | within float32's spread ({min(base):.1f}-{max(base):.1f}) |")
    print("| --- | --- | --- | --- |")
    for name, values in fids.items():
        m = statistics.mean(values)
        ok = min(base) - (max(values) - min(values)) <= m <= max(base) + (max(values) - min(values))
        print(f"| {name} | {', '.join(f'{v:.1f}' for v in values)} | {m:.1f} | {'yes' if ok else 'no'} |")


if __name__ == "__main__":
    main()
