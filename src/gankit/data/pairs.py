"""(source, target) pairs for image-to-image translation and enhancement.

A translation model learns G(source) ~ target. gankit makes its pairs in one of
three ways (``pair.kind``):

``degrade``
    The target is a real image, the source the same image degraded on the device,
    batch by batch: gankit.data.degrade makes these (``sr2``, ``sr4``, ``inpaint``,
    ``noise``, ``edges``, ``colorize``).

``aligned``
    Pairs of files in ``data.root`` (:func:`load_aligned`), in one of two formats
    (``pair.aligned``):

    - ``side-by-side`` (pix2pix): each file holds A | B, the source A in the left half
      and the target B in the right half, so its width must be even. The files are
      those of ``data.root/train/`` (``train`` split) or ``data.root/test/``
      (``test`` split; ``data.root/val/`` when there is no ``test/``); a root with none
      of these sub-folders is read whole, for either split.
    - ``folders``: the source in ``A/`` and the target in ``B/``, paired by file name
      (the relative path without its extension, so ``A/x.jpg`` pairs with ``B/x.png``).
      The folders looked for, in order: ``data.root/<split>/A`` and ``.../B``;
      ``data.root/<split>A`` and ``data.root/<split>B`` (``trainA``, ``testA``; ``val``
      stands in for ``test`` as above); ``data.root/A`` and ``data.root/B``.

    Files are read as the ``imagefolder`` dataset reads them (sub-folders included,
    names starting with "." skipped, each half centre-cropped and resized to
    ``data.resolution``); unreadable files are skipped with one warning that counts them.

``unpaired``
    Two independent datasets, one per domain (:func:`load_unpaired`): domain A is
    ``data`` and domain B is ``pair.dataset_b`` (read from ``pair.root_b``), e.g. MNIST
    and Fashion-MNIST; or, with ``data.dataset: imagefolder`` and no ``pair.dataset_b``,
    the CycleGAN layout ``data.root/trainA`` and ``data.root/trainB`` (``testA`` and
    ``testB`` for the test split). The domains may differ in size and channels, not in
    resolution.

Channels: as for degraded pairs (gankit.data.degrade), ``pair.source_channels`` and
``pair.target_channels`` convert each side. docs/translation-data.md gives every definition in full.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from gankit.config import DataConfig, PairConfig
from gankit.data import imagefolder
from gankit.data.datasets import ImageDataset, load_dataset
from gankit.data.degrade import to_channels
from gankit.errors import ConfigError, DataError
from gankit.registry import DATASETS

# ---------------------------------------------------------------------------
# constants
# ---------------------------------------------------------------------------

ALIGNED_SPLIT_FOLDERS = {"train": ("train",), "test": ("test", "val")}  # split -> sub-folder names, in order
_NAMES_SHOWN = 5  # how many mismatched file names an error lists
PROGRESS_MIN_FILES = imagefolder.PROGRESS_MIN_FILES


# ---------------------------------------------------------------------------
# aligned pairs from files
# ---------------------------------------------------------------------------


def _root(data: DataConfig, what: str) -> Path:
    if data.root is None:
        raise ConfigError(f"{what} pairs are read from a folder: pass --data-root DIR (data.root)")
    root = Path(data.root).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: no such folder (data.root must hold the {what} images)")
    return root


def _split_names(split: str) -> tuple[str, ...]:
    if split not in ALIGNED_SPLIT_FOLDERS:
        raise ConfigError(f"unknown split {split!r}; choose one of: {', '.join(ALIGNED_SPLIT_FOLDERS)}")
    return ALIGNED_SPLIT_FOLDERS[split]


def side_by_side_folder(root: Path, split: str) -> Path:
    """The folder of ``split``'s side-by-side files: root/train, root/test (else root/val), or
    root itself when it has none of these sub-folders."""
    names = _split_names(split)
    for name in names:
        if (root / name).is_dir():
            return root / name
    present = [n for n in ("train", "test", "val") if (root / n).is_dir()]
    if present:
        raise DataError(f"{root}: no {' or '.join(n + '/' for n in names)} folder for the {split} split (found "
                        f"{', '.join(n + '/' for n in present)}); add it, or choose --split "
                        f"{'train' if split == 'test' else 'test'}")
    return root


def ab_folders(root: Path, split: str) -> tuple[Path, Path]:
    """The (A, B) folders of ``split``: root/<split>/A and B, root/<split>A and <split>B, else root/A and B."""
    candidates = []
    for name in _split_names(split):
        candidates += [(root / name / "A", root / name / "B"), (root / f"{name}A", root / f"{name}B")]
    candidates.append((root / "A", root / "B"))
    for a, b in candidates:
        if a.is_dir() and b.is_dir():
            return a, b
    looked = ", ".join(f"{a.relative_to(root)}/ + {b.relative_to(root)}/" for a, b in candidates)
    raise DataError(f"{root}: no pair of folders for aligned pairs (pair.aligned=folders); looked for {looked}")


def load_aligned(data: DataConfig, pair: PairConfig, split: str, device: str | torch.device = "cpu") -> ImageDataset:
    """Aligned (source, target) pairs from the files in data.root, as ``pair.aligned`` lays them out.

    Returns an ImageDataset whose ``images`` are the targets uint8 [N, Ct, R, R] and
    ``sources`` the sources uint8 [N, Cs, R, R] (R = data.resolution; Cs, Ct =
    pair.source_channels, pair.target_channels, else data.channels), unlabelled.
    """
    root = _root(data, "aligned")
    src_channels = pair.source_channels or data.channels
    tgt_channels = pair.target_channels or data.channels
    if pair.aligned == "folders":
        folder, sources, targets = _load_ab(root, split, data.resolution, src_channels, tgt_channels)
    else:
        folder = side_by_side_folder(root, split)
        sources, targets = _load_side_by_side(folder, data.resolution, src_channels, tgt_channels)
    return ImageDataset(
        name="aligned",
        split=split,
        images=torch.from_numpy(targets).to(device),  # uint8 [N, Ct, R, R]
        labels=torch.zeros(len(targets), dtype=torch.int64, device=device),
        num_classes=0,
        class_names=(),
        source=str(folder),
        sources=torch.from_numpy(sources).to(device),  # uint8 [N, Cs, R, R]
    )


def load_halves(path: Path, resolution: int, src_channels: int, tgt_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """The left (source) and right (target) halves of a side-by-side file, each uint8 [C, R, R].

    An odd width is a DataError; anything else that goes wrong raises what Pillow raises.
    """
    image = imagefolder.decode(path)  # as imagefolder reads files: bombs refused, truncated data fails here
    w, h = image.size
    if w % 2:
        raise DataError(f"{path}: width {w} is odd, so it cannot be split into A | B halves; side-by-side "
                        "files (pair.aligned=side-by-side) hold two images of equal width")
    half = w // 2
    source = imagefolder.to_array(image.crop((0, 0, half, h)), resolution, src_channels)
    target = imagefolder.to_array(image.crop((half, 0, w, h)), resolution, tgt_channels)
    return source, target


def _load_side_by_side(folder: Path, resolution: int, src_channels: int,
                       tgt_channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Sources uint8 [N, Cs, R, R] and targets uint8 [N, Ct, R, R] of every readable file in ``folder``."""
    files = imagefolder.list_images(folder)
    if not files:
        raise DataError(f"{folder}: no image files ({', '.join(imagefolder.SUFFIXES)}) for side-by-side pairs")
    sources = np.empty((len(files), src_channels, resolution, resolution), dtype=np.uint8)
    targets = np.empty((len(files), tgt_channels, resolution, resolution), dtype=np.uint8)
    failed: dict[Path, str] = {}
    count = 0
    bar = tqdm(files, desc="pairs", unit="file", file=sys.stderr, leave=False,
               disable=None if len(files) >= PROGRESS_MIN_FILES else True)
    for path in bar:
        try:
            sources[count], targets[count] = load_halves(path, resolution, src_channels, tgt_channels)
        except DataError:
            raise
        except Exception as e:  # a broken file: skipped and counted, as imagefolder does
            failed[path] = f"{type(e).__name__}: {e}"
        else:
            count += 1
    _check_loaded(folder, len(files), count, failed)
    return sources[:count], targets[:count]


