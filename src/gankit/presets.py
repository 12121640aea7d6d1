"""Presets: named, partial configs shipped in gankit/configs/NAME.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gankit.config import from_dict, read_yaml
from gankit.errors import ConfigError

PRESET_DIR = Path(__file__).parent / "configs"
DEFAULT = "dcgan-mnist"


def names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load(name: str) -> dict[str, Any]:
    """The preset's keys as a nested dict (validated)."""
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(names())} (gankit list presets)")
    data = read_yaml(path)
    from_dict(data, source=str(path))  # fail early on a broken preset
    return data


def describe() -> list[tuple[str, str]]:
    return [(n, str(load(n).get("description", ""))) for n in names()]
