"""The metric table of docs/metrics.md: the real-data floor, then trained runs.

    python tools/metrics_table.py RUN_DIR [RUN_DIR ...]

Rows:
  * real vs itself: the 10,000 MNIST test images scored against themselves, the
    exact floor of each metric (FID 0, precision/recall/coverage 1);
  * train vs test: 10,000 train images (the first) against the 10,000 test images:
    the floor of the default protocol, a perfect generator of MNIST's train split;
  * real vs real, two halves: a random half of the test images against the other
    half (5,000 vs 5,000), the floor at that sample size between different images;
  * each run: its generator.safetensors, 10,000 samples against the 10,000 test images.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

import gankit
from gankit.data import load_dataset
from gankit.metrics import DEFAULT_METRICS
from gankit.metrics.protocol import Reference, evaluate, get_evaluator

COLUMNS = ("fid", "kid_mean", "precision", "recall", "density", "coverage",
           "classes_covered", "kl_to_uniform", "mean_confidence")


def row(name: str, metrics: dict, protocol: str) -> str:
    cells = [f"{metrics[c]:.4g}" if isinstance(metrics[c], float) else str(metrics[c]) for c in COLUMNS]
    return f"| {name} | " + " | ".join(cells) + f" | {protocol} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="*", help="run folders to score")
    p.add_argument("--data-root", help="folder with the MNIST test split")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--dataset", default="mnist", choices=["mnist", "fashion-mnist"])
    p.add_argument("--evaluator", default="auto", help="e.g. mnist-cnn-v1 for the numbers measured with it")
    args = p.parse_args()

    evaluator = get_evaluator(args.evaluator, args.dataset)
    data = load_dataset(args.dataset, "test", root=args.data_root)
    train_images = load_dataset(args.dataset, "train", root=args.data_root).images
    reference = Reference.from_dataset(evaluator, args.dataset, "test", args.n, root=args.data_root)
    print("| samples | " + " | ".join(COLUMNS) + " | protocol |")
    print("|" + " --- |" * (len(COLUMNS) + 2))

    same = evaluate(lambda n, seed: data.images[:n], reference, n=args.n)
    print(row("real test vs itself", same["metrics"], f"{args.n} vs {args.n}"))

    trained = evaluate(lambda n, seed: train_images[:n], reference, n=args.n)
    print(row("real train vs test", trained["metrics"], f"{args.n} vs {args.n}"))

    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(0))
    half_a, half_b = data.images[perm[: len(data) // 2]], data.images[perm[len(data) // 2 :]]
    ref_a = Reference(evaluator, half_a, {"dataset": args.dataset, "split": "test (a random half)"})
    halves = evaluate(lambda n, seed: half_b[:n], ref_a, n=len(half_b))
    print(row("real test, one half vs the other", halves["metrics"], f"{len(half_b)} vs {len(half_a)}"))

    for run in args.runs:
        t0 = time.perf_counter()
        sampler = gankit.load(run)
        result = evaluate(sampler.sample, reference, n=args.n, metrics=DEFAULT_METRICS)
        name = f"{sampler.config.name}, {sampler.step} steps"
        print(row(name, result["metrics"], f"{args.n} vs {args.n}, seed 0"))
        print(f"  ({run}: {time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    print(f"\nevaluator {evaluator.name}, sha256 {evaluator.sha256}; gankit {gankit.__version__}")


if __name__ == "__main__":
    main()