def _check_loaded(folder: Path, total: int, count: int, failed: dict[Path, str]) -> None:
    """No usable pair is an error; some broken files one warning."""
    if not count:
        first = next(iter(failed.values()))
        raise DataError(f"{folder}: none of the {total} image files gives a readable pair (first reason: {first})")
    if failed:
        imagefolder.warn_skipped(folder, total, failed)


def _pair_key(folder: Path, path: Path) -> tuple[str, ...]:
    """What pairs a file of A/ with one of B/: its relative path without the extension."""
    return path.relative_to(folder).with_suffix("").parts


def _keyed(folder: Path) -> dict[tuple[str, ...], Path]:
    files = imagefolder.list_images(folder)
    if not files:
        raise DataError(f"{folder}: no image files ({', '.join(imagefolder.SUFFIXES)}) for aligned pairs")
    keyed: dict[tuple[str, ...], Path] = {}
    for path in files:
        key = _pair_key(folder, path)
        if key in keyed:
            raise DataError(f"{folder}: {keyed[key].name} and {path.name} have the same name; keep one, so each "
                            "file of A/ has one partner in B/")
        keyed[key] = path
    return keyed


def _check_names(a: Path, b: Path, in_a: dict[tuple[str, ...], Path], in_b: dict[tuple[str, ...], Path]) -> None:
    """Every file of A/ must have a partner in B/ and the other way round; else name a few that do not."""
    only_a = sorted(set(in_a) - set(in_b))
    only_b = sorted(set(in_b) - set(in_a))
    parts = []
    for folder, other, keys, files in ((a, b, only_a, in_a), (b, a, only_b, in_b)):
        if keys:
            shown = ", ".join(str(files[k].relative_to(folder)) for k in keys[:_NAMES_SHOWN])
            more = f" and {len(keys) - _NAMES_SHOWN} more" if len(keys) > _NAMES_SHOWN else ""
            parts.append(f"{len(keys)} file(s) of {folder} have no partner in {other.name}/ ({shown}{more})")
    if parts:
        raise DataError("; ".join(parts) + "; aligned folders need files of matching names (extensions may differ)")


