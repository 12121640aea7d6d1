"""NaN and Inf: a bad update is skipped and counted, a run that keeps failing rolls back, then stops."""

from __future__ import annotations

import pytest
import torch

from gankit.cli import main
from gankit.errors import TrainingDiverged
from gankit.run import RunDir, checkpoint
from gankit.train import step as step_module
from gankit.train.guard import Guard
from gankit.train.loop import train
from gankit.train.trainer import Trainer


def run_with(cfg, tmp_path, name="run"):
    run = RunDir.create(tmp_path / name, name)
    train(cfg, run, verbose=False)
    return run, checkpoint.load(run.last_checkpoint)


def finite(ckpt) -> bool:
    return all(torch.isfinite(v).all() for net in ("G", "D") for v in ckpt["models"][net].values()
               if v.is_floating_point())


def test_a_healthy_run_is_bit_identical_with_the_guard_on_and_off(tiny_config, tmp_path, exact_cpu):
    _, on = run_with(tiny_config(guard__nonfinite="skip", train__steps=10), tmp_path, "on")
    _, off = run_with(tiny_config(guard__nonfinite="off", train__steps=10), tmp_path, "off")
    for net in ("G", "D"):
        for k, v in on["models"][net].items():
            assert torch.equal(v, off["models"][net][k]), f"{net}.{k}"
    assert on["guard"] == {"skipped": 0, "rollbacks": 0, "lr_scale": 1.0}


def test_the_guard_refuses_a_non_finite_update_and_keeps_the_weights():
    g = Guard.for_device("skip", torch.device("cpu"))
    assert g.allows("D", loss=torch.tensor(1.0), grad_norm=torch.tensor(2.0))
    assert not g.allows("G", loss=torch.tensor(float("nan")), grad_norm=torch.tensor(2.0))
    assert not g.allows("D", loss=torch.tensor(0.5), grad_norm=torch.tensor(float("inf")))
    g.end_step()
    bad = g.last_bad
    assert [b.network for b in bad] == ["G", "D"] and g.bad == []
    assert "G's update (loss nan, grad_norm 2)" == bad[0].describe()
    assert Guard.for_device("off", torch.device("cpu")).allows("D", loss=torch.tensor(float("nan")))


def test_nan_in_one_real_batch_skips_that_update_and_training_goes_on(tiny_config, tmp_path, monkeypatch):
    draw = Trainer.draw

    def poisoned(self):
        inputs = draw(self)
        if self.step == 5:
            inputs.reals[0][0, 0, 0, 0] = float("nan")
        return inputs

    monkeypatch.setattr(Trainer, "draw", poisoned)
    run, ckpt = run_with(tiny_config(), tmp_path)
    assert ckpt["step"] == 20 and finite(ckpt)
    assert ckpt["guard"]["skipped"] >= 1 and ckpt["guard"]["rollbacks"] == 0


def test_nan_in_a_loss_skips_that_update(tiny_config, tmp_path, monkeypatch):
    d_loss, calls = step_module.GANStep.d_loss, []

    def poisoned(self, *args):
        loss, stats = d_loss(self, *args)
        calls.append(1)
        return (loss * float("nan"), stats) if len(calls) == 3 else (loss, stats)

    monkeypatch.setattr(step_module.GANStep, "d_loss", poisoned)
    _, ckpt = run_with(tiny_config(), tmp_path)
    assert ckpt["guard"]["skipped"] == 1 and finite(ckpt)


def test_a_nan_weight_rolls_back_to_the_last_checkpoint_with_half_the_learning_rate(tiny_config, tmp_path,
                                                                                  monkeypatch):
    train_step, poisoned_once = Trainer.train_step, []

    def poison(self):
        if self.step == 7 and not poisoned_once:
            poisoned_once.append(1)
            with torch.no_grad():
                next(self.D.parameters()).view(-1)[0] = float("nan")
        return train_step(self)

    monkeypatch.setattr(Trainer, "train_step", poison)
    run, ckpt = run_with(tiny_config(guard__max_bad_steps=3), tmp_path)
    assert ckpt["step"] == 20 and finite(ckpt)
    assert ckpt["guard"]["rollbacks"] == 1 and ckpt["guard"]["lr_scale"] == 0.5
    rollbacks = [r for r in run.read_metrics() if r.get("guard") == "rollback"]
    assert len(rollbacks) == 1 and rollbacks[0]["step"] == 5 and rollbacks[0]["from_step"] == 10
    assert ckpt["optimizers"]["D"]["param_groups"][0]["lr"] == pytest.approx(1e-4)


def test_a_run_that_keeps_failing_stops_with_a_diagnosis(tiny_config, tmp_path, monkeypatch, capsys):
    train_step = Trainer.train_step

    def poison(self):  # every step from step 3 on: D's weights are NaN again
        if self.step >= 3:
            with torch.no_grad():
                next(self.D.parameters()).view(-1)[0] = float("nan")
        return train_step(self)

    monkeypatch.setattr(Trainer, "train_step", poison)
    with pytest.raises(TrainingDiverged) as info:
        run_with(tiny_config(guard__max_bad_steps=2, guard__max_rollbacks=2), tmp_path)
    message = str(info.value)
    assert "non-finite values at step" in message and "D's update (loss_d nan" in message
    assert "2 rollback(s)" in message and "x0.25" in message and "optim.lr_d" in message


def test_the_stop_policy_stops_at_the_first_bad_update(tiny_config, tmp_path, monkeypatch, capsys):
    draw = Trainer.draw

    def poisoned(self):
        inputs = draw(self)
        if self.step == 2:
            inputs.reals[0].fill_(float("inf"))
        return inputs

    monkeypatch.setattr(Trainer, "draw", poisoned)
    cfg = tiny_config(guard__nonfinite="stop")
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text(cfg.to_yaml())
    assert main(["train", "--config", str(cfg_file), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "non-finite values at step 3" in err[0]
