"""The Inception Score (with a domain classifier: TF-GAN's classifier score) against its formula."""

from __future__ import annotations

import math

import pytest
import torch

from gankit.metrics import METRICS, inception_score


def test_confident_and_balanced_predictions_score_the_class_count():
    probs = torch.eye(10).repeat(50, 1)  # 500 one-hot predictions, 50 of each class

    assert inception_score(probs, splits=1)["is_mean"] == pytest.approx(10.0)


def test_one_class_for_everything_scores_one():
    probs = torch.softmax(torch.tensor([3.0, 1.0, 0.5]), 0).repeat(200, 1)  # the same p(y|x) for every x

    result = inception_score(probs, splits=4)

    assert result["is_mean"] == pytest.approx(1.0) and result["is_std"] == pytest.approx(0.0, abs=1e-12)


def test_matches_exp_of_mean_kl_to_the_marginal():
    probs = torch.softmax(torch.randn(300, 10, generator=torch.Generator().manual_seed(0)), 1).double()
    marginal = probs.mean(0)
    kl = (probs * (probs.log() - marginal.log())).sum(1).mean()

    assert inception_score(probs, splits=1)["is_mean"] == pytest.approx(math.exp(kl.item()), rel=1e-9)


def test_registered_with_its_outputs():
    assert METRICS.get("is").keys == ("is_mean", "is_std")
