"""Loading whole splits of the real datasets, and the errors a user can run into."""

from __future__ import annotations

import dataclasses
import gzip
import inspect
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.config import DataConfig
from gankit.data import ImageDataset, datasets, load_dataset
from gankit.data.datasets import where
from gankit.data.idx import read_labels, write_idx
from gankit.data.mnist import EMBEDDED_MNIST
from gankit.data.sources import cache_dir
from gankit.errors import ConfigError, DataError
from gankit.registry import DATASETS

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_mnist_test_split(mnist_root: Path) -> None:
    ds = load_dataset("mnist", "test", root=mnist_root)

    assert isinstance(ds, ImageDataset)
    assert (ds.name, ds.split, ds.source) == ("mnist", "test", str(mnist_root))
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (10000, 1, 28, 28)
    assert ds.labels.dtype == torch.int64 and ds.labels.shape == (10000,)
    assert len(ds) == 10000 and ds.shape == (1, 28, 28)
    assert ds.images.device.type == "cpu"
    assert torch.bincount(ds.labels).tolist() == MNIST_TEST_COUNTS
    assert ds.num_classes == 10 and ds.class_names == tuple("0123456789")
    assert int(ds.images.max()) == 255 and int(ds.images.min()) == 0


def test_gankit_data_points_at_the_files(mnist_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GANKIT_DATA", str(mnist_root))
    assert load_dataset("mnist", "test", download=False).source == str(mnist_root)


def test_fashion_mnist_train_from_the_system_copy(fashion_root: Path) -> None:
    ds = load_dataset("fashion-mnist", "train", download=False)

    assert ds.source == str(fashion_root)
    assert ds.images.shape == (60000, 1, 28, 28) and ds.images.dtype == torch.uint8
    assert torch.bincount(ds.labels).tolist() == [6000] * 10
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"


def test_fashion_mnist_test_split(fashion_root: Path) -> None:
    ds = load_dataset("fashion-mnist", "test", root=fashion_root)
    assert len(ds) == 10000 and torch.bincount(ds.labels).tolist() == [1000] * 10


def test_image_and_label_counts_must_match(mnist_root: Path, tmp_path: Path) -> None:
    shutil.copy(mnist_root / "t10k-images-idx3-ubyte.gz", tmp_path)
    labels = read_labels(mnist_root / "t10k-labels-idx1-ubyte.gz")[:9999]
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)

    with pytest.raises(DataError) as info:
        load_dataset("mnist", "test", root=tmp_path)
    message = str(info.value)
    for expected in ("t10k-images-idx3-ubyte.gz has 10000 images", "t10k-labels-idx1-ubyte.gz has 9999 labels"):
        assert expected in message, message


def test_labels_out_of_range(mnist_root: Path, tmp_path: Path) -> None:
    shutil.copy(mnist_root / "t10k-images-idx3-ubyte.gz", tmp_path)
    labels = read_labels(mnist_root / "t10k-labels-idx1-ubyte.gz")
    labels[123] = 12
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: label 12 is out of range 0\.\.9"):
        load_dataset("mnist", "test", root=tmp_path)


def test_a_broken_local_file_is_reported_by_name(mnist_root: Path, tmp_path: Path) -> None:
    shutil.copy(mnist_root / "t10k-labels-idx1-ubyte.gz", tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"<html>Access denied</html>")
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte\.gz: not gzip"):
        load_dataset("mnist", "test", root=tmp_path)


def test_unknown_dataset_lists_the_registered_ones() -> None:
    names = "cifar10, fashion-mnist, imagefolder, mnist, stacked-mnist, toy-grid, toy-ring"
    message = rf"data\.dataset='cifar100': must be one of: {names} \(gankit list datasets\)"
    with pytest.raises(ConfigError, match=message):
        load_dataset("cifar100")


def test_unknown_split(mnist_root: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown split 'valid' for dataset mnist; choose one of: train, test"):
        load_dataset("mnist", "valid", root=mnist_root)


def test_nothing_anywhere_without_download_lists_the_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = tmp_path / "no-system-copy"
    spec = dataclasses.replace(datasets.SPECS["fashion-mnist"], system_dirs=(str(system),))
    monkeypatch.setitem(datasets.SPECS, "fashion-mnist", spec)
    root = tmp_path / "empty-root"
    root.mkdir()

    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", "train", root=root, download=False)
    message = str(info.value)
    for expected in (
        "cannot find the fashion-mnist train split",
        f"data root {root / 'fashion-mnist'}: no such folder",
        f"data root {root}: none of the files",
        f"cache {cache_dir() / 'fashion-mnist'}: no such folder",
        f"system copy {system}: no such folder",
        "download: not tried",
        "download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz from http://fashion-mnist",
        "apt install dataset-fashion-mnist",
    ):
        assert expected in message, message
    assert not os.path.exists(cache_dir())  # nothing was written while looking


def test_mnist_trains_offline_from_the_copy_in_the_package() -> None:
    ds = load_dataset("mnist", "train", download=False)
    assert ds.source == str(EMBEDDED_MNIST) and ds.images.shape == (60000, 1, 28, 28)
    assert torch.bincount(ds.labels).tolist() == MNIST_TRAIN_COUNTS


def test_the_data_root_then_the_cache_then_the_embedded_copy(tmp_path: Path) -> None:
    test_files = ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    cache = cache_dir() / "mnist"
    cache.mkdir(parents=True)
    root = tmp_path / "root"
    root.mkdir()
    for name in test_files:
        shutil.copy(EMBEDDED_MNIST / name, cache)
        shutil.copy(EMBEDDED_MNIST / name, root)
    assert load_dataset("mnist", "test").source == str(cache)
    assert load_dataset("mnist", "test", root=root).source == str(root)
    # a split comes whole from one folder: the cache lacks the train files, so the package has them
    assert load_dataset("mnist", "train").source == str(EMBEDDED_MNIST)
    assert where("mnist") == f"embedded copy {EMBEDDED_MNIST}"
    assert where("mnist", root) == f"embedded copy {EMBEDDED_MNIST}"  # where the train split would come from


def test_a_damaged_embedded_copy_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a valid IDX file whose content differs by one label from the genuine one
    labels = read_labels(EMBEDDED_MNIST / "t10k-labels-idx1-ubyte.gz")
    labels[0] = (labels[0] + 1) % 10
    damaged = tmp_path / "package"
    damaged.mkdir()
    shutil.copy(EMBEDDED_MNIST / "t10k-images-idx3-ubyte.gz", damaged)
    write_idx(damaged / "t10k-labels-idx1-ubyte.gz", labels)
    monkeypatch.setitem(datasets.SPECS, "mnist", dataclasses.replace(datasets.SPECS["mnist"], embedded=damaged))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: its content does not have the sha256 .* "
                                        r"reinstall gankit"):
        load_dataset("mnist", "test", download=False)
    # the same files in a data root are the user's own: read, checked structurally
    assert load_dataset("mnist", "test", root=damaged).labels[0] == int(labels[0])


