"""The IDX and CIFAR-10 readers against generated files: valid, truncated, padded, mislabelled, lying and random.

Every file ends in a correct load or in one DataError, on one line, that names the
file; nothing hangs, nothing allocates more than the file holds, and no pickle runs
code. Hypothesis runs a fixed, derandomized set of examples with no database, so a
run in CI is the same run everywhere.
"""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from gankit.data import cifar, load_dataset
from gankit.data.idx import MAX_GZIP_RATIO, read_idx, read_images, read_labels, write_idx
from gankit.errors import DataError
from tests.cifar_files import ARCHIVE_NAME, members, write_archive

T = TypeVar("T")

# Each example rewrites the same files in tmp_path; the autouse fixture of conftest only sets
# environment variables, so sharing it across examples is harmless.
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=60,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FEW = settings(FUZZ, max_examples=30)  # for examples that write and read whole archives

MEMORY_LIMIT = 8 << 20  # bytes a refused file may cost; the files below claim gigabytes


def loads_or_refuses(read: Callable[[], T], name: str) -> T | None:
    """``read()``'s value, or None when it raised one DataError on one line naming ``name``.

    Any other exception propagates and fails the test: it would be a traceback for the user.
    """
    try:
        return read()
    except DataError as e:
        message = str(e)
        assert "\n" not in message and name in message, message
        return None


def refuses(read: Callable[[], object], name: str, *fragments: str) -> str:
    """``read()`` must raise one one-line DataError naming ``name`` and each fragment."""
    with pytest.raises(DataError) as info:
        read()
    message = str(info.value)
    assert "\n" not in message and name in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


@contextmanager
def memory_peak() -> Iterator[list[int]]:
    """The peak of Python and numpy allocations inside the block, in a one-item list."""
    tracemalloc.start()
    peak = [0]
    try:
        yield peak
    finally:
        peak[0] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


# --- IDX --------------------------------------------------------------------------------------

IDX_DTYPES = [np.dtype(t) for t in ("u1", "i1", "i2", "i4", "f4", "f8")]


@st.composite
def idx_arrays(draw: st.DrawFn) -> np.ndarray:
    dtype = draw(st.sampled_from(IDX_DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=1, max_size=4)))
    return draw(hnp.arrays(dtype, shape))


def idx_bytes(array: np.ndarray) -> bytes:
    """The raw IDX file of ``array``."""
    buffer = io.BytesIO()
    code = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}[array.dtype.str[1:]]
    buffer.write(bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape))
    buffer.write(array.astype(array.dtype.newbyteorder(">")).tobytes())
    return buffer.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def read_all_ways(path: Path) -> None:
    """Every reader on one file: a value or one DataError naming it."""
    for read in (read_idx, read_images, read_labels):
        loads_or_refuses(lambda read=read: read(path), path.name)


@FUZZ
@given(array=idx_arrays(), compress=st.booleans())
def test_valid_files_load_exactly(tmp_path: Path, array: np.ndarray, compress: bool) -> None:
    path = write_idx(tmp_path / "valid-idx", array, compress=compress)
    got = read_idx(path)
    assert got.dtype == array.dtype and got.shape == array.shape and got.flags.writeable
    np.testing.assert_array_equal(got, array)


@FUZZ
@given(data=st.binary(max_size=600), wrap=st.sampled_from(["raw", "gzip", "gzip-magic", "idx-start"]))
def test_random_bytes_load_or_are_refused(tmp_path: Path, data: bytes, wrap: str) -> None:
    content = {"raw": data, "gzip": gz(data), "gzip-magic": b"\x1f\x8b" + data, "idx-start": b"\0\0" + data}[wrap]
    path = tmp_path / "random.gz"
    path.write_bytes(content)
    read_all_ways(path)


@FUZZ
@given(array=idx_arrays(), where=st.floats(0, 1, exclude_max=True), how=st.sampled_from(["raw", "gz-of-cut", "cut-gz"]))
def test_truncated_files_are_refused(tmp_path: Path, array: np.ndarray, where: float, how: str) -> None:
    whole = idx_bytes(array)
    if how == "cut-gz":  # the compressed stream itself cut short
        whole = gz(whole)
    cut = whole[: int(where * len(whole))]
    path = tmp_path / "cut-idx"
    path.write_bytes(gz(cut) if how == "gz-of-cut" else cut)
    refuses(lambda: read_idx(path), path.name)


