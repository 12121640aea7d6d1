"""The paired and unpaired translation metrics against numbers worked by hand."""

from __future__ import annotations

import math

import pytest
import torch

from gankit.metrics import paired as M


def test_psnr_of_a_known_error_and_of_identical_images():
    target = torch.full((2, 1, 8, 8), 100, dtype=torch.uint8)
    assert math.isclose(M.psnr(target + 10, target), 10 * math.log10(255 ** 2 / 10 ** 2), rel_tol=1e-5)  # 28.13 dB
    assert M.psnr(target, target) == 100.0  # identical: capped, not infinite


def test_ssim_is_one_for_identical_images_and_lower_for_noisy_ones():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (2, 1, 28, 28), generator=g, dtype=torch.uint8)
    noisy = (x.float() + 40 * torch.randn(x.shape, generator=g)).clamp(0, 255).to(torch.uint8)
    assert math.isclose(M.ssim(x, x), 1.0, abs_tol=1e-5) and M.ssim(noisy, x) < 0.9


def test_accuracy_reads_the_most_probable_class():
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert math.isclose(M.accuracy(probs, torch.tensor([0, 1, 1])), 2 / 3, rel_tol=1e-6)


def test_saturation_of_grey_coloured_and_dark_pixels():
    grey = torch.full((1, 3, 4, 4), 200, dtype=torch.uint8)
    assert M.saturation(grey) == 0.0 and M.saturation(grey[:, :1]) == 0.0  # equal channels; one channel
    red = grey.clone()
    red[:, 1:] = 0  # (200, 0, 0): fully saturated
    red[:, :, :2] = 10  # half the pixels dark (value 10/255 < LIT): not counted
    assert math.isclose(M.saturation(red), 1.0)
    half = torch.tensor([200, 100, 100], dtype=torch.uint8).view(1, 3, 1, 1)
    assert math.isclose(M.saturation(half), 0.5)


def test_class_purity_matches_source_classes_to_target_classes_one_to_one():
    sources = torch.tensor([0, 0, 0, 1, 1, 2])
    predicted = torch.tensor([2, 2, 1, 0, 0, 0])
    # counts: 0 -> {2: 2, 1: 1}, 1 -> {0: 2}, 2 -> {0: 1}; the best one-to-one matching is 0->2, 1->0, 2->1
    # (4 of 6): 2 cannot also take target 0, which 1 holds with more
    result = M.class_purity(sources, predicted, 3)
    assert math.isclose(result["class_purity"], 4 / 6)
    assert result["matching"] == "0->2,1->0,2->1"
    assert result["class_kept"] == "0->2 0.67, 1->0 1.00, 2->1 0.00"
    # any renaming of the target classes keeps purity: it asks for consistency, not for k -> k
    renamed = torch.tensor([1, 2, 0])[predicted]
    assert math.isclose(M.class_purity(sources, renamed, 3)["class_purity"], 4 / 6)
    assert M.class_purity(sources, sources, 3)["class_purity"] == 1.0


def test_diversity_is_the_distance_of_two_outputs_over_that_of_real_neighbours():
    real = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])  # neighbours 5 apart
    a = torch.tensor([[1.0, 1.0], [2.0, 2.0]])
    assert M.diversity(a, a.clone(), real) == 0.0  # the noise changes nothing
    b = a + torch.tensor([[3.0, 4.0], [0.0, 5.0]])  # each output 5 from its twin: as far as two real images
    assert M.diversity(a, b, real) == pytest.approx(1.0)
    assert M.diversity(a, a + torch.tensor([0.0, 1.0]), real) == pytest.approx(0.2)
