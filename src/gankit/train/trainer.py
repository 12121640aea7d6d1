"""The parts of a run and their state: data, networks, the step, EMA, noise, RNGs.

``Trainer(cfg)`` builds everything a config names. Each G step,
``train_step()`` draws the step's inputs (``draw()``: real batches, labels,
noise; the only place they are drawn) and hands them to the step, which updates
the networks. ``state_dict()`` / ``load_state_dict()`` capture and restore all
of it, so that a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import copy
import os
import time
from typing import Any

import numpy as np
import torch

from gankit import viz
from gankit.config import Config
from gankit.data import load_dataset
from gankit.data.batches import DeviceBatches
from gankit.data.clusters import kmeans
from gankit.device import resolve_device, resolve_precision
from gankit.ema import EMA
from gankit.errors import ConfigError
from gankit.models import build_models, build_translation, classes, model_kind
from gankit.models.noise_input import noise_channels, noise_for, translate
from gankit.registry import STEPS
from gankit.run import generator as run_generator
from gankit.train import distributed, unused
from gankit.train.guard import Guard
from gankit.train.interface import Networks, Step, StepInputs
from gankit.train.optim import load_optimizer, set_learning_rates
from gankit.train.pairing import PairedBatches

POINTS_SHOWN = 2500  # 2-D data: points in each epoch's scatter plot (VEEGAN and PacGAN score 2,500)
GRID_SCALE = 2  # epoch grids are upscaled this many times (nearest) for viewing


class Trainer:
    def __init__(self, cfg: Config, device: torch.device | None = None, dist: distributed.Dist = distributed.SINGLE):
        self.cfg = cfg
        self.dist = dist
        self.device = device or resolve_device(distributed.device_for(dist, cfg.train.device))
        if cfg.train.deterministic:
            make_deterministic()
        torch.manual_seed(cfg.train.seed)  # initial weights, dropout, augmentation, penalties

        # data: the whole split on the device, batches by index
        self.kind = model_kind(cfg.model.arch)  # gan, likelihood or translation
        self.translation = self.kind == "translation"
        self.conditional = cfg.model.conditioning != "none"
        if self.translation != (cfg.pair.kind != "none"):
            raise ConfigError(f"pair.kind={cfg.pair.kind} makes (source, target) pairs for translation models, and "
                              f"model {cfg.model.arch} {'translates' if self.translation else 'generates from noise'}"
                              "; choose them together (gankit list models)")
        unused.check(cfg)  # a key set that this kind of run never reads is refused, not ignored
        if self.translation:
            p = cfg.pair
            if cfg.model.keep_known and not (p.kind == "aligned" or (p.kind, p.degradation) == ("degrade", "inpaint")):
                raise ConfigError("model.keep_known fills the holes of its sources, which pair.degradation=inpaint "
                                  "or aligned pairs have; set model.keep_known=false")
            t = cfg.translate
            needs_noise = {"diversity_weight": (t.diversity_weight > 0, "rewards different outputs for different "
                                                "noise", 0),
                           "best_of": (t.best_of > 1, "draws several outputs for each source from G's noise", 1)}
            for key, (on, why, off) in needs_noise.items():
                if on and not cfg.model.noise_channels:
                    raise ConfigError(f"translate.{key}={getattr(t, key)} {why}, and G takes none: set "
                                      f"model.noise_channels (e.g. 8) or translate.{key}={off}")
            self.pairs = PairedBatches(cfg, self.device, dist.rank, dist.world_size)
            self.data, self.batches = self.pairs.data, self.pairs
            self.source_shape, self.shape = self.pairs.source_shape, self.pairs.target_shape
        else:
            self.data = load_dataset(cfg.data, cfg.data.split, self.device)
            n = cfg.data.subset or len(self.data)
            labels = self.data.labels[:n]
            if cfg.model.clusters:  # the clusters stand in for labels: G and D are conditioned on them
                if self.data.kind != "image":
                    raise ConfigError(f"model.clusters clusters images, and {cfg.data.dataset} holds "
                                      f"{self.data.kind}; set model.clusters=0")
                k = classes(cfg.model, 0)  # the model can take clusters: known before the k-means runs
                if k > n:
                    raise ConfigError(f"model.clusters={k} asks for more clusters than the {n:,} training images; "
                                      f"set it to at most {n:,}")
                labels = kmeans(self.data.images[:n], k, cfg.train.seed).to(self.device)
            self.batches = DeviceBatches(self.data.images[:n], labels, cfg.train.batch_size,
                                         cfg.train.seed, rank=dist.rank, world_size=dist.world_size)
            self.source_shape, self.shape = None, self.data.shape
        self.points = self.data.kind == "points"
        self.clusters = cfg.model.clusters
        self.num_classes = self.data.num_classes if self.conditional and not self.clusters else 0  # G's label input
        if self.conditional and not self.num_classes and not self.clusters:
            raise ConfigError(f"model.conditioning={cfg.model.conditioning} needs labels, and {cfg.data.dataset} "
                              "has none (for imagefolder: data.labels_from_folders=true)")
        self.precision = resolve_precision(cfg.train.precision, self.device)

        # networks: the plain modules, and the DDP wrappers the step runs under torchrun
        if self.translation:
            self.G, self.D = build_translation(cfg.model, self.source_shape, self.shape,
                                               cycle=cfg.pair.kind == "unpaired", num_classes=self.pairs.num_classes,
                                               class_head=cfg.translate.class_weight > 0,
                                               projection=cfg.translate.class_projection,
                                               d_sees_source=cfg.translate.d_sees_source)
        else:
            self.G, self.D = build_models(cfg.model, self.shape, self.num_classes)
            if self.clusters:  # G draws clusters as often as the data holds them
                self.G.set_shares(torch.bincount(labels.cpu(), minlength=self.clusters))
        if dist.active and cfg.train.sync_bn:
            for net in (self.G, self.D):
                distributed.sync_batchnorm(net, self.device.type == "cuda")
        for net in (self.G, self.D):
            net.to(self.device)
            if cfg.train.channels_last:  # 4-D weights only; G's first layer and D's last are linear
                net.to(memory_format=torch.channels_last)
        # the step of this kind of model, replayed as one CUDA graph where it can be
        step_cls = STEPS.get(step_name(cfg))
        self.G_ddp, self.D_ddp = self.G, self.D
        if dist.active:
            # a step that all-reduces its own gradients (it calls its networks' parts apart, outside
            # DDP's one forward a backward) runs them plain; the same seed made the same weights
            if not getattr(step_cls, "averages_gradients", False):
                from torch.nn.parallel import DistributedDataParallel as DDP

                ids = [self.device.index] if self.device.type == "cuda" else None
                self.G_ddp, self.D_ddp = DDP(self.G, device_ids=ids), DDP(self.D, device_ids=ids)
            torch.manual_seed(cfg.train.seed + 1_000_003 * (dist.rank + 1))  # per-rank dropout, augmentation

        self.cuda_graph = self._cuda_graph(step_cls)
        nets = Networks(self.G, self.D, self.G_ddp, self.D_ddp, self.device)
        self.step_fn: Step = step_cls.build(cfg, nets, self.precision, self.cuda_graph, dist.world_size)
        g = cfg.guard
        self.guard = self.step_fn.guard = Guard.for_device(g.nonfinite, self.device, g.max_bad_steps, g.max_rollbacks)
        if self.cuda_graph:
            from gankit.train.graphed import GraphedStep

            self.step_fn = GraphedStep(self.step_fn, strict=cfg.train.cuda_graph is True)
        self.n_batches = self.step_fn.n_batches  # real batches (D steps) per G step
        self.steps_per_epoch = self.batches.batches_per_epoch // self.n_batches  # G steps
        if self.steps_per_epoch < 1:
            raise ConfigError(f"optim.n_critic={self.n_batches} D steps need more batches than one epoch holds")

        self.ema = EMA(self.G, cfg.ema.half_life, cfg.ema.rampup) if cfg.ema.half_life else None
        # draws z and fake labels, or a translation run's degradations
        self.noise = torch.Generator(self.device).manual_seed(cfg.train.seed)
        if self.translation:  # the first training pairs, through G at each epoch's end
            self.fixed_source, self.fixed_target = self.pairs.fixed(min(cfg.log.grid, 16), cfg.train.seed + 1)
            # a stochastic G shows two outputs of each fixed source, from two fixed noises
            g = torch.Generator(self.device).manual_seed(cfg.train.seed + 2)
            shown = 2 if noise_channels(self.G) else 1
            self.fixed_noise = [noise_for(self.G, len(self.fixed_source), g) for _ in range(shown)]
        else:
            self.fixed_z, self.fixed_y, self.grid_nrow = self._fixed_batch()
        self.step = 0  # G steps done
        self.train_seconds = 0.0  # time spent in training steps, resumes included (train.max_minutes)
        self.best: dict[str, float] = {}  # {"fid": lowest FID so far, "step": when}

    def _cuda_graph(self, step_cls: Any) -> bool:
        """train.cuda_graph resolved: null is on where the step can be captured; true must be capturable."""
        cfg = self.cfg
        problem = cuda_graph_problem(cfg, step_cls, self.device.type, self.dist.active)
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

    # what the loop reads ------------------------------------------------------
    @property
    def total_steps(self) -> int:
        """G steps of the whole run: train.epochs of them, capped by train.steps."""
        t = self.cfg.train
        total = t.epochs * self.steps_per_epoch
        return min(total, t.steps) if t.steps else total

    @property
    def num_samples(self) -> int:
        """Training samples in one epoch (train.subset applied)."""
        return self.batches.num_samples

    def budget_left(self) -> float | None:
        """Seconds of training left under train.max_minutes (None: no budget)."""
        limit = self.cfg.train.max_minutes
        return None if limit is None else 60 * limit - self.train_seconds

    @property
    def over_budget(self) -> bool:
        left = self.budget_left()
        return left is not None and left <= 0

    def parameter_counts(self) -> tuple[int, int]:
        return sum(p.numel() for p in self.G.parameters()), sum(p.numel() for p in self.D.parameters())

    # stepping -------------------------------------------------------------------
    def draw(self) -> StepInputs:
        """The next G step's inputs: its real batches and labels, and its noise (see interface.py);
        for translation, its (source, target) batch."""
        if self.translation:
            # [B, Cs, h, w], [B, Ct, H, W]; classes int64 [B] for unpaired data, else None
            source, target, y_source, y_target = self.pairs.get(self.step, self.noise)
            if self.cfg.train.channels_last:
                source, target = (t.contiguous(memory_format=torch.channels_last) for t in (source, target))
            return StepInputs((target,), (y_target,), d_index=self.step, sources=(source,), source_labels=(y_source,))
        first = self.step * self.n_batches  # index of the step's first D step
        reals, labels, zs, fake_labels = [], [], [], []
        for i in range(first, first + self.n_batches):
            x, y = self.batches.get(i)  # [B, C, H, W] in [-1, 1], int64 [B]
            if self.cfg.train.channels_last and x.dim() == 4:  # the layout of the weights
                x = x.contiguous(memory_format=torch.channels_last)
            reals.append(x)
            labels.append(y if self.conditional else None)
            if self.step_fn.uses_noise:
                z, y_fake = draw_noise(self.noise, x.shape[0], self.cfg.model.latent_dim, self.num_classes,
                                       self.dist.rank, self.dist.world_size)
                if self.clusters:  # the clusters G draws from z, which D judges its fakes against
                    y_fake = self.G.cluster_of(z)
                zs.append(z)
                fake_labels.append(y_fake)
        return StepInputs(tuple(reals), tuple(labels), tuple(zs), tuple(fake_labels), first)

    def train_step(self) -> dict[str, torch.Tensor]:
        """One G step: draw its inputs, run the step, move the EMA. Returns the step's statistics."""
        t0 = time.perf_counter()
        set_learning_rates(self.step_fn.optimizers, self.cfg.optim, self.step, self.total_steps, self.guard.lr_scale)
        stats = self.step_fn(self.draw())
        self.guard.end_step()
        self.step += 1
        if self.ema:
            b = self.cfg.train.batch_size
            self.ema.update(self.G, b, self.step * b)
        self.train_seconds += time.perf_counter() - t0
        return stats

    def warm_up(self) -> None:
        """Run one step and undo it, before training starts or resumes on a CPU with several threads.

        oneDNN computes the first execution of each of its kernels in another order than the later
        ones (the last bits differ; one thread, or PyTorch's own kernels, do not): a run resumed in
        a new process would take its first step on fresh kernels where the run never stopped had
        warm ones, and drift from it. With every kernel run once beforehand, each process trains
        on warm kernels, and a resumed run ends bit for bit as the run never stopped
        (tests/train/test_loop.py::test_a_resume_in_a_new_process_is_bit_exact_on_several_threads).
        """
        if (self.device.type != "cpu" or self.dist.active or torch.get_num_threads() == 1
                or not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled)):
            return
        state = copy.deepcopy(self.state_dict())  # weights, optimizers, EMA, counters, every RNG, the pools
        self.train_step()
        self.load_state_dict(state)

    def rollback(self, ckpt: dict[str, Any]) -> None:
        """Back to a checkpoint's state, with half the learning rates; the guard's own record goes on."""
        record = self.guard.state_dict()
        self.load_state_dict(ckpt)
        self.guard.load_state_dict(record)
        self.guard.rolled_back()

    def weights_finite(self) -> bool:
        """Whether every weight of G and D is finite (one read; a checkpoint is never written otherwise)."""
        flags = [torch.isfinite(p).all() for net in (self.G, self.D) for p in net.parameters()]
        return bool(torch.stack(flags).all()) if flags else True

    def improves_best(self, values: dict[str, float]) -> bool:
        """Keep an evaluation's FID as the best when it is the lowest so far; True when it is."""
        if "fid" in values and values["fid"] < self.best.get("fid", float("inf")):
            self.best = {"fid": values["fid"], "step": self.step}
            return True
        return False

    # pictures and the generator ------------------------------------------------
    @property
    def sampling_G(self) -> torch.nn.Module:
        """The generator used for pictures, evaluation and export: the EMA when on."""
        return self.ema.module if self.ema else self.G

    @torch.no_grad()
    def sample_fixed(self) -> torch.Tensor:
        """The fixed batch through G in inference mode: uint8 images, or float points; for
        translation, the outputs of the fixed sources."""
        G = self.sampling_G
        was_training = G.training
        G.eval()
        if self.translation:  # [N, Ct, H, W], or [N, 2, Ct, H, W] from a stochastic G's two noises
            outs = [translate(G, self.fixed_source, z) for z in self.fixed_noise]
            out = outs[0] if len(outs) == 1 else torch.stack(outs, dim=1)
        else:
            out = G(self.fixed_z, self.fixed_y)
        G.train(was_training)
        return out.float().cpu() if self.points else viz.to_uint8(out)

    def picture(self, samples: torch.Tensor, title: str) -> np.ndarray:
        """The fixed batch's samples (sample_fixed()) as uint8 [H, W, C]: an image grid, or a
        scatter plot over the true modes for 2-D data; for translation, rows of
        source | output | target (source | output for unpaired data; source | output | output
        | target, two noises, for a stochastic G)."""
        if self.translation:
            source = viz.to_uint8(self.fixed_source)
            outputs = list(samples.cpu().unbind(1)) if samples.dim() == 5 else [samples.cpu()]
            columns = [viz.as_target(source, outputs[0].shape[1:]), *outputs]
            if self.fixed_target is not None:
                columns.append(viz.to_uint8(self.fixed_target))
            triplets = torch.stack([c.cpu() for c in columns], dim=1)  # [N, k, C, H, W]
            return viz.upscale(viz.grid(triplets.flatten(0, 1), nrow=2 * len(columns)), GRID_SCALE)
        if self.points:
            return viz.scatter_picture(samples, self.data.modes, title=title)
        return viz.upscale(viz.grid(samples, self.grid_nrow), GRID_SCALE)

    def save_generator(self, path) -> None:
        """The sampling generator's weights, with what a sampler needs (see gankit.run.generator)."""
        run_generator.write(path, self.sampling_G, self.cfg, self.step, self.shape, self.num_classes,
                            ema=self.ema is not None, source_shape=self.source_shape)

    # checkpoints ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything to resume from; under torchrun a collective (every rank's RNG state is kept)."""
        rng = distributed.gather(rng_state(self.noise), self.dist)
        # the step's own state (a cycle run's pools of past fakes) differs by rank: every rank's is kept
        step_state = self.step_fn.state_dict() if hasattr(self.step_fn, "state_dict") else None
        if self.dist.active:
            step_state = distributed.gather(step_state, self.dist)
        return {
            "config": self.cfg.to_dict(),
            "step": self.step,
            "image_shape": list(self.shape),  # so a sampler needs no dataset (translation: the target's)
            "source_shape": list(self.source_shape) if self.source_shape else None,
            "num_classes": self.num_classes,
            "models": {"G": self.G.state_dict(), "D": self.D.state_dict()},
            "ema": self.ema.state_dict() if self.ema else None,
            "optimizers": {name: opt.state_dict() for name, opt in self.step_fn.optimizers.items()},
            "rng": rng if self.dist.active else rng[0],
            "world_size": self.dist.world_size,
            "best": self.best,
            "train_seconds": self.train_seconds,
            "step_state": step_state,
            "guard": self.guard.state_dict(),
        }

    def load_state_dict(self, ckpt: dict[str, Any]) -> None:
        self.G.load_state_dict(ckpt["models"]["G"])
        self.D.load_state_dict(ckpt["models"]["D"])
        if self.ema:
            self.ema.load_state_dict(ckpt["ema"])
        for name, opt in self.step_fn.optimizers.items():
            load_optimizer(opt, ckpt["optimizers"][name])
        saved_world = ckpt.get("world_size", 1)
        if saved_world != self.dist.world_size:
            raise ConfigError(f"this run was trained by {saved_world} process(es); resume it with the same number "
                              f"(torchrun --nproc-per-node), not {self.dist.world_size}")
        set_rng_state(ckpt["rng"][self.dist.rank] if self.dist.active else ckpt["rng"], self.noise)
        if hasattr(self.step_fn, "load_state_dict"):
            state = ckpt["step_state"]
            self.step_fn.load_state_dict(state[self.dist.rank] if isinstance(state, list) else state)
        self.step = ckpt["step"]
        self.best = ckpt.get("best", {})
        self.train_seconds = ckpt.get("train_seconds", 0.0)
        self.guard.load_state_dict(ckpt.get("guard") or {})


