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
anything else (``os.system`` ...) before it can run. Even those names reach no
numpy code with what the file says: they stand for checks that accept a plain
number type, a shape and exactly the bytes that shape needs, so a lying pickle
cannot make numpy allocate more than the file holds, build object arrays or
forge a dtype's flags. Members are read straight out of the tar, never
extracted, so a crafted member name cannot write anywhere; a member larger than
a batch, or an archive of far more members than CIFAR-10's, is refused unread.

The decoded arrays are not cached separately: decoding the whole archive takes
seconds, and a second, 180 MB uncompressed copy in the cache would save little
of that once it had been hashed to check it still matches the archive.
"""

from __future__ import annotations

import io
import math
import pickle
import struct
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
MAX_MEMBERS = 100  # the genuine archive has 9 entries; each entry seen costs memory in tarfile's list

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
        raise pickle.UnpicklingError(f"_codecs.encode is allowed only on text with latin-1, got {_brief(encoding)}")
    return text.encode("latin-1")


# Plain number types an array in a batch may have (numpy's own names for them), and byte orders.
SIMPLE_DTYPES = frozenset({"b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8"})
_BYTE_ORDERS = ("<", ">", "|", "=")
MAX_DIMS = 32


def _refuse(what: str) -> pickle.UnpicklingError:
    return pickle.UnpicklingError(f"{what}; a CIFAR-10 batch holds only plain numeric arrays")


def _brief(value: Any) -> str:
    """A short description of a value the file chose, for a message: never a repr of something large."""
    if value is None or isinstance(value, bool) or (isinstance(value, int) and abs(value) < 10**18):
        return repr(value)
    if isinstance(value, str | bytes) and len(value) <= 20:
        return repr(value)
    if isinstance(value, tuple) and len(value) <= 4 and all(isinstance(v, int) and abs(v) < 10**18 for v in value):
        return repr(value)
    return f"a {type(value).__name__}" + (f" of length {len(value)}" if isinstance(value, str | bytes | tuple) else "")


class _NdarrayName:
    """Stands for ``numpy.ndarray`` in a pickle: only :func:`_reconstruct` takes it, and it cannot be called."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise _refuse("numpy.ndarray itself cannot be given a state")


NDARRAY = _NdarrayName()


class _DtypeSpec:
    """A pickled ``numpy.dtype``: a plain number type and its byte order, and nothing else.

    numpy's own dtype would take any state the file gives it, object flags and sizes included.
    """

    __slots__ = ("code", "order")

    def __init__(self, code: str):
        self.code, self.order = code, "|"

    def __setstate__(self, state: Any) -> None:
        # (version, byte order, subarray, names, fields, item size, alignment, flags[, metadata])
        plain = isinstance(state, tuple) and len(state) in (8, 9) and all(part is None for part in state[2:5])
        if not (plain and isinstance(state[1], str) and state[1] in _BYTE_ORDERS and type(state[7]) is int
                and state[7] == 0):
            raise _refuse(f"a dtype state ({_brief(state)}) that is not a plain number type's")
        self.order = state[1]

    def dtype(self) -> np.dtype:
        return np.dtype(self.code).newbyteorder(self.order)


def _dtype(code: Any, align: Any = False, copy: Any = True) -> _DtypeSpec:
    """``numpy.dtype(code, align, copy)`` as a pickle calls it, for the codes in SIMPLE_DTYPES only."""
    if not (isinstance(code, str) and code in SIMPLE_DTYPES):
        raise _refuse(f"the dtype {_brief(code)} is not a plain number type")
    return _DtypeSpec(code)