def _load_ab(root: Path, split: str, resolution: int, src_channels: int,
             tgt_channels: int) -> tuple[Path, np.ndarray, np.ndarray]:
    """The pairs of the A/ and B/ folders of ``split``: (their parent, sources, targets)."""
    a, b = ab_folders(root, split)
    in_a, in_b = _keyed(a), _keyed(b)
    _check_names(a, b, in_a, in_b)
    keys = sorted(in_a)
    sources, kept_a, failed_a = imagefolder.load_all([in_a[k] for k in keys], resolution, src_channels)
    targets, kept_b, failed_b = imagefolder.load_all([in_b[k] for k in keys], resolution, tgt_channels)
    # load_all compacts what it could read; map each pair to its rows, keep those whose two files read
    kept_a, kept_b = np.array(kept_a), np.array(kept_b)
    row_a, row_b = np.cumsum(kept_a) - 1, np.cumsum(kept_b) - 1
    both = kept_a & kept_b
    parent = a.parent
    _check_loaded(parent, 2 * len(keys), int(both.sum()), {**failed_a, **failed_b})
    return parent, sources[row_a[both]], targets[row_b[both]]


# ---------------------------------------------------------------------------
# unpaired domains
# ---------------------------------------------------------------------------

CYCLEGAN_FOLDERS = {"train": ("trainA", "trainB"), "test": ("testA", "testB")}  # split -> (domain A, domain B)


