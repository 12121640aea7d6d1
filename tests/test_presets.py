"""Every preset trains: a few real steps of each, on small slices of real data."""

from __future__ import annotations

import math

import pytest
import torch

from gankit import config as C
from gankit import presets
from gankit.run import RunDir, checkpoint
from gankit.train.loop import train
from tests.cifar_files import CLASS_NAMES, TRAIN_BATCHES, batch, py2_pickle, write_folder


@pytest.fixture(scope="module")
def cifar_root(tmp_path_factory):
    """A CIFAR-10 folder of the real format with 200 synthetic train images."""
    files = {name: batch(i * 40, count=40) for i, name in enumerate(TRAIN_BATCHES)}
    files["test_batch"] = batch(200, count=40)
    files["batches.meta"] = py2_pickle({b"label_names": [n.encode() for n in CLASS_NAMES]})
    root = tmp_path_factory.mktemp("cifar")
    write_folder(root, files)
    return root


def preset_config(name: str, mnist_root, cifar_root) -> C.Config:
    dataset = presets.config(name).data.dataset
    roots = {"mnist": mnist_root, "stacked-mnist": mnist_root, "cifar10": cifar_root}
    overrides = {
        "data.root": str(roots[dataset]) if dataset in roots else None,
        "data.split": "test" if dataset in ("mnist", "stacked-mnist", "fashion-mnist") else "train",
        "data.subset": 200,
        "data.size": 2000 if dataset in ("stacked-mnist", "toy-ring", "toy-grid") else None,
        "data.download": False,
        "train.batch_size": 8,  # small: a step of the ResNet and CycleGAN presets takes seconds on a CPU
        "train.steps": 2,
        "train.device": "cpu",
        "log.grid": 16,
        "log.tensorboard": False,
        "eval.every": None,
    }
    return presets.config(name, overrides)


@pytest.mark.parametrize("name", presets.names())
def test_every_preset_trains(name, mnist_root, cifar_root, tmp_path, request):
    cfg = preset_config(name, mnist_root, cifar_root)
    if "fashion-mnist" in (cfg.data.dataset, cfg.pair.dataset_b):
        request.getfixturevalue("fashion_root")  # skips, saying why, where it is not installed
    run = RunDir.create(tmp_path / name, name)
    result = train(cfg, run, verbose=False)
    assert result.step == 2 and not result.interrupted
    records = run.read_metrics()
    assert records and all(math.isfinite(v) for r in records for v in r.values() if isinstance(v, float))
    assert run.generator.is_file() and run.epoch_grids()
    ckpt = checkpoint.load(run.last_checkpoint)
    assert all(torch.isfinite(v).all() for v in ckpt["models"]["G"].values() if v.is_floating_point())


def test_presets_cite_their_source():
    for name in presets.names():
        text = (presets.PRESET_DIR / f"{name}.yaml").read_text()
        assert text.startswith("#"), f"{name}: the file starts with a comment naming its source"
        assert presets.load(name)["description"]


# presets whose step a GPU runs eagerly, and why (train.cuda_graph=null; =true is refused)
NOT_GRAPHED = {"vae-mnist": "the ELBOStep", "cyclegan-mnist2fashion": "the CycleStep",
               "cyclegan-classes-mnist2fashion": "the CycleStep", "srgan-sr4-mnist": "translate.warmup_steps",
               "esrgan-sr4-fashion": "translate.warmup_steps", "r1-toy-grid": "optim.schedule=linear",
               "r1-toy-ring": "optim.schedule=linear"}


def test_which_presets_a_gpu_replays_as_one_cuda_graph():
    from gankit.registry import STEPS
    from gankit.train.trainer import cuda_graph_problem, step_name

    for name in presets.names():
        cfg = presets.config(name)
        problem = cuda_graph_problem(cfg, STEPS.get(step_name(cfg)), "cuda")
        if name in NOT_GRAPHED:
            assert NOT_GRAPHED[name] in problem, name
        else:
            assert problem is None, name
        assert "needs a CUDA device" in cuda_graph_problem(cfg, STEPS.get(step_name(cfg)), "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", sorted(NOT_GRAPHED))
def test_a_preset_that_cannot_be_graphed_says_why_and_runs_eagerly(name, mnist_root, cifar_root, request):
    from gankit.train.trainer import Trainer

    cfg = preset_config(name, mnist_root, cifar_root)
    if "fashion-mnist" in (cfg.data.dataset, cfg.pair.dataset_b):
        request.getfixturevalue("fashion_root")
    data = C.set_key(cfg.to_dict(), "train.device", "cuda")
    with pytest.raises(C.ConfigError, match=NOT_GRAPHED[name].replace(".", r"\.")):
        Trainer(C.from_dict(C.set_key(data, "train.cuda_graph", True)))
    t = Trainer(C.from_dict(data))  # train.cuda_graph=null: eager
    stats = t.train_step()
    assert not t.cuda_graph and all(torch.isfinite(v).all() for v in stats.values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", [n for n in presets.names() if n not in NOT_GRAPHED])
def test_every_gan_preset_runs_as_a_cuda_graph(name, mnist_root, cifar_root, request):
    """Each preset's step (penalties, n_critic, clipping, ACGAN, projection, spectral norm,
    packing) captured and replayed: train.cuda_graph=true raises if it cannot be."""
    from gankit.train.trainer import Trainer

    cfg = preset_config(name, mnist_root, cifar_root)
    if "fashion-mnist" in (cfg.data.dataset, cfg.pair.dataset_b):
        request.getfixturevalue("fashion_root")  # skips, saying why, where it is not installed
    data = C.set_key(C.set_key(cfg.to_dict(), "train.device", "cuda"), "train.cuda_graph", True)
    t = Trainer(C.from_dict(data))
    for _ in range(6):  # 3 eager warm-up steps, the capture, 2 replays
        stats = t.train_step()
    assert t.step_fn.graph is not None
    assert all(torch.isfinite(v).all() for v in stats.values())
