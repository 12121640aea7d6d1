"""docs/results.md, from training to page: every number on it is made by this script.

    python tools/results.py all                       # train and score everything, then write the page
    python tools/results.py run image --minutes 10    # one section (appends to its raw numbers)
    python tools/results.py render                    # write the page from the raw numbers alone
    python tools/results.py add image runs/X          # score a run trained elsewhere and record it

Sections (raw numbers in benchmarks/measured/results/<section>.jsonl, one JSON line per run;
a run already measured with the same settings is skipped, and a run a killed command left
in --runs continues from its last checkpoint, so an interrupted command goes on where it stopped):
  image        every MNIST and Fashion-MNIST preset and the VAE baseline, on the train split,
               scored with the default protocol (10,000 samples against the 10,000 test images
               in the dataset classifier's features)
  toy          the 2-D mixtures at their papers' lengths, scored on 2,500 samples
  toy-search   what was tried on the 2-D grid on the way to r1-toy-grid (seed 0)
  stacked      Stacked MNIST, scored on 26,000 samples (PacGAN's protocol)
  search       the fast CPU recipe's search: one trial per setting, the same budget each
  fast         mnist-fast against dcgan-mnist (and the best conditional recipe) at 30 minutes
  translation  the translation and enhancement presets, each beside its pixel-loss twin
  translation-search  what was tried to make the adversarial loss pay on inpainting and
               super-resolution (seed 0, 1,500 steps each)
  translation-blend  ESRGAN's network interpolation: the GAN's and its twin's weights blended
               (gankit blend), scored at each alpha; the two runs are the translation section's

Budgets: ``--minutes`` of training steps per run (train.max_minutes; evaluation excluded)
on a CPU; ``--full`` trains each preset to its own length (its epochs), as a GPU allows.
Every line records the machine, so the page says where and how long each took.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import torch

import gankit
from gankit import config as C
from gankit import presets, viz
from gankit.metrics import compute
from gankit.metrics.protocol import Reference, evaluate, parse_metrics
from gankit.metrics.translation import REVISION
from gankit.run import RunDir
from gankit.run.blend import blend
from gankit.train.loop import train

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "benchmarks" / "measured" / "results"
IMAGES = ROOT / "docs" / "images" / "results"
PAGE = ROOT / "docs" / "results.md"

IMAGE_PRESETS = ["dcgan-mnist", "wgan-mnist", "wgan-gp-mnist", "lsgan-mnist", "hinge-sn-mnist", "dragan-mnist",
                 "acgan-mnist", "cgan-projection-mnist", "vae-mnist", "dcgan-fashion", "mnist-fast", "tacgan-mnist"]
# mnist-fast's learning rates before the fast recipe's GPU sweep raised them to 3e-4: the rows
# measured with them name them, so they stay what they were
OLD_LR = ["optim.lr_g=2e-4", "optim.lr_d=2e-4"]
# mnist-fast at 50 epochs with those rates; then what was tried against ACGAN's collapse to one
# image per label (Odena et al.'s settings otherwise): D's classifier taught real labels only;
# G's class term at a tenth of D's; and TAC-GAN's twin classifier (tacgan-mnist)
IMAGE_EXTRA = [("mnist-fast, lr 2e-4", "mnist-fast", OLD_LR),
               ("acgan-mnist, D classifies real images only", "acgan-mnist", ["loss.aux_fakes=false"]),
               ("acgan-mnist, G's class loss weight 0.1", "acgan-mnist", ["loss.aux_weight_g=0.1"]),
               # TAC-GAN's twin classifier against ACGAN at a length a CPU trains (3,000 G steps)
               *[(f"{p}, 5 epochs", p, ["train.epochs=5"]) for p in ("acgan-mnist", "tacgan-mnist")]]
TOY_PRESETS = ["gan-toy-ring", "gan-toy-grid", "pacgan-toy-grid", "r1-toy-ring", "r1-toy-grid"]
STACKED_PRESETS = ["dcgan-stacked-mnist", "pacdcgan-stacked-mnist", "pacgan-sn-stacked-mnist"]
# What was tried past the presets on Stacked MNIST (the KL to uniform moves by about 0.01
# between evaluations at a constant learning rate; a decay to 0 should settle it)
STACKED_EXTRA = [("pacdcgan-stacked-mnist, linear lr decay", "pacdcgan-stacked-mnist", ["optim.schedule=linear"]),
                 # seed 0 went on improving past the preset's 10 epochs (KL 0.083 at 10, 0.053 at 14)
                 ("pacdcgan-stacked-mnist, 14 epochs", "pacdcgan-stacked-mnist", ["train.epochs=14"]),
                 # the decay over the last 4 of 16 epochs only (G steps 24,000-32,000)
                 ("pacdcgan-stacked-mnist, 16 epochs, lr decay over the last 4", "pacdcgan-stacked-mnist",
                  ["train.epochs=16", "optim.schedule=linear", "optim.decay_start=24000"]),
                 # twice the preset's length, the decay over the last 6 of 20 epochs (G steps 28,000-40,000)
                 ("pacdcgan-stacked-mnist, 20 epochs, lr decay over the last 6", "pacdcgan-stacked-mnist",
                  ["train.epochs=20", "optim.schedule=linear", "optim.decay_start=28000"])]
TRANSLATION_PRESETS = ["pix2pix-edges2mnist", "pix2pix-inpaint-mnist", "pix2pix-colorize-mnist", "srgan-sr4-mnist",
                       "l1-sr4-mnist", "esrgan-sr4-fashion", "cyclegan-mnist2fashion", "cyclegan-classes-mnist2fashion"]
# overrides a twin does without (it trains no D)
ADVERSARIAL_ONLY = ("translate.adv_weight=", "loss.name=", "model.d_layers=", "model.spectral_norm=", "model.d_norm=",
                    "model.minibatch_std=", "translate.warmup_steps=", "optim.lr_d=",
                    "translate.feature_matching_weight=", "translate.class_projection=", "reg.name=", "reg.weight=",
                    "reg.every=")


def noisy(weight: str) -> list[str]:
    """A stochastic G: 8 noise channels beside the source, held to use them by the mode-seeking term."""
    return ["model.noise_channels=8", f"translate.diversity_weight={weight}"]


TWIN = ", no GAN loss"  # a translation preset's twin: the same run without its adversarial loss
NO_GAN = "translate.adv_weight=0"  # the twin's override
KEEP = "model.keep_known=true"  # inpainting: G fills only the hole
REPAINT = "model.keep_known=false"  # inpainting as first shipped: G repaints every pixel
INPAINT = "pix2pix-inpaint-mnist"
EMA = "ema.half_life=10000"  # G sampled from an EMA of its weights, a half-life of 10,000 images
NO_EMA = "ema.half_life=null"  # G sampled as trained
# The inpainting preset as first shipped: its U-Net without the dilated blocks (a pixel in the
# middle of the 12 px hole saw 18 px, 3 past the hole's edges), GAN + 100 L1, no EMA. What was
# measured on it is labelled `pix2pix-inpaint-mnist, first preset...` and keeps its settings here.
FIRST_PRESET = ", first preset"
FIRST_INPAINT = ["model.blocks=null", "translate.adv_weight=1", "translate.perceptual_weight=0",
                 "translate.pixel_weight=100", NO_EMA]
# The second: the first preset's best setting at 1,500 steps (SRGAN's content loss, L1 30 + a perceptual
# loss 100, beside 4x the adversarial term), no EMA; its rows are `pix2pix-inpaint-mnist, second preset...`.
# Today's preset is pix2pix's L1 100 beside 8x the adversarial term, sampled from an EMA: the best at the
# full length.
SECOND_PRESET = ", second preset"
SECOND_INPAINT = ["translate.adv_weight=4", "translate.perceptual_weight=100", "translate.pixel_weight=30", NO_EMA]
# the first preset's best setting at 1,500 steps: a perceptual loss beside pix2pix's L1, L1 at 30 instead of 100
BEST_INPAINT = ["translate.perceptual_weight=100", "translate.pixel_weight=30"]
# the first preset and what was tried on it, each written as a change of it
FIRST_INPAINT_ROWS = [
    (INPAINT, INPAINT, []),
    ("pix2pix-inpaint-mnist, whole image repainted", INPAINT, [REPAINT]),
    # inpainting with SRGAN's content loss: a perceptual term beside pix2pix's L1, at the
    # same ratio to it (its twin is the same without the adversarial loss)
    ("pix2pix-inpaint-mnist, + perceptual loss 100", INPAINT,
     ["translate.perceptual_weight=100"]),
    ("pix2pix-inpaint-mnist, + perceptual loss 300", INPAINT,
     ["translate.perceptual_weight=300"]),
    # ... and with less say for L1, whose blur the adversarial term works against
    ("pix2pix-inpaint-mnist, + perceptual loss 100, L1 weight 30", INPAINT,
     BEST_INPAINT),
    ("pix2pix-inpaint-mnist, + perceptual loss 100, L1 weight 10", INPAINT,
     ["translate.perceptual_weight=100", "translate.pixel_weight=10"]),
    # the best inpainting setting judged by a D whose every logit sees the whole image (5x5
    # logits of 34 px fields; Iizuka et al. 2017's global discriminator) instead of 16 px patches
    ("pix2pix-inpaint-mnist, + perceptual loss 100, L1 weight 30, whole-image D",
     INPAINT, [*BEST_INPAINT, "model.d_layers=2"]),
    # ... and the preset judged so (its twin is the preset's)
    ("pix2pix-inpaint-mnist, whole-image D", INPAINT, ["model.d_layers=2"]),
    # D judges each filled digit with its label (a projection; G never sees the label): a
    # fill is real only as a digit of its own class, where a fill between two classes is
    # what the evaluator's features count against (its twin is the preset's)
    ("pix2pix-inpaint-mnist, class projection in D", INPAINT,
     ["translate.class_projection=true"]),
    # ... and the preset and that setting sampled from an EMA of G's weights (a half-life of
    # 10,000 images, 156 steps), each beside its twin with the same EMA
    *[(f"{label}, EMA", INPAINT, [*sets, EMA])
      for label, sets in ((INPAINT, []),
                          ("pix2pix-inpaint-mnist, + perceptual loss 100, L1 weight 30",
                           BEST_INPAINT))],
    # a stochastic G (noise beside the source, the mode-seeking term): the stroke a hole hid
    *[(f"pix2pix-inpaint-mnist, + perceptual loss 100, L1 weight 30, noise 8, mode seeking {w}",
       INPAINT, [*BEST_INPAINT, *noisy(w)])
      for w in ("1", "0.1", "0.03")],
    # the best inpainting setting with other adversarial games: hinge with spectral norm
    # in D (a better PSNR trade on the first search), least squares, RaGAN, and twice
    # the adversarial term's say (their twin is the best setting's own)
    *[(f"pix2pix-inpaint-mnist, + perceptual loss 100, L1 weight 30, {name}", INPAINT,
       [*BEST_INPAINT, *sets])
      for name, sets in (("hinge loss, spectral norm in D", ["loss.name=hinge",
                                                              "model.spectral_norm=true"]),
                         ("least squares loss", ["loss.name=lsgan"]),
                         ("relativistic loss", ["loss.name=relativistic"]),
                         ("adversarial weight 2", ["translate.adv_weight=2"]),
                         ("adversarial weight 4", ["translate.adv_weight=4"]),
                         ("adversarial weight 8", ["translate.adv_weight=8"]),
                         ("adversarial weight 4, D learning rate 4e-4",
                          ["translate.adv_weight=4", "optim.lr_d=4e-4"]),
                         ("adversarial weight 4, EMA", ["translate.adv_weight=4", EMA]),
                         ("adversarial weight 8, EMA", ["translate.adv_weight=8", EMA]),
                         # pix2pixHD's feature matching (Wang et al. 2018): G matches D's
                         # features of the target, a signal that does not saturate
                         ("adversarial weight 4, feature matching 10",
                          ["translate.adv_weight=4", "translate.feature_matching_weight=10"]),
                         ("feature matching 10", ["translate.feature_matching_weight=10"]),
                         ("relativistic loss, adversarial weight 2",
                          ["loss.name=relativistic", "translate.adv_weight=2"]))],
    # pix2pix's schedule (Isola et al. 2017: the learning rate constant, then linearly to 0
    # over the second half), which the inpainting preset does without: the preset, the best
    # setting and its weight 4 with it (the last one's twin is the second's)
    *[(f"{label}, linear lr decay", INPAINT, [*sets, "optim.schedule=linear"])
      for label, sets in ((INPAINT, []),
                          ("pix2pix-inpaint-mnist, + perceptual loss 100, L1 weight 30",
                           BEST_INPAINT),
                          ("pix2pix-inpaint-mnist, + perceptual loss 100, L1 weight 30, "
                           "adversarial weight 4", [*BEST_INPAINT, "translate.adv_weight=4"]))],
]


def on_preset(base: list[str], sets: list[str]) -> list[str]:
    """Overrides ``sets`` of an earlier inpainting preset as overrides of today's: ``base``'s settings
    (each that a later preset changed), each replaced by the row's own where it sets one."""
    keys = {s.split("=", 1)[0]: s for s in [*base, *sets]}
    return list(keys.values())


