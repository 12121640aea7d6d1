"""Where a dataset's files come from.

A split's files are looked for, in this order:

1. the data root: the ``root`` argument (``--data-root``), else ``$GANKIT_DATA``;
   either ``ROOT/<dataset>/`` or ``ROOT/`` itself;
2. the user cache, ``cache_dir()/<dataset>``;
3. the copy embedded in the package, for datasets that ship one (MNIST), verified
   by the sha256 of its content when read;
4. system copies named by the dataset (e.g. Debian's ``dataset-fashion-mnist``);
5. a download from the dataset's mirrors into the cache, when allowed.

All files of a split must come from one folder, so a dataset never mixes copies.
In each folder a file may be gzip-compressed (``name.gz``) or raw (``name``), and
the common dotted spelling (``t10k-images.idx3-ubyte``) is accepted too.

Local files are not checksummed on every load (hashing 47 MB each time is slow);
the IDX reader validates them structurally instead. Downloads are checksummed,
and written atomically, so a broken or interrupted download never looks complete.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from gankit.atomic import fsync_dir
from gankit.errors import DataError

DATA_ROOT_ENV = "GANKIT_DATA"
EMBEDDED = "embedded copy"  # the place label of data shipped inside the package
DOWNLOAD_TIMEOUT_S = 30.0
_CHUNK = 1 << 16
_USER_AGENT = "gankit (python urllib)"  # some mirrors refuse urllib's default agent

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Checksum:
    """What a downloaded ``.gz`` file is checked against; either match accepts it.

    ``md5_gz`` is the md5 of the canonical mirrors' compressed bytes. ``sha256`` is
    the sha256 of the decompressed content, which also accepts copies that were
    re-compressed (different gzip bytes, same data).
    """

    md5_gz: str | None = None
    sha256: str | None = None
    # For files that are not gzip (e.g. network weights): the start of the sha256 of
    # the downloaded bytes, as torch hub names files "<name>-<sha256 prefix>.pth".
    file_sha256_prefix: str | None = None


@dataclass(frozen=True)
class Located:
    """A split's files, all in one folder."""

    directory: Path
    files: dict[str, Path]  # base name (e.g. "t10k-images-idx3-ubyte") -> the file found
    place: str  # how the folder was found: "data root", "cache", EMBEDDED, "system copy", "download"


