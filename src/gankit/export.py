"""Export a run's generator to a file that runs without gankit: ONNX or TorchScript.

The exported network is the one ``gankit sample`` draws from: the generator of
the chosen run file (the EMA weights where the run kept them), rebuilt from the
run's config, loaded strictly and put in eval mode (batch norm uses its running
statistics, so one sample never depends on the others in its batch).

Its interface, in both formats:

- inputs ``z`` float32 [batch, latent_dim], noise from N(0, I); a class-conditional
  generator also takes ``labels`` int64 [batch], classes 0..K-1;
- output ``images`` float32 [batch, C, H, W] in [-1, 1] (tanh), or ``points``
  float32 [batch, 2] for the 2-D toy data;
- the batch size is free: one file serves batch 1 and batch 1000.

A translation or enhancement model (pix2pix, SRGAN, CycleGAN's A -> B generator)
takes ``source`` float32 [batch, Cs, h, w] in [-1, 1] instead and gives ``images``
[batch, Ct, h * scale, w * scale]; its height and width are free too, in multiples of
the model's size multiple (the file's metadata says which). A stochastic one
(``model.noise_channels`` k) also takes ``z`` float32 [batch, k] from N(0, I).

How each format is made, and why:

- ONNX: ``torch.onnx.export`` with the torch.export-based (dynamo) exporter and a
  named dynamic ``batch`` dimension. It handles every gankit architecture (the
  older TorchScript-based exporter cannot convert resnet-32's nearest-neighbour
  upsampling with a dynamic batch) and needs nothing online. The model is checked
  with ``onnx.checker`` before it is written.
- TorchScript: ``torch.jit.trace``. The generators' Python control flow (labels or
  none, which layers take labels) is fixed for one exported network, so tracing
  records exactly the path it takes; ``torch.jit.script`` cannot compile the
  generators' ``isinstance`` dispatch. The trace is checked at a second batch size.

The file carries what is needed to use it (see :func:`describe`): the resolved
config as YAML, the gankit version, the step, the data shape, the class count,
whether the weights are the EMA's, and the meaning of the inputs and outputs. ONNX
keeps them in the model's ``metadata_props``; TorchScript in the extra files
``config.yaml`` and ``gankit.json``. Files are written atomically.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit import __version__, atomic
from gankit.errors import CheckpointError, ConfigError, GankitError
from gankit.models import build_generator, build_translator, model_kind
from gankit.models.noise_input import noise_channels
from gankit.run import RunDir
from gankit.run import generator as run_generator

FORMATS = ("onnx", "torchscript")
EXAMPLE_BATCH = 3  # batch of the example inputs the network is traced with; the exported batch stays free
CHECK_BATCH = 5  # a second batch size the TorchScript trace is checked at
ONNX_MODULES = ("onnx", "onnxscript")  # what torch.onnx's exporter needs beyond torch
TORCHSCRIPT_CONFIG = "config.yaml"  # extra files of a TorchScript export
TORCHSCRIPT_METADATA = "gankit.json"
NOISE_KINDS = ("gan", "likelihood")  # model kinds whose generator maps noise (and labels) to samples


class ExportError(GankitError):
    """An export that cannot be written where it was asked to go."""


# ---------------------------------------------------------------------------
# the network as it is exported
# ---------------------------------------------------------------------------


class Unconditional(nn.Module):
    """An unconditional generator with the exported signature: ``forward(z)``."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)  # z [B, latent] -> [B, C, H, W] (points: [B, 2])


class Translating(nn.Module):
    """A translation generator with the exported signature: ``forward(source)``, or
    ``forward(source, z)`` for a stochastic one (traced with z, the exported file takes it)."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, source: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        # [B, Cs, h, w] (and z [B, k]) -> [B, Ct, h * scale, w * scale]
        return self.generator(source) if z is None else self.generator(source, z)


class Conditional(nn.Module):
    """A class-conditional generator with the exported signature: ``forward(z, labels)``."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.generator(z, labels)  # z [B, latent], labels int64 [B] -> [B, C, H, W] (points: [B, 2])


