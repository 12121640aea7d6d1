"""tools/d_modes.py on tiny paired runs: D's logits in train and in eval mode, and the runs it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from gankit.errors import GankitError
from gankit.run import RunDir, checkpoint
from gankit.train.loop import train
from tests.tools import load_tool
from tests.train.test_translation import translation_config


@pytest.fixture(scope="module")
def d_modes():
    return load_tool("d_modes")


def trained(tmp_path, mnist_root, **sets) -> Path:
    run = RunDir.create(tmp_path / "run", "run")
    train(translation_config(mnist_root, train__steps=2, **sets), run, verbose=False)
    return run.path


def test_a_batch_norm_d_judges_differently_in_train_and_eval_mode(d_modes, mnist_root, tmp_path, capsys):
    run = trained(tmp_path, mnist_root)
    before = checkpoint.load(run / "checkpoints" / "last.pt")["models"]["D"]
    found = d_modes.logits(run, batches=2)
    assert set(found) == {"train", "eval"} and found["train"] != found["eval"]
    after = checkpoint.load(run / "checkpoints" / "last.pt")["models"]["D"]
    assert all((before[k] == after[k]).all() for k in before)  # the run is only read
    assert d_modes.main([str(run), "--batches", "1"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("| D's mode |") and [r.split("|")[1].strip() for r in rows[2:]] == ["train", "eval"]


@pytest.mark.parametrize("sees_source", [True, False])  # a D that judges the outputs alone is called without one
def test_a_d_without_normalization_judges_alike_in_both_modes(d_modes, mnist_root, tmp_path, sees_source):
    run = trained(tmp_path, mnist_root, model__d_norm="none", translate__d_sees_source=sees_source)
    found = d_modes.logits(run, batches=2)
    assert found["train"] == pytest.approx(found["eval"], abs=1e-6)


def test_a_run_without_pairs_is_refused(d_modes, tiny_config, tmp_path, capsys):
    run = RunDir.create(tmp_path / "gan", "gan")
    train(tiny_config(train__steps=2), run, verbose=False)
    with pytest.raises(GankitError, match="not a paired translation run"):
        d_modes.logits(run.path)
    assert d_modes.main([str(run.path)]) == 2
    assert "d_modes:" in capsys.readouterr().err
