"""Translation and enhancement runs end to end: training, resume, pictures, evaluation, the translate command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit import config as C
from gankit.cli import main
from gankit.metrics.translation import evaluate_translation
from gankit.run import RunDir, checkpoint
from gankit.train.loop import train
from gankit.train.pairing import PairedBatches


def translation_config(mnist_root, **sets):
    """A seconds-long translation run: 256 MNIST test digits, batch 32, narrow networks; by
    default a random 10x10 hole to fill (the hole settings stay out of other kinds of pairs)."""
    data = {
        "name": "tiny-translation",
        "data": {"dataset": "mnist", "root": str(mnist_root), "split": "test", "subset": 256, "download": False},
        "pair": {"kind": "degrade", "degradation": "inpaint"},
        "model": {"arch": "unet", "width": 8},
        "train": {"batch_size": 32, "steps": 12, "seed": 0, "device": "cpu", "precision": "fp32"},
        "log": {"every": 4, "grid": 8, "tensorboard": False},
        "checkpoint": {"every": 5},
        "eval": {"n": 200},
    }
    for key, value in sets.items():
        data = C.set_key(data, key.replace("__", "."), value)
    pair = data["pair"]
    if pair["kind"] != "degrade":
        del pair["degradation"]
    elif pair["degradation"] == "inpaint":
        data["pair"] = {"hole": 10, "hole_position": "random", **pair}
    return C.from_dict(data)


# A cycle run of two generators and two discriminators on 8 steps an epoch of 8 images each
# (64 a side), so that a stop at step 7 of 12 resumes across an epoch's end.
SMALL_CYCLE = {"pair__kind": "unpaired", "pair__dataset_b": "mnist", "pair__root_b": None,
               "model__arch": "resnet-gen", "model__blocks": 1, "loss__name": "lsgan",
               "train__batch_size": 8, "data__subset": 64}


def weights_equal(a: dict, b: dict) -> bool:
    return all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("sets", [
    {},  # paired: the degradation's random hole positions come from the checkpointed noise generator
    {"model__keep_known": True},  # the hole-filling wrapper saves and restores as its network
    # D's class embeddings, judging with the targets' labels; D's penalty, whose random points come from
    # the checkpointed global RNG
    {"translate__class_projection": True, "reg__name": "dragan"},
    # a stochastic G: the step's noise comes from the checkpointed global RNG
    {"model__keep_known": True, "model__noise_channels": 2, "translate__diversity_weight": 1.0},
    {**SMALL_CYCLE, "translate__pool_size": 6, "reg__name": "dragan"},  # cycle: the fake pools, both D's penalties
    {**SMALL_CYCLE, "translate__class_weight": 1.0},  # the D's class heads too
    {**SMALL_CYCLE, "translate__pool_size": 6, "translate__class_projection": True},  # the pools' classes too
])
def test_a_resumed_translation_run_is_bit_exact(mnist_root, tmp_path, sets, exact_cpu):
    full = RunDir.create(tmp_path / "full", "f")
    train(translation_config(mnist_root, **sets), full, verbose=False)
    split = RunDir.create(tmp_path / "split", "s")
    train(translation_config(mnist_root, train__steps=7, **sets), split, verbose=False)
    train(translation_config(mnist_root, **sets), split, resume=True, verbose=False)
    a, b = checkpoint.load(full.last_checkpoint), checkpoint.load(split.last_checkpoint)
    assert a["step"] == b["step"] == 12
    for net in ("G", "D"):
        assert weights_equal(a["models"][net], b["models"][net]), net


def test_epoch_pictures_show_source_output_target(mnist_root, tmp_path):
    run = RunDir.create(tmp_path / "run", "r")
    train(translation_config(mnist_root, pair__degradation="sr4", model__arch="srresnet", model__blocks=1,
                             train__steps=8), run, verbose=False)
    picture = np.asarray(Image.open(run.epoch_grids()[-1]))
    # 8 fixed pairs, 2 triplets a row: 4 rows of 6 cells of 28 px + 2 px padding, shown twice as large
    assert picture.shape[:2] == (2 * (4 * 30 + 2), 2 * (6 * 30 + 2))
    saved = gankit.run.generator.read(run)
    assert saved.source_shape == (1, 7, 7) and saved.shape == (1, 28, 28)


def test_the_pixel_baseline_trains_no_discriminator(mnist_root, tmp_path):
    run = RunDir.create(tmp_path / "run", "r")
    train(translation_config(mnist_root, translate__adv_weight=0.0, train__steps=4), run, verbose=False)
    ckpt = checkpoint.load(run.last_checkpoint)
    assert list(ckpt["optimizers"]) == ["G"]
    assert {"pixel", "loss_g"} <= set(run.read_metrics()[-1]) and "loss_d" not in run.read_metrics()[-1]


def test_a_linear_schedule_is_applied_and_resumed(mnist_root, tmp_path):
    cfg = translation_config(mnist_root, optim__schedule="linear", optim__decay_start=0, train__steps=8)
    run = RunDir.create(tmp_path / "run", "r")
    train(cfg, run, verbose=False)
    ckpt = checkpoint.load(run.last_checkpoint)
    lr = ckpt["optimizers"]["G"]["param_groups"][0]["lr"]
    assert lr == pytest.approx(2e-4 * (1 - 7 / 8))  # the factor of the last step taken (step 7 of 8)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny paired run and its pixel-loss twin, trained once for the evaluation and translate tests."""
    from gankit.data.mnist import EMBEDDED_MNIST

    runs = {}
    for name, sets in (("gan", {}), ("l1", {"translate__adv_weight": 0.0})):
        run = RunDir.create(tmp_path_factory.mktemp(name) / "run", name)
        train(translation_config(EMBEDDED_MNIST, train__steps=16, **sets), run, verbose=False)
        runs[name] = run.path
    return runs


