"""How a paired translation run's D tells real images from G's outputs: image by image, or batch by batch.

D is trained in train mode, where each BatchNorm layer normalises with the statistics of the
batch it is given, and the D step gives it a batch of real images and then a batch of fakes.
A D may then tell the two apart by the batches' statistics rather than by the images. This
loads a run's last checkpoint and shows D's mean logit on real images and on G's outputs,
both in train mode (batch statistics, as in training) and in eval mode (the running
statistics, the same for every batch): a large gap in train mode that all but vanishes in
eval mode is a D that judges batches (docs/doctor.md, ``model.d_norm``). Nothing is trained;
the running statistics are left as the checkpoint has them.

    python tools/d_modes.py RUN_DIR [--batches 4]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from gankit.config import from_dict
from gankit.errors import GankitError
from gankit.run import checkpoint
from gankit.train.trainer import Trainer


def logits(run_dir: Path, batches: int = 4) -> dict[str, tuple[float, float]]:
    """{mode: (mean logit on real images, mean logit on G's outputs)} over ``batches`` training batches
    of the run's last checkpoint, for mode "train" and "eval"."""
    ckpt = checkpoint.load(Path(run_dir) / "checkpoints" / "last.pt")
    trainer = Trainer(from_dict(ckpt["config"]))
    if not trainer.translation or trainer.cfg.pair.kind == "unpaired":
        raise GankitError(f"{run_dir} is not a paired translation run: its D judges no (source, image) pairs")
    trainer.load_state_dict(ckpt)
    D, G = trainer.D, trainer.G
    drawn = []  # (source, target, G's output) of the batches the run would train on next
    with torch.no_grad():
        for _ in range(batches):
            x = trainer.draw()
            trainer.step += 1
            source, target = x.sources[0], x.reals[0]  # [B, Cs, h, w], [B, Ct, H, W]
            drawn.append((source, target, G(source)))  # both modes judge the same outputs
    out = {}
    saved = {k: v.clone() for k, v in D.state_dict().items()}  # train mode moves the running statistics
    for mode in ("train", "eval"):
        D.load_state_dict(saved)
        D.train(mode == "train")
        with torch.no_grad():
            real = [D(target, source if D.conditional else None).mean() for source, target, _ in drawn]
            fake = [D(output, source if D.conditional else None).mean() for source, _, output in drawn]
        out[mode] = (torch.stack(real).mean().item(), torch.stack(fake).mean().item())
    D.load_state_dict(saved)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--batches", type=int, default=4, help="training batches to average over (default 4)")
    args = parser.parse_args(argv)
    try:
        found = logits(args.run_dir, args.batches)
    except GankitError as e:
        print(f"d_modes: {e}", file=sys.stderr)
        return 2
    print("| D's mode | mean logit, real | mean logit, G's outputs | gap |")
    print("| --- | --- | --- | --- |")
    for mode, (real, fake) in found.items():
        print(f"| {mode} | {real:.2f} | {fake:.2f} | {real - fake:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
