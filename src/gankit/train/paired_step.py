"""The paired translation step: pix2pix, SRGAN/ESRGAN-style enhancement, inpainting.

G maps a source to its target; a conditional PatchGAN D judges (source, image) pairs,
so G is rewarded for outputs that are real *for that source*. Shapes: source
[B, Cs, h, w], target and output [B, Ct, H, W] in [-1, 1]; D's logits [B, P], one per
patch.

With ``translate.d_sees_source`` false D judges the image alone, as SRGAN's and ESRGAN's
D do: it can then tell a fake only by how it looks. A D that sees the source can also
tell one by how it fits: a real super-resolution target, downsampled with the pair's
fixed kernel, gives its source exactly and an output only nearly, a fit the pixel loss
already holds G to.

With ``translate.class_projection`` D also judges each pair with the target's class
(inputs.labels[0], int64 [B]): a fill or an enhancement is real only as an image of its own
class. G never sees the class; it learns outputs its class's D accepts.

Phases of a step (inputs.sources[0] -> inputs.reals[0]):
  output     fake = G(source), or G(source, z) for a stochastic G (model.noise_channels),
             with a second output G(source, z2) when translate.diversity_weight is on, and
             translate.best_of outputs in all (fake the first) when it is over 1
  D step     raise D on (source, target), lower it on (source, fake.detach()),
             + a regularizer when due (reg.name: r1, gp, dragan, as in the GAN step,
             differentiated with respect to the judged image, the source held fixed; a
             PatchGAN with BatchNorm ties each sample's gradient to its batch, so under
             torchrun to its process's share: model.spectral_norm replaces the BatchNorm);
             skipped during the warm-up and when adv_weight is 0
  G step     adv_weight * adversarial + pixel_weight * pixel (L1/L2)
             + perceptual_weight * perceptual + feature_matching_weight * feature matching
             + diversity_weight * mode seeking (Mao et al. 2019: 1 / (ratio + eps), the ratio
             of mean |fake - fake2| to mean |z - z2|, so outputs move with the noise; with
             translate.diversity_space perceptual, |fake - fake2| is taken between their
             features in the perceptual loss's frozen network),
             with D frozen; the adversarial term is left out during the warm-up
             (translate.warmup_steps G steps, SRGAN's pre-training) and when adv_weight
             is 0: the pixel-loss baseline, from the same code. With translate.warmup_loss
             pixel the warm-up's loss is the pixel loss alone, unweighted (SRGAN pre-trains
             on MSE, ESRGAN on L1, before their content losses take over); the second
             output of the mode-seeking term is then not drawn. With translate.best_of K over 1
             the content losses (pixel, perceptual) count, for each source, only the one of its
             K outputs with the least of them (multiple-choice learning): an output is not pulled
             toward a target another output is closer to, so the K may differ where the source
             leaves the target open; D and the adversarial term see the first.
The relativistic loss (ESRGAN) also judges the targets in the G step.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from gankit.config import Config
from gankit.losses import GANLoss, PerceptualLoss, feature_distance, feature_matching_loss, pixel_loss
from gankit.models.noise_input import noise_channels
from gankit.registry import LOSSES, STEPS
from gankit.regularizers import Penalty, penalty_for
from gankit.train.guard import OFF, Guard
from gankit.train.interface import Networks, StepInputs
from gankit.train.optim import make_optimizer
from gankit.train.step import d_outputs, grad_norm

Tensor = torch.Tensor

MODE_SEEKING_EPS = 1e-5  # keeps the mode-seeking term finite while G still ignores its noise


@dataclass
class PairedStep:
    capturable: ClassVar[bool] = True  # a fixed computation when there is no warm-up (the Trainer checks)
    uses_noise: ClassVar[bool] = False
    n_batches: ClassVar[int] = 1

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None  # None for the pixel-loss baseline (adv_weight 0): no D is trained
    loss: GANLoss
    adv_weight: float = 1.0
    pixel: str = "l1"
    pixel_weight: float = 100.0
    perceptual: nn.Module | None = None
    perceptual_weight: float = 0.0
    feature_matching_weight: float = 0.0
    diversity_weight: float = 0.0
    diversity_features: nn.Module | None = None  # the mode-seeking distance in this network's features; None: pixels
    best_of: int = 1  # outputs per source of which the closest is held to the target (a stochastic G)
    warmup_steps: int = 0
    warmup_loss: str = "content"  # what G learns in the warm-up: "content" (the G step without D) or "pixel"
    penalty: Penalty | None = None  # D's regularizer (reg.*), None: none
    class_projection: bool = False  # D judges each pair with the target's class
    d_sees_source: bool = True  # D judges (image, source); false: the image alone (as D was built)
    bf16: bool = False
    autocast_cache: bool = True
    guard: Guard = field(default_factory=lambda: OFF)
    optimizers: dict[str, torch.optim.Optimizer] = field(init=False)
    noise_channels: int = field(init=False)

    def __post_init__(self) -> None:
        self.noise_channels = noise_channels(self.G)  # k of a stochastic G's z; 0: deterministic
        self.optimizers = {"G": self.opt_g, **({"D": self.opt_d} if self.opt_d is not None else {})}

    @classmethod
    def build(cls, cfg: Config, nets: Networks, precision: str, graphed: bool, world_size: int = 1) -> PairedStep:
        t, o = cfg.translate, cfg.optim
        adversarial = t.adv_weight > 0
        loss = LOSSES.get(cfg.loss.name)
        perceptual = None
        feature_diversity = t.diversity_weight > 0 and t.diversity_space == "perceptual"
        if t.perceptual_weight > 0 or feature_diversity:
            target = cfg.pair.dataset_b if cfg.pair.kind == "unpaired" else cfg.data.dataset
            perceptual = PerceptualLoss(scored_by=target).to(nets.device)
        return cls(nets.G_ddp, nets.D_ddp,
                   make_optimizer(nets.G.parameters(), o, o.lr_g, nets.device, graphed),
                   make_optimizer(nets.D.parameters(), o, o.lr_d, nets.device, graphed) if adversarial else None,
                   loss, adv_weight=t.adv_weight, pixel=t.pixel_loss,
                   pixel_weight=t.pixel_weight, perceptual=perceptual if t.perceptual_weight > 0 else None,
                   perceptual_weight=t.perceptual_weight, feature_matching_weight=t.feature_matching_weight,
                   diversity_weight=t.diversity_weight, diversity_features=perceptual if feature_diversity else None,
                   best_of=t.best_of,
                   warmup_steps=t.warmup_steps, warmup_loss=t.warmup_loss,
                   penalty=penalty_for(cfg.reg.name, cfg.reg.weight, cfg.reg.every, loss) if adversarial else None,
                   class_projection=t.class_projection, d_sees_source=nets.D.conditional,
                   bf16=precision == "bf16", autocast_cache=not graphed)

    def amp(self) -> contextlib.AbstractContextManager:
        if not self.bf16:
            return contextlib.nullcontext()
        return torch.autocast(next(self.G.parameters()).device.type, dtype=torch.bfloat16,
                              cache_enabled=self.autocast_cache)

    def __call__(self, inputs: StepInputs) -> dict[str, Tensor]:
        source, target = inputs.sources[0], inputs.reals[0]  # [B, Cs, h, w], [B, Ct, H, W]
        y = inputs.labels[0] if self.class_projection else None  # the target's class [B], for D alone
        judged_with = source if self.d_sees_source else None  # what D sees beside each image
        warming = inputs.d_index < self.warmup_steps  # d_index counts G steps here
        adversarial = self.adv_weight > 0 and not warming
        pixel_only = warming and self.warmup_loss == "pixel"
        seeking = self.diversity_weight > 0 and not pixel_only
        draws = max(self.best_of, 2 if seeking else 1)  # outputs per source
        second, candidates = None, None  # (fake2, z, z2) for the mode-seeking term; the best-of outputs
        n = len(source)
        with self.amp():
            if draws > 1:  # several noises per source, one forward pass of draws x B
                z = torch.randn(draws * n, self.noise_channels, device=source.device)  # [draws*B, k]
                outputs = self.G(source.repeat(draws, 1, 1, 1), z)  # [draws*B, Ct, H, W], draw by draw
                fake = outputs[:n]  # [B, Ct, H, W]
                if seeking:
                    second = (outputs[n:2 * n], z[:n], z[n:2 * n])
                if self.best_of > 1:
                    candidates = outputs[:self.best_of * n]  # [K*B, Ct, H, W]
            else:
                fake = self.G(source)  # [B, Ct, H, W]; a stochastic G draws its own z
        stats: dict[str, Tensor] = {}
        if adversarial:
            stats.update(self.d_step(judged_with, target, fake.detach(), y, inputs.d_index))
        stats.update(self.g_step(judged_with, target, fake, adversarial, second, y, pixel_only, candidates))
        return stats

    def d_step(self, source: Tensor | None, target: Tensor, fake: Tensor, y: Tensor | None = None,
               d_index: int = 0) -> dict[str, Tensor]:
        """One D update on (source, target) against (source, fake); source None: D judges images alone."""
        with self.amp():
            real_logits, fake_logits = self.D(target, source, y=y).float(), self.D(fake, source, y=y).float()  # [B, P]
        loss_d = self.loss.d_loss(real_logits, fake_logits)
        stats = {"loss_d": loss_d.detach(), **d_outputs(self.loss, real_logits, fake_logits)}
        if self.penalty is not None and self.penalty.due(d_index):
            penalty = self.penalty.reg.fn(self.critic(source), target, fake, y).float()
            loss_d = loss_d + self.penalty.term(penalty)
            stats["penalty"] = penalty.detach()
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        stats["grad_norm_d"] = grad_norm(self.opt_d)
        if self.guard.allows("D", loss_d=loss_d, grad_norm=stats["grad_norm_d"]):
            self.opt_d.step()
        return stats

    def closest_content(self, candidates: Tensor, target: Tensor,
                        pixel_only: bool) -> tuple[Tensor, dict[str, Tensor]]:
        """The content loss (weighted pixel + perceptual; the pixel loss alone in a pixel warm-up) of the
        closest of each target's K candidates [K*B, ...], averaged over the B targets, and its terms' stats.
        Only that output's loss reaches G: the others are free to draw other targets the source allows."""
        k = len(candidates) // len(target)
        targets = target.repeat(k, 1, 1, 1)  # [K*B, Ct, H, W], draw by draw as the candidates
        pixel = pixel_loss(candidates, targets, self.pixel, per_image=True)  # [K*B]
        content = pixel if pixel_only else self.pixel_weight * pixel
        perceptual = None
        if self.perceptual is not None and not pixel_only:
            perceptual = self.perceptual(candidates, targets, per_image=True)  # [K*B]
            content = content + self.perceptual_weight * perceptual
        closest = content.view(k, -1).argmin(0, keepdim=True)  # [1, B]: the draw closest to each target

        def chosen(per_draw: Tensor) -> Tensor:  # [K*B] -> [B], each target's closest draw
            return per_draw.view(k, -1).gather(0, closest).squeeze(0)

        stats = {"pixel": chosen(pixel).mean().detach()}
        if perceptual is not None:
            stats["perceptual"] = chosen(perceptual).mean().detach()
        return chosen(content).mean(), stats

    def output_distance(self, fake: Tensor, fake2: Tensor) -> Tensor:
        """The mode-seeking term's distance between two outputs of each source: mean |fake - fake2|
        in pixels, or in the frozen network's features (translate.diversity_space)."""
        if self.diversity_features is None:
            return (fake - fake2).abs().mean()
        taps = self.diversity_features.features(torch.cat([fake, fake2]))  # each [2B*C, c, h, w]
        # both outputs carry G's gradient: neither is held constant, as a target's features are
        return feature_distance(*zip(*(t.chunk(2) for t in taps)))

    def critic(self, source: Tensor | None):
        """D as a regularizer calls it, ``D(image, y) -> logits [B, P]``: every image judged as the output
        for ``source``, so the penalty's gradient is taken with respect to the image alone."""
        def judged(image: Tensor, y: Tensor | None) -> Tensor:
            with self.amp():
                return self.D(image, source, y=y)
        return judged

    def g_step(self, source: Tensor | None, target: Tensor, fake: Tensor, adversarial: bool,
               second: tuple[Tensor, Tensor, Tensor] | None = None, y: Tensor | None = None,
               pixel_only: bool = False, candidates: Tensor | None = None) -> dict[str, Tensor]:
        """G's update; ``candidates`` [K*B, ...]: the best-of-K outputs whose closest to each target bears the
        content losses (None: ``fake`` bears them)."""
        D = getattr(self.D, "module", self.D)  # D is not updated here: its plain module, no DDP sync
        stats: dict[str, Tensor] = {}
        with self.amp():
            if candidates is not None:
                loss_g, content = self.closest_content(candidates.float(), target, pixel_only)
                stats.update(content)
            else:
                pixel = pixel_loss(fake.float(), target, self.pixel)
                loss_g = pixel if pixel_only else self.pixel_weight * pixel  # pixel_only: a pixel-loss warm-up step
                stats["pixel"] = pixel.detach()
            if adversarial:
                D.requires_grad_(False)
                fm = self.feature_matching_weight > 0
                out_fake = D(fake, source, features=fm, y=y)
                fake_logits = (out_fake[0] if fm else out_fake).float()
                real_logits, real_features = None, None
                if self.loss.g_uses_real or fm:
                    with torch.no_grad():
                        out_real = D(target, source, features=fm, y=y)
                    real_logits, real_features = (out_real if fm else (out_real, None))
                    real_logits = real_logits.float()
                adv = self.loss.g_loss(fake_logits, real_logits)
                loss_g = loss_g + self.adv_weight * adv
                stats["adv_g"] = adv.detach()
                if fm:
                    matching = feature_matching_loss(out_fake[1], real_features)
                    loss_g = loss_g + self.feature_matching_weight * matching
                    stats["feature_matching"] = matching.detach()
            if self.perceptual is not None and not pixel_only and candidates is None:
                perceptual = self.perceptual(fake.float(), target)
                loss_g = loss_g + self.perceptual_weight * perceptual
                stats["perceptual"] = perceptual.detach()
            if second is not None:
                fake2, z, z2 = second
                ratio = self.output_distance(fake.float(), fake2.float()) / (z - z2).abs().mean()
                loss_g = loss_g + self.diversity_weight / (ratio + MODE_SEEKING_EPS)
                stats["diversity"] = ratio.detach()
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        stats["loss_g"] = loss_g.detach()
        stats["grad_norm_g"] = grad_norm(self.opt_g)
        if self.guard.allows("G", loss_g=loss_g, grad_norm=stats["grad_norm_g"]):
            self.opt_g.step()
        D.requires_grad_(True)
        return stats


STEPS.register("paired", PairedStep, help="paired translation: a conditional D step, then G on adversarial + pixel "
                                          "losses (train/paired_step.py)")
