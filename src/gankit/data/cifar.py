"""CIFAR-10 (Krizhevsky 2009), from its "python version" archive.

The archive ``cifar-10-python.tar.gz`` holds a folder ``cifar-10-batches-py/``
with five training batches (``data_batch_1`` .. ``data_batch_5``, 10,000 images
each), ``test_batch`` (10,000) and ``batches.meta`` (the class names). It is
found like the MNIST files (data root, cache, download into the cache; see
:mod:`gankit.data.sources`), and in each folder searched the extracted
``cifar-10-batches-py/`` is accepted as well as the archive.

Each batch is a Python pickle of a dict: ``data`` is a uint8 array [N, 3072]
whose rows are an image's red plane, then green, then blue, each 32x32 in
row-major order, so a row reshapes straight to [3, 32, 32]; ``labels`` is a list
of N class indices.

Unpickling runs code named by the file, and the file comes from a mirror or
someone's disk, so it is never given to plain ``pickle.load``: a restricted
unpickler resolves only the few numpy names an array's pickle needs and rejects
anything else (``os.system`` ...) before it can run. Members are read straight
out of the tar, never extracted, so a crafted member name cannot write anywhere.

The decoded arrays are not cached separately: decoding the whole archive takes
seconds, and a second, 180 MB uncompressed copy in the cache would save little
of that once it had been hashed to check it still matches the archive.
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.config import DataConfig
from gankit.data import sources
from gankit.data.datasets import SPECS, DatasetSpec, ImageDataset, check_labels, check_split, register_spec
from gankit.data.sources import Checksum, PathLike
from gankit.errors import DataError
from gankit.registry import DATASETS

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar"  # as sources.locate names it: the file on disk is ARCHIVE + ".gz"
META = "batches.meta"
SIDE = 32
PIXELS = 3 * SIDE * SIDE  # 3072 bytes per image: R plane, G plane, B plane
MAX_MEMBER_BYTES = 64 << 20  # a genuine batch is about 31 MB; refuse to read a far larger one into memory

_REDOWNLOAD = "delete it and download again"

CIFAR10 = register_spec(DatasetSpec(
    name="cifar10",
    splits={
        "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
        "test": ("test_batch",),
    },
    mirrors=("https://www.cs.toronto.edu/~kriz/",),
    # The archive is cifar-10-python.tar.gz; sources.locate takes base names without ".gz".
    checksums={"cifar-10-python.tar": Checksum(md5_gz="c58f30108f718f92721af3b95e74349a")},
    system_dirs=(),
    # The names in the archive's batches.meta, which is what a load reports.
    class_names=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
    help="CIFAR-10 (Krizhevsky 2009; python version from cs.toronto.edu), 32x32 RGB, 10 classes (50,000 / 10,000)",
    hint=(
        "A folder may hold the archive cifar-10-python.tar.gz or the cifar-10-batches-py/ folder "
        "extracted from it."
    ),
))



def _latin1_encode(text: object, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as Python 3 pickles use it for bytes (protocols 0-2), and only that.

    The real ``encode`` accepts any codec name; the pickle of a bytes object only
    ever asks for latin-1, so nothing else is let through.
    """
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode is allowed only on text with latin-1, got {encoding!r}")
    return text.encode("latin-1")


def _numpy_rebuilders() -> tuple[Any, Any]:
    """The functions numpy's own array pickles name (protocols 0-4, and 5).

    Their module moved in numpy 2 (``numpy.core`` -> ``numpy._core``), so they are
    taken from what numpy itself puts in a pickle rather than imported by path.
    """
    probe = np.zeros(1, dtype=np.uint8)
    return probe.__reduce__()[0], probe.__reduce_ex__(5)[0]


_RECONSTRUCT, _FROMBUFFER = _numpy_rebuilders()

