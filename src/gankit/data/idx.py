"""The IDX file format used by MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number ``00 00 <type code> <number of dimensions>``,
one big-endian uint32 per dimension, then the values in C order, big-endian.
Files are usually gzip-compressed; we detect that by the gzip magic bytes rather
than by the file name, because renamed and re-compressed copies are common.

Files come from mirrors, caches and other people's disks, so anything can be in
them (an HTML error page saved under a ``.gz`` name is the classic). Every fault
is reported as a one-line :class:`~gankit.errors.DataError` that names the file,
the fault and the fix, never as a struct/gzip/numpy traceback.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from gankit.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
IMAGES_MAGIC = 2051  # 00 00 08 03: uint8, 3 dimensions (N, H, W)
LABELS_MAGIC = 2049  # 00 00 08 01: uint8, 1 dimension (N)

# IDX type code -> big-endian numpy dtype, as the format defines them.
_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TYPE_CODES: dict[np.dtype, int] = {dt.newbyteorder("="): code for code, dt in _DTYPES.items()}

_REDOWNLOAD = "delete it and download again"
_KNOWN_KINDS = {IMAGES_MAGIC: "an IDX image file", LABELS_MAGIC: "an IDX label file"}

PathLike = str | os.PathLike[str]


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a native-endian array of the header's shape."""
    return _load(Path(path))[1]


def read_images(path: PathLike, sha256: str | None = None) -> np.ndarray:
    """Read an IDX image file: uint8 ``[N, H, W]``, magic 2051; with ``sha256``, the
    decompressed content must have that hash."""
    return _load_expecting(Path(path), IMAGES_MAGIC, sha256)


def read_labels(path: PathLike, sha256: str | None = None) -> np.ndarray:
    """Read an IDX label file: uint8 ``[N]``, magic 2049 (``sha256`` as for read_images)."""
    return _load_expecting(Path(path), LABELS_MAGIC, sha256)


def write_idx(path: PathLike, array: np.ndarray, compress: bool = True) -> Path:
    """Write ``array`` as an IDX file, gzip-compressed unless ``compress`` is false.

    Used to make fixtures (good and deliberately broken files) for tests. The gzip
    header's timestamp is fixed so the same array always gives the same bytes.
    """
    path = Path(path)
    array = np.asarray(array)
    code = _TYPE_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of {sorted(map(str, _TYPE_CODES))}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX stores 1 to 255 dimensions, got an array with {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=_DTYPES[code]).tobytes()
    if compress:
        with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            out.write(header + payload)
    else:
        path.write_bytes(header + payload)
    return path


def _load_expecting(path: Path, magic: int, sha256: str | None = None) -> np.ndarray:
    data = _read_bytes(path)
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        raise DataError(f"{path}: its content does not have the sha256 {sha256} of the genuine file; "
                        "the copy is damaged: reinstall gankit, or pass --data-root DIR with intact files")
    found, array = _parse(path, data)
    if found != magic:
        raise DataError(
            f"{path}: wrong magic number {found}, expected {magic} ({_KNOWN_KINDS[magic]}); "
            f"this is {_describe(found, array)}, check that the file is the right one"
        )
    return array


def _describe(magic: int, array: np.ndarray) -> str:
    """Name what a magic number means, so a swapped file is recognisable in the message."""
    if magic in _KNOWN_KINDS:
        return _KNOWN_KINDS[magic]
    return f"an IDX file of {array.dtype} with {array.ndim} dimension(s)"


def _load(path: Path) -> tuple[int, np.ndarray]:
    """Return the magic number and the array of an IDX file, raising DataError on any fault."""
    return _parse(path, _read_bytes(path))


def _read_bytes(path: Path) -> bytes:
    """The file's content, decompressed when it starts with the gzip magic bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(2)
            f.seek(0)
            if head != GZIP_MAGIC:
                return f.read()
            try:
                with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                    return stream.read()
            # EOFError: stream cut short; BadGzipFile (an OSError): bad header or CRC;
            # zlib.error: damaged deflate data.
            except (EOFError, OSError, zlib.error) as e:
                raise DataError(f"{path}: gzip stream is truncated or corrupt ({e}); {_REDOWNLOAD}") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror or e})") from None


def _parse(path: Path, data: bytes) -> tuple[int, np.ndarray]:
    """Validate the header against the payload and decode it; every check names the fault."""
    if not data:
        raise DataError(f"{path}: the file is empty; {_REDOWNLOAD}")
    if len(data) < 4 or data[:2] != b"\0\0":
        if path.name.endswith(".gz"):
            fault = f"not gzip although named .gz, and not a raw IDX file either (starts with {data[:4]!r})"
        else:
            fault = f"not a gzip file or IDX file (starts with {data[:4]!r})"
        raise DataError(f"{path}: {fault}; {_REDOWNLOAD}")

    type_code, ndim = data[2], data[3]
    dtype = _DTYPES.get(type_code)
    if dtype is None:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise DataError(f"{path}: unknown IDX type code 0x{type_code:02X} (known: {known}); {_REDOWNLOAD}")
    if ndim == 0:
        raise DataError(f"{path}: IDX header declares 0 dimensions; {_REDOWNLOAD}")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise DataError(
            f"{path}: truncated: the header needs {header_len} bytes for {ndim} dimensions, "
            f"the file has {len(data)}; {_REDOWNLOAD}"
        )

    shape = struct.unpack_from(f">{ndim}I", data, 4)
    count = math.prod(shape)
    expected = count * dtype.itemsize
    found = len(data) - header_len
    if found != expected:
        dims = "x".join(map(str, shape))
        kind = "" if type_code == 0x08 else f" of {dtype.newbyteorder('=')}"
        if found < expected:
            fault = f"truncated: header says {dims}{kind} = {expected} bytes of data, found {found}"
        else:
            fault = (
                f"{found - expected} unexpected bytes after the {dims}{kind} = {expected} bytes the header describes"
            )
        raise DataError(f"{path}: {fault}; {_REDOWNLOAD}")

    magic = int.from_bytes(data[:4], "big")
    values = np.frombuffer(data, dtype=dtype, count=count, offset=header_len)
    # astype copies into a writable, native-endian array that torch.from_numpy accepts.
    return magic, values.reshape(shape).astype(dtype.newbyteorder("="))
