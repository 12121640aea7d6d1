"""The training doctor: watches a run for the failures GANs are known for, and names each once.

Findings, each reported at most once per run, with the numbers seen and a remedy gankit offers:

  non-finite       a loss or gradient norm of a log interval is NaN or infinite
  non-convergence  the losses run away (grow without bound), or swing up and down by far more
                   than the run's usual record-to-record change
  d-overpowers-g   D rejects the fakes with near certainty for several log intervals in a row,
                   or G's gradient norm has fallen far below its own earlier level
  vanishing-gradient
                   G's gradient norm has fallen as far while no D is in G's loss (a paired run's
                   pixel-loss baseline, or its warm-up): G itself has stopped learning
  mode-collapse    the fixed-noise samples have lost most of the diversity the run reached

``check_log`` reads each log interval's averaged statistics, numbers already on the host, so
it costs no device sync; ``check_samples`` measures the epoch's fixed-noise batch once (one
pass of the dataset's evaluator over at most ``log.grid`` images). The state is a short window
of recent records and a few running numbers. docs/doctor.md gives each rule, its threshold,
and why.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass
from typing import Any

import torch

from gankit.config import Config
from gankit.models import model_kind
from gankit.models.patchgan import resolve_norm
from gankit.train.unused import PAIRED, run_kind

# --- non-convergence ----------------------------------------------------------------------------
# A loss whose scale is fixed by its form (the BCE, hinge, least-squares and relativistic losses of
# D, and G's adversarial loss) sits near 1 while the game is played: a mean of this magnitude, in
# the loss's own units, means logits in the hundreds, a run that has left the game.
RUNAWAY_LOSS = 100.0
# Losses without a fixed scale (the Wasserstein critic's, the VAE's) run away when their magnitude
# exceeds this many times their median over the recent records.
RUNAWAY_FACTOR = 100.0
# Log intervals in a row a runaway must hold, so that one wild interval is not a verdict.
RUNAWAY_INTERVALS = 2
# Records kept: the window the medians above, and the oscillation's usual change, are taken over.
HISTORY = 32
# Records needed before a relative rule (runaway factor, oscillation) may judge.
MIN_HISTORY = 8
# An oscillation: in the last OSC_WINDOW record-to-record changes of a loss, at least OSC_SWINGS
# are OSC_GROWTH times the run's usual change (the median over the earlier records), at least
# OSC_FLOOR loss units for a loss of fixed scale (else OSC_RELATIVE_FLOOR of the loss's median
# magnitude), and they alternate in direction.
OSC_WINDOW = 6
OSC_SWINGS = 4
OSC_GROWTH = 5.0
OSC_FLOOR = 0.5
OSC_RELATIVE_FLOOR = 0.05

# --- D overpowering G -----------------------------------------------------------------------------
# D's mean belief that the fakes are real (D(G(z)) for probabilistic losses; for critics, see
# fake_belief) below which D has all but won: G is learning from a D that rejects everything.
FAKE_BELIEF_FLOOR = 0.05
# Consecutive log intervals D must hold that lead (or G's gradient stay collapsed) to be reported.
DOMINANCE_INTERVALS = 5
# G's gradient norm (each record's is already an interval's mean) below this fraction of its own
# peak so far has vanished: G no longer receives a signal to learn from.
GRAD_COLLAPSE_FRACTION = 0.01
# ... but only while D rejects most fakes (its belief below this), or where there is no belief
# (Wasserstein critics): near the equilibrium (D(G(z)) about 0.5) G's gradient is small for the
# good reason that D has little left to teach it.
GRAD_RULE_BELIEF = 0.25
# G steps of learning-rate warm-up the vanishing-gradient remedy offers: enough to keep alive the
# l1-sr4-mnist generators that die by step 100 at 4e-4 and 8e-4 without one (docs/doctor.md).
REMEDY_WARMUP = 500

# --- mode collapse --------------------------------------------------------------------------------
# The samples' diversity (mean pairwise distance; the number of classes or modes they spread over)
# below this fraction both of the best the run reached at an earlier epoch and of real data's.
COLLAPSE_FRACTION = 0.5

# Losses whose statistics are raw critic scores without a bounded scale.
WASSERSTEIN_LOSSES = ("wasserstein", "wgan-gp")
# Statistics that are not losses or gradients, and so are not watched for NaN.
NOT_WATCHED = ("step", "epoch", "images_per_s")


@dataclass(frozen=True)
class Finding:
    """One diagnosis: what is wrong, seen at which step, and what gankit offers against it."""

    name: str  # a short stable identifier, e.g. "d-overpowers-g"
    step: int  # the G step it was seen at
    message: str  # what was seen, in plain words, with the numbers
    remedy: str  # a concrete gankit option to try

    def line(self) -> str:
        return f"doctor at step {self.step}: {self.message}. Try: {self.remedy}"

    def record(self) -> dict[str, Any]:
        """The metrics.jsonl line of the finding."""
        return {"step": self.step, "finding": self.name, "message": self.message, "remedy": self.remedy}


# ---------------------------------------------------------------------------------------------------
# what a log record says
# ---------------------------------------------------------------------------------------------------


def non_finite(record: dict[str, Any]) -> list[str]:
    """The statistics of a record that are NaN or infinite (losses, scores, gradient norms)."""
    return [k for k, v in record.items()
            if k not in NOT_WATCHED and isinstance(v, (int, float)) and not math.isfinite(v)]


def fake_belief(record: dict[str, Any], loss: str) -> float | None:
    """D's mean belief that the fakes are real, in [0, 1]: 1 fooled, 0 certain they are fake.

    Probabilistic losses log it as d_fake = mean D(G(z)). For critics it is read from the gap
    between the mean scores of real and fake images against the gap D is trained towards:
    relativistic: sigmoid(score_fake - score_real), the relativistic D's own output; least
    squares (targets 1 real, 0 fake): 1 - gap; hinge (margins at +1 and -1): 1 - gap / 2.
    None for Wasserstein critics, whose gap estimates a distance and has no target, and for
    records without D statistics.
    """
    if "d_fake" in record:
        return record["d_fake"]
    if "score_fake" not in record or "score_real" not in record or loss in WASSERSTEIN_LOSSES:
        return None
    gap = record["score_real"] - record["score_fake"]
    if loss == "relativistic":
        return 1.0 / (1.0 + math.exp(min(gap, 700.0)))
    if loss == "lsgan":
        return min(max(1.0 - gap, 0.0), 1.0)
    if loss == "hinge":
        return min(max(1.0 - gap / 2.0, 0.0), 1.0)
    return None


def watched_losses(record: dict[str, Any], loss: str) -> list[str]:
    """The losses of a record the non-convergence rules watch: D's loss, G's adversarial loss (adv_g
    where a step logs it apart from G's reconstruction terms), or the VAE's loss. A Wasserstein G's
    loss, -E[D(G(z))], is left out: it moves with the critic's free offset, whatever G does."""
    g_loss = "adv_g" if "adv_g" in record else "loss_g"
    keys = ["loss_d", "loss"] if loss in WASSERSTEIN_LOSSES else ["loss_d", g_loss, "loss"]
    return [k for k in keys if isinstance(record.get(k), (int, float))]


def oscillation(values: list[float], floor: float) -> tuple[int, float, float] | None:
    """(swings, largest swing, usual change) when the last OSC_WINDOW changes of ``values`` hold at
    least OSC_SWINGS alternating swings of OSC_GROWTH times the usual change (the median absolute
    change before them) and at least ``floor``; else None."""
    if len(values) < MIN_HISTORY + OSC_WINDOW:
        return None
    changes = [b - a for a, b in zip(values, values[1:])]
    earlier, recent = changes[:-OSC_WINDOW], changes[-OSC_WINDOW:]
    usual = statistics.median(abs(c) for c in earlier)
    big = [c for c in recent if abs(c) >= max(OSC_GROWTH * usual, floor) and c != 0.0]
    turns = sum(1 for a, b in zip(big, big[1:]) if (a > 0) != (b > 0))
    if len(big) >= OSC_SWINGS and turns >= OSC_SWINGS - 1:
        return len(big), max(abs(c) for c in big), usual
    return None


# ---------------------------------------------------------------------------------------------------
# what a batch of samples says
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Diversity:
    """How varied a batch is."""

    spread: float  # mean pairwise distance: evaluator features, pixels in [0, 1], or 2-D units
    modes: float | None  # effective number of classes, or toy modes captured; None where unknown


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """The mean Euclidean distance over all pairs of rows of ``x`` [N, D] (N >= 2)."""
    return torch.pdist(x.double()).mean().item()


def effective_classes(probs: torch.Tensor) -> float:
    """exp(entropy) of the top-1 class histogram of probabilities [N, K]: the number of equally
    used classes with the same entropy (K when uniform, 1 when every sample is one class)."""
    counts = torch.bincount(probs.argmax(dim=1), minlength=probs.shape[1]).double()
    p = counts[counts > 0] / counts.sum()
    return math.exp(-(p * p.log()).sum().item())


class DiversityMeter:
    """Measures batches of one dataset's samples in one space: the dataset's evaluator features and
    classes (mnist, fashion-mnist), 2-D positions and captured modes (toy data), else pixels."""

    def __init__(self, data: Any, device: torch.device):
        self.name = getattr(data, "name", "")
        self.images = getattr(data, "images", None)  # the real samples, on the device
        self.modes = getattr(data, "modes", None)  # toy data: the mixture's centres [M, 2]
        self.mode_std = getattr(data, "mode_std", None)
        self.points = getattr(data, "kind", "image") == "points"
        self.device = device
        self.evaluator = None
        self.space = "2-D" if self.points else "pixel"
        self._evaluator_tried = False

    def _load_evaluator(self, samples: torch.Tensor) -> None:
        """The dataset's evaluator, loaded at the first batch; pixels where there is none."""
        from gankit.errors import CheckpointError, ConfigError
        from gankit.metrics import classifiers

        self._evaluator_tried = True
        if self.name not in classifiers.ARCHITECTURES or tuple(samples.shape[1:]) != classifiers.IMAGE_SHAPE:
            return
        try:
            self.evaluator = classifiers.load_evaluator(self.name, self.device)
        except (CheckpointError, ConfigError):  # missing or damaged weights: the doctor measures pixels
            return
        self.space = f"the {self.name} evaluator's feature"

    def measure(self, samples: torch.Tensor) -> Diversity:
        """The diversity of uint8 images [N, C, H, W] or float points [N, 2] (N >= 2)."""
        if self.points:
            return Diversity(mean_pairwise_distance(samples.float().cpu()), self._toy_modes(samples))
        if not self._evaluator_tried:
            self._load_evaluator(samples)
        if self.evaluator is not None:
            features, probs = self.evaluator.embed(samples)
            return Diversity(mean_pairwise_distance(features), effective_classes(probs))
        return Diversity(mean_pairwise_distance(samples.flatten(1).float().cpu() / 255.0), None)

    def _toy_modes(self, points: torch.Tensor) -> float | None:
        if self.modes is None or not self.mode_std:
            return None
        from gankit.metrics.modes import toy_modes

        return float(toy_modes(points.cpu(), self.modes.cpu(), self.mode_std)["modes_captured"])

    def real(self, like: torch.Tensor) -> Diversity | None:
        """The same measures on as many real samples as ``like`` holds, spread evenly over the
        dataset; None when the dataset holds no samples of that shape and type to compare with."""
        images = self.images
        if (images is None or len(images) < 2 or images.shape[1:] != like.shape[1:]
                or images.dtype != like.dtype):
            return None
        index = torch.linspace(0, len(images) - 1, min(len(like), len(images))).long().to(images.device)
        return self.measure(images[index])


# ---------------------------------------------------------------------------------------------------
# the doctor
# ---------------------------------------------------------------------------------------------------


class Doctor:
    """Watches one run (on rank 0): ``check_log`` at each log interval, ``check_samples`` at each
    epoch's end. Each finding is returned once; after a non-finite value or a runaway the run is
    past saving and everything after is a consequence, so the doctor falls silent."""

    def __init__(self, cfg: Config, data: Any, device: torch.device):
        self.cfg = cfg
        self.loss = cfg.loss.name
        self.meter = DiversityMeter(data, device)
        self.reported: set[str] = set()
        self.silent = False
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self.runaway_streak = 0
        self.belief_streak = 0
        self.grad_streak = 0
        self.grad_peak = 0.0  # the highest G gradient norm so far
        self.grad_peak_step = 0
        self.real: Diversity | None = None  # real data's diversity, measured once (None: nothing to compare)
        self.real_measured = False
        self.best: dict[str, tuple[float, int]] = {}  # measure -> (best value, step), from earlier epochs

    # ------------------------------------------------------------------------------------------------
    def check_log(self, record: dict[str, Any]) -> list[Finding]:
        """Look at one log interval's averaged statistics (a metrics.jsonl record)."""
        if self.silent:
            return []
        step = int(record["step"])
        bad = non_finite(record)
        if bad:
            return self._terminal(self._non_finite(step, record, bad))
        self.history.append(record)
        runaway = self._runaway(step)
        if runaway:
            return self._terminal(runaway)
        findings = [self._oscillation(step), self._dominance(step, record)]
        return [f for f in findings if f and self._first(f)]

    def check_samples(self, step: int, samples: torch.Tensor) -> list[Finding]:
        """Look at the fixed noise batch through G: uint8 images [N, C, H, W], or float points [N, 2]."""
        if self.silent or samples.shape[0] < 2 or "mode-collapse" in self.reported:
            return []
        if samples.is_floating_point() and not torch.isfinite(samples).all():
            return self._terminal(Finding(
                "non-finite", step, f"the generator's fixed-noise samples hold NaN or infinite values at step {step}",
                self._non_finite_remedy()))
        if not self.real_measured:
            self.real, self.real_measured = self.meter.real(samples), True
        now = self.meter.measure(samples)
        finding = self._collapse(step, samples.shape[0], now)
        self._remember(step, now)
        return [finding] if finding and self._first(finding) else []

    # ------------------------------------------------------------------------------------------------
    def _first(self, finding: Finding) -> bool:
        """True the first time a finding of this name is made (each is reported once a run)."""
        if finding.name in self.reported:
            return False
        self.reported.add(finding.name)
        return True

    def _terminal(self, finding: Finding) -> list[Finding]:
        """Report ``finding`` and fall silent: what a diverged run does next is a consequence."""
        self.silent = True
        return [finding] if self._first(finding) else []

    def _lrs(self) -> str:
        """The run's learning rates, as the config keys that set them."""
        return f"optim.lr_g={self.cfg.optim.lr_g:g}, optim.lr_d={self.cfg.optim.lr_d:g}"

    # non-finite ------------------------------------------------------------------------------------
    def _non_finite(self, step: int, record: dict[str, Any], bad: list[str]) -> Finding:
        values = ", ".join(f"{k} = {record[k]}" for k in bad)
        return Finding("non-finite", step, f"the training has produced non-finite numbers ({values}) in the "
                       f"log interval ending at step {step}; the weights are lost from there on",
                       self._non_finite_remedy())

    def _non_finite_remedy(self) -> str:
        remedy = (f"train again with lower learning rates (now {self._lrs()}), e.g. a tenth of them; bound D's "
                  "gradients with a regularizer (reg.name=r1) or spectral normalization (model.spectral_norm=true, "
                  "or --preset hinge-sn-mnist)")
        if self.cfg.train.precision != "fp32":
            remedy += "; train in float32 (train.precision=fp32)"
        return remedy

    # non-convergence -------------------------------------------------------------------------------
    def _fixed_scale(self, key: str) -> bool:
        """True for losses whose scale is fixed by their form (see RUNAWAY_LOSS): every GAN loss but the
        Wasserstein critic's, not the VAE's."""
        return key != "loss" and self.loss not in WASSERSTEIN_LOSSES

    def _runaway_level(self, key: str) -> float | None:
        """The magnitude above which ``key`` has run away, or None while too little is known."""
        if self._fixed_scale(key):
            return RUNAWAY_LOSS
        earlier = [abs(r[key]) for r in list(self.history)[:-1] if key in r]
        if len(earlier) < MIN_HISTORY:
            return None
        return RUNAWAY_FACTOR * max(statistics.median(earlier), 1e-12)

    def _runaway(self, step: int) -> Finding | None:
        record = self.history[-1]
        over = {}
        for key in watched_losses(record, self.loss):
            level = self._runaway_level(key)
            if level is not None and abs(record[key]) > level:
                over[key] = level
        self.runaway_streak = self.runaway_streak + 1 if over else 0
        if self.runaway_streak < RUNAWAY_INTERVALS:
            return None
        seen = ", ".join(f"|{k}| = {abs(record[k]):.4g} > {level:.4g}" for k, level in over.items())
        return Finding("non-convergence", step, f"the losses have run away ({seen} for {self.runaway_streak} log "
                       "intervals in a row): the training diverges", self._divergence_remedy())

    def _divergence_remedy(self) -> str:
        return (f"train again with lower learning rates (now {self._lrs()}), e.g. a tenth of them; keep D "
                "Lipschitz with spectral normalization (model.spectral_norm=true, or --preset hinge-sn-mnist) or a "
                "gradient penalty (reg.name=r1)")

    def _oscillation(self, step: int) -> Finding | None:
        for key in watched_losses(self.history[-1], self.loss):
            values = [r[key] for r in self.history if key in r]
            floor = OSC_FLOOR if self._fixed_scale(key) else OSC_RELATIVE_FLOOR * statistics.median(map(abs, values))
            seen = oscillation(values, floor)
            if seen:
                swings, largest, usual = seen
                return Finding(
                    "non-convergence", step,
                    f"{key} oscillates with growing amplitude: {swings} of its last {OSC_WINDOW} changes between log "
                    f"intervals swing up and down by up to {largest:.3g}, against a usual change of {usual:.3g}",
                    f"lower both learning rates (now {self._lrs()}), e.g. by half; damp D with a regularizer "
                    "(reg.name=r1) or spectral normalization (--preset hinge-sn-mnist); "
                    "sample from a generator EMA (ema.half_life=10000)")
        return None

    # D overpowering G ------------------------------------------------------------------------------
    def _dominance(self, step: int, record: dict[str, Any]) -> Finding | None:
        """d-overpowers-g: D's belief held near 0, or G's gradient collapsed while D wins; a G gradient that
        collapses while no D is in G's loss is vanishing-gradient instead (G's own failure)."""
        belief = fake_belief(record, self.loss)
        self.belief_streak = self.belief_streak + 1 if belief is not None and belief < FAKE_BELIEF_FLOOR else 0
        grad = self._grad_level(step, record, belief)
        if self.belief_streak >= DOMINANCE_INTERVALS:
            what = "mean D(G(z))" if "d_fake" in record else "D's belief that the fakes are real (from its scores)"
            seen = (f"{what} has stayed below {FAKE_BELIEF_FLOOR:g} for {self.belief_streak} log intervals "
                    f"(now {belief:.3g}): D rejects every fake, and G learns little from it")
        elif self.grad_streak >= DOMINANCE_INTERVALS:
            fallen = (f"under {GRAD_COLLAPSE_FRACTION:g} of its peak {self.grad_peak:.3g} "
                      f"(step {self.grad_peak_step}), for {self.grad_streak} log intervals")
            if not self._learns_from_d(step):
                return Finding("vanishing-gradient", step, f"G's gradient has vanished: its norm is {grad:.3g}, "
                               f"{fallen}, with no D in G's loss: G has stopped learning", self._vanishing_remedy())
            seen = f"G's gradient norm has collapsed to {grad:.3g}, {fallen}: G no longer receives a signal from D"
        else:
            return None
        return Finding("d-overpowers-g", step, f"D overpowers G: {seen}", self._dominance_remedy())

    def _grad_level(self, step: int, record: dict[str, Any], belief: float | None) -> float | None:
        """G's gradient norm of the record; counts the records in a row it stays collapsed below
        GRAD_COLLAPSE_FRACTION of its peak so far while D rejects most fakes (GRAD_RULE_BELIEF)."""
        level = record.get("grad_norm_g")
        if not isinstance(level, (int, float)):
            return None
        if level > self.grad_peak:
            self.grad_peak, self.grad_peak_step = level, step
        d_winning = belief is None or belief < GRAD_RULE_BELIEF
        collapsed = level < GRAD_COLLAPSE_FRACTION * self.grad_peak and d_winning
        self.grad_streak = self.grad_streak + 1 if collapsed else 0
        return level

    def _learns_from_d(self, step: int) -> bool:
        """Whether G's gradient at ``step`` carries D's signal: a paired run without the adversarial
        term (translate.adv_weight 0, the pixel-loss baseline), or still in its warm-up
        (translate.warmup_steps), learns from its pixel and content losses alone."""
        t = self.cfg.translate
        return run_kind(self.cfg) != PAIRED or (t.adv_weight > 0 and step > t.warmup_steps)

    def _vanishing_remedy(self) -> str:
        o = self.cfg.optim
        ramp = (f"lengthen the warm-up that reaches it (optim.lr_warmup, now {o.lr_warmup})" if o.lr_warmup
                else f"reach it by a warm-up (optim.lr_warmup={REMEDY_WARMUP})")
        return (f"lower optim.lr_g (now {o.lr_g:g}), e.g. to {o.lr_g / 4:g}, or {ramp}, and start "
                "the run again: a step too large drives G's units where no gradient flows (a saturated tanh, "
                "ReLUs that never fire), and they do not come back, in this run or in its checkpoints")

    def _dominance_remedy(self) -> str:
        o = self.cfg.optim
        parts = []
        if o.lr_d > o.lr_g:
            parts.append(f"lower optim.lr_d (now {o.lr_d:g}) to optim.lr_g ({o.lr_g:g}) or below")
        else:
            parts.append(f"lower optim.lr_d (now {o.lr_d:g}), e.g. to {o.lr_d / 4:g}")
        if o.n_critic > 1:
            parts.append(f"fewer D steps per G step (optim.n_critic, now {o.n_critic})")
        if self.loss == "minimax":
            parts.append("the non-saturating G loss (loss.name=nonsaturating)")
        parts.append("hinge loss with spectral normalization (--preset hinge-sn-mnist)")
        parts.append("a D regularizer (reg.name=r1)")
        if self._batch_norm_patchgan():
            parts.append("a D that judges each image alone (model.d_norm=instance or none): a BatchNorm D may tell "
                         "a batch of fakes from a batch of real images by the batch's statistics")
        return "; ".join(parts)

    def _batch_norm_patchgan(self) -> bool:
        """Whether the run's D is a translation PatchGAN with BatchNorm (model.d_norm, models/patchgan.py)."""
        m = self.cfg.model
        return model_kind(m.arch) == "translation" and resolve_norm(m.d_norm, m.spectral_norm) == "batch"

    # mode collapse ---------------------------------------------------------------------------------
    def _collapse(self, step: int, n: int, now: Diversity) -> Finding | None:
        """A finding when a measure of ``now`` fell below COLLAPSE_FRACTION of both the run's earlier
        best and real data's."""
        real = self.real
        lost = []
        if self._lost("spread", now.spread, real.spread if real else None):
            best, at = self.best["spread"]
            seen = (f"their mean pairwise distance in {self.meter.space} space is {now.spread:.3g}, "
                    f"{now.spread / best:.0%} of the {best:.3g} they reached at step {at}")
            if real:
                seen += f" and {now.spread / real.spread:.0%} of real data's {real.spread:.3g}"
            lost.append(seen)
        # one mode (or class) at best is no diversity to lose: falling from it is not a collapse
        if now.modes is not None and self._lost("modes", now.modes, real.modes if real else None, least=1):
            best, at = self.best["modes"]
            what = "capture modes of the mixture" if self.meter.points else "fall into classes (effective number)"
            seen = f"they {what}: {now.modes:.3g}, against {best:.3g} at step {at}"
            if real and real.modes is not None:
                seen += f" and {real.modes:.3g} for real data"
            lost.append(seen)
        if not lost:
            return None
        return Finding("mode-collapse", step,
                       f"mode collapse: the {n} fixed-noise samples have lost their diversity: " + "; ".join(lost),
                       self._collapse_remedy())

    def _lost(self, measure: str, value: float, real: float | None, least: float = 0.0) -> bool:
        """True when ``value`` is below COLLAPSE_FRACTION of the best earlier value and of real data's
        (where there is real data to compare with); never when the best was ``least`` or less."""
        if measure not in self.best or self.best[measure][0] <= least:
            return False
        below_real = real is None or value < COLLAPSE_FRACTION * real
        return value < COLLAPSE_FRACTION * self.best[measure][0] and below_real

    def _remember(self, step: int, now: Diversity) -> None:
        for measure, value in (("spread", now.spread), ("modes", now.modes)):
            if value is not None and math.isfinite(value) and value > self.best.get(measure, (-math.inf, 0))[0]:
                self.best[measure] = (value, step)

    def _collapse_remedy(self) -> str:
        parts = ["let D judge packs of samples (model.pack=2, PacGAN)"]
        if self.meter.points:
            parts.append("--preset pacgan-toy-grid")
        parts += ["a D regularizer (reg.name=r1)", "a Wasserstein loss with gradient penalty (--preset wgan-gp-mnist)"]
        if not self.cfg.ema.half_life:
            parts.append("sample from a generator EMA (ema.half_life=10000)")
        return "; ".join(parts)