@FUZZ
@given(array=idx_arrays(), extra=st.binary(min_size=1, max_size=300), compress=st.booleans())
def test_extra_bytes_after_the_data_are_refused(tmp_path: Path, array: np.ndarray, extra: bytes,
                                               compress: bool) -> None:
    content = idx_bytes(array) + extra
    path = tmp_path / "padded-idx"
    path.write_bytes(gz(content) if compress else content)
    refuses(lambda: read_idx(path), path.name, "unexpected bytes after")


@FUZZ
@given(array=idx_arrays(), first=st.binary(min_size=2, max_size=2).filter(lambda b: b != b"\0\0"),
       code=st.integers(0, 255).filter(lambda c: c not in (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)),
       fault=st.sampled_from(["first bytes", "type code", "no dimensions"]), compress=st.booleans())
def test_wrong_magic_numbers_are_refused(tmp_path: Path, array: np.ndarray, first: bytes, code: int, fault: str,
                                         compress: bool) -> None:
    content = bytearray(idx_bytes(array))
    if fault == "first bytes":
        content[:2] = first
        if compress and first == b"\x1f\x8b":
            return  # that is the gzip magic: covered by the random bytes above
    elif fault == "type code":
        content[2] = code
    else:
        content[3] = 0
    path = tmp_path / "magic-idx"
    path.write_bytes(gz(bytes(content)) if compress else bytes(content))
    refuses(lambda: read_idx(path), path.name)


@FUZZ
@given(array=idx_arrays(), compress=st.booleans())
def test_a_file_of_another_kind_is_refused_by_the_typed_readers(tmp_path: Path, array: np.ndarray,
                                                                compress: bool) -> None:
    path = write_idx(tmp_path / "other-idx", array, compress=compress)
    magic = int.from_bytes(idx_bytes(array)[:4], "big")
    for read, wanted in ((read_images, 2051), (read_labels, 2049)):
        if magic == wanted:
            np.testing.assert_array_equal(read(path), array)
        else:
            refuses(lambda read=read: read(path), path.name, f"wrong magic number {magic}, expected {wanted}")


@FUZZ
@given(dims=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=8), code=st.sampled_from([0x08, 0x0C, 0x0E]),
       payload=st.binary(max_size=64), compress=st.booleans())
def test_lying_headers_are_refused_without_allocating_what_they_claim(tmp_path: Path, dims: list[int], code: int,
                                                                      payload: bytes, compress: bool) -> None:
    content = bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload
    path = tmp_path / "lying-idx"
    path.write_bytes(gz(content) if compress else content)
    with memory_peak() as peak:
        loads_or_refuses(lambda: read_idx(path), path.name)
    assert peak[0] < MEMORY_LIMIT, peak


def test_a_header_claiming_billions_of_items_is_refused_at_once(tmp_path: Path) -> None:
    header = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 2**32 - 1, 2**32 - 1, 2**32 - 1)
    raw, compressed = tmp_path / "billions-idx3-ubyte", tmp_path / "billions-idx3-ubyte.gz"
    raw.write_bytes(header + bytes(100))
    compressed.write_bytes(gz(header + bytes(100)))
    with memory_peak() as peak:
        refuses(lambda: read_images(raw), raw.name, "truncated: header says 4294967295x4294967295x4294967295 = "
                "about 10^28 bytes of data, found 100")
        refuses(lambda: read_images(compressed), compressed.name, "more than a gzip file of", "can hold")
    assert peak[0] < MEMORY_LIMIT, peak


@cache
def zeros_member() -> bytes:
    """One gzip member of 1 MiB of zeros: about 1 kB."""
    return gz(bytes(1 << 20))


def test_a_gzip_bomb_is_refused_after_the_bytes_the_header_announces(tmp_path: Path) -> None:
    # gzip members concatenate: a 10-label file followed by 1 GiB of zeros, in about 1 MB
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(gz(idx_bytes(np.arange(10, dtype=np.uint8))) + zeros_member() * 1024)
    assert path.stat().st_size < (2 << 20)
    with memory_peak() as peak:
        refuses(lambda: read_labels(path), path.name, "unexpected bytes after the 10 = 10 bytes the header describes")
    assert peak[0] < MEMORY_LIMIT, peak


