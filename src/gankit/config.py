"""The typed run configuration: every default declared once, with its unit and meaning.

A run is configured in layers, each overriding the one before:

    defaults below  <  preset (configs/NAME.yaml)  <  --config FILE  <  CLI flags  <  --set key=value

Every layer may only name keys that exist here; values are checked against the
field's type and constraints, and a bad one is refused with one line naming the
key and what it accepts. The resolved config is saved as ``config.yaml`` in every
run directory and inside every checkpoint, so a run can always be reproduced.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gankit.errors import ConfigError


def opt(default: Any, help: str, check: typing.Callable[[Any], str | None] | None = None) -> Any:
    """A config field: its default, its meaning (with unit), and an optional check.

    ``check(value)`` returns None when the value is acceptable, else a short
    phrase saying what is accepted ("must be > 0").
    """
    return field(default=default, metadata={"help": help, "check": check})


def _non_finite(v: Any) -> bool:
    """True for a float that is NaN or infinite: no learning rate, weight, size or budget may be."""
    return isinstance(v, float) and not math.isfinite(v)


def positive(v: Any) -> str | None:
    if _non_finite(v):
        return "must be a finite number > 0"
    return None if v is None or v > 0 else "must be > 0"


def size(limit: int) -> typing.Callable[[Any], str | None]:
    """A positive size with an upper bound: a network or batch that large would exhaust memory
    deep inside PyTorch instead of being refused here."""

    def check(v: Any) -> str | None:
        problem = positive(v)
        return problem or (None if v is None or v <= limit else f"must be at most {limit:,}")

    return check


def non_negative(v: Any) -> str | None:
    if _non_finite(v):
        return "must be a finite number >= 0"
    return None if v is None or v >= 0 else "must be >= 0"


def zero_or_at_least(low: int) -> typing.Callable[[Any], str | None]:
    """An option that is off at 0 and otherwise needs at least ``low`` (e.g. clusters: one says nothing)."""

    def check(v: Any) -> str | None:
        return None if v == 0 or v >= low else f"must be 0 (off) or at least {low}"

    return check


def unit_interval(v: Any) -> str | None:
    return None if 0 <= v < 1 else "must be in [0, 1)"


def device_name(v: Any) -> str | None:
    ok = re.fullmatch(r"auto|cpu|cuda(:\d+)?", v)
    return None if ok else "must be auto, cpu, cuda or cuda:N"


def one_of(*choices: Any) -> typing.Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v in choices else f"must be one of: {', '.join(map(str, choices))}"

    return check


def registered(registry_name: str) -> typing.Callable[[Any], str | None]:
    """Check a name against a registry, looked up lazily (registries fill on import)."""

    def check(v: Any) -> str | None:
        from gankit import registry

        registry.load_all()
        reg = getattr(registry, registry_name)
        return None if v in reg else f"must be one of: {', '.join(reg.names())} (gankit list {reg.plural})"

    return check


def registered_or_none(registry_name: str) -> typing.Callable[[Any], str | None]:
    check = registered(registry_name)
    return lambda v: None if v is None else check(v)


def step_list(v: Any) -> str | None:
    parts = [p.strip() for p in v.split(",") if p.strip()]
    # isdecimal, not isdigit: int() refuses digits such as "²"; 18 digits keep int() within its limits
    ok = all(p.isdecimal() and len(p) <= 18 and int(p) > 0 for p in parts) and parts == sorted(parts, key=int)
    return None if ok else "must be increasing G steps separated by commas, e.g. 2000,4000"


def augment_policy(v: Any) -> str | None:
    parts = [p.strip() for p in v.split(",") if p.strip()]
    bad = [p for p in parts if p not in ("color", "translation", "cutout")]
    return f"unknown augmentation {', '.join(bad)}; use color, translation, cutout" if bad else None


@dataclass
class DataConfig:
    dataset: str = opt("mnist", "dataset to train on (gankit list datasets)", registered("DATASETS"))
    root: str | None = opt(
        None,
        "folder holding the dataset files; null searches $GANKIT_DATA, ~/.cache/gankit, "
        "system copies, then downloads",
    )
    split: str = opt("train", "which split to train on: train or test", one_of("train", "test"))
    download: bool = opt(True, "download the dataset when no local copy is found")
    subset: int | None = opt(None, "train on the first N images only (quick experiments; null: all)", positive)
    resolution: int = opt(32, "imagefolder: images are resized and centre-cropped to this many pixels a side",
                          positive)
    channels: int = opt(3, "imagefolder: 1 (grayscale) or 3 (RGB)",
                        lambda v: None if v in (1, 3) else "must be 1 (grayscale) or 3 (RGB)")
    labels_from_folders: bool = opt(False, "imagefolder: each sub-folder is a class (for conditional GANs)")
    size: int | None = opt(None, "toy-ring, toy-grid, stacked-mnist: number of samples to draw (null: the "
                           "dataset's default)", positive)


@dataclass
class ModelConfig:
    arch: str = opt("dcgan-28", "generator/discriminator pair (gankit list models)", registered("MODELS"))
    latent_dim: int = opt(100, "size of the noise vector z ~ N(0, I) fed to the generator", size(1 << 16))
    dropout: float = opt(0.3, "dropout probability after each discriminator conv layer", unit_interval)
    leaky_slope: float = opt(0.2, "negative slope of every LeakyReLU (DCGAN paper and Keras 3 default)", non_negative)
    width: int | None = opt(None, "base channel (or hidden unit) count of the architecture (null: its default)",
                            size(1 << 14))
    spectral_norm: bool = opt(False, "spectral normalization on every D layer (Miyato et al. 2018)")
    minibatch_std: bool = opt(False, "D also sees the spread of its features across groups of 4 samples (ProGAN, "
                              "Karras et al. 2018): a collapsed generator's batches stand out (dcgan, mlp, the "
                              "translation models' PatchGAN)")
    pack: int = opt(1, "PacGAN: D judges this many samples at once, concatenated along channels (Lin et al. "
                    "2018); 1: off", positive)
    conditioning: str = opt("none", "class conditioning: none, cgan (label embeddings into G and D), acgan "
                            "(auxiliary classifier on D), tac (acgan with a twin classifier of the fakes' labels, "
                            "Gong et al. 2019), projection (projection D, conditional BN in G)",
                            one_of("none", "cgan", "acgan", "tac", "projection"))
    clusters: int = opt(0, "self-conditioning without labels: G and D are conditioned (model.conditioning) on k-means "
                        "clusters of the training images instead of labels, and G draws its cluster from z, so "
                        "sampling takes noise alone (Liu et al. 2020); this many clusters, 0: off", zero_or_at_least(2))
    depth: int | None = opt(None, "translation generators: stride-2 levels (U-Net) or downsamplings (ResNet); null: "
                            "as many as the resolution allows, at most 3 (U-Net) or 2 (ResNet)", positive)
    blocks: int | None = opt(None, "translation generators: residual blocks (ResNet, SRResNet), RRDBs, or the U-Net's "
                             "dilated residual blocks at its bottleneck, which widen what each output pixel sees "
                             "(null: the architecture's default; the U-Net's is none)", positive)
    keep_known: bool = opt(False, "translation generators: the output keeps the source's pixels and G fills only "
                           "its holes (mid grey in every channel, as pair.degradation=inpaint makes them), the known "
                           "region pasted back as in Pathak et al. 2016 and Iizuka et al. 2017")
    noise_channels: int = opt(0, "paired translation generators: channels of noise z ~ N(0, I) given beside the "
                              "source, each value repeated over the image (BicycleGAN's noise input), so one source "
                              "has many outputs; 0: deterministic", non_negative)
    d_layers: int | None = opt(None, "PatchGAN discriminator: stride-2 layers (null: the most whose receptive "
                               "field fits the image, at most 3; more: every logit sees the whole image)", positive)
    d_norm: str = opt("auto", "PatchGAN discriminator: normalization after every hidden conv but the first: batch "
                      "(pix2pix, SRGAN), instance (CycleGAN: each image normalised alone, so D cannot tell a batch "
                      "of real images from a batch of fakes by the batch's statistics), none; auto: batch, or none "
                      "under model.spectral_norm", one_of("auto", "batch", "instance", "none"))


@dataclass
class PairConfig:
    kind: str = opt("none", "how (source, target) pairs are made for translation and enhancement: none "
                    "(generation from noise), degrade (the source is the target degraded, pair.degradation), "
                    "aligned (pairs of images in data.root), unpaired (two datasets or trainA/trainB folders)",
                    one_of("none", "degrade", "aligned", "unpaired"))
    degradation: str = opt("sr4", "degrade: sr2, sr4 (the source is the image downsampled 2x or 4x), inpaint (a "
                           "square hole), noise (additive Gaussian), edges (the target's edges), colorize (grayscale "
                           "source, the digit tinted one of pair.hues colours as target)",
                           one_of("sr2", "sr4", "inpaint", "noise", "edges", "colorize"))
    kernel: str = opt("bicubic", "sr2, sr4: the downsampling kernel: bicubic (antialiased) or box (the mean of each "
                      "block)", one_of("bicubic", "box"))
    hole: int = opt(12, "inpaint: side of the square hole, in pixels", positive)
    hole_position: str = opt("center", "inpaint: center, or random (drawn per image)", one_of("center", "random"))
    sigma: float = opt(0.5, "noise: standard deviation of the Gaussian noise, in pixel units of [-1, 1]", positive)
    edge_detector: str = opt("sobel", "edges: sobel (gradient magnitude) or canny (thin, thresholded edges)",
                             one_of("sobel", "canny"))
    hues: int = opt(6, "colorize: number of hues a digit is tinted with, one drawn per image", positive)
    aligned: str = opt("side-by-side", "aligned: side-by-side (each file holds A | B, the pix2pix format) or folders "
                       "(data.root/A and data.root/B hold files of matching names)",
                       one_of("side-by-side", "folders"))
    dataset_b: str | None = opt(None, "unpaired: the target domain's dataset (data.dataset is the source's); null "
                                "with data.dataset=imagefolder: data.root/trainA and data.root/trainB")
    root_b: str | None = opt(None, "unpaired: folder of pair.dataset_b's files (null: the usual search)")
    source_channels: int | None = opt(None, "channels of the source images (null: as the data has them; a 3-channel "
                                      "source of 1-channel data is the image repeated)",
                                      lambda v: None if v in (None, 1, 3) else "must be 1 or 3")
    target_channels: int | None = opt(None, "channels of the target images (null: as the data has them)",
                                      lambda v: None if v in (None, 1, 3) else "must be 1 or 3")


@dataclass
class TranslateConfig:
    adv_weight: float = opt(1.0, "weight of the adversarial loss in G's loss; 0 gives the pixel-loss baseline "
                            "from the same code (no D is trained)", non_negative)
    pixel_loss: str = opt("l1", "pixel loss between output and target: l1 or l2", one_of("l1", "l2"))
    pixel_weight: float = opt(100.0, "weight of the pixel loss (pix2pix: 100)", non_negative)
    perceptual_weight: float = opt(0.0, "weight of the perceptual loss: L1 between the features of output and target "
                                   "in a frozen network that is not the scoring evaluator", non_negative)
    feature_matching_weight: float = opt(0.0, "weight of D's feature matching loss (L1 between D's features of "
                                         "output and target)", non_negative)
    diversity_weight: float = opt(0.0, "paired, with model.noise_channels: weight of the mode-seeking term (Mao et "
                                  "al. 2019): G is penalised by the inverse of the ratio of the mean distance between "
                                  "G(x, z1) and G(x, z2) to that between z1 and z2, so different noise gives different "
                                  "outputs; 0: off", non_negative)
    diversity_space: str = opt("pixel", "where the mode-seeking term measures the distance between G(x, z1) and "
                               "G(x, z2): pixel (Mao et al. 2019) or perceptual (the mean L1 between their features "
                               "in the perceptual loss's frozen network: a distance in what that network sees rather "
                               "than in single pixels)", one_of("pixel", "perceptual"))
    best_of: int = opt(1, "paired, with model.noise_channels: outputs G draws for each source, of which only the one "
                       "closest to the target (least pixel + perceptual loss) is held to it (multiple-choice learning, "
                       "Guzman-Rivera et al. 2012; best of many samples, Bhattacharyya et al. 2018); the adversarial "
                       "term judges the first. Where a source allows many targets (a 7x7 digit, a hole), G may then "
                       "spread its outputs over them instead of drawing their average; 1: every output is held to "
                       "the target", positive)
    warmup_steps: int = opt(0, "G steps before the adversarial term is on (SRGAN's and ESRGAN's pre-training of G); "
                            "what G learns meanwhile: translate.warmup_loss", non_negative)
    warmup_loss: str = opt("content", "what G learns in the warm-up: content (every loss of the G step but the "
                           "adversarial one, at their weights) or pixel (the pixel loss alone, unweighted, as SRGAN "
                           "pre-trains on MSE and ESRGAN on L1; Adam makes the weight immaterial)",
                           one_of("content", "pixel"))
    cycle_weight: float = opt(10.0, "unpaired: weight of the cycle-consistency L1 loss (CycleGAN: 10)",
                              non_negative)
    identity_weight: float = opt(0.5, "unpaired: weight of the identity loss, relative to cycle_weight (CycleGAN: "
                                 "0.5); only where source and target have the same channels", non_negative)
    pool_size: int = opt(50, "unpaired: past fakes kept to train D on (CycleGAN's image pool); 0: the latest only",
                         non_negative)
    class_weight: float = opt(0.0, "unpaired, both domains labelled with one number of classes: weight of the "
                              "class-consistency loss (each D also learns its domain's classes from real labels; "
                              "each generator is held to map class k to class k); 0: off, plain CycleGAN",
                              non_negative)
    class_projection: bool = opt(False, "labelled data: each D judges an image together with its class (projection "
                                 "discriminator). Unpaired (both domains labelled with one number of classes): real "
                                 "images with their labels, each generator's outputs with their source's class k, "
                                 "read as class k of the other domain. Paired: the target and the output alike with "
                                 "the target's class, which G never sees; false: D judges images alone")
    d_sees_source: bool = opt(True, "paired: D judges each image together with its source, stacked as channels "
                              "(pix2pix's conditional D); false: the image alone, as SRGAN's and ESRGAN's D do, so a "
                              "fake is told by how it looks and not by how it fits its source")


@dataclass
class LossConfig:
    name: str = opt("nonsaturating", "adversarial loss (gankit list losses)", registered("LOSSES"))
    clip: float = opt(0.01, "wasserstein: D weights are clipped to [-clip, clip] after each D step", positive)
    aux_weight: float = opt(1.0, "acgan, tac: weight of the auxiliary classification loss", non_negative)
    aux_weight_g: float | None = opt(None, "acgan, tac: the weight in G's loss alone; null: aux_weight",
                                     non_negative)
    aux_fakes: bool = opt(True, "acgan: D's classifier also learns the labels of G's fakes (Odena et al.); false: "
                          "of real images only (tac: always real only, the twin learns the fakes')")


@dataclass
class RegConfig:
    name: str | None = opt(None, "D regularizer: gp, r1, dragan (gankit list regularizers; a paired run's penalty is "
                           "taken in the judged image, the source held fixed, a cycle run's is the sum of both D's); "
                           "null: the loss's own (wgan-gp: gp), else none", registered_or_none("REGULARIZERS"))
    weight: float | None = opt(None, "penalty weight: lambda for gp and dragan (default 10), gamma for r1 "
                               "(default 10; the loss adds gamma/2 * R1)", non_negative)
    every: int = opt(1, "r1: apply the penalty every k D steps, scaled by k (lazy regularization)", positive)


@dataclass
class OptimConfig:
    name: str = opt("adam", "optimizer of both networks: adam or rmsprop", one_of("adam", "rmsprop"))
    lr_g: float = opt(2e-4, "learning rate of the generator", positive)
    lr_d: float = opt(2e-4, "learning rate of the discriminator (differs from lr_g for TTUR)", positive)
    beta1: float = opt(0.5, "Adam beta1 (0.5 per DCGAN: 0.9 oscillates)", unit_interval)
    beta2: float = opt(0.999, "Adam beta2", unit_interval)
    n_critic: int = opt(1, "D steps per G step (WGAN: 5); each D step takes its own batch", positive)
    update: str = opt("alternating", "alternating: the G step judges the fakes with the just-updated D; "
                      "simultaneous: one D pass serves both losses, at the same parameters, as the TensorFlow "
                      "DCGAN tutorial (one D forward fewer; needs n_critic 1 and one process)",
                      one_of("alternating", "simultaneous"))
    fused: bool | None = opt(None, "Adam's fused update (one kernel for all of a network's weights); null: on CUDA, "
                             "off elsewhere")
    schedule: str = opt("constant", "learning-rate schedule over G steps: constant; linear (constant until "
                        "optim.decay_start, then linearly to 0 at the last step); multistep (times optim.gamma at "
                        "each of optim.milestones)", one_of("constant", "linear", "multistep"))
    decay_start: int | None = opt(None, "linear: the G step where the decay begins (null: half way)", non_negative)
    milestones: str = opt("", "multistep: comma-separated G steps, e.g. 2000,4000", step_list)
    gamma: float = opt(0.5, "multistep: factor applied at each milestone", positive)
    lr_warmup: int = opt(0, "G steps N over which both learning rates ramp up linearly to their value (the k-th G "
                         "step at k/N of it), on top of the schedule: Adam's first steps at a large rate can kill "
                         "a generator, which a ramp avoids (Goyal et al. 2017); 0: none", non_negative)


@dataclass
class TrainConfig:
    batch_size: int = opt(128, "images per D step and per G step", size(1 << 20))
    epochs: int = opt(50, "passes over the dataset (the last partial batch of each is dropped)", positive)
    steps: int | None = opt(None, "stop after this many G steps in total (null: run all epochs)", positive)
    max_minutes: float | None = opt(None, "a compute budget: stop after this many minutes of training in total, "
                                    "resumes included (null: no limit)", positive)
    seed: int = opt(0, "seed of weights, data order, noise and dropout: same seed, same run", non_negative)
    device: str = opt("auto", "auto (CUDA when present), cpu, cuda or cuda:N", device_name)
    precision: str = opt("auto", "bf16: forward passes under bfloat16 autocast (weights, optimizer states and "
                         "losses stay float32); fp32; auto: bf16 where the device computes it faster (GPUs "
                         "with bf16, CPUs with AMX, AMD CPUs with AVX512-BF16), else fp32",
                         one_of("auto", "fp32", "bf16"))
    sync_bn: bool = opt(False, "under torchrun: BatchNorm statistics over the global batch instead of each rank's")
    dist_timeout: float = opt(300.0, "under torchrun: seconds a process waits for the others (rendezvous, each "
                              "collective) before it stops with an error; no run hangs on a lost process", positive)
    deterministic: bool = opt(False, "PyTorch's deterministic algorithms (and the cuDNN and cuBLAS settings they "
                              "need): bit-for-bit repeatable runs on one GPU, at some cost in speed; CPU runs "
                              "repeat bit for bit without it (docs/reliability.md)")
    channels_last: bool = opt(False, "convolution weights and image batches in channels-last (NHWC) memory format, "
                              "the layout of cuDNN's bf16 tensor-core kernels")
    cuda_graph: bool | None = opt(None, "replay the whole training step (D step, G step, both optimizer updates) as "
                                  "one CUDA graph: one launch per step instead of hundreds (docs/performance.md). "
                                  "null: on where it applies (CUDA, one process, a GAN, reg.every=1); true: on, or "
                                  "an error saying why not")


@dataclass
class GuardConfig:
    nonfinite: str = opt("skip", "what a NaN or infinite loss or gradient does: skip (that update is skipped and "
                         "counted; after guard.max_bad_steps bad steps in a row the run rolls back to its last "
                         "checkpoint and halves its learning rates; after guard.max_rollbacks it stops with a "
                         "diagnosis), stop (stop at the first, with the diagnosis) or off (no check)",
                         one_of("skip", "stop", "off"))
    max_bad_steps: int = opt(5, "skip: G steps in a row with a skipped update before a rollback", positive)
    max_rollbacks: int = opt(3, "skip: rollbacks before the run stops", positive)


@dataclass
class EMAConfig:
    half_life: float | None = opt(None, "generator EMA half-life in images (e.g. 10000); null: no EMA. When on, "
                                  "sampling and evaluation use the EMA weights", positive)
    rampup: float | None = opt(0.05, "EMA warm-up: half-life <= rampup x images seen so far (null: none)", positive)


@dataclass
class AugmentConfig:
    policy: str = opt("", "DiffAugment policy applied to real and fake images alike: comma-separated color, "
                      "translation, cutout; empty: off (Zhao et al. 2020)", augment_policy)


@dataclass
class LogConfig:
    every: int = opt(50, "G steps between metric lines (each costs one host sync)", positive)
    grid: int = opt(64, "images in each epoch's sample grid, drawn from one fixed noise batch", positive)
    tensorboard: bool = opt(True, "also write TensorBoard event files")


@dataclass
class CheckpointConfig:
    every: int = opt(500, "G steps between checkpoints (one is also written each epoch and at the end)", positive)


def metric_names(v: Any) -> str | None:
    from gankit import registry

    registry.load_all()
    names = [n.strip() for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in registry.METRICS]
    if not names or unknown:
        return f"must be comma-separated names from: {', '.join(registry.METRICS.names())}"
    return None


@dataclass
class EvalConfig:
    every: int | None = opt(None, "G steps between evaluations during training (null: off); the best FID is kept "
                            "as checkpoints/best.pt", positive)
    metrics: str = opt("fid,kid,pr,dc,modes", "comma-separated metrics (gankit list metrics); translation runs "
                       "are scored by their own protocol (FID, KID, PSNR, SSIM, accuracy or class purity)",
                       metric_names)
    n: int = opt(10_000, "generated images per evaluation (translation: held-out pairs, at most half of "
                 "eval.split)", positive)
    real_n: int = opt(10_000, "real reference images: the first N of eval.split", positive)
    split: str = opt("test", "real reference split", one_of("train", "test"))
    evaluator: str = opt("auto", "feature network: auto (the dataset's classifier, else inception), inception, "
                         "mnist-cnn, fashion-mnist-cnn")
    seed: int = opt(0, "noise seed of the evaluated samples: the same z at every evaluation", non_negative)


@dataclass
class Config:
    name: str = opt("dcgan-mnist", "run name: the run folder is runs/<date>-<name>")
    description: str = opt("", "one line: what this config is and where its settings come from")
    data: DataConfig = field(default_factory=DataConfig)
    pair: PairConfig = field(default_factory=PairConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    reg: RegConfig = field(default_factory=RegConfig)
    translate: TranslateConfig = field(default_factory=TranslateConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    ema: EMAConfig = field(default_factory=EMAConfig)
    guard: GuardConfig = field(default_factory=GuardConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    log: LogConfig = field(default_factory=LogConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------------------
# building a Config from layers of plain dicts
# ---------------------------------------------------------------------------


def _fields(cls: type) -> dict[str, tuple[dataclasses.Field, Any]]:
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def _to_bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return v.lower() in ("true", "yes", "on", "1")
    raise ValueError


def _to_int(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError
    if isinstance(v, float) and not v.is_integer():
        raise ValueError
    return int(v)


def _to_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError
    return float(v)  # also parses "2e-4", which YAML 1.1 reads as a string


def _to_str(v: Any) -> str:
    if isinstance(v, (dict, list)) or v is None:
        raise ValueError
    return str(v)


_CONVERTERS = {bool: _to_bool, int: _to_int, float: _to_float, str: _to_str}


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Convert a YAML/CLI value to the field's type, or raise ConfigError."""
    args = typing.get_args(tp)
    if type(None) in args:  # Optional[X]
        if value is None or (isinstance(value, str) and value.lower() in ("null", "none", "~")):
            return None
        tp = next(a for a in args if a is not type(None))
    try:
        return _CONVERTERS[tp](value)
    except (TypeError, ValueError):
        raise ConfigError(f"config key {key}: expected {tp.__name__}, got {_short(value)}") from None