def load_unpaired(data: DataConfig, pair: PairConfig, split: str,
                  device: str | torch.device = "cpu") -> tuple[ImageDataset, ImageDataset]:
    """The two domains of unpaired translation, each an ImageDataset on ``device``.

    Domain A is ``data`` and domain B ``pair.dataset_b`` (from ``pair.root_b``); or,
    with data.dataset imagefolder and no pair.dataset_b, the folders
    data.root/trainA and data.root/trainB (testA, testB for the test split).
    Sizes and channels may differ; resolutions may not.
    """
    if pair.dataset_b is None:
        a, b = _load_cyclegan_folders(data, split, pair, device)
        name_a, name_b = a.source, b.source
    else:
        if pair.dataset_b not in DATASETS:
            raise ConfigError(f"config key pair.dataset_b={pair.dataset_b!r}: must be one of: "
                              f"{', '.join(DATASETS.names())} (gankit list datasets)")
        a = load_dataset(data, split, device, **_channel_option(data.dataset, pair.source_channels))
        b = load_dataset(data, split, device, dataset=pair.dataset_b, root=pair.root_b,
                         **_channel_option(pair.dataset_b, pair.target_channels))
        name_a, name_b = f"data.dataset={data.dataset}", f"pair.dataset_b={pair.dataset_b}"
    for ds, name in ((a, name_a), (b, name_b)):
        if ds.kind != "image":
            raise ConfigError(f"{name} holds {ds.kind}, not images; unpaired translation needs two image datasets")
    if a.shape[1:] != b.shape[1:]:
        raise ConfigError(f"unpaired domains differ in resolution: {name_a} is {a.shape[1]}x{a.shape[2]}, {name_b} is "
                          f"{b.shape[1]}x{b.shape[2]}; use datasets of one size (data.resolution sets a folder's)")
    return _with_channels(a, pair.source_channels), _with_channels(b, pair.target_channels)


def _channel_option(dataset: str, channels: int | None) -> dict[str, int]:
    """A folder of images is decoded straight to the wanted channels (others are converted after)."""
    return {"channels": channels} if dataset == "imagefolder" and channels is not None else {}


def _with_channels(ds: ImageDataset, channels: int | None) -> ImageDataset:
    if channels is None or ds.images.shape[1] == channels:
        return ds
    return dataclasses.replace(ds, images=to_channels(ds.images, channels))


def _load_cyclegan_folders(data: DataConfig, split: str, pair: PairConfig,
                           device: str | torch.device) -> tuple[ImageDataset, ImageDataset]:
    """Domains A and B from data.root/<split>A and data.root/<split>B (the CycleGAN layout)."""
    if data.dataset != "imagefolder":
        raise ConfigError(f"config key pair.dataset_b is null: name domain B's dataset (e.g. --set "
                          f"pair.dataset_b=fashion-mnist), or use data.dataset=imagefolder (not {data.dataset}) with "
                          "data.root holding trainA/ and trainB/")
    root = _root(data, "unpaired")
    if split not in CYCLEGAN_FOLDERS:
        raise ConfigError(f"unknown split {split!r}; choose one of: {', '.join(CYCLEGAN_FOLDERS)}")
    domains = []
    for name, channels in zip(CYCLEGAN_FOLDERS[split], (pair.source_channels, pair.target_channels)):
        folder = root / name
        if not folder.is_dir():
            raise DataError(f"{folder}: no such folder; unpaired folders (pair.kind=unpaired, no pair.dataset_b) "
                            f"are {root}/{CYCLEGAN_FOLDERS[split][0]} and {CYCLEGAN_FOLDERS[split][1]} for the "
                            f"{split} split")
        domains.append(load_dataset(data, split, device, root=str(folder), **_channel_option("imagefolder", channels)))
    return domains[0], domains[1]
