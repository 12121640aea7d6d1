"""Settings a run would ignore, refused before it starts.

Every key exists for every run, but each kind of run reads only some of them: R1
(``reg.name``) is read by every step with a discriminator and not by the VAE's, a hole
size by the inpainting degradation and not by super-resolution, dropout by the DCGAN's
D and not by the SNGAN ResNet. A key set away from its default that the run never reads would
train something else than what was asked for, without a word; ``check(cfg)`` makes it
one ConfigError that names each such key, who reads it, and its default.

Who reads what is declared once, here, for the steps, losses, schedules and pair
kinds (``RULES``); a model's keys where the model registers (``MODELS.register(...,
settings=...)``; a translation model's discriminator, the PatchGAN, adds
``PATCHGAN_SETTINGS``); a dataset's data.* keys (a folder's resolution, a toy's size)
where the dataset registers. A key no rule names (train.*, log.*, ema.*, ...) is read
by every run. A weight of 0 does not make its neighbours unused: ``translate.adv_weight=0``
on an SRGAN preset keeps the preset's D settings, which is how its pixel-loss twin is made.
"""

from __future__ import annotations

from collections.abc import Callable

from gankit import config as C
from gankit.errors import ConfigError
from gankit.models import model_kind
from gankit.models.patchgan import SETTINGS as PATCHGAN_SETTINGS
from gankit.registry import DATASETS, LOSSES, MODELS

GAN, VAE, PAIRED, CYCLE = "gan", "likelihood", "paired", "cycle"
RUN = {GAN: "GAN run", VAE: "likelihood run", PAIRED: "paired translation run", CYCLE: "cycle translation run"}
# who reads a key, as the error says it
RUNS = {GAN: "GAN runs", VAE: "likelihood runs (the VAE)", PAIRED: "paired translation runs",
        CYCLE: "cycle (unpaired) translation runs"}
# model keys every architecture of a kind reads, beside the architecture's own settings
KIND_MODEL_SETTINGS = {GAN: ("arch", "pack", "clusters"), VAE: ("arch",),
                       PAIRED: ("arch", "keep_known", "noise_channels"), CYCLE: ("arch",)}


def run_kind(cfg: C.Config) -> str:
    """gan, likelihood, paired or cycle: which step trains ``cfg``."""
    kind = model_kind(cfg.model.arch)
    if kind == "translation":
        return CYCLE if cfg.pair.kind == "unpaired" else PAIRED
    return kind


def _runs(*kinds: str) -> Callable[[C.Config, str], bool]:
    return lambda cfg, kind: kind in kinds


def _loss(cfg: C.Config):
    return LOSSES.get(cfg.loss.name)


def _regularized(cfg: C.Config, kind: str) -> bool:
    return kind != VAE and (cfg.reg.name is not None or _loss(cfg).penalty is not None)


def _datasets(cfg: C.Config, kind: str) -> list[str]:
    """The registered datasets the run reads: data.dataset, and a cycle run's second domain."""
    names = [cfg.data.dataset] + ([cfg.pair.dataset_b] if kind == CYCLE and cfg.pair.dataset_b else [])
    return [n for n in names if n in DATASETS]


def _points(cfg: C.Config, kind: str) -> bool:
    """Whether the run trains on 2-D points drawn from a seed (the toy mixtures: no files, no images)."""
    return kind == GAN and all(DATASETS.attrs(n).get("points", False) for n in _datasets(cfg, kind))


def _degradation(*names: str) -> Callable[[C.Config, str], bool]:
    return lambda cfg, kind: cfg.pair.kind == "degrade" and cfg.pair.degradation in names


