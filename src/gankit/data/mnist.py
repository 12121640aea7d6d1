"""MNIST and Fashion-MNIST: 28x28 grayscale images in the IDX format, 10 classes.

Both ship as four gzip-compressed IDX files (images and labels of the train and
test splits), found as :mod:`gankit.data.sources` describes and read by
:mod:`gankit.data.idx`. A downloaded file is accepted when the md5 of its
compressed bytes matches the canonical mirrors' file, or when the sha256 of its
decompressed content does, so any re-compressed copy of the canonical data is
accepted too.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.config import DataConfig
from gankit.data.datasets import (
    SPECS,
    DatasetSpec,
    ImageDataset,
    SplitFiles,
    read_idx_split,
    register_spec,
    spec_where,
)
from gankit.data.sources import Checksum
from gankit.registry import DATASETS

# Both splits of MNIST ship inside the package (LeCun, Cortes & Burges; CC BY-SA 3.0), so
# gankit trains offline out of the box; the files are the canonical data, re-compressed.
EMBEDDED_MNIST = Path(__file__).resolve().parent / "embedded" / "mnist"

IDX_SPLITS = {
    "train": SplitFiles("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": SplitFiles("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

MNIST = register_spec(DatasetSpec(
    name="mnist",
    splits=IDX_SPLITS,
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    checksums={
        "train-images-idx3-ubyte": Checksum(
            md5_gz="f68b3c2dcbeaaa9fbdd348bbdeb94873",
            sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        "train-labels-idx1-ubyte": Checksum(
            md5_gz="d53e105ee54ea40749a09fcbcd1e9432",
            sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
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
    embedded=EMBEDDED_MNIST,
    class_names=tuple(str(d) for d in range(10)),
    help="MNIST handwritten digits, 28x28 grayscale, 10 classes (60,000 train / 10,000 test)",
    hint=(
        f"gankit ships MNIST in {EMBEDDED_MNIST}; that copy is missing, so the installation is incomplete: "
        "reinstall gankit, or supply the files with --data-root."
    ),
))

FASHION_MNIST = register_spec(DatasetSpec(
    name="fashion-mnist",
    splits=IDX_SPLITS,
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
))


def _register(spec: DatasetSpec) -> None:
    def load(cfg: DataConfig, split: str, device: str | torch.device = "cpu") -> ImageDataset:
        # SPECS, not ``spec``: looked up now, so a test can point the mirrors at a local server
        return read_idx_split(SPECS[spec.name], split, root=cfg.root, download=cfg.download, device=device)

    load.__name__ = load.__qualname__ = f"load_{spec.name.replace('-', '_')}"
    load.__doc__ = spec.help
    DATASETS.register(spec.name, load, help=spec.help, where=lambda root: spec_where(SPECS[spec.name], root))


for _spec in (MNIST, FASHION_MNIST):
    _register(_spec)
