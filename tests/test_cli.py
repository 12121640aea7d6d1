"""The command line: its commands, its help, and its error paths."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from gankit.cli import main
from gankit.run import checkpoint


def run_main(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def usage_error(capsys, *argv):
    """Run argv expecting a usage or input error: status 2 and exactly one line on stderr.

    argparse's own errors exit via SystemExit; errors in what the user supplied
    (config values, paths, files) come back from main() as status 2.
    """
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    _, err = capsys.readouterr()
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


def tiny_flags(mnist_root, out):
    return ["--dataset", "mnist", "--data-root", str(mnist_root), "--split", "test", "--device", "cpu",
            "--batch-size", "32", "--out", str(out), "--set", "data.subset=256", "--set", "log.grid=16",
            "--set", "log.tensorboard=false", "--set", "train.precision=fp32", "--quiet"]


@pytest.mark.parametrize("what, expected", [
    ("presets", "dcgan-mnist"), ("models", "dcgan-28"), ("losses", "nonsaturating"),
    ("datasets", "fashion-mnist"), ("config", "optim.lr_g"), ("regularizers", "dragan"), ("metrics", "toy-modes"),
])
def test_list(capsys, what, expected):
    code, out, _ = run_main(capsys, "list", what)
    assert code == 0 and expected in out


@pytest.mark.parametrize("argv", [[], ["train"], ["sample"], ["evaluate"], ["list"]])
def test_every_command_has_help(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv + ["--help"])
    assert e.value.code == 0 and "usage: gankit" in capsys.readouterr().out


def test_python_dash_m_and_console_script_agree():
    out = subprocess.run([sys.executable, "-m", "gankit", "list", "losses"], capture_output=True, text=True)
    assert out.returncode == 0 and "minimax" in out.stdout


@pytest.mark.parametrize("argv, message", [
    (["frobnicate"], "invalid choice"),
    (["train", "--steps", "0"], "must be > 0"),
    (["train", "--steps", "ten"], "whole number"),
    (["train", "--split", "valid"], "invalid choice"),
    (["train", "--set", "optim.lr=1"], "unknown config key 'optim.lr'"),
    (["train", "--set", "train.batch_size=-3"], "must be > 0"),
    (["train", "--preset", "nope"], "unknown preset"),
    (["train", "--dataset", "cifar"], "must be one of: cifar10, fashion-mnist"),
    (["train", "--device", "tpu"], "device"),
    (["train", "--config", "/no/such.yaml"], "does not exist"),
    (["train", "--resume", "/no/such/run"], "does not exist"),
    (["sample", "/no/such/run"], "does not exist"),
    (["list", "things"], "invalid choice"),
])
def test_usage_errors_are_one_line_with_status_2(capsys, argv, message):
    assert message in usage_error(capsys, *argv)


def test_missing_data_names_the_places_looked_at(capsys, tmp_path, monkeypatch):
    import dataclasses

    from gankit.data import datasets

    # as on an installation whose shipped copy of MNIST is gone
    monkeypatch.setitem(datasets.SPECS, "mnist", dataclasses.replace(datasets.SPECS["mnist"], embedded=None))
    code = main(["train", "--dataset", "mnist", "--data-root", str(tmp_path), "--set", "data.download=false",
                 "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and str(tmp_path) in err and "train-images" in err
    assert not (tmp_path / "run").exists()  # a run that could not start leaves no folder


def test_train_sample_resume_round_trip(capsys, mnist_root, tmp_path):
    run = tmp_path / "run"
    code, out, _ = run_main(capsys, "train", *tiny_flags(mnist_root, run), "--steps", "6")
    assert code == 0
    assert checkpoint.load(run / "checkpoints" / "last.pt")["step"] == 6

    code, _, _ = run_main(capsys, "sample", str(run), "--n", "10", "--seed", "3", "--out", str(tmp_path / "s.npy"))
    arr = np.load(tmp_path / "s.npy")
    assert code == 0 and arr.shape == (10, 1, 28, 28) and arr.dtype == np.uint8
    code, _, _ = run_main(capsys, "sample", str(run), "--n", "10", "--seed", "3", "--out", str(tmp_path / "s.png"))
    # 10 images -> a 4x3 grid of 28px tiles with 2px gaps, shown at 2x
    assert code == 0 and Image.open(tmp_path / "s.png").size == ((4 * 30 + 2) * 2, (3 * 30 + 2) * 2)
    # same seed, same samples; the default output lands in the run folder
    code, _, _ = run_main(capsys, "sample", str(run), "--n", "10", "--seed", "3", "--out", str(tmp_path / "t.npy"))
    assert np.array_equal(arr, np.load(tmp_path / "t.npy"))
    code, out, _ = run_main(capsys, "sample", str(run))
    assert code == 0 and (run / "samples" / "sample-seed0.png").is_file()

    assert "cannot change" in usage_error(capsys, "train", "--resume", str(run), "--seed", "4")
    assert "must end in .png" in usage_error(capsys, "sample", str(run), "--out", str(tmp_path / "x.jpg"))
    assert "already exists" in usage_error(capsys, "train", *tiny_flags(mnist_root, run), "--steps", "2")

    code, _, _ = run_main(capsys, "train", "--resume", str(run), "--steps", "9", "--quiet")
    assert code == 0 and checkpoint.load(run / "checkpoints" / "last.pt")["step"] == 9


def test_ctrl_c_saves_a_checkpoint_and_the_run_resumes(mnist_root, tmp_path):
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "gankit", "train", *tiny_flags(mnist_root, run), "--steps", "100000",
            "--set", "log.every=2"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = run / "metrics.jsonl"
    deadline = time.time() + 120
    while not (metrics.exists() and metrics.read_text().strip()) and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    stopped = checkpoint.load(run / "checkpoints" / "last.pt")["step"]
    assert stopped >= 2 and (run / "generator.safetensors").is_file()

    target = stopped + 3
    done = subprocess.run([sys.executable, "-m", "gankit", "train", "--resume", str(run), "--steps", str(target),
                           "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert checkpoint.load(run / "checkpoints" / "last.pt")["step"] == target


def test_auto_resume_continues_the_run_in_out_or_starts_it(tiny_config, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(tiny_config(train__steps=4).to_yaml())
    out = tmp_path / "run"
    command = ["train", "--config", str(cfg), "--out", str(out), "--auto-resume", "--quiet"]
    assert main(command) == 0 and checkpoint.load(out / "checkpoints" / "last.pt")["step"] == 4
    assert main([*command, "--steps", "6"]) == 0  # the same command again continues, to a new total
    assert checkpoint.load(out / "checkpoints" / "last.pt")["step"] == 6
    capsys.readouterr()
    other = tmp_path / "other.yaml"
    other.write_text(tiny_config(train__steps=4, optim__lr_g=1e-3).to_yaml())
    assert main(["train", "--config", str(other), "--out", str(out), "--auto-resume", "--quiet"]) == 2
    assert "started with another config (optim.lr_g differ)" in capsys.readouterr().err


def test_a_full_disk_anywhere_is_one_line(tiny_config, tmp_path, monkeypatch, capsys):
    import errno
    import os

    from gankit import viz

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp_path / "run" / "samples" / "epoch-001.png"))

    monkeypatch.setattr(viz, "save_picture", full)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(tiny_config(train__steps=10).to_yaml())
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"gankit train: error: cannot write {tmp_path / 'run' / 'samples' / 'epoch-001.png'}: "
                   "No space left on device"]
