"""The evaluation protocol: generated images against real ones, reproducibly.

Default protocol: 10,000 generated images against 10,000 real test images (or
the whole split where it is smaller), embedded by one evaluator network. Every
result carries its protocol: the metrics, how many images on each side, the
reference dataset, split and count, the evaluator's name and weights' sha256,
the noise seed and the gankit version, so two numbers can be compared only when
they were measured the same way.

Real-set embeddings are cached on disk under ``~/.cache/gankit/features``, keyed
by the evaluator's sha256 and the sha256 of the real images' bytes, so they are
recomputed only when either changes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import safetensors.torch
import torch

from gankit import __version__, atomic
from gankit.data import load_dataset
from gankit.data.sources import cache_dir
from gankit.errors import ConfigError
from gankit.metrics import DEFAULT_METRICS, Embedding, compute
from gankit.metrics import classifiers as domain
from gankit.registry import METRICS

EVALUATORS = ("auto", "inception", "stacked-mnist-cnn", *(f"{d}-cnn" for d in domain.available()),
              *sorted(domain.EVALUATORS))


def parse_metrics(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """'fid,kid' -> ['fid', 'kid'], each checked against the registry."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    names = [n for n in names if n]
    if not names:
        raise ConfigError(f"no metrics named; choose from: {', '.join(METRICS.names())}")
    for n in names:
        if n not in METRICS:
            raise ConfigError(f"unknown metric {n!r}; choose from: {', '.join(METRICS.names())} (gankit list metrics)")
    return list(dict.fromkeys(names))


def get_evaluator(name: str, dataset: str, device: str | torch.device = "cpu", data: Any = None) -> Any:
    """'auto' takes the dataset's own classifier when one ships, the identity for 2-D
    points (given ``data``, whose modes it knows), else Inception-v3."""
    if data is not None and getattr(data, "kind", "image") == "points":
        if name not in ("auto", "points"):
            raise ConfigError(f"evaluator {name!r} cannot embed 2-D points; use auto")
        from gankit.metrics.points import PointsEvaluator

        return PointsEvaluator(data.modes, data.mode_std)
    if name == "auto":
        known = (*domain.available(), "stacked-mnist")
        name = f"{dataset}-cnn" if dataset in known else "inception"
    if name == "stacked-mnist-cnn":
        from gankit.metrics.stacked import StackedMNISTEvaluator

        return StackedMNISTEvaluator(device)
    if name == "inception":
        from gankit.metrics.inception import InceptionEvaluator

        return InceptionEvaluator(device)
    if name in domain.EVALUATORS or (name.endswith("-cnn") and name[: -len("-cnn")] in domain.available()):
        return domain.load_evaluator(domain.evaluator_name(name), device)
    raise ConfigError(f"unknown evaluator {name!r}; choose one of: {', '.join(EVALUATORS)}")


def images_sha256(images: torch.Tensor) -> str:
    return hashlib.sha256(images.contiguous().cpu().numpy().tobytes()).hexdigest()


def embed_real(evaluator: Any, images: torch.Tensor) -> Embedding:
    """The evaluator's embedding of real ``images``, from the disk cache when possible."""
    key = f"{evaluator.name}-{evaluator.sha256[:16]}-{images_sha256(images)[:16]}"
    path = cache_dir() / "features" / f"{key}.safetensors"
    if path.is_file():
        try:
            t = safetensors.torch.load_file(str(path))
            return Embedding(t["features"], t["probs"])
        except Exception:  # a damaged cache entry is recomputed, never trusted
            path.unlink(missing_ok=True)
    features, probs = evaluator.embed(images)
    with atomic.atomic_path(path) as tmp:
        safetensors.torch.save_file({"features": features.contiguous(), "probs": probs.contiguous()}, str(tmp))
    return Embedding(features, probs)


class Reference:
    """The real side of the protocol: real images, embedded, and what they are."""

    def __init__(self, evaluator: Any, images: torch.Tensor, protocol: dict[str, Any]):
        self.evaluator = evaluator
        self.embedding = embed_real(evaluator, images)
        self.embedding.meta = dict(getattr(evaluator, "meta", {}))  # e.g. the modes of 2-D data
        self.protocol = {**protocol, "count": len(images)}

    @classmethod
    def for_run(cls, cfg: Any, evaluator: str = "auto", split: str | None = None, n: int | None = None,
                root: str | None = None, device: str | torch.device = "cpu") -> Reference:
        """The reference a run is scored against: its dataset (with its options), ``split``
        (default eval.split), first ``n`` (default eval.real_n), in ``evaluator``'s features."""
        d = cfg.data
        split = split or cfg.eval.split
        data = load_dataset(d, split, **({"root": root} if root else {}))
        n = n or cfg.eval.real_n
        ev = get_evaluator(evaluator, d.dataset, device, data)
        return cls(ev, data.images[:n], {"dataset": d.dataset, "split": split, "source": data.source})

    @classmethod
    def from_dataset(cls, evaluator: Any, dataset: str, split: str = "test", n: int | None = 10_000,
                     root: str | None = None, download: bool = True) -> Reference:
        """The first ``n`` images of a dataset split (all of it when smaller)."""
        data = load_dataset(dataset, split, root=root, download=download)
        images = data.images[:n] if n else data.images
        return cls(evaluator, images, {"dataset": dataset, "split": split, "source": data.source})


def evaluate(
    sample: Callable[[int, int], torch.Tensor],
    reference: Reference,
    n: int = 10_000,
    metrics: list[str] | tuple[str, ...] = DEFAULT_METRICS,
    seed: int = 0,
) -> dict[str, Any]:
    """Score ``n`` images from ``sample(n, seed)`` (uint8 [n, C, H, W]) against ``reference``.

    Returns ``{"metrics": {...}, "protocol": {...}, "seconds": {...}}``.
    """
    t0 = time.perf_counter()
    fake_images = sample(n, seed)
    t1 = time.perf_counter()
    features, probs = reference.evaluator.embed(fake_images)
    t2 = time.perf_counter()
    values = compute(metrics, reference.embedding, Embedding(features, probs), seed=seed)
    t3 = time.perf_counter()
    ev = reference.evaluator
    protocol = {
        "metrics": list(metrics),
        "generated": n,
        "reference": reference.protocol,
        "evaluator": {"name": ev.name, "sha256": ev.sha256},
        "seed": seed,
        "gankit_version": __version__,
    }
    seconds = {"sample": round(t1 - t0, 2), "embed": round(t2 - t1, 2), "metrics": round(t3 - t2, 2)}
    return {"metrics": values, "protocol": protocol, "seconds": seconds}
