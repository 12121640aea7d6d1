"""The IDX file format used by MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number ``00 00 <type code> <number of dimensions>``,
one big-endian uint32 per dimension, then the values in C order, big-endian.
Files are usually gzip-compressed; we detect that by the gzip magic bytes rather
than by the file name, because renamed and re-compressed copies are common.

Files come from mirrors, caches and other people's disks, so anything can be in
them (an HTML error page saved under a ``.gz`` name is the classic). Every fault
is reported as a one-line :class:`~gankit.errors.DataError` that names the file,
the fault and the fix, never as a struct/gzip/numpy traceback.

The header is read first, and then at most the bytes it announces plus one (to
see whether more follow): a header that claims billions of items, or a small gzip
"bomb" that inflates to gigabytes, is refused having read no more than the file
really holds. A raw file's size is known before its payload is read; a gzip file
of n bytes cannot inflate to more than ``MAX_GZIP_RATIO`` * n bytes (deflate's
limit), so a header that claims more is refused before any payload is inflated.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

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

MAX_GZIP_RATIO = 1032  # deflate's densest code: a 258-byte match in 2 bits (RFC 1951)
_CHUNK = 1 << 20  # the payload is read in pieces of this many bytes, so memory follows what is really there

_REDOWNLOAD = "delete it and download again"
_KNOWN_KINDS = {IMAGES_MAGIC: "an IDX image file", LABELS_MAGIC: "an IDX label file"}

PathLike = str | os.PathLike[str]


class _ContentFault(DataError):
    """A fault in what the file holds (as opposed to a file that cannot be opened or read)."""


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
    try:
        found, array, content = _read(path)
    except _ContentFault:
        if sha256 is None:
            raise
        found, array, content = None, None, ()  # the genuine file has no fault: a faulty copy is damaged
    if sha256 is not None and (array is None or _sha256(content) != sha256):
        raise DataError(f"{path}: its content does not have the sha256 {sha256} of the genuine file; "
                        "the copy is damaged: reinstall gankit, or pass --data-root DIR with intact files")
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


def _sha256(parts: tuple[bytes, ...]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def _load(path: Path) -> tuple[int, np.ndarray]:
    """Return the magic number and the array of an IDX file, raising DataError on any fault."""
    found, array, _ = _read(path)
    return found, array


def _read(path: Path) -> tuple[int, np.ndarray, tuple[bytes, bytes]]:
    """The magic number, the array and the (decompressed) content, as (header, payload), of an IDX
    file, raw or gzip-compressed."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            compressed = f.read(2) == GZIP_MAGIC
            f.seek(0)
            if not compressed:
                return _read_stream(path, f, size, compressed=False)
            try:
                with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                    return _read_stream(path, stream, size, compressed=True)
            # EOFError: stream cut short; BadGzipFile (an OSError): bad header or CRC;
            # zlib.error: damaged deflate data.
            except (EOFError, OSError, zlib.error) as e:
                raise _ContentFault(f"{path}: gzip stream is truncated or corrupt ({e}); {_REDOWNLOAD}") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror or e})") from None


def _read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """Up to ``limit`` bytes from ``stream``, fewer where it ends, read in pieces: nothing is
    allocated for bytes a header only claims."""
    pieces = []
    while limit > 0:
        piece = stream.read(min(limit, _CHUNK))
        if not piece:
            break
        pieces.append(piece)
        limit -= len(piece)
    return b"".join(pieces)


