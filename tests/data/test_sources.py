"""Where files come from: search order, and downloads from a real local HTTP server."""

from __future__ import annotations

import dataclasses
import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gankit.data import datasets, load_dataset, sources
from gankit.data.sources import Checksum, cache_dir, download, locate
from gankit.errors import DataError
from tests.mirror import MirrorServer

LABELS = "t10k-labels-idx1-ubyte"
IMAGES = "t10k-images-idx3-ubyte"
MNIST_CHECKSUMS = datasets.SPECS["mnist"].checksums


@pytest.fixture
def server(mnist_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MirrorServer]:
    for var in ("no_proxy", "NO_PROXY"):  # a proxy set in the environment must not intercept localhost
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    mirror = MirrorServer(mnist_root)
    yield mirror
    mirror.stop()


def down_mirror() -> str:
    """A URL on a port nobody listens on, so connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# --- download -----------------------------------------------------------------


@pytest.mark.parametrize("name", [LABELS, "train-labels-idx1-ubyte", "train-images-idx3-ubyte"])
def test_working_mirror_downloads_recompressed_file_by_content_checksum(
    server: MirrorServer, mnist_root: Path, tmp_path: Path, name: str
) -> None:
    served = mnist_root / f"{name}.gz"
    checksum = MNIST_CHECKSUMS[name]
    assert md5(served) != checksum.md5_gz  # the shipped copy is recompressed: md5 alone would reject it

    path = download(f"{name}.gz", [server.url("good")], tmp_path / "dest", checksum)

    assert path == tmp_path / "dest" / f"{name}.gz"
    assert path.read_bytes() == served.read_bytes()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp file left


def test_canonical_md5_alone_accepts(server: MirrorServer, mnist_root: Path, tmp_path: Path) -> None:
    served = mnist_root / f"{LABELS}.gz"
    path = download(served.name, [server.url("good")], tmp_path, Checksum(md5_gz=md5(served)))
    assert path.read_bytes() == served.read_bytes()


def test_md5_mismatch_without_content_hash_rejects(server: MirrorServer, tmp_path: Path) -> None:
    checksum = Checksum(md5_gz="0" * 32)
    with pytest.raises(DataError, match=r"md5 of the \.gz is [0-9a-f]{32}, expected 0{32}"):
        download(f"{LABELS}.gz", [server.url("good")], tmp_path, checksum)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_mirrors_are_skipped_for_the_next(server: MirrorServer, mnist_root: Path, tmp_path: Path) -> None:
    mirrors = [server.url("html"), server.url("wrongdata"), server.url("good")]
    path = download(f"{LABELS}.gz", mirrors, tmp_path, MNIST_CHECKSUMS[LABELS])
    assert path.read_bytes() == (mnist_root / f"{LABELS}.gz").read_bytes()
    assert server.hits == [f"/{route}/{LABELS}.gz" for route in ("html", "wrongdata", "good")]


def test_slow_mirror_times_out_and_the_next_is_used(server: MirrorServer, tmp_path: Path) -> None:
    mirrors = [server.url("slow"), server.url("good")]
    path = download(f"{LABELS}.gz", mirrors, tmp_path, MNIST_CHECKSUMS[LABELS], timeout=0.2)
    assert path.is_file()
    assert [h.split("/")[1] for h in server.hits] == ["slow", "good"]


def test_all_mirrors_failing_lists_every_url_and_leaves_nothing(server: MirrorServer, tmp_path: Path) -> None:
    refused = down_mirror()
    failing = {
        refused: "Connection refused",
        server.url("missing"): "HTTP 404",
        server.url("error"): "HTTP 500",
        server.url("html"): "not a valid gzip file (starts with b'<htm')",
        server.url("wrongdata"): "sha256 of the content is",
        server.url("short"): "connection closed after",
        server.url("slow"): "timed out after 0.2 s",
    }
    dest = tmp_path / "dest"
    dest.mkdir()

    with pytest.raises(DataError) as info:
        download(f"{LABELS}.gz", list(failing), dest, MNIST_CHECKSUMS[LABELS], timeout=0.2)

    lines = str(info.value).splitlines()
    assert f"{LABELS}.gz" in lines[0]
    for (mirror, reason), line in zip(failing.items(), lines[1:], strict=True):
        assert line.strip().startswith(f"{mirror}{LABELS}.gz: "), line
        assert reason in line, line
    assert list(dest.iterdir()) == []  # neither the final file nor a temp file


def test_interrupted_download_leaves_no_file(
    server: MirrorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = sources._write
    calls = 0

    def interrupt_after_first_chunk(*args: object) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise KeyboardInterrupt
        real_write(*args)

    monkeypatch.setattr(sources, "_write", interrupt_after_first_chunk)
    with pytest.raises(KeyboardInterrupt):
        download(f"{IMAGES}.gz", [server.url("good")], tmp_path, MNIST_CHECKSUMS[IMAGES])
    assert calls == 2
    assert list(tmp_path.iterdir()) == []


# --- search order -------------------------------------------------------------

NAMES = [IMAGES, LABELS]


def fill(directory: Path, names: list[str] = NAMES, suffix: str = ".gz") -> Path:
    """Put placeholder files in ``directory``; locate only checks that files exist."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / (name + suffix)).write_bytes(b"placeholder")
    return directory


