"""What docs/results.md measures: every preset and every variant tried, section by section.

A preset run as shipped is listed by its name (``*_PRESETS``); every other run is a row
``(label, preset, overrides)``: the label names it on the page and in
benchmarks/measured/results/, the preset is a shipped config, and the overrides are ``--set``
values on top of it. A comment above each row says why it was tried, so the list reads as
the record of the search. tools/results.py trains, scores and renders these rows; this file
holds only what is run, not how.
"""

from __future__ import annotations

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
# overrides a twin does without (it trains no D); the length of a pixel-loss warm-up
# (translate.warmup_loss=pixel) is the twin's too, so results.py keeps it
ADVERSARIAL_ONLY = ("translate.adv_weight=", "loss.name=", "model.d_layers=", "model.spectral_norm=", "model.d_norm=",
                    "model.minibatch_std=", "translate.d_sees_source=", "translate.warmup_steps=", "optim.lr_d=",
                    "translate.feature_matching_weight=", "translate.class_projection=", "reg.name=", "reg.weight=",
                    "reg.every=")


def noisy(weight: str) -> list[str]:
    """A stochastic G: 8 noise channels beside the source, held to use them by the mode-seeking term."""
    return ["model.noise_channels=8", f"translate.diversity_weight={weight}"]


ESRGAN = "esrgan-sr4-fashion"
UNCOND_D = ("model.d_layers=3", "translate.d_sees_source=false")  # sr4: a whole-image D judging the output alone
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
    """Overrides ``sets`` of an earlier version of a preset as overrides of today's: ``base``'s settings
    (each that a later preset changed), each replaced by the row's own where it sets one."""
    keys = {s.split("=", 1)[0]: s for s in [*base, *sets]}
    return list(keys.values())


def on_first_preset(sets: list[str]) -> list[str]:
    """``sets`` of the first inpainting preset (FIRST_INPAINT) as overrides of today's."""
    return on_preset(FIRST_INPAINT, sets)


