"""tools/results.py writes docs/results.md from saved numbers alone: tables, spreads, pictures."""

from __future__ import annotations

import json

import pytest

from tests.tools import ROOT, load_tool

runs = load_tool("results_runs")  # the rows tools/results.py runs


@pytest.fixture
def results(tmp_path, monkeypatch):
    module = load_tool("results")
    monkeypatch.setattr(module, "RAW", tmp_path / "raw")
    monkeypatch.setattr(module, "IMAGES", tmp_path / "images")
    return module


def line(label, seed, **values):
    return {"section": "toy", "label": label, "preset": label, "seed": seed, "minutes": None, "overrides": [],
            "machine": "a test CPU, 1 thread", "train_s": 120.0 + seed * 60, "epochs": 80.0, "steps": 16000,
            **values}


def test_the_page_shows_each_runs_mean_and_half_range_over_seeds(results):
    for seed, hq in enumerate([0.94, 0.96, 0.95]):
        results.record("toy", line("r1-toy-ring", seed, modes_captured=8, high_quality=hq))
    page = results.render()
    row = next(r for r in page.splitlines() if r.startswith("| `r1-toy-ring`"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # run, seeds, G steps, epochs, minutes, modes, high quality, published
    assert cells[1:7] == ["3", "16000", "80.0", "3.0 ± 1.0", "8", "0.950 ± 0.010"]
    assert "PacGAN2 7.9 of 8" in cells[7]
    assert "Machine: a test CPU, 1 thread." in page
    assert "## Stacked MNIST (1,000 modes)" in page and "Not measured yet." in page


def test_a_measured_run_is_not_run_again(results, monkeypatch):
    results.record("search", {**line("+ EMA", 0), "section": "search", "minutes": 4.0,
                              "overrides": ["ema.half_life=10000"]})
    ran = []
    monkeypatch.setattr(results, "measure", lambda *a, **k: ran.append(a[1]) or {
        **line(a[1], a[3]), "section": "search", "minutes": a[4], "overrides": a[5]})
    args = results.argparse.Namespace(full=False, minutes=10.0, search_minutes=4.0, seeds=[0, 1], runs=None,
                                      only=["dcgan-mnist as shipped", "+ EMA"], steps=None)
    results.run_section("search", args)
    assert ran == ["dcgan-mnist as shipped"]


def test_a_run_another_command_recorded_meanwhile_is_not_run_again(results, monkeypatch):
    ran = []

    def measure(section, label, *rest):  # while this run trains, another command records "+ EMA"
        ran.append(label)
        results.record("search", {**line("+ EMA", 0), "section": "search", "minutes": 4.0,
                                  "overrides": ["ema.half_life=10000"]})
        return {**line(label, 0), "section": "search", "minutes": 4.0}

    monkeypatch.setattr(results, "measure", measure)
    args = results.argparse.Namespace(full=False, minutes=10.0, search_minutes=4.0, seeds=[0], runs=None,
                                      only=["dcgan-mnist as shipped", "+ EMA"], steps=None)
    results.run_section("search", args)
    assert ran == ["dcgan-mnist as shipped"]


def test_a_run_at_another_length_is_measured_and_shown_in_its_own_row(results, monkeypatch):
    t = {"section": "translation", "label": "pix2pix-inpaint-mnist", "preset": "pix2pix-inpaint-mnist",
         "minutes": None, "machine": "a test CPU, 1 thread", "train_s": 200.0, "epochs": 1.6,
         "revision": results.REVISION}
    results.record("translation", {**t, "seed": 0, "overrides": ["train.steps=1500"], "steps": 1500,
                                   "model/fid": 150.0})
    ran = []
    monkeypatch.setattr(results, "measure", lambda *a, **k: ran.append((a[1], a[3], a[5])) or {
        **t, "seed": a[3], "overrides": a[5], "steps": 9375, "epochs": 10.0, "model/fid": 90.0})
    for steps in (1500, 9375):
        args = results.argparse.Namespace(full=False, minutes=10.0, seeds=[0], runs=None, steps=steps,
                                          only=["pix2pix-inpaint-mnist"])
        results.run_section("translation", args)
    assert ran == [("pix2pix-inpaint-mnist", 0, ["train.steps=9375"])]  # 1,500 steps was measured already

    rows = [r for r in results.render().splitlines() if r.startswith("| `pix2pix-inpaint-mnist`")]
    assert len(rows) == 2 and "| 1500 |" in rows[0] and "| 150.0 |" in rows[0]
    assert "| 9375 |" in rows[1] and "| 90.0 |" in rows[1]


def test_paired_rows_of_the_first_protocol_stand_apart_and_are_measured_again(results, monkeypatch):
    def t(label, preset, **values):
        return {"section": "translation", "label": label, "preset": preset, "seed": 0, "minutes": None,
                "overrides": ["train.steps=1500"], "machine": "a test CPU, 1 thread", "train_s": 60.0,
                "epochs": 1.6, "steps": 1500, **values}
    results.record("translation", t("srgan-sr4-mnist", "srgan-sr4-mnist", **{"model/fid": 96.0}))  # revision 1
    results.record("translation", t("cyclegan-mnist2fashion", "cyclegan-mnist2fashion", **{"model/fid": 301.0}))
    new = t("srgan-sr4-mnist", "srgan-sr4-mnist", revision=results.REVISION, **{"model/fid": 62.0, "real/fid": 4.0})
    ran = []
    monkeypatch.setattr(results, "measure", lambda *a, **k: ran.append(a[1]) or new)
    args = results.argparse.Namespace(full=False, minutes=None, seeds=[0], runs=None, steps=1500,
                                      only=["srgan-sr4-mnist", "cyclegan-mnist2fashion"])
    results.run_section("translation", args)
    assert ran == ["srgan-sr4-mnist"]  # the unpaired row's protocol is unchanged: it stands

    page = results.render().splitlines()
    apart = page.index(results.FIRST_PROTOCOL)
    current = [r for r in page[:apart] if r.startswith("| `")]
    first = [r for r in page[apart:] if r.startswith("| `") and "![" not in r]
    assert [r.split("|")[1].strip() for r in current] == ["`srgan-sr4-mnist`", "`cyclegan-mnist2fashion`"]
    assert "| 62.0 |" in current[0] and "| 4.000 |" in current[0]
    assert len(first) == 1 and "| 96.0 |" in first[0] and "real/fid" not in page[apart + 2]


def test_labels_become_file_names(results):
    assert results.slug("pix2pix-inpaint-mnist, no GAN loss") == "pix2pix-inpaint-mnist-no-gan-loss"
    assert results.slug("+ EMA, TTUR 1e-4/4e-4") == "ema-ttur-1e-4-4e-4"


def test_translation_twins_train_the_same_steps(results):
    args = results.argparse.Namespace(full=False, minutes=10.0, steps=1500)
    jobs = {label: (sets, minutes) for label, _, sets, minutes in results.jobs("translation", args)}
    assert jobs["pix2pix-inpaint-mnist"] == (["train.steps=1500"], None)
    assert jobs["pix2pix-inpaint-mnist, no GAN loss"] == (["translate.adv_weight=0", "train.steps=1500"], None)
    assert "cyclegan-mnist2fashion" in jobs and "cyclegan-mnist2fashion, no GAN loss" not in jobs  # unpaired


def test_a_run_trained_elsewhere_is_scored_with_its_own_settings_and_recorded(results, tmp_path):
    cfg = results.presets.config("r1-toy-ring", {"train.steps": 40, "train.seed": 0, "log.tensorboard": False,
                                                 "eval.every": None, "log.every": 20})
    run = results.RunDir.create(tmp_path / "ring", "r1-toy-ring")
    results.train(cfg, run, verbose=False)

    line = results.add("toy", str(run.path), None)
    assert (line["label"], line["preset"], line["seed"], line["steps"]) == ("r1-toy-ring", "r1-toy-ring", 0, 40)
    assert 0 <= line["modes_captured"] <= 8 and 0.0 <= line["high_quality"] <= 1.0  # toy-modes, not image metrics
    assert "fid" not in line
    assert line["train_s"] > 0  # the training steps' own time, from the checkpoint
    # the run folder keeps the evaluation as gankit evaluate leaves it, for gankit report to show
    evaluation = json.loads(run.evaluation.read_text())
    assert evaluation["metrics"]["modes_captured"] == line["modes_captured"]
    assert evaluation["protocol"]["run"]["step"] == 40
    assert results.picture("toy", "r1-toy-ring").exists()  # seed 0's picture, as a measured run gets
    assert results.picture("toy", "r1-toy-ring") != results.picture("fast", "r1-toy-ring")


def test_a_section_run_trains_scores_records_and_keeps_seed_0s_picture(results, monkeypatch, tmp_path):
    real = results.configure
    monkeypatch.setattr(results, "configure", lambda name, seed, minutes, overrides=(): real(
        name, seed, minutes, [*overrides, "train.steps=40", "log.every=20"]))  # a few steps, not the paper's length
    args = results.argparse.Namespace(full=True, minutes=10.0, seeds=[0, 1], runs=str(tmp_path / "runs"),
                                      only=["r1-toy-ring"], steps=None)
    results.run_section("toy", args)

    lines = results.done("toy")
    assert [(d["label"], d["seed"], d["steps"]) for d in lines] == [("r1-toy-ring", 0, 40), ("r1-toy-ring", 1, 40)]
    assert all(0 <= d["modes_captured"] <= 8 for d in lines)
    assert results.picture("toy", "r1-toy-ring").exists()  # seed 0's; seed 1 adds no picture of its own
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["toy-r1-toy-ring-full-seed0",
                                                                     "toy-r1-toy-ring-full-seed1"]
    # the minutes are the training steps' own time, as a continued run's are: the checkpoint's count
    for d in lines:
        ckpt = results.RunDir.open(tmp_path / "runs" / f"toy-r1-toy-ring-full-seed{d['seed']}").load_checkpoint()
        assert d["train_s"] == round(ckpt["train_seconds"], 1) > 0


def test_a_run_a_killed_command_left_is_continued_not_started_again(results, monkeypatch, tmp_path):
    from gankit.train.trainer import Trainer

    real = results.configure
    monkeypatch.setattr(results, "configure", lambda name, seed, minutes, overrides=(): real(
        name, seed, minutes, [*overrides, "train.steps=40", "log.every=10", "checkpoint.every=10"]))
    args = results.argparse.Namespace(full=True, minutes=10.0, seeds=[0], runs=str(tmp_path / "runs"),
                                      only=["r1-toy-ring"], steps=None)
    # the command killed after step 20: its folder holds the config and a checkpoint there
    cfg = results.configure("r1-toy-ring", 0, None)
    folder = tmp_path / "runs" / results.run_name("toy", "r1-toy-ring", None, [], 0)
    with monkeypatch.context() as m:
        m.setattr(Trainer, "over_budget", property(lambda self: self.step >= 20))
        results.train(cfg, results.RunDir.create(folder, "r1-toy-ring"), verbose=False)
    steps = []
    step = Trainer.train_step
    monkeypatch.setattr(Trainer, "train_step", lambda self: steps.append(self.step) or step(self))

    results.run_section("toy", args)  # the same command again
    # continued from step 20, not from 0: on several CPU threads after a warm-up step at 20, undone
    assert steps[-20:] == list(range(20, 40)) and steps[:-20] in ([], [20])
    (line,) = results.done("toy")
    assert line["steps"] == 40 and line["train_s"] > 0
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name]

    (tmp_path / "raw" / "toy.jsonl").unlink()  # a folder of other settings is not taken for the run
    monkeypatch.setattr(results, "configure", lambda name, seed, minutes, overrides=(): real(
        name, seed, minutes, [*overrides, "train.steps=40", "optim.lr_g=1e-3"]))
    with pytest.raises(SystemExit, match="holds a run of other settings"):
        results.run_section("toy", args)


def test_translation_rows_put_each_twin_under_its_gan_and_pictures_side_by_side(results):
    def t(label, preset, seed, steps):
        return {"section": "translation", "label": label, "preset": preset, "seed": seed, "minutes": None,
                "overrides": [f"train.steps={steps}"], "machine": "a test CPU, 1 thread", "train_s": 60.0,
                "epochs": 1.0, "steps": steps, "model/fid": 100.0}
    twin = "srgan-sr4-mnist" + results.TWIN
    for line in [t(twin, "srgan-sr4-mnist", 0, 1500), t("pix2pix-inpaint-mnist", "pix2pix-inpaint-mnist", 0, 1500),
                 t("srgan-sr4-mnist", "srgan-sr4-mnist", 0, 1500), t("srgan-sr4-mnist", "srgan-sr4-mnist", 0, 9375)]:
        results.record("translation", line)
    for label in ("srgan-sr4-mnist", twin):
        path = results.picture("translation", label)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")
    page = results.render()
    rows = [r.split("|")[1:4] for r in page.splitlines() if r.startswith("| `")]
    assert [(r[0].strip(), r[2].strip()) for r in rows[:4]] == [
        ("`pix2pix-inpaint-mnist`", "1500"), ("`srgan-sr4-mnist`", "1500"), ("`srgan-sr4-mnist, no GAN loss`", "1500"),
        ("`srgan-sr4-mnist`", "9375")]
    pair = next(r for r in page.splitlines() if r.startswith("| `srgan-sr4-mnist` | !["))
    assert "srgan-sr4-mnist.png)<br>9375 G steps" in pair and "srgan-sr4-mnist-no-gan-loss.png)<br>1500 G steps" in pair
    assert not any(r.startswith("| `pix2pix-inpaint-mnist` | ![") for r in page.splitlines())  # no picture kept


def test_a_translation_variant_stands_under_its_preset_beside_its_own_twin(results):
    def t(label, seed):
        return {"section": "translation", "label": label, "preset": "pix2pix-inpaint-mnist", "seed": seed,
                "minutes": None, "overrides": [], "machine": "a test CPU, 1 thread", "train_s": 60.0,
                "epochs": 1.0, "steps": 1500, "model/fid": 100.0}
    preset, variant = "pix2pix-inpaint-mnist", "pix2pix-inpaint-mnist, no EMA"
    for label in (variant, variant + results.TWIN, preset + results.TWIN, preset):  # measured in this order
        results.record("translation", t(label, 0))
        path = results.picture("translation", label)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")
    page = results.render()
    rows = [r.split("|")[1].strip() for r in page.splitlines() if r.startswith("| `") and "![" not in r]
    assert rows == [f"`{preset}`", f"`{preset}, no GAN loss`", f"`{variant}`", f"`{variant}, no GAN loss`"]
    pair = next(r for r in page.splitlines() if r.startswith(f"| `{variant}` | !["))
    assert "no-ema.png)" in pair and "no-ema-no-gan-loss.png)" in pair

    args = results.argparse.Namespace(full=False, minutes=None, steps=1500)
    jobs = {label: sets for label, _, sets, _ in results.jobs("translation", args)}
    assert jobs[variant] == [runs.NO_EMA, "train.steps=1500"]
    assert jobs[variant + results.TWIN] == [runs.NO_EMA, results.NO_GAN, "train.steps=1500"]
    assert jobs[preset + results.TWIN] == [results.NO_GAN, "train.steps=1500"]


def test_the_first_inpainting_presets_rows_keep_the_settings_they_ran_with(results):
    args = results.argparse.Namespace(full=True, minutes=None, steps=None)
    jobs = {label: sets for label, _, sets, _ in results.jobs("translation", args)}
    first = "pix2pix-inpaint-mnist, first preset"
    assert jobs[first] == runs.FIRST_INPAINT
    assert "model.blocks=null" in jobs[first] and "translate.adv_weight=1" in jobs[first]
    assert jobs[first + ", whole image repainted"] == [*runs.FIRST_INPAINT, runs.REPAINT]
    stronger = first + ", + perceptual loss 100, L1 weight 30, adversarial weight 4"
    assert jobs[stronger] == ["model.blocks=null", "translate.adv_weight=4", "translate.perceptual_weight=100",
                              "translate.pixel_weight=30", runs.NO_EMA]  # its own values replace the first's
    assert stronger + results.TWIN not in jobs  # the twin of the row without the weight
    assert jobs[first + ", + perceptual loss 100, L1 weight 30" + results.TWIN][-1] == results.NO_GAN
    assert not any(label.startswith("pix2pix-inpaint-mnist, + perceptual") for label in jobs)  # all relabelled


def test_the_second_inpainting_presets_rows_keep_the_settings_they_ran_with(results):
    args = results.argparse.Namespace(full=True, minutes=None, steps=None)
    jobs = {label: sets for label, _, sets, _ in results.jobs("translation", args)}
    second = "pix2pix-inpaint-mnist, second preset"
    assert jobs[second] == runs.SECOND_INPAINT
    cfg = results.configure("pix2pix-inpaint-mnist", 0, None, jobs[second])
    assert (cfg.translate.adv_weight, cfg.translate.pixel_weight, cfg.translate.perceptual_weight) == (4, 30, 100)
    assert cfg.ema.half_life is None and cfg.model.blocks == 2  # no EMA; the dilated blocks it brought
    assert jobs[second + results.TWIN] == [*runs.SECOND_INPAINT, results.NO_GAN]
    weaker = jobs[second + ", adversarial weight 1"]
    assert weaker[0] == "translate.adv_weight=1" and weaker[1:] == runs.SECOND_INPAINT[1:]
    # today's preset sampled as trained: its twin is L1 alone, the baseline of the aims
    today = results.configure("pix2pix-inpaint-mnist", 0, None, jobs["pix2pix-inpaint-mnist, no EMA" + results.TWIN])
    assert (today.translate.adv_weight, today.translate.perceptual_weight, today.ema.half_life) == (0, 0, None)


def test_the_first_sr4_presets_rows_keep_the_settings_they_ran_with(results):
    """srgan-sr4-mnist first judged each output beside its source with 12x12 patch logits, at 1e-4; today's D
    judges the whole output alone, at 2e-4, and its L1 baseline moved to 2e-4 with it."""
    args = results.argparse.Namespace(full=True, minutes=None, steps=None)
    jobs = {label: sets for label, _, sets, _ in results.jobs("translation", args)}
    first = "srgan-sr4-mnist, first preset"
    then = results.configure("srgan-sr4-mnist", 0, None, jobs[first])
    now = results.configure("srgan-sr4-mnist", 0, None, jobs["srgan-sr4-mnist"])
    def settings(cfg):
        return cfg.model.d_layers, cfg.translate.d_sees_source, cfg.optim.lr_g, cfg.optim.lr_d

    assert settings(then) == (None, True, 1e-4, 1e-4) and settings(now) == (3, False, 2e-4, 2e-4)
    # the first preset with today's D: today's preset at the paper's rate
    same_d = results.configure("srgan-sr4-mnist", 0, None, jobs[first + ", whole-image D, unconditional D"])
    assert results.C.differing_keys(same_d.to_dict(), now.to_dict()) == ["optim.lr_g", "optim.lr_d"]
    assert jobs[first + results.TWIN] == [*runs.FIRST_SRGAN, results.NO_GAN]
    assert first + ", whole-image D" + results.TWIN not in jobs  # D's settings alone: the first preset's twin
    assert results.configure("l1-sr4-mnist", 0, None, jobs["l1-sr4-mnist, first preset"]).optim.lr_g == 1e-4
    assert results.configure("l1-sr4-mnist", 0, None, jobs["l1-sr4-mnist"]).optim.lr_g == 2e-4
    assert not any(label.startswith("srgan-sr4-mnist, whole-image D") for label in jobs)  # all relabelled


def recorded(results, section):
    """The rows benchmarks/measured/results/ holds for ``section``, but the floor (real images, no run)."""
    path = ROOT / "benchmarks" / "measured" / "results" / f"{section}.jsonl"
    rows = [json.loads(text) for text in path.read_text().splitlines() if text.strip()]
    return [row for row in rows if row["label"] != results.REAL]


def test_every_recorded_row_is_a_run_the_script_lists_with_the_settings_it_ran_with(results):
    """Presets change (mnist-fast's learning rate, the inpainting preset twice): a row measured before keeps
    its overrides of the preset of then, written against today's, and stays one of the runs listed, under
    the label it is shown with, at its length."""
    for section in ("image", "fast", "toy", "toy-search", "translation", "translation-search", "translation-blend"):
        for row in recorded(results, section):
            steps = [int(o.split("=")[1]) for o in row["overrides"] if o.startswith("train.steps=")]
            args = results.argparse.Namespace(full=not steps and not row["minutes"], minutes=row["minutes"],
                                              steps=steps[0] if steps else None)
            jobs = {(label, minutes): sets for label, _, sets, minutes in results.jobs(section, args)}
            assert jobs.get((row["label"], row["minutes"])) == row["overrides"], (section, row["label"])


def test_a_pixel_loss_baseline_has_no_twin_and_its_grid_stands_in_the_pixel_loss_column(results):
    args = results.argparse.Namespace(full=False, minutes=None, steps=1500)
    jobs = {label: sets for label, _, sets, _ in results.jobs("translation", args)}
    assert jobs["l1-sr4-mnist"] == ["train.steps=1500"] and "l1-sr4-mnist" + results.TWIN not in jobs
    esrgan_l1 = "esrgan-sr4-fashion, L1 only"
    assert results.NO_GAN in jobs[esrgan_l1] and esrgan_l1 + results.TWIN not in jobs
    assert "srgan-sr4-mnist" + results.TWIN in jobs  # a GAN row keeps its twin

    for label in ("srgan-sr4-mnist", "l1-sr4-mnist"):
        results.record("translation", {"section": "translation", "label": label, "preset": label, "seed": 0,
                                       "minutes": None, "overrides": [], "machine": "a test CPU, 1 thread",
                                       "train_s": 60.0, "epochs": 1.0, "steps": 1500, "model/fid": 100.0})
        path = results.picture("translation", label)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")
    page = results.render().splitlines()
    def grids(label):
        return [c.strip() for c in next(r for r in page if r.startswith(f"| `{label}` | ") and "![" in r).split("|")]
    gan, baseline = grids("srgan-sr4-mnist"), grids("l1-sr4-mnist")
    assert "srgan-sr4-mnist.png" in gan[2] and gan[3] == ""
    assert baseline[2] == "" and "l1-sr4-mnist.png" in baseline[3]


def test_a_row_that_only_changes_the_adversarial_term_or_d_shares_a_twin(results):
    args = results.argparse.Namespace(full=True, minutes=None, steps=None)
    jobs = {label for label, _, _, _ in results.jobs("translation", args)}
    stronger = "srgan-sr4-mnist, first preset, adversarial weight 1e-2"
    first_sr4_twin = "srgan-sr4-mnist, first preset" + results.TWIN
    assert stronger in jobs and stronger + results.TWIN not in jobs and first_sr4_twin in jobs
    first = "pix2pix-inpaint-mnist, first preset"
    assert first + ", + perceptual loss 100" + results.TWIN in jobs  # other losses: its own twin
    best = first + ", + perceptual loss 100, L1 weight 30"
    whole_image_d = best + ", whole-image D"  # another D: the twin of the row without it
    assert whole_image_d in jobs and whole_image_d + results.TWIN not in jobs and best + results.TWIN in jobs
    best_sets = ["model.blocks=null", "translate.adv_weight=1", "translate.perceptual_weight=100",
                 "translate.pixel_weight=30", runs.NO_EMA]
    assert results.twin_label(whole_image_d, "pix2pix-inpaint-mnist",
                              [*best_sets, "model.d_layers=2"]) == best + results.TWIN
    # a D that judges the output alone is D's business: without D the run is the preset's twin
    assert results.twin_label("srgan-sr4-mnist, whole-image D, unconditional D", "srgan-sr4-mnist",
                              ["model.d_layers=3", "translate.d_sees_source=false"]) == "srgan-sr4-mnist" + results.TWIN
    # a pixel-loss warm-up trains the twin too: its length is kept, where a warm-up of the content loss is D's
    assert results.without_adversarial(["model.d_layers=3", "translate.warmup_steps=200"]) == []
    assert results.without_adversarial(["translate.warmup_loss=pixel", "translate.warmup_steps=200", "loss.name=hinge"]
                                       ) == ["translate.warmup_loss=pixel", "translate.warmup_steps=200"]
    # rows that differ in the adversarial weight alone share one twin, whatever weight each names
    assert results.twin_label(best + ", adversarial weight 4", "pix2pix-inpaint-mnist",
                              [*best_sets[:1], "translate.adv_weight=4", *best_sets[2:]]) == best + results.TWIN

    for label in (stronger, first_sr4_twin):
        results.record("translation", {"section": "translation", "label": label, "preset": "srgan-sr4-mnist",
                                       "seed": 0, "minutes": None, "overrides": [], "machine": "a test CPU, 1 thread",
                                       "train_s": 60.0, "epochs": 10.0, "steps": 9370, "model/fid": 7.0})
        path = results.picture("translation", label)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")
    row = next(r for r in results.render().splitlines() if r.startswith(f"| `{stronger}` | ") and "![" in r)
    cells = [c.strip() for c in row.split("|")]
    assert results.slug(stronger) + ".png" in cells[2]
    assert results.slug(first_sr4_twin) + ".png" in cells[3]


def test_the_fast_sections_late_settings_train_the_steps_its_30_minutes_made(results):
    args = results.argparse.Namespace(full=False, minutes=10.0, steps=None)
    jobs = results.jobs("fast", args)
    budgets = {label: results.configure(preset, 0, minutes, sets).train for label, preset, sets, minutes in jobs}
    assert budgets["mnist-fast"].max_minutes == 30 and budgets["mnist-fast"].steps is None
    late = [label for label, _, _ in results.FAST_LATE]
    assert late and all(budgets[label].max_minutes is None and budgets[label].steps == results.FAST_STEPS
                        for label in late)
    assert results.run_name("fast", late[0], None, jobs[-len(late)][2], 0).endswith(f"-{results.FAST_STEPS}steps-seed0")


def test_a_run_stopped_short_is_not_recorded(results, monkeypatch, tmp_path):
    from gankit.train.loop import Result

    monkeypatch.setattr(results, "train", lambda cfg, run, **kw: Result(run, 7, 1500, interrupted=True))
    monkeypatch.setattr(results, "score", lambda *a: pytest.fail("a stopped run is not scored"))
    args = results.argparse.Namespace(full=False, minutes=10.0, seeds=[0], runs=str(tmp_path / "runs"), steps=1500,
                                      only=["pix2pix-inpaint-mnist"])
    with pytest.raises(SystemExit, match="stopped at step 7; not recorded"):
        results.run_section("translation", args)
    assert results.done("translation") == []


def test_the_translation_search_runs_seed_0_at_one_length(results, monkeypatch):
    ran = []
    monkeypatch.setattr(results, "measure", lambda *a, **k: ran.append((a[1], a[3], a[5])) or {
        "section": a[0], "label": a[1], "preset": a[2], "seed": a[3], "minutes": a[4], "overrides": a[5],
        "revision": results.REVISION})
    args = results.argparse.Namespace(full=False, minutes=10.0, seeds=[0, 1, 2], runs=None, steps=None, only=None)
    results.run_section("translation-search", args)
    assert len(ran) == len(results.TRANSLATION_SEARCH) and {seed for _, seed, _ in ran} == {0}
    assert all(sets[-1] == "train.steps=1500" for _, _, sets in ran)
    first = ["model.blocks=null", "translate.adv_weight=1", "translate.perceptual_weight=0"]  # the first preset
    assert ("inpaint, L1 weight 10", 0, [*first, "translate.pixel_weight=10", runs.NO_EMA, runs.REPAINT,
                                         "train.steps=1500"]) in ran
    for label, preset, sets, _ in results.jobs("translation-search", args):  # every trial is a valid config
        assert results.configure(preset, 0, None, sets).train.steps == 1500


def test_a_spread_that_rounds_to_nothing_is_not_shown(results):
    """The same number from every seed but for float noise (the degraded input's FID) is one number."""
    assert results.cell([241.95808844050543, 241.95808844050549, 241.9580884405055]) == "242.0"
    assert results.cell([0.5636, 0.5637]) == "0.564"
    assert results.cell([86.4, 90.6, 82.2]) == "86.4 ± 4.2"


def test_the_floor_scores_real_training_images_once_and_stands_above_the_runs(results, monkeypatch):
    preset_config = results.presets.config
    monkeypatch.setattr(results.presets, "config", lambda name, sets=None, overrides=(): preset_config(
        name, {**(sets or {}), "eval.n": 400, "eval.real_n": 400}, overrides))  # 400 images, not PacGAN's 26,000
    monkeypatch.setattr(results, "measure", lambda *a, **k: pytest.fail("only the floor was asked for"))
    results.record("stacked", {**line("pacdcgan-stacked-mnist", 0, modes_covered=1000, kl_to_uniform=0.083),
                               "section": "stacked"})
    args = results.argparse.Namespace(full=True, minutes=10.0, seeds=[0, 1, 2], runs=None, only=[results.REAL],
                                      steps=None)
    results.run_section("stacked", args)
    results.run_section("stacked", args)  # measured already: not again

    floors = [d for d in results.done("stacked") if d["label"] == results.REAL]
    assert len(floors) == 1 and floors[0]["seed"] == 0 and floors[0]["steps"] is None
    assert floors[0]["evaluator"].startswith("stacked-mnist-cnn")
    assert 250 <= floors[0]["modes_covered"] <= 400  # 400 real triples of 1,000 equally likely modes
    assert floors[0]["kl_to_uniform"] > 0.5  # a histogram of 400 draws over 1,000 bins is far from flat

    rows = [r for r in results.render().split("## Stacked MNIST")[1].splitlines() if r.startswith("| `")]
    assert rows[0].startswith(f"| `{results.REAL}` | 1 |  |  |  | ")
    assert rows[1].startswith("| `pacdcgan-stacked-mnist` |")


def test_the_blend_section_scores_each_alpha_between_the_twin_and_the_gan(results, monkeypatch, tmp_path,
                                                                        fashion_root):
    real = results.configure
    monkeypatch.setattr(results, "configure", lambda name, seed, minutes, overrides=(): real(
        name, seed, minutes, [*overrides, f"data.root={fashion_root}", "data.subset=256", "model.width=8",
                              "model.blocks=1", "translate.warmup_steps=0"]))
    monkeypatch.setattr(results, "TRANSLATION_HELD_OUT", 200)
    monkeypatch.setattr(results, "BLEND_ALPHAS", (0.0, 0.5, 1.0))
    args = results.argparse.Namespace(full=False, minutes=10.0, seeds=[0], runs=str(tmp_path / "runs"),
                                      only=None, steps=3)
    results.run_section("translation-blend", args)

    lines = results.done("translation-blend")
    assert [d["alpha"] for d in lines] == list(results.BLEND_ALPHAS)
    assert all(d["steps"] == 3 and d["overrides"] == ["train.steps=3"] for d in lines)
    # the ends are the runs themselves: alpha 0 scores as the twin does, alpha 1 as the GAN
    runs = tmp_path / "runs"
    for alpha, label in ((0.0, "esrgan-sr4-fashion, no GAN loss"), (1.0, "esrgan-sr4-fashion")):
        folder = runs / results.run_name("translation", label, None, ["train.steps=3"], 0)
        run = results.RunDir.open(folder)
        alone = results.score("esrgan-sr4-fashion", run.read_config(), run)
        (blended,) = [d for d in lines if d["alpha"] == alpha]
        assert blended["model/psnr"] == alone["model/psnr"] and blended["model/fid"] == alone["model/fid"]
    assert len({d["model/psnr"] for d in lines}) > 1  # the GAN and its twin trained apart
    # one picture: 8 held-out images a row of input | 3 alphas | real, 28 px + 2 px padding, twice as large
    from PIL import Image

    size = Image.open(results.picture("translation-blend", "esrgan-sr4-fashion")).size
    assert size == (2 * (5 * 30 + 2), 2 * (8 * 30 + 2))
    page = results.render()
    assert "## Translation and enhancement: network interpolation" in page
    assert "| `esrgan-sr4-fashion, alpha 0.5` | 1 | 3 |" in page
    assert "images/results/translation-blend/esrgan-sr4-fashion.png" in page


def test_every_gpu_job_names_a_run_of_its_section(results):
    args = results.argparse.Namespace(full=True, minutes=None, search_minutes=None, steps=None)
    lines = [line.strip() for line in (ROOT / "benchmarks" / "gpu_results.jobs").read_text().splitlines()]
    known = {}
    for entry in [x for x in lines if x and not x.startswith("#")]:
        section, seed, label = entry.split("|")
        if section not in known:  # a section's jobs listed once, not once per entry
            known[section] = {job[0] for job in results.jobs(section, args)}
        assert label in known[section] and seed.isdigit(), entry


def test_recorded_mnist_fast_rows_keep_the_learning_rate_they_were_trained_with(results):
    """The preset's learning rates moved from 2e-4 to 3e-4: every row recorded before says 2e-4 in
    its overrides (that each is still one of the runs listed: the test of every recorded row below)."""
    for section in ("fast", "image"):
        for row in recorded(results, section):
            if row["preset"] == "mnist-fast":
                optim = results.configure("mnist-fast", 0, None, row["overrides"]).optim
                lrs = {"D's lr 4e-4": (2e-4, 4e-4), "lr 3e-4": (3e-4, 3e-4), "lr 4e-4": (4e-4, 4e-4)}  # first match
                named = [v for k, v in lrs.items() if k in row["label"]]
                # measured since the change: the preset as it ships, at its own length and at the steps
                shipped = row["label"] in ("mnist-fast", f"mnist-fast, {results.FAST_STEPS:,} steps")
                expected = named[0] if named else (3e-4, 3e-4) if shipped else (2e-4, 2e-4)
                assert (optim.lr_g, optim.lr_d) == pytest.approx(expected), row["label"]


def test_every_run_of_every_section_sets_only_what_its_run_reads(results):
    from gankit.train import unused

    args = results.argparse.Namespace(full=False, minutes=10.0, search_minutes=5.0, steps=None)
    for section, *_ in results.SECTIONS:
        for label, preset, overrides, minutes in results.jobs(section, args):
            assert unused.unused(results.configure(preset, 0, minutes, overrides)) == [], (section, label)


def test_a_number_only_some_seeds_have_says_how_many(results):
    """A metric the protocol gained after some seeds were scored is summed over the others, and says so."""
    assert results.cell([0.8874, None, 0.8862]) == "0.887 ± 0.001 (2 seeds)"
    assert results.cell([0.8874, None]) == "0.887 (1 seed)"
    assert results.cell([None, None]) == ""
