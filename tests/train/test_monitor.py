"""What training shows: a progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import re
import sys

import torch

from gankit.run import RunDir
from gankit.train.monitor import Monitor

STATS = {"loss_d": torch.tensor(1.25), "loss_g": torch.tensor(0.5)}


def make_monitor(tmp_path):
    run = RunDir.create(tmp_path / "run", "run")
    run.prepare()
    return Monitor(run, total_steps=8, start_step=0, batch_size=4, steps_per_epoch=4, every=2, tensorboard=False)


def test_plain_log_lines_when_not_on_a_terminal(tmp_path, capsys):
    mon = make_monitor(tmp_path)
    for step in (1, 2):
        mon.update(step, STATS)
    mon.close()

    out = capsys.readouterr().out
    assert mon.bar.disable
    assert "step 2/8 epoch 0.50 D 1.250 G 0.500" in out and "img/s eta" in out


def test_progress_bar_with_losses_on_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    mon = make_monitor(tmp_path)
    for step in (1, 2):
        mon.update(step, STATS)

    assert not mon.bar.disable and mon.bar.n == 2
    assert "D 1.250, G 0.500" in mon.bar.postfix
    mon.close()
    assert "step 2/8" not in capsys.readouterr().out  # no plain lines beside the bar


def test_the_eta_of_a_time_budget_is_the_time_it_has_left(tmp_path, capsys):
    """train.max_minutes: a run that will stop at its budget says so, not the steps' ETA."""
    run = RunDir.create(tmp_path / "run", "run")
    run.prepare()
    mon = Monitor(run, total_steps=10**12, start_step=0, batch_size=4, steps_per_epoch=4, every=2,
                  tensorboard=False, budget_left=lambda: 125.0)
    for step in (1, 2):
        mon.update(step, STATS)
    mon.close()
    assert "eta 2m05s" in capsys.readouterr().out


def test_a_run_without_a_time_budget_shows_the_steps_eta(tmp_path, capsys):
    """The trainer's budget_left answers None without train.max_minutes: the ETA is then the steps'."""
    run = RunDir.create(tmp_path / "run", "run")
    run.prepare()
    mon = Monitor(run, total_steps=10**12, start_step=0, batch_size=4, steps_per_epoch=4, every=2,
                  tensorboard=False, budget_left=lambda: None)
    for step in (1, 2):
        mon.update(step, STATS)
    mon.close()
    assert re.search(r"eta \d+h\d\dm", capsys.readouterr().out)  # 10**12 steps: hours and more, not a budget's