def as_preset(name: str, base: list[str], rows: list[tuple[str, str, list[str]]]) -> list[tuple[str, str, list[str]]]:
    """Rows of an earlier version of their preset (``base``) as rows of today's, labelled ``name`` after
    the preset's name."""
    return [(label.replace(preset, preset + name, 1), preset, on_preset(base, sets))
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


# The SRGAN preset as first shipped: a conditional PatchGAN (12x12 logits of 16 px patches, each judging
# the output beside its 7x7 source) and the paper's 1e-4. Today's D judges the whole output alone, as
# SRGAN's D does, and both nets learn at 2e-4: the paper's rate is for 10^5 steps a phase, and in these
# 10 epochs twice it trains further (L1 alone: FID 6.0 against 8.1 at 1e-4). The baseline l1-sr4-mnist
# moved to 2e-4 with it. What was measured on the first presets is labelled `..., first preset...` and
# keeps its settings here.
SRGAN, L1_SR4 = "srgan-sr4-mnist", "l1-sr4-mnist"
FIRST_SRGAN = ["model.d_layers=null", "translate.d_sees_source=true", "optim.lr_g=1e-4", "optim.lr_d=1e-4"]
FIRST_L1_SR4 = ["optim.lr_g=1e-4", "optim.lr_d=1e-4"]
# the first SRGAN preset and what was tried on it, each written as a change of it
FIRST_SRGAN_ROWS = [
    (SRGAN, SRGAN, []),
    # SRGAN with more or less say for the adversarial term (the preset's 1e-3 was set beside
    # VGG features on photographs); its twin is the preset's
    *[(f"srgan-sr4-mnist, adversarial weight {w}", SRGAN, [f"translate.adv_weight={w}"])
      for w in ("3e-4", "1e-2", "3e-2")],
    # ... and with ESRGAN's relativistic average loss in place of the non-saturating one
    ("srgan-sr4-mnist, relativistic loss", SRGAN, ["loss.name=relativistic"]),
    # ... and judged by a D of one logit that sees the whole image (70 px field), as SRGAN's
    # D does, instead of 12x12 logits of 16 px patches (its twin is the preset's)
    ("srgan-sr4-mnist, whole-image D", SRGAN, ["model.d_layers=3"]),
    # ... with three times the adversarial term's say, where the patch D's 1e-2 was worse (inpainting's
    # GAN gained at the full length from twice its weight)
    ("srgan-sr4-mnist, whole-image D, adversarial weight 3e-3", SRGAN,
     ["model.d_layers=3", "translate.adv_weight=3e-3"]),
    # ... with the adversarial term on after 200 pixel-loss steps instead of 1,000 (SRGAN's
    # pre-training was set for a million steps; at 1,500 it leaves the GAN 500)
    ("srgan-sr4-mnist, whole-image D, warm-up 200", SRGAN,
     ["model.d_layers=3", "translate.warmup_steps=200"]),
    # ... whose D wins outright by the full length (D(x) 0.9996, D(G(z)) 0.0004): held back
    # by spectral norm, with the non-saturating loss or the hinge
    ("srgan-sr4-mnist, whole-image D, warm-up 200, spectral norm in D", SRGAN,
     ["model.d_layers=3", "translate.warmup_steps=200", "model.spectral_norm=true"]),
    ("srgan-sr4-mnist, whole-image D, warm-up 200, hinge loss, spectral norm in D", SRGAN,
     ["model.d_layers=3", "translate.warmup_steps=200", "model.spectral_norm=true", "loss.name=hinge"]),
    # ... and judging each output with its digit's label (a projection; G never sees the
    # label): a 7x7 input often leaves the digit open, and an output between two digits is
    # what the evaluator's features count against
    ("srgan-sr4-mnist, whole-image D, warm-up 200, class projection in D", SRGAN,
     ["model.d_layers=3", "translate.warmup_steps=200", "translate.class_projection=true"]),
    # ... and sampled from an EMA of G's weights, which took inpainting's GAN from 4.8 to 4.5
    ("srgan-sr4-mnist, whole-image D, EMA", SRGAN, ["model.d_layers=3", EMA]),
    # ... and, whose D wins outright by the full length (D(x) 0.9996, D(G(z)) 0.0004), with
    # R1 in D
    *[(f"srgan-sr4-mnist, whole-image D, R1 {g}", SRGAN,
       ["model.d_layers=3", "reg.name=r1", f"reg.weight={g}"]) for g in ("0.01", "0.1")],
    # ... a D that tells the real batch from the fake by its BatchNorm statistics
    # (tools/d_modes.py: mean logits 8.1 and -10.0 in train mode, -3.5 and -4.1 in eval
    # mode): spectral norm in place of the BatchNorm, so D judges each image alone
    ("srgan-sr4-mnist, whole-image D, spectral norm in D", SRGAN,
     ["model.d_layers=3", "model.spectral_norm=true"]),
    # ... or without any normalization (the tutorial's D has none), or with InstanceNorm
    # (CycleGAN's), which normalises each image alone
    *[(f"srgan-sr4-mnist, whole-image D, {name} in D", SRGAN,
       ["model.d_layers=3", f"model.d_norm={norm}"])
      for name, norm in (("no normalization", "none"), ("InstanceNorm", "instance"))],
    # ... where without a norm it did worse (FID 7.4 against 6.4): the batch statistics were
    # part of its signal. The spread of each group of 4 as a channel of its own (ProGAN's
    # minibatch standard deviation), beside the BatchNorm
    ("srgan-sr4-mnist, whole-image D, minibatch std in D", SRGAN,
     ["model.d_layers=3", "model.minibatch_std=true"]),
    # ... judging the output alone, as SRGAN's D does, rather than beside its 7x7 source:
    # a real digit downsampled gives its source exactly and an output only nearly, a tell
    # the pixel loss already covers, which a D that sees the source can win on
    ("srgan-sr4-mnist, whole-image D, unconditional D", SRGAN, [*UNCOND_D]),
    # ... pre-trained as SRGAN's G is, on the pixel loss alone (the preset's warm-up trains the
    # perceptual loss too); then with the preset's content loss, or with SRGAN's, the
    # perceptual loss without L1, whose pull toward the mean of the digits a 7x7 source
    # allows no longer holds the adversarial term back
    ("srgan-sr4-mnist, whole-image D, unconditional D, pixel warm-up", SRGAN,
     [*UNCOND_D, "translate.warmup_loss=pixel"]),
    ("srgan-sr4-mnist, whole-image D, unconditional D, content loss without L1", SRGAN,
     [*UNCOND_D, "translate.warmup_loss=pixel", "translate.pixel_weight=0"]),
    # ... where what is left of its FID is recall, not precision (the unconditional D row: 0.888
    # and 0.838 in the evaluator's features, real targets 0.884 and 0.879): one output per 7x7
    # source cannot spread as the digits that give that source do. A stochastic G, held to
    # use its noise by the mode-seeking term at a weight beside the pixel loss's 1 (the
    # colorize row's 1 stands beside an L1 weight of 100; inpainting's 0.03 beside 30 drew specks)
    *[(f"srgan-sr4-mnist, whole-image D, unconditional D, noise 8, mode seeking {w}", SRGAN,
       [*UNCOND_D, *noisy(w)]) for w in ("0.003", "0.001")],
    # ... where the pixel distance is moved most cheaply by specks (0.003: specks in the
    # first epoch's grid, and D(G(z)) 0.05 against 0.10 after 200 adversarial steps): the distance
    # between two outputs in the perceptual loss's frozen network instead (no better: as
    # ragged in its first epoch, L1 0.110 at step 750 against 0.113 and deterministic 0.081)
    ("srgan-sr4-mnist, whole-image D, unconditional D, noise 8, mode seeking 0.003 in features", SRGAN,
     [*UNCOND_D, *noisy("0.003"), "translate.diversity_space=perceptual"]),
    # ... and three times the adversarial term's say against it: against the D that sees the
    # source 3e-3 was worse (7.9), but that D won outright by the end and this one does not
    ("srgan-sr4-mnist, whole-image D, unconditional D, adversarial weight 3e-3", SRGAN,
     [*UNCOND_D, "translate.adv_weight=3e-3"]),
    # ... and a stochastic G held by the best of two outputs (translate.best_of=2): where the
    # mode-seeking term rewards any difference between two outputs, and specks are the cheapest,
    # only a difference that brings one of them nearer the target pays here
    ("srgan-sr4-mnist, whole-image D, unconditional D, noise 8, best of 2", SRGAN,
     [*UNCOND_D, "model.noise_channels=8", "translate.best_of=2"]),
    # ... with SRGAN's own schedule, 1e-4 for the first half and 1e-5 for the second, so G's last
    # steps average over D's moves instead of following each (worse: 7.9, D wins more)
    ("srgan-sr4-mnist, whole-image D, unconditional D, lr 1e-5 at half", SRGAN,
     [*UNCOND_D, "optim.schedule=multistep", "optim.milestones=4685", "optim.gamma=0.1"]),
    # ... and R1 on that D (Mescheder et al. 2018: its gradient on real digits held near 0, so
    # what it tells G near the data is smooth), gamma 0.1 as for small images (no gain: 6.6)
    ("srgan-sr4-mnist, whole-image D, unconditional D, R1 0.1", SRGAN,
     [*UNCOND_D, "reg.name=r1", "reg.weight=0.1"]),
    # ... and pix2pixHD's feature matching: each output held to its target in D's own features,
    # a content loss that learns what D tells apart (no change: 6.5)
    ("srgan-sr4-mnist, whole-image D, unconditional D, feature matching 1", SRGAN,
     [*UNCOND_D, "translate.feature_matching_weight=1"]),
]


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
                     *as_preset(FIRST_PRESET, FIRST_SRGAN, FIRST_SRGAN_ROWS),
                     *as_preset(FIRST_PRESET, FIRST_L1_SR4, [(L1_SR4, L1_SR4, [])]),
                     # has L1 alone converged at the preset's 2e-4 in 10 epochs? Twice the rate, twice the length
                     # (5.2 and 4.7 against 6.1, seed 0: no); the GAN at twice the rate (4.9 and 4.6, -5% and
                     # -4% on seeds 0-1), but L1 alone's G dead by step 100 there on seed 2, and at four times it
                     (f"{L1_SR4}, lr 4e-4", L1_SR4, ["optim.lr_g=4e-4"]),
                     (f"{L1_SR4}, 20 epochs", L1_SR4, ["train.epochs=20"]),
                     (f"{SRGAN}, lr 4e-4", SRGAN, ["optim.lr_g=4e-4", "optim.lr_d=4e-4"]),
                     (f"{L1_SR4}, lr 8e-4", L1_SR4, ["optim.lr_g=8e-4"]),
                     # ... and behind a warm-up (the rates ramped up over the first 500 G steps), which
                     # kept seed 2's G alive at 4e-4 in a 400-step probe (docs/doctor.md)
                     (f"{L1_SR4}, lr 4e-4, warm-up 500", L1_SR4, ["optim.lr_g=4e-4", "optim.lr_warmup=500"]),
                     (f"{SRGAN}, lr 4e-4, warm-up 500", SRGAN,
                      ["optim.lr_g=4e-4", "optim.lr_d=4e-4", "optim.lr_warmup=500"]),
                     # a stochastic G (noise beside the source, the mode-seeking term) where the input leaves
                     # the target open: the hue of a grey digit, the stroke a hole hid
                     ("pix2pix-colorize-mnist, noise 8, mode seeking 1", "pix2pix-colorize-mnist", noisy("1")),
                     # ESRGAN's L1-only baseline, as l1-sr4-mnist is SRGAN's: its network and steps, no
                     # perceptual or adversarial loss (a row without a twin, being one)
                     (f"{ESRGAN}, L1 only", ESRGAN,
                      [NO_GAN, "translate.perceptual_weight=0", "translate.pixel_weight=1"]),
                     # ESRGAN with D slowed to a quarter, the training doctor's remedy, one of the search's two
                     # best at 1,500 steps (spectral norm in D the other; its twin is the preset's)
                     (f"{ESRGAN}, lr_d 2.5e-5", ESRGAN, ["optim.lr_d=2.5e-5"])]