def test_a_gzip_bomb_behind_a_header_claiming_all_of_it_is_refused_unread(tmp_path: Path) -> None:
    bomb = zeros_member() * 64  # 64 MiB of zeros
    claimed = MAX_GZIP_RATIO * (len(bomb) + 100)  # more than any file of that size can inflate to
    header = bytes([0, 0, 0x08, 1]) + struct.pack(">I", claimed)
    path = tmp_path / "bomb-idx1-ubyte.gz"
    path.write_bytes(gz(header) + bomb)
    with memory_peak() as peak:
        refuses(lambda: read_labels(path), path.name, "can hold")
    assert peak[0] < MEMORY_LIMIT, peak


# --- CIFAR-10 pickles -------------------------------------------------------------------------

SIMPLE = [np.dtype(t) for t in ("u1", "i1", "<i2", ">i4", "<i8", "?", "<f4", ">f8")]


def plain_values() -> st.SearchStrategy[Any]:
    """Nested lists, tuples and dicts of the values a batch may hold: numbers, text, bytes, arrays."""
    arrays = st.sampled_from(SIMPLE).flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
    leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20) | \
        st.binary(max_size=20) | arrays
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner) |
                        st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def same(a: Any, b: Any) -> bool:
    """Equality that compares arrays by dtype kind, shape and values (numpy itself makes pickled arrays
    of protocols 0-4 native-endian)."""
    if isinstance(a, np.ndarray):
        native = a.dtype.newbyteorder("=")
        return (isinstance(b, np.ndarray) and a.shape == b.shape and b.dtype.newbyteorder("=") == native
                and np.array_equal(a, b))
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b and type(a) is type(b)


@FUZZ
@given(value=plain_values(), protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
def test_pickles_of_plain_values_load_exactly(value: Any, protocol: int) -> None:
    assert same(value, cifar.unpickle(pickle.dumps(value, protocol=protocol), "m"))


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_unpickle_or_are_refused(data: bytes) -> None:
    with memory_peak() as peak:
        loads_or_refuses(lambda: cifar.unpickle(data, "member x"), "member x")
    assert peak[0] < MEMORY_LIMIT, peak


@FUZZ
@given(value=plain_values(), protocol=st.integers(0, pickle.HIGHEST_PROTOCOL), edits=st.data())
def test_damaged_pickles_load_or_are_refused_within_their_size(value: Any, protocol: int, edits: st.DataObject) -> None:
    data = bytearray(pickle.dumps(value, protocol=protocol))
    for _ in range(edits.draw(st.integers(1, 4))):  # overwrite a few bytes: lengths, opcodes, indices
        at = edits.draw(st.integers(0, len(data) - 1))
        data[at] = edits.draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF, edits.draw(st.integers(0, 255))]))
    with memory_peak() as peak:
        loads_or_refuses(lambda: cifar.unpickle(bytes(data), "member y"), "member y")
    assert peak[0] < MEMORY_LIMIT, peak


