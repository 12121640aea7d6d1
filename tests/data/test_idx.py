"""The IDX reader: round trips, real files, and one clear DataError per fault."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gankit.data.idx import read_idx, read_images, read_labels, write_idx
from gankit.errors import DataError


def data_error(read: Callable[[Path], object], path: Path, *fragments: str) -> str:
    """Call ``read(path)``, expect a one-line DataError naming the file and each fragment."""
    with pytest.raises(DataError) as info:
        read(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert path.name in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def digits(n: int = 10) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


@pytest.mark.parametrize("compress", [True, False])
def test_round_trip_images_and_labels(tmp_path: Path, compress: bool) -> None:
    images, labels = digits(), np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "images", images, compress=compress)
    write_idx(tmp_path / "labels", labels, compress=compress)

    got = read_images(tmp_path / "images")
    assert got.dtype == np.uint8 and got.shape == (10, 28, 28)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(read_labels(tmp_path / "labels"), labels)
    # The file is compressed exactly when asked, whatever its name says.
    assert ((tmp_path / "images").read_bytes()[:2] == b"\x1f\x8b") == compress


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32", "float64"])
def test_round_trip_other_type_codes(tmp_path: Path, dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 7).astype(dtype)
    got = read_idx(write_idx(tmp_path / "a.idx", array, compress=False))
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, array)


def test_compression_detected_by_content_not_name(tmp_path: Path) -> None:
    """A raw file named .gz and a gzip file without .gz are both read correctly."""
    images = digits(3)
    raw_named_gz = write_idx(tmp_path / "raw.gz", images, compress=False)
    gz_named_raw = write_idx(tmp_path / "compressed-idx3-ubyte", images, compress=True)
    np.testing.assert_array_equal(read_images(raw_named_gz), images)
    np.testing.assert_array_equal(read_images(gz_named_raw), images)


def test_reads_the_real_mnist_test_split(mnist_root: Path) -> None:
    images = read_images(mnist_root / "t10k-images-idx3-ubyte.gz")
    labels = read_labels(mnist_root / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert images.flags.writeable  # torch.from_numpy warns about read-only arrays
    assert labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # MNIST digits are white on black: borders are background, centres are ink.
    assert images[:, 0, :].max() == 0 and images.max() == 255


def test_html_saved_as_gz_is_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(b"<html><body>404 Not Found</body></html>")
    data_error(read_images, path, "not gzip", "b'<htm'", "delete it and download again")


def test_html_saved_raw_is_not_idx(tmp_path: Path) -> None:
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(b"<html><body>404 Not Found</body></html>")
    data_error(read_images, path, "not a gzip file or IDX file", "b'<htm'")


def test_truncated_gzip_stream(tmp_path: Path, mnist_root: Path) -> None:
    whole = (mnist_root / "t10k-labels-idx1-ubyte.gz").read_bytes()
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(whole[: len(whole) // 2])
    data_error(read_labels, path, "gzip stream is truncated or corrupt")


def test_corrupt_gzip_stream(tmp_path: Path) -> None:
    good = write_idx(tmp_path / "good.gz", digits()).read_bytes()
    damaged = bytearray(good)
    for i in range(40, len(damaged) - 20, 7):  # damage the deflate data, keep the gzip header
        damaged[i] ^= 0xFF
    path = tmp_path / "damaged.gz"
    path.write_bytes(bytes(damaged))
    data_error(read_images, path, "gzip stream is truncated or corrupt")


@pytest.mark.parametrize("compress", [True, False])
def test_truncated_payload(tmp_path: Path, compress: bool) -> None:
    whole = tmp_path / "whole"
    write_idx(whole, digits(), compress=False)
    cut = whole.read_bytes()[: 16 + 1234]  # 16-byte header, then 1234 bytes of pixels
    path = tmp_path / ("cut.gz" if compress else "cut")
    path.write_bytes(gzip.compress(cut) if compress else cut)
    data_error(read_images, path, "truncated: header says 10x28x28 = 7840 bytes of data, found 1234")


def test_truncated_header(tmp_path: Path) -> None:
    path = tmp_path / "header-only"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0x27]))
    data_error(read_images, path, "truncated", "needs 16 bytes")


def test_extra_bytes_after_data(tmp_path: Path) -> None:
    path = tmp_path / "padded"
    path.write_bytes(write_idx(tmp_path / "ok", np.arange(5, dtype=np.uint8), compress=False).read_bytes() + b"xyz")
    data_error(read_labels, path, "3 unexpected bytes")


def test_labels_file_read_as_images(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8))
    data_error(read_images, path, "wrong magic number 2049, expected 2051", "label file")


def test_images_file_read_as_labels(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", digits())
    data_error(read_labels, path, "wrong magic number 2051, expected 2049", "image file")


def test_unknown_type_code(tmp_path: Path) -> None:
    path = tmp_path / "odd-type"
    path.write_bytes(bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 7]))
    data_error(read_idx, path, "unknown IDX type code 0x42")


def test_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.gz"
    empty.touch()
    data_error(read_images, empty, "empty")
    data_error(read_images, tmp_path / "absent.gz", "cannot read", "No such file")
