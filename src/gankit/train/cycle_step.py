"""The unpaired translation step: CycleGAN (Zhu et al. 2017).

Two generators, ``G.ab`` (A -> B) and ``G.ba`` (B -> A), and two discriminators,
``D.a`` and ``D.b``, each judging real images of its domain against the other
generator's outputs. With no pairs to compare with, translating there and back must
give the image again (cycle consistency); a generator fed an image of its own output
domain should leave it as it is (identity; only where both domains have the same
channels). Shapes: a [B, Ca, H, W], b [B, Cb, H, W] in [-1, 1]; D logits [B, P].

Phases of a step (inputs.sources[0] is a batch of A, inputs.reals[0] a batch of B):
  G step   fake_b = G.ab(a), fake_a = G.ba(b), judged by the frozen D.b and D.a,
           + cycle_weight * (|G.ba(fake_b) - a| + |G.ab(fake_a) - b|)
           + identity_weight * cycle_weight * (|G.ab(b) - b| + |G.ba(a) - a|)
           + class_weight * (CE(D.b's classes of fake_b, class of a) + CE(D.a's of fake_a, class of b))
  D step   D.b: b against fakes from a pool of past fake_b; D.a likewise. The pool
           (Shrivastava et al. 2017) keeps pool_size past fakes; each new fake either
           goes straight to D or, half of the time once the pool is full, replaces a
           random pooled fake, which D sees instead: D is not trained on the latest
           generator alone, which damps oscillation.
           + class_weight * (CE(D.b's classes of b, class of b) + CE(D.a's of a, class of a))
           + a regularizer when due (reg.name: r1, gp, dragan, as in the GAN step), the sum
           of D.b's penalty on b (and its pooled fakes) and D.a's on a

The class-consistency terms (``translate.class_weight`` > 0, both domains labelled) are
not in CycleGAN: nothing in its losses ties a source's class to its output's (MNIST ->
Fashion-MNIST keeps few; docs/results.md). Each D then also learns
its domain's classes from real images alone (a class head, models/patchgan.py), and each
generator is pulled to have its outputs read as its source's class under the fixed map
class k -> class k: the semantic consistency of CyCADA (Hoffman et al. 2018), with the
classifier trained alongside rather than beforehand. With ``translate.class_projection``
each D instead (or as well) judges an image together with its class, real images with
their labels and fakes with their sources' (see :meth:`CycleStep.judge`; the pools keep
each fake's class): a garment of the wrong class for its digit is then simply a fake, and
the class signal is the adversarial loss itself, not a head G can satisfy apart from D's
verdict. Labels: inputs.source_labels[0] (a's), inputs.labels[0] (b's).
The pool is part of the step's state and is checkpointed; its random choices draw from
torch's global generator, which checkpoints restore.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from gankit.config import Config
from gankit.losses import GANLoss, pixel_loss
from gankit.registry import LOSSES, STEPS
from gankit.regularizers import Penalty, penalty_for
from gankit.train.distributed import average_gradients
from gankit.train.guard import OFF, Guard
from gankit.train.interface import Networks, StepInputs
from gankit.train.optim import make_optimizer
from gankit.train.step import d_outputs, grad_norm

Tensor = torch.Tensor


class FakePool:
    """Up to ``size`` past generator outputs of one domain (CycleGAN's image pool), each with the
    class it was made for when there are classes (a projection D judges a fake with its class)."""

    def __init__(self, size: int):
        self.size = size
        self.images: list[Tensor] = []  # each [C, H, W], detached
        self.labels: list[Tensor] = []  # each int64 [], beside its image; empty without classes

    def query(self, fakes: Tensor, labels: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """The batch D trains on: each fake [B, C, H, W] (and its class [B]), or a pooled one it replaces."""
        if self.size == 0:
            return fakes, labels
        if self.images and (labels is not None) != bool(self.labels):
            raise ValueError("a fake pool holds fakes with classes or without, not both")
        ys = [None] * len(fakes) if labels is None else list(labels)
        out, out_y = [], []
        for x, y in zip(fakes.detach(), ys):
            if len(self.images) < self.size:
                self._keep(len(self.images), x, y)
                out.append(x)
                out_y.append(y)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(self.size, ()))
                out.append(self.images[i].clone())
                out_y.append(self.labels[i].clone() if y is not None else None)
                self._keep(i, x, y)
            else:
                out.append(x)
                out_y.append(y)
        return torch.stack(out), None if labels is None else torch.stack(out_y)

    def _keep(self, i: int, x: Tensor, y: Tensor | None) -> None:
        """Put fake x (and its class y) in slot i; slot len(images) appends."""
        if i == len(self.images):
            self.images.append(x.clone())
            self.labels += [] if y is None else [y.clone()]
        else:
            self.images[i] = x.clone()
            if y is not None:
                self.labels[i] = y.clone()

    def state_dict(self) -> dict[str, Any]:
        """The pool on the CPU (as checkpoints hold it, and as ranks send it to each other)."""
        return {"images": torch.stack(self.images).cpu() if self.images else None,
                "labels": torch.stack(self.labels).cpu() if self.labels else None}

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str = "cpu") -> None:
        """Restore the pool onto ``device``, the generator's (checkpoints load on the CPU)."""
        saved, labels = state["images"], state.get("labels")  # checkpoints before classes hold no labels
        self.images = [] if saved is None else [x.to(device, copy=True) for x in saved]
        self.labels = [] if labels is None else [y.to(device, copy=True) for y in labels]


@dataclass
class CycleStep:
    capturable: ClassVar[bool] = False  # the pool's Python-side choices change the step from call to call
    averages_gradients: ClassVar[bool] = True  # under torchrun: all-reduced here, no DDP wrapper
    uses_noise: ClassVar[bool] = False
    n_batches: ClassVar[int] = 1

    G: nn.Module  # CycleGenerators: .ab, .ba
    D: nn.Module  # CycleDiscriminators: .a, .b
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    loss: GANLoss
    cycle_weight: float = 10.0
    identity_weight: float = 0.5  # relative to cycle_weight
    adv_weight: float = 1.0
    pool_size: int = 50
    class_weight: float = 0.0  # the class-consistency loss; its D's carry class heads when > 0
    class_projection: bool = False  # D's judge each image with its class (a class embedding each)
    penalty: Penalty | None = None  # each D's regularizer (reg.*), None: none
    bf16: bool = False
    world_size: int = 1  # torchrun's processes: the step averages its gradients over them
    guard: Guard = field(default_factory=lambda: OFF)
    optimizers: dict[str, torch.optim.Optimizer] = field(init=False)
    pools: dict[str, FakePool] = field(init=False)

    def __post_init__(self) -> None:
        self.optimizers = {"G": self.opt_g, "D": self.opt_d}
        self.pools = {"a": FakePool(self.pool_size), "b": FakePool(self.pool_size)}

    @classmethod
    def build(cls, cfg: Config, nets: Networks, precision: str, graphed: bool, world_size: int = 1) -> CycleStep:
        t, o = cfg.translate, cfg.optim
        loss = LOSSES.get(cfg.loss.name)
        return cls(nets.G, nets.D,
                   make_optimizer(nets.G.parameters(), o, o.lr_g, nets.device),
                   make_optimizer(nets.D.parameters(), o, o.lr_d, nets.device),
                   loss, cycle_weight=t.cycle_weight, identity_weight=t.identity_weight,
                   adv_weight=t.adv_weight, pool_size=t.pool_size, class_weight=t.class_weight,
                   class_projection=t.class_projection,
                   penalty=penalty_for(cfg.reg.name, cfg.reg.weight, cfg.reg.every, loss),
                   bf16=precision == "bf16", world_size=world_size)

    def amp(self) -> contextlib.AbstractContextManager:
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(next(self.G.parameters()).device.type, dtype=torch.bfloat16)

    def __call__(self, inputs: StepInputs) -> dict[str, Tensor]:
        a, b = inputs.sources[0], inputs.reals[0]  # [B, Ca, H, W], [B, Cb, H, W]
        y_a = inputs.source_labels[0] if inputs.source_labels else None  # int64 [B] each
        y_b = inputs.labels[0]
        if self.classes and (y_a is None or y_b is None):
            raise ValueError("the class-consistency loss or class projection needs both domains' labels: "
                             "inputs.source_labels and labels")
        # the pair's two directions are called apart and each more than once, which DDP's one
        # forward a backward does not fit: the step averages the gradients itself
        stats, fake_a, fake_b = self.g_step(self.G, self.D, a, b, y_a, y_b)
        stats.update(self.d_step(self.D, a, b, fake_a, fake_b, y_a, y_b, inputs.d_index))
        return stats

    @property
    def classes(self) -> bool:
        """Whether the step needs both domains' labels: for the class-consistency loss or the class projection."""
        return bool(self.class_weight) or self.class_projection

    def judge(self, d: nn.Module, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """D's patch verdicts on x [B, P] and, where D has a class head, its class logits [B, K] (else None).

        With class projection, each patch is judged as a patch of an image of class y [B]
        (models/patchgan.py): D learns what real images of each class look like, so an
        output of the wrong class for its source is a fake.
        """
        if not self.class_weight:
            return self.verdict(d, x, y), None
        logits, classes = d.judge(x, y=y if self.class_projection else None)
        return logits.float(), classes.float()

    def verdict(self, d: nn.Module, x: Tensor, y: Tensor | None = None) -> Tensor:
        """D's patch verdicts on x [B, P] alone (no class logits: the D step's fakes need none)."""
        return d(x, y=y if self.class_projection else None).float()

    def critic(self, d: nn.Module):
        """``d`` as a regularizer calls it, ``d(x, y) -> logits [B, P]``: verdicts alone, under autocast."""
        def judged(x: Tensor, y: Tensor | None) -> Tensor:
            with self.amp():
                return self.verdict(d, x, y)
        return judged

    def g_step(self, G: nn.Module, D: nn.Module, a: Tensor, b: Tensor, y_a: Tensor | None = None,
               y_b: Tensor | None = None) -> tuple[dict[str, Tensor], Tensor, Tensor]:
        D.requires_grad_(False)
        with self.amp():
            fake_b, fake_a = G.ab(a), G.ba(b)  # [B, Cb, H, W], [B, Ca, H, W]
            (judged_b, classes_b), (judged_a, classes_a) = self.judge(D.b, fake_b, y_a), self.judge(D.a, fake_a, y_b)
            adv = self.loss.g_loss(judged_b) + self.loss.g_loss(judged_a)
            cycle = pixel_loss(G.ba(fake_b).float(), a) + pixel_loss(G.ab(fake_a).float(), b)
            loss_g = self.adv_weight * adv + self.cycle_weight * cycle
            stats = {"adv_g": adv.detach(), "cycle": cycle.detach()}
            if self.class_weight:  # fake_b should read as a's class in domain B (class k -> class k), fake_a as b's
                kept = F.cross_entropy(classes_b, y_a) + F.cross_entropy(classes_a, y_b)
                loss_g = loss_g + self.class_weight * kept
                stats["class_g"] = kept.detach()
            if self.identity_weight > 0 and a.shape[1:] == b.shape[1:]:
                identity = pixel_loss(G.ab(b).float(), b) + pixel_loss(G.ba(a).float(), a)
                loss_g = loss_g + self.identity_weight * self.cycle_weight * identity
                stats["identity"] = identity.detach()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        average_gradients(G.parameters(), self.world_size)
        stats["loss_g"] = loss_g.detach()
        stats["grad_norm_g"] = grad_norm(self.opt_g)
        if self.guard.allows("G", loss_g=loss_g, grad_norm=stats["grad_norm_g"]):
            self.opt_g.step()
        D.requires_grad_(True)
        return stats, fake_a.detach(), fake_b.detach()

    def d_step(self, D: nn.Module, a: Tensor, b: Tensor, fake_a: Tensor, fake_b: Tensor,
               y_a: Tensor | None = None, y_b: Tensor | None = None, d_index: int = 0) -> dict[str, Tensor]:
        project = self.class_projection  # the pools keep each fake's class: a's for fake_b, b's for fake_a
        pooled_a, pooled_ya = self.pools["a"].query(fake_a, y_b if project else None)
        pooled_b, pooled_yb = self.pools["b"].query(fake_b, y_a if project else None)
        with self.amp():
            (real_b, classes_b), fake_b_logits = self.judge(D.b, b, y_b), self.verdict(D.b, pooled_b, pooled_yb)
            (real_a, classes_a), fake_a_logits = self.judge(D.a, a, y_a), self.verdict(D.a, pooled_a, pooled_ya)
        loss_d = self.loss.d_loss(real_b, fake_b_logits) + self.loss.d_loss(real_a, fake_a_logits)
        stats = {}
        if self.class_weight:  # each D learns its domain's classes from real images only
            learned = F.cross_entropy(classes_b, y_b) + F.cross_entropy(classes_a, y_a)
            loss_d = loss_d + self.class_weight * learned
            stats["class_d"] = learned.detach()
        if self.penalty is not None and self.penalty.due(d_index):
            fn = self.penalty.reg.fn
            penalty = (fn(self.critic(D.b), b, pooled_b, y_b) + fn(self.critic(D.a), a, pooled_a, y_a)).float()
            loss_d = loss_d + self.penalty.term(penalty)
            stats["penalty"] = penalty.detach()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        average_gradients(D.parameters(), self.world_size)
        stats.update({"loss_d": loss_d.detach(), **d_outputs(self.loss, real_b, fake_b_logits),
                      "grad_norm_d": grad_norm(self.opt_d)})
        if self.guard.allows("D", loss_d=loss_d, grad_norm=stats["grad_norm_d"]):
            self.opt_d.step()
        return stats

    def state_dict(self) -> dict[str, Any]:
        """The fake pools: part of what a resumed run needs to continue exactly."""
        return {name: pool.state_dict() for name, pool in self.pools.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        device = next(self.G.parameters()).device
        for name, pool in self.pools.items():
            pool.load_state_dict(state[name], device)


STEPS.register("cycle", CycleStep, help="unpaired translation: CycleGAN's G step (adversarial, cycle, identity), "
                                        "then D on pooled fakes (train/cycle_step.py)")