def on_first_preset(sets: list[str]) -> list[str]:
    """``sets`` of the first inpainting preset (FIRST_INPAINT) as overrides of today's."""
    return on_preset(FIRST_INPAINT, sets)


def as_preset(name: str, base: list[str], rows: list[tuple[str, str, list[str]]]) -> list[tuple[str, str, list[str]]]:
    """Rows of an earlier inpainting preset (``base``) as rows of today's, labelled ``name`` after the preset."""
    return [(label.replace(INPAINT, INPAINT + name, 1), preset, on_preset(base, sets))
            for label, preset, sets in rows]


# the second preset as it shipped, and with the adversarial term at 1 instead of 4
SECOND_INPAINT_ROWS = [(INPAINT, INPAINT, []),
                       ("pix2pix-inpaint-mnist, adversarial weight 1", INPAINT, ["translate.adv_weight=1"])]
# today's inpainting preset with one setting changed: sampled as trained (`no EMA`: its twin, L1 alone, is
# the baseline the aims are set against), and so with the adversarial term at 1 or 4; the term at 4 or 16
# beside the EMA; a longer EMA (a half-life of 50,000 images, held by ema.rampup to 5% of the images seen:
# 30,000, 470 steps, at the end); pix2pix's schedule (constant, then linearly to 0 over the second half);
# R1 in D (Mescheder et al. 2018: gamma/2 |grad D(target)|^2, the source held fixed), D's gradient kept
# smooth around the real images where more say for the adversarial term stopped paying (gamma 1 leaves D at
# 0.5 on both by 500 steps). A row whose twin is another's comes after it: twin_label takes the first.
INPAINT_ROWS = [(f"{INPAINT}, no EMA", INPAINT, [NO_EMA]),
                *[(f"{INPAINT}, adversarial weight {w}, no EMA", INPAINT, [f"translate.adv_weight={w}", NO_EMA])
                  for w in ("1", "4")],
                *[(f"{INPAINT}, adversarial weight {w}", INPAINT, [f"translate.adv_weight={w}"]) for w in ("4", "16")],
                (f"{INPAINT}, EMA half-life 50,000 images", INPAINT, ["ema.half_life=50000"]),
                (f"{INPAINT}, linear lr decay", INPAINT, ["optim.schedule=linear"]),
                *[(f"{INPAINT}, R1 {g}", INPAINT, ["reg.name=r1", f"reg.weight={g}"]) for g in ("0.01", "0.1")]]