def find(root: Path | None = None, system: Path | None = None) -> sources.Located:
    return locate("mnist", NAMES, root=root, system_dirs=[system] if system else [], download=False)


def test_root_beats_cache_beats_system(tmp_path: Path) -> None:
    root, cache, system = fill(tmp_path / "root"), fill(cache_dir() / "mnist"), fill(tmp_path / "system")

    assert (find(root, system).directory, find(root, system).place) == (root, "data root")
    for f in root.iterdir():
        f.unlink()
    assert (find(root, system).directory, find(root, system).place) == (cache, "cache")
    for f in cache.iterdir():
        f.unlink()
    assert (find(root, system).directory, find(root, system).place) == (system, "system copy")


def test_dataset_subfolder_of_root_is_preferred(tmp_path: Path) -> None:
    fill(tmp_path)  # e.g. another dataset's files, directly in the root
    sub = fill(tmp_path / "mnist")
    assert find(tmp_path).directory == sub
    assert find(tmp_path).files[IMAGES] == sub / f"{IMAGES}.gz"


def test_gankit_data_is_the_root_unless_one_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_env, explicit = fill(tmp_path / "env"), fill(tmp_path / "explicit")
    fill(cache_dir() / "mnist")
    monkeypatch.setenv("GANKIT_DATA", str(from_env))
    assert find().directory == from_env
    assert find(explicit).directory == explicit


@pytest.mark.parametrize("spelling", ["raw", "dotted", "dotted.gz"])
def test_raw_and_dotted_names_are_accepted(tmp_path: Path, spelling: str) -> None:
    names = {
        "raw": ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
        "dotted": ["t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"],
        "dotted.gz": ["t10k-images.idx3-ubyte.gz", "t10k-labels.idx1-ubyte.gz"],
    }[spelling]
    fill(tmp_path, names, suffix="")
    found = find(tmp_path)
    assert sorted(p.name for p in found.files.values()) == sorted(names)


def test_a_split_is_never_mixed_from_two_folders(tmp_path: Path) -> None:
    root = fill(tmp_path / "root", [IMAGES])  # labels missing here
    cache = fill(cache_dir() / "mnist")
    found = find(root)
    assert found.directory == cache and set(found.files.values()) == {cache / f"{n}.gz" for n in NAMES}


def test_nothing_anywhere_lists_every_place(tmp_path: Path) -> None:
    root = fill(tmp_path / "root", [IMAGES])
    system = tmp_path / "system"
    with pytest.raises(DataError) as info:
        find(root, system)
    message = str(info.value)
    for expected in (
        f"data root {root / 'mnist'}: no such folder",
        f"data root {root}: missing {LABELS}(.gz)",
        f"cache {cache_dir() / 'mnist'}: no such folder",
        f"system copy {system}: no such folder",
        "download: not tried",
        f"into {cache_dir() / 'mnist'}",
        "--data-root DIR",
    ):
        assert expected in message, message


# --- a whole dataset, downloaded ----------------------------------------------


@pytest.fixture
def mnist_from(monkeypatch: pytest.MonkeyPatch) -> object:
    """Point the mnist spec's mirrors at the given URLs, for this test only, as on an
    installation whose embedded copy is gone (else no download would be needed)."""

    def point(*mirrors: str) -> None:
        spec = dataclasses.replace(datasets.SPECS["mnist"], mirrors=tuple(mirrors), embedded=None)
        monkeypatch.setitem(datasets.SPECS, "mnist", spec)

    return point


def test_load_dataset_downloads_into_the_cache_once(server: MirrorServer, mnist_from) -> None:
    mnist_from(down_mirror(), server.url("html"), server.url("good"))

    first = load_dataset("mnist", split="test", download=True)

    target = cache_dir() / "mnist"
    assert first.source == str(target)
    assert sorted(p.name for p in target.iterdir()) == [f"{IMAGES}.gz", f"{LABELS}.gz"]
    assert first.images.shape == (10000, 1, 28, 28)
    hits = len(server.hits)
    server.stop()  # a second load must not need the network

    second = load_dataset("mnist", split="test", download=True)
    assert second.source == str(target) and len(server.hits) == hits
    assert (second.labels == first.labels).all()


def test_load_dataset_when_every_mirror_fails(server: MirrorServer, mnist_from) -> None:
    refused = down_mirror()
    mnist_from(refused, server.url("missing"))
    with pytest.raises(DataError) as info:
        load_dataset("mnist", split="train")
    message = str(info.value)
    for expected in (
        "cannot find the mnist train split",
        "data root: none given",
        f"cache {cache_dir() / 'mnist'}: no such folder",
        f"{refused}train-images-idx3-ubyte.gz: Connection refused",
        f"{server.url('missing')}train-images-idx3-ubyte.gz: HTTP 404",
        "reinstall gankit, or supply the files with --data-root",
    ):
        assert expected in message, message
    assert not (cache_dir() / "mnist").exists()
