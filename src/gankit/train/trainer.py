"""The parts of a run and their state: data, G and D, optimizers, the step, EMA, RNGs.

``Trainer(cfg)`` builds everything a config names; ``train_step()`` advances one
G step; ``state_dict()`` / ``load_state_dict()`` capture and restore all of it,
so that a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import time
from typing import Any

import safetensors.torch
import torch

from gankit import __version__, atomic, viz
from gankit.config import Config
from gankit.data import load_dataset
from gankit.data.batches import DeviceBatches
from gankit.device import resolve_device, resolve_precision
from gankit.ema import EMA
from gankit.errors import ConfigError
from gankit.models import build_models
from gankit.registry import LOSSES
from gankit.regularizers import resolve as resolve_regularizer
from gankit.train import distributed, state
from gankit.train.step import GANStep, VAEStep

POINTS_SHOWN = 2500  # 2-D data: points in each epoch's scatter plot (VEEGAN and PacGAN score 2,500)


def make_optimizer(params, cfg: Config, lr: float, device: torch.device,
                   capturable: bool = False) -> torch.optim.Optimizer:
    """Adam (or RMSprop for WGAN); ``capturable`` when the step is replayed as a CUDA graph (the
    optimizer then keeps its step counts on the device, where a replay can advance them)."""
    o = cfg.optim
    if o.name == "rmsprop":  # the WGAN paper: momentum-free, as Adam destabilised its critic
        return torch.optim.RMSprop(params, lr=lr, capturable=capturable)
    fused = device.type == "cuda" if o.fused is None else o.fused
    return torch.optim.Adam(params, lr=lr, betas=(o.beta1, o.beta2), fused=fused or None, capturable=capturable)


class Trainer:
    def __init__(self, cfg: Config, device: torch.device | None = None, dist: distributed.Dist = distributed.SINGLE):
        self.cfg = cfg
        self.dist = dist
        self.device = device or resolve_device(distributed.device_for(dist, cfg.train.device))
        torch.manual_seed(cfg.train.seed)  # initial weights, dropout, augmentation, penalties
        d = cfg.data
        self.data = load_dataset(d.dataset, d.split, root=d.root, download=d.download, device=self.device,
                                 resolution=d.resolution, channels=d.channels,
                                 labels_from_folders=d.labels_from_folders, size=d.size)
        self.points = self.data.kind == "points"
        self.conditional = cfg.model.conditioning != "none"
        self.num_classes = self.data.num_classes if self.conditional else 0
        if self.conditional and not self.num_classes:
            raise ConfigError(f"model.conditioning={cfg.model.conditioning} needs labels, and {d.dataset} has none "
                              "(for imagefolder: data.labels_from_folders=true)")
        n = d.subset or len(self.data)
        self.batches = DeviceBatches(self.data.images[:n], self.data.labels[:n], cfg.train.batch_size,
                                     cfg.train.seed, rank=dist.rank, world_size=dist.world_size)
        self.precision = resolve_precision(cfg.train.precision, self.device)
        self.n_critic = cfg.optim.n_critic
        self.steps_per_epoch = self.batches.steps_per_epoch // self.n_critic  # G steps
        if self.steps_per_epoch < 1:
            raise ConfigError(f"optim.n_critic={self.n_critic} D steps need more batches than one epoch holds")

        self.G, self.D = build_models(cfg.model, self.data.shape, self.num_classes)
        if dist.active and cfg.train.sync_bn:
            for net in (self.G, self.D):
                distributed.sync_batchnorm(net, self.device.type == "cuda")
        self.G.to(self.device)
        self.D.to(self.device)
        if cfg.train.channels_last:  # 4-D weights only; G's first layer and D's last are linear
            self.G.to(memory_format=torch.channels_last)
            self.D.to(memory_format=torch.channels_last)
        # Under torchrun the step runs through DDP wrappers, which average gradients;
        # everything else (EMA, checkpoints, sampling) uses the plain modules.
        self.G_step, self.D_step = self.G, self.D
        if dist.active:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.G_step, self.D_step = DDP(self.G, device_ids=ids), DDP(self.D, device_ids=ids)
            torch.manual_seed(cfg.train.seed + 1_000_003 * (dist.rank + 1))  # per-rank dropout, augmentation
        self.cuda_graph = self._cuda_graph()
        if cfg.model.arch == "vae":  # D is the encoder; one optimizer trains both on the ELBO
            self.opt_g = make_optimizer([*self.G.parameters(), *self.D.parameters()], cfg, cfg.optim.lr_g, self.device)
            self.opt_d = None
            self.step_fn: Any = VAEStep(self.G_step, self.D_step, self.opt_g)
        else:
            self.opt_g = make_optimizer(self.G.parameters(), cfg, cfg.optim.lr_g, self.device, self.cuda_graph)
            self.opt_d = make_optimizer(self.D.parameters(), cfg, cfg.optim.lr_d, self.device, self.cuda_graph)
            self.step_fn = self._gan_step()
            if self.cuda_graph:
                from gankit.train.graphed import GraphedStep

                self.step_fn = GraphedStep(self.step_fn, self.n_critic, strict=cfg.train.cuda_graph is True)
        self.ema = EMA(self.G, cfg.ema.half_life, cfg.ema.rampup) if cfg.ema.half_life else None
        self.noise = torch.Generator(self.device).manual_seed(cfg.train.seed)  # draws z and fake labels
        self.fixed_z, self.fixed_y, self.grid_nrow = self._fixed_batch()
        self.step = 0  # G steps done
        self.train_seconds = 0.0  # time spent in training steps, resumes included (train.max_minutes)
        self.best: dict[str, float] = {}  # {"fid": lowest FID so far, "step": when}

    def _gan_step(self) -> GANStep:
        cfg = self.cfg
        if cfg.optim.update == "simultaneous" and (self.n_critic > 1 or self.dist.active):
            raise ConfigError("optim.update=simultaneous needs optim.n_critic=1 and a single process")
        loss = LOSSES.get(cfg.loss.name)
        reg, weight = resolve_regularizer(cfg.reg.name, cfg.reg.weight, loss)
        return GANStep(self.G_step, self.D_step, self.opt_g, self.opt_d, loss, n_critic=self.n_critic,
                       reg=reg, reg_weight=weight, reg_every=cfg.reg.every, clip=cfg.loss.clip,
                       aux_weight=cfg.loss.aux_weight, augment=cfg.augment.policy,
                       bf16=self.precision == "bf16", simultaneous=cfg.optim.update == "simultaneous",
                       autocast_cache=not self.cuda_graph)

    def _cuda_graph(self) -> bool:
        """train.cuda_graph resolved: null is on where the step can be captured; true must be capturable."""
        cfg = self.cfg
        problem = None
        if self.device.type != "cuda":
            problem = f"needs a CUDA device, and this run trains on {self.device}"
        elif self.dist.active:
            problem = "runs in one process only (not under torchrun)"
        elif cfg.model.arch == "vae":
            problem = "is for GAN steps; the VAE baseline's step is not captured"
        elif cfg.reg.every != 1:
            problem = f"replays one fixed step, and reg.every={cfg.reg.every} changes the step every few steps"
        if problem and cfg.train.cuda_graph:
            raise ConfigError(f"train.cuda_graph=true {problem}; set train.cuda_graph=null (on where it applies) "
                              "or false")
        return cfg.train.cuda_graph is not False and problem is None

    def _fixed_batch(self) -> tuple[torch.Tensor, torch.Tensor | None, int | None]:
        """One fixed noise batch for the epoch pictures, drawn on the CPU (the same on every device).

        Conditional models with few classes show one row per class.
        """
        g = torch.Generator().manual_seed(self.cfg.train.seed + 1)
        n, y, nrow = (POINTS_SHOWN if self.points else self.cfg.log.grid), None, None
        if self.num_classes and self.num_classes <= 16:
            nrow = max(1, n // self.num_classes)
            y = torch.arange(self.num_classes).repeat_interleave(nrow)
            n = len(y)
        elif self.num_classes:
            y = torch.randint(self.num_classes, (n,), generator=g)
        z = torch.randn(n, self.cfg.model.latent_dim, generator=g).to(self.device)
        return z, (y.to(self.device) if y is not None else None), nrow

    @property
    def total_steps(self) -> int:
        """G steps of the whole run: train.epochs of them, capped by train.steps."""
        t = self.cfg.train
        total = t.epochs * self.steps_per_epoch
        return min(total, t.steps) if t.steps else total

    # stepping ---------------------------------------------------------------
    def batch(self, i: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D step i's real batch: data [B, ...] and, for conditional models, labels [B]."""
        x, y = self.batches.get(i)
        if self.cfg.train.channels_last and x.dim() == 4:  # the layout of the weights
            x = x.contiguous(memory_format=torch.channels_last)
        return x, (y if self.conditional else None)

    def sample_z(self, b: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """z [b, latent] and fake labels [b]: this rank's slice of the global batch's draw."""
        w, r = self.dist.world_size, self.dist.rank
        z = torch.randn(b * w, self.cfg.model.latent_dim, device=self.device, generator=self.noise)[r * b : (r + 1) * b]
        y = None
        if self.conditional:  # fake labels uniform over the classes
            y = torch.randint(self.num_classes, (b * w,), device=self.device, generator=self.noise)[r * b : (r + 1) * b]
        return z, y

    @property
    def over_budget(self) -> bool:
        limit = self.cfg.train.max_minutes
        return limit is not None and self.train_seconds >= 60 * limit

    def train_step(self) -> dict[str, torch.Tensor]:
        t0 = time.perf_counter()
        stats = self.step_fn(self.batch, self.sample_z, self.step * self.n_critic)
        self.step += 1
        if self.ema:
            b = self.cfg.train.batch_size
            self.ema.update(self.G, b, self.step * b)
        self.train_seconds += time.perf_counter() - t0
        return stats

    @property
    def sampling_G(self) -> torch.nn.Module:
        """The generator used for pictures, evaluation and export: the EMA when on."""
        return self.ema.module if self.ema else self.G

    @torch.no_grad()
    def sample_fixed(self) -> torch.Tensor:
        """The fixed batch through G in inference mode: uint8 images, or float points."""
        G = self.sampling_G
        was_training = G.training
        G.eval()
        out = G(self.fixed_z, self.fixed_y)
        G.train(was_training)
        return out.float().cpu() if self.points else viz.to_uint8(out)

    # checkpoints ------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything to resume from; under torchrun a collective (every rank's RNG state is kept)."""
        rng = distributed.gather(state.rng_state(self.noise), self.dist)
        return {
            "config": self.cfg.to_dict(),
            "step": self.step,
            "image_shape": list(self.data.shape),  # so a sampler needs no dataset
            "num_classes": self.num_classes,
            "models": {"G": self.G.state_dict(), "D": self.D.state_dict()},
            "ema": self.ema.state_dict() if self.ema else None,
            "optimizers": {"G": self.opt_g.state_dict(), "D": self.opt_d.state_dict() if self.opt_d else None},
            "rng": rng if self.dist.active else rng[0],
            "world_size": self.dist.world_size,
            "best": self.best,
            "train_seconds": self.train_seconds,
        }

    def load_state_dict(self, ckpt: dict[str, Any]) -> None:
        self.G.load_state_dict(ckpt["models"]["G"])
        self.D.load_state_dict(ckpt["models"]["D"])
        if self.ema:
            self.ema.load_state_dict(ckpt["ema"])
        _load_optimizer(self.opt_g, ckpt["optimizers"]["G"])
        if self.opt_d:
            _load_optimizer(self.opt_d, ckpt["optimizers"]["D"])
        saved_world = ckpt.get("world_size", 1)
        if saved_world != self.dist.world_size:
            raise ConfigError(f"this run was trained by {saved_world} process(es); resume it with the same number "
                              f"(torchrun --nproc-per-node), not {self.dist.world_size}")
        state.set_rng_state(ckpt["rng"][self.dist.rank] if self.dist.active else ckpt["rng"], self.noise)
        self.step = ckpt["step"]
        self.best = ckpt.get("best", {})
        self.train_seconds = ckpt.get("train_seconds", 0.0)

    def save_generator(self, path) -> None:
        """The sampling generator's weights, with what a sampler needs in the metadata."""
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.sampling_G.state_dict().items()}
        meta = {"config": self.cfg.to_yaml(), "gankit_version": __version__, "step": str(self.step),
                "image_shape": ",".join(map(str, self.data.shape)), "num_classes": str(self.num_classes),
                "ema": str(self.ema is not None)}
        with atomic.atomic_path(path) as tmp:
            safetensors.torch.save_file(tensors, str(tmp), metadata=meta)


def _load_optimizer(opt: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """Restore an optimizer's state; how it computes (fused, capturable, foreach) follows this run's
    config, not the checkpoint's, so a run can resume on another device or with CUDA graphs."""
    how = ("fused", "capturable", "foreach")
    groups = [{**old, **{k: new[k] for k in how if k in new}} for old, new in zip(saved["param_groups"],
                                                                                 opt.param_groups)]
    opt.load_state_dict({**saved, "param_groups": groups})
