"""Training throughput of the seed's DCGAN (batch 128): gankit against its baselines.

Runs, one after the other, on the same device, model and batch:
  (a) eager   the plain eager PyTorch loop a person writes first (reference_dcgan.py)
  (b) gankit  gankit's trainer: float32, its default (train.precision=auto: bf16 where
              the device computes it natively), and its fastest setting (+ the
              simultaneous D/G update)
  (c) tf      the seed's TensorFlow/Keras pipeline with a tf.function step
              (tf_dcgan.py), when a Python with TensorFlow is given (--tf-python)
and prints images/s (median of timed windows after warm-up), the ratios, and the
fraction of the device's measured matrix-multiply peak each reaches (one training
image costs about 0.49 GFLOP: D on real and fake, forward and backward, and G
forward and backward through D).

    python benchmarks/throughput.py --data-root ../shared/data/mnist [--tf-python /path/to/python]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import reference_dcgan  # noqa: E402

GFLOP_PER_IMAGE = 0.49


def windows(step: Callable[[], None], warmup: int, window: int, count: int, sync: Callable[[], None]) -> list[float]:
    """Steps per second over ``count`` windows of ``window`` steps, after ``warmup`` steps."""
    for _ in range(warmup):
        step()
    sync()
    rates = []
    for _ in range(count):
        t0 = time.perf_counter()
        for _ in range(window):
            step()
        sync()
        rates.append(window / (time.perf_counter() - t0))
    return rates


def peak_gflops(device: torch.device, dtype: torch.dtype, reps: int = 5) -> float:
    """The best matrix-multiply rate over a few sizes and trials: the device's practical peak."""
    best = 0.0
    sync = _sync(device)
    for n in (1024, 2048, 4096) if device.type == "cpu" else (4096, 8192):
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        a @ b
        for _ in range(3):
            sync()
            t0 = time.perf_counter()
            for _ in range(reps):
                a @ b
            sync()
            best = max(best, 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9)
    return best


def _sync(device: torch.device) -> Callable[[], None]:
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def eager_rates(images: torch.Tensor, args: argparse.Namespace, device: torch.device) -> list[float]:
    marks: list[float] = []
    total = args.warmup + args.window * args.windows
    sync = _sync(device)

    def on_step(i: int) -> None:
        if i >= args.warmup and (i - args.warmup) % args.window == 0:
            sync()
            marks.append(time.perf_counter())

    reference_dcgan.train(images, total, args.batch_size, on_step, device=device)
    return [args.window * args.batch_size / (b - a) for a, b in zip(marks, marks[1:])]


def gankit_rates(args: argparse.Namespace, device: torch.device, sets: list[str]) -> list[float]:
    from gankit import config as C
    from gankit import presets
    from gankit.train.trainer import Trainer

    data = presets.load("dcgan-mnist")
    for key, value in [("data.root", args.data_root), ("data.split", "test"), ("train.batch_size", args.batch_size),
                       ("train.device", str(device)), *(C.parse_override(s) for s in sets)]:
        data = C.set_key(data, key, value)
    trainer = Trainer(C.from_dict(data))
    rates = windows(trainer.train_step, args.warmup, args.window, args.windows, _sync(device))
    return [r * args.batch_size for r in rates]


def tf_rates(images: torch.Tensor, args: argparse.Namespace) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "images.npy"
        np.save(path, images[:, 0].numpy())
        out = subprocess.run([args.tf_python, str(HERE / "tf_dcgan.py"), "--images", str(path), "--warmup",
                              str(args.warmup), "--window", str(args.window), "--windows", str(args.windows),
                              "--batch-size", str(args.batch_size)],
                             capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    if out.returncode:
        raise RuntimeError(f"the TensorFlow pipeline failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])["images_per_s"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", help="folder with the MNIST test split")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--window", type=int, default=10)
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--tf-python", help="a Python interpreter with TensorFlow installed, for (c)")
    p.add_argument("--fast", nargs="*", default=["train.precision=bf16", "optim.update=simultaneous"],
                   help="the config overrides of gankit's fast setting")
    args = p.parse_args()

    from gankit.data import load_dataset

    device = torch.device(args.device)
    images = load_dataset("mnist", "test", root=args.data_root).images
    peak32 = peak_gflops(device, torch.float32)
    peak16 = peak_gflops(device, torch.bfloat16)
    results: dict[str, list[float]] = {}
    results["eager (a)"] = eager_rates(images, args, device)
    results["gankit float32"] = gankit_rates(args, device, ["train.precision=fp32"])
    results["gankit default (b)"] = gankit_rates(args, device, [])
    results["gankit fastest"] = gankit_rates(args, device, args.fast)
    if args.tf_python:
        results["tensorflow (c)"] = tf_rates(images, args)

    print(f"device {device} ({torch.get_num_threads()} threads), batch {args.batch_size}; "
          f"measured matmul peak: float32 {peak32:.0f} GFLOP/s, bfloat16 {peak16:.0f} GFLOP/s")
    from gankit.device import resolve_precision

    print(f"default setting: train.precision=auto -> {resolve_precision('auto', device)}; "
          f"fastest: {' '.join(args.fast)}")
    print(f"{'pipeline':<18} {'images/s':>9} {'spread':>13} {'GFLOP/s':>8} {'of f32 peak':>11} {'of bf16 peak':>12}")
    medians = {}
    for name, rates in results.items():
        m = medians[name] = statistics.median(rates)
        gf = m * GFLOP_PER_IMAGE
        print(f"{name:<18} {m:9.0f} {min(rates):6.0f}-{max(rates):<6.0f} {gf:8.0f} {gf / peak32:11.0%} "
              f"{gf / peak16:12.0%}")
    for name in ("gankit default (b)", "gankit fastest"):
        ratios = [f"{medians[name] / medians['eager (a)']:.2f}x eager"]
        if "tensorflow (c)" in medians:
            ratios.append(f"{medians[name] / medians['tensorflow (c)']:.2f}x tensorflow")
        print(f"{name}: {', '.join(ratios)}")


if __name__ == "__main__":
    main()
