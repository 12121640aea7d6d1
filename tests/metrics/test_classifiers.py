"""The shipped evaluator networks: they load, are intact, and classify real data well.

Accuracies are recomputed here from the images, not read from the training
report, so a damaged or mismatched weights file fails the suite.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.data import load_dataset
from gankit.errors import CheckpointError, ConfigError
from gankit.metrics import classifiers as E


@pytest.fixture(scope="module")
def mnist() -> E.Evaluator:
    return E.load_evaluator("mnist")


@pytest.fixture(scope="module")
def fashion() -> E.Evaluator:
    return E.load_evaluator("fashion-mnist")


def accuracy(ev: E.Evaluator, images: torch.Tensor, labels: torch.Tensor) -> float:
    _, probs = ev.embed(images)
    return float((probs.argmax(1) == labels).float().mean())


@pytest.mark.parametrize("name", sorted(E.EVALUATORS))
def test_loads_with_metadata(name: str) -> None:
    ev = E.load_evaluator(name)
    report = E.read_report(name)
    dataset = E.EVALUATORS[name]

    assert dataset in E.available()
    assert (ev.dataset, ev.name) == (dataset, name) == (report["dataset"], report["name"])
    assert (ev.feature_dim, ev.num_classes) == (128, 10)
    assert ev.accuracy == pytest.approx(report["accuracy"], abs=1e-5)
    for key in ("heldout", "command", "seed", "epochs", "train"):
        assert ev.metadata[key], key
    assert "train_evaluator.py --" in ev.metadata["command"] and ev.metadata["command"] == report["command"]
    assert E.weights_path(name).stat().st_size < 5_000_000


def test_each_dataset_scores_with_its_latest_evaluator_by_default() -> None:
    assert E.load_evaluator("mnist").name == E.evaluator_name("mnist-cnn") == "mnist-cnn-v2"
    assert E.load_evaluator("fashion-mnist").name == "fashion-mnist-cnn-v1"
    report = E.read_report("mnist-cnn-v2")
    assert report["num_train"] == 60_000 and report["num_heldout"] == 10_000  # never trained on a test image
    assert "train split" in report["split"]["train"] and "test split" in report["split"]["heldout"]
    with pytest.raises(ConfigError, match="no evaluator 'mnist-cnn-v9'"):
        E.evaluator_name("mnist-cnn-v9")


@pytest.mark.parametrize("name", sorted(E.EVALUATORS))
def test_sha256_matches_the_file_and_the_report(name: str) -> None:
    ev = E.load_evaluator(name)
    digest = hashlib.sha256(E.weights_path(name).read_bytes()).hexdigest()

    assert ev.sha256 == digest == E.read_report(name)["weights_sha256"]


def test_mnist_split_is_stratified_disjoint_and_the_one_trained_with(mnist_root: Path) -> None:
    labels = load_dataset("mnist", "test", root=mnist_root).labels.numpy()
    train, held = E.mnist_split(labels)

    assert (len(train), len(held)) == (8000, 2000)
    assert len(np.union1d(train, held)) == 10000  # disjoint and complete
    share = np.bincount(labels[held], minlength=10) / np.bincount(labels, minlength=10)
    assert np.all(np.abs(share - 0.2) < 0.01)  # every class held out in proportion
    assert hashlib.sha256(held.astype("<i8").tobytes()).hexdigest() == (
        E.read_report("mnist-cnn-v1")["split"]["heldout_indices_sha256"]
    )


def test_mnist_v2_accuracy_on_the_whole_test_split(mnist: E.Evaluator, mnist_root: Path) -> None:
    ds = load_dataset("mnist", "test", root=mnist_root)
    acc = accuracy(mnist, ds.images, ds.labels)
    assert acc >= 0.99
    assert acc == pytest.approx(mnist.accuracy, abs=0.0002)  # the header's number is the one measured


def test_mnist_v1_heldout_accuracy(mnist_root: Path) -> None:
    v1 = E.load_evaluator("mnist-cnn-v1")
    ds = load_dataset("mnist", "test", root=mnist_root)
    _, held = E.mnist_split(ds.labels)
    held_t = torch.from_numpy(held)

    acc = accuracy(v1, ds.images[held_t], ds.labels[held_t])
    mnist = v1

    assert acc >= 0.97
    assert acc == pytest.approx(mnist.accuracy, abs=0.002)  # the header's number is the one measured


def test_fashion_accuracy_on_test_images(fashion: E.Evaluator, fashion_root: Path) -> None:
    ds = load_dataset("fashion-mnist", "test", root=fashion_root)

    assert accuracy(fashion, ds.images[:2000], ds.labels[:2000]) >= 0.90


def test_fashion_accuracy_on_all_test_images_is_at_least_92_percent(fashion: E.Evaluator, fashion_root: Path) -> None:
    ds = load_dataset("fashion-mnist", "test", root=fashion_root)

    assert accuracy(fashion, ds.images, ds.labels) >= 0.92


def test_embed_shapes_dtypes_and_batching(mnist: E.Evaluator, mnist_root: Path) -> None:
    images = load_dataset("mnist", "test", root=mnist_root).images[:37]

    features, probs = mnist.embed(images)
    f_small, p_small = mnist.embed(images, batch_size=10)

    assert features.shape == (37, 128) and probs.shape == (37, 10)
    assert features.dtype == probs.dtype == torch.float32
    assert features.device.type == probs.device.type == "cpu"
    assert torch.allclose(probs.sum(1), torch.ones(37))
    assert (features >= 0).all()  # post-ReLU activations
    assert torch.allclose(features, f_small, atol=1e-5) and torch.allclose(probs, p_small, atol=1e-6)
    assert not features.requires_grad


def test_embed_of_no_images(mnist: E.Evaluator) -> None:
    features, probs = mnist.embed(torch.zeros(0, 1, 28, 28, dtype=torch.uint8))

    assert features.shape == (0, 128) and probs.shape == (0, 10)


def test_rgb_images_are_a_clear_error(mnist: E.Evaluator) -> None:
    with pytest.raises(ConfigError, match=r"\[N, 1, 28, 28\].*got 2x3x28x28"):
        mnist.embed(torch.zeros(2, 3, 28, 28, dtype=torch.uint8))


def test_float_images_are_a_clear_error(mnist: E.Evaluator) -> None:
    with pytest.raises(ConfigError, match="uint8.*torch.float32.*quantize"):
        mnist.embed(torch.zeros(2, 1, 28, 28))


def test_unknown_dataset_lists_those_with_an_evaluator() -> None:
    with pytest.raises(ConfigError, match="'cifar10'.*fashion-mnist, mnist"):
        E.load_evaluator("cifar10")


def test_truncated_weights_are_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "mnist-cnn.safetensors"
    shutil.copy(E.weights_path("mnist"), path)
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)

    with pytest.raises(CheckpointError, match="corrupt.*train_evaluator.py --name mnist-cnn-v2"):
        E.load_evaluator("mnist", path=path)


def test_garbage_weights_are_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(b"not a safetensors file at all")

    with pytest.raises(CheckpointError, match="corrupt.*rebuild it with"):
        E.load_evaluator("fashion-mnist", path=path)


def test_missing_weights_say_how_to_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(E, "WEIGHTS_DIR", tmp_path)

    with pytest.raises(CheckpointError, match="missing.*python tools/train_evaluator.py --name fashion-mnist-cnn-v1"):
        E.load_evaluator("fashion-mnist")


def test_weights_of_another_dataset_are_refused() -> None:
    with pytest.raises(CheckpointError, match="holds the evaluator of 'mnist'"):
        E.load_evaluator("fashion-mnist", path=E.weights_path("mnist"))


def test_loading_an_evaluator_leaves_the_callers_random_stream_alone():
    # the doctor loads it at a run's first epoch end: a resumed run must draw the same numbers after it
    torch.manual_seed(0)
    before = torch.get_rng_state()
    E.load_evaluator("mnist")
    assert torch.equal(torch.get_rng_state(), before)
