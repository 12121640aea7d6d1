"""Datasets: what each one is made of, and how to load a split into tensors.

A dataset is described by a :class:`DatasetSpec` in :data:`SPECS` and registered
in :data:`~gankit.registry.DATASETS` by name. Builders look their spec up in
``SPECS`` when called (not when registered), so tests and tools can swap a spec,
e.g. point its mirrors at a local server, with ``monkeypatch.setitem``.

A loaded split is an :class:`ImageDataset`: the whole split as uint8 tensors on
the target device. Scaling to [-1, 1] happens per batch, in training, so the
dataset stays 4x smaller than float32 and exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch

from gankit.data import idx, sources
from gankit.data.sources import Checksum, PathLike
from gankit.errors import ConfigError, DataError
from gankit.registry import DATASETS

SPLITS = ("train", "test")


@dataclass
class ImageDataset:
    """One split of an image dataset, resident on a device."""

    name: str
    split: str
    images: torch.Tensor = field(repr=False)  # uint8 [N, C, H, W]
    labels: torch.Tensor = field(repr=False)  # int64 [N]
    num_classes: int
    class_names: tuple[str, ...]
    source: str  # the folder the files came from

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """The shape of one image, (C, H, W)."""
        c, h, w = self.images.shape[1:]
        return c, h, w


class SplitFiles(NamedTuple):
    """Base names (without ``.gz``) of a split's IDX files."""

    images: str
    labels: str


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find, fetch, verify and describe one dataset."""

    name: str
    splits: Mapping[str, SplitFiles]
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

SPECS: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}


def load_dataset(
    name: str,
    split: str = "train",
    root: PathLike | None = None,
    download: bool = True,
    device: str | torch.device = "cpu",
) -> ImageDataset:
    """Load one split of the registered dataset ``name`` as uint8 tensors on ``device``.

    ``root`` is a folder holding the files (default ``$GANKIT_DATA``); see
    :mod:`gankit.data.sources` for the other places searched, and ``download``
    for whether a missing split may be fetched into the cache.
    """
    builder = DATASETS.get(name)  # an unknown name gets the registry's message
    return builder(split=split, root=root, download=download, device=device)


def build(
    spec: DatasetSpec,
    split: str = "train",
    root: PathLike | None = None,
    download: bool = True,
    device: str | torch.device = "cpu",
) -> ImageDataset:
    """Find, read and check the files of ``spec``'s ``split``, and put them on ``device``."""
    if split not in spec.splits:
        raise ConfigError(f"unknown split {split!r} for dataset {spec.name}; choose one of: {', '.join(spec.splits)}")
    files = spec.splits[split]
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
    _check_labels(labels, len(spec.class_names), labels_path)
    return ImageDataset(
        name=spec.name,
        split=split,
        images=torch.from_numpy(images).unsqueeze(1).to(device),  # [N, H, W] -> [N, 1, H, W]
        labels=torch.from_numpy(labels.astype(np.int64)).to(device),
        num_classes=len(spec.class_names),
        class_names=spec.class_names,
        source=str(found.directory),
    )


def _check_labels(labels: np.ndarray, num_classes: int, path: PathLike) -> None:
    """Labels index class names and embeddings later, so an out-of-range one must stop here."""
    if labels.size and int(labels.max()) >= num_classes:
        raise DataError(
            f"{path}: label {int(labels.max())} is out of range 0..{num_classes - 1}; "
            "the file is corrupt or belongs to another dataset"
        )


def _make_builder(name: str) -> Callable[..., ImageDataset]:
    """A registry builder for ``name`` with ``load_dataset``'s signature minus ``name``."""

    def builder(
        split: str = "train",
        root: PathLike | None = None,
        download: bool = True,
        device: str | torch.device = "cpu",
    ) -> ImageDataset:
        return build(SPECS[name], split=split, root=root, download=download, device=device)

    builder.__name__ = builder.__qualname__ = f"load_{name.replace('-', '_')}"
    builder.__doc__ = SPECS[name].help
    return builder


for _spec in SPECS.values():
    DATASETS.register(_spec.name, _make_builder(_spec.name), help=_spec.help)
