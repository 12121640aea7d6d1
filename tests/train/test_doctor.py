"""The training doctor: each failure provoked in a real tiny run is named once; a healthy run is left alone.

The unit tests feed the rules synthetic log records and sample batches; the run tests train
for real on 256 MNIST test images (tests/conftest.py: tiny_config) and read the findings
back from metrics.jsonl.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from gankit.run import RunDir
from gankit.train import doctor as dr
from gankit.train import trainer as trainer_module
from gankit.train.doctor import Doctor, Finding
from gankit.train.loop import train
from tests.train.test_translation import translation_config

SMALL = {"model__width": 16}  # a narrow DCGAN: the failure runs take a second or two each


# ---------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------


def findings_of(run: RunDir) -> list[dict]:
    return [r for r in run.read_metrics() if "finding" in r]


def run_findings(cfg, tmp_path) -> list[dict]:
    run = RunDir.create(tmp_path / "run", cfg.name)
    train(cfg, run, verbose=False)
    return findings_of(run)


def names(findings) -> list[str]:
    return [f["finding"] if isinstance(f, dict) else f.name for f in findings]


def points_data(n: int = 2000, seed: int = 0) -> SimpleNamespace:
    """A toy ring of 8 modes, as the toy datasets describe themselves to the doctor."""
    g = torch.Generator().manual_seed(seed)
    angles = torch.arange(8) * (2 * math.pi / 8)
    modes = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    which = torch.randint(8, (n,), generator=g)
    images = modes[which] + 0.02 * torch.randn(n, 2, generator=g)
    return SimpleNamespace(name="toy-ring", kind="points", num_classes=8, images=images, modes=modes, mode_std=0.02)


def pixel_data(n: int = 256, seed: int = 0) -> SimpleNamespace:
    """Random 3x8x8 images: a dataset without an evaluator, measured in pixel space."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(256, (n, 3, 8, 8), generator=g, dtype=torch.uint8)
    return SimpleNamespace(name="imagefolder", kind="image", num_classes=0, images=images, modes=None, mode_std=None)


def gan_record(step: int, d_fake: float = 0.4, loss_d: float = 1.2, loss_g: float = 0.9,
               grad_norm_g: float = 1.5, **extra) -> dict:
    return {"step": step, "epoch": step / 100, "loss_d": loss_d, "d_real": 0.6, "d_fake": d_fake,
            "grad_norm_d": 3.0, "loss_g": loss_g, "grad_norm_g": grad_norm_g, "images_per_s": 500.0, **extra}


def feed(doctor: Doctor, records: list[dict]) -> list[Finding]:
    out = []
    for r in records:
        out += doctor.check_log(r)
    return out


@pytest.fixture
def cfg(tiny_config):
    return tiny_config()


@pytest.fixture
def doctor(cfg):
    return Doctor(cfg, points_data(), torch.device("cpu"))


# ---------------------------------------------------------------------------------------------------
# the log rules on synthetic records
# ---------------------------------------------------------------------------------------------------


def test_a_calm_run_raises_nothing(doctor):
    wobble = [0.05 * math.sin(i) for i in range(60)]
    assert feed(doctor, [gan_record(50 * (i + 1), loss_d=1.2 + w, loss_g=0.9 - w) for i, w in enumerate(wobble)]) == []


def test_non_finite_is_named_at_once_then_the_doctor_falls_silent(doctor):
    found = feed(doctor, [gan_record(50), gan_record(100, loss_g=float("nan"), grad_norm_d=float("inf"))])
    assert names(found) == ["non-finite"] and found[0].step == 100
    assert "loss_g = nan" in found[0].message and "grad_norm_d = inf" in found[0].message
    assert "optim.lr_d" in found[0].remedy
    # what follows a NaN is a consequence: nothing more is reported
    assert feed(doctor, [gan_record(150 + 50 * i, d_fake=0.0, loss_d=float("nan")) for i in range(10)]) == []


