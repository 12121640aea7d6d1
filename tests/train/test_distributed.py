"""Data-parallel training with torchrun on CPU (gloo, 2 processes), for real."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys

import pytest
import torch

from gankit.run import checkpoint

STEPS = 3
WHOLE_STEPS = 8  # the runs stopped, killed and resumed
RESUMED = ("--set", "checkpoint.every=2", "--set", "model.dropout=0.3")


def flags(mnist_root, out, batch, steps=STEPS, *extra):
    """A tiny DCGAN run (no dropout, unless ``extra`` sets it), or with ``extra`` another model's."""
    translates = any(x.startswith("model.arch=") for x in extra)  # a translation model has no dropout to set
    return ["train", "--dataset", "mnist", "--data-root", str(mnist_root), "--split", "test", "--device", "cpu",
            "--batch-size", str(batch), "--steps", str(steps), "--out", str(out), "--quiet",
            "--set", "data.subset=256", *([] if translates else ["--set", "model.dropout=0"]),
            "--set", "log.grid=16", "--set", "log.every=1",
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


@pytest.fixture(scope="module")
def synced(mnist_root, tmp_path_factory):
    """2 ranks x 16 images with BatchNorm over the global batch, logging to TensorBoard."""
    run = tmp_path_factory.mktemp("ddp") / "synced"
    gankit(*flags(mnist_root, run, 16, STEPS, "--set", "train.sync_bn=true", "--set", "log.tensorboard=true"),
           procs=2)
    return run


@pytest.fixture(scope="module")
def whole(mnist_root, tmp_path_factory):
    """A two-process run never interrupted, with per-rank dropout streams and a checkpoint every 2 steps."""
    run = tmp_path_factory.mktemp("ddp") / "whole"
    gankit(*flags(mnist_root, run, 16, WHOLE_STEPS, *RESUMED), procs=2)
    return weights(run)


def test_two_processes_equal_one_with_the_same_global_batch(single, synced):
    # 2 ranks x 16 images with BatchNorm over the global batch == 1 process x 32 images
    two = weights(synced)
    assert two.keys() == single.keys()
    assert max_diff(two, single) < 1e-5
    ck = checkpoint.load(synced / "checkpoints" / "last.pt")
    assert ck["world_size"] == 2 and len(ck["rng"]) == 2
    # rank 0 alone wrote the run: one metrics line per step, with the global batch's throughput
    records = [r for r in (synced / "metrics.jsonl").read_text().splitlines() if r]
    assert len(records) == STEPS


def test_per_rank_batchnorm_is_the_default_and_differs(single, synced, mnist_root, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    local = tmp_path / "local"
    # the workers end without the interpreter's shutdown (distributed.leave): TensorBoard's
    # file was closed before, so it holds every step
    events = EventAccumulator(str(synced / "tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss_g")] == list(range(1, STEPS + 1))
    gankit(*flags(mnist_root, local, 16), procs=2)
    # G's BatchNorm saw 16 images a rank, not 32: far from the single run, unlike sync_bn
    assert max_diff(weights(local), single) > 10 * max_diff(weights(synced), single)


def test_two_processes_stop_and_resume_exactly(whole, mnist_root, tmp_path):
    part = tmp_path / "part"
    gankit(*flags(mnist_root, part, 16, 3, *RESUMED), procs=2)
    gankit("train", "--resume", str(part), "--steps", str(WHOLE_STEPS), "--quiet", procs=2)
    b = weights(part)
    assert all(torch.equal(whole[k], b[k]) for k in whole)  # per-rank dropout streams resumed too
    # resuming with another number of processes is refused with a clear message
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "gankit", "train", "--resume", str(part), "--steps", "9"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "same number" in out.stderr


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_on_one_machine_train_as_one_process(single, mnist_root, tmp_path):
    """Two torchrun launchers, one process each, meeting through a c10d rendezvous on 127.0.0.1."""
    run, port = tmp_path / "nodes", free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    launchers = [subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--nnodes=2", "--nproc-per-node=1", "--rdzv-backend=c10d",
         f"--rdzv-endpoint=127.0.0.1:{port}", "--rdzv-id=gankit-test", "-m", "gankit",
         *flags(mnist_root, run, 16, STEPS, "--set", "train.sync_bn=true")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for launcher in launchers:
        _, err = launcher.communicate(timeout=300)
        assert launcher.returncode == 0, err[-3000:]
    assert max_diff(weights(run), single) < 1e-5
    assert checkpoint.load(run / "checkpoints" / "last.pt")["world_size"] == 2


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux's /proc)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        text = open(f"/proc/{pid}/task/{task}/children").read()
        found += [int(c) for c in text.split()]
    return found


def test_a_killed_worker_is_restarted_and_the_group_resumes_exactly(whole, mnist_root, tmp_path):
    """torchrun --max-restarts: SIGKILL one worker mid-run; the restarted workers resume on their own
    (no --resume by hand) and the run ends as the one never interrupted."""
    import signal
    import time

    killed = tmp_path / "killed"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    agent = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                              "--max-restarts=2", "-m", "gankit",
                              *flags(mnist_root, killed, 16, WHOLE_STEPS, *RESUMED)],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        last, metrics = killed / "checkpoints" / "last.pt", killed / "metrics.jsonl"
        # step 3 logged: the checkpoint of step 2 is on disk, and steps are left to train after the kill
        while time.monotonic() < deadline and not (metrics.exists() and metrics.read_text().count("\n") >= 3):
            time.sleep(0.01)
        workers = children(agent.pid)
        assert len(workers) == 2 and agent.poll() is None
        os.kill(workers[-1], signal.SIGKILL)  # rank 1, while rank 0 may be writing a checkpoint
        _, err = agent.communicate(timeout=300)
    finally:  # leave nothing running behind a failure
        with contextlib.suppress(OSError):  # the agent and its workers may be gone already
            for pid in [*children(agent.pid), agent.pid]:
                os.kill(pid, signal.SIGKILL)
    assert agent.returncode == 0, err[-3000:]
    assert "exitcode: -9" in err  # torchrun saw the killed worker, and restarted the group
    b = weights(killed)
    assert checkpoint.load(last)["step"] == WHOLE_STEPS and all(torch.equal(whole[k], b[k]) for k in whole)


def test_a_lost_peer_ends_in_an_error_not_a_hang(mnist_root, tmp_path):
    """Rank 1 never starts (torchrun is told there are two, one comes): rank 0 stops after
    train.dist_timeout with one clear error instead of waiting for ever."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "0",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}
    out = subprocess.run([sys.executable, "-m", "gankit", *flags(mnist_root, tmp_path / "alone", 16, STEPS,
                                                                  "--set", "train.dist_timeout=5")],
                         env=env, capture_output=True, text=True, timeout=120)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1, out.stderr[-2000:]
    assert "rank 0: the other processes stopped answering within train.dist_timeout=5 s" in lines[0]


def translation_flags(mnist_root, out, batch, steps, *extra):
    """A tiny inpainting run: holes at random places, drawn for the global batch however it is split."""
    return flags(mnist_root, out, batch, steps, "--set", "model.arch=unet", "--set", "model.width=8",
                 "--set", "pair.kind=degrade", "--set", "pair.degradation=inpaint", "--set", "pair.hole=10",
                 "--set", "pair.hole_position=random", "--set", "log.grid=8", *extra)


CYCLE = ["--set", "pair.kind=unpaired", "--set", "pair.dataset_b=mnist", "--set", "model.arch=resnet-gen",
         "--set", "model.blocks=1", "--set", "model.width=8", "--set", "loss.name=lsgan",
         "--set", "translate.pool_size=4", "--set", "log.grid=8"]


def test_a_translation_run_on_two_processes_equals_one_with_the_same_global_batch(mnist_root, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    # D's penalty: a second differentiation through the DDP-wrapped D. Spectral norm in place of D's
    # BatchNorm, whose batch statistics would tie each sample's gradient to the other process's samples
    r1 = ("--set", "reg.name=r1", "--set", "model.spectral_norm=true")
    gankit(*translation_flags(mnist_root, one, 32, STEPS, *r1))
    # rank 0 scores G during training (the translation protocol) while the other waits
    gankit(*translation_flags(mnist_root, two, 16, STEPS, *r1, "--set", "train.sync_bn=true", "--set", "eval.every=2",
                              "--set", "eval.n=40"), procs=2)
    a, b = weights(one), weights(two)
    assert a.keys() == b.keys() and any(k.startswith("D.") for k in a)
    assert max_diff(a, b) < 1e-5
    assert (two / "generator.safetensors").exists()
    evaluations = [json.loads(r) for r in (two / "metrics.jsonl").read_text().splitlines() if '"psnr"' in r]
    assert [r["step"] for r in evaluations] == [2] and evaluations[0]["fid"] > 0


def test_a_cycle_run_on_two_processes_equals_one_with_the_same_global_batch(mnist_root, tmp_path):
    """The cycle step calls its generators' two directions apart, outside DDP's forward: it must
    average the gradients itself, or each rank would train a model of its own."""
    one, two = tmp_path / "one", tmp_path / "two"
    no_pool = [*CYCLE, "--set", "translate.pool_size=0"]  # a pool's choices are per rank: D sees the fakes as made
    gankit(*flags(mnist_root, one, 16, STEPS, *no_pool))
    gankit(*flags(mnist_root, two, 8, STEPS, *no_pool, "--set", "train.sync_bn=true"), procs=2)
    a, b = weights(one), weights(two)
    assert a.keys() == b.keys()
    # the convolutions' weights; a bias before InstanceNorm has a gradient of float noise (the norm
    # removes it), which Adam scales up to a step of lr either way
    conv = [k for k in a if k.endswith(".weight")]
    assert max((a[k] - b[k]).abs().max().item() for k in conv) < 1e-6  # 3e-5 when each rank trains alone


def test_a_cycle_run_on_two_processes_stops_and_resumes_exactly(mnist_root, tmp_path):
    """Each rank keeps its own pool of past fakes: a resumed rank must get its own back."""
    whole, part = tmp_path / "whole", tmp_path / "part"
    gankit(*flags(mnist_root, whole, 8, 4, *CYCLE), procs=2)
    gankit(*flags(mnist_root, part, 8, 2, *CYCLE), procs=2)
    gankit("train", "--resume", str(part), "--steps", "4", "--quiet", procs=2)
    a, b = weights(whole), weights(part)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_worker_leaves_with_its_output_and_without_the_interpreter_shutdown():
    """distributed.leave: the code, stdout and stderr flushed into pipes, and no atexit handler run
    (the shutdown during which a worker beside gloo's lingering threads could abort)."""
    code = ("import atexit, sys; from gankit.train.distributed import leave; "
            "atexit.register(print, 'shutdown ran'); print('run done'); sys.stderr.write('to stderr'); leave(3)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (out.returncode, out.stdout, out.stderr) == (3, "run done\n", "to stderr")


def test_a_torchrun_worker_leaves_through_distributed_leave(monkeypatch):
    from gankit import cli
    from gankit.train import distributed

    left = []

    def leave(code):
        left.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(cli, "run_command", lambda args: 5)
    monkeypatch.setattr(distributed, "leave", leave)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert cli.main(["train"]) == 5 and left == []  # a single process returns as usual
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert cli.main(["list", "losses"]) == 5 and left == []  # only training joins a process group
    with pytest.raises(SystemExit):
        cli.main(["train"])
    assert left == [5]
