"""The stable variants and conditional GANs, trained for real on a small slice of MNIST."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.data import load_dataset
from gankit.data.clusters import kmeans
from gankit.errors import ConfigError
from gankit.run import RunDir, checkpoint
from gankit.train.loop import train
from gankit.train.trainer import Trainer


def run_steps(cfg, tmp_path, name="run"):
    run = RunDir.create(tmp_path / name, name)
    train(cfg, run, verbose=False)
    return run, checkpoint.load(run.last_checkpoint)


def resumed_half_way(tiny_config, over, tmp_path):
    """The checkpoint of a run of ``over`` (6 steps) stopped after 3 and resumed to the end."""
    split = RunDir.create(tmp_path / "split", "split")
    train(tiny_config(**{**over, "train__steps": 3}), split, verbose=False)
    train(tiny_config(**over), split, resume=True, verbose=False)
    return checkpoint.load(split.last_checkpoint)


def assert_same_weights(full, part):
    for group in ("G", "D"):
        for k, v in full["models"][group].items():
            assert torch.equal(v, part["models"][group][k]), (group, k)


def test_n_critic_takes_that_many_d_steps_per_g_step(tiny_config, tmp_path):
    _, ckpt = run_steps(tiny_config(optim__n_critic=3, train__steps=4), tmp_path)
    d_steps = {int(s["step"]) for s in ckpt["optimizers"]["D"]["state"].values()}
    g_steps = {int(s["step"]) for s in ckpt["optimizers"]["G"]["state"].values()}
    assert d_steps == {12} and g_steps == {4}


def test_wasserstein_clips_the_critic(tiny_config, tmp_path):
    _, ckpt = run_steps(tiny_config(loss__name="wasserstein", loss__clip=0.005, optim__name="rmsprop",
                                    model__dropout=0.0, train__steps=3), tmp_path)
    d = ckpt["models"]["D"]
    assert max(v.abs().max().item() for v in d.values() if v.is_floating_point()) <= 0.005 + 1e-9
    saved = ckpt["optimizers"]["D"]
    assert type(saved) is dict  # a plain state dict, as weights_only loading needs
    state = next(iter(saved["state"].values()))
    assert "square_avg" in state and "exp_avg" not in state  # RMSprop's state, not Adam's
    assert "alpha" in saved["param_groups"][0] and "betas" not in saved["param_groups"][0]


@pytest.mark.parametrize("overrides, logged", [
    ({"loss__name": "wgan-gp", "model__dropout": 0.0}, "penalty"),
    ({"reg__name": "r1", "reg__every": 2}, "penalty"),
    ({"reg__name": "dragan"}, "penalty"),
    ({"loss__name": "hinge", "model__spectral_norm": True}, "score_real"),
    ({"loss__name": "lsgan"}, "score_fake"),
    ({"loss__name": "relativistic"}, "score_real"),
    ({"augment__policy": "color,translation,cutout"}, "d_real"),
])
def test_variants_train_and_log_what_they_compute(tiny_config, tmp_path, overrides, logged):
    run, ckpt = run_steps(tiny_config(train__steps=4, **overrides), tmp_path)
    records = [r for r in run.read_metrics() if "loss_d" in r]
    assert records and logged in records[-1] and all(np.isfinite(v) for v in records[-1].values())


def test_spectral_norm_bounds_the_critic_layers(tiny_config):
    t = Trainer(tiny_config(model__spectral_norm=True, model__dropout=0.0))
    for _ in range(3):
        t.train_step()
    sn = [m for m in t.D.modules() if hasattr(m, "parametrizations")]
    assert sn
    for m in sn:
        w = m.weight.detach().flatten(1)
        assert torch.linalg.matrix_norm(w, ord=2) < 1.1


def test_resume_is_bit_exact_with_every_random_stream(tiny_config, tmp_path, exact_cpu):
    # n_critic, a penalty's random interpolation, DiffAugment, dropout, EMA and
    # conditional fake labels all draw random numbers: all must resume exactly.
    over = dict(optim__n_critic=2, loss__name="wgan-gp", augment__policy="color,translation,cutout",
                ema__half_life=500.0, model__conditioning="acgan", train__steps=6)
    _, full = run_steps(tiny_config(**over), tmp_path, "full")
    part = resumed_half_way(tiny_config, over, tmp_path)
    assert_same_weights(full, part)
    for k, v in full["ema"].items():
        assert torch.equal(v, part["ema"][k]), k


def test_ema_weights_are_what_is_sampled_and_exported(tiny_config, tmp_path):
    run, ckpt = run_steps(tiny_config(ema__half_life=2000.0, train__steps=6), tmp_path)
    ema, raw = ckpt["ema"], ckpt["models"]["G"]
    assert not torch.equal(ema["project.0.weight"], raw["project.0.weight"])
    exported = gankit.load(run.path).generator.state_dict()
    assert torch.equal(exported["project.0.weight"], ema["project.0.weight"])
    from_ckpt = gankit.load(run.path, checkpoint="last").generator.state_dict()
    assert torch.equal(from_ckpt["project.0.weight"], ema["project.0.weight"])


@pytest.mark.parametrize("conditioning", ["cgan", "acgan", "tac", "projection"])
def test_conditional_gans_train_and_sample_by_class(conditioning, tiny_config, tmp_path, capsys):
    extra = {"model__spectral_norm": True, "loss__name": "hinge"} if conditioning == "projection" else {}
    run, ckpt = run_steps(tiny_config(model__conditioning=conditioning, train__steps=4, **extra), tmp_path)
    assert ckpt["num_classes"] == 10
    if conditioning in ("acgan", "tac"):
        assert "aux_d" in run.read_metrics()[-1]
    # the epoch picture has one row per class
    grid = Image.open(run.epoch_grids()[-1])
    assert grid.size[1] == (10 * 30 + 2) * 2
    g = gankit.load(run.path)
    sevens = g.sample(6, seed=1, labels=7)
    assert sevens.shape == (6, 1, 28, 28) and not torch.equal(sevens, g.sample(6, seed=1, labels=3))
    with pytest.raises(ValueError, match="0..9"):
        g.sample(2, labels=10)
    out = tmp_path / "rows.png"
    assert main(["sample", str(run.path), "--class", "all", "--n", "4", "--out", str(out)]) == 0
    assert Image.open(out).size == ((4 * 30 + 2) * 2, (10 * 30 + 2) * 2)
    assert main(["sample", str(run.path), "--class", "3", "--n", "5", "--out", str(tmp_path / "3.npy")]) == 0
    assert np.load(tmp_path / "3.npy").shape == (5, 1, 28, 28)


def test_sample_class_on_an_unconditional_run_is_a_usage_error(tiny_config, tmp_path, capsys):
    run, _ = run_steps(tiny_config(train__steps=1), tmp_path)
    with pytest.raises(SystemExit) as e:
        main(["sample", str(run.path), "--class", "3"])
    assert e.value.code == 2 and "not class-conditional" in capsys.readouterr().err


def test_vae_baseline_trains_and_samples(tiny_config, tmp_path):
    run, _ = run_steps(tiny_config(model__arch="vae", model__latent_dim=16, optim__lr_g=1e-3, train__steps=16,
                                   log__every=2), tmp_path)
    losses = [r["loss"] for r in run.read_metrics() if "loss" in r]
    assert losses[-1] < losses[0]
    images = gankit.load(run.path).sample(8, seed=0)
    assert images.shape == (8, 1, 28, 28) and images.dtype == torch.uint8


def test_toy_data_trains_with_scatter_plots_and_point_samples(tiny_config, tmp_path):
    cfg = tiny_config(data__dataset="toy-ring", data__root=None, data__split="train", data__size=4000,
                      data__subset=None, model__arch="mlp", train__batch_size=200,
                      train__steps=25, eval__every=25, eval__metrics="toy-modes,modes", eval__n=500,
                      eval__real_n=500)
    run, _ = run_steps(cfg, tmp_path)
    assert [p.name for p in run.epoch_grids()] == ["epoch-001.png", "epoch-002.png"]
    last = [r for r in run.read_metrics() if "modes_captured" in r][-1]
    assert 0 <= last["modes_captured"] <= 8 and 0 <= last["high_quality"] <= 1
    points = gankit.load(run.path).sample(100, seed=0)
    assert points.shape == (100, 2) and points.dtype == torch.float32
    assert main(["sample", str(run.path), "--n", "300", "--out", str(tmp_path / "p.png")]) == 0
    assert Image.open(tmp_path / "p.png").size[0] > 100


def test_conditioning_needs_labels(tiny_config, tmp_path):
    for i in range(4):
        Image.fromarray(np.full((40, 40), 60 * i, dtype=np.uint8)).save(tmp_path / f"{i}.png")
    cfg = tiny_config(data__dataset="imagefolder", data__root=str(tmp_path), data__resolution=28, data__channels=1,
                      data__subset=None, train__batch_size=2, model__conditioning="cgan")
    with pytest.raises(gankit.errors.ConfigError, match="needs labels"):
        Trainer(cfg)


def test_a_time_budget_stops_training_cleanly(tiny_config, tmp_path):
    run = RunDir.create(tmp_path / "run", "r")
    result = train(tiny_config(train__max_minutes=1e-6, train__steps=50), run, verbose=False)
    assert result.step == 1 and not result.interrupted  # the first step spends the budget
    assert checkpoint.load(run.last_checkpoint)["train_seconds"] > 0


def test_simultaneous_update_shares_the_d_pass(tiny_config, tmp_path):
    # One step from the same start: D's update is the same either way (same pass, same
    # dropout masks); G's differs, as it is judged by D before rather than after D's update.
    def one_step(update):
        t = Trainer(tiny_config(optim__update=update))
        t.train_step()
        return t

    alt, sim = one_step("alternating"), one_step("simultaneous")
    for k, v in alt.D.state_dict().items():
        assert torch.equal(v, sim.D.state_dict()[k]), k
    assert not torch.equal(alt.G.state_dict()["project.0.weight"], sim.G.state_dict()["project.0.weight"])
    with pytest.raises(gankit.errors.ConfigError, match="n_critic=1"):
        Trainer(tiny_config(optim__update="simultaneous", optim__n_critic=2))


@pytest.mark.parametrize("overrides", [{}, {"optim__update": "simultaneous"}, {"model__conditioning": "acgan"},
                                       {"loss__name": "wgan-gp", "model__dropout": 0.0}])
def test_bf16_autocast_trains_with_float32_weights(tiny_config, tmp_path, overrides):
    # batch 8: a CPU without bf16 instructions (AVX512-BF16, AMX) runs bf16 far slower than float32
    run, ckpt = run_steps(tiny_config(train__precision="bf16", train__steps=3, train__batch_size=8, **overrides),
                          tmp_path)
    assert all(v.dtype == torch.float32 for v in ckpt["models"]["G"].values() if v.is_floating_point())
    last = [r for r in run.read_metrics() if "loss_d" in r][-1]
    assert all(np.isfinite(v) for v in last.values())


def test_ttur_gives_each_network_its_own_learning_rate(tiny_config):
    t = Trainer(tiny_config(optim__lr_g=1e-4, optim__lr_d=4e-4))

    assert [g["lr"] for g in t.step_fn.optimizers["G"].param_groups] == [1e-4]
    assert [g["lr"] for g in t.step_fn.optimizers["D"].param_groups] == [4e-4]


def test_lazy_r1_is_applied_every_k_d_steps(tiny_config):
    t = Trainer(tiny_config(reg__name="r1", reg__every=3))

    assert ["penalty" in t.train_step() for _ in range(6)] == [True, False, False, True, False, False]


def test_diffaugment_sees_real_and_fake_images_alike(tiny_config, monkeypatch):
    from gankit.train import step as step_module

    seen, augment = [], step_module.diff_augment

    def recording(x, policy):
        seen.append(x.requires_grad)  # fakes carry G's graph in the G step; real images never do
        return augment(x, policy)

    monkeypatch.setattr(step_module, "diff_augment", recording)
    t = Trainer(tiny_config(augment__policy="translation,cutout"))
    t.train_step()

    # the D step augments the real and the (detached) fake batch, the G step the fake batch again
    assert seen == [False, False, True]


def test_clusters_stand_in_for_labels_sampling_takes_noise_alone_and_resume_is_exact(tiny_config, tmp_path, exact_cpu):
    over = dict(model__conditioning="projection", model__clusters=4, ema__half_life=500.0, train__steps=6)
    run, full = run_steps(tiny_config(**over), tmp_path, "full")
    assert full["num_classes"] == 0  # no labels in, for any user of the run
    images = load_dataset("mnist", "test", root=tiny_config().data.root).images[:256]
    counts = torch.bincount(kmeans(images, 4, seed=0), minlength=4)
    assert torch.allclose(full["models"]["G"]["edges"], (counts.cumsum(0)[:-1] / 256).float())
    assert any(v.shape[0] == 4 for k, v in full["models"]["D"].items() if "embed" in k)  # D judges 4 clusters

    assert_same_weights(full, resumed_half_way(tiny_config, over, tmp_path))

    g = gankit.load(run.path)
    assert g.num_classes == 0 and g.sample(5, seed=0).shape == (5, 1, 28, 28)
    with pytest.raises(ValueError, match="not class-conditional"):
        g.sample(2, labels=1)


def test_clusters_of_2d_points_are_refused_by_name(tiny_config):
    cfg = tiny_config(data__dataset="toy-ring", data__root=None, model__arch="mlp", model__conditioning="cgan",
                      model__clusters=4)
    with pytest.raises(ConfigError, match="model.clusters clusters images, and toy-ring holds points"):
        Trainer(cfg)


def test_more_clusters_than_training_images_is_refused_by_name(tiny_config):
    cfg = tiny_config(model__conditioning="projection", model__clusters=300)  # the tiny run holds 256 images
    with pytest.raises(ConfigError, match="model.clusters=300 asks for more clusters than the 256 training images"):
        Trainer(cfg)