def test_d_overpowering_needs_several_intervals_in_a_row(doctor):
    short = [gan_record(50 * (i + 1), d_fake=0.01) for i in range(dr.DOMINANCE_INTERVALS - 1)]
    assert feed(doctor, short + [gan_record(1000)]) == []  # interrupted: the count starts again
    long = [gan_record(1050 + 50 * i, d_fake=0.01) for i in range(dr.DOMINANCE_INTERVALS + 3)]
    found = feed(doctor, long)
    assert names(found) == ["d-overpowers-g"]  # once, not at every interval after
    assert found[0].step == 1050 + 50 * (dr.DOMINANCE_INTERVALS - 1)
    assert "0.01" in found[0].message and "optim.lr_d" in found[0].remedy


@pytest.mark.parametrize("sets, offered", [({}, True), ({"model__d_norm": "instance"}, False),
                                           ({"model__spectral_norm": True}, False)])
def test_a_translation_d_with_batch_norm_is_offered_one_that_judges_each_image_alone(mnist_root, sets, offered):
    d = Doctor(translation_config(mnist_root, **sets), points_data(), torch.device("cpu"))
    found = feed(d, [gan_record(50 * (i + 1), d_fake=0.01) for i in range(dr.DOMINANCE_INTERVALS)])
    assert names(found) == ["d-overpowers-g"]
    assert ("model.d_norm=instance or none" in found[0].remedy) == offered


@pytest.mark.parametrize("d_fake, fires", [(0.15, True), (0.49, False)])
def test_a_vanishing_generator_gradient_is_d_overpowering_while_d_wins(doctor, d_fake, fires):
    # at the equilibrium (D(G(z)) near 0.5) a small G gradient is what convergence looks like
    records = [gan_record(50 * (i + 1), grad_norm_g=2.0) for i in range(4)]
    records += [gan_record(250 + 50 * i, grad_norm_g=0.005, d_fake=d_fake) for i in range(dr.DOMINANCE_INTERVALS)]
    found = feed(doctor, records)
    assert names(found) == (["d-overpowers-g"] if fires else [])
    if fires:
        assert "gradient norm has collapsed to 0.005" in found[0].message and "peak 2 (step 50)" in found[0].message


def paired_record(step: int, grad_norm_g: float) -> dict:
    """A paired run's log record without D (its pixel-loss baseline, or its warm-up)."""
    return {"step": step, "epoch": step / 100, "pixel": 0.26, "loss_g": 0.26, "grad_norm_g": grad_norm_g}


@pytest.mark.parametrize("sets, at, name", [
    ({"translate__adv_weight": 0.0}, 250, "vanishing-gradient"),  # the pixel-loss baseline: no D at all
    ({"translate__warmup_steps": 1000}, 250, "vanishing-gradient"),  # a GAN still in its pixel-loss warm-up
    ({"translate__warmup_steps": 100}, 250, "d-overpowers-g")])  # ... and past it, learning from D
def test_a_generator_gradient_that_vanishes_without_d_is_named_as_gs_own(mnist_root, sets, at, name):
    # lr_g 8e-4 on l1-sr4-mnist: G's gradient 0.23 at step 50, then exactly 0 from step 100 on
    d = Doctor(translation_config(mnist_root, optim__lr_g=8e-4, **sets), points_data(), torch.device("cpu"))
    records = [paired_record(50, 0.225)] + [paired_record(at + 50 * i, 0.0) for i in range(dr.DOMINANCE_INTERVALS)]
    found = feed(d, records)
    assert names(found) == [name]
    if name == "vanishing-gradient":
        assert "no D in G's loss" in found[0].message and "peak 0.225 (step 50)" in found[0].message
        assert "optim.lr_g (now 0.0008), e.g. to 0.0002" in found[0].remedy and "lr_d" not in found[0].remedy
        assert f"optim.lr_warmup={dr.REMEDY_WARMUP}" in found[0].remedy