def _read_stream(path: Path, stream: BinaryIO, file_size: int,
                 compressed: bool) -> tuple[int, np.ndarray, tuple[bytes, bytes]]:
    """Read and check the header, then at most the payload it announces and one byte more."""
    head = _read_at_most(stream, 4)
    dtype, ndim = _check_start(path, head)
    dims = _read_at_most(stream, 4 * ndim)
    header_len = 4 + 4 * ndim
    if len(dims) < 4 * ndim:
        raise _ContentFault(
            f"{path}: truncated: the header needs {header_len} bytes for {ndim} dimensions, "
            f"the file has {4 + len(dims)}; {_REDOWNLOAD}"
        )
    shape = struct.unpack(f">{ndim}I", dims)
    expected = math.prod(shape) * dtype.itemsize
    if not compressed:  # the size on disk says how much data there is, before any of it is read
        _check_size(path, head[2], dtype, shape, expected, file_size - header_len)
    elif expected > MAX_GZIP_RATIO * file_size:
        raise _ContentFault(
            f"{path}: truncated: header says {_what(head[2], dtype, shape, expected)} of data, more than "
            f"a gzip file of {file_size} bytes can hold; {_REDOWNLOAD}"
        )
    payload = _read_at_most(stream, expected + 1)
    _check_size(path, head[2], dtype, shape, expected, len(payload), exact=not compressed)
    if math.prod(n for n in shape if n) * dtype.itemsize > np.iinfo(np.intp).max:  # empty, but of absurd sides
        raise _ContentFault(f"{path}: the header's dimensions {'x'.join(map(str, shape))} are too large for an "
                            f"array, even an empty one; {_REDOWNLOAD}")
    magic = int.from_bytes(head, "big")
    values = np.frombuffer(payload, dtype=dtype, count=math.prod(shape))
    # astype copies into a writable, native-endian array that torch.from_numpy accepts.
    return magic, values.reshape(shape).astype(dtype.newbyteorder("=")), (head + dims, payload)


def _check_start(path: Path, head: bytes) -> tuple[np.dtype, int]:
    """The dtype and number of dimensions the first 4 bytes declare; every fault names itself."""
    if not head:
        raise _ContentFault(f"{path}: the file is empty; {_REDOWNLOAD}")
    if len(head) < 4 or head[:2] != b"\0\0":
        if path.name.endswith(".gz"):
            fault = f"not gzip although named .gz, and not a raw IDX file either (starts with {head[:4]!r})"
        else:
            fault = f"not a gzip file or IDX file (starts with {head[:4]!r})"
        raise _ContentFault(f"{path}: {fault}; {_REDOWNLOAD}")
    type_code, ndim = head[2], head[3]
    dtype = _DTYPES.get(type_code)
    if dtype is None:
        known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
        raise _ContentFault(f"{path}: unknown IDX type code 0x{type_code:02X} (known: {known}); {_REDOWNLOAD}")
    if ndim == 0:
        raise _ContentFault(f"{path}: IDX header declares 0 dimensions; {_REDOWNLOAD}")
    return dtype, ndim


def _check_size(path: Path, type_code: int, dtype: np.dtype, shape: tuple[int, ...], expected: int, found: int,
                exact: bool = True) -> None:
    """The payload must be exactly what the header describes. ``found`` is the payload's size, or,
    when not ``exact`` (a stream read up to one byte past the header's promise), a lower bound of it."""
    if found == expected:
        return
    what = _what(type_code, dtype, shape, expected)
    if found < expected:
        fault = f"truncated: header says {what} of data, found {found}"
    elif exact:
        fault = f"{found - expected} unexpected bytes after the {what} the header describes"
    else:
        fault = f"unexpected bytes after the {what} the header describes"
    raise _ContentFault(f"{path}: {fault}; {_REDOWNLOAD}")


def _what(type_code: int, dtype: np.dtype, shape: tuple[int, ...], expected: int) -> str:
    """'10x28x28 = 7840 bytes' (with the value type unless uint8); absurd sizes as a power of ten."""
    dims = "x".join(map(str, shape))
    kind = "" if type_code == 0x08 else f" of {dtype.newbyteorder('=')}"
    size = str(expected) if expected < 10**18 else f"about 10^{len(str(expected)) - 1}"
    return f"{dims}{kind} = {size} bytes"