# (module, name) as written in the pickle -> the object it may resolve to. Old
# files (Python 2, numpy 1) say numpy.core; files written with numpy 2 say numpy._core.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
}


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that builds only dicts, lists, strings, numbers and numpy arrays.

    ``find_class`` is the one door through which a pickle reaches code, so every
    global not in :data:`ALLOWED_GLOBALS` is refused there, before it is called.
    Python 2 strings are decoded as latin-1, which numpy needs for the array data.
    """

    def __init__(self, data: bytes, where: str):
        super().__init__(io.BytesIO(data), encoding="latin1")
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise DataError(
                f"{self.where}: refused to unpickle the global {module}.{name}; a CIFAR-10 batch holds only "
                f"numpy arrays, lists and strings, so this file is not genuine: {_REDOWNLOAD}"
            ) from None


def unpickle(data: bytes, where: str) -> Any:
    """Decode one pickled member with :class:`BatchUnpickler`; every fault is a DataError naming ``where``."""
    try:
        return BatchUnpickler(data, where).load()
    except DataError:
        raise
    except Exception as e:  # malformed pickles raise many types (EOFError, ValueError, TypeError ...)
        raise DataError(f"{where}: not a valid pickle ({type(e).__name__}: {e}); {_REDOWNLOAD}") from None


# --- finding and reading the files --------------------------------------------


def find_local(spec: DatasetSpec, root: PathLike | None) -> Path | None:
    """The extracted folder or the archive in the first local place that holds either."""
    # sources' own list of places, so the order cannot drift from the MNIST search.
    for _place, directory in sources.local_places(spec.name, root, spec.system_dirs):
        for folder in (directory / FOLDER, directory):
            if (folder / META).is_file():
                return folder
        files, _ = sources.find_in_dir(directory, [ARCHIVE])
        if files is not None:
            return files[ARCHIVE]
    return None


def where(root: PathLike | None) -> str:
    found = find_local(SPECS["cifar10"], root)
    return str(found) if found else f"a download from {SPECS['cifar10'].mirrors[0]}"


def find_source(spec: DatasetSpec, split: str, root: PathLike | None, download: bool) -> Path:
    """The extracted folder or the archive, searched like the MNIST files.

    In each local place (data root, cache, system copies) the extracted folder wins
    over the archive, as it reads faster; a place may also be that folder itself.
    Only when no place has either is the archive downloaded, by ``sources.locate``,
    whose error lists every place looked at.
    """
    local = find_local(spec, root)
    if local is not None:
        return local
    found = sources.locate(
        spec.name,
        [ARCHIVE],
        root=root,
        system_dirs=spec.system_dirs,
        mirrors=spec.mirrors,
        checksums=spec.checksums,
        download=download,
        hint=spec.hint,
        what=f"{spec.name} {split} split",
    )
    return found.files[ARCHIVE]


def read_members(source: Path, names: Sequence[str]) -> dict[str, tuple[bytes, str]]:
    """The bytes of each file ``names`` (e.g. "test_batch") and a label naming it for messages."""
    if source.is_dir():
        return {name: (_read_file(source / name), str(source / name)) for name in names}
    return _read_from_archive(source, names)


def _read_file(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"{path}: missing; the {FOLDER}/ folder is incomplete, extract the archive again")
    size = path.stat().st_size
    if size > MAX_MEMBER_BYTES:
        raise DataError(f"{path}: {size} bytes, far larger than a CIFAR-10 batch; the file is not genuine")
    try:
        return path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror or e})") from None


def _read_from_archive(archive: Path, names: Sequence[str]) -> dict[str, tuple[bytes, str]]:
    """Read the members ``FOLDER/<name>`` in one pass over the (compressed) tar stream.

    Stream mode ("r|*") decompresses once, front to back; random access into a
    .tar.gz would decompress again from the start for each member.
    """
    wanted = {f"{FOLDER}/{name}": name for name in names}
    found: dict[str, tuple[bytes, str]] = {}
    try:
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                if name is None or not member.isfile():
                    continue  # other members (readme.html, links, folders) are never touched
                where = f"{archive}, member {member.name}"
                if member.size > MAX_MEMBER_BYTES:
                    raise DataError(f"{where}: {member.size} bytes, far larger than a CIFAR-10 batch; {_REDOWNLOAD}")
                stream = tar.extractfile(member)
                assert stream is not None  # a regular file always has a stream
                found[name] = (stream.read(), where)
                if len(found) == len(wanted):
                    break
    # ReadError: not a tar / bad header; EOFError: cut short; OSError (BadGzipFile) and
    # zlib.error: damaged compression.
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise DataError(
            f"{archive}: not a readable tar(.gz) archive, or it is truncated ({type(e).__name__}: {e}); "
            f"{_REDOWNLOAD}"
        ) from None
    missing = [f"{FOLDER}/{name}" for name in names if name not in found]
    if missing:
        raise DataError(
            f"{archive}: the archive has no {', '.join(missing)}; it is not the CIFAR-10 python archive "
            f"(cifar-10-python.tar.gz) or is incomplete: {_REDOWNLOAD}"
        )
    return found


# --- decoding ---------------------------------------------------------------


def _text_keys(obj: Any, where: str) -> dict[str, Any]:
    """A pickled dict with its keys as text: Python 3 re-pickles sometimes store them as bytes."""
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a pickled dict, found {type(obj).__name__}; {_REDOWNLOAD}")
    return {k.decode("latin-1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def decode_batch(obj: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Check an unpickled batch and return its images uint8 [N, 3, 32, 32] and labels int64 [N]."""
    batch = _text_keys(obj, where)
    for key in ("data", "labels"):
        if key not in batch:
            raise DataError(f"{where}: the batch has no {key!r} entry; {_REDOWNLOAD}")
    data = batch["data"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2 and data.shape[1] == PIXELS):
        found = f"{data.dtype} array of shape {list(data.shape)}" if isinstance(data, np.ndarray) else type(data)
        raise DataError(f"{where}: 'data' should be a uint8 array of shape [N, {PIXELS}], found {found}")
    labels = np.asarray(batch["labels"])
    if labels.shape != (data.shape[0],) or labels.dtype.kind not in "iu":
        raise DataError(
            f"{where}: 'labels' should be {data.shape[0]} whole numbers (one per image), "
            f"found {labels.dtype} of shape {list(labels.shape)}"
        )
    images = data.reshape(-1, 3, SIDE, SIDE)  # [N, 3072] -> [N, 3, 32, 32]: planes R, G, B, rows of 32
    return images, labels.astype(np.int64)