def test_the_vanishing_gradient_remedy_lengthens_a_warm_up_the_run_has(mnist_root):
    d = Doctor(translation_config(mnist_root, optim__lr_g=8e-4, optim__lr_warmup=100, translate__adv_weight=0.0),
               points_data(), torch.device("cpu"))
    records = [paired_record(50, 0.225)] + [paired_record(250 + 50 * i, 0.0) for i in range(dr.DOMINANCE_INTERVALS)]
    assert "lengthen the warm-up that reaches it (optim.lr_warmup, now 100)" in feed(d, records)[0].remedy


def test_a_wasserstein_generator_whose_gradient_vanishes_is_named(tiny_config):
    d = Doctor(tiny_config(loss__name="wasserstein"), points_data(), torch.device("cpu"))
    records = [{"step": 10 * (i + 1), "loss_d": -0.01, "score_real": 0.01, "score_fake": 0.0, "loss_g": 0.0,
                "grad_norm_g": 0.3 if i < 3 else 1e-4} for i in range(3 + dr.DOMINANCE_INTERVALS)]
    assert names(feed(d, records)) == ["d-overpowers-g"]


@pytest.mark.parametrize("loss, scores, fires", [
    ("hinge", (1.5, -1.5), True),  # beyond both margins: gap 3 > 2
    ("hinge", (0.6, -0.5), False),
    ("lsgan", (0.99, 0.0), True),  # at the targets 1 and 0
    ("lsgan", (0.7, 0.3), False),
    ("relativistic", (4.0, -2.0), True),  # sigmoid(-6) = 0.0025
    ("relativistic", (1.0, 0.0), False),
    ("wgan-gp", (40.0, -40.0), False),  # a Wasserstein gap is a distance, not a verdict
])
def test_critic_scores_are_read_against_the_gap_d_aims_for(tiny_config, loss, scores, fires):
    d = Doctor(tiny_config(loss__name=loss), points_data(), torch.device("cpu"))
    records = [{"step": 50 * (i + 1), "loss_d": 0.5, "score_real": scores[0], "score_fake": scores[1],
                "loss_g": 1.0, "grad_norm_g": 1.0} for i in range(dr.DOMINANCE_INTERVALS)]
    assert names(feed(d, records)) == (["d-overpowers-g"] if fires else [])


def test_losses_that_run_away_are_divergence(doctor):
    records = [gan_record(50), gan_record(100, loss_g=500.0), gan_record(150)]  # one wild interval: no verdict
    records += [gan_record(200 + 50 * i, loss_d=10.0 ** (3 + i), d_fake=0.0) for i in range(4)]
    found = feed(doctor, records)
    assert names(found) == ["non-convergence"] and found[0].step == 250
    assert "run away" in found[0].message and "1e+04" in found[0].message
    # a diverged run's other symptoms are consequences: D "winning" above is not reported
    assert "d-overpowers-g" not in doctor.reported


def test_a_wasserstein_critic_runs_away_relative_to_its_own_scale(tiny_config):
    d = Doctor(tiny_config(loss__name="wgan-gp"), points_data(), torch.device("cpu"))
    calm = [{"step": 10 * (i + 1), "loss_d": -5.0 - (i % 3), "score_real": 3.0, "score_fake": -3.0,
             "loss_g": -300.0 - 50 * i, "penalty": 0.1} for i in range(12)]  # G's loss drifts: not watched
    assert feed(d, calm) == []
    wild = [{"step": 130 + 10 * i, "loss_d": -1e4, "loss_g": 0.0} for i in range(2)]
    assert names(feed(d, wild)) == ["non-convergence"]


def test_oscillation_of_growing_amplitude_is_non_convergence(doctor):
    calm = [gan_record(50 * (i + 1), loss_g=1.0 + 0.05 * (-1) ** i) for i in range(12)]
    assert feed(doctor, calm) == []
    swings = [gan_record(650 + 50 * i, loss_g=1.0 + (1 + i) * 0.5 * (-1) ** i) for i in range(6)]
    found = feed(doctor, swings)
    assert names(found) == ["non-convergence"] and "loss_g oscillates" in found[0].message


def test_a_steady_critic_loss_with_tiny_wobbles_is_not_an_oscillation(tiny_config):
    # the usual change of a constant loss is 0: its wobbles must still be a visible part of the loss
    d = Doctor(tiny_config(loss__name="wgan-gp"), points_data(), torch.device("cpu"))
    losses = [-5.0] * 10 + [-5.0 + 0.01 * (-1) ** i for i in range(10)]
    assert feed(d, [{"step": 10 * (i + 1), "loss_d": v, "loss_g": 3.0} for i, v in enumerate(losses)]) == []


def test_a_single_spike_is_not_an_oscillation(doctor):
    records = [gan_record(50 * (i + 1), loss_g=1.0 + 0.05 * (-1) ** i) for i in range(20)]
    records[15]["loss_g"] = 4.0
    assert feed(doctor, records) == []


def test_the_vae_is_watched_for_runaway_and_nan_only(doctor):
    records = [{"step": 10 * (i + 1), "epoch": 0.1, "loss": 200.0 - i, "recon": 180.0, "kl": 20.0} for i in range(10)]
    assert feed(doctor, records) == []
    assert names(feed(doctor, [{"step": 110, "loss": 1e6}, {"step": 120, "loss": 1e7}])) == ["non-convergence"]


# ---------------------------------------------------------------------------------------------------
# the sample rules on synthetic batches
# ---------------------------------------------------------------------------------------------------


def test_collapsing_points_are_named_once(doctor):
    data = points_data(seed=1)
    assert doctor.check_samples(100, data.images[:500]) == []  # the first epoch only sets the mark
    assert doctor.check_samples(200, data.images[500:1000]) == []
    one_mode = data.modes[3] + 0.02 * torch.randn(500, 2)
    found = doctor.check_samples(300, one_mode)
    assert names(found) == ["mode-collapse"] and found[0].step == 300
    assert "capture modes of the mixture: 1, against 8" in found[0].message and "model.pack=2" in found[0].remedy
    assert doctor.check_samples(400, one_mode) == []  # once a run


def test_blobs_that_never_had_diversity_are_not_a_collapse(doctor):
    # the first epochs of a run: G draws nearly the same point whatever z, and slowly spreads out
    torch.manual_seed(0)
    for epoch, spread in enumerate((0.001, 0.002, 0.004, 0.003, 0.5, 2.0)):
        assert doctor.check_samples(100 * (epoch + 1), spread * torch.randn(500, 2)) == []


def test_one_mode_once_caught_by_chance_is_no_diversity_to_lose(doctor):
    # points on a circle inside the ring of modes (as wide as the ring, on none of its modes);
    # at one epoch 20 of them stray onto one mode, at the next they are back: the run held one
    # mode at best, and falling from 1 to 0 is not a collapse (it was, by the rule alone)
    angles = torch.rand(500, generator=torch.Generator().manual_seed(0)) * 2 * math.pi
    circle = torch.stack([angles.cos(), angles.sin()], dim=1)  # radius 1; the modes lie at radius 2
    strayed = circle.clone()
    strayed[:20] = points_data().modes[3] + 0.001 * torch.randn(20, 2)
    assert doctor.check_samples(100, circle) == []
    assert doctor.check_samples(200, strayed) == []
    assert doctor.check_samples(300, circle) == []


def test_images_without_an_evaluator_are_measured_in_pixels(tiny_config):
    data = pixel_data()
    d = Doctor(tiny_config(), data, torch.device("cpu"))
    assert d.check_samples(10, data.images[:64]) == [] and d.check_samples(20, data.images[64:128]) == []
    found = d.check_samples(30, data.images[:1].expand(64, -1, -1, -1))
    assert names(found) == ["mode-collapse"] and "pixel space is 0" in found[0].message