def step_name(cfg: Config) -> str:
    """The registered step (gankit.registry.STEPS) that trains ``cfg``'s model."""
    kind = model_kind(cfg.model.arch)
    if kind == "translation":
        return "cycle" if cfg.pair.kind == "unpaired" else "paired"
    return kind


def cuda_graph_problem(cfg: Config, step_cls: Any, device_type: str, distributed: bool = False) -> str | None:
    """Why ``cfg``'s step cannot be replayed as one CUDA graph on ``device_type`` (None: it can)."""
    if device_type != "cuda":
        return f"needs a CUDA device, and this run trains on {device_type}"
    if distributed:
        return "runs in one process only (not under torchrun)"
    if not step_cls.capturable:
        return f"replays one fixed step, and the {step_cls.__name__} of {cfg.model.arch} changes between calls"
    if cfg.reg.every != 1:
        return f"replays one fixed step, and reg.every={cfg.reg.every} changes the step every few steps"
    if cfg.optim.schedule != "constant":
        return f"replays one fixed step, and optim.schedule={cfg.optim.schedule} changes its learning rates"
    if cfg.optim.lr_warmup:
        return "replays one fixed step, and optim.lr_warmup changes its learning rates"
    if model_kind(cfg.model.arch) == "translation" and cfg.translate.warmup_steps:
        return "replays one fixed step, and translate.warmup_steps changes the step after the warm-up"
    return None


