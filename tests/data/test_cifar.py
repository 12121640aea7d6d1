"""CIFAR-10 from small archives of the real format, served by a local mirror or put in a data root."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.data import cifar, datasets, load_dataset
from gankit.data.sources import Checksum, cache_dir
from gankit.errors import DataError
from tests.cifar_files import (
    ARCHIVE_NAME,
    CLASS_NAMES,
    PER_BATCH,
    batch,
    members,
    py2_pickle,
    write_archive,
    write_folder,
)
from tests.mirror import MirrorServer


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MirrorServer, Path]]:
    """A mirror serving a synthetic archive, with the cifar10 spec pointed at it and its md5."""
    for var in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    archive = write_archive(tmp_path / "mirror" / ARCHIVE_NAME, members())
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    server = MirrorServer(archive.parent)
    spec = dataclasses.replace(
        datasets.SPECS["cifar10"],
        mirrors=(server.url("good"),),
        checksums={cifar.ARCHIVE: Checksum(md5_gz=md5)},
    )
    monkeypatch.setitem(datasets.SPECS, "cifar10", spec)
    yield server, archive
    server.stop()


def check_train_split(ds) -> None:
    """The train split of the synthetic archive: 10 images, pixels in place, labels and names."""
    n = 5 * PER_BATCH
    assert ds.images.dtype == torch.uint8 and ds.images.shape == (n, 3, 32, 32)
    assert ds.labels.dtype == torch.int64 and ds.labels.tolist() == [k % 10 for k in range(n)]
    assert ds.num_classes == 10 and ds.class_names == tuple(CLASS_NAMES) and ds.kind == "image"
    positions = torch.arange(1024).view(32, 32) % 256  # row-major: pixel (y, x) is 32 * y + x
    for k in range(n):
        assert torch.equal(ds.images[k, 0], positions.to(torch.uint8))  # R plane
        assert (ds.images[k, 1] == k).all() and (ds.images[k, 2] == 255 - k).all()  # G, B planes


def test_download_parse_and_cache(served: tuple[MirrorServer, Path]) -> None:
    server, archive = served

    ds = load_dataset("cifar10", "train")

    cached = cache_dir() / "cifar10" / ARCHIVE_NAME
    assert cached.read_bytes() == archive.read_bytes()
    assert (ds.name, ds.split, ds.source) == ("cifar10", "train", str(cached))
    check_train_split(ds)
    assert server.hits == [f"/good/{ARCHIVE_NAME}"]

    test = load_dataset("cifar10", "test")  # from the cache: no second download
    assert server.hits == [f"/good/{ARCHIVE_NAME}"]
    assert test.images.shape == (3, 3, 32, 32) and test.labels.tolist() == [0, 1, 2]
    assert (test.images[:, 1, 0, 0] == torch.tensor([100, 101, 102], dtype=torch.uint8)).all()


def test_a_download_with_the_wrong_md5_is_refused(
    served: tuple[MirrorServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = dataclasses.replace(datasets.SPECS["cifar10"], checksums={cifar.ARCHIVE: Checksum(md5_gz="0" * 32)})
    monkeypatch.setitem(datasets.SPECS, "cifar10", spec)
    with pytest.raises(DataError, match=r"(?s)cannot find the cifar10 train split.*checksum mismatch"):
        load_dataset("cifar10", "train")
    assert not (cache_dir() / "cifar10").exists()


def test_not_found_without_download_names_both_forms(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("cifar10", "test", root=tmp_path, download=False)
    message = str(info.value)
    for expected in ("cannot find the cifar10 test split", f"data root {tmp_path}: none of the files",
                     "download: not tried", "https://www.cs.toronto.edu/~kriz/", "cifar-10-batches-py/"):
        assert expected in message, message


def test_extracted_folder_in_the_data_root(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "data" / "cifar10", members())
    ds = load_dataset("cifar10", "train", root=tmp_path / "data", download=False)
    assert ds.source == str(folder)
    check_train_split(ds)
    # The data root may also be the extracted folder itself.
    assert load_dataset("cifar10", "test", root=folder, download=False).source == str(folder)


def test_archive_in_the_data_root_uncompressed_and_numpy2_pickles(tmp_path: Path) -> None:
    write_archive(tmp_path / "cifar-10-python.tar", members(py2=False), compress=False)
    check_train_split(load_dataset("cifar10", "train", root=tmp_path, download=False))


@pytest.mark.parametrize("module, name", [("os", "system"), ("builtins", "eval"), ("numpy", "load")])
def test_a_forbidden_global_is_refused_before_it_runs(tmp_path: Path, module: str, name: str) -> None:
    marker = tmp_path / "ran"
    argument = f"open({str(marker)!r}, 'w')" if name == "eval" else f"touch {marker}"
    # GLOBAL module.name, MARK, STRING argument, TUPLE, REDUCE, STOP: calls module.name(argument).
    evil = f"c{module}\n{name}\n(S{argument!r}\ntR.".encode()
    files = members()
    files["test_batch"] = evil
    write_archive(tmp_path / "root" / ARCHIVE_NAME, files)

    with pytest.raises(DataError) as info:
        load_dataset("cifar10", "test", root=tmp_path / "root", download=False)
    message = str(info.value)
    assert f"member {cifar.FOLDER}/test_batch: refused to unpickle the global {module}.{name}" in message
    assert ARCHIVE_NAME in message
    assert not marker.exists()


def test_codecs_encode_is_allowed_for_latin1_only() -> None:
    assert cifar.unpickle(pickle.dumps(b"\x00\xff", protocol=2), "x") == b"\x00\xff"  # uses _codecs.encode
    with pytest.raises(DataError, match=r"x: not a valid pickle \(UnpicklingError: _codecs\.encode is allowed only"):
        cifar.unpickle(b"c_codecs\nencode\n(Vabc\nVrot13\ntR.", "x")


def test_a_truncated_archive_is_refused(tmp_path: Path) -> None:
    data = write_archive(tmp_path / ARCHIVE_NAME, members()).read_bytes()
    root = tmp_path / "root"
    root.mkdir()
    (root / ARCHIVE_NAME).write_bytes(data[: len(data) // 2])
    for split in ("train", "test"):
        with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz: not a readable tar\(\.gz\) archive, or it is "
                                            r"truncated"):
            load_dataset("cifar10", split, root=root, download=False)


def test_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / ARCHIVE_NAME).write_bytes(b"<html>Please log in</html>")
    with pytest.raises(DataError, match=r"cifar-10-python\.tar\.gz: not a readable tar"):
        load_dataset("cifar10", "test", root=tmp_path, download=False)


def test_a_missing_member(tmp_path: Path) -> None:
    files = members()
    del files["test_batch"]
    write_archive(tmp_path / ARCHIVE_NAME, files)
    with pytest.raises(DataError, match=r"the archive has no cifar-10-batches-py/test_batch; it is not the CIFAR-10"):
        load_dataset("cifar10", "test", root=tmp_path, download=False)
    folder = tmp_path / "extracted"
    write_folder(folder, files)
    with pytest.raises(DataError, match=r"cifar-10-batches-py/test_batch: missing"):
        load_dataset("cifar10", "test", root=folder, download=False)


@pytest.mark.parametrize("changes, message", [
    ({"data": np.zeros((3, 3000), np.uint8)}, r"'data' should be a uint8 array of shape \[N, 3072\], found uint8 "
                                              r"array of shape \[3, 3000\]"),
    ({"data": np.zeros((3, 3072), np.float32)}, r"'data' should be a uint8 array .* found float32"),
    ({"labels": [1, 2]}, r"'labels' should be 3 whole numbers \(one per image\)"),
    ({"labels": [1, 10, 2]}, r"label 10 is out of range 0\.\.9"),
    ({"labels": [1, -1, 2]}, r"label -1 is out of range 0\.\.9"),
    ({"labels": ["a", "b", "c"]}, r"'labels' should be 3 whole numbers"),
])
def test_bad_batch_contents_are_named(tmp_path: Path, changes: dict, message: str) -> None:
    files = members()
    files["test_batch"] = batch(100, count=3, **changes)
    write_archive(tmp_path / ARCHIVE_NAME, files)
    with pytest.raises(DataError, match=rf"member {cifar.FOLDER}/test_batch: {message}"):
        load_dataset("cifar10", "test", root=tmp_path, download=False)


def test_bad_pickles_and_metadata(tmp_path: Path) -> None:
    files = members()
    files["test_batch"] = batch(100)[:-20]
    files["batches.meta"] = py2_pickle({b"label_names": [b"only", b"three", b"names"]})
    write_archive(tmp_path / ARCHIVE_NAME, files)
    with pytest.raises(DataError, match=r"test_batch: not a valid pickle \("):
        load_dataset("cifar10", "test", root=tmp_path, download=False)
    with pytest.raises(DataError, match=r"batches\.meta: 'label_names' should list 10 class names"):
        load_dataset("cifar10", "train", root=tmp_path, download=False)


def test_a_huge_member_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cifar, "MAX_MEMBER_BYTES", 1000)
    write_archive(tmp_path / ARCHIVE_NAME, members())
    with pytest.raises(DataError, match=r"test_batch: \d+ bytes, far larger than a CIFAR-10 batch"):
        load_dataset("cifar10", "test", root=tmp_path, download=False)