def test_evaluate_scores_model_input_and_the_compared_run(trained, capsys):
    code = main(["evaluate", str(trained["gan"]), "--n", "100", "--compare", str(trained["l1"])])
    assert code == 0
    printed = capsys.readouterr().out
    assert "psnr" in printed and "compare" in printed and "held-out mnist/test pairs (degrade, inpaint)" in printed
    result = json.loads((trained["gan"] / "evaluation.json").read_text())
    assert set(result["metrics"]) == {"model", "input", "compare", "real"}
    for name in ("model", "input", "compare"):
        column = result["metrics"][name]
        assert {"fid", "kid_mean", "precision", "recall", "psnr", "ssim", "accuracy"} <= set(column)
        assert 0 <= column["accuracy"] <= 1 and column["psnr"] > 0 and 0 <= column["recall"] <= 1
    real = result["metrics"]["real"]  # the real targets as outputs: the floor, with no PSNR against themselves
    assert {"fid", "kid_mean", "precision", "recall", "accuracy"} <= set(real) and "psnr" not in real
    assert real["fid"] < result["metrics"]["input"]["fid"] and real["accuracy"] > 0.9
    assert result["protocol"]["revision"] == 2
    assert result["protocol"]["held_out"] == 100 and result["protocol"]["kind"] == "translation"


def test_evaluate_scores_an_unpaired_run_by_class_purity_and_cycle(mnist_root, tmp_path, capsys):
    run = RunDir.create(tmp_path / "run", "r")
    train(translation_config(mnist_root, pair__kind="unpaired", pair__dataset_b="mnist", pair__root_b=None,
                             model__arch="resnet-gen", model__blocks=1, train__steps=2), run, verbose=False)
    assert main(["evaluate", str(run.path), "--n", "100"]) == 0
    printed = capsys.readouterr().out
    assert "class_purity" in printed and "cycle_psnr" in printed
    assert "input: source class -> matched target class, share of outputs read so: 0->0 " in printed
    result = json.loads((run.path / "evaluation.json").read_text())
    model, source = result["metrics"]["model"], result["metrics"]["input"]
    assert 0 < model["class_purity"] <= 1 and model["cycle_psnr"] > 0 and len(model["class_kept"].split(", ")) == 10
    # the input column is the source digits themselves, read by the MNIST evaluator: digit k is class k
    assert source["class_purity"] > 0.9 and source["matching"] == ",".join(f"{k}->{k}" for k in range(10))


def test_tiles_give_what_the_whole_image_gives(trained):
    t = gankit.load(trained["gan"], device="cpu")
    images = (torch.rand(1, 1, 96, 120) * 255).to(torch.uint8)
    whole = t.translate(images, tile=512)
    tiled = t.translate(images, tile=48, overlap=16)
    assert tiled.shape == whole.shape == (1, 1, 96, 120)
    assert (tiled.float() - whole.float()).abs().mean() < 3  # blended seams: the same picture