def test_mnist_samples_are_measured_in_the_evaluators_features_and_classes(tiny_config, mnist_root):
    from gankit.data import load_dataset

    cfg = tiny_config()
    data = load_dataset(cfg.data, "test", torch.device("cpu"))
    d = Doctor(cfg, data, torch.device("cpu"))
    assert d.check_samples(10, data.images[1000:1064]) == []
    ones = data.images[data.labels == 1][:64]  # one class, still varied
    found = d.check_samples(20, ones)
    assert names(found) == ["mode-collapse"]
    assert "evaluator's feature space" in found[0].message
    assert "fall into classes (effective number)" in found[0].message


def test_non_finite_points_are_named(doctor):
    found = doctor.check_samples(10, torch.full((100, 2), float("nan")))
    assert names(found) == ["non-finite"] and doctor.check_log(gan_record(20, d_fake=0.0)) == []


def test_a_finding_is_a_line_and_a_record():
    f = Finding("mode-collapse", 120, "the samples look alike", "model.pack=2")
    assert f.line() == "doctor at step 120: the samples look alike. Try: model.pack=2"
    assert f.record() == {"step": 120, "finding": "mode-collapse", "message": "the samples look alike",
                          "remedy": "model.pack=2"}


# ---------------------------------------------------------------------------------------------------
# real tiny runs
# ---------------------------------------------------------------------------------------------------


def test_a_healthy_dcgan_run_raises_no_finding(tiny_config, tmp_path):
    # the tutorial's DCGAN as dcgan-mnist sets it up (model, loss, optimizer), on 256 images;
    # every 2 steps a record, so that every log rule has enough history to judge
    cfg = tiny_config(train__steps=40, log__every=2)
    run = RunDir.create(tmp_path / "run", cfg.name)
    train(cfg, run, verbose=False)
    records = run.read_metrics()
    assert len([r for r in records if "loss_d" in r]) == 20
    assert findings_of(run) == []


def test_a_discriminator_learning_far_faster_is_named(tiny_config, tmp_path):
    cfg = tiny_config(optim__lr_d=2e-2, optim__lr_g=2e-4, train__steps=28, **SMALL)
    found = run_findings(cfg, tmp_path)
    assert names(found) == ["d-overpowers-g"]
    assert found[0]["step"] == 4 * dr.DOMINANCE_INTERVALS + 4  # the first interval has D still learning
    assert "optim.lr_d (now 0.02)" in found[0]["remedy"] and found[0]["epoch"] == found[0]["step"] / 8


def test_an_exploding_learning_rate_is_named(tiny_config, tmp_path):
    cfg = tiny_config(optim__lr_d=1.0, optim__lr_g=1.0, train__steps=16, **SMALL)
    found = run_findings(cfg, tmp_path)
    assert names(found) == ["non-convergence"] and found[0]["step"] == 8
    assert "run away" in found[0]["message"]


def test_a_generator_that_stops_listening_to_z_is_named(tiny_config, tmp_path, monkeypatch):
    collapse_after = 24  # G steps trained normally; from then on every z gives the first z's image
    build = trainer_module.build_models

    def build_collapsing(*args, **kwargs):
        G, D = build(*args, **kwargs)
        forward, calls = G.forward, [0]

        def collapsing(z, y=None):
            calls[0] += G.training
            if calls[0] > collapse_after:
                z = z[:1].expand_as(z)
            return forward(z, y)

        G.forward = collapsing
        return G, D

    monkeypatch.setattr(trainer_module, "build_models", build_collapsing)
    monkeypatch.setattr(trainer_module.Trainer, "warm_up", lambda self: None)  # G's calls are the steps' alone
    found = run_findings(tiny_config(train__steps=40, **SMALL), tmp_path)
    assert names(found).count("mode-collapse") == 1
    collapse = next(f for f in found if f["finding"] == "mode-collapse")
    assert collapse["step"] == 32  # the first epoch picture after the collapse
    assert "0% of the" in collapse["message"] and "model.pack=2" in collapse["remedy"]
