"""(source, target) pairs from files and datasets: aligned folders (side by side, A/ and B/), unpaired domains."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig, PairConfig
from gankit.data import load_dataset
from gankit.data.pairs import load_aligned, load_unpaired
from gankit.errors import ConfigError, DataError

# ---------------------------------------------------------------------------
# aligned pairs from files
# ---------------------------------------------------------------------------


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def side_by_side(folder: Path, digits: torch.Tensor, start: int, n: int) -> None:
    """n files digit | inverted digit (28 x 56), named by index, so source = digit, target = 255 - digit."""
    for i in range(start, start + n):
        d = digits[i, 0].numpy()
        write_png(folder / f"{i:03d}.png", np.concatenate([d, 255 - d], axis=1))


def aligned_config(root: Path, **kw) -> DataConfig:
    """A folder of 28x28 grayscale images, unless ``kw`` says otherwise."""
    return DataConfig(**{"dataset": "imagefolder", "root": str(root), "resolution": 28, "channels": 1, **kw})


def aligned(root: Path, layout: str = "side-by-side", split: str = "train", data: dict | None = None,
            **pair_kw) -> object:
    return load_aligned(aligned_config(root, **(data or {})), PairConfig(kind="aligned", aligned=layout, **pair_kw),
                        split, "cpu")


def test_side_by_side_files_are_split_into_source_and_target(tmp_path: Path, digits: torch.Tensor) -> None:
    side_by_side(tmp_path, digits, 0, 6)
    ds = aligned(tmp_path)
    assert (ds.name, ds.split, ds.num_classes, ds.class_names, ds.source) == ("aligned", "train", 0, (), str(tmp_path))
    assert ds.images.dtype == ds.sources.dtype == torch.uint8
    assert ds.sources.shape == ds.images.shape == (6, 1, 28, 28) and len(ds) == 6
    assert torch.equal(ds.sources, digits[:6])  # the left half
    assert torch.equal(ds.images, 255 - digits[:6])  # the right half
    assert ds.labels.tolist() == [0] * 6

    rgb = aligned(tmp_path, data={"channels": 3, "resolution": 14}, source_channels=1)
    assert rgb.sources.shape == (6, 1, 14, 14) and rgb.images.shape == (6, 3, 14, 14)
    assert torch.equal(rgb.images[:, 0], rgb.images[:, 2])  # a gray file read as RGB


def test_side_by_side_takes_the_split_folder(tmp_path: Path, digits: torch.Tensor) -> None:
    side_by_side(tmp_path / "train", digits, 0, 4)
    side_by_side(tmp_path / "val", digits, 10, 3)
    assert torch.equal(aligned(tmp_path, split="train").sources, digits[:4])
    assert torch.equal(aligned(tmp_path, split="test").sources, digits[10:13])  # val/ stands in for test/
    side_by_side(tmp_path / "test", digits, 20, 2)
    test = aligned(tmp_path, split="test")
    assert torch.equal(test.sources, digits[20:22]) and test.source == str(tmp_path / "test")

    only_train = tmp_path / "only-train"
    side_by_side(only_train / "train", digits, 0, 2)
    with pytest.raises(DataError, match=r"only-train: no test/ or val/ folder for the test split"):
        aligned(only_train, split="test")


def test_a_side_by_side_file_of_odd_width_is_refused(tmp_path: Path, digits: torch.Tensor) -> None:
    side_by_side(tmp_path, digits, 0, 3)
    write_png(tmp_path / "odd.png", np.zeros((28, 57), np.uint8))
    with pytest.raises(DataError, match=r"odd\.png: width 57 is odd"):
        aligned(tmp_path)


def test_unreadable_files_are_skipped_with_one_warning(tmp_path: Path, digits: torch.Tensor) -> None:
    side_by_side(tmp_path, digits, 0, 4)
    (tmp_path / "001.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "000.png").read_bytes()[:60])
    with pytest.warns(UserWarning) as record:
        ds = aligned(tmp_path)
    assert len(record) == 1
    message = str(record[0].message)
    assert "skipped 2 of 5 image files" in message and "001.png" in message and "cut.png" in message
    assert torch.equal(ds.sources, digits[[0, 2, 3]])

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"junk")
    with pytest.raises(DataError, match=r"broken: none of the 1 image files gives a readable pair"):
        aligned(broken)


def test_missing_or_empty_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.root"):
        load_aligned(DataConfig(dataset="imagefolder"), PairConfig(kind="aligned"), "train", "cpu")
    with pytest.raises(DataError, match=r"nowhere: no such folder"):
        aligned(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"empty: no image files"):
        aligned(tmp_path / "empty")
    with pytest.raises(DataError, match=r"no pair of folders .* A/ \+ B/"):
        aligned(tmp_path / "empty", layout="folders")


def ab(root: Path, digits: torch.Tensor, names: list[str], a_ext: str = ".png", b_ext: str = ".png") -> None:
    """A/<name> holds digit i, B/<name> its inverse."""
    for i, name in enumerate(names):
        d = digits[i, 0].numpy()
        write_png(root / "A" / f"{name}{a_ext}", d)
        write_png(root / "B" / f"{name}{b_ext}", 255 - d)


def test_folders_pair_files_of_matching_names(tmp_path: Path, digits: torch.Tensor) -> None:
    ab(tmp_path, digits, ["c", "a", "b"], b_ext=".bmp")  # extensions may differ
    write_png(tmp_path / "A" / "sub" / "d.png", digits[3, 0].numpy())
    write_png(tmp_path / "B" / "sub" / "d.gif", 255 - digits[3, 0].numpy())
    ds = aligned(tmp_path, layout="folders", target_channels=3)
    order = [1, 2, 0, 3]  # a, b, c, sub/d
    assert ds.source == str(tmp_path) and ds.sources.shape == (4, 1, 28, 28) and ds.images.shape == (4, 3, 28, 28)
    assert torch.equal(ds.sources, digits[order])
    assert torch.equal(ds.images, (255 - digits[order]).expand(-1, 3, -1, -1))


@pytest.mark.parametrize("layout", ["{split}/A", "{split}A"])
def test_folders_of_each_split(tmp_path: Path, digits: torch.Tensor, layout: str) -> None:
    for split, offset in (("train", 0), ("test", 5)):
        for i in range(3):
            d = digits[offset + i, 0].numpy()
            write_png(tmp_path / layout.format(split=split) / f"{i}.png", d)
            write_png(tmp_path / layout.format(split=split).replace("A", "B") / f"{i}.png", 255 - d)
    assert torch.equal(aligned(tmp_path, layout="folders", split="train").sources, digits[:3])
    test = aligned(tmp_path, layout="folders", split="test")
    assert torch.equal(test.sources, digits[5:8]) and torch.equal(test.images, 255 - digits[5:8])


def test_mismatched_names_are_listed(tmp_path: Path, digits: torch.Tensor) -> None:
    ab(tmp_path, digits, ["a", "b"])
    for i in range(7):
        write_png(tmp_path / "A" / f"extra{i}.png", digits[0, 0].numpy())
    write_png(tmp_path / "B" / "lonely.png", digits[0, 0].numpy())
    with pytest.raises(DataError) as caught:
        aligned(tmp_path, layout="folders")
    message = str(caught.value)
    assert "\n" not in message
    assert "7 file(s) of" in message and "extra0.png" in message and "extra4.png" in message
    assert "and 2 more" in message and "extra6.png" not in message
    assert "1 file(s) of" in message and "lonely.png" in message


def test_a_pair_with_an_unreadable_file_is_skipped(tmp_path: Path, digits: torch.Tensor) -> None:
    ab(tmp_path, digits, ["a", "b", "c"])
    (tmp_path / "B" / "b.png").write_bytes(b"junk")
    with pytest.warns(UserWarning, match=r"skipped 1 of 6 image files .*B/b\.png"):
        ds = aligned(tmp_path, layout="folders")
    assert torch.equal(ds.sources, digits[[0, 2]]) and torch.equal(ds.images, 255 - digits[[0, 2]])
    (tmp_path / "A" / "a.png").write_bytes(b"junk")
    (tmp_path / "A" / "c.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="none of the 6 image files gives a readable pair"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aligned(tmp_path, layout="folders")


# ---------------------------------------------------------------------------
# unpaired domains
# ---------------------------------------------------------------------------


def test_two_datasets_make_the_two_domains(mnist_root: Path, fashion_root: Path, digits: torch.Tensor) -> None:
    data = DataConfig(dataset="mnist", root=str(mnist_root), download=False)
    pair = PairConfig(kind="unpaired", dataset_b="fashion-mnist", root_b=str(fashion_root), target_channels=3)
    a, b = load_unpaired(data, pair, "test", "cpu")
    assert (a.name, b.name) == ("mnist", "fashion-mnist")
    assert torch.equal(a.images[:len(digits)], digits)
    fashion = load_dataset("fashion-mnist", "test", root=str(fashion_root), download=False).images
    assert b.images.shape == (10_000, 3, 28, 28) and torch.equal(b.images, fashion.expand(-1, 3, -1, -1))


def cyclegan_folder(root: Path, name: str, digits: torch.Tensor, indices: range, rgb: bool = False) -> None:
    for i in indices:
        d = digits[i, 0].numpy()
        write_png(root / name / f"{i}.png", np.stack([d, d, 255 - d], axis=-1) if rgb else d)


def test_the_cyclegan_folders_make_the_two_domains(tmp_path: Path, digits: torch.Tensor) -> None:
    cyclegan_folder(tmp_path, "trainA", digits, range(5))
    cyclegan_folder(tmp_path, "trainB", digits, range(5, 8), rgb=True)
    cyclegan_folder(tmp_path, "testA", digits, range(10, 12))
    cyclegan_folder(tmp_path, "testB", digits, range(12, 16), rgb=True)
    data = aligned_config(tmp_path, channels=3)
    pair = PairConfig(kind="unpaired", source_channels=1)
    a, b = load_unpaired(data, pair, "train", "cpu")
    assert a.images.shape == (5, 1, 28, 28) and b.images.shape == (3, 3, 28, 28)  # sizes and channels may differ
    assert torch.equal(a.images, digits[:5]) and torch.equal(b.images[:, 2:], 255 - digits[5:8])
    assert a.source == str(tmp_path / "trainA") and b.source == str(tmp_path / "trainB")
    a, b = load_unpaired(data, pair, "test", "cpu")
    assert torch.equal(a.images, digits[10:12]) and len(b) == 4

    shutil.rmtree(tmp_path / "testB")
    with pytest.raises(DataError, match=r"testB: no such folder"):
        load_unpaired(data, pair, "test", "cpu")


def test_unpaired_errors_name_the_keys(tmp_path: Path, mnist_root: Path, digits: torch.Tensor) -> None:
    mnist = DataConfig(dataset="mnist", root=str(mnist_root), download=False, resolution=32)
    with pytest.raises(ConfigError, match="pair.dataset_b"):
        load_unpaired(mnist, PairConfig(kind="unpaired"), "test", "cpu")
    with pytest.raises(ConfigError, match=r"pair.dataset_b='mnits'"):
        load_unpaired(mnist, PairConfig(kind="unpaired", dataset_b="mnits"), "test", "cpu")
    cyclegan_folder(tmp_path, "faces", digits, range(3))
    folder_b = PairConfig(kind="unpaired", dataset_b="imagefolder", root_b=str(tmp_path / "faces"))
    with pytest.raises(ConfigError, match=r"differ in resolution: .*28x28.*32x32"):
        load_unpaired(mnist, folder_b, "test", "cpu")
