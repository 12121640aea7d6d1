"""Learning-rate schedules and the warm-up: counted in G steps, applied to both networks, resumed exactly."""

from __future__ import annotations

import pytest

from gankit import config as C
from gankit.run import RunDir, checkpoint
from gankit.train.loop import train
from gankit.train.optim import lr_factor
from gankit.train.trainer import cuda_graph_problem


def test_learning_rate_schedules_count_steps():
    linear = C.OptimConfig(schedule="linear", decay_start=50)
    assert [lr_factor(linear, s, 100) for s in (0, 49, 50, 75, 99)] == [1.0, 1.0, 1.0, 0.5, pytest.approx(0.02)]
    halfway = C.OptimConfig(schedule="linear")
    assert lr_factor(halfway, 60, 100) == pytest.approx(0.8)
    multi = C.OptimConfig(schedule="multistep", milestones="10,20", gamma=0.1)
    assert [lr_factor(multi, s, 100) for s in (9, 10, 25)] == [1.0, 0.1, pytest.approx(0.01)]
    assert lr_factor(C.OptimConfig(), 99, 100) == 1.0


def test_a_warm_up_ramps_the_rate_then_hands_over_to_the_schedule():
    ramp = C.OptimConfig(lr_warmup=4)
    assert [lr_factor(ramp, s, 100) for s in (0, 1, 3, 4, 99)] == [0.25, 0.5, 1.0, 1.0, 1.0]
    # on top of a schedule: the ramp multiplies whatever the schedule gives at that step
    both = C.OptimConfig(lr_warmup=10, schedule="linear", decay_start=0)
    assert lr_factor(both, 4, 10) == pytest.approx(0.5 * 0.6)


def _rates(run: RunDir) -> dict[str, float]:
    saved = checkpoint.load(run.last_checkpoint)
    return {net: opt["param_groups"][0]["lr"] for net, opt in saved["optimizers"].items()}


def test_a_warm_up_sets_both_rates_and_a_resumed_run_finishes_it(tiny_config, tmp_path):
    run = RunDir.create(tmp_path / "run", "r")
    train(tiny_config(optim__lr_warmup=10, optim__lr_d=1e-4, train__steps=4), run, verbose=False)
    # the rates of the last step taken (step 3 of the ramp's 10): 4/10 of each network's own
    assert _rates(run) == {"G": pytest.approx(0.4 * 2e-4), "D": pytest.approx(0.4 * 1e-4)}
    train(tiny_config(optim__lr_warmup=10, optim__lr_d=1e-4, train__steps=12), run, resume=True, verbose=False)
    assert _rates(run) == {"G": pytest.approx(2e-4), "D": pytest.approx(1e-4)}


def test_a_warm_up_is_named_as_what_keeps_a_step_from_a_cuda_graph(tiny_config):
    from gankit.train.step import GANStep

    assert cuda_graph_problem(tiny_config(), GANStep, "cuda") is None
    assert "optim.lr_warmup" in cuda_graph_problem(tiny_config(optim__lr_warmup=100), GANStep, "cuda")
