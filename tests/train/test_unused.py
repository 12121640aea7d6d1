"""A setting the run would not read is refused, naming it, who reads it and its default;
and what the table says a run reads is what changes its training."""

from __future__ import annotations

import pytest
import torch

from gankit import config as C
from gankit import presets
from gankit.registry import MODELS
from gankit.train import unused
from gankit.train.trainer import Trainer
from tests.train.test_translation import SMALL_CYCLE, translation_config


@pytest.fixture
def kinds(tiny_config, mnist_root):
    """A config maker per kind of run: each takes dotted overrides with '__' for '.'."""
    return {"gan": tiny_config,
            "likelihood": lambda **s: tiny_config(model__arch="vae", **s),
            "paired": lambda **s: translation_config(mnist_root, **s),
            "cycle": lambda **s: translation_config(mnist_root, **{**SMALL_CYCLE, **s})}


def test_every_model_names_the_model_keys_it_reads():
    model_keys = {k.removeprefix("model.") for k in C.all_keys() if k.startswith("model.")}
    for arch in MODELS.names():
        settings = MODELS.attrs(arch).get("settings")
        assert settings and set(settings) <= model_keys, arch


@pytest.mark.parametrize("name", presets.names())
def test_every_preset_sets_only_what_its_run_reads(name):
    assert unused.unused(presets.config(name)) == []


@pytest.mark.parametrize("kind, sets, key, reader", [
    ("likelihood", {"reg__name": "r1"}, "reg.name", "runs with a discriminator"),
    ("paired", {"reg__every": 4}, "reg.every", "with a D regularizer"),
    ("paired", {"augment__policy": "translation"}, "augment.policy", "GAN runs"),
    ("paired", {"optim__n_critic": 2}, "optim.n_critic", "GAN runs"),
    ("paired", {"pair__kernel": "box"}, "pair.kernel", "pair.degradation=sr2 or sr4"),
    ("paired", {"model__latent_dim": 7}, "model.latent_dim", "models dcgan-28, dcgan-32, dcgan-64, mlp"),
    ("paired", {"translate__pool_size": 3}, "translate.pool_size", "pair.kind=unpaired"),
    ("paired", {"eval__metrics": "fid"}, "eval.metrics", "translation has its own metrics"),
    ("cycle", {"translate__pixel_weight": 3.0}, "translate.pixel_weight", "paired translation runs"),
    ("cycle", {"model__noise_channels": 2}, "model.noise_channels", "paired translation runs"),
    ("cycle", {"model__keep_known": True}, "model.keep_known", "paired translation runs"),
    ("cycle", {"translate__d_sees_source": False}, "translate.d_sees_source", "paired translation runs"),
    ("paired", {"translate__warmup_loss": "pixel"}, "translate.warmup_loss", "with a warm-up"),
    ("paired", {"translate__diversity_space": "perceptual"}, "translate.diversity_space", "mode-seeking term"),
    ("gan", {"translate__adv_weight": 0.0}, "translate.adv_weight", "translation runs"),
    ("gan", {"model__depth": 2}, "model.depth", "models resnet-gen, unet"),
    ("gan", {"model__d_layers": 2}, "model.d_layers", "translation runs (their PatchGAN)"),
    ("gan", {"model__noise_channels": 2}, "model.noise_channels", "paired translation runs"),
    ("gan", {"loss__clip": 0.1}, "loss.clip", "loss.name=wasserstein"),
    ("gan", {"loss__aux_weight": 2.0}, "loss.aux_weight", "model.conditioning=acgan or tac"),
    ("gan", {"reg__weight": 5.0}, "reg.weight", "with a D regularizer"),
    ("gan", {"optim__milestones": "10"}, "optim.milestones", "optim.schedule=multistep"),
    ("gan", {"model__arch": "dcgan-32", "model__dropout": 0.5}, "model.dropout", "models dcgan-28, mlp"),
    ("gan", {"data__dataset": "toy-ring", "model__arch": "mlp", "model__dropout": 0.5}, "model.dropout",
     "models dcgan-28, mlp"),
    ("gan", {"data__resolution": 64}, "data.resolution", "datasets imagefolder; runs with pair.kind=aligned"),
    ("gan", {"data__size": 1000}, "data.size", "datasets stacked-mnist, toy-grid, toy-ring"),
    ("cycle", {"data__labels_from_folders": True}, "data.labels_from_folders", "datasets imagefolder"),
    ("gan", {"ema__rampup": 0.1}, "ema.rampup", "runs with an EMA (ema.half_life)"),
    ("paired", {"guard__nonfinite": "stop", "guard__max_rollbacks": 1}, "guard.max_rollbacks",
     "guard.nonfinite=skip"),
    ("likelihood", {"loss__name": "hinge"}, "loss.name", "runs with a discriminator"),
    ("likelihood", {"optim__lr_d": 1e-3}, "optim.lr_d", "runs with a discriminator"),
    ("likelihood", {"model__spectral_norm": True}, "model.spectral_norm", "translation runs (their PatchGAN)"),
])
def test_a_setting_the_run_does_not_read_is_refused_naming_who_reads_it(kinds, kind, sets, key, reader):
    cfg = kinds[kind](**sets)
    with pytest.raises(C.ConfigError) as caught:
        Trainer(cfg)
    message = str(caught.value)
    line = next(x for x in message.splitlines() if x.strip().startswith(key + "="))
    assert reader in line and "default" in line
    assert message.startswith(f"this setting would be ignored by this {unused.RUN[kind]} (model.arch=")