def test_translate_command_reads_files_and_folders(trained, tmp_path, capsys):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray((np.random.default_rng(0).random((30, 45, 3)) * 255).astype(np.uint8)).save(folder / "rgb.jpg")
    Image.fromarray(np.zeros((33, 20), np.uint8)).save(folder / "sub" / "odd.png")
    (folder / "sub" / "broken.png").write_bytes(b"\x89PNG not really")
    Image.fromarray(np.zeros((2, 2), np.uint8)).save(folder / "tiny.png")  # below the U-Net's 8 px minimum
    out = tmp_path / "out"
    assert main(["translate", str(trained["gan"]), str(folder), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "wrote 2 image(s)" in captured.out and "skipped 2 unusable image(s)" in captured.err
    assert Image.open(out / "in" / "rgb.png").size == (45, 30) and Image.open(out / "in" / "rgb.png").mode == "L"
    assert Image.open(out / "in" / "sub" / "odd.png").size == (20, 33)  # padded to the size multiple, cropped back


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable"),
    (b"GIF89a broken", "not a readable"),
])
def test_a_bad_file_named_directly_stops_before_anything_is_written(trained, tmp_path, capsys, content, message):
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    out = tmp_path / "out"
    assert main(["enhance", str(trained["gan"]), str(good), str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "bad.png" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_translate_refuses_noise_generators_and_missing_inputs(tmp_path, capsys, tiny_config):
    run = RunDir.create(tmp_path / "gan", "g")
    train(tiny_config(train__steps=2), run, verbose=False)
    with pytest.raises(SystemExit) as e:
        main(["translate", str(run.path), str(tmp_path), "--out", str(tmp_path / "o")])
    assert e.value.code == 2 and "use gankit sample" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["sample"], ["interpolate", "--out", "walk.gif"]])
def test_noise_commands_refuse_a_translation_run_in_one_line(trained, capsys, command):
    with pytest.raises(SystemExit) as e:
        main([command[0], str(trained["gan"]), *command[1:]])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "takes images, not noise; use gankit translate" in err and "Traceback" not in err


def test_a_keep_known_run_fills_only_the_holes_of_the_images_it_translates(mnist_root, tmp_path):
    run = RunDir.create(tmp_path / "run", "r")
    train(translation_config(mnist_root, model__keep_known=True, train__steps=4), run, verbose=False)
    translator = gankit.load(run.path)
    images = torch.full((2, 1, 28, 28), 30, dtype=torch.uint8)
    images[:, :, 8:18, 8:18] = 128  # a 10x10 hole painted mid grey, as a user would
    out = translator.translate(images)
    known = torch.ones(28, 28, dtype=torch.bool)
    known[8:18, 8:18] = False
    assert torch.equal(out[..., known], images[..., known])
    assert not torch.equal(out[..., ~known], images[..., ~known])


def test_the_class_consistency_loss_trains_class_heads_on_both_domains(mnist_root, tmp_path):
    run = RunDir.create(tmp_path / "run", "r")
    train(translation_config(mnist_root, pair__kind="unpaired", pair__dataset_b="mnist", pair__root_b=None,
                             model__arch="resnet-gen", model__blocks=1, translate__class_weight=0.5,
                             train__steps=4), run, verbose=False)
    D = checkpoint.load(run.last_checkpoint)["models"]["D"]
    assert D["a.classifier.weight"].shape[0] == D["b.classifier.weight"].shape[0] == 10  # MNIST's classes
    logged = run.read_metrics()[-1]
    # a D's class head starts from chance: about ln 10 = 2.3 a domain, two domains
    assert 3.0 < logged["class_d"] < 6.0 and logged["class_g"] > 0


def test_class_consistency_without_a_second_domain_is_a_config_error(mnist_root, tmp_path):
    with pytest.raises(C.ConfigError, match="translate.class_weight=1.0 \\(read by cycle translation runs"):
        train(translation_config(mnist_root, translate__class_weight=1.0), RunDir.create(tmp_path / "r", "r"),
              verbose=False)


