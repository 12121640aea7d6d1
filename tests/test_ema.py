"""Generator EMA: the closed-form decay, ramp-up, buffers, checkpoints."""

import pytest
import torch
from torch import nn

from gankit.ema import EMA


def small_generator() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))  # z [B, 4] -> [B, 3]


def shift_weights(model: nn.Module, by: float) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.add_(by)


def test_one_update_matches_the_closed_form():
    g = small_generator()
    ema = EMA(g, half_life_images=100, rampup=None)
    before = [p.clone() for p in g.parameters()]
    shift_weights(g, 1.0)
    beta = ema.update(g, batch_images=32, images_seen=32)
    # beta = 0.5 ** (32 / 100) = 0.8010
    assert beta == pytest.approx(0.5 ** 0.32)
    for e, b0, p in zip(ema.module.parameters(), before, g.parameters()):
        assert torch.allclose(e, beta * b0 + (1 - beta) * p, atol=1e-6)


def test_a_half_life_of_updates_halves_the_distance():
    g = small_generator()
    ema = EMA(g, half_life_images=64, rampup=None)
    shift_weights(g, 1.0)  # the EMA starts 1 away from the model in every weight
    for step in range(1, 3):  # 2 steps of 32 images = one half-life
        ema.update(g, batch_images=32, images_seen=32 * step)
    for e, p in zip(ema.module.parameters(), g.parameters()):
        assert torch.allclose(p - e, torch.full_like(p, 0.5), atol=1e-6)


def test_buffers_are_copied_not_averaged():
    g = small_generator()
    ema = EMA(g, half_life_images=1e6, rampup=None)
    g.train()
    g(torch.randn(16, 4))  # moves BatchNorm's running statistics
    ema.update(g, batch_images=16, images_seen=16)
    for (name, e), b in zip(ema.module.named_buffers(), g.buffers()):
        assert torch.equal(e, b), name
    assert ema.module[1].num_batches_tracked.item() == 1


def test_converges_to_a_frozen_model():
    g = small_generator()
    ema = EMA(g, half_life_images=64, rampup=None)
    shift_weights(g, 3.0)
    for step in range(1, 201):  # beta = 0.5 ** 0.5; 200 steps: distance 3 * 2**-100
        ema.update(g, batch_images=32, images_seen=32 * step)
    for e, p in zip(ema.module.parameters(), g.parameters()):
        assert torch.allclose(e, p, atol=1e-6)


def test_rampup_limits_the_half_life_early():
    g = small_generator()
    ema = EMA(g, half_life_images=10_000, rampup=0.05)
    # 320 images seen: half-life min(10000, 0.05 * 320) = 16 images, beta = 0.5 ** (32 / 16) = 0.25
    assert ema.half_life(320) == pytest.approx(16.0)
    before = [p.clone() for p in ema.module.parameters()]
    shift_weights(g, 1.0)
    assert ema.update(g, batch_images=32, images_seen=320) == pytest.approx(0.25)
    for e, b0 in zip(ema.module.parameters(), before):
        assert torch.allclose(e - b0, torch.full_like(e, 0.75), atol=1e-6)
    # a million images in, the configured half-life holds: beta = 0.5 ** (32 / 10000)
    assert ema.half_life(1_000_000) == 10_000
    assert ema.beta(32, 1_000_000) == pytest.approx(0.5 ** 0.0032)
    # without a ramp-up the half-life never shrinks
    assert EMA(g, half_life_images=10_000, rampup=None).half_life(320) == 10_000
    # at zero images seen the ramped half-life is 0: the EMA copies the model
    assert ema.beta(32, 0) == 0.0


def test_state_dict_round_trip_is_exact():
    g = small_generator()
    ema = EMA(g, half_life_images=100, rampup=0.05)
    shift_weights(g, 0.3)
    g.train()
    g(torch.randn(8, 4))
    ema.update(g, batch_images=8, images_seen=800)
    state = ema.state_dict()
    assert state.keys() == g.state_dict().keys()
    restored = EMA(small_generator(), half_life_images=100, rampup=0.05)
    restored.load_state_dict(state)
    for key, value in restored.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_the_ema_copy_is_frozen_and_separate():
    g = small_generator()
    ema = EMA(g, half_life_images=100, rampup=None)
    assert not ema.module.training and g.training
    assert not any(p.requires_grad for p in ema.module.parameters())
    assert all(p.requires_grad for p in g.parameters())
    assert all(e.data_ptr() != p.data_ptr() for e, p in zip(ema.module.parameters(), g.parameters()))
    g(torch.randn(8, 4)).sum().backward()
    assert all(p.grad is None for p in ema.module.parameters())
    ema.update(g, batch_images=8, images_seen=8)
    assert not ema.module.training and not any(p.requires_grad for p in ema.module.parameters())


def test_refuses_bad_settings_and_other_models():
    g = small_generator()
    with pytest.raises(ValueError):
        EMA(g, half_life_images=0, rampup=None)
    with pytest.raises(ValueError):
        EMA(g, half_life_images=10, rampup=0.0)
    with pytest.raises(ValueError, match="different"):
        EMA(g, half_life_images=10, rampup=None).update(nn.Linear(4, 3), batch_images=8, images_seen=8)