def test_every_unread_setting_is_named_in_one_error(kinds):
    with pytest.raises(C.ConfigError) as caught:
        Trainer(kinds["paired"](reg__every=4, augment__policy="color", model__dropout=0.0))
    message = str(caught.value)
    assert message.startswith("these settings would be ignored by this paired translation run (model.arch=unet")
    assert all(f"\n  {k}=" in message for k in ("reg.every", "augment.policy", "model.dropout"))


@pytest.mark.parametrize("kind", ["paired", "cycle"])
def test_a_loss_whose_safeguard_the_translation_steps_lack_is_refused(kinds, kind):
    with pytest.raises(C.ConfigError, match="loss.name=wasserstein needs D's weights clipped, which the translation"):
        Trainer(kinds[kind](loss__name="wasserstein"))


@pytest.mark.parametrize("kind", ["paired", "cycle"])
def test_a_translation_run_takes_a_gradient_penalty_loss_and_a_regularizer(kinds, kind):
    assert unused.unused(kinds[kind](loss__name="wgan-gp", reg__weight=5.0)) == []
    assert unused.unused(kinds[kind](reg__name="r1", reg__weight=1.0, reg__every=4)) == []
    unused.check(kinds[kind](loss__name="wgan-gp"))  # the step applies the loss's own penalty


def test_the_same_setting_is_read_where_its_condition_holds(kinds):
    assert unused.unused(kinds["gan"](loss__name="wasserstein", loss__clip=0.1)) == []
    assert unused.unused(kinds["gan"](model__conditioning="acgan", loss__aux_weight=2.0)) == []
    assert unused.unused(kinds["gan"](loss__name="wgan-gp", reg__weight=5.0)) == []
    assert unused.unused(kinds["paired"](pair__degradation="sr4", pair__kernel="box", model__arch="srresnet")) == []
    assert unused.unused(kinds["paired"](translate__warmup_steps=1, translate__warmup_loss="pixel")) == []
    assert unused.unused(kinds["paired"](model__noise_channels=2, translate__diversity_weight=0.1,
                                         translate__diversity_space="perceptual")) == []
    # a weight of 0 leaves its neighbours in place: the pixel-loss twin of a GAN preset keeps its D settings
    assert unused.unused(kinds["paired"](translate__adv_weight=0.0, model__d_layers=1, loss__name="hinge")) == []
    assert unused.unused(kinds["gan"](data__dataset="toy-ring", data__size=500, model__arch="mlp")) == []
    # the mlp's D has dropout on images and none on 2-D points
    assert unused.unused(kinds["gan"](model__arch="mlp", model__dropout=0.5)) == []
    assert unused.unused(kinds["gan"](ema__half_life=1000.0, ema__rampup=0.1, guard__max_bad_steps=2)) == []
    assert unused.unused(kinds["cycle"](pair__dataset_b="imagefolder", data__resolution=28, data__channels=1)) == []


# An override each kind could be given; whether it changes two steps of training must agree with
# the table. Each value differs from the default and from the test configs' own settings.
OVERRIDES = {
    "loss.name": "hinge", "loss.clip": 0.001, "loss.aux_weight": 3.0, "reg.name": "r1", "reg.weight": 50.0,
    "augment.policy": "translation", "optim.lr_d": 1e-3, "optim.n_critic": 2, "optim.update": "simultaneous",
    "translate.adv_weight": 5.0, "translate.pixel_weight": 3.0, "translate.warmup_steps": 1,
    "translate.d_sees_source": False, "translate.warmup_loss": "pixel", "translate.diversity_space": "perceptual",
    "translate.cycle_weight": 1.0, "translate.identity_weight": 3.0, "pair.hole": 6, "pair.kernel": "box",
    "model.dropout": 0.0, "model.latent_dim": 16, "model.depth": 1, "model.minibatch_std": True,
    "model.d_layers": 2, "model.d_norm": "instance", "model.leaky_slope": 0.1, "model.width": 12,
    "data.resolution": 64, "data.size": 500,
}


def two_steps(cfg: C.Config) -> dict[str, torch.Tensor]:
    trainer = Trainer(cfg)
    for _ in range(2):
        trainer.train_step()
    return {**{f"G.{k}": v for k, v in trainer.G.state_dict().items()},
            **{f"D.{k}": v for k, v in trainer.D.state_dict().items()}}


@pytest.mark.parametrize("kind", ["gan", "likelihood", "paired", "cycle"])
def test_a_setting_changes_training_exactly_when_the_table_says_the_run_reads_it(kinds, kind, monkeypatch,
                                                                               exact_cpu):
    monkeypatch.setattr(unused, "check", lambda cfg: None)  # train what the check would refuse
    small = {"train__steps": 2, "train__batch_size": 8}  # two steps of 8 images show a change as well as of 32
    base = two_steps(kinds[kind](**small))
    disagree = []
    for key, value in OVERRIDES.items():
        cfg = kinds[kind](**small, **{key.replace(".", "__"): value})
        read = not unused.unused(cfg)
        after = two_steps(cfg)
        changed = after.keys() != base.keys() or any(not torch.equal(after[k], base[k]) for k in base)
        if changed != read:
            disagree.append(f"{key}={value}: {'read' if read else 'not read'} by the table, "
                            f"{'changes' if changed else 'does not change'} training")
    assert not disagree, "\n".join(disagree)


def test_gankit_list_models_shows_the_keys_each_model_reads(capsys):
    from gankit.cli import main

    assert main(["list", "models"]) == 0
    out = capsys.readouterr().out.splitlines()
    shown = {name.split()[0]: out[i + 1].strip() for i, name in enumerate(out) if name and not name[0].isspace()}
    assert "model.dropout" in shown["dcgan-28"] and "model.dropout" not in shown["resnet-32"]
    assert shown["unet"].startswith("reads: model.depth, model.width")
    assert "its PatchGAN: model.d_layers" in shown["unet"]
