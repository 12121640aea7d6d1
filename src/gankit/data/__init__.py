"""Image datasets as uint8 tensors on the device.

Importing this package registers the datasets (``mnist``, ``fashion-mnist``) in
:data:`gankit.registry.DATASETS`.
"""

from gankit.data.datasets import ImageDataset, load_dataset

__all__ = ["ImageDataset", "load_dataset"]