def test_mnist_missing_everywhere_says_how_to_supply_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = dataclasses.replace(datasets.SPECS["mnist"], embedded=tmp_path / "gone")
    monkeypatch.setitem(datasets.SPECS, "mnist", spec)
    with pytest.raises(DataError) as info:
        load_dataset("mnist", "train", download=False)
    message = str(info.value)
    assert f"embedded copy {tmp_path / 'gone'}: no such folder" in message and "--data-root" in message
    assert "reinstall gankit" in message


def test_registered_builders_match_load_dataset() -> None:
    assert {"mnist", "fashion-mnist"} <= set(DATASETS.names())
    helps = {entry.name: entry.help for entry in DATASETS.entries()}
    for name in ("mnist", "fashion-mnist"):
        assert helps[name].startswith(datasets.SPECS[name].help)


def test_every_builder_takes_the_data_config_section() -> None:
    """The trainer hands the whole data section to any dataset: every builder takes (cfg, split, device)."""
    for entry in DATASETS.entries():
        params = inspect.signature(entry.obj).parameters
        assert list(params) == ["cfg", "split", "device"], entry.name
        assert "\n" not in entry.help and len(entry.help) > 20, entry.name


def test_load_dataset_takes_a_section_or_a_name_with_options(mnist_root: Path) -> None:
    section = DataConfig(dataset="mnist", root=str(mnist_root), split="test", download=False)
    a, b = load_dataset(section), load_dataset("mnist", "test", root=mnist_root, download=False)
    assert torch.equal(a.images, b.images) and a.split == b.split == "test"
    with pytest.raises(ConfigError, match=r"unknown config key 'data\.colour'"):
        load_dataset(section, colour=3)


def test_mnist_ignores_the_options_of_other_datasets(mnist_root: Path) -> None:
    ds = load_dataset("mnist", "test", root=mnist_root, resolution=64, channels=3, labels_from_folders=True, size=7)
    assert ds.images.shape == (10000, 1, 28, 28) and ds.num_classes == 10 and ds.kind == "image"


def test_negative_labels_are_out_of_range() -> None:
    with pytest.raises(DataError, match=r"batch: label -1 is out of range 0\.\.9"):
        datasets.check_labels(np.array([3, -1, 9]), 10, "batch")
    datasets.check_labels(np.array([0, 9]), 10, "batch")  # the ends of the range pass


@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_bad_numeric_options_name_their_key(value: object) -> None:
    with pytest.raises(ConfigError, match=r"config key data\.size"):
        load_dataset("toy-ring", size=value)
    assert len(load_dataset("toy-ring", size="8")) == 8  # as YAML and --set give it


def test_image_dataset_shape_and_len() -> None:
    ds = ImageDataset(
        name="toy",
        split="train",
        images=torch.zeros(5, 3, 8, 6, dtype=torch.uint8),
        labels=torch.arange(5),
        num_classes=5,
        class_names=tuple("abcde"),
        source="memory",
    )
    assert len(ds) == 5 and ds.shape == (3, 8, 6)
    assert ds.kind == "image" and ds.modes is None and ds.mode_std is None
    assert "tensor" not in repr(ds)  # the repr stays short: no tensor contents


def test_points_dataset_shape() -> None:
    ds = ImageDataset(
        name="points",
        split="train",
        images=torch.zeros(4, 2),
        labels=torch.zeros(4, dtype=torch.int64),
        num_classes=0,
        class_names=(),
        source="memory",
        kind="points",
        modes=torch.zeros(3, 2),
        mode_std=0.1,
    )
    assert len(ds) == 4 and ds.shape == (2,)
    assert "tensor" not in repr(ds)
    with pytest.raises(ValueError, match=r"kind must be one of image, points, got 'pixels'"):
        dataclasses.replace(ds, kind="pixels")


def test_idx_values_reach_the_tensor_unchanged(mnist_root: Path) -> None:
    ds = load_dataset("mnist", "test", root=mnist_root)
    content = gzip.decompress((mnist_root / "t10k-images-idx3-ubyte.gz").read_bytes())
    pixels = np.frombuffer(content, dtype=np.uint8, offset=16)  # after the 16-byte header
    assert torch.equal(ds.images.flatten(), torch.from_numpy(pixels.copy()))
