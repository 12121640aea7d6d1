"""The Trainer's per-rank noise: each rank's slice of one shared draw of the global batch."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from gankit.train.distributed import Dist
from gankit.train.trainer import Trainer


def noise_of(rank: int, world: int, batch: int, conditional: bool = True):
    """Trainer.sample_z as rank ``rank`` of ``world`` runs it, from the same seed."""
    t = SimpleNamespace(dist=Dist(rank, world, rank), cfg=SimpleNamespace(model=SimpleNamespace(latent_dim=5)),
                        device=torch.device("cpu"), noise=torch.Generator().manual_seed(7),
                        conditional=conditional, num_classes=10)
    return Trainer.sample_z(t, batch)


def test_ranks_draw_different_noise_whose_union_is_one_process_draw():
    single_z, single_y = noise_of(0, 1, 8)  # one process, global batch 8
    parts = [noise_of(r, 2, 4) for r in range(2)]  # two ranks of batch 4
    assert not torch.equal(parts[0][0], parts[1][0])
    assert torch.equal(torch.cat([z for z, _ in parts]), single_z)
    assert torch.equal(torch.cat([y for _, y in parts]), single_y)
    assert parts[0][0].shape == (4, 5) and parts[0][1].shape == (4,)


def test_unconditional_runs_draw_no_labels():
    z, y = noise_of(1, 2, 4, conditional=False)
    assert y is None and z.shape == (4, 5)
