"""Quality metrics, registered by name in ``gankit.registry.METRICS``.

Every metric compares an :class:`Embedding` of real images with one of generated
images, both made by the same evaluator network (a domain classifier for 28x28
data, Inception-v3 for RGB data), and returns a dict of named numbers:

    fid    Frechet distance of the feature Gaussians          (Heusel et al. 2017)
    kid    kernel inception distance, mean and std over subsets (Binkowski et al. 2018)
    pr     precision and recall, k = 3                        (Kynkaanniemi et al. 2019)
    dc     density and coverage, k = 5                        (Naeem et al. 2020)
    modes  classes covered, KL(class histogram || uniform), mean top-class confidence
    stacked-modes  Stacked MNIST: modes covered (of 1000) and KL to uniform (VEEGAN, PacGAN)
    toy-modes  2-D toy data: modes captured and high-quality share (VEEGAN, PacGAN)
    is     Inception score exp(E KL(p(y|x) || p(y))); with a domain classifier, the
           "classifier score" of TF-GAN's MNIST evaluation  (Salimans et al. 2016)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from gankit.errors import ConfigError
from gankit.metrics import fid as _fid
from gankit.metrics import kid as _kid
from gankit.metrics import modes as _modes
from gankit.metrics import prdc as _prdc
from gankit.metrics.inception_score import inception_score
from gankit.registry import METRICS


@dataclass
class Embedding:
    features: torch.Tensor  # float32 [N, F], the evaluator's penultimate layer
    probs: torch.Tensor  # float32 [N, K], its class probabilities
    meta: dict[str, Any] = field(default_factory=dict)  # what the evaluator knows of the data, e.g. its modes

    def __len__(self) -> int:
        return self.features.shape[0]


@dataclass(frozen=True)
class Metric:
    fn: Callable[[Embedding, Embedding, int], dict[str, float]]
    keys: tuple[str, ...]  # the numbers it reports
    lower_is_better: tuple[str, ...] = ()


METRICS.register("fid", Metric(lambda r, f, s: {"fid": _fid.fid(r.features, f.features)}, ("fid",), ("fid",)),
                 help="Frechet distance between feature Gaussians (lower is better)")
METRICS.register("kid", Metric(lambda r, f, s: _kid.kid(r.features, f.features, seed=s), ("kid_mean", "kid_std"),
                               ("kid_mean",)),
                 help="kernel inception distance: unbiased MMD^2, cubic kernel, 100 subsets of 1000")
METRICS.register("pr", Metric(lambda r, f, s: _prdc.precision_recall(r.features, f.features, k=3),
                              ("precision", "recall")),
                 help="precision (fakes on the real manifold) and recall (reals on the fake manifold), k=3")
METRICS.register("dc", Metric(lambda r, f, s: _prdc.density_coverage(r.features, f.features, k=5),
                              ("density", "coverage")),
                 help="density and coverage, k=5: precision/recall robust to outliers")
def class_modes(fake: Embedding) -> dict[str, float]:
    """Mode coverage over the evaluator's classes.

    A class counts as covered when at least 10% of a uniform share of the samples
    (N / K / 10) are classified as it, so that the evaluator's own rare mistakes
    (about 0.5% on MNIST) do not make a collapsed generator look complete.
    """
    n, k = fake.probs.shape
    return _modes.class_modes(fake.probs, min_count=max(1, round(n / k / 10)))


METRICS.register("modes", Metric(lambda r, f, s: class_modes(f),
                                 ("classes_covered", "classes", "kl_to_uniform", "mean_confidence"),
                                 ("kl_to_uniform",)),
                 help="classes holding >= 10% of a uniform share of top-1 predictions, KL(histogram || uniform), "
                      "mean confidence")
def stacked_modes(fake: Embedding) -> dict[str, float]:
    """Stacked MNIST modes (of 1000) and KL to uniform; a mode counts with one sample (VEEGAN, PacGAN)."""
    from gankit.metrics.stacked import channel_probs

    return _modes.stacked_modes(*channel_probs(fake.probs))


METRICS.register("stacked-modes", Metric(lambda r, f, s: stacked_modes(f), ("modes_covered", "kl_to_uniform"),
                                         ("kl_to_uniform",)),
                 help="Stacked MNIST: modes covered of 1000 and KL(mode histogram || uniform)")
def toy_modes(real: Embedding, fake: Embedding) -> dict[str, float]:
    """2-D mixtures: modes captured and the share of high-quality samples (VEEGAN, PacGAN)."""
    if "modes" not in real.meta:
        raise ConfigError("the toy-modes metric needs 2-D data with known modes (toy-ring, toy-grid)")
    return _modes.toy_modes(fake.features, real.meta["modes"], real.meta["mode_std"])


METRICS.register("toy-modes", Metric(lambda r, f, s: toy_modes(r, f), ("modes_captured", "high_quality")),
                 help="2-D toy data: modes captured and share of samples within 3 std of a mode")
METRICS.register("is", Metric(lambda r, f, s: inception_score(f.probs, seed=s), ("is_mean", "is_std")),
                 help="Inception score (classifier score with a domain classifier); higher is better")

DEFAULT_METRICS = ("fid", "kid", "pr", "dc", "modes")


def compute(names: list[str] | tuple[str, ...], real: Embedding, fake: Embedding, seed: int = 0) -> dict[str, float]:
    """Run the named metrics; precision/recall and density/coverage share their k-NN passes."""
    results: dict[str, float] = {}
    todo = list(names)
    if "pr" in todo and "dc" in todo:
        results.update(_prdc.prdc(real.features, fake.features, k_pr=3, k_dc=5))
        todo = [n for n in todo if n not in ("pr", "dc")]
    for name in todo:
        results.update(METRICS.get(name).fn(real, fake, seed))
    return {k: (int(v) if isinstance(v, (int, np.integer)) else float(v)) for k, v in results.items()}