# Translation rows past the presets, each beside its own twin
TRANSLATION_EXTRA = [*as_preset(FIRST_PRESET, FIRST_INPAINT, FIRST_INPAINT_ROWS),
                     *as_preset(SECOND_PRESET, SECOND_INPAINT, SECOND_INPAINT_ROWS),
                     *INPAINT_ROWS,
                     # CycleGAN with the class-consistency loss: MNIST's and Fashion-MNIST's labels hold
                     # digit k to garment k (an unpaired row: no twin)
                     *[(f"cyclegan-mnist2fashion, class consistency {w}", "cyclegan-mnist2fashion",
                        [f"translate.class_weight={w}"]) for w in ("1", "0.3", "0.1", "0.03")],
                     # each D judges an image with its class (projection), fakes with their source's
                     ("cyclegan-mnist2fashion, class projection", "cyclegan-mnist2fashion",
                      ["translate.class_projection=true"]),
                     # CycleGAN's identity loss holds G.ab to leave garments as they are: it favours
                     # outputs shaped like their inputs, which a digit-to-garment map must not keep
                     ("cyclegan-mnist2fashion, class consistency 0.1, no identity loss", "cyclegan-mnist2fashion",
                      ["translate.class_weight=0.1", "translate.identity_weight=0"]),
                     *[(f"cyclegan-mnist2fashion, class consistency {w} and projection, no identity loss",
                        "cyclegan-mnist2fashion", [f"translate.class_weight={w}", "translate.class_projection=true",
                                                   "translate.identity_weight=0"]) for w in ("0.1", "0.3")],
                     # the class-held preset with more say for the cycle loss, which holds each garment to
                     # the digit it must give back (10: the paper's, as the preset first shipped, at 6,000 steps)
                     *[(f"cyclegan-classes-mnist2fashion, cycle weight {w}", "cyclegan-classes-mnist2fashion",
                        [f"translate.cycle_weight={w}"]) for w in ("10", "5")],
                     # ... and at the plain preset's 5 epochs (18,750 steps), a length for a GPU
                     ("cyclegan-classes-mnist2fashion, 5 epochs", "cyclegan-classes-mnist2fashion",
                      ["train.steps=null"]),
                     # SRGAN with more or less say for the adversarial term (the preset's 1e-3 was set beside
                     # VGG features on photographs); its twin is the preset's
                     *[(f"srgan-sr4-mnist, adversarial weight {w}", "srgan-sr4-mnist", [f"translate.adv_weight={w}"])
                       for w in ("3e-4", "1e-2", "3e-2")],
                     # ... and with ESRGAN's relativistic average loss in place of the non-saturating one
                     ("srgan-sr4-mnist, relativistic loss", "srgan-sr4-mnist", ["loss.name=relativistic"]),
                     # ... and judged by a D of one logit that sees the whole image (70 px field), as SRGAN's
                     # D does, instead of 12x12 logits of 16 px patches (its twin is the preset's)
                     ("srgan-sr4-mnist, whole-image D", "srgan-sr4-mnist", ["model.d_layers=3"]),
                     # ... with three times the adversarial term's say, where the patch D's 1e-2 was worse (inpainting's
                     # GAN gained at the full length from twice its weight)
                     ("srgan-sr4-mnist, whole-image D, adversarial weight 3e-3", "srgan-sr4-mnist",
                      ["model.d_layers=3", "translate.adv_weight=3e-3"]),
                     # ... with the adversarial term on after 200 pixel-loss steps instead of 1,000 (SRGAN's
                     # pre-training was set for a million steps; at 1,500 it leaves the GAN 500)
                     ("srgan-sr4-mnist, whole-image D, warm-up 200", "srgan-sr4-mnist",
                      ["model.d_layers=3", "translate.warmup_steps=200"]),
                     # ... whose D wins outright by the full length (D(x) 0.9996, D(G(z)) 0.0004): held back
                     # by spectral norm, with the non-saturating loss or the hinge
                     ("srgan-sr4-mnist, whole-image D, warm-up 200, spectral norm in D", "srgan-sr4-mnist",
                      ["model.d_layers=3", "translate.warmup_steps=200", "model.spectral_norm=true"]),
                     ("srgan-sr4-mnist, whole-image D, warm-up 200, hinge loss, spectral norm in D",
                      "srgan-sr4-mnist", ["model.d_layers=3", "translate.warmup_steps=200",
                                          "model.spectral_norm=true", "loss.name=hinge"]),
                     # ... and judging each output with its digit's label (a projection; G never sees the
                     # label): a 7x7 input often leaves the digit open, and an output between two digits is
                     # what the evaluator's features count against
                     ("srgan-sr4-mnist, whole-image D, warm-up 200, class projection in D", "srgan-sr4-mnist",
                      ["model.d_layers=3", "translate.warmup_steps=200", "translate.class_projection=true"]),
                     # ... and sampled from an EMA of G's weights, which took inpainting's GAN from 4.8 to 4.5
                     ("srgan-sr4-mnist, whole-image D, EMA", "srgan-sr4-mnist", ["model.d_layers=3", EMA]),
                     # ... and, whose D wins outright by the full length (D(x) 0.9996, D(G(z)) 0.0004), with
                     # R1 in D
                     *[(f"srgan-sr4-mnist, whole-image D, R1 {g}", "srgan-sr4-mnist",
                        ["model.d_layers=3", "reg.name=r1", f"reg.weight={g}"]) for g in ("0.01", "0.1")],
                     # ... a D that tells the real batch from the fake by its BatchNorm statistics
                     # (tools/d_modes.py: mean logits 8.1 and -10.0 in train mode, -3.5 and -4.1 in eval
                     # mode): spectral norm in place of the BatchNorm, so D judges each image alone
                     ("srgan-sr4-mnist, whole-image D, spectral norm in D", "srgan-sr4-mnist",
                      ["model.d_layers=3", "model.spectral_norm=true"]),
                     # ... or without any normalization (the tutorial's D has none), or with InstanceNorm
                     # (CycleGAN's), which normalises each image alone
                     *[(f"srgan-sr4-mnist, whole-image D, {name} in D", "srgan-sr4-mnist",
                        ["model.d_layers=3", f"model.d_norm={norm}"])
                       for name, norm in (("no normalization", "none"), ("InstanceNorm", "instance"))],
                     # ... where without a norm it did worse (FID 7.4 against 6.4): the batch statistics were
                     # part of its signal. The spread of each group of 4 as a channel of its own (ProGAN's
                     # minibatch standard deviation), beside the BatchNorm
                     ("srgan-sr4-mnist, whole-image D, minibatch std in D", "srgan-sr4-mnist",
                      ["model.d_layers=3", "model.minibatch_std=true"]),
                     # ... judging the output alone, as SRGAN's D does, rather than beside its 7x7 source:
                     # a real digit downsampled gives its source exactly and an output only nearly, a tell
                     # the pixel loss already covers, which a D that sees the source can win on
                     ("srgan-sr4-mnist, whole-image D, unconditional D", "srgan-sr4-mnist",
                      ["model.d_layers=3", "translate.d_sees_source=false"]),
                     # a stochastic G (noise beside the source, the mode-seeking term) where the input leaves
                     # the target open: the hue of a grey digit, the stroke a hole hid
                     ("pix2pix-colorize-mnist, noise 8, mode seeking 1", "pix2pix-colorize-mnist", noisy("1")),
                     # ESRGAN's L1-only baseline, as l1-sr4-mnist is SRGAN's: its network and steps, no
                     # perceptual or adversarial loss (a row without a twin, being one)
                     ("esrgan-sr4-fashion, L1 only", "esrgan-sr4-fashion",
                      [NO_GAN, "translate.perceptual_weight=0", "translate.pixel_weight=1"])]
