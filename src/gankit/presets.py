"""Presets: named, partial configs shipped in gankit/configs/NAME.yaml."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gankit.config import Config, from_dict, parse_override, read_yaml, set_key
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


def config(name: str, values: Mapping[str, Any] | None = None, overrides: Iterable[str] = ()) -> Config:
    """Preset ``name`` as a validated Config: dotted keys set from ``values``, then
    ``key=value`` overrides as ``--set`` takes them."""
    data = load(name)
    for key, value in [*(values or {}).items(), *(parse_override(o) for o in overrides)]:
        data = set_key(data, key, value)
    return from_dict(data)


def describe() -> list[tuple[str, str]]:
    return [(n, str(load(n).get("description", ""))) for n in names()]
