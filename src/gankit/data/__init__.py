"""Datasets as tensors on the device.

Importing this package registers every dataset in
:data:`gankit.registry.DATASETS`: ``mnist``, ``fashion-mnist`` and ``cifar10``
(files found or downloaded), ``imagefolder`` (a folder of images),
``toy-ring`` and ``toy-grid`` (2-D points) and ``stacked-mnist``.
"""

from gankit.data import cifar, imagefolder, mnist, stacked, toy  # noqa: F401 (imported for their registrations)
from gankit.data.datasets import ImageDataset, load_dataset

__all__ = ["ImageDataset", "load_dataset"]