def cache_dir() -> Path:
    """gankit's user cache: ``$XDG_CACHE_HOME/gankit``, else ``~/.cache/gankit``."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "gankit"


def file_variants(name: str) -> tuple[str, ...]:
    """The file names under which ``name`` is accepted, in order of preference."""
    dotted = name.replace("-idx", ".idx", 1)
    variants = [name + ".gz", name, dotted + ".gz", dotted]
    return tuple(dict.fromkeys(variants))  # drop duplicates, keep the order


def find_in_dir(directory: Path, names: Sequence[str]) -> tuple[dict[str, Path] | None, str]:
    """Find every file of ``names`` in ``directory``.

    Returns the files found (or None unless all are there) and, when not all are
    there, a short reason for the "looked in" list of the final error.
    """
    if not directory.is_dir():
        return None, "no such folder"
    found: dict[str, Path] = {}
    for name in names:
        for variant in file_variants(name):
            if (directory / variant).is_file():
                found[name] = directory / variant
                break
    missing = [n for n in names if n not in found]
    if not missing:
        return found, ""
    if not found:
        return None, "none of the files"
    return None, "missing " + ", ".join(f"{n}(.gz)" for n in missing)


def locate(
    dataset: str,
    names: Sequence[str],
    *,
    root: PathLike | None = None,
    system_dirs: Sequence[PathLike] = (),
    embedded: PathLike | None = None,
    mirrors: Sequence[str] = (),
    checksums: Mapping[str, Checksum] | None = None,
    download: bool = True,
    hint: str = "",
    what: str | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> Located:
    """Find the files ``names`` (base names, without ``.gz``) of ``dataset``.

    Searches the places in the module's order and downloads missing files into the
    cache as a last resort. If no place has them, raises ONE DataError listing each
    place looked at (and each URL tried, with its failure) and how to supply the
    files; ``hint`` is appended to it, ``what`` names the files in it (e.g.
    "mnist train split").
    """
    looked: list[str] = []
    if root is None and not os.environ.get(DATA_ROOT_ENV):
        looked.append(f"data root: none given (--data-root DIR or ${DATA_ROOT_ENV})")
    for place, directory in local_places(dataset, root, system_dirs, embedded):
        files, why = find_in_dir(directory, names)
        if files is not None:
            return Located(directory, files, place)
        looked.append(f"{place} {directory}: {why}")

    target = cache_dir() / dataset
    if not download:
        looked.append("download: not tried (downloads are turned off)")
    elif not mirrors:
        looked.append(f"download: {dataset} has no download mirrors")
    else:
        failure = _download_missing(names, mirrors, target, checksums or {}, timeout)
        if failure is None:
            files, why = find_in_dir(target, names)
            if files is None:  # only if something deleted the files meanwhile
                raise DataError(f"{target}: downloaded files vanished ({why}); run again")
            return Located(target, files, "download")
        looked.append(failure)

    raise DataError(_not_found_message(what or dataset, names, looked, mirrors, target, hint))


def local_places(dataset: str, root: PathLike | None, system_dirs: Sequence[PathLike],
                 embedded: PathLike | None = None) -> list[tuple[str, Path]]:
    """The local folders to search, in order, each with a label for messages."""
    places: list[tuple[str, Path]] = []
    label = "data root"
    if root is None and os.environ.get(DATA_ROOT_ENV):
        root, label = os.environ[DATA_ROOT_ENV], f"data root (${DATA_ROOT_ENV})"
    if root is not None:
        base = Path(root).expanduser()
        # The dataset's subfolder first: a root holding several datasets may also
        # hold another dataset's files (same names) directly.
        places += [(label, base / dataset), (label, base)]
    places.append(("cache", cache_dir() / dataset))
    if embedded is not None:
        places.append((EMBEDDED, Path(embedded)))
    places += [("system copy", Path(d)) for d in system_dirs]
    return places


def _download_missing(
    names: Sequence[str],
    mirrors: Sequence[str],
    target: Path,
    checksums: Mapping[str, Checksum],
    timeout: float,
) -> str | None:
    """Download the files of ``names`` that the cache folder lacks; None on success.

    On failure returns the "looked in" entry: the file and every URL with its reason.
    """
    for name in names:
        if find_in_dir(target, [name])[0] is not None:
            continue  # an earlier, partial download left this one
        try:
            download(name + ".gz", mirrors, target, checksums.get(name), timeout=timeout)
        except _MirrorsExhaustedError as e:
            tried = "".join(f"\n      {url}: {reason}" for url, reason in e.failures)
            return f"download of {name}.gz into {target} failed:{tried}"
    return None


def _not_found_message(
    what: str, names: Sequence[str], looked: list[str], mirrors: Sequence[str], target: Path, hint: str
) -> str:
    lines = [f"cannot find the {what} ({', '.join(names)}); looked in:"]
    lines += [f"  - {entry}" for entry in looked]
    files = ", ".join(n + ".gz" for n in names)
    source = f" from {mirrors[0]}" if mirrors else ""
    lines.append(
        f"To fix: download {files}{source} into {target}, or pass --data-root DIR "
        f"(or set {DATA_ROOT_ENV}=DIR) for a folder that holds them, gzip-compressed or not."
    )
    if hint:
        lines.append(hint)
    return "\n".join(lines)


# --- download ---------------------------------------------------------------


class _MirrorError(Exception):
    """One mirror could not deliver a verified file; the message is the reason."""


class _MirrorsExhaustedError(DataError):
    """Every mirror failed; keeps the (url, reason) pairs for the caller's message."""

    def __init__(self, message: str, failures: list[tuple[str, str]]):
        super().__init__(message)
        self.failures = failures


