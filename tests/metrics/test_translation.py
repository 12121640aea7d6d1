"""The translation protocol's data: held-out pairs and their FID reference drawn alike from the split."""

from __future__ import annotations

import torch

from gankit import config as C
from gankit import viz
from gankit.metrics import compute
from gankit.metrics.protocol import get_evaluator
from gankit.metrics.translation import _embed, held_out, score
from gankit.train.pairing import PairedBatches


def inpaint_config(mnist_root, split: str = "train") -> C.Config:
    return C.from_dict({"name": "protocol", "pair": {"kind": "degrade", "degradation": "inpaint", "hole": 10},
                        "data": {"dataset": "mnist", "root": str(mnist_root), "split": split, "download": False},
                        "model": {"arch": "unet", "width": 8}, "eval": {"split": "test"}})


def ordered_test_split(mnist_root) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST's test digits as uint8 [10000, 1, 28, 28] and their labels, in the split's order."""
    batches = PairedBatches(inpaint_config(mnist_root, "test"), torch.device("cpu")).batches
    return viz.to_uint8(batches.images.float().div(127.5).sub(1.0)), batches.labels


def test_held_out_pairs_and_reference_interleave(mnist_root):
    data = held_out(inpaint_config(mnist_root), 300, seed=0)
    images, labels = ordered_test_split(mnist_root)
    assert data["n"] == 300 and data["sources"].shape == data["targets"].shape == data["reference"].shape
    assert torch.equal(data["targets"], images[:600:2]) and torch.equal(data["reference"], images[1:600:2])
    assert torch.equal(data["labels"], labels[:600:2])
    holes = (data["sources"] != data["targets"]).flatten(1).any(1)
    assert holes.float().mean() > 0.9  # the sources are the degraded targets


def test_the_real_targets_score_near_zero_fid_against_the_reference(mnist_root):
    """MNIST's test split is ordered: its first 5,000 digits come from other writers than its last 5,000.
    Interleaved, the real targets score near the floor; as halves, they score FID over 25."""
    data = held_out(inpaint_config(mnist_root), 5000, seed=0)
    ev = get_evaluator("auto", "mnist", torch.device("cpu"))
    real = score(data["targets"], data, ev, _embed(ev, data["reference"]))
    assert real["fid"] < 8 and real["accuracy"] > 0.98 and real["psnr"] == 100.0
    images, _ = ordered_test_split(mnist_root)
    halves = dict(compute(["fid"], _embed(ev, images[5000:]), _embed(ev, images[:5000])))
    assert halves["fid"] > 25


def test_outputs_too_alike_are_precise_but_do_not_recall(mnist_root):
    """Precision and recall split FID's excess: one real digit given for every input of its class
    lies on the real manifold (precision as the real targets') but covers little of it (recall near 0)."""
    data = held_out(inpaint_config(mnist_root), 2000, seed=0)
    ev = get_evaluator("auto", "mnist", torch.device("cpu"))
    reference = _embed(ev, data["reference"])
    real = score(data["targets"], data, ev, reference)
    first = {int(k): i for i, k in reversed(list(enumerate(data["labels"])))}  # class -> its first target
    alike = data["targets"][torch.tensor([first[int(k)] for k in data["labels"]])]  # [n, 1, 28, 28]
    collapsed = score(alike, data, ev, reference)
    assert real["precision"] > 0.8 and real["recall"] > 0.8
    assert collapsed["precision"] > 0.8 and collapsed["recall"] < 0.05
    assert collapsed["accuracy"] > 0.9 and collapsed["fid"] > 10 * real["fid"]