def test_a_paired_d_can_judge_the_outputs_alone(mnist_root, tmp_path):
    """translate.d_sees_source=false: SRGAN's D, whose first conv takes the target's channels and no source."""
    firsts = {}
    for sees in (True, False):
        run = RunDir.create(tmp_path / str(sees), "r")
        train(translation_config(mnist_root, pair__degradation="sr4", model__arch="srresnet", model__blocks=1,
                                 translate__d_sees_source=sees, train__steps=3), run, verbose=False)
        ckpt = checkpoint.load(run.last_checkpoint)
        firsts[sees] = ckpt["models"]["D"]["hidden.0.0.weight"].shape  # [c, channels judged, 4, 4]
        assert ckpt["config"]["translate"]["d_sees_source"] is sees
    assert firsts[True][1] == 2 and firsts[False][1] == 1  # (output, its 7x7 source resized), or the output alone


def test_a_paired_d_projects_the_targets_labels(mnist_root, tmp_path):
    run = RunDir.create(tmp_path / "run", "r")
    cfg = translation_config(mnist_root, translate__class_projection=True, train__steps=3)
    train(cfg, run, verbose=False)
    D = checkpoint.load(run.last_checkpoint)["models"]["D"]
    assert D["embed.weight"].shape[0] == 10 and "classifier.weight" not in D  # MNIST's classes, no class head
    # the batches carry the targets' digits, and only where D reads them
    noise = torch.Generator().manual_seed(0)
    source, target, y_source, y = PairedBatches(cfg, torch.device("cpu")).get(0, noise)
    assert y_source is None and y.dtype == torch.int64 and y.shape == (32,) and 0 <= y.min() <= y.max() < 10
    plain = PairedBatches(translation_config(mnist_root), torch.device("cpu"))
    assert plain.num_classes == 0 and plain.get(0, torch.Generator().manual_seed(0))[3] is None


@pytest.mark.parametrize("sets, reason", [
    ({"pair__kind": "aligned"}, "aligned pairs carry none"),
    ({}, "imagefolder has none \\(folders of images get classes from their subfolders"),
])
def test_class_projection_without_labels_is_a_config_error(mnist_root, tmp_path, sets, reason):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(4):  # 28x56: a pix2pix pair (A | B side by side), or an image of its own
        Image.fromarray(np.full((28, 56), 40 * i, np.uint8)).save(folder / f"{i}.png")
    cfg = translation_config(mnist_root, data__dataset="imagefolder", data__root=str(folder), data__split="train",
                             data__subset=None, data__resolution=28, data__channels=1,
                             translate__class_projection=True, train__batch_size=2, train__steps=2, **sets)
    with pytest.raises(C.ConfigError, match=f"target's class, which needs labels, and {reason}"):
        train(cfg, RunDir.create(tmp_path / "r", "r"), verbose=False)


def test_class_projection_runs_with_class_embeddings_and_a_pool_of_labelled_fakes(mnist_root, tmp_path):
    run = RunDir.create(tmp_path / "run", "r")
    train(translation_config(mnist_root, pair__kind="unpaired", pair__dataset_b="mnist", pair__root_b=None,
                             model__arch="resnet-gen", model__blocks=1, translate__class_projection=True,
                             translate__pool_size=8, train__steps=3), run, verbose=False)
    saved = checkpoint.load(run.last_checkpoint)
    D = saved["models"]["D"]
    assert D["a.embed.weight"].shape[0] == D["b.embed.weight"].shape[0] == 10  # MNIST's classes
    assert "b.classifier.weight" not in D and "class_d" not in run.read_metrics()[-1]  # no class head, no class loss
    for domain in ("a", "b"):  # 3 steps of 32 fakes fill each pool of 8, every fake with its source's digit
        labels = saved["step_state"][domain]["labels"]
        assert labels.shape == (8,) and labels.dtype == torch.int64 and 0 <= labels.min() <= labels.max() < 10


def domain_folders(root, classes: list[str] | None):
    """The CycleGAN layout: root/trainA and root/trainB, 4 images each, in class sub-folders if given."""
    for domain in ("trainA", "trainB"):
        for i in range(4):
            folder = root / domain / (classes[i % len(classes)] if classes else "")
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(folder / f"{i}.png")
    return root