def _short(value: Any, most: int = 60) -> str:
    """A value as a message shows it: its repr, cut short (a config value can be anything)."""
    text = repr(value)
    return text if len(text) <= most else text[: most - 3] + "..."


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"config key {prefix.rstrip('.') or '<top>'}: expected a mapping, got {data!r}")
    fields = _fields(cls)
    for key in data:
        if key not in fields:
            raise ConfigError(_unknown_key_message(prefix + str(key)))
    kwargs = {}
    for name, (f, tp) in fields.items():
        key = prefix + name
        if dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, data.get(name, {}), key + ".")
            continue
        if name not in data:
            continue
        value = _coerce(data[name], tp, key)
        check = f.metadata.get("check")
        problem = check(value) if check else None
        if problem:
            raise ConfigError(f"config key {key}={_short(value)}: {problem}")
        kwargs[name] = value
    return cls(**kwargs)


def all_keys(cls: type = Config, prefix: str = "") -> list[str]:
    """Every settable key, dotted: ['name', 'data.dataset', ...]."""
    keys = []
    for name, (_, tp) in _fields(cls).items():
        if dataclasses.is_dataclass(tp):
            keys += all_keys(tp, prefix + name + ".")
        else:
            keys.append(prefix + name)
    return keys


def differing_keys(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The dotted keys whose values differ between two resolved configs (``Config.to_dict()``), in config order."""
    def get(data: dict[str, Any], key: str) -> Any:
        for part in key.split("."):
            data = data[part]
        return data

    return [k for k in all_keys() if get(a, k) != get(b, k)]


def describe_keys(cls: type = Config, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(key, default, meaning) for every key: the config reference."""
    rows = []
    defaults = cls()
    for name, (f, tp) in _fields(cls).items():
        if dataclasses.is_dataclass(tp):
            rows += describe_keys(tp, prefix + name + ".")
        else:
            rows.append((prefix + name, getattr(defaults, name), f.metadata.get("help", "")))
    return rows


def format_value(value: Any) -> str:
    """A default as YAML writes it: null, true, "", 0.0002."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if value == "":
        return '""'
    return str(value)


def markdown_table() -> str:
    """The config reference as a Markdown table (the README's), from the fields' own help strings."""
    rows = ["| key | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{key}` | `{format_value(default)}` | {meaning} |" for key, default, meaning in describe_keys()]
    return "\n".join(rows) + "\n"


def _unknown_key_message(key: str) -> str:
    close = difflib.get_close_matches(key, all_keys(), n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else "; see gankit list config"
    return f"unknown config key {key!r}{hint}"


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``update`` into a copy of ``base`` (mappings merge, other values replace)."""
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def set_key(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Return ``data`` with dotted ``key`` set to ``value``; the key must exist in Config."""
    if key not in all_keys():
        raise ConfigError(_unknown_key_message(key))
    *parents, leaf = key.split(".")
    update: dict[str, Any] = {leaf: value}
    for p in reversed(parents):
        update = {p: update}
    return merge(data, update)


def parse_override(text: str) -> tuple[str, Any]:
    """'train.lr=2e-4' -> ('train.lr', 2e-4), the value read as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected key=value, e.g. --set optim.lr_g=1e-4")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    except RecursionError:
        raise ConfigError(f"--set {key.strip()}: the value is nested too deeply to be a config value") from None
    return key.strip(), value


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a config file; a missing or malformed file is a ConfigError naming it."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as e:
        raise ConfigError(f"config file {path}: cannot read it ({e.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        line = f" at line {e.problem_mark.line + 1}" if getattr(e, "problem_mark", None) else ""
        raise ConfigError(f"config file {path}: not valid YAML{line}") from None
    except RecursionError:
        raise ConfigError(f"config file {path}: values nested too deeply to be a config") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a mapping of keys, got {type(data).__name__}")
    return data


def section(cls: type, values: dict[str, Any], prefix: str) -> Any:
    """One config section built from ``values`` and checked like a whole config: ``section(DataConfig,
    {"dataset": "mnist", "size": 0}, "data.")`` raises "config key data.size=0: must be > 0"."""
    return _build(cls, values, prefix)


def from_dict(data: dict[str, Any], source: str = "") -> Config:
    """Build and validate a Config from a (partial) nested dict."""
    try:
        return _build(Config, data, "")
    except ConfigError as e:
        if source:
            raise ConfigError(f"{source}: {e}") from None
        raise


def load_file(path: str | Path) -> Config:
    return from_dict(read_yaml(path), source=str(path))
