"""Sampling a trained generator: truncated latents, spherical walks, and the commands that use them."""

from __future__ import annotations

import math

import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.run import RunDir
from gankit.sampling import draw_latents, slerp
from gankit.train.loop import train


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny trained unconditional run and a class-conditional one."""
    from gankit import config as C
    from gankit.data.mnist import EMBEDDED_MNIST

    def make(name, **extra):
        data = {"name": name, "data": {"root": str(EMBEDDED_MNIST), "split": "test", "subset": 256},
                "train": {"batch_size": 32, "steps": 8, "device": "cpu", "precision": "fp32"},
                "log": {"every": 4, "grid": 16, "tensorboard": False}, **extra}
        run = RunDir.create(tmp_path_factory.mktemp(name) / "run", name)
        train(C.from_dict(data), run, verbose=False)
        return run.path

    return {"plain": make("plain"), "cgan": make("cgan", model={"conditioning": "cgan"})}


def test_truncated_latents_stay_inside_and_are_reproducible():
    z = draw_latents(500, 100, torch.Generator().manual_seed(0), truncation=0.5)
    assert z.abs().max() <= 0.5 and z.shape == (500, 100)
    assert torch.equal(z, draw_latents(500, 100, torch.Generator().manual_seed(0), truncation=0.5))
    plain = draw_latents(500, 100, torch.Generator().manual_seed(0))
    assert torch.equal(plain, torch.randn(500, 100, generator=torch.Generator().manual_seed(0)))
    assert plain.abs().max() > 2  # the untruncated normal reaches far
    with pytest.raises(gankit.errors.ConfigError, match="truncation must be > 0"):
        draw_latents(2, 3, torch.Generator(), truncation=0.0)


def test_slerp_follows_the_great_circle():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0])
    assert torch.allclose(slerp(a, b, 0.0), a) and torch.allclose(slerp(a, b, 1.0), b)
    mid = slerp(a, b, 0.5)  # halfway in angle, at the mean norm
    assert torch.allclose(mid, 1.5 * torch.tensor([math.sqrt(0.5), math.sqrt(0.5)]), atol=1e-6)
    assert torch.allclose(slerp(a, 3 * a, 0.5), 2 * a)  # parallel: linear


def test_walks_start_and_end_at_their_latents(runs):
    sampler = gankit.load(runs["plain"], device="cpu")
    walks = sampler.interpolate(3, 5, seed=2)
    assert walks.shape == (3, 5, 1, 28, 28) and walks.dtype == torch.uint8
    ends = torch.randn(2, 3, sampler.generator.latent_dim, generator=torch.Generator().manual_seed(2))
    from gankit.sampling import _run

    assert torch.equal(walks[:, 0], _run(sampler.generator, ends[0], None, sampler.device, 100))
    assert torch.equal(walks[:, -1], _run(sampler.generator, ends[1], None, sampler.device, 100))
    assert not torch.equal(walks[:, 1], walks[:, 2])


def test_a_conditional_walk_keeps_its_class(runs):
    sampler = gankit.load(runs["cgan"], device="cpu")
    walks = sampler.interpolate(2, 4, seed=0, labels=7)
    z = torch.randn(2, 2, sampler.generator.latent_dim, generator=torch.Generator().manual_seed(0))
    from gankit.sampling import _run

    assert torch.equal(walks[:, 0], _run(sampler.generator, z[0], torch.tensor([7, 7]), sampler.device, 100))


def test_interpolate_command_writes_a_gif_or_a_grid(runs, tmp_path, capsys):
    gif, png = tmp_path / "walk.gif", tmp_path / "walk.png"
    assert main(["interpolate", str(runs["plain"]), "--out", str(gif), "--n", "4", "--steps", "6"]) == 0
    assert Image.open(gif).n_frames == 10  # 6 there, 4 back
    assert main(["interpolate", str(runs["cgan"]), "--out", str(png), "--n", "3", "--steps", "5", "--class", "2"]) == 0
    assert Image.open(png).size == (2 * (5 * 30 + 2), 2 * (3 * 30 + 2))  # 5 columns, 3 rows, upscaled x2
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        main(["interpolate", str(runs["plain"]), "--out", str(tmp_path / "w.jpg")])
    assert e.value.code == 2 and ".gif" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["interpolate", str(runs["plain"]), "--out", str(gif), "--class", "1"])
    assert e.value.code == 2 and "not class-conditional" in capsys.readouterr().err


def test_truncation_trades_variety_for_typicality(runs, tmp_path):
    sampler = gankit.load(runs["plain"], device="cpu")
    spread = [sampler.sample(200, seed=1, truncation=psi).float().std(dim=0).mean().item() for psi in (0.2, None)]
    assert spread[0] < spread[1]
    out = tmp_path / "s.npy"
    assert main(["sample", str(runs["plain"]), "--n", "16", "--truncation", "0.5", "--out", str(out)]) == 0
