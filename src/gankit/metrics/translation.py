"""The evaluation protocol of translation and enhancement runs (``gankit evaluate`` on such a run).

Held-out data: the pairs at the even positions of the first 2n of ``eval.split`` (the
test split), made as in training (degradations drawn from ``eval.seed``, so every run
is scored on the same inputs); n is at most half the split. The outputs are compared with
  - their targets: PSNR, SSIM (paired data only);
  - a separate set of real images, the targets at the odd positions (unpaired: the
    target domain's first n test images): FID and KID in the evaluator's features, and
    precision and recall (Kynkaanniemi et al. 2019), which tell where FID's excess lies:
    outputs off the real images' manifold lower precision, outputs too alike to cover it
    (one guess for every input that leaves the target open) lower recall.
    Interleaved, because a split may be ordered: MNIST's test split has its first 5,000
    digits from other writers than its last 5,000, and the real digits of one half score
    FID 37 against the other half, 4 against the interleaved half;
  - the dataset's classifier: the share of outputs it assigns the target's class
    (paired), or the class purity of the translation (unpaired); RGB outputs are
    classified by their luminance, as the 28x28 classifiers are grayscale;
  - colourfulness: the mean saturation of RGB outputs, beside the real targets';
  - unpaired: the PSNR of the cycle A -> B -> A;
  - a stochastic model (model.noise_channels): the diversity of two outputs of each input,
    from two noises (seeds ``seed`` and ``seed + 1``), in the evaluator's features.
The same numbers are given for the real targets themselves (paired data: the floor, what
a perfect model would score), for the input itself as an output (the degraded image,
resized bicubically to the target's size and converted to its channels: what the
model must beat), and for another run scored the same way (``--compare RUN``, e.g.
the pixel-loss twin). A deterministic model has one output per input: its diversity is
zero by construction and not reported.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import torch
import torch.nn.functional as F

from gankit import __version__, viz
from gankit.config import Config
from gankit.metrics import Embedding, compute
from gankit.metrics import paired as M
from gankit.metrics.protocol import get_evaluator
from gankit.train.pairing import PairedBatches

Tensor = torch.Tensor
METRICS = ("fid", "kid", "pr")  # distribution metrics of outputs against real images
# The protocol's revision, saved with every result: 2 interleaves held-out pairs and reference (1 took
# the reference from the n pairs after the held-out ones, which MNIST's ordered test split biases)
REVISION = 2


def held_out(cfg: Config, n: int, seed: int) -> dict[str, Any]:
    """The protocol's data: sources, targets (None when unpaired), labels, and the real reference."""
    eval_cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, split=cfg.eval.split, subset=None))
    pairs = PairedBatches(eval_cfg, torch.device("cpu"))
    n = min(n, pairs.num_samples // 2)
    source, target = pairs.fixed(2 * n, seed)  # [2n, C, H, W] each
    labels = pairs.batches.labels[: 2 * n]
    data = {"n": n, "dataset": cfg.data.dataset, "source": pairs.data.source}
    if target is not None:  # held out: even positions; reference: odd ones, drawn alike from the split
        data.update(sources=viz.to_uint8(source[0::2]), targets=viz.to_uint8(target[0::2]), labels=labels[0::2],
                    reference=viz.to_uint8(target[1::2]))
    else:  # unpaired: the target domain's own test images are the reference
        data.update(sources=viz.to_uint8(source[:n]), targets=None, labels=labels[:n], dataset=pairs.data_b.name,
                    reference=_as_shape(pairs.data_b.images[:n], pairs.target_shape))
    return data


class TranslationEval:
    """The protocol's held-out data, evaluator and real reference, made once: ``gankit evaluate``
    scores a model, its input and a compared run with one, and evaluation during training
    (``eval.every``) scores the training G with the same one at every evaluation."""

    def __init__(self, cfg: Config, n: int = 5000, seed: int = 0, evaluator: str = "auto",
                 device: torch.device | str = "cpu"):
        self.cfg, self.seed = cfg, seed
        self.data = held_out(cfg, n, seed)
        self.ev = get_evaluator(evaluator, self.data["dataset"], torch.device(device))
        self.reference = _embed(self.ev, self.data["reference"])

    def outputs(self, translator: Any) -> Tensor:
        """The model's outputs of the held-out sources, uint8 [n, Ct, H, W] (noise from the seed)."""
        return translator.translate(self.data["sources"], seed=self.seed)

    def score(self, outputs: Tensor, translator: Any = None) -> dict[str, Any]:
        """The numbers of one set of outputs; with the ``translator`` that made them, also its
        diversity (a stochastic model: the same inputs, other noise) and, unpaired, the cycle's PSNR."""
        fake = _embed(self.ev, outputs)
        values = score(outputs, self.data, self.ev, self.reference, fake=fake)
        if translator is not None and translator.noise_channels:
            again = _embed(self.ev, translator.translate(self.data["sources"], seed=self.seed + 1)).features
            values["diversity"] = M.diversity(fake.features, again, self.reference.features)
        if translator is not None and self.data["targets"] is None:  # unpaired: there and back again
            cycle = translator.generator.ba
            back = _through(cycle, outputs, translator.device)
            values["cycle_psnr"] = M.psnr(back, _as_shape(self.data["sources"], back.shape[1:]))
        return values

    def model(self, translator: Any) -> dict[str, Any]:
        """The numbers of ``translator``'s outputs."""
        return self.score(self.outputs(translator), translator)

    def protocol(self) -> dict[str, Any]:
        cfg, data = self.cfg, self.data
        return {"kind": "translation", "pair": cfg.pair.kind, "degradation": cfg.pair.degradation,
                "held_out": data["n"], "split": cfg.eval.split, "dataset": data["dataset"], "seed": self.seed,
                "evaluator": {"name": self.ev.name, "sha256": self.ev.sha256}, "gankit_version": __version__,
                "source": data["source"], "revision": REVISION}


def evaluate_translation(translator: Any, cfg: Config, n: int = 5000, seed: int = 0, evaluator: str = "auto",
                         compare: Any = None) -> dict[str, Any]:
    """Score ``translator`` (and the input baseline, and ``compare``) on the held-out data."""
    t0 = time.perf_counter()
    protocol = TranslationEval(cfg, n, seed, evaluator, translator.device)
    model = protocol.outputs(translator)
    results = {"model": protocol.score(model, translator),
               "input": protocol.score(_as_input(protocol.data["sources"], model.shape[1:]))}
    if compare is not None:
        results["compare"] = protocol.model(compare)
    if protocol.data["targets"] is not None:  # the real targets as outputs: the floor of FID and KID
        results["real"] = score(protocol.data["targets"], protocol.data, protocol.ev, protocol.reference,
                                pixels=False)
    return {"metrics": results, "protocol": protocol.protocol(),
            "seconds": {"total": round(time.perf_counter() - t0, 2)}}


def score(outputs: Tensor, data: dict[str, Any], ev: Any, reference: Embedding,
          pixels: bool = True, fake: Embedding | None = None) -> dict[str, float]:
    """The protocol's numbers for one set of outputs uint8 [n, C, H, W] (``fake``: their embedding,
    when already made); ``pixels``: PSNR and SSIM against the targets (not for the targets
    themselves: 100 dB and 1 by definition)."""
    fake = fake if fake is not None else _embed(ev, outputs)
    values: dict[str, float] = dict(compute(list(METRICS), reference, fake))
    if data["targets"] is not None:
        if pixels:
            values["psnr"] = M.psnr(outputs, data["targets"])
            values["ssim"] = M.ssim(outputs, data["targets"])
        values["accuracy"] = M.accuracy(fake.probs, data["labels"])
    else:
        values.update(M.class_purity(data["labels"], fake.probs.argmax(1), fake.probs.shape[1]))
    if outputs.shape[1] == 3:
        values["saturation"] = M.saturation(outputs)
    return values


def _embed(ev: Any, images: Tensor) -> Embedding:
    """The evaluator's embedding; RGB images go to a grayscale classifier as their luminance."""
    if images.shape[1] == 3 and getattr(ev, "dataset", None) in ("mnist", "fashion-mnist"):
        images = viz.as_target(images, (1, *images.shape[-2:]))
    return Embedding(*ev.embed(images))


def _as_input(sources: Tensor, shape: tuple[int, ...]) -> Tensor:
    """The degraded input as an output: bicubic to the target size, the target's channels."""
    x = sources.float()
    if x.shape[-2:] != tuple(shape[-2:]):
        x = F.interpolate(x, size=tuple(shape[-2:]), mode="bicubic", align_corners=False)
    return viz.as_target(x.round().clamp(0, 255).to(torch.uint8), tuple(shape))


def _as_shape(images: Tensor, shape: tuple[int, ...]) -> Tensor:
    return viz.as_target(images, tuple(shape))


@torch.inference_mode()
def _through(G: torch.nn.Module, images: Tensor, device: torch.device) -> Tensor:
    x = images.float().div(127.5).sub(1.0).to(device)
    return viz.to_uint8(torch.cat([G(b) for b in x.split(500)]).cpu())


def format_translation(result: dict[str, Any]) -> str:
    """The numbers as a table: one row per metric, one column per output set."""
    columns = list(result["metrics"])
    keys = list(dict.fromkeys(k for c in columns for k, v in result["metrics"][c].items() if not isinstance(v, str)))
    lines = [f"{'metric':<14}" + "".join(f"{c:>12}" for c in columns)]
    for k in keys:
        cells = [result["metrics"][c].get(k) for c in columns]
        lines.append(f"{k:<14}" + "".join(f"{v:>12.4f}" if isinstance(v, float) else f"{'':>12}" for v in cells))
    lines += [f"{c}: source class -> matched target class, share of outputs read so: {m['class_kept']}"
              for c, m in result["metrics"].items() if "class_kept" in m]
    p = result["protocol"]
    lines.append(f"protocol: {p['held_out']} held-out {p['dataset']}/{p['split']} pairs ({p['pair']}"
                 f"{', ' + p['degradation'] if p['pair'] == 'degrade' else ''}), evaluator {p['evaluator']['name']}, "
                 f"seed {p['seed']}, gankit {p['gankit_version']}")
    return "\n".join(lines)