# ESRGAN's network interpolation (Wang et al. 2018, section 3.4): the GAN's share alpha of every
# weight, the rest its twin's; 0 is the twin and 1 the GAN, each as the translation section scores it
BLEND_PRESETS = ["esrgan-sr4-fashion"]
BLEND_ALPHAS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
FAST_PRESETS = ["mnist-fast", "dcgan-mnist", "cgan-projection-mnist"]
# mnist-fast without its k-means clusters of the train images (what the self-conditioning buys)
NO_CLUSTERS = ["model.conditioning=none", "model.clusters=0"]
# The 30-minute rows of mnist-fast and its variants were measured with its first EMA, a half-life
# of 10,000 images; the EMA does not change training, only the weights sampled
FIRST_EMA = [EMA]
FAST_EXTRA = [("mnist-fast, EMA half-life 10,000 images", "mnist-fast", [*FIRST_EMA, *OLD_LR]),
              ("mnist-fast without clusters", "mnist-fast", [*FIRST_EMA, *NO_CLUSTERS, *OLD_LR]),
              # the conditional recipe with the clusters in place of its labels
              ("cgan-projection-mnist, 50 pixel clusters for labels", "cgan-projection-mnist", ["model.clusters=50"]),
              # the preset's 100 clusters against the search's other leading counts at the full 30 minutes
              *[(f"mnist-fast, {k} pixel clusters", "mnist-fast", [*FIRST_EMA, f"model.clusters={k}", *OLD_LR])
                for k in (50, 200)]]
FAST_MINUTES = 30.0
# Settings that act late in a run, trained for the G steps the preset's seed-0 row made in its 30
# minutes (10,886), so a slower machine trains them as far: the preset itself (its EMA half-life of
# 100,000 images, which ema.rampup holds to 5% of the images seen, ~545 steps at the last one), and
# its first EMA (~80 steps) with the learning rate decayed linearly to 0 over the second half
# (SN-GAN's schedule, Miyato et al. 2018)
FAST_STEPS = 10886
FP32 = "train.precision=fp32"  # on a GPU, the arithmetic of the CPU rows rather than bf16
FAST_LATE = [(f"mnist-fast, {FAST_STEPS:,} steps", "mnist-fast", []),
             (f"mnist-fast, lr 2e-4, {FAST_STEPS:,} steps", "mnist-fast", OLD_LR),
             ("mnist-fast, lr decay over the second half", "mnist-fast",
              [*FIRST_EMA, "optim.schedule=linear", *OLD_LR]),
             # a still longer EMA: ema.rampup alone sets the half-life, 10% or 20% of the images seen
             # (seed 0: FID level at 10%, worse at 20%; recall falls as the average reaches back)
             *[(f"mnist-fast, EMA over {share:.0%} of the images seen", "mnist-fast",
                [f"ema.rampup={share}", "ema.half_life=1000000", *OLD_LR]) for share in (0.1, 0.2)],
             # Settings that cost no time per step, each on seeds 0-2 at the same G steps, trained on a
             # GPU in float32 (the CPU's arithmetic) beside the preset of then (lr 2e-4) trained there
             # likewise; the preset now has the lr 3e-4 of the second line
             *[(f"mnist-fast{name}, {FAST_STEPS:,} steps on a GPU in fp32", "mnist-fast", [*sets, FP32])
               for name, sets in [(", lr 2e-4", OLD_LR),
                                  (", lr 3e-4", ["optim.lr_g=3e-4", "optim.lr_d=3e-4"]),
                                  (", lr 4e-4", ["optim.lr_g=4e-4", "optim.lr_d=4e-4"]),
                                  (", D's lr 4e-4", ["optim.lr_d=4e-4", "optim.lr_g=2e-4"]),
                                  (", Adam beta2 0.99", ["optim.beta2=0.99", *OLD_LR]),
                                  (", non-saturating loss", ["loss.name=nonsaturating", *OLD_LR]),
                                  (", 200 pixel clusters", ["model.clusters=200", *OLD_LR])]]]

# The fast recipe's search, in the order it was run: each trial is the tutorial's DCGAN
# preset with these overrides, trained for the same budget on the MNIST train split.
# mnist-fast as the first trials chose it (the later betas (0, 0.9) trial is now in the preset too)
FIRST_FAST_SETTINGS = [EMA, "model.width=32", "loss.name=hinge", "model.spectral_norm=true",
                       "model.dropout=0"]
SN_BETAS = ["optim.beta1=0", "optim.beta2=0.9"]  # Adam's betas of the SN-GAN and projection papers
FAST_SETTINGS = [*FIRST_FAST_SETTINGS, *SN_BETAS]  # mnist-fast as shipped, but for its clusters
PROJECTION_SETTINGS = ["loss.name=hinge", "model.spectral_norm=true", "model.dropout=0", *SN_BETAS,
                       "train.batch_size=64"]
SEARCH = [
    ("dcgan-mnist as shipped", []),
    ("+ EMA", [EMA]),
    ("+ EMA, no dropout", [EMA, "model.dropout=0"]),
    ("+ EMA, batch 64", [EMA, "train.batch_size=64"]),
    ("+ EMA, TTUR 1e-4/4e-4", [EMA, "optim.lr_g=1e-4", "optim.lr_d=4e-4"]),
    ("+ EMA, minibatch std", [EMA, "model.minibatch_std=true"]),
    ("+ EMA, R1 gamma 1", [EMA, "reg.name=r1", "reg.weight=1"]),
    ("+ EMA, hinge + SN", [EMA, "loss.name=hinge", "model.spectral_norm=true"]),
    ("+ EMA, half width", [EMA, "model.width=32"]),
    ("mnist-fast: EMA, half width, hinge + SN, no dropout", FIRST_FAST_SETTINGS),
    # cgan-projection-mnist's settings (FID 10 in 30 minutes with labels), and without them;
    # measured on another machine than the lines above, beside mnist-fast measured again there
    ("mnist-fast, Adam betas (0, 0.9)", FAST_SETTINGS),
    ("cgan-projection-mnist's settings, no labels", PROJECTION_SETTINGS),
    ("cgan-projection-mnist's settings, with labels", [*PROJECTION_SETTINGS, "model.conditioning=projection"]),
    ("mnist-fast again, on the machine of the three trials above", FIRST_FAST_SETTINGS),
    # no labels, but G and D conditioned on k-means clusters of the train images (model.clusters)
    *[(f"cgan-projection-mnist's settings, {k} pixel clusters",
       [*PROJECTION_SETTINGS, "model.conditioning=projection", f"model.clusters={k}"]) for k in (10, 50, 100)],
    # the same clusters on mnist-fast's settings (the preset as shipped is the 50)
    *[(f"mnist-fast's settings, {k} pixel clusters",
       [*FAST_SETTINGS, "model.conditioning=projection", f"model.clusters={k}"])
      for k in (50, 100, 200)],
]

