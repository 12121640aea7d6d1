import pytest
import torch

from gankit.data.batches import DeviceBatches
from gankit.errors import ConfigError


def make(n=100, batch=8, seed=0, **kw):
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous()
    return DeviceBatches(images, torch.arange(n), batch, seed, **kw)


def test_each_epoch_visits_distinct_images_in_a_new_order():
    b = make()
    assert b.batches_per_epoch == 12  # 100 // 8, the partial batch is dropped
    epoch0 = torch.cat([b.get(s)[1] for s in range(12)])
    epoch1 = torch.cat([b.get(s)[1] for s in range(12, 24)])
    assert len(set(epoch0.tolist())) == 96
    assert not torch.equal(epoch0, epoch1)


def test_order_depends_on_seed_only_and_is_recomputable():
    a, b, c = make(seed=1), make(seed=1), make(seed=2)
    assert torch.equal(a.get(30)[1], b.get(30)[1])  # a fresh object jumps straight to step 30
    assert not torch.equal(a.get(30)[1], c.get(30)[1])


def test_images_are_scaled_to_minus_one_one():
    images = torch.tensor([0, 255], dtype=torch.uint8).view(2, 1, 1, 1)
    x, _ = DeviceBatches(images, torch.zeros(2), 2, 0).get(0)
    assert sorted(x.flatten().tolist()) == [-1.0, 1.0] and x.dtype == torch.float32
    # pixel values survive the trip: x = p / 127.5 - 1
    x, y = make().get(0)
    assert torch.allclose(x[:, 0, 0, 0], y.float() / 127.5 - 1)


def test_ranks_take_disjoint_slices_of_the_same_global_batch():
    r0, r1, whole = make(batch=4, rank=0, world_size=2), make(batch=4, rank=1, world_size=2), make(batch=8)
    assert r0.batches_per_epoch == whole.batches_per_epoch
    for step in (0, 5, 13):
        assert torch.equal(torch.cat([r0.get(step)[1], r1.get(step)[1]]), whole.get(step)[1])


def test_batch_larger_than_dataset_is_refused():
    with pytest.raises(ConfigError, match="larger than the dataset"):
        make(n=10, batch=16)


def test_float_points_are_returned_unscaled():
    points = torch.tensor([[-4.0, 2.5], [0.02, -0.01], [3.0, 4.0], [1.0, 1.0]])  # float32 [4, 2]
    b = DeviceBatches(points, torch.arange(4), 2, 0)
    seen = torch.cat([b.get(0)[0], b.get(1)[0]])
    labels = torch.cat([b.get(0)[1], b.get(1)[1]])
    assert seen.dtype == torch.float32 and seen.shape == (4, 2)
    assert torch.equal(seen, points[labels])  # each point exactly as stored, with its own label
    seen.zero_()  # a batch is a copy: changing it leaves the dataset alone
    assert points.abs().sum() > 0


def make_pairs(n=40, batch=8, seed=0, **kw):
    """Targets of value i and sources of value 2 i (half the resolution), so each pair can be checked."""
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).contiguous()
    sources = (2 * torch.arange(n, dtype=torch.uint8)).view(n, 1, 1, 1).expand(n, 3, 2, 2).contiguous()
    return DeviceBatches(images, torch.arange(n), batch, seed, sources=sources, **kw)


def test_sources_are_gathered_with_the_same_indices_as_the_images():
    b = make_pairs()
    for step in (0, 3, 4, 11):  # epochs 0, 0, 0 and 2: the order changes, the pairing stays
        source, target, labels = b.get_pair(step)
        x, y = b.get(step)
        assert torch.equal(target, x) and torch.equal(labels, y)
        assert source.shape == (8, 3, 2, 2) and source.dtype == torch.float32
        assert torch.allclose(source[:, 0, 0, 0], (2 * labels).float() / 127.5 - 1)  # scaled as the images
        assert torch.allclose(target[:, 0, 0, 0], labels.float() / 127.5 - 1)


def test_ranks_take_the_same_pairs_as_one_process():
    r0, r1, whole = make_pairs(batch=4, rank=0, world_size=2), make_pairs(batch=4, rank=1, world_size=2), make_pairs()
    for step in (0, 7):
        parts = [r.get_pair(step) for r in (r0, r1)]
        assert all(torch.equal(torch.cat([p[k] for p in parts]), whole.get_pair(step)[k]) for k in range(3))


def test_sources_need_one_per_image_and_get_pair_needs_sources():
    with pytest.raises(ValueError, match="one source per image"):
        DeviceBatches(torch.zeros(10, 1, 2, 2, dtype=torch.uint8), torch.zeros(10), 2, 0,
                      sources=torch.zeros(9, 1, 2, 2, dtype=torch.uint8))
    with pytest.raises(ValueError, match="sources="):
        make().get_pair(0)