ADVERSARIAL = _runs(GAN, PAIRED, CYCLE)
# key -> (does this run read it?, who reads it)
RULES: dict[str, tuple[Callable[[C.Config, str], bool], str]] = {
    "loss.name": (ADVERSARIAL, "runs with a discriminator (not the VAE)"),
    "loss.clip": (lambda cfg, kind: kind == GAN and _loss(cfg).weight_clipping,
                  "GAN runs whose loss clips D's weights (loss.name=wasserstein)"),
    "loss.aux_weight": (lambda cfg, kind: kind == GAN and cfg.model.conditioning in ("acgan", "tac"),
                        "GAN runs with an auxiliary classifier (model.conditioning=acgan or tac)"),
    "loss.aux_weight_g": (lambda cfg, kind: kind == GAN and cfg.model.conditioning in ("acgan", "tac"),
                          "GAN runs with an auxiliary classifier (model.conditioning=acgan or tac)"),
    "loss.aux_fakes": (lambda cfg, kind: kind == GAN and cfg.model.conditioning == "acgan",
                       "GAN runs with model.conditioning=acgan"),
    "reg.name": (ADVERSARIAL, "runs with a discriminator (not the VAE)"),
    "reg.weight": (_regularized, "runs with a D regularizer (reg.name, or the loss's own: wgan-gp)"),
    "reg.every": (_regularized, "runs with a D regularizer (reg.name, or the loss's own: wgan-gp)"),
    "augment.policy": (_runs(GAN), "GAN runs: the translation steps show D their images unaugmented"),
    "optim.lr_d": (ADVERSARIAL, "runs with a discriminator (not the VAE)"),
    "optim.n_critic": (_runs(GAN), "GAN runs: a translation step takes one D step a batch"),
    "optim.update": (_runs(GAN), "GAN runs"),
    "optim.decay_start": (lambda cfg, kind: cfg.optim.schedule == "linear", "runs with optim.schedule=linear"),
    "optim.milestones": (lambda cfg, kind: cfg.optim.schedule == "multistep", "runs with optim.schedule=multistep"),
    "optim.gamma": (lambda cfg, kind: cfg.optim.schedule == "multistep", "runs with optim.schedule=multistep"),
    "translate.adv_weight": (_runs(PAIRED, CYCLE), "translation runs"),
    **{f"translate.{k}": (_runs(PAIRED), "paired translation runs (pair.kind=degrade or aligned)")
       for k in ("pixel_loss", "pixel_weight", "perceptual_weight", "feature_matching_weight", "diversity_weight",
                 "best_of", "warmup_steps", "d_sees_source")},
    **{f"translate.{k}": (_runs(CYCLE), "cycle translation runs (pair.kind=unpaired)")
       for k in ("cycle_weight", "identity_weight", "pool_size", "class_weight")},
    "translate.warmup_loss": (lambda cfg, kind: kind == PAIRED and cfg.translate.warmup_steps > 0,
                              "paired translation runs with a warm-up (translate.warmup_steps > 0)"),
    "translate.diversity_space": (lambda cfg, kind: kind == PAIRED and cfg.translate.diversity_weight > 0,
                                  "paired translation runs with the mode-seeking term (translate.diversity_weight "
                                  "> 0)"),
    "translate.class_projection": (_runs(PAIRED, CYCLE), "translation runs"),
    "pair.degradation": (lambda cfg, kind: cfg.pair.kind == "degrade", "runs with pair.kind=degrade"),
    "pair.kernel": (_degradation("sr2", "sr4"), "runs with pair.degradation=sr2 or sr4"),
    "pair.hole": (_degradation("inpaint"), "runs with pair.degradation=inpaint"),
    "pair.hole_position": (_degradation("inpaint"), "runs with pair.degradation=inpaint"),
    "pair.sigma": (_degradation("noise"), "runs with pair.degradation=noise"),
    "pair.edge_detector": (_degradation("edges"), "runs with pair.degradation=edges"),
    "pair.hues": (_degradation("colorize"), "runs with pair.degradation=colorize"),
    "pair.aligned": (lambda cfg, kind: cfg.pair.kind == "aligned", "runs with pair.kind=aligned"),
    "pair.dataset_b": (_runs(CYCLE), "runs with pair.kind=unpaired"),
    "pair.root_b": (_runs(CYCLE), "runs with pair.kind=unpaired"),
    "pair.source_channels": (_runs(PAIRED, CYCLE), "translation runs"),
    "pair.target_channels": (_runs(PAIRED, CYCLE), "translation runs"),
    "ema.rampup": (lambda cfg, kind: cfg.ema.half_life is not None, "runs with an EMA (ema.half_life)"),
    "guard.max_bad_steps": (lambda cfg, kind: cfg.guard.nonfinite == "skip", "runs with guard.nonfinite=skip"),
    "guard.max_rollbacks": (lambda cfg, kind: cfg.guard.nonfinite == "skip", "runs with guard.nonfinite=skip"),
    # a translation run is scored by its own protocol (metrics/translation.py)
    "eval.metrics": (_runs(GAN, VAE), "runs that generate from noise: translation has its own metrics"),
    "eval.real_n": (_runs(GAN, VAE), "runs that generate from noise: translation's reference is its held-out "
                                     "targets"),
}


def model_settings(cfg: C.Config, kind: str) -> set[str]:
    """The model.* keys the run's networks read."""
    attrs = MODELS.attrs(cfg.model.arch)
    # a model that also makes 2-D points may read fewer keys on them (the mlp's D has no dropout there)
    own = attrs["points_settings"] if "points_settings" in attrs and _points(cfg, kind) else attrs.get("settings", ())
    d = PATCHGAN_SETTINGS if kind in (PAIRED, CYCLE) else ()
    return {f"model.{k}" for k in (*KIND_MODEL_SETTINGS[kind], *own, *d)}