# The 2-D grid's search (seed 0, each gan-toy-grid or pacgan-toy-grid with these overrides);
# r1-toy-grid is the last line's settings. The first line is where it started.
TOY_SEARCH = [
    ("gan-toy-grid as shipped", "gan-toy-grid", []),
    ("linear lr decay", "gan-toy-grid", ["optim.schedule=linear"]),
    ("PacGAN2 + linear decay", "pacgan-toy-grid", ["optim.schedule=linear"]),
    ("R1 0.01 + linear", "gan-toy-grid", ["reg.name=r1", "reg.weight=0.01", "optim.schedule=linear"]),
    ("R1 0.1 + linear", "gan-toy-grid", ["reg.name=r1", "reg.weight=0.1", "optim.schedule=linear"]),
    ("R1 1 + linear", "gan-toy-grid", ["reg.name=r1", "reg.weight=1.0", "optim.schedule=linear"]),
    ("R1 0.1 + linear, no EMA", "gan-toy-grid",
     ["reg.name=r1", "reg.weight=0.1", "optim.schedule=linear", "ema.half_life=null"]),
    ("R1 0.1 + linear, lr 5e-4", "gan-toy-grid",
     ["reg.name=r1", "reg.weight=0.1", "optim.schedule=linear", "optim.lr_g=5e-4", "optim.lr_d=5e-4"]),
    ("PacGAN2 + R1 0.1 + linear", "pacgan-toy-grid", ["reg.name=r1", "reg.weight=0.1", "optim.schedule=linear"]),
    ("R1 0.1 + linear, 100 epochs", "gan-toy-grid",
     ["reg.name=r1", "reg.weight=0.1", "optim.schedule=linear", "train.epochs=100"]),
]

# What was tried to make the adversarial loss pay where it did not (seed 0, the same
# TRANSLATION_SEARCH_STEPS each): the inpainting and 4x super-resolution presets with these overrides.
TRANSLATION_SEARCH_STEPS = 1500
TRANSLATION_SEARCH = [
    # on the first inpainting preset (FIRST_INPAINT); G repaints every pixel, as it first did
    ("inpaint as first shipped: GAN + 100 L1", INPAINT, on_first_preset([REPAINT])),
    ("inpaint, no GAN loss", INPAINT, on_first_preset([NO_GAN, REPAINT])),
    ("inpaint, L1 weight 30", INPAINT, on_first_preset(["translate.pixel_weight=30", REPAINT])),
    ("inpaint, L1 weight 10", INPAINT, on_first_preset(["translate.pixel_weight=10", REPAINT])),
    ("inpaint, + D feature matching 10", INPAINT, on_first_preset(["translate.feature_matching_weight=10", REPAINT])),
    ("inpaint, hinge loss, spectral norm in D", INPAINT,
     on_first_preset(["loss.name=hinge", "model.spectral_norm=true", REPAINT])),
    # the known pixels pasted back over G's output (the preset now): losses, D and metrics
    # see only the filled hole
    ("inpaint, known pixels kept", INPAINT, on_first_preset([KEEP])),
    ("inpaint, known pixels kept, no GAN loss", INPAINT, on_first_preset([KEEP, NO_GAN])),
    # the hole's size sets how much of the digit is left to guess
    *[(f"inpaint, {k}x{k} hole, known pixels kept{twin}", INPAINT,
       on_first_preset([f"pair.hole={k}", KEEP, *sets]))
      for k in (8, 16) for twin, sets in (("", []), (", no GAN loss", [NO_GAN]))],
    ("sr4 SRGAN as shipped: 1e-3 GAN after 1,000 warm-up steps", "srgan-sr4-mnist", []),
    ("sr4, no GAN loss", "srgan-sr4-mnist", [NO_GAN]),
    ("sr4, 1e-2 GAN, no warm-up", "srgan-sr4-mnist", ["translate.adv_weight=1e-2", "translate.warmup_steps=0"]),
    ("sr4, 1e-1 GAN, no warm-up", "srgan-sr4-mnist", ["translate.adv_weight=1e-1", "translate.warmup_steps=0"]),
]
TRANSLATION_HELD_OUT = 5000  # test pairs a translation run is scored on

# The row each generated row is read against: real training images scored as if generated,
# with the section's protocol (sampling noise and the data's own class balance set it).
REAL = "real images (train split)"
FLOOR_SECTIONS = {"stacked": "pacdcgan-stacked-mnist", "fast": "mnist-fast"}
SEARCHES = ("search", "toy-search", "translation-search")  # seed 0 only; the page shows no grids of theirs

IMAGE_COLUMNS = ["fid", "kid_mean", "precision", "recall", "density", "coverage", "classes_covered", "kl_to_uniform"]


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------


def machine() -> str:
    """The CPU (or GPU) and threads the numbers were measured on."""
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (CUDA)"
    name = platform.processor() or platform.machine()
    try:
        name = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    threads = torch.get_num_threads()
    return f"{name}, {threads} thread{'s' if threads > 1 else ''}"


@functools.cache
def shipped(preset: str) -> C.Config:
    """A preset as it ships, read once: the rows ask it again and again, and only read it."""
    return presets.config(preset)


def configure(name: str, seed: int, minutes: float | None, overrides: list[str] = ()) -> C.Config:
    sets: dict = {"train.seed": seed, "log.tensorboard": False, "eval.every": None}
    if minutes:
        sets["train.max_minutes"] = minutes
    return presets.config(name, sets, overrides)


def score(name: str, cfg: C.Config, run: RunDir) -> dict:
    """The run's numbers with its own evaluation settings (eval.*), as gankit evaluate gives them."""
    sampler = gankit.load(run.path)
    if hasattr(sampler, "translate"):
        from gankit.metrics.translation import evaluate_translation

        result = evaluate_translation(sampler, cfg, n=TRANSLATION_HELD_OUT, seed=0)
        values = {"steps": sampler.step, "revision": result["protocol"]["revision"],
                  **{f"{col}/{k}": v for col, numbers in result["metrics"].items()
                     for k, v in numbers.items() if not isinstance(v, str)}}
    else:
        e = cfg.eval
        reference = Reference.for_run(cfg, e.evaluator, e.split, e.real_n)
        result = evaluate(sampler.sample, reference, n=e.n, metrics=parse_metrics(e.metrics), seed=e.seed)
        values = {"steps": sampler.step, "evaluator": result["protocol"]["evaluator"]["name"], **result["metrics"]}
    # as gankit evaluate leaves it, so that gankit report shows the run's numbers
    result["protocol"]["run"] = {"path": str(run.path), "checkpoint": None, "step": sampler.step}
    run.write_evaluation(result)
    return values


def measure(section: str, label: str, preset: str, seed: int, minutes: float | None, overrides: list[str],
            runs: Path, with_picture: bool) -> dict:
    """Train one run, score it, save its picture when asked; return its raw line."""
    if section == "translation-blend":
        return measure_blend(label, preset, seed, minutes, overrides, runs, with_picture)
    cfg, run, train_s = trained(section, label, preset, seed, minutes, overrides, runs)
    values = score(preset, cfg, run)
    if with_picture:
        save_picture(run, picture(section, label))
    return raw_line(section, label, preset, seed, minutes, overrides, train_s, run, values)