def make_deterministic() -> None:
    """PyTorch's deterministic algorithms, and what cuDNN and cuBLAS need for them (train.deterministic)."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS's reproducible workspace
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    # oneDNN's CPU convolutions may sum in an order that depends on buffer alignment, so two
    # processes can differ in the last bits; PyTorch's own kernels do not.
    torch.backends.mkldnn.enabled = False
    # Those kernels multiply through MKL, whose own code path may also follow alignment and load
    # unless its conditional numerical reproducibility is on (read at MKL's first call, so set
    # here, before the first step; a value the user set wins).
    os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")


def draw_noise(generator: torch.Generator, batch: int, latent_dim: int, num_classes: int, rank: int = 0,
               world_size: int = 1) -> tuple[torch.Tensor, torch.Tensor | None]:
    """z [batch, latent_dim] and fake labels [batch] (None when ``num_classes`` is 0): this rank's
    slice of one draw of the global batch, so the ranks' noise differs and together it is what
    one process with the global batch would draw."""
    w, r = world_size, rank
    device = generator.device
    z = torch.randn(batch * w, latent_dim, device=device, generator=generator)[r * batch : (r + 1) * batch]
    y = None
    if num_classes:  # fake labels uniform over the classes
        y = torch.randint(num_classes, (batch * w,), device=device, generator=generator)[r * batch : (r + 1) * batch]
    return z, y


def rng_state(noise: torch.Generator) -> dict[str, Any]:
    """Every random stream a step uses: torch's global one (dropout, augmentation, penalties),
    CUDA's, and the noise generator. The data order needs none: it derives from (seed, epoch)."""
    state = {"torch": torch.get_rng_state(), "noise": noise.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], noise: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    noise.set_state(state["noise"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