def _checked(raw: Any, dtype: Any, shape: Any) -> tuple[bytes | bytearray, np.dtype]:
    """The data bytes and the dtype of an array, checked: a plain number type, a shape of
    natural numbers, and exactly the bytes that shape needs (no more is ever allocated)."""
    if isinstance(raw, str):  # Python 2's str, read as latin-1
        raw = raw.encode("latin-1")
    if not isinstance(raw, bytes | bytearray):
        raise _refuse(f"array data of type {type(raw).__name__}")
    if not isinstance(dtype, _DtypeSpec):
        raise _refuse(f"an array dtype of type {type(dtype).__name__}")
    sized = isinstance(shape, tuple) and len(shape) <= MAX_DIMS
    if not (sized and all(type(n) is int and 0 <= n < 2**63 for n in shape)):
        raise _refuse(f"the array shape {_brief(shape)}")
    dt = dtype.dtype()
    needed = math.prod(shape) * dt.itemsize
    if needed != len(raw):
        raise _refuse(f"an array of shape {list(shape)} needs {needed} bytes, the file gives {len(raw)}")
    return raw, dt


def _array(raw: Any, dtype: Any, shape: Any, order: Any = "C") -> np.ndarray:
    """An array of ``shape`` and ``dtype`` over ``raw`` (see :func:`_checked`), in C or Fortran order."""
    if not (isinstance(order, str) and order in ("C", "F")):
        raise _refuse(f"the array order {_brief(order)}")
    raw, dt = _checked(raw, dtype, shape)
    return np.frombuffer(raw, dtype=dt).reshape(shape, order=order)


class _PendingArray(np.ndarray):
    """The empty array ``_reconstruct`` makes; the pickle's next step (BUILD) gives it its state,
    which is checked by :func:`_checked` before numpy sees it."""

    def __setstate__(self, state: Any) -> None:
        # (version, shape, dtype, Fortran order, data), as numpy writes it
        if not (isinstance(state, tuple) and len(state) == 5 and type(state[0]) is int and state[0] == 1
                and isinstance(state[3], bool)):
            raise _refuse(f"an array state ({_brief(state)}) that is not numpy's (1, shape, dtype, order, data)")
        _, shape, dtype, fortran, raw = state
        raw, dt = _checked(raw, dtype, shape)
        super().__setstate__((1, shape, dt, fortran, bytes(raw)))


def _reconstruct(cls: Any, shape: Any, typecode: Any) -> np.ndarray:
    """numpy's ``_reconstruct(ndarray, (0,), b"b")``, which starts every protocol 0-4 array pickle:
    an empty array, and nothing else (a larger shape here would be allocated unchecked)."""
    if not (cls is NDARRAY and isinstance(shape, tuple) and shape == (0,) and isinstance(typecode, str | bytes)
            and typecode in (b"b", "b")):
        raise _refuse(f"_reconstruct with the shape {_brief(shape)} and type {_brief(typecode)}, not numpy's "
                      "empty array")
    return np.ndarray.__new__(_PendingArray, (0,), np.uint8)


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any, axis_order: Any = None) -> np.ndarray:
    """numpy's ``_frombuffer``, with which protocol 5 pickles arrays: the bytes, checked by :func:`_array`."""
    if order == "K":  # numpy's layout for arrays neither C- nor Fortran-ordered: C order, then transposed
        if not (isinstance(axis_order, tuple) and sorted(axis_order) == list(range(len(axis_order)))):
            raise _refuse(f"the axis order {_brief(axis_order)}")
        return _array(buf, dtype, shape, "C").transpose(axis_order)
    return _array(buf, dtype, shape, order)


def _empty_bytes(*args: Any) -> bytes:
    """``bytes()``, with which protocols 0-2 write an empty bytes object; ``bytes(n)`` would allocate n."""
    if args:
        raise _refuse("bytes() with arguments")
    return b""


