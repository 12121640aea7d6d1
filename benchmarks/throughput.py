"""Training throughput of the tutorial's DCGAN (batch 128): gankit against its baselines.

Runs, one after the other, on the same device, model and batch:
  (a) eager   the plain eager PyTorch loop a person writes first (reference_dcgan.py)
  (b) gankit  gankit's trainer: float32, its default (train.precision=auto: bf16 where
              the device computes it natively), and its fastest setting (+ the
              simultaneous D/G update)
  (c) tf      the tutorial's TensorFlow/Keras pipeline with a tf.function step
              (tf_dcgan.py), when a Python with TensorFlow is given (--tf-python)
and prints images/s (median of timed windows after warm-up), the ratios, and the
fraction of the device's measured matrix-multiply peak each reaches (one training
image costs about 0.49 GFLOP: D on real and fake, forward and backward, and G
forward and backward through D).

    python benchmarks/throughput.py [--tf-python /path/to/python]
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


def windows(step: Callable[[], None], args: argparse.Namespace, sync: Callable[[], None]) -> list[float]:
    """Steps per second over ``args.windows`` timed windows, after ``args.warmup`` steps."""
    for _ in range(args.warmup):
        step()
    window = window_steps(step, args, sync)
    rates = []
    for _ in range(args.windows):
        t0 = time.perf_counter()
        for _ in range(window):
            step()
        sync()
        rates.append(window / (time.perf_counter() - t0))
    return rates


def window_steps(step: Callable[[], None], args: argparse.Namespace, sync: Callable[[], None]) -> int:
    """``args.window`` steps, or with ``--window-seconds`` as many as fill that time (fast GPUs)."""
    if not args.window_seconds:
        return args.window
    sync()
    t0 = time.perf_counter()
    for _ in range(3):
        step()
    sync()
    return max(3, round(args.window_seconds / ((time.perf_counter() - t0) / 3)))


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
    sync = _sync(device)
    window = args.window
    if args.window_seconds:  # a short run first, to size the windows
        ends: list[float] = []  # the time each warm-up step ended; the second half is timed
        reference_dcgan.train(images, max(args.warmup, 4), args.batch_size,
                              lambda i: (sync(), ends.append(time.perf_counter())), device=device)
        half = len(ends) // 2
        step_s = (ends[-1] - ends[half]) / (len(ends) - 1 - half)
        window = max(3, round(args.window_seconds / step_s))
    marks: list[float] = []
    total = args.warmup + window * args.windows

    def on_step(i: int) -> None:
        if i >= args.warmup and (i - args.warmup) % window == 0:
            sync()
            marks.append(time.perf_counter())

    reference_dcgan.train(images, total, args.batch_size, on_step, device=device)
    return [window * args.batch_size / (b - a) for a, b in zip(marks, marks[1:])]


def gankit_rates(args: argparse.Namespace, device: torch.device, sets: list[str],
                 compile_mode: str = "") -> list[float]:
    """gankit's Trainer with config overrides ``sets``; with ``compile_mode``, its G and D are
    also passed through torch.compile (measured, not offered: it was slower, see docs/performance.md)."""
    from gankit import presets
    from gankit.train.trainer import Trainer

    values = {"data.root": args.data_root, "data.split": "test", "train.batch_size": args.batch_size,
              "train.device": str(device)}
    # compiled modules are captured by torch.compile itself, not as one graph of the step
    overrides = [*sets, "train.cuda_graph=false"] if compile_mode else sets
    trainer = Trainer(presets.config("dcgan-mnist", values, overrides))
    step = trainer.train_step
    if compile_mode:
        s = trainer.step_fn
        s.G, s.D = (torch.compile(m, mode=compile_mode) for m in (s.G, s.D))

        def step() -> None:
            torch.compiler.cudagraph_mark_step_begin()  # reduce-overhead: the last step's outputs are done with
            trainer.train_step()

    rates = windows(step, args, _sync(device))
    return [r * args.batch_size for r in rates]


def sampling_rates(args: argparse.Namespace, device: torch.device, batch_size: int) -> list[float]:
    """Images/s of generating 10,000 samples as evaluation does (inference mode, uint8 on the CPU)."""
    from gankit import config as C
    from gankit.models import build_generator
    from gankit.sampling import generate

    G = build_generator(C.Config().model, (1, 28, 28), 0).to(device)
    generate(G, batch_size, 0, device, batch_size)  # warm-up
    rates = []
    for seed in range(args.windows):
        t0 = time.perf_counter()
        generate(G, 10_000, seed, device, batch_size)
        rates.append(10_000 / (time.perf_counter() - t0))
    return rates


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


DEFAULT_SETTINGS = ["gankit float32=train.precision=fp32", "gankit default (b)=",
                    "gankit fastest=train.precision=bf16 optim.update=simultaneous"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", help="folder with the MNIST test split")
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--window", type=int, default=10, help="steps per timed window")
    p.add_argument("--window-seconds", type=float, help="instead: as many steps per window as fill this time")
    p.add_argument("--windows", type=int, default=5)
    p.add_argument("--tf-python", help="a Python interpreter with TensorFlow installed, for (c)")
    p.add_argument("--setting", action="append", metavar="NAME=KEY=VALUE ...",
                   help="a gankit setting to time: a name, '=', then space-separated config overrides "
                        "(repeatable; default: float32, the default (b), and the fastest CPU setting)")
    p.add_argument("--sampling", action="store_true", help="also time generating 10,000 samples")
    p.add_argument("--compile", nargs="+", default=[], metavar="MODE",
                   help="also time each setting with G and D through torch.compile in these modes "
                        "(default, reduce-overhead, max-autotune)")
    p.add_argument("--json", help="append the results to this file as one JSON line")
    args = p.parse_args()

    from gankit.data import load_dataset

    device = torch.device(args.device)
    images = load_dataset("mnist", "test", root=args.data_root).images
    peak32 = peak_gflops(device, torch.float32)
    peak16 = peak_gflops(device, torch.bfloat16)
    results: dict[str, list[float]] = {}
    settings = {}

    def measure(name: str, fn: Callable[[], list[float]]) -> None:
        """Run one measurement and say its median at once (a long run cut short keeps what it had)."""
        try:
            results[name] = fn()
            print(f"measured {name}: {statistics.median(results[name]):.0f} images/s", flush=True)
        except Exception as e:  # one failing setting must not cost the others' numbers
            print(f"{name}: FAILED: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", flush=True)

    measure("eager (a)", lambda: eager_rates(images, args, device))
    for text in args.setting or DEFAULT_SETTINGS:
        name, _, overrides = text.partition("=")
        settings[name] = overrides.split()
        measure(name, lambda: gankit_rates(args, device, settings[name]))
        for mode in args.compile:
            measure(f"{name}, compile {mode}", lambda: gankit_rates(args, device, settings[name], mode))
    if args.tf_python:
        measure("tensorflow (c)", lambda: tf_rates(images, args))
    if args.sampling:
        for b in (1000, 10_000):
            measure(f"sampling, batch {b}", lambda: sampling_rates(args, device, b))

    print(f"device {device} ({torch.get_num_threads()} threads), batch {args.batch_size}; "
          f"measured matmul peak: float32 {peak32:.0f} GFLOP/s, bfloat16 {peak16:.0f} GFLOP/s")
    from gankit.device import resolve_precision

    print(f"default setting: train.precision=auto -> {resolve_precision('auto', device)}")
    for name, sets in settings.items():
        print(f"  {name}: {' '.join(sets) or '(the defaults)'}")
    print(f"{'pipeline':<34} {'images/s':>9} {'spread':>15} {'GFLOP/s':>8} {'of f32 peak':>11} {'of bf16 peak':>12}")
    medians = {}
    for name, rates in results.items():
        m = medians[name] = statistics.median(rates)
        if name.startswith("sampling"):
            print(f"{name:<34} {m:9.0f} {min(rates):7.0f}-{max(rates):<7.0f} (10,000 images in {1e4 / m:.2f} s)")
            continue
        gf = m * GFLOP_PER_IMAGE
        print(f"{name:<34} {m:9.0f} {min(rates):7.0f}-{max(rates):<7.0f} {gf:8.0f} {gf / peak32:11.1%} "
              f"{gf / peak16:12.1%}")
    for name in medians:
        if name.startswith(("eager", "tensorflow", "sampling")) or "eager (a)" not in medians:
            continue
        ratios = [f"{medians[name] / medians['eager (a)']:.2f}x eager"]
        if "tensorflow (c)" in medians:
            ratios.append(f"{medians[name] / medians['tensorflow (c)']:.2f}x tensorflow")
        print(f"{name}: {', '.join(ratios)}")
    if args.json:
        record = {"device": str(device), "name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
                  "torch": torch.__version__, "batch_size": args.batch_size, "peak_gflops": {"fp32": peak32,
                  "bf16": peak16}, "settings": settings, "images_per_s": results}
        with open(args.json, "a") as f:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