def decode_meta(obj: Any, where: str, num_classes: int) -> tuple[str, ...]:
    """The class names from ``batches.meta``."""
    names = _text_keys(obj, where).get("label_names")
    if not isinstance(names, list | tuple) or len(names) != num_classes:
        raise DataError(f"{where}: 'label_names' should list {num_classes} class names, found {names!r:.80}")
    return tuple(n.decode("latin-1") if isinstance(n, bytes) else str(n) for n in names)


@DATASETS.register("cifar10", help=CIFAR10.help, where=where)
def load_cifar10(cfg: DataConfig, split: str, device: str | torch.device = "cpu") -> ImageDataset:
    """CIFAR-10 from the python-version archive or its extracted folder: uint8 [N, 3, 32, 32].

    Reads data.root and data.download.
    """
    spec = SPECS["cifar10"]  # looked up now, so tests can point it at a local mirror
    check_split(spec.name, split, spec.splits)
    batches = spec.splits[split]
    source = find_source(spec, split, cfg.root, cfg.download)
    members = read_members(source, [*batches, META])

    images, labels = [], []
    for name in batches:
        data, where = members[name]
        batch_images, batch_labels = decode_batch(unpickle(data, where), where)
        check_labels(batch_labels, len(spec.class_names), where)
        images.append(batch_images)
        labels.append(batch_labels)
    meta, where = members[META]
    class_names = decode_meta(unpickle(meta, where), where, len(spec.class_names))

    return ImageDataset(
        name=spec.name,
        split=split,
        images=torch.from_numpy(np.concatenate(images)).to(device),  # uint8 [N, 3, 32, 32]
        labels=torch.from_numpy(np.concatenate(labels)).to(device),  # int64 [N]
        num_classes=len(class_names),
        class_names=class_names,
        source=str(source),
    )