@dataclass
class Exportable:
    """A run's generator, ready to trace: the wrapped network and what the file says about it."""

    module: nn.Module  # Unconditional or Conditional, in eval mode, no gradients
    input_names: tuple[str, ...]  # ("z",), ("z", "labels"), ("source",) or ("source", "z"): forward's arguments
    output_name: str  # "images" or "points"
    config_yaml: str  # the run's resolved config
    metadata: dict[str, Any]  # see describe()

    def example(self, batch: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
        """Inputs of ``batch`` samples: z [batch, latent] (and labels int64 [batch]), drawn from ``seed``;
        for a translator, source images [batch, *source_shape] in [-1, 1]."""
        g = torch.Generator().manual_seed(seed)
        if self.input_names[0] == "source":
            source = torch.rand(batch, *self.metadata["source_shape"], generator=g) * 2 - 1
            if "z" not in self.input_names:
                return (source,)
            return source, torch.randn(batch, self.metadata["noise_channels"], generator=g)
        z = torch.randn(batch, self.metadata["latent_dim"], generator=g)
        if "labels" not in self.input_names:
            return (z,)
        return z, torch.randint(self.metadata["num_classes"], (batch,), generator=g)


def prepare(saved: run_generator.SavedGenerator, where: str = "the run") -> Exportable:
    """Rebuild the generator of ``saved``, load its weights strictly and wrap it for export.

    A saved generator that does not fit the network its config builds is a
    CheckpointError naming ``where``; a model that does not generate from noise is a ConfigError.
    """
    arch = saved.config.model.arch
    if saved.translation:
        G = build_translator(saved.config.model, saved.source_shape, saved.shape)  # the A -> B direction
        weights = saved.weights
        if saved.config.pair.kind == "unpaired":
            weights = {k[len("ab."):]: v for k, v in weights.items() if k.startswith("ab.")}
        _load(G, weights, where)
        stochastic = bool(noise_channels(G))
        module = Translating(G).eval().requires_grad_(False)
        return Exportable(module, ("source", "z") if stochastic else ("source",), "images", saved.config.to_yaml(),
                          describe_translator(saved, G))
    if model_kind(arch) not in NOISE_KINDS:
        raise ConfigError(f"{where}: gankit export writes generators, and {arch} is a {model_kind(arch)} model")
    G = build_generator(saved.config.model, saved.shape, saved.num_classes)
    try:
        G.load_state_dict(saved.weights)
    except RuntimeError as e:
        raise CheckpointError(
            f"{where}: the saved generator does not match its config.yaml ({str(e).splitlines()[0]})"
        ) from None
    conditional = bool(getattr(G, "num_classes", 0))
    module = (Conditional(G) if conditional else Unconditional(G)).eval().requires_grad_(False)
    return Exportable(module, ("z", "labels") if conditional else ("z",),
                      "images" if len(G.out_shape) == 3 else "points", saved.config.to_yaml(), describe(saved, G))


def _load(G: nn.Module, weights: dict[str, torch.Tensor], where: str) -> None:
    try:
        G.load_state_dict(weights)
    except RuntimeError as e:
        raise CheckpointError(
            f"{where}: the saved generator does not match its config.yaml ({str(e).splitlines()[0]})"
        ) from None


def describe_translator(saved: run_generator.SavedGenerator, G: nn.Module) -> dict[str, Any]:
    """What an exported translator says about itself (JSON-ready values)."""
    cs, ct, m, s = saved.source_shape[0], saved.shape[0], int(G.size_multiple), int(G.scale)
    k = noise_channels(G)
    inputs = f"source: float32 [batch, {cs}, h, w] in [-1, 1], h and w multiples of {m}"
    return {
        "gankit_version": __version__,
        "arch": saved.config.model.arch,
        "step": int(saved.step),
        "source_shape": [int(v) for v in saved.source_shape],
        "data_shape": [int(v) for v in saved.shape],
        "size_multiple": m,
        "scale": s,
        "pair": saved.config.pair.kind,
        "degradation": saved.config.pair.degradation if saved.config.pair.kind == "degrade" else "",
        "ema": bool(saved.ema),
        "noise_channels": k,
        "inputs": inputs + (f"; z: float32 [batch, {k}] from N(0, I), one output per z" if k else ""),
        "outputs": f"images: float32 [batch, {ct}, {s} h, {s} w] in [-1, 1]; pixels = round((images + 1) * 127.5)",
    }


def describe(saved: run_generator.SavedGenerator, G: nn.Module) -> dict[str, Any]:
    """What the exported file says about itself, beside the config (JSON-ready values).

    ``num_classes`` is the class count the labels input takes (0: no labels input),
    not the dataset's: an unconditional generator of labelled data has none.
    """
    k = int(getattr(G, "num_classes", 0))
    latent = int(G.latent_dim)
    shape = [int(s) for s in G.out_shape]
    dims = ", ".join(map(str, shape))
    inputs = f"z: float32 [batch, {latent}], noise drawn from N(0, I)"
    if k:
        inputs += f"; labels: int64 [batch], the class of each sample, 0..{k - 1}"
    if len(shape) == 3:
        outputs = (f"images: float32 [batch, {dims}] (channels, height, width) in [-1, 1]; "
                   "pixels = round((images + 1) * 127.5), clipped to 0..255")
    else:
        outputs = f"points: float32 [batch, {dims}], unbounded"
    return {
        "gankit_version": __version__,
        "arch": saved.config.model.arch,
        "step": int(saved.step),
        "data_shape": shape,
        "num_classes": k,
        "latent_dim": latent,
        "ema": bool(saved.ema),
        "inputs": inputs,
        "outputs": outputs,
    }


# ---------------------------------------------------------------------------
# the command
# ---------------------------------------------------------------------------


def export_generator(run_dir: str | Path, fmt: str, out: str | Path, checkpoint: str = "final") -> Path:
    """Write the run's sampling generator (EMA weights where present) to ``out`` in format ``fmt``.

    Everything a user can get wrong is checked before the (seconds-long) export: the
    format, the checkpoint name, the output folder, the optional ONNX packages and
    the run folder. Returns ``out``.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"export format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if checkpoint not in run_generator.CHECKPOINTS:
        raise ConfigError(f"checkpoint must be one of {', '.join(run_generator.CHECKPOINTS)}, got {checkpoint!r}")
    out = writable(out)
    if fmt == "onnx":
        require_onnx()
    run = RunDir.open(run_dir)
    net = prepare(run_generator.read(run, checkpoint), str(run.path))
    (write_onnx if fmt == "onnx" else write_torchscript)(net, out)
    return out


def writable(out: str | Path) -> Path:
    """``out`` as a Path, if a new file can be written there (its missing folders are made when it is); else
    ExportError. Probed in the nearest existing folder, so a failed export leaves no empty folders behind."""
    out = Path(out)
    if out.is_dir():
        raise ExportError(f"--out {out} is a folder; give the name of the file to write in it")
    folder = next(p for p in out.absolute().parents if p.exists())
    if not folder.is_dir():
        raise ExportError(f"cannot write {out}: {folder} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise ExportError(f"cannot write {out}: {e.strerror or e} ({folder})") from None
    return out


def require_onnx() -> None:
    """Import what ONNX export needs, or say how to install it (ConfigError)."""
    for name in ONNX_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            raise ConfigError(
                f"ONNX export needs the optional packages onnx and onnxscript ({name} is missing): "
                "pip install 'gankit[export]'"
            ) from None


@contextlib.contextmanager
def writing(out: Path) -> Iterator[Path]:
    """A temporary path that replaces ``out`` once written whole (gankit.atomic); write errors as ExportError."""
    try:
        with atomic.atomic_path(out) as tmp:
            yield tmp
    except OSError as e:
        raise ExportError(f"cannot write {out}: {e.strerror or e}") from None


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """Silence what torch says about its own internals while it exports.

    torch.jit's functions warn that TorchScript is deprecated; the dynamo exporter
    warns of pytree renames inside torch, of the one batch axis it names once for
    two inputs, and logs the torchvision ops it skips when torchvision is absent.
    None of it concerns the exported file nor can a gankit user act on it; real
    errors still raise.
    """
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", message=r"# The axis name: .* will not be used", category=UserWarning)
            yield
    finally:
        logger.setLevel(level)


# ---------------------------------------------------------------------------
# ONNX
# ---------------------------------------------------------------------------


def onnx_metadata(net: Exportable) -> dict[str, str]:
    """ONNX metadata_props: the config YAML under "config", the rest as text (non-strings as JSON)."""
    props = {"config": net.config_yaml}
    for key, value in net.metadata.items():
        props[key] = value if isinstance(value, str) else json.dumps(value)
    return props


def onnx_model(net: Exportable):
    """The network as a checked onnx.ModelProto with a dynamic ``batch`` dimension and the metadata."""
    import onnx

    batch = torch.export.Dim("batch")
    shapes = {name: {0: batch} for name in net.input_names}
    if net.input_names[0] == "source":  # a translator: height and width free, in multiples of its size multiple
        m = net.metadata["size_multiple"]
        h, w = (torch.export.Dim(n, min=2) for n in ("height_blocks", "width_blocks"))
        shapes = {"source": {0: batch, 2: m * h, 3: m * w}, **({"z": {0: batch}} if "z" in net.input_names else {})}
    with quiet_torch():
        program = torch.onnx.export(
            net.module, net.example(EXAMPLE_BATCH), dynamo=True, verbose=False,
            input_names=list(net.input_names), output_names=[net.output_name], dynamic_shapes=shapes,
        )
    model = program.model_proto
    onnx.helper.set_model_props(model, onnx_metadata(net))
    model.doc_string = f"gankit {net.metadata['arch']} generator, step {net.metadata['step']}"
    onnx.checker.check_model(model, full_check=True)
    return model


def write_onnx(net: Exportable, out: Path) -> None:
    """Export ``net`` to ``out`` as one self-contained ONNX file (weights inside), atomically."""
    import onnx

    model = onnx_model(net)
    with writing(out) as tmp:
        onnx.save_model(model, str(tmp))


# ---------------------------------------------------------------------------
# TorchScript
# ---------------------------------------------------------------------------


def torchscript_module(net: Exportable) -> torch.jit.ScriptModule:
    """``net`` traced; torch re-traces it at a second batch size and fails if the graphs differ."""
    with quiet_torch(), torch.no_grad():
        return torch.jit.trace(net.module, net.example(EXAMPLE_BATCH),
                               check_inputs=[net.example(CHECK_BATCH, seed=1)])


def write_torchscript(net: Exportable, out: Path) -> None:
    """Export ``net`` to ``out`` as a TorchScript file with the config and metadata as extra files, atomically."""
    traced = torchscript_module(net)
    extra = {TORCHSCRIPT_CONFIG: net.config_yaml, TORCHSCRIPT_METADATA: json.dumps(net.metadata, indent=2)}
    with writing(out) as tmp, quiet_torch():
        torch.jit.save(traced, str(tmp), _extra_files=extra)
