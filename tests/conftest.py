"""Fixtures shared by the whole test suite.

Tests use real data: the MNIST that ships inside the package (both splits) and the
Fashion-MNIST copy that Debian's ``dataset-fashion-mnist`` installs. Tests that
need Fashion-MNIST skip, saying why, where it is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def _isolated_data_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the user's cache and data root.

    The cache goes to a fresh temp folder per test, and GANKIT_DATA is unset, so
    tests never read files a user downloaded nor leave files behind.
    """
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.delenv("GANKIT_DATA", raising=False)


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """The folder holding the real MNIST, both splits: the copy embedded in the package."""
    from gankit.data.mnist import EMBEDDED_MNIST

    return EMBEDDED_MNIST


@pytest.fixture(scope="session")
def fashion_root() -> Path:
    """The system copy of Fashion-MNIST (all four files)."""
    if not FASHION_SYSTEM_DIR.is_dir():
        pytest.skip(f"{FASHION_SYSTEM_DIR} is absent: install Debian's dataset-fashion-mnist package")
    return FASHION_SYSTEM_DIR


@pytest.fixture
def tiny_config(mnist_root: Path):
    """A Config for a seconds-long real training run: 256 MNIST test images, batch 32
    (8 steps an epoch), 20 steps; keyword overrides are dotted keys with '__' for '.'."""
    from gankit import config as C

    def make(**overrides):
        data = {
            "name": "tiny",
            "data": {"dataset": "mnist", "root": str(mnist_root), "split": "test", "subset": 256, "download": False},
            # float32 explicitly: the same numbers on every machine, whatever its bf16 support
            "train": {"batch_size": 32, "steps": 20, "seed": 0, "device": "cpu", "precision": "fp32"},
            "log": {"every": 4, "grid": 16, "tensorboard": False},
            "checkpoint": {"every": 5},
        }
        for key, value in overrides.items():
            data = C.set_key(data, key.replace("__", "."), value)
        return C.from_dict(data)

    return make


@pytest.fixture
def exact_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """PyTorch's own CPU kernels in place of oneDNN's, for a test that compares two trainings of
    one process bit for bit: with several threads, oneDNN's convolutions may sum in another order
    in one training than in another (docs/reliability.md, "Determinism"); PyTorch's do not."""
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)
