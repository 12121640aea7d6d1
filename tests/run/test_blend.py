"""gankit blend: ESRGAN's network interpolation between two runs' generators."""

from __future__ import annotations

import json

import pytest
import torch

import gankit
from gankit.cli import main
from gankit.errors import CheckpointError, ConfigError
from gankit.run import RunDir
from gankit.run import generator as run_generator
from gankit.run.blend import blend
from gankit.train.loop import train
from tests.train.test_translation import translation_config


@pytest.fixture(scope="module")
def twin_and_gan(mnist_root, tmp_path_factory):
    """A tiny inpainting U-Net (BatchNorm: float weights and integer counters) trained with its
    adversarial loss, and its twin without it: 6 steps each."""
    root = tmp_path_factory.mktemp("blend")
    runs = []
    for name, sets in (("twin", {"translate__adv_weight": 0.0}), ("gan", {})):
        run = RunDir.create(root / name, name)
        train(translation_config(mnist_root, train__steps=6, **sets), run, verbose=False)
        runs.append(run.path)
    return runs


def digits(n: int = 4) -> torch.Tensor:
    return (torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 255).to(torch.uint8)


def test_alpha_moves_every_weight_from_the_first_run_to_the_second(twin_and_gan, tmp_path):
    twin, gan = twin_and_gan
    a, b = (run_generator.read(RunDir.open(run)).weights for run in (twin, gan))
    assert main(["blend", str(twin), str(gan), "--alpha", "0.25", "--out", str(tmp_path / "mix")]) == 0
    mixed = run_generator.read(RunDir.open(tmp_path / "mix")).weights
    floats = [k for k in b if b[k].is_floating_point()]
    counters = [k for k in b if not b[k].is_floating_point()]
    assert floats and counters  # the U-Net's BatchNorm has both kinds
    moved = [k for k in floats if not torch.equal(a[k], b[k])]
    assert moved  # the two runs trained apart
    for k in floats:
        torch.testing.assert_close(mixed[k], 0.75 * a[k] + 0.25 * b[k])
    for k in counters:
        assert torch.equal(mixed[k], b[k])
    record = json.loads((tmp_path / "mix" / "blend.json").read_text())
    assert record["alpha"] == 0.25 and record["run_a"] == str(twin.resolve())


@pytest.mark.parametrize("alpha, source", [(0.0, 0), (1.0, 1)])
def test_the_ends_translate_exactly_as_the_runs_themselves(twin_and_gan, tmp_path, alpha, source):
    out = blend(*twin_and_gan, alpha, tmp_path / "end")
    expected = gankit.load(twin_and_gan[source], device="cpu").translate(digits())
    assert torch.equal(gankit.load(out.path, device="cpu").translate(digits()), expected)


def test_a_blended_run_translates_files_as_any_run(twin_and_gan, tmp_path):
    from PIL import Image

    blend(*twin_and_gan, 0.5, tmp_path / "mix")
    Image.fromarray(digits(1)[0, 0].numpy()).save(tmp_path / "digit.png")
    assert main(["translate", str(tmp_path / "mix"), str(tmp_path / "digit.png"), "--out", str(tmp_path / "o")]) == 0
    assert Image.open(tmp_path / "o" / "digit.png").size == (28, 28)


def test_runs_of_different_architectures_are_refused_by_name(twin_and_gan, mnist_root, tmp_path):
    wide = RunDir.create(tmp_path / "wide", "w")
    train(translation_config(mnist_root, train__steps=1, model__width=16), wide, verbose=False)
    with pytest.raises(ConfigError, match="model.width"):
        blend(twin_and_gan[0], wide.path, 0.5, tmp_path / "mix")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wide"]  # nothing half-written


def test_bad_alpha_and_a_taken_folder_are_one_clear_error(twin_and_gan, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["blend", *map(str, twin_and_gan), "--alpha", "1.5", "--out", str(tmp_path / "m")])
    assert exit_.value.code == 2 and "between 0 and 1" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="between 0"):
        blend(*twin_and_gan, -0.1, tmp_path / "m")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    assert main(["blend", *map(str, twin_and_gan), "--alpha", "0.5", "--out", str(tmp_path / "taken")]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(CheckpointError, match="does not exist"):
        blend(tmp_path / "nowhere", twin_and_gan[1], 0.5, tmp_path / "m")
    assert not (tmp_path / "m").exists()
