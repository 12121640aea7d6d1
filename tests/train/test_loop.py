"""Short real trainings on the MNIST test split."""

import copy
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.config import load_file
from gankit.run import RunDir, checkpoint
from gankit.train.loop import Trainer, train


def test_a_short_run_learns_and_fills_the_run_folder(tiny_config, tmp_path):
    cfg = tiny_config(log__tensorboard=True)
    before = Trainer(cfg).sample_fixed()
    run = RunDir.create(tmp_path / "run", cfg.name)
    result = train(cfg, run, verbose=False)
    assert (result.step, result.interrupted) == (20, False)

    # the resolved config is saved and reloads to the same config
    assert load_file(run.config) == cfg
    # metrics: one line per log interval, with every field, finite
    records = [json.loads(line) for line in run.metrics.read_text().splitlines()]
    assert [r["step"] for r in records] == [4, 8, 12, 16, 20]
    for r in records:
        assert {"step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "images_per_s"} <= set(r)
        assert all(np.isfinite(v) for v in r.values())
        assert 0 < r["d_real"] < 1 and 0 < r["d_fake"] < 1
    assert records[1]["epoch"] == 1.0
    # one grid per epoch (2 full + the partial third), animated; curves; TensorBoard
    assert [p.name for p in run.epoch_grids()] == ["epoch-001.png", "epoch-002.png", "epoch-003.png"]
    assert Image.open(run.gif).n_frames == 3
    assert Image.open(run.losses_plot).size[0] > 100
    assert list(run.tensorboard.glob("events.out.tfevents.*"))
    # the generator changed, and its samples are finite images
    after = gankit.load(run.path, device="cpu").sample(16, seed=1)
    assert after.dtype == torch.uint8 and after.shape == (16, 1, 28, 28)
    trained = Trainer(cfg)
    trained.load_state_dict(checkpoint.load(run.last_checkpoint))
    assert not torch.equal(before, trained.sample_fixed())
    assert trained.step == 20


def test_a_run_that_fails_mid_way_still_closes_its_monitor(tiny_config, tmp_path, monkeypatch):
    """The progress bar and TensorBoard's writer are closed however train() ends (a torchrun
    worker exits without the interpreter's shutdown, which would have closed them)."""
    from gankit.train.monitor import Monitor

    step, close, closed = Trainer.train_step, Monitor.close, []

    def failing(self):
        if self.step == 8:
            raise RuntimeError("a failure at step 9")
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", failing)
    monkeypatch.setattr(Monitor, "close", lambda self: (closed.append(self.writer), close(self)))
    cfg = tiny_config(log__tensorboard=True)
    with pytest.raises(RuntimeError, match="step 9"):
        train(cfg, RunDir.create(tmp_path / "run", cfg.name), verbose=False)
    assert len(closed) == 1 and closed[0] is not None


def test_d_learns_to_separate_real_from_fake(tiny_config, tmp_path):
    # With G frozen (lr ~ 0), D alone must quickly tell real digits from noise-born fakes.
    cfg = tiny_config(optim__lr_g=1e-12, train__steps=16)
    run = RunDir.create(tmp_path / "run", cfg.name)
    train(cfg, run, verbose=False)
    first, last = run.read_metrics()[0], run.read_metrics()[-1]
    assert last["d_real"] - last["d_fake"] > max(0.5, first["d_real"] - first["d_fake"])


def test_resume_is_bit_exact(tiny_config, tmp_path, exact_cpu):
    # One run of 12 steps versus 7 steps, stopped, then resumed to 12: the stop falls
    # mid-epoch (8 steps an epoch), and the resumed part crosses an epoch boundary.
    full = RunDir.create(tmp_path / "full", "full")
    train(tiny_config(train__steps=12), full, verbose=False)

    split = RunDir.create(tmp_path / "split", "split")
    train(tiny_config(train__steps=7), split, verbose=False)
    assert checkpoint.load(split.last_checkpoint)["step"] == 7
    train(tiny_config(train__steps=12), split, resume=True, verbose=False)

    a, b = checkpoint.load(full.last_checkpoint), checkpoint.load(split.last_checkpoint)
    assert a["step"] == b["step"] == 12
    for net in ("G", "D"):
        for k, v in a["models"][net].items():
            assert torch.equal(v, b["models"][net][k]), f"{net}.{k} differs after resume"
    assert torch.equal(a["rng"]["noise"], b["rng"]["noise"])
    # the metrics of the resumed run continue where the first part stopped
    assert [r["step"] for r in split.read_metrics()] == [4, 7, 8, 12]


def test_a_resume_in_a_new_process_is_bit_exact_on_several_threads(tiny_config, tmp_path):
    """As a user resumes: each part a command of its own, on two threads with oneDNN's kernels, whose
    first executions sum in another order than their later ones (Trainer.warm_up runs them once)."""
    config = tmp_path / "config.yaml"
    config.write_text(tiny_config(train__steps=12).to_yaml())  # 8 steps an epoch
    env = {**os.environ, "OMP_NUM_THREADS": "2"}

    def gankit(*args):
        subprocess.run([sys.executable, "-m", "gankit", "train", "--config", str(config), "--quiet", *args],
                       env=env, check=True, capture_output=True)

    gankit("--out", str(tmp_path / "full"))
    gankit("--out", str(tmp_path / "split"), "--steps", "7")
    gankit("--out", str(tmp_path / "split"), "--steps", "12", "--auto-resume")
    a, b = (checkpoint.load(tmp_path / name / "checkpoints" / "last.pt") for name in ("full", "split"))
    assert a["step"] == b["step"] == 12
    for net in ("G", "D"):
        for k, v in a["models"][net].items():
            assert torch.equal(v, b["models"][net][k]), f"{net}.{k} differs after a resume in a new process"


def test_the_warm_up_step_is_undone(tiny_config):
    trainer = Trainer(tiny_config())
    before = copy.deepcopy(trainer.state_dict())
    threads = torch.get_num_threads()
    torch.set_num_threads(max(2, threads))  # the warm-up runs where there are several
    try:
        trainer.warm_up()
    finally:
        torch.set_num_threads(threads)
    after = trainer.state_dict()
    assert after["step"] == before["step"] == 0
    for net in ("G", "D"):
        assert all(torch.equal(v, after["models"][net][k]) for k, v in before["models"][net].items())
    assert not after["optimizers"]["G"]["state"]  # Adam has taken no step
    assert torch.equal(before["rng"]["noise"], after["rng"]["noise"])
    assert torch.equal(before["rng"]["torch"], after["rng"]["torch"])


def test_resume_drops_metrics_logged_after_the_checkpoint(tiny_config, tmp_path):
    run = RunDir.create(tmp_path / "run", "r")
    train(tiny_config(train__steps=8), run, verbose=False)
    # a crash after the checkpoint at step 8 but after logging step 12
    run.append_metrics({"step": 12, "loss_d": 9.0})
    train(tiny_config(train__steps=12), run, resume=True, verbose=False)
    steps = [r["step"] for r in run.read_metrics()]
    assert steps == [4, 8, 12] and run.read_metrics()[-1]["loss_d"] != 9.0


def test_same_seed_same_run_other_seed_other_run(tiny_config, tmp_path, exact_cpu):
    def weights(seed, name):
        run = RunDir.create(tmp_path / name, name)
        train(tiny_config(train__steps=3, train__seed=seed), run, verbose=False)
        return checkpoint.load(run.last_checkpoint)["models"]["G"]["project.0.weight"]

    assert torch.equal(weights(0, "a"), weights(0, "b"))
    assert not torch.equal(weights(0, "c"), weights(1, "d"))


def test_new_run_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file").write_text("keep me")
    with pytest.raises(gankit.errors.CheckpointError, match="--resume"):
        RunDir.create(tmp_path / "x", "x")


@pytest.mark.parametrize("every_s, plots", [(0.0, 3), (1e9, 2)])
def test_gif_and_loss_plot_are_refreshed_at_most_every_summary_interval(tiny_config, tmp_path, monkeypatch,
                                                                        every_s, plots):
    """20 steps of 8 a epoch: grids at steps 8 and 16 and at the end. With no interval the
    summaries follow every grid; with a long one, the first epoch's and the end's only."""
    from gankit.train import loop

    calls = []
    monkeypatch.setattr(loop, "SUMMARY_EVERY_S", every_s)
    monkeypatch.setattr(loop.viz, "plot_losses", lambda records, path: calls.append(records[-1]["step"]))
    run = RunDir.create(tmp_path / "run", "run")
    train(tiny_config(), run, verbose=False)
    assert len(calls) == plots and calls[-1] == 20
    assert len(run.epoch_grids()) == 3 and run.gif.is_file()