def download(
    name: str,
    mirrors: Sequence[str],
    dest_dir: PathLike,
    checksum: Checksum | None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> Path:
    """Download ``name`` from the first mirror that serves it intact into ``dest_dir/name``.

    Each mirror is tried in turn (URL = mirror + name). The bytes go into a temp
    file next to the destination, are verified against ``checksum``, fsynced and
    only then renamed to the final name, so an interrupted or bad download never
    looks complete; temp files are removed on every failure. A mirror that is down,
    answers with an HTTP error, times out or serves bytes that fail verification is
    skipped; when all fail, raises a DataError listing every URL and its reason.
    """
    if checksum is None or not (checksum.md5_gz or checksum.sha256 or checksum.file_sha256_prefix):
        raise ValueError(f"no checksum for {name}: downloads must be verified")
    if not mirrors:
        raise ValueError(f"no mirrors to download {name} from")
    dest_dir = Path(dest_dir)
    created = not dest_dir.exists()
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{dest_dir}: cannot create the download folder ({e.strerror or e})") from None

    failures: list[tuple[str, str]] = []
    for mirror in mirrors:
        url = mirror + name
        try:
            return _download_one(url, dest_dir / name, checksum, timeout)
        except _MirrorError as e:
            failures.append((url, str(e)))
    if created:
        _remove_if_empty(dest_dir)  # leave no empty cache folder behind a failed download
    tried = "".join(f"\n  {url}: {reason}" for url, reason in failures)
    raise _MirrorsExhaustedError(f"cannot download {name}; every mirror failed:{tried}", failures)


def _download_one(url: str, final: Path, checksum: Checksum, timeout: float) -> Path:
    """Fetch ``url`` into a temp file beside ``final``, verify it, then move it into place."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    except OSError as e:
        raise DataError(f"{final.parent}: cannot create a temp file ({e.strerror or e})") from None
    tmp = Path(tmp_name)
    done = False
    try:
        with os.fdopen(fd, "wb") as out:
            md5, sha256 = _fetch(url, out, tmp, timeout)
            out.flush()
            os.fsync(out.fileno())
        problem = _verify(tmp, md5, sha256, checksum)
        if problem:
            raise _MirrorError(problem)
        os.replace(tmp, final)
        done = True
        fsync_dir(final.parent)
        return final
    finally:
        # Also runs on KeyboardInterrupt, so an interrupted download leaves nothing behind.
        if not done:
            tmp.unlink(missing_ok=True)


def _fetch(url: str, out: BinaryIO, tmp: Path, timeout: float) -> tuple[str, str]:
    """Stream ``url`` into ``out`` with a progress bar; return the md5 and sha256 of the bytes.

    Network faults become _MirrorError (try the next mirror); a local write fault
    is a DataError, since no other mirror would fix it.
    """
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    received = 0
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            name = url.rsplit("/", 1)[-1]
            # disable=None: the bar only shows when stderr is a terminal.
            with tqdm(
                total=total,
                desc=name,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                disable=None,
                leave=False,
            ) as bar:
                while chunk := response.read(_CHUNK):
                    _write(out, chunk, tmp)
                    md5.update(chunk)
                    sha256.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        raise _MirrorError(f"HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise _MirrorError(_describe_network_error(e.reason, timeout)) from None
    except (OSError, http.client.HTTPException, ValueError) as e:
        raise _MirrorError(_describe_network_error(e, timeout)) from None
    # http.client returns a short body without complaint when the server hangs up early.
    if total is not None and received != total:
        raise _MirrorError(f"connection closed after {received} of {total} bytes")
    return md5.hexdigest(), sha256.hexdigest()


def _write(out: BinaryIO, chunk: bytes, tmp: Path) -> None:
    try:
        out.write(chunk)
    except OSError as e:
        raise DataError(f"{tmp}: cannot write the download ({e.strerror or e})") from None


def _describe_network_error(error: object, timeout: float) -> str:
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror  # e.g. "Connection refused", "Name or service not known"
    return str(error) or type(error).__name__


def _verify(path: Path, md5_gz: str, file_sha256: str, checksum: Checksum) -> str:
    """Return why the downloaded ``path`` is not acceptable, or "" if it is.

    The md5 of the compressed bytes is the quick check; only when it differs is the
    content decompressed and its sha256 compared, which accepts re-compressed copies.
    """
    if checksum.md5_gz and md5_gz == checksum.md5_gz:
        return ""
    if checksum.file_sha256_prefix:
        if file_sha256.startswith(checksum.file_sha256_prefix):
            return ""
        return f"checksum mismatch: sha256 is {file_sha256}, expected it to start with {checksum.file_sha256_prefix}"
    md5_fault = f"md5 of the .gz is {md5_gz}, expected {checksum.md5_gz}" if checksum.md5_gz else ""
    if not checksum.sha256:
        return f"checksum mismatch: {md5_fault}"
    sha256 = _content_sha256(path)
    if sha256 == checksum.sha256:
        return ""
    if sha256 is None:
        with open(path, "rb") as f:
            head = f.read(4)
        content_fault = f"not a valid gzip file (starts with {head!r})"
    else:
        content_fault = f"sha256 of the content is {sha256}, expected {checksum.sha256}"
    return "checksum mismatch: " + "; ".join(filter(None, [md5_fault, content_fault]))


def _content_sha256(path: Path) -> str | None:
    """The sha256 of the decompressed content, or None if ``path`` is not valid gzip."""
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    except (EOFError, OSError, zlib.error):
        return None
    return digest.hexdigest()


def _remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not empty, or already gone
        directory.rmdir()
