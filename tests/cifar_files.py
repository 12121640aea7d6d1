"""Small CIFAR-10 files of the real format (python-version pickles, tar archives), for tests."""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

from gankit.data import cifar

ARCHIVE_NAME = "cifar-10-python.tar.gz"
CLASS_NAMES = [f"class-{i}" for i in range(10)]  # not CIFAR's own, to show they come from batches.meta
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
PER_BATCH = 2  # images in each synthetic batch


class Py2Pickler(pickle._Pickler):  # the pure-Python pickler, whose dispatch table can be extended
    """Writes bytes as Python 2 wrote its str (BINSTRING opcodes), as the real CIFAR-10 files do."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj: object) -> bytes:
    """A pickle laid out like the real batches: protocol 2, str as BINSTRING, numpy 1's module path."""
    out = io.BytesIO()
    Py2Pickler(out, protocol=2).dump(obj)
    return out.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def image_rows(first: int, count: int) -> np.ndarray:
    """uint8 [count, 3072] rows in CIFAR's layout, with a value that tells where each byte belongs.

    Image k: its R plane is the pixel's row-major position (mod 256), its G plane is
    the constant k, its B plane the constant 255 - k.
    """
    rows = np.empty((count, 3072), dtype=np.uint8)
    for j in range(count):
        k = first + j
        rows[j, :1024] = np.arange(1024) % 256
        rows[j, 1024:2048] = k
        rows[j, 2048:] = 255 - k
    return rows


def batch(first: int, count: int = PER_BATCH, py2: bool = True, **changes: object) -> bytes:
    entries: dict[object, object] = {
        b"batch_label": b"synthetic batch",
        b"labels": [(first + j) % 10 for j in range(count)],
        b"data": image_rows(first, count),
        b"filenames": [b"img_%d.png" % (first + j) for j in range(count)],
    }
    entries.update({k.encode(): v for k, v in changes.items()})
    if py2:
        return py2_pickle(entries)
    return pickle.dumps({k.decode(): v for k, v in entries.items()}, protocol=5)  # numpy 2 style, text keys


def members(py2: bool = True) -> dict[str, bytes]:
    """Every member of a small but complete archive: 5 train batches, the test batch, the metadata."""
    files = {name: batch(i * PER_BATCH, py2=py2) for i, name in enumerate(TRAIN_BATCHES)}
    files["test_batch"] = batch(100, count=3, py2=py2)
    meta = {b"label_names": [n.encode() for n in CLASS_NAMES], b"num_cases_per_batch": PER_BATCH}
    files["batches.meta"] = py2_pickle(meta) if py2 else pickle.dumps({"label_names": CLASS_NAMES}, protocol=5)
    return files


def write_archive(path: Path, files: dict[str, bytes], compress: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz" if compress else "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{cifar.FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    folder = root / cifar.FOLDER
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder
