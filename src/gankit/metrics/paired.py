"""Metrics of translation and enhancement: how close, how real, how faithful.

All take uint8 images [N, C, H, W] (0..255), as gankit's evaluators do.

    psnr, ssim       fidelity to the target (torchmetrics): the pixel-loss baseline wins
                     these by construction, as it predicts the mean of the plausible outputs
    accuracy         the share of outputs the dataset's classifier assigns the target's
                     class: does the digit or garment survive?
    saturation       mean HSV saturation of the lit pixels: the colourfulness that L1
                     training is known to wash out (colorize)
    diversity        a stochastic model: the mean distance in the evaluator's features between
                     two outputs of one input (two noises), as a share of the mean distance
                     between two different real images: 0 when the noise changes nothing, 1
                     when two outputs of one input differ as much as two unrelated images
    class_purity     unpaired translation: the share of outputs whose predicted target class
                     matches their source's class under the best one-to-one matching of
                     source classes to target classes (Hungarian algorithm), and each
                     source class's share kept
FID and KID of outputs against real images come from gankit.metrics (fid, kid).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

Tensor = torch.Tensor

LIT = 0.2  # a pixel counts for saturation when its HSV value (max channel) is above this, in [0, 1]


def psnr(output: Tensor, target: Tensor) -> float:
    """Mean over images of the peak signal-to-noise ratio in dB (peak 255); identical images count as 100 dB."""
    per_image = peak_signal_noise_ratio(output.float(), target.float(), data_range=255.0, reduction="none",
                                        dim=(1, 2, 3))
    return float(per_image.clamp(max=100.0).mean())


def ssim(output: Tensor, target: Tensor) -> float:
    """Mean structural similarity (Wang et al. 2004; Gaussian window 11, sigma 1.5), in [-1, 1]."""
    kernel = 11 if min(output.shape[-2:]) >= 11 else (min(output.shape[-2:]) // 2) * 2 - 1
    return float(structural_similarity_index_measure(output.float(), target.float(), data_range=255.0,
                                                     kernel_size=kernel))


def accuracy(probs: Tensor, labels: Tensor) -> float:
    """The share of rows whose most probable class is their label: probs [N, K], labels [N]."""
    return float((probs.argmax(1) == labels.cpu()).float().mean())


def saturation(images: Tensor) -> float:
    """Mean HSV saturation (max - min) / max of the lit pixels of RGB images; 0 for grayscale."""
    if images.shape[1] != 3:
        return 0.0
    x = images.float() / 255.0
    high, low = x.max(1).values, x.min(1).values  # [N, H, W]
    lit = high > LIT
    if not lit.any():
        return 0.0
    return float(((high - low) / high.clamp_min(1e-6))[lit].mean())


def diversity(features: Tensor, features2: Tensor, real: Tensor) -> float:
    """features, features2 [N, F]: two outputs of each of N inputs; real [M, F] (M >= 2): real images.
    Mean ||features - features2|| over the mean distance between real neighbours (image i and i + 1)."""
    between_real = (real[1:] - real[:-1]).norm(dim=1).mean()
    return float((features - features2).norm(dim=1).mean() / between_real.clamp_min(1e-12))


def class_purity(source_labels: Tensor, predicted: Tensor, num_classes: int) -> dict[str, float | str]:
    """Unpaired translation: how consistently each source class maps to one target class.

    The confusion counts C[source class, predicted target class] are matched one to one so
    as to maximise the matched total (linear_sum_assignment); purity is that total over N.
    Also returns the matching, "source->target" pairs, and each source class's share of
    outputs read as its matched class, "source->target share" (where purity is lost).
    """
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (source_labels.cpu().numpy(), predicted.cpu().numpy()), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    kept = counts[rows, cols] / np.maximum(1, counts[rows].sum(1))
    return {"class_purity": float(counts[rows, cols].sum() / max(1, counts.sum())),
            "matching": ",".join(f"{r}->{c}" for r, c in zip(rows, cols)),
            "class_kept": ", ".join(f"{r}->{c} {k:.2f}" for r, c, k in zip(rows, cols, kept))}