def reads(arch: str) -> str:
    """The model.* keys a model reads, as `gankit list models` shows them."""
    own = ", ".join(f"model.{k}" for k in MODELS.attrs(arch).get("settings", ()))
    kind = model_kind(arch)
    if kind != "translation":
        extra = [k for k in KIND_MODEL_SETTINGS[kind] if k != "arch"]
        return own + "".join(f", model.{k}" for k in extra)
    return (own + "; paired: " + ", ".join(f"model.{k}" for k in KIND_MODEL_SETTINGS[PAIRED] if k != "arch")
            + "; its PatchGAN: " + ", ".join(f"model.{k}" for k in PATCHGAN_SETTINGS))


# data.* keys that some datasets read (``DATASETS.register(..., settings=...)``); aligned pairs read
# the first two from their folder
DATA_SETTINGS = ("resolution", "channels", "labels_from_folders", "size")
ALIGNED_SETTINGS = ("resolution", "channels")


def data_settings(cfg: C.Config, kind: str) -> set[str]:
    """The data.* keys of ``DATA_SETTINGS`` that the run's datasets read."""
    keys = {k for n in _datasets(cfg, kind) for k in DATASETS.attrs(n).get("settings", ())}
    keys |= set(ALIGNED_SETTINGS) if cfg.pair.kind == "aligned" and kind == PAIRED else set()
    return {f"data.{k}" for k in keys}


def _data_readers(key: str) -> str:
    name = key.removeprefix("data.")
    sets = [n for n in DATASETS.names() if name in DATASETS.attrs(n).get("settings", ())]
    return f"datasets {', '.join(sets)}" + ("; runs with pair.kind=aligned" if name in ALIGNED_SETTINGS else "")


def _model_readers(key: str) -> str:
    name = key.removeprefix("model.")
    archs = [a for a in MODELS.names() if name in MODELS.attrs(a).get("settings", ())]
    kinds = [RUNS[k] for k, names in KIND_MODEL_SETTINGS.items() if name in names]
    if name in PATCHGAN_SETTINGS:
        kinds.append("translation runs (their PatchGAN)")
    return "; ".join(filter(None, [f"models {', '.join(archs)}" if archs else "", *kinds]))


def unused(cfg: C.Config) -> list[tuple[str, str]]:
    """(key, who reads it) for every key set away from its default that ``cfg``'s run does not read."""
    kind = run_kind(cfg)
    reads_model, reads_data = model_settings(cfg, kind), data_settings(cfg, kind)
    out = []
    for key in C.differing_keys(cfg.to_dict(), C.Config().to_dict()):
        if key.startswith("model."):
            if key not in reads_model:
                out.append((key, _model_readers(key)))
        elif key.startswith("data.") and key.removeprefix("data.") in DATA_SETTINGS:
            if key not in reads_data:
                out.append((key, _data_readers(key)))
        elif key in RULES:
            reads, who = RULES[key]
            if not reads(cfg, kind):
                out.append((key, who))
    return out


def _value(cfg: C.Config, key: str):
    section, name = key.split(".")
    return getattr(getattr(cfg, section), name)


def check(cfg: C.Config) -> None:
    """Raise one ConfigError naming every setting ``cfg``'s run would ignore; and refuse a loss
    whose safeguard the translation steps do not apply (weight clipping)."""
    kind = run_kind(cfg)
    if kind in (PAIRED, CYCLE) and _loss(cfg).weight_clipping:
        raise ConfigError(f"loss.name={cfg.loss.name} needs D's weights clipped, which the translation steps do "
                          "not do: use wgan-gp (its gradient penalty), nonsaturating, lsgan, hinge, relativistic or "
                          "minimax")
    found = unused(cfg)
    if not found:
        return
    where = f"model.arch={cfg.model.arch}" + (f", pair.kind={cfg.pair.kind}" if kind in (PAIRED, CYCLE) else "")
    run = f"{RUN[kind]} ({where})"
    defaults = {k: v for k, v, _ in C.describe_keys()}
    lines = [f"  {k}={C.format_value(_value(cfg, k))} (read by {who}; default {C.format_value(defaults[k])})"
             for k, who in found]
    one = len(found) == 1
    raise ConfigError(f"{'this setting' if one else 'these settings'} would be ignored by this {run}:\n"
                      + "\n".join(lines) + f"\ndrop {'it' if one else 'them'} from the config and --set, or set "
                      f"{'it to its default' if one else 'them to their defaults'}")
