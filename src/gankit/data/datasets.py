"""Datasets: one split as tensors on a device, and how a split is loaded.

Every dataset is registered in :data:`~gankit.registry.DATASETS` by a builder
``builder(cfg: DataConfig, split, device) -> ImageDataset`` that reads the keys
of the data config section that concern it (e.g. ``root`` and ``download`` for
files, ``resolution`` for a folder of images, ``size`` for generated data) and
ignores the rest. :func:`load_dataset` is the one entry point. Downloadable
datasets also describe their files in a :class:`DatasetSpec`, kept in
:data:`SPECS` and looked up when a builder is called (not when it is
registered), so tests and tools can swap a spec, e.g. point its mirrors at a
local server, with ``monkeypatch.setitem``. Each spec lives beside its loader:
mnist.py (MNIST, Fashion-MNIST), cifar.py.

A loaded split is an :class:`ImageDataset`: the whole split as tensors on the
target device. Images stay uint8 and are scaled to [-1, 1] per batch, in
training, so the dataset stays 4x smaller than float32 and exact; 2-D toy data
("points") is float32 from the start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from gankit.config import DataConfig, section
from gankit.data import idx, sources
from gankit.data.sources import Checksum, PathLike
from gankit.errors import ConfigError, DataError
from gankit.registry import DATASETS

SPLITS = ("train", "test")
KINDS = ("image", "points")


@dataclass
class ImageDataset:
    """One split of a dataset, resident on a device.

    ``kind`` tells a trainer what ``images`` holds: "image" is uint8 [N, C, H, W]
    (scaled to [-1, 1] per batch), "points" is float32 [N, 2] used as is, for the
    2-D toy mixtures, which also carry their ``modes`` and ``mode_std`` so mode
    coverage can be measured against the mixture the data was drawn from.
    Unlabelled data has ``num_classes`` 0, no class names and all labels 0.
    """

    name: str
    split: str
    images: torch.Tensor = field(repr=False)  # uint8 [N, C, H, W], or float32 [N, 2] for kind "points"
    labels: torch.Tensor = field(repr=False)  # int64 [N]
    num_classes: int
    class_names: tuple[str, ...] = field(repr=False)  # stacked-mnist has 1000
    source: str  # where the data came from: a folder, an archive, or how it was generated
    kind: str = "image"
    modes: torch.Tensor | None = field(default=None, repr=False)  # float32 [M, 2]: centres of a toy mixture
    mode_std: float | None = None  # the standard deviation of each mixture component
    # aligned pairs (translation): uint8 [N, Cs, h, w], the source of each image; ``images`` are the targets
    sources: torch.Tensor | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"ImageDataset kind must be one of {', '.join(KINDS)}, got {self.kind!r}")

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of one sample: (C, H, W) for images, (2,) for points."""
        return tuple(self.images.shape[1:])


class SplitFiles(NamedTuple):
    """Base names (without ``.gz``) of a split's IDX files."""

    images: str
    labels: str


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, fetch, verify and describe one downloadable dataset."""

    name: str
    # The files of each split: SplitFiles for the IDX datasets; for CIFAR-10, the
    # batch members of its archive.
    splits: Mapping[str, tuple[str, ...]]
    mirrors: tuple[str, ...]  # URL prefixes; a file's URL is mirror + "<base name>.gz"
    checksums: Mapping[str, Checksum]  # base name -> expected checksums of the download
    system_dirs: tuple[str, ...]  # folders where system packages install the files
    class_names: tuple[str, ...]
    help: str  # one line, for `gankit list datasets`
    hint: str = ""  # appended to the error when the files are nowhere to be found
    embedded: Path | None = None  # the copy shipped inside the package, read after the cache


SPECS: dict[str, DatasetSpec] = {}  # name -> spec of each downloadable dataset, filled as modules register them


def register_spec(spec: DatasetSpec) -> DatasetSpec:
    """Record a downloadable dataset's spec; builders look it up in SPECS when called, not when registered."""
    SPECS[spec.name] = spec
    return spec