def global_ref(module: str, name: str) -> bytes:
    """A pickle fragment that pushes the global ``module.name`` (GLOBAL opcode)."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def call(module: str, name: str, *args: bytes) -> bytes:
    """A pickle fragment that calls ``module.name(*args)``; each arg is a fragment pushing one object."""
    return global_ref(module, name) + b"(" + b"".join(args) + b"tR"


def text(value: str) -> bytes:
    return b"V" + value.encode("raw_unicode_escape") + b"\n"


def number(value: int) -> bytes:
    return b"L" + str(value).encode() + b"L\n"


def tuple_of(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


NUMPY_NAMES = [("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy._core.numeric", "_frombuffer"), ("numpy", "ndarray"), ("numpy", "dtype")]
DANGEROUS = [("os", "system"), ("posix", "system"), ("subprocess", "call"), ("subprocess", "check_output"),
             ("builtins", "eval"), ("builtins", "exec"), ("__builtin__", "eval"), ("builtins", "open"),
             ("builtins", "getattr"), ("builtins", "__import__"), ("numpy", "load"), ("numpy", "fromfile"),
             ("numpy.testing._private.utils", "runstring"), ("pickle", "loads"), ("io", "FileIO"),
             ("shutil", "rmtree"), ("pathlib", "Path"), ("types", "FunctionType")]


@FUZZ
@given(target=st.sampled_from(DANGEROUS) | st.tuples(st.from_regex(r"[a-z_][a-z0-9_.]{0,20}", fullmatch=True),
                                                     st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,20}", fullmatch=True)),
       protocol_header=st.sampled_from([b"", b"\x80\x02", b"\x80\x04"]))
def test_a_pickle_naming_any_other_global_never_runs_it(tmp_path: Path, target: tuple[str, str],
                                                        protocol_header: bytes) -> None:
    marker = tmp_path / "ran"
    argument = f"open({str(marker)!r}, 'w')" if target[1] in ("eval", "exec", "runstring") else f"touch {marker}"
    data = protocol_header + call(*target, text(argument)) + b"."
    if target in cifar.ALLOWED_GLOBALS:
        return
    refuses(lambda: cifar.unpickle(data, "member z"), "member z", "refused to unpickle the global")
    assert not marker.exists()


def lying_pickles() -> st.SearchStrategy[bytes]:
    """Pickles whose numbers lie: lengths, memo indices and frames larger than the file, and numpy
    calls with shapes, dtypes and states that would allocate what the file does not hold."""
    big = st.integers(0, 2**64 - 1)
    u32 = st.integers(0, 2**32 - 1)
    shape = st.lists(st.integers(0, 2**40), min_size=0, max_size=4)
    dtype_state = st.tuples(st.sampled_from(["|", "<", ">", "?"]), st.integers(-1, 2**40), st.integers(0, 255))

    def shape_bytes(dims: list[int]) -> bytes:
        return tuple_of(*(number(n) for n in dims))

    def dtype_bytes(code: str, state: tuple[str, int, int]) -> bytes:
        order, size, flags = state
        return (call("numpy", "dtype", text(code), b"I00\n", b"I01\n") +
                tuple_of(b"I3\n", text(order), b"NNN", number(size), b"I-1\n", number(flags)) + b"b")

    opcodes = st.one_of(
        st.builds(lambda n: b"\x80\x04\x8e" + struct.pack("<Q", n) + b"abc.", big),  # BINBYTES8
        st.builds(lambda n: b"\x80\x04\x8d" + struct.pack("<Q", n) + b"abc.", big),  # BINUNICODE8
        st.builds(lambda n: b"\x80\x05\x96" + struct.pack("<Q", n) + b"abc.", big),  # BYTEARRAY8
        st.builds(lambda n: b"\x80\x04\x95" + struct.pack("<Q", n) + b"N.", big),  # FRAME
        st.builds(lambda n: b"\x80\x02\x8b" + struct.pack("<i", n - 2**31) + b"\x01.", u32),  # LONG4
        st.builds(lambda n: b"T" + struct.pack("<i", n - 2**31) + b"abc.", u32),  # BINSTRING
        st.builds(lambda n: b"\x80\x02Nr" + struct.pack("<I", n) + b".", u32),  # LONG_BINPUT
        st.builds(lambda n: b"\x80\x02Nj" + struct.pack("<I", n) + b".", u32),  # LONG_BINGET
        st.builds(lambda n: b"\x80\x02" + b"(" * min(n, 10_000) + b"N.", u32),  # marks left open
    )
    numpy_calls = st.one_of(
        st.builds(lambda dims, code: call("numpy.core.multiarray", "_reconstruct", global_ref("numpy", "ndarray"),
                                          shape_bytes(dims), text(code)) + b".",
                  shape, st.sampled_from(["b", "O", "V8", "u1"])),
        st.builds(lambda dims, code: call("numpy", "ndarray", shape_bytes(dims), text(code)) + b".",
                  shape, st.sampled_from(["O", "u1", "f8"])),
        st.builds(lambda dims, code, state, raw: call("numpy.core.multiarray", "_reconstruct",
                                                      global_ref("numpy", "ndarray"), tuple_of(b"I0\n"), text("b")) +
                  tuple_of(b"I1\n", shape_bytes(dims), dtype_bytes(code, state), b"I00\n", text(raw)) + b"b.",
                  shape, st.sampled_from(["u1", "O8", "V16", "i8", "U4"]), dtype_state, st.text(max_size=16)),
        st.builds(lambda dims, code, state, raw: call("numpy._core.numeric", "_frombuffer", b"C" + bytes([len(raw)]) +
                                                      raw, dtype_bytes(code, state), shape_bytes(dims), text("C")) +
                  b".", shape, st.sampled_from(["u1", "O8", "f4"]), dtype_state, st.binary(max_size=16)),
    )
    return opcodes | numpy_calls


@FUZZ
@given(data=lying_pickles())
def test_lying_pickles_are_refused_without_allocating_what_they_claim(data: bytes) -> None:
    with memory_peak() as peak:
        value = loads_or_refuses(lambda: cifar.unpickle(data, "member w"), "member w")
    assert peak[0] < MEMORY_LIMIT, peak
    if isinstance(value, np.ndarray):  # only a plain array over exactly the bytes the file gave
        assert value.dtype.kind in "biuf" and value.nbytes <= len(data)


def test_the_numpy_names_are_allowed_only_as_numpy_writes_them() -> None:
    for module, name in NUMPY_NAMES:
        assert (module, name) in cifar.ALLOWED_GLOBALS
    refuses(lambda: cifar.unpickle(call("numpy", "ndarray", tuple_of(number(10**9)), text("O")) + b".", "m"), "m")
    refuses(lambda: cifar.unpickle(call("numpy.core.multiarray", "_reconstruct", global_ref("numpy", "ndarray"),
                                        tuple_of(number(10**9)), text("b")) + b".", "m"), "m", "_reconstruct")


@FUZZ
@given(entries=st.dictionaries(st.sampled_from(["data", "labels", b"data", b"labels", "other"]), plain_values()
                               | hnp.arrays(np.uint8, st.tuples(st.integers(0, 3), st.sampled_from([3072, 3000]))),
                               max_size=4),
       protocol=st.integers(0, pickle.HIGHEST_PROTOCOL))
def test_any_unpickled_batch_decodes_or_is_refused(entries: dict, protocol: int) -> None:
    value = loads_or_refuses(lambda: cifar.unpickle(pickle.dumps(entries, protocol=protocol), "member b"), "member b")
    images_labels = loads_or_refuses(lambda: cifar.decode_batch(value, "member b"), "member b")
    if images_labels is not None:
        images, labels = images_labels
        assert images.dtype == np.uint8 and images.shape[1:] == (3, 32, 32) and labels.shape == (len(images),)
    loads_or_refuses(lambda: cifar.decode_meta(value, "member b", 10), "member b")


# --- CIFAR-10 archives ------------------------------------------------------------------------


@cache
def archive_bytes(compress: bool) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if compress else "w") as tar:
        for name, data in members().items():
            info = tarfile.TarInfo(f"{cifar.FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def load_from(root: Path, split: str) -> object:
    return load_dataset("cifar10", split, root=root, download=False)


@FEW
@given(compress=st.booleans(), edits=st.data(), split=st.sampled_from(["train", "test"]))
def test_damaged_archives_load_or_are_refused(tmp_path: Path, compress: bool, edits: st.DataObject,
                                              split: str) -> None:
    data = bytearray(archive_bytes(compress))
    how = edits.draw(st.sampled_from(["cut", "overwrite", "random"]))
    if how == "cut":
        data = data[: edits.draw(st.integers(0, len(data) - 1))]
    elif how == "overwrite":
        for _ in range(edits.draw(st.integers(1, 8))):
            data[edits.draw(st.integers(0, len(data) - 1))] = edits.draw(st.integers(0, 255))
    else:
        data = bytearray(edits.draw(st.binary(max_size=2000)))
    root = tmp_path / how
    root.mkdir(exist_ok=True)
    (root / ARCHIVE_NAME).write_bytes(bytes(data))
    with memory_peak() as peak:
        loads_or_refuses(lambda: load_from(root, split), ARCHIVE_NAME)
    assert peak[0] < 64 << 20, peak  # the archive is small; nothing it claims is allocated


def test_a_member_that_claims_more_than_it_holds_is_refused(tmp_path: Path) -> None:
    files = members()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"{cifar.FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    raw = bytearray(buffer.getvalue())
    header = raw.index(f"{cifar.FOLDER}/test_batch".encode())  # that member's 512-byte header
    raw[header + 124 : header + 136] = b"%011o\0" % (60 << 20)  # its size field, in octal: 60 MiB
    raw[header + 148 : header + 156] = b" " * 8  # the checksum counts its own field as spaces
    raw[header + 148 : header + 156] = b"%06o\0 " % sum(raw[header : header + 512])
    (tmp_path / "cifar-10-python.tar").write_bytes(bytes(raw))
    refuses(lambda: load_from(tmp_path, "test"), "cifar-10-python.tar")


def test_an_archive_of_countless_entries_is_refused(tmp_path: Path) -> None:
    files = {f"junk-{i}": b"" for i in range(cifar.MAX_MEMBERS + 5)}
    write_archive(tmp_path / ARCHIVE_NAME, {**files, **members()})
    refuses(lambda: load_from(tmp_path, "test"), ARCHIVE_NAME, f"more than {cifar.MAX_MEMBERS} entries")