def trained(section: str, label: str, preset: str, seed: int, minutes: float | None, overrides: list[str],
            runs: Path) -> tuple[C.Config, RunDir, float]:
    """One run trained to its length in ``runs``: its config, folder and training seconds. A run of the
    same settings that a killed command left there is continued from its last checkpoint (a finished
    one only read)."""
    cfg = configure(preset, seed, minutes, overrides)
    run = RunDir(runs / run_name(section, label, minutes, overrides, seed))
    resume = run.has_checkpoint()
    differ = C.differing_keys(run.read_config().to_dict(), cfg.to_dict()) if resume else []
    if differ:
        raise SystemExit(f"{run.path} holds a run of other settings than {label!r} (seed {seed}: "
                         f"{', '.join(differ[:5])} differ); move it away or choose another --runs")
    run = run if resume else RunDir.create(run.path, preset)
    result = train(cfg, run, resume=resume, verbose=False)
    if result.interrupted:  # a run stopped short would stand on the page as if it had trained its length
        raise SystemExit(f"{label} (seed {seed}) was stopped at step {result.step}; not recorded. "
                         "Run the same command again to measure it.")
    # the training steps' own time (train.max_minutes counts the same), an interrupted part
    # included: the same for a run trained at once or continued, and for runs that share a machine
    # or a GPU with others (their set-up, pictures and checkpoints excluded)
    return cfg, run, run.load_checkpoint()["train_seconds"]


def blend_label(preset: str, alpha: float) -> str:
    return f"{preset}, alpha {alpha:g}"


def measure_blend(label: str, preset: str, seed: int, minutes: float | None, overrides: list[str], runs: Path,
                  with_picture: bool) -> dict:
    """The blend of ``preset``'s GAN and twin at ``label``'s alpha, scored; the two runs are the translation
    section's own folders in ``runs``, trained there first when missing. Its minutes are both trainings'."""
    alpha = float(label.rsplit(" ", 1)[1])
    # both runs' training steps' own time, the same whether they were trained now or before
    _, gan, gan_s = trained("translation", preset, preset, seed, minutes, overrides, runs)
    _, twin, twin_s = trained("translation", preset + TWIN, preset, seed, minutes, [NO_GAN, *overrides], runs)
    seconds = gan_s + twin_s
    out = runs / run_name("translation-blend", label, minutes, overrides, seed)
    if out.exists():  # a blend left by a killed command: remade in seconds
        shutil.rmtree(out)
    mixed = blend(twin.path, gan.path, alpha, out)
    values = score(preset, mixed.read_config(), mixed)
    if with_picture and alpha == BLEND_ALPHAS[-1]:
        save_blend_picture(preset, seed, minutes, overrides, runs)
    return {**raw_line("translation-blend", label, preset, seed, minutes, overrides, seconds, gan, values),
            "alpha": alpha}


def save_blend_picture(preset: str, seed: int, minutes: float | None, overrides: list[str], runs: Path,
                       n: int = 8) -> None:
    """One held-out test image a row: the input (enlarged) | the blend at each alpha | the real image."""
    from gankit.metrics.translation import held_out

    models = [gankit.load(runs / run_name("translation-blend", blend_label(preset, a), minutes, overrides, seed))
              for a in BLEND_ALPHAS]
    data = held_out(models[0].config, n, seed=0)
    outputs = [m.translate(data["sources"]) for m in models]  # each uint8 [n, C, H, W]
    shape = tuple(outputs[0].shape[1:])
    columns = [viz.as_target(data["sources"], shape), *outputs, data["targets"]]
    path = picture("translation-blend", preset)
    path.parent.mkdir(parents=True, exist_ok=True)
    viz.save_grid(torch.stack(columns, 1).flatten(0, 1), path, nrow=len(columns))


def run_name(section: str, label: str, minutes: float | None, overrides: list[str], seed: int) -> str:
    """A run's folder: the same label trained to another length is another folder."""
    steps = [o.split("=", 1)[1] for o in overrides if o.startswith("train.steps=")]
    length = f"{steps[-1]}steps" if steps else f"{minutes:g}min" if minutes else "full"
    return f"{section}-{label}-{length}-seed{seed}".replace(" ", "_").replace("/", "_")


def floor(section: str, preset: str) -> dict:
    """The protocol's floor, as a raw line: the first eval.n training images of ``preset``'s dataset
    scored against its reference (eval.split, eval.real_n) with its metrics, as if generated."""
    cfg = shipped(preset)
    e = cfg.eval
    reference = Reference.for_run(cfg, e.evaluator, e.split, e.real_n)
    real = Reference.for_run(cfg, e.evaluator, "train", e.n)
    values = compute(parse_metrics(e.metrics), reference.embedding, real.embedding, seed=e.seed)
    return {"section": section, "label": REAL, "preset": preset, "seed": 0, "minutes": None, "overrides": [],
            "machine": machine(), "train_s": None, "epochs": None, "steps": None,
            "evaluator": reference.evaluator.name, **values}


def add(section: str, path: str, label: str | None) -> dict:
    """Score a finished run trained outside this script (the README's first command, a GPU job) with
    its own evaluation settings and return its raw line. Its minutes are the training steps' own
    time from the checkpoint (evaluation and sample grids excluded)."""
    run = RunDir.open(path)
    cfg = run.read_config()
    seconds = run.load_checkpoint().get("train_seconds")
    values = score(cfg.name, cfg, run)
    label = label or cfg.name
    if cfg.train.seed == 0:
        save_picture(run, picture(section, label))
    return raw_line(section, label, cfg.name, cfg.train.seed, cfg.train.max_minutes, [], seconds, run, values)


def raw_line(section: str, label: str, preset: str, seed: int, minutes: float | None, overrides: list[str],
             train_s: float | None, run: RunDir, values: dict) -> dict:
    """One run's line in benchmarks/measured/results/<section>.jsonl: what ran, where, how long, its numbers."""
    return {"section": section, "label": label, "preset": preset, "seed": seed, "minutes": minutes,
            "overrides": overrides, "machine": machine(), "train_s": round(train_s, 1) if train_s else None,
            "epochs": round(values["steps"] / max(1, _steps_per_epoch(run)), 2), **values}


def _steps_per_epoch(run: RunDir) -> int:
    records = [r for r in run.read_metrics() if "epoch" in r and r.get("epoch")]
    return round(records[-1]["step"] / records[-1]["epoch"]) if records else 1


def save_picture(run: RunDir, path: Path) -> None:
    """Seed 0's samples as the page shows them: the report's final-samples picture."""
    from gankit.report.contents import read_run

    samples = read_run(run.path).samples
    if samples is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        viz.save_picture(samples.picture, path)


def slug(label: str) -> str:
    """A run's label as a file name: 'pix2pix-inpaint-mnist, no GAN loss' -> 'pix2pix-inpaint-mnist-no-gan-loss'."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def picture(section: str, label: str) -> Path:
    """Where a run's picture is kept: one folder a section, as a preset may stand in several."""
    return IMAGES / section / f"{slug(label)}.png"


def done(section: str) -> list[dict]:
    path = RAW / f"{section}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def first_protocol(line: dict) -> bool:
    """Whether a paired translation line was scored by the first protocol, whose FID reference was the
    test split's second half (MNIST's halves come from different writers): the page shows such lines
    apart, and a run asks to be measured again."""
    return (line["section"].startswith("translation") and line.get("revision", 1) < REVISION
            and shipped(line["preset"]).pair.kind != "unpaired")


def record(section: str, line: dict) -> None:
    RAW.mkdir(parents=True, exist_ok=True)
    with open(RAW / f"{section}.jsonl", "a") as f:
        f.write(json.dumps(line) + "\n")


def listed(presets: list[str], trials: list[tuple[str, str, list[str]]] = (),
           minutes: float | None = None) -> list[tuple[str, str, list[str], float | None]]:
    """Each preset as shipped, then each (label, preset, overrides) trial, all with one budget."""
    return [(p, p, [], minutes) for p in presets] + [(label, p, sets, minutes) for label, p, sets in trials]


