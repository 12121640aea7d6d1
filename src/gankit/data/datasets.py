"""Datasets: what each one is made of, and how to load a split into tensors.

A dataset is described by a :class:`DatasetSpec` in :data:`SPECS` and registered
in :data:`~gankit.registry.DATASETS` by name. Builders look their spec up in
``SPECS`` when called (not when registered), so tests and tools can swap a spec,
e.g. point its mirrors at a local server, with ``monkeypatch.setitem``.

A loaded split is an :class:`ImageDataset`: the whole split as tensors on the
target device. Images stay uint8 and are scaled to [-1, 1] per batch, in
training, so the dataset stays 4x smaller than float32 and exact; 2-D toy data
("points") is float32 from the start.

Every builder takes the options of :func:`load_dataset` as keyword arguments and
uses those that concern it (``resolution``, ``channels``, ``labels_from_folders``
and ``size`` come from the data config, which always sets them), ignoring the
rest, so callers can pass the whole data config to any dataset:

============== =================================================================
builder        options used
============== =================================================================
mnist,         split, root, download, device
fashion-mnist,
cifar10
imagefolder    root (the folder, required), device, resolution, channels,
               labels_from_folders (split and download are ignored)
toy-ring,      split (picks the seed), device, size
toy-grid
stacked-mnist  split, root, download (all three for the MNIST files), device, size
============== =================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

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


MNIST = DatasetSpec(
    name="mnist",
    splits={
        "train": SplitFiles("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": SplitFiles("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    checksums={
        # The train files' content hashes are not known, so only canonical .gz bytes pass.
        "train-images-idx3-ubyte": Checksum(md5_gz="f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        "train-labels-idx1-ubyte": Checksum(md5_gz="d53e105ee54ea40749a09fcbcd1e9432"),
        "t10k-images-idx3-ubyte": Checksum(
            md5_gz="9fb629c4189551a2d022fa330f9573f3",
            sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        "t10k-labels-idx1-ubyte": Checksum(
            md5_gz="ec29112dd5afa0611ce80d1b7f02629c",
            sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    },
    system_dirs=(),
    class_names=tuple(str(d) for d in range(10)),
    help="MNIST handwritten digits, 28x28 grayscale, 10 classes (60,000 train / 10,000 test)",
    hint=(
        "No system package ships MNIST: its train split is not on a fresh machine and must be "
        "downloaded (needs network access) or supplied with --data-root."
    ),
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    splits={
        "train": SplitFiles("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        "test": SplitFiles("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    },
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    checksums={
        "train-images-idx3-ubyte": Checksum(
            md5_gz="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        ),
        "train-labels-idx1-ubyte": Checksum(
            md5_gz="25c81989df183df01b3e8a0aad5dffbe",
            sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        ),
        "t10k-images-idx3-ubyte": Checksum(
            md5_gz="bef4ecab320f06d8554ea6380940ec79",
            sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        ),
        "t10k-labels-idx1-ubyte": Checksum(
            md5_gz="bb300cfdad3c16e7a12a480ee83cd310",
            sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        ),
    },
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    class_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    help="Zalando's Fashion-MNIST clothing images, 28x28 grayscale, 10 classes (60,000 / 10,000)",
    hint="On Debian and Ubuntu, `apt install dataset-fashion-mnist` installs all four files.",
)

CIFAR10 = DatasetSpec(
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
)

@dataclass(frozen=True)
class DataOptions:
    """Options that some datasets use; each builder reads those that concern it."""

    resolution: int | None = None  # imagefolder: pixels a side (None: its default)
    channels: int | None = None  # imagefolder: 1 or 3
    labels_from_folders: bool = False  # imagefolder: sub-folders are classes
    size: int | None = None  # toy-ring, toy-grid, stacked-mnist: samples to draw


NO_OPTIONS = DataOptions()

SPECS: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST, CIFAR10)}


def load_dataset(
    name: str,
    split: str = "train",
    root: PathLike | None = None,
    download: bool = True,
    device: str | torch.device = "cpu",
    *,
    resolution: int | None = None,
    channels: int | None = None,
    labels_from_folders: bool = False,
    size: int | None = None,
) -> ImageDataset:
    """Load one split of the registered dataset ``name`` onto ``device``.

    ``root`` is a folder holding the files (default ``$GANKIT_DATA``); see
    :mod:`gankit.data.sources` for the other places searched, and ``download``
    for whether a missing split may be fetched into the cache. The keyword-only
    options go to every builder, which ignores those that do not concern it (see
    the table in this module's docstring); None means the dataset's default.
    """
    builder = DATASETS.get(name)  # an unknown name gets the registry's message
    options = DataOptions(resolution, channels, labels_from_folders, size)
    return builder(split=split, root=root, download=download, device=device, options=options)


def check_split(name: str, split: str, splits: Iterable[str] = SPLITS) -> None:
    """Stop an unknown split early, with the choices, before any file is touched."""
    splits = tuple(splits)
    if split not in splits:
        raise ConfigError(f"unknown split {split!r} for dataset {name}; choose one of: {', '.join(splits)}")


def option_or_default(value: int | None, key: str, default: int) -> int:
    """``value`` checked as a positive whole number, or ``default`` when None.

    Builders are public functions, so an option may arrive without passing the
    config's checks; ``key`` names it in the message (e.g. "data.size").
    """
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{key} must be a positive whole number, got {value!r}")
    return int(value)


def build(
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
        mirrors=spec.mirrors,
        checksums=spec.checksums,
        download=download,
        hint=spec.hint,
        what=f"{spec.name} {split} split",
    )
    images_path, labels_path = found.files[files.images], found.files[files.labels]
    images = idx.read_images(images_path)
    labels = idx.read_labels(labels_path)
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


def _make_builder(name: str) -> Callable[..., ImageDataset]:
    """A registry builder for the IDX dataset ``name``, with ``load_dataset``'s signature minus ``name``.

    The image options (``resolution`` ...) and ``size`` do not apply to a fixed
    IDX dataset and are ignored.
    """

    def builder(
        split: str = "train",
        root: PathLike | None = None,
        download: bool = True,
        device: str | torch.device = "cpu",
        options: DataOptions = NO_OPTIONS,
    ) -> ImageDataset:
        return build(SPECS[name], split=split, root=root, download=download, device=device)

    builder.__name__ = builder.__qualname__ = f"load_{name.replace('-', '_')}"
    builder.__doc__ = SPECS[name].help
    return builder


for _spec in (MNIST, FASHION_MNIST):  # the other datasets register in their own modules
    DATASETS.register(_spec.name, _make_builder(_spec.name), help=_spec.help)