@pytest.mark.parametrize("classes", [None, ["shoe", "shirt"]])
def test_class_consistency_between_folders_needs_their_classes(mnist_root, tmp_path, classes):
    cfg = translation_config(mnist_root, data__dataset="imagefolder", data__root=str(domain_folders(tmp_path / "ab",
                             classes)), data__split="train", data__subset=None, data__labels_from_folders=bool(classes),
                             pair__kind="unpaired", model__arch="resnet-gen", model__blocks=1,
                             translate__class_weight=1.0, train__batch_size=2, train__steps=2)
    run = RunDir.create(tmp_path / "r", "r")
    if classes is None:
        with pytest.raises(C.ConfigError, match="both need labels with one number of classes: A .* has 0"):
            train(cfg, run, verbose=False)
        return
    train(cfg, run, verbose=False)  # each sub-folder a class, in both domains
    assert checkpoint.load(run.last_checkpoint)["models"]["D"]["b.classifier.weight"].shape[0] == 2


@pytest.mark.parametrize("sets, message", [
    ({"pair__degradation": "noise"}, "model.keep_known fills the holes"),
    ({"pair__kind": "unpaired", "pair__dataset_b": "mnist", "pair__root_b": None, "model__arch": "resnet-gen"},
     "model.keep_known=true \\(read by paired translation runs"),
])
def test_keep_known_without_holes_to_fill_is_a_config_error(mnist_root, tmp_path, sets, message):
    with pytest.raises(C.ConfigError, match=message):
        train(translation_config(mnist_root, model__keep_known=True, **sets), RunDir.create(tmp_path / "r", "r"),
              verbose=False)


def test_evaluate_reads_the_split_asked_for_and_refuses_options_of_noise_runs(trained, capsys):
    assert main(["evaluate", str(trained["gan"]), "--n", "50", "--split", "train"]) == 0
    assert "held-out mnist/train pairs" in capsys.readouterr().out
    assert json.loads((trained["gan"] / "evaluation.json").read_text())["protocol"]["split"] == "train"
    for option in (["--truncation", "0.5"], ["--metrics", "fid"], ["--real-n", "100"]):
        with pytest.raises(SystemExit) as e:
            main(["evaluate", str(trained["gan"]), "--n", "50", *option])
        assert e.value.code == 2 and f"{option[0]} is for runs that generate from noise" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# a stochastic translator (model.noise_channels, translate.diversity_weight)
# ---------------------------------------------------------------------------

NOISY = {"model__noise_channels": 4, "translate__diversity_weight": 1.0}


@pytest.fixture(scope="module")
def stochastic(tmp_path_factory):
    """A tiny colorization run with noise beside the source, trained once."""
    from gankit.data.mnist import EMBEDDED_MNIST

    run = RunDir.create(tmp_path_factory.mktemp("noisy") / "run", "noisy")
    train(translation_config(EMBEDDED_MNIST, pair__degradation="colorize", train__steps=16, **NOISY), run,
          verbose=False)
    return run


def test_the_mode_seeking_term_in_perceptual_space_takes_the_frozen_network_without_its_loss(mnist_root):
    """translate.diversity_space=perceptual builds the perceptual loss's network for the distance
    even where the perceptual loss itself is off, and a step logs the distance in its features."""
    from gankit.losses import PerceptualLoss
    from gankit.train.trainer import Trainer

    trainer = Trainer(translation_config(mnist_root, pair__degradation="colorize", train__steps=1,
                                         translate__diversity_space="perceptual", **NOISY))
    assert isinstance(trainer.step_fn.diversity_features, PerceptualLoss) and trainer.step_fn.perceptual is None
    stats = trainer.train_step()
    assert float(stats["diversity"]) > 0