def translation_length(args: argparse.Namespace, minutes: float | None) -> tuple[list[str], float | None]:
    """The translation sections' length: --steps N G steps (the overrides), else the budget or --full."""
    return ([f"train.steps={args.steps}"], None) if args.steps else ([], minutes)


def jobs(section: str, args: argparse.Namespace) -> list[tuple[str, str, list[str], float | None]]:
    """(label, preset, overrides, minutes) of every run of a section."""
    minutes = None if args.full else args.minutes
    if section == "image":
        return listed(IMAGE_PRESETS, IMAGE_EXTRA, minutes)
    if section == "toy":
        return listed(TOY_PRESETS)
    if section == "toy-search":
        return listed([], TOY_SEARCH)
    if section == "stacked":
        return listed(STACKED_PRESETS, STACKED_EXTRA, minutes)
    if section == "search":
        return [(label, "dcgan-mnist", sets, args.search_minutes) for label, sets in SEARCH]
    if section == "fast":
        at_steps = ["train.max_minutes=null", f"train.steps={FAST_STEPS}"]
        return listed(FAST_PRESETS, FAST_EXTRA, FAST_MINUTES) + [(label, p, [*sets, *at_steps], None)
                                                                 for label, p, sets in FAST_LATE]
    if section == "translation-search":
        steps = [f"train.steps={TRANSLATION_SEARCH_STEPS}"]
        return [(label, preset, [*sets, *steps], None) for label, preset, sets in TRANSLATION_SEARCH]
    if section == "translation":  # each paired preset beside its twin at the same number of steps
        steps, minutes = translation_length(args, minutes)
        # An unpaired (cycle) preset has no twin: without its adversarial loss nothing pulls its
        # outputs toward the other domain (cycle and identity losses alone are met by the identity map).
        rows = translation_rows()
        twins = [(label + TWIN, p, [*sets, NO_GAN, *steps], minutes) for label, p, sets in rows
                 if row_kind(p, sets) == "gan" and twin_label(label, p, sets) == label + TWIN]
        return [(label, p, [*sets, *steps], minutes) for label, p, sets in rows] + twins
    if section == "translation-blend":  # at the translation section's lengths
        steps, minutes = translation_length(args, minutes)
        return [(blend_label(p, a), p, steps, minutes) for p in BLEND_PRESETS for a in BLEND_ALPHAS]
    raise SystemExit(f"unknown section {section!r}")


def measured(section: str) -> set[tuple]:
    """(setting..., seed) of every run the section has recorded (by the current protocol)."""
    return {(*setting(d["label"], d["minutes"], d["overrides"]), d["seed"]) for d in done(section)
            if not first_protocol(d)}


