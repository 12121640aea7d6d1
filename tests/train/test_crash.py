"""Nothing lost: kill -9 at random moments, a torn checkpoint, a full disk.

The kill test runs ``gankit train`` as a user would, kills it with SIGKILL again and
again (often while a checkpoint is being written: one every two steps), resumes it
each time with ``gankit train --resume``, checks the run folder after every kill, and
ends with the generator of the run never interrupted, bit for bit.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import safetensors.torch
import torch
from PIL import Image

from gankit.cli import main
from gankit.run import RunDir, checkpoint

KILLS = 5  # at least this many kills, at least one of them during a checkpoint write
MAX_KILLS = 30


def config_file(tmp_path: Path, tiny_config) -> Path:
    cfg = tiny_config(train__steps=40, checkpoint__every=2, log__every=2)
    path = tmp_path / "config.yaml"
    path.write_text(cfg.to_yaml())
    return path


def gankit(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the same arithmetic in every process
    return subprocess.Popen([sys.executable, "-m", "gankit", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def written_at(path: Path) -> float:
    """mtime of ``path``, 0 while it does not exist (the trainer renames checkpoints in and out under us)."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def kill_while_training(proc: subprocess.Popen, run: RunDir, during_write: bool, delay: float) -> bool:
    """SIGKILL ``proc`` once it trains: the moment a checkpoint write begins (``during_write``), else
    ``delay`` seconds after a checkpoint. False when it finished first."""
    start = written_at(run.last_checkpoint)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if during_write and run.checkpoints.is_dir() and any(run.checkpoints.glob(".last.pt.*.tmp")):
            break
        if not during_write and written_at(run.last_checkpoint) > start:
            time.sleep(delay)
            break
        time.sleep(0.001)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return True


def check_folder(run: RunDir) -> None:
    """What must hold after any kill: readable folder and config, a loadable checkpoint, pictures that decode."""
    RunDir.open(run.path).read_config()
    run.load_checkpoint()
    run.read_metrics()  # a torn last line is skipped, never a JSON error
    for picture in [*run.epoch_grids(), run.gif]:
        if picture.exists():
            with Image.open(picture) as img:
                img.load()


def test_random_kills_lose_nothing_and_the_run_ends_as_if_never_interrupted(tiny_config, tmp_path):
    cfg = config_file(tmp_path, tiny_config)
    reference = tmp_path / "reference"
    assert gankit("train", "--config", str(cfg), "--out", str(reference), "--quiet").wait(timeout=300) == 0

    run = RunDir(tmp_path / "killed")
    rng = random.Random(0)
    kills = midwrite = 0
    command = ["train", "--config", str(cfg), "--out", str(run.path), "--quiet"]
    while kills < KILLS or (midwrite == 0 and kills < MAX_KILLS):
        proc = gankit(*command)
        if not kill_while_training(proc, run, during_write=kills % 2 == 1, delay=rng.uniform(0.0, 0.5)):
            break  # it finished before it could be killed
        kills += 1
        midwrite += any(run.checkpoints.glob(".last.pt.*.tmp"))  # a write cut short, left as a temporary file
        check_folder(run)
        command = ["train", "--resume", str(run.path), "--quiet"]
    else:
        assert gankit(*command).wait(timeout=300) == 0
    assert kills >= KILLS and midwrite >= 1, (kills, midwrite)

    check_folder(run)
    assert all(line.strip() for line in run.metrics.read_text().splitlines())
    assert [r["step"] for r in run.read_metrics() if "loss_d" in r] == list(range(2, 41, 2))
    done = safetensors.torch.load_file(str(run.generator))
    expected = safetensors.torch.load_file(str(reference / "generator.safetensors"))
    assert done.keys() == expected.keys() and all(torch.equal(done[k], expected[k]) for k in done)


def test_a_torn_newest_checkpoint_is_skipped_with_a_warning(tiny_config, tmp_path, capsys):
    cfg = config_file(tmp_path, tiny_config)
    run = RunDir(tmp_path / "run")
    assert main(["train", "--config", str(cfg), "--out", str(run.path), "--steps", "6", "--quiet"]) == 0
    assert checkpoint.load(run.previous_checkpoint)["step"] == 4
    data = run.last_checkpoint.read_bytes()
    run.last_checkpoint.write_bytes(data[: len(data) // 3])  # torn, as by a crash without atomic writes
    capsys.readouterr()
    assert main(["train", "--resume", str(run.path), "--steps", "8", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.count("warning") == 1 and "resuming from the previous checkpoint last.prev.pt" in err
    assert checkpoint.load(run.last_checkpoint)["step"] == 8


def test_a_full_disk_stops_training_and_keeps_the_previous_checkpoint(tiny_config, tmp_path, monkeypatch, capsys):
    cfg = config_file(tmp_path, tiny_config)
    run = RunDir(tmp_path / "run")
    save, calls = torch.save, []

    def full_after_three(obj, f, *args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return save(obj, f, *args, **kwargs)

    monkeypatch.setattr(checkpoint.torch, "save", full_after_three)
    assert main(["train", "--config", str(cfg), "--out", str(run.path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0] and str(run.checkpoints) in err[0]
    monkeypatch.undo()
    assert checkpoint.load(run.last_checkpoint)["step"] == 4  # the checkpoints of steps 0, 2, 4 were written
    assert not list(run.checkpoints.glob(".*.tmp"))


def test_an_unwritable_run_folder_is_one_line(tiny_config, tmp_path, monkeypatch, capsys):
    cfg = config_file(tmp_path, tiny_config)
    mkdir = Path.mkdir

    def read_only(self, *args, **kwargs):  # what a read-only file system answers
        if "locked" in str(self):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "locked" / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot create run folder" in err[0] and "Read-only file system" in err[0]