# ESRGAN's network interpolation (Wang et al. 2018, section 3.4): the GAN's share alpha of every
# weight, the rest its twin's; 0 is the twin and 1 the GAN, each as the translation section scores it
BLEND_PRESETS = [ESRGAN]
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
    # on the first SRGAN preset (FIRST_SRGAN)
    ("sr4 SRGAN as first shipped: 1e-3 GAN after 1,000 warm-up steps", SRGAN, FIRST_SRGAN),
    ("sr4, no GAN loss", SRGAN, on_preset(FIRST_SRGAN, [NO_GAN])),
    *[(f"sr4, {w} GAN, no warm-up", SRGAN,
       on_preset(FIRST_SRGAN, [f"translate.adv_weight={w}", "translate.warmup_steps=0"])) for w in ("1e-2", "1e-1")],
    # on esrgan-sr4-fashion as it ships, whose relativistic term costs FID against its twin: a D
    # judging the output alone, as ESRGAN's does (patches, or one logit for the whole image); D
    # slowed to a quarter (the doctor's remedy: the whole-image D rejects every fake by step
    # 1,600); spectral norm in D; and less say for the adversarial term
    ("sr4 ESRGAN as shipped", ESRGAN, []),
    ("sr4 ESRGAN, no GAN loss", ESRGAN, [NO_GAN]),
    ("sr4 ESRGAN, D judging the output alone", ESRGAN, ["translate.d_sees_source=false"]),
    ("sr4 ESRGAN, whole-image D judging the output alone", ESRGAN, [*UNCOND_D]),
    ("sr4 ESRGAN, lr_d 2.5e-5", ESRGAN, ["optim.lr_d=2.5e-5"]),
    ("sr4 ESRGAN, spectral norm in D", ESRGAN, ["model.spectral_norm=true"]),
    ("sr4 ESRGAN, adversarial weight 1e-3", ESRGAN, ["translate.adv_weight=1e-3"]),
    # ... the two best together; and D's BatchNorm swapped for instance norm alone (spectral norm
    # drops it: is it the batches' statistics D wins on?)
    ("sr4 ESRGAN, lr_d 2.5e-5, spectral norm in D", ESRGAN, ["optim.lr_d=2.5e-5", "model.spectral_norm=true"]),
    ("sr4 ESRGAN, instance norm in D", ESRGAN, ["model.d_norm=instance"]),
]