def test_best_of_k_draws_k_outputs_a_source_and_holds_the_closest_on_pixel_and_perceptual_loss(mnist_root):
    """translate.best_of=3 in a super-resolution run with the perceptual loss: G runs once a step on
    three copies of the batch (the losses themselves: tests/train/test_paired_step.py)."""
    from gankit.losses import PerceptualLoss
    from gankit.train.trainer import Trainer

    trainer = Trainer(translation_config(mnist_root, pair__degradation="sr4", model__arch="srresnet", train__steps=1,
                                         translate__perceptual_weight=1.0, translate__best_of=3,
                                         model__noise_channels=4))
    seen = []
    trainer.G.register_forward_hook(lambda module, args, out: seen.append(len(args[0])))
    stats = trainer.train_step()
    batch = trainer.cfg.train.batch_size
    assert seen == [3 * batch] and {"pixel", "perceptual", "adv_g", "loss_d"} <= set(stats)
    assert trainer.step_fn.best_of == 3 and isinstance(trainer.step_fn.perceptual, PerceptualLoss)
    assert all(torch.isfinite(v).all() for v in stats.values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_best_of_k_with_the_mode_seeking_term_replays_as_a_cuda_graph(mnist_root):
    """The K draws' noise, their closest output and the mode-seeking term, captured and replayed."""
    from gankit.train.trainer import Trainer

    trainer = Trainer(translation_config(mnist_root, pair__degradation="sr4", model__arch="srresnet",
                                         train__device="cuda", train__cuda_graph=True, translate__best_of=3,
                                         translate__perceptual_weight=1.0, **NOISY))
    seen = [trainer.train_step() for _ in range(6)]  # 3 eager warm-up steps, the capture, 2 replays
    assert trainer.step_fn.graph is not None
    assert all(torch.isfinite(v).all() for stats in seen for v in stats.values())


def test_a_stochastic_run_logs_its_diversity_and_shows_two_outputs_a_source(stochastic):
    logged = stochastic.read_metrics()[-1]
    assert logged["diversity"] > 0 and logged["loss_g"] > logged["pixel"]
    picture = np.asarray(Image.open(stochastic.epoch_grids()[-1]))
    # 8 fixed pairs, 2 a row of source | output | output | target: 4 rows of 8 cells, twice as large
    assert picture.shape[:2] == (2 * (4 * 30 + 2), 2 * (8 * 30 + 2))
    saved = gankit.run.generator.read(stochastic)
    assert saved.config.model.noise_channels == 4
    import safetensors

    with safetensors.safe_open(str(stochastic.generator), "pt") as f:
        assert f.metadata()["noise_channels"] == "4"


def test_a_stochastic_translator_gives_one_output_per_seed(stochastic):
    t = gankit.load(stochastic.path, device="cpu")
    images = (torch.rand(3, 1, 28, 28) * 255).to(torch.uint8)
    assert t.noise_channels == 4
    assert torch.equal(t.translate(images, seed=3), t.translate(images, seed=3))
    assert not torch.equal(t.translate(images, seed=3), t.translate(images, seed=4))
    big = (torch.rand(1, 1, 64, 96) * 255).to(torch.uint8)  # tiles share the image's noise: one sample
    tiled, whole = t.translate(big, tile=32, overlap=8, seed=1), t.translate(big, tile=512, seed=1)
    assert (tiled.float() - whole.float()).abs().mean() < 3


def test_evaluate_reports_the_diversity_of_a_stochastic_run_only(stochastic, trained):
    assert main(["evaluate", str(stochastic.path), "--n", "60"]) == 0
    metrics = json.loads((stochastic.path / "evaluation.json").read_text())["metrics"]
    assert metrics["model"]["diversity"] > 0 and "saturation" in metrics["model"]
    assert "diversity" not in metrics["input"] and "diversity" not in metrics["real"]
    assert main(["evaluate", str(trained["gan"]), "--n", "60"]) == 0
    assert "diversity" not in json.loads((trained["gan"] / "evaluation.json").read_text())["metrics"]["model"]


def test_translate_writes_several_samples_of_each_image(stochastic, trained, tmp_path, capsys):
    Image.fromarray(np.full((28, 28), 200, np.uint8)).save(tmp_path / "digit.png")
    out = tmp_path / "out"
    assert main(["translate", str(stochastic.path), str(tmp_path / "digit.png"), "--out", str(out),
                 "--samples", "3", "--seed", "5"]) == 0
    assert "wrote 3 image(s)" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == ["digit-1.png", "digit-2.png", "digit-3.png"]
    first = np.asarray(Image.open(out / "digit-1.png"))
    assert not np.array_equal(first, np.asarray(Image.open(out / "digit-2.png")))
    again = tmp_path / "again"  # sample 1 is seed 5's output
    assert main(["translate", str(stochastic.path), str(tmp_path / "digit.png"), "--out", str(again),
                 "--seed", "5"]) == 0
    assert np.array_equal(first, np.asarray(Image.open(again / "digit.png")))
    assert main(["translate", str(trained["gan"]), str(tmp_path / "digit.png"), "--out", str(tmp_path / "o"),
                 "--samples", "2"]) == 2
    assert "this model is deterministic" in capsys.readouterr().err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("sets, message", [
    ({"translate__diversity_weight": 1.0}, "G takes none: set model.noise_channels"),
    ({"translate__best_of": 2}, "translate.best_of=2 draws several outputs .* G takes none: set model.noise_channels"),
    ({"model__noise_channels": 2, "pair__kind": "unpaired", "pair__dataset_b": "mnist", "pair__root_b": None,
      "model__arch": "resnet-gen"}, "model.noise_channels=2 \\(read by paired translation runs"),
])
def test_noise_where_it_cannot_serve_is_a_config_error(mnist_root, tmp_path, sets, message):
    with pytest.raises(C.ConfigError, match=message):
        train(translation_config(mnist_root, **sets), RunDir.create(tmp_path / "r", "r"), verbose=False)


def test_noise_channels_on_a_gan_is_a_config_error(tiny_config, tmp_path):
    with pytest.raises(C.ConfigError, match="model.noise_channels=2 \\(read by paired translation runs"):
        train(tiny_config(model__noise_channels=2), RunDir.create(tmp_path / "r", "r"), verbose=False)


def test_the_report_shows_two_outputs_of_each_held_out_input(stochastic, trained):
    from gankit.report.contents import final_samples

    samples, why = final_samples(stochastic, points=False)
    assert why == "" and "source | output | output | target (two noises)" in samples.what
    plain, _ = final_samples(RunDir(trained["gan"]), points=False)
    assert "source | output | target" in plain.what and "two noises" not in plain.what
    # 4 cells a pair instead of 3: the picture is wider for the same number of rows
    assert samples.picture.shape[1] / samples.picture.shape[0] > plain.picture.shape[1] / plain.picture.shape[0]


@pytest.mark.parametrize("sets", [
    {"model__keep_known": True, "model__noise_channels": 2, "translate__diversity_weight": 1.0},  # paired, stochastic
    SMALL_CYCLE,  # a cycle model: class purity and the cycle's PSNR
])
def test_evaluation_during_training_scores_a_translator_as_gankit_evaluate_does(mnist_root, tmp_path, sets, exact_cpu):
    plain = RunDir.create(tmp_path / "plain", "p")
    train(translation_config(mnist_root, **sets), plain, verbose=False)
    run = RunDir.create(tmp_path / "run", "r")
    train(translation_config(mnist_root, eval__every=4, eval__n=60, **sets), run, verbose=False)
    evaluations = [r for r in run.read_metrics() if "fid" in r]
    assert [r["step"] for r in evaluations] == [4, 8, 12]
    paired = "class_purity" not in evaluations[0]
    names = {"fid", "kid_mean", "psnr", "ssim", "accuracy", "diversity"} if paired else {"fid", "class_purity",
                                                                                          "cycle_psnr"}
    assert names <= set(evaluations[0]) and "class_kept" not in evaluations[0]
    # scoring G during training leaves the training as it was: its modes, RNGs and weights
    assert weights_equal(checkpoint.load(plain.last_checkpoint)["models"]["G"],
                         checkpoint.load(run.last_checkpoint)["models"]["G"])
    # the last evaluation is what gankit evaluate gives the finished run on the same pairs
    finished = gankit.load(run.path)
    final = evaluate_translation(finished, finished.config, n=60, seed=0)
    for k in names:
        assert evaluations[-1][k] == pytest.approx(final["metrics"]["model"][k], rel=1e-4, abs=1e-6), k
    # the lowest FID is kept as best.pt, and loads as a translator
    best = min(evaluations, key=lambda r: r["fid"])
    assert checkpoint.load(run.best_checkpoint)["step"] == best["step"]
    best_model = gankit.load(run.path, checkpoint="best")
    assert best_model.step == best["step"]
    assert best_model.translate(torch.zeros(2, 1, 28, 28, dtype=torch.uint8)).shape[0] == 2


def test_a_translation_run_trains_in_bf16_with_an_ema_of_g(mnist_root, tmp_path):
    run = RunDir.create(tmp_path / "run", "r")
    train(translation_config(mnist_root, train__steps=4, train__precision="bf16", ema__half_life=1000), run,
          verbose=False)
    ckpt = checkpoint.load(run.last_checkpoint)
    assert ckpt["ema"] is not None and all(v.dtype == torch.float32 for v in ckpt["models"]["G"].values()
                                           if v.is_floating_point())
    assert gankit.run.generator.read(run).ema  # the shipped generator is the EMA's
    assert all(np.isfinite(v) for k, v in run.read_metrics()[-1].items() if isinstance(v, float))
