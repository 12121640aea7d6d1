"""Data-parallel training with torchrun on CPU (gloo, 2 processes), for real."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from gankit.run import checkpoint

STEPS = 3


def flags(mnist_root, out, batch, steps=STEPS, *extra):
    return ["train", "--dataset", "mnist", "--data-root", str(mnist_root), "--split", "test", "--device", "cpu",
            "--batch-size", str(batch), "--steps", str(steps), "--out", str(out), "--quiet",
            "--set", "data.subset=256", "--set", "model.dropout=0", "--set", "log.grid=16", "--set", "log.every=1",
            "--set", "log.tensorboard=false", "--set", "train.precision=fp32",
            # Adam divides each gradient by its own running size, so where a gradient is
            # near its eps (1e-8) float rounding (the ranks sum in another order) moves an
            # update by a share of lr: a small lr keeps those differences well under 1e-5.
            "--set", "optim.lr_g=5e-6", "--set", "optim.lr_d=5e-6", *extra]


def gankit(*args, procs=1, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    if procs == 1:
        cmd = [sys.executable, "-m", "gankit", *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={procs}",
               "-m", "gankit", *args]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def weights(run):
    ck = checkpoint.load(run / "checkpoints" / "last.pt")
    return {f"{net}.{k}": v for net in ("G", "D") for k, v in ck["models"][net].items() if v.is_floating_point()}


def max_diff(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.fixture(scope="module")
def single(mnist_root, tmp_path_factory):
    run = tmp_path_factory.mktemp("ddp") / "single"
    gankit(*flags(mnist_root, run, 32))
    return weights(run)


def test_two_processes_equal_one_with_the_same_global_batch(single, mnist_root, tmp_path):
    # 2 ranks x 16 images with BatchNorm over the global batch == 1 process x 32 images
    run = tmp_path / "ddp"
    gankit(*flags(mnist_root, run, 16, STEPS, "--set", "train.sync_bn=true"), procs=2)
    two = weights(run)
    assert two.keys() == single.keys()
    assert max_diff(two, single) < 1e-5
    ck = checkpoint.load(run / "checkpoints" / "last.pt")
    assert ck["world_size"] == 2 and len(ck["rng"]) == 2
    # rank 0 alone wrote the run: one metrics line per step, with the global batch's throughput
    records = [r for r in (run / "metrics.jsonl").read_text().splitlines() if r]
    assert len(records) == STEPS


def test_per_rank_batchnorm_is_the_default_and_differs(single, mnist_root, tmp_path):
    synced, local = tmp_path / "synced", tmp_path / "local"
    gankit(*flags(mnist_root, synced, 16, STEPS, "--set", "train.sync_bn=true"), procs=2)
    gankit(*flags(mnist_root, local, 16), procs=2)
    # G's BatchNorm saw 16 images a rank, not 32: far from the single run, unlike sync_bn
    assert max_diff(weights(local), single) > 10 * max_diff(weights(synced), single)


def test_two_processes_stop_and_resume_exactly(mnist_root, tmp_path):
    whole, part = tmp_path / "whole", tmp_path / "part"
    gankit(*flags(mnist_root, whole, 16, 4, "--set", "model.dropout=0.3"), procs=2)
    gankit(*flags(mnist_root, part, 16, 2, "--set", "model.dropout=0.3"), procs=2)
    gankit("train", "--resume", str(part), "--steps", "4", "--quiet", procs=2)
    a, b = weights(whole), weights(part)
    assert all(torch.equal(a[k], b[k]) for k in a)  # per-rank dropout streams resumed too
    # resuming with another number of processes is refused with a clear message
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "gankit", "train", "--resume", str(part), "--steps", "5"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "same number" in out.stderr