def load_dataset(data: DataConfig | str, split: str | None = None, device: str | torch.device = "cpu",
                 **options: Any) -> ImageDataset:
    """Load one split of a registered dataset onto ``device``.

    ``data`` is the data config section (``cfg.data``), or a dataset name with
    any of that section's keys as keyword ``options`` (``root=..., size=...``),
    which also override a section's values. The options are checked as the
    config checks them; each builder reads those that concern it. ``split``
    defaults to the section's. See :mod:`gankit.data.sources` for where files
    are looked for, and ``download`` for whether a missing split may be fetched.
    """
    values = {"dataset": data, **options} if isinstance(data, str) else {**dataclasses.asdict(data), **options}
    cfg = section(DataConfig, values, "data.")
    builder = DATASETS.get(cfg.dataset)
    return builder(cfg, split or cfg.split, device)


def where(name: str, root: PathLike | None = None) -> str:
    """Where dataset ``name`` would be read from now, without reading or downloading anything
    (``gankit list datasets``)."""
    return DATASETS.attrs(name)["where"](root)


def spec_where(spec: DatasetSpec, root: PathLike | None = None, split: str = "train") -> str:
    """The first local place holding ``split`` of a downloadable dataset, else its first mirror."""
    files = spec.splits[split]
    for place, directory in sources.local_places(spec.name, root, spec.system_dirs, spec.embedded):
        if sources.find_in_dir(directory, list(files))[0] is not None:
            return f"{place} {directory}"
    return f"a download from {spec.mirrors[0]} into {sources.cache_dir() / spec.name}"


def check_split(name: str, split: str, splits: Iterable[str] = SPLITS) -> None:
    """Stop an unknown split early, with the choices, before any file is touched."""
    splits = tuple(splits)
    if split not in splits:
        raise ConfigError(f"unknown split {split!r} for dataset {name}; choose one of: {', '.join(splits)}")


def read_idx_split(
    spec: DatasetSpec,
    split: str = "train",
    root: PathLike | None = None,
    download: bool = True,
    device: str | torch.device = "cpu",
) -> ImageDataset:
    """Find, read and check the IDX files of ``spec``'s ``split``, and put them on ``device``."""
    check_split(spec.name, split, spec.splits)
    files = spec.splits[split]
    assert isinstance(files, SplitFiles), f"{spec.name} is not an IDX dataset"
    found = sources.locate(
        spec.name,
        files,
        root=root,
        system_dirs=spec.system_dirs,
        embedded=spec.embedded,
        mirrors=spec.mirrors,
        checksums=spec.checksums,
        download=download,
        hint=spec.hint,
        what=f"{spec.name} {split} split",
    )
    images_path, labels_path = found.files[files.images], found.files[files.labels]
    # a shipped copy is checked against its content hash; other local files structurally only
    verify = found.place == sources.EMBEDDED
    images = idx.read_images(images_path, spec.checksums[files.images].sha256 if verify else None)
    labels = idx.read_labels(labels_path, spec.checksums[files.labels].sha256 if verify else None)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels; "
            "the two files must come from the same split"
        )
    check_labels(labels, len(spec.class_names), labels_path)
    return ImageDataset(
        name=spec.name,
        split=split,
        images=torch.from_numpy(images).unsqueeze(1).to(device),  # [N, H, W] -> [N, 1, H, W]
        labels=torch.from_numpy(labels.astype(np.int64)).to(device),
        num_classes=len(spec.class_names),
        class_names=spec.class_names,
        source=str(found.directory),
    )


def check_labels(labels: np.ndarray, num_classes: int, path: PathLike) -> None:
    """Labels index class names and embeddings later, so an out-of-range one must stop here."""
    if not labels.size:
        return
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= num_classes:
        raise DataError(
            f"{path}: label {high if high >= num_classes else low} is out of range 0..{num_classes - 1}; "
            "the file is corrupt or belongs to another dataset"
        )