# (module, name) as written in the pickle -> what it resolves to. Old files (Python 2,
# numpy 1) say numpy.core; files written with numpy 2 say numpy._core.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): NDARRAY,
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _latin1_encode,
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class BatchUnpickler(pickle._Unpickler):
    """An unpickler that builds only dicts, lists, strings, numbers and numpy arrays.

    ``find_class`` is the one door through which a pickle reaches code, so every
    global not in :data:`ALLOWED_GLOBALS` is refused there, before it is called.
    Python 2 strings are decoded as latin-1, which numpy needs for the array data.

    It is the pure-Python unpickler, not the C one: the C one grows its memo table
    to whatever index a 5-byte opcode names (zero-filling gigabytes) and allocates
    the lengths a file claims before reading them, while this one keeps its memo in
    a dict and reads only what is there. A batch is a few opcodes around one large
    string, so the speed is the same.
    """

    def __init__(self, data: bytes, where: str):
        super().__init__(io.BytesIO(data), encoding="latin1")
        self.where = where

    def load_bytearray8(self) -> None:
        """BYTEARRAY8, reading the bytes that are there: the stock loader first allocates (and zeroes)
        as many as the opcode claims, which a 20-byte file can set to gigabytes."""
        (size,) = struct.unpack("<Q", self.read(8))
        data = self.read(size)
        if len(data) != size:
            raise pickle.UnpicklingError(f"BYTEARRAY8 claims {size} bytes, the pickle holds {len(data)}")
        self.append(bytearray(data))

    dispatch = {**pickle._Unpickler.dispatch, pickle.BYTEARRAY8[0]: load_bytearray8}

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            shown = f"{module}.{name}"
            if len(shown) > 100 or not shown.isprintable():  # the file chose these strings
                shown = repr(shown)[:100]
            raise DataError(
                f"{self.where}: refused to unpickle the global {shown}; a CIFAR-10 batch holds only "
                f"numpy arrays, lists and strings, so this file is not genuine: {_REDOWNLOAD}"
            ) from None


def unpickle(data: bytes, where: str) -> Any:
    """Decode one pickled member with :class:`BatchUnpickler`; every fault is a DataError naming ``where``."""
    try:
        return BatchUnpickler(data, where).load()
    except DataError:
        raise
    except Exception as e:  # malformed pickles raise many types (EOFError, ValueError, TypeError ...)
        reason = " ".join(str(e).split())[:200]  # one line, whatever the pickle put in it
        raise DataError(f"{where}: not a valid pickle ({type(e).__name__}: {reason}); {_REDOWNLOAD}") from None


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
                if len(tar.members) > MAX_MEMBERS:
                    raise DataError(f"{archive}: more than {MAX_MEMBERS} entries, where CIFAR-10's archive has 9; "
                                    f"it is not the CIFAR-10 python archive: {_REDOWNLOAD}")
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
    labels = _labels(batch["labels"], data.shape[0], where)
    images = np.asarray(data).reshape(-1, 3, SIDE, SIDE)  # [N, 3072] -> [N, 3, 32, 32]: planes R, G, B, rows of 32
    return images, labels


def _labels(value: Any, count: int, where: str) -> np.ndarray:
    """A batch's labels as int64 [count]: a list (or array) of ``count`` whole numbers."""
    try:
        labels = np.asarray(value)
    except (ValueError, TypeError, OverflowError, RecursionError):  # ragged, deep or odd nested lists
        labels = None
    if labels is None or labels.shape != (count,) or labels.dtype.kind not in "iu":
        found = f"{labels.dtype} of shape {list(labels.shape)}" if labels is not None else type(value).__name__
        raise DataError(f"{where}: 'labels' should be {count} whole numbers (one per image), found {found}")
    return labels.astype(np.int64)


def decode_meta(obj: Any, where: str, num_classes: int) -> tuple[str, ...]:
    """The class names from ``batches.meta``."""
    names = _text_keys(obj, where).get("label_names")
    listed = isinstance(names, list | tuple)
    if not listed or len(names) != num_classes or not all(isinstance(n, str | bytes) for n in names):
        found = (type(names).__name__ if not listed else f"{len(names)} entries" if len(names) != num_classes
                 else "entries that are not text")
        raise DataError(f"{where}: 'label_names' should list {num_classes} class names (text), found {found}")
    return tuple(n.decode("latin-1") if isinstance(n, bytes) else n for n in names)


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