def run_section(section: str, args: argparse.Namespace) -> None:
    runs = Path(args.runs or tempfile.mkdtemp(prefix="gankit-results-"))
    seeds = [0] if section in SEARCHES else args.seeds
    wanted = not args.only or REAL in args.only
    if section in FLOOR_SECTIONS and wanted and (*setting(REAL, None, []), 0) not in measured(section):
        record(section, floor(section, FLOOR_SECTIONS[section]))
    for label, preset, overrides, minutes in jobs(section, args):
        if args.only and label not in args.only:
            continue
        for seed in seeds:
            # asked again before each run: another command may have recorded it since this one started
            if (*setting(label, minutes, overrides), seed) in measured(section):
                continue
            with_picture = seed == 0 and section not in SEARCHES
            line = measure(section, label, preset, seed, minutes, overrides, runs, with_picture)
            record(section, line)
            print(json.dumps(line), file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# the page
# ---------------------------------------------------------------------------


def cell(values: list, coarse: bool = False) -> str:
    """Mean ± half the range of a column over seeds; counts as whole numbers; ``coarse``: one decimal."""
    values = [v for v in values if v is not None]
    if not values:
        return ""
    m = statistics.mean(values)
    whole = all(isinstance(v, int) for v in values)
    fmt = (lambda v: f"{v:.1f}") if whole or coarse or abs(m) >= 10 else (lambda v: f"{v:.3f}")
    if len(set(values)) == 1:
        return str(values[0]) if whole else fmt(values[0])
    spread = fmt((max(values) - min(values)) / 2)
    return fmt(m) if float(spread) == 0 else f"{fmt(m)} ± {spread}"  # no "± 0.0" for float noise


def setting(label: str, minutes: float | None, overrides: list[str]) -> tuple:
    """What makes runs the same but for their seed: a label trained to another length is another row."""
    return label, minutes, tuple(overrides)


def grouped(lines: list[dict]) -> dict[tuple, list[dict]]:
    """Runs of one setting, over their seeds, in the order first measured."""
    out: dict[tuple, list[dict]] = {}
    for line in lines:
        out.setdefault(setting(line["label"], line["minutes"], line["overrides"]), []).append(line)
    return out


def minutes_of(line: dict) -> float | None:
    return line["train_s"] / 60 if line.get("train_s") else None


def table(lines: list[dict], columns: list[str], extra: dict[str, str] | None = None) -> list[str]:
    head = ["run", "seeds", "G steps", "epochs", "minutes", *columns] + (["published"] if extra else [])
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for (label, _, _), runs in grouped(lines).items():
        cells = [f"`{label}`", str(len(runs)), cell([r["steps"] for r in runs]),
                 cell([r["epochs"] for r in runs], coarse=True),
                 cell([minutes_of(r) for r in runs], coarse=True), *[cell([r.get(c) for r in runs]) for c in columns]]
        if extra is not None:
            cells.append(extra.get(label, ""))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def image(section: str, label: str) -> str:
    return f"![{label}](images/results/{section}/{slug(label)}.png)"


def twin_order(line: dict) -> tuple:
    """Translation rows: preset by preset as the section lists them, each length's preset above its
    variants, and each GAN run above its twin."""
    known = line["preset"] in TRANSLATION_PRESETS
    base = line["label"].removesuffix(TWIN)
    labels = [label for label, _, _ in translation_rows()]
    return (TRANSLATION_PRESETS.index(line["preset"]) if known else len(TRANSLATION_PRESETS), line["steps"],
            base != line["preset"], labels.index(base) if base in labels else len(labels),
            line["label"].endswith(TWIN))


def translation_rows() -> list[tuple[str, str, list[str]]]:
    """(label, preset, overrides) of every translation row but the twins."""
    return [(p, p, []) for p in TRANSLATION_PRESETS] + TRANSLATION_EXTRA


def row_kind(preset: str, overrides: list[str]) -> str:
    """A translation row's kind: "unpaired" (a cycle: no twin), "pixel" (a paired baseline without the
    adversarial loss: no twin, it is one) or "gan" (a paired row beside its twin)."""
    cfg = shipped(preset)
    if cfg.pair.kind == "unpaired":
        return "unpaired"
    return "pixel" if NO_GAN in overrides or cfg.translate.adv_weight == 0 else "gan"


def twin_label(label: str, preset: str, overrides: list[str]) -> str:
    """A GAN row's twin: its own, or that of the row it differs from only in ``ADVERSARIAL_ONLY``
    overrides (the adversarial loss, its weight, D's depth: without an adversarial loss these are one run)."""
    rest = without_adversarial(overrides)
    if rest == overrides:
        return label + TWIN
    return next((other for other, p, sets in translation_rows()
                 if p == preset and without_adversarial(sets) == rest), label) + TWIN


def without_adversarial(overrides: list[str]) -> list[str]:
    return [s for s in overrides if not s.startswith(ADVERSARIAL_ONLY)]


def side_by_side(lines: list[dict]) -> list[str]:
    """Each translation preset's (and variant's) seed-0 grid beside its twin's (source | output | target),
    captioned with the length of the seed-0 run recorded last, the one whose picture is kept; ``lines``
    in the order recorded."""
    latest = {d["label"]: d for d in lines if d["seed"] == 0}
    rows = ["| run | with the adversarial loss | pixel and content losses only |", "| --- | --- | --- |"]
    for base in dict.fromkeys(line["label"].removesuffix(TWIN) for line in sorted(lines, key=twin_order)):
        row = next(((p, sets) for label, p, sets in translation_rows() if label == base), None)
        cells = []
        for label in (base, twin_label(base, *row) if row else base + TWIN):
            shown = picture("translation", label).exists() and label in latest
            cells.append(f"{image('translation', label)}<br>{latest[label]['steps']} G steps" if shown else "")
        if row and row_kind(*row) == "pixel":  # a baseline: its grid in the pixel-loss column
            cells = [cells[1], cells[0]]
        if any(cells):
            rows.append(f"| `{base}` | " + " | ".join(cells) + " |")
    return rows + [""] if len(rows) > 2 else []


FIRST_PROTOCOL = ("Scored by the translation protocol's first revision, kept as measured: its held-out pairs were "
                  "the test split's first 5,000 and its FID reference the next 5,000, which on MNIST come from "
                  "other writers (real digits score FID 37 against them; 4 with the second revision's interleaved "
                  "halves). Their MNIST FIDs stand on that floor: read them against each other, not against rows "
                  "of the second revision.")
FIRST_PROTOCOL_NEW = ("real/fid", "real/accuracy")  # columns the first revision did not have


def translation_tables(section: str, lines: list[dict], columns: list[str]) -> list[str]:
    """A translation section: its table, the first protocol's rows in a table of their own, the pictures."""
    current = [d for d in lines if not first_protocol(d)]
    first = [d for d in lines if first_protocol(d)]
    if section == "translation":
        current, first = sorted(current, key=twin_order), sorted(first, key=twin_order)
    parts = table(current, columns) + [""] if current else []
    if first:
        parts += [FIRST_PROTOCOL, "", *table(first, [c for c in columns if c not in FIRST_PROTOCOL_NEW]), ""]
    if section == "translation":
        parts += side_by_side(lines)
    if section == "translation-blend":  # one picture a preset: the input, each alpha, the real image
        shown = dict.fromkeys(line["preset"] for line in lines)
        caption = " | ".join(["input", *(f"alpha {a:g}" for a in BLEND_ALPHAS), "real"])
        parts += [f"**{p}**: {caption}\n\n{image(section, p)}\n" for p in shown if picture(section, p).exists()]
    return parts


def machines(*sections: str) -> str:
    names = sorted({d["machine"] for s in sections for d in done(s)})
    return "; ".join(names) if names else "not measured yet"


def render() -> str:
    parts = [(ROOT / "tools" / "results_intro.md").read_text().rstrip(), ""]
    for section, title, columns, published in SECTIONS:
        lines = done(section)
        parts += [f"## {title}", "", SECTION_TEXT[section].rstrip(), ""]
        if not lines:
            parts += ["Not measured yet.", ""]
            continue
        parts += [f"Machine: {machines(section)}.", ""]
        if section.startswith("translation"):
            parts += translation_tables(section, lines, columns)
            continue
        lines = sorted(lines, key=lambda d: d["label"] != REAL)  # the floor above the runs read against it
        parts += table(lines, columns, published) + [""]
        if section not in SEARCHES:
            labels = dict.fromkeys(line["label"] for line in lines)
            parts += [f"**{lab}**\n\n{image(section, lab)}\n" for lab in labels if picture(section, lab).exists()]
    parts += ["## Reproducing this page", "", "```bash", "python tools/results.py all", "```", ""]
    return "\n".join(parts)


TOY_PUBLISHED = {"gan-toy-ring": "GAN 1 of 8 (VEEGAN Table 1); PacGAN2 7.9 of 8, 95.6% (PacGAN Table 1)",
                 "gan-toy-grid": "PacGAN2 23.8 of 25, 91.3% (PacGAN Table 1)",
                 "pacgan-toy-grid": "PacGAN2 23.8 of 25, 91.3% (PacGAN Table 1)",
                 "r1-toy-ring": "PacGAN2 7.9 of 8, 95.6% (PacGAN Table 1)",
                 "r1-toy-grid": "PacGAN2 23.8 of 25, 91.3% (PacGAN Table 1)"}
PACDCGAN2 = "PacDCGAN2 1000 / 0.06 (PacGAN Table 2)"
STACKED_PUBLISHED = {"dcgan-stacked-mnist": "DCGAN 99 / 3.4 (VEEGAN Table 2); PacDCGAN 1000 / 0.06 (PacGAN Table 2)",
                     "pacdcgan-stacked-mnist": PACDCGAN2, "pacgan-sn-stacked-mnist": PACDCGAN2}
# real/: the real targets scored as outputs, the floor of FID and the ceiling of accuracy
TRANSLATION_COLUMNS = ["model/fid", "input/fid", "real/fid", "model/psnr", "input/psnr", "model/ssim",
                       "model/accuracy", "input/accuracy", "real/accuracy", "model/saturation", "real/saturation",
                       "model/diversity", "model/class_purity", "model/cycle_psnr"]
SECTIONS = [
    ("image", "MNIST and Fashion-MNIST", IMAGE_COLUMNS, None),
    ("toy", "2-D mixtures", ["modes_captured", "high_quality"], TOY_PUBLISHED),
    ("toy-search", "2-D grid: the search", ["modes_captured", "high_quality"], None),
    ("stacked", "Stacked MNIST (1,000 modes)", ["modes_covered", "kl_to_uniform"], STACKED_PUBLISHED),
    ("search", "The fast CPU recipe: the search", IMAGE_COLUMNS, None),
    ("fast", "The fast CPU recipe: 30 minutes", IMAGE_COLUMNS, None),
    ("translation", "Translation and enhancement", TRANSLATION_COLUMNS, None),
    ("translation-search", "Translation and enhancement: the search", TRANSLATION_COLUMNS[:9], None),
    ("translation-blend", "Translation and enhancement: network interpolation",
     ["model/fid", "model/psnr", "model/ssim", "model/accuracy"], None),
]
SECTION_TEXT = {s: (ROOT / "tools" / "results_text" / f"{s}.md").read_text()
                if (ROOT / "tools" / "results_text" / f"{s}.md").exists() else "" for s, *_ in SECTIONS}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["all", "run", "add", "render"])
    p.add_argument("section", nargs="?", choices=[name for name, *_ in SECTIONS],
                   help="with run or add: the section")
    p.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="with add: finished runs to score and record")
    p.add_argument("--label", help="with add: the label to record (default: the run's preset)")
    p.add_argument("--minutes", type=float, default=10.0, help="training budget of each run on a CPU (default 10)")
    p.add_argument("--search-minutes", type=float, default=10.0, help="budget of each search trial (default 10)")
    p.add_argument("--full", action="store_true", help="train each preset to its own length instead (a GPU)")
    p.add_argument("--steps", type=int, help="translation: this many G steps for each preset and its twin "
                   "instead of a budget in minutes")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--runs", help="keep the run folders here (default: a temporary folder)")
    p.add_argument("--only", nargs="+", metavar="LABEL", help="with run: only these runs of the section")
    args = p.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if args.what == "run":
        run_section(args.section, args)
    elif args.what == "add":
        for path in args.run_dirs:
            line = add(args.section, path, args.label)
            record(args.section, line)
            print(json.dumps(line), file=sys.stderr, flush=True)
    elif args.what == "all":
        for section, *_ in SECTIONS:
            run_section(section, args)
    PAGE.write_text(render())


if __name__ == "__main__":
    main()
