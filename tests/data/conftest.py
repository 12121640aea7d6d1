"""Fixtures shared by the tests of gankit.data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gankit.data import load_dataset

N_DIGITS = 512  # MNIST test digits the degradation and pairing tests run on


@pytest.fixture(scope="module")
def digits(mnist_root: Path) -> torch.Tensor:
    """The first N_DIGITS MNIST test digits, uint8 [N, 1, 28, 28]."""
    return load_dataset("mnist", "test", root=str(mnist_root), download=False).images[:N_DIGITS]
