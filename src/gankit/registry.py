"""Name -> builder registries, so the CLI can list and validate every choice.

Each kind of component (models, losses, regularizers, datasets, metrics, steps)
has one registry. Modules register their builders at import time::

    @MODELS.register("dcgan-28", help="the tutorial's DCGAN for 28x28 images")
    def build(...): ...

and code looks them up by name with ``MODELS.get(name)``, which fails with a
message listing the valid names. Keyword arguments of ``register`` beyond
``help`` are kept as the entry's attributes (``MODELS.attrs(name)``): a model's
``kind`` ("gan", the default, "likelihood" or "translation") picks the training step
registered under that kind in ``STEPS``, and its ``settings`` name the ``model.*`` keys
its builder reads (a run refuses the others: gankit.train.unused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gankit.errors import ConfigError


@dataclass(frozen=True)
class Entry:
    name: str
    obj: Any
    help: str
    attrs: Mapping[str, Any] = field(default_factory=dict)


class Registry:
    def __init__(self, kind: str, plural: str | None = None):
        self.kind = kind
        self.plural = plural or kind + "s"
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, obj: Any = None, *, help: str = "", **attrs: Any) -> Any:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator."""

        def add(o: Any) -> Any:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = Entry(name, o, help or (o.__doc__ or "").strip().split("\n")[0], attrs)
            return o

        return add if obj is None else add(obj)

    def get(self, name: str) -> Any:
        try:
            return self._entries[name].obj
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())} "
                f"(gankit list {self.plural})"
            ) from None

    def attrs(self, name: str) -> Mapping[str, Any]:
        """The attributes ``name`` was registered with."""
        self.get(name)  # an unknown name gets the usual message
        return self._entries[name].attrs

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in self.names()]


MODELS = Registry("model")
LOSSES = Registry("loss", "losses")
DATASETS = Registry("dataset")
METRICS = Registry("metric")
REGULARIZERS = Registry("regularizer")
STEPS = Registry("step")


def load_all() -> None:
    """Import every module that registers components, so the registries are full."""
    import gankit.data  # noqa: F401
    import gankit.losses  # noqa: F401
    import gankit.metrics  # noqa: F401
    import gankit.models  # noqa: F401
    import gankit.regularizers  # noqa: F401
    import gankit.train.cycle_step  # noqa: F401
    import gankit.train.elbo_step  # noqa: F401
    import gankit.train.paired_step  # noqa: F401
    import gankit.train.step  # noqa: F401
