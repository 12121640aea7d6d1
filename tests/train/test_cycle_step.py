"""The cycle (unpaired translation) step on tiny networks, its losses checked by hand, and its pool of fakes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.models import CycleDiscriminators, CycleGenerators
from gankit.registry import LOSSES
from gankit.train.cycle_step import CycleStep, FakePool
from gankit.train.interface import StepInputs


class Scale(nn.Module):
    """A 'generator' that multiplies by a learnt scalar: x -> w x."""

    def __init__(self, w: float):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))
        self.in_shape = self.out_shape = (1, 2, 2)
        self.size_multiple, self.scale = 1, 1

    def forward(self, x):
        return self.w * x


class Mean(nn.Module):
    """A 'discriminator': logits [B, 1] = v * mean(x)."""

    def __init__(self, v: float):
        super().__init__()
        self.v = nn.Parameter(torch.tensor(v))

    def forward(self, x, source=None):
        return (self.v * x.flatten(1).mean(1)).unsqueeze(1)


def make(identity=0.5, pool=0):
    G = CycleGenerators(Scale(2.0), Scale(0.25))
    D = CycleDiscriminators(Mean(1.0), Mean(-1.0))
    return CycleStep(G, D, torch.optim.SGD(G.parameters(), lr=0.0), torch.optim.SGD(D.parameters(), lr=0.0),
                     LOSSES.get("lsgan"), cycle_weight=10.0, identity_weight=identity, pool_size=pool)


def test_g_loss_is_adversarial_plus_cycle_plus_identity():
    a, b = torch.full((2, 1, 2, 2), 0.5), torch.full((2, 1, 2, 2), -0.4)
    stats = make()(StepInputs((b,), (None,), sources=(a,)))
    # fake_b = 2a = 1.0 judged by D.b (v=-1): logit -1; fake_a = 0.25 b = -0.1 by D.a (v=1): logit -0.1
    adv = 0.5 * (-1 - 1) ** 2 + 0.5 * (-0.1 - 1) ** 2  # LSGAN g: 1/2 (D - 1)^2 for each direction
    cycle = abs(0.25 * 2 * 0.5 - 0.5) + abs(2 * 0.25 * -0.4 + 0.4)  # |G.ba(G.ab(a)) - a| + |G.ab(G.ba(b)) - b|
    identity = abs(2 * -0.4 + 0.4) + abs(0.25 * 0.5 - 0.5)  # |G.ab(b) - b| + |G.ba(a) - a|
    assert torch.isclose(stats["adv_g"], torch.tensor(adv))
    assert torch.isclose(stats["cycle"], torch.tensor(cycle))
    assert torch.isclose(stats["identity"], torch.tensor(identity))
    assert torch.isclose(stats["loss_g"], torch.tensor(adv + 10 * cycle + 0.5 * 10 * identity))
    assert {"loss_d", "grad_norm_d", "grad_norm_g"} <= set(stats)


def test_no_identity_loss_between_domains_of_different_channels():
    class Channels(Scale):
        def __init__(self, channels):
            super().__init__(1.0)
            self.channels = channels

        def forward(self, x):  # 1 -> 3 channels by repeating, 3 -> 1 by the mean
            x = x.expand(-1, 3, -1, -1) if self.channels == 3 else x.mean(1, keepdim=True)
            return self.w * x

    step = make()
    step.G.ab, step.G.ba = Channels(3), Channels(1)
    a, b = torch.zeros(2, 1, 2, 2), torch.zeros(2, 3, 2, 2)
    assert "identity" not in step(StepInputs((b,), (None,), sources=(a,)))


def test_the_pool_keeps_past_fakes_and_resumes_exactly():
    torch.manual_seed(0)
    pool = FakePool(4)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: the fakes themselves
    state = pool.state_dict()
    rng = torch.get_rng_state()
    later = pool.query(torch.full((4, 1, 1, 1), 9.0))
    assert (later != 9).any() and set(later.flatten().tolist()) <= {0.0, 1.0, 2.0, 3.0, 9.0}
    again = FakePool(4)
    again.load_state_dict(state)
    torch.set_rng_state(rng)
    assert torch.equal(again.query(torch.full((4, 1, 1, 1), 9.0)), later)
    assert torch.equal(FakePool(0).query(first), first)  # pool_size 0: the latest only


def test_a_restored_pool_follows_the_fakes_to_their_device():
    # a checkpoint loads on the CPU; resumed on a GPU, the pool's images must move to the fakes'
    # device ("meta" stands for it here) instead of failing in torch.stack
    pool = FakePool(2)
    pool.load_state_dict({"images": torch.zeros(2, 1, 4, 4)}, device="meta")
    torch.manual_seed(0)
    out = pool.query(torch.ones(8, 1, 4, 4, device="meta"))
    assert out.device.type == "meta" and all(x.device.type == "meta" for x in pool.images)


class MeanWithClasses(Mean):
    """Mean's logits, and class logits [B, 2] = (m, -m) with m = v * mean(x)."""

    def judge(self, x):
        logits = self(x)
        return logits, torch.cat([logits, -logits], dim=1)


def test_the_class_consistency_loss_holds_outputs_to_their_sources_class():
    step = make(identity=0.0)
    step.D = CycleDiscriminators(MeanWithClasses(1.0), MeanWithClasses(-1.0))
    step.class_weight = 2.0
    a, b = torch.full((2, 1, 2, 2), 0.5), torch.full((2, 1, 2, 2), -0.4)
    y_a, y_b = torch.tensor([0, 1]), torch.tensor([1, 1])
    stats = step(StepInputs((b,), (y_b,), sources=(a,), source_labels=(y_a,)))

    def ce(m, labels):  # cross-entropy of class logits (m, -m) against labels, averaged over the batch
        logits = torch.tensor([[m, -m]] * len(labels))
        return torch.nn.functional.cross_entropy(logits, labels)

    # G step: fake_b = 1.0 read by D.b (v=-1): m = -1, asked to be a's classes; fake_a = -0.1 by D.a: m = -0.1
    kept = ce(-1.0, y_a) + ce(-0.1, y_b)
    # D step: real b = -0.4 read by D.b: m = 0.4, its own classes; real a = 0.5 by D.a: m = 0.5
    learned = ce(0.4, y_b) + ce(0.5, y_a)
    adv = 0.5 * (-1 - 1) ** 2 + 0.5 * (-0.1 - 1) ** 2
    cycle = abs(0.25 * 2 * 0.5 - 0.5) + abs(2 * 0.25 * -0.4 + 0.4)
    assert torch.isclose(stats["class_g"], kept) and torch.isclose(stats["class_d"], learned)
    assert torch.isclose(stats["loss_g"], torch.tensor(adv + 10 * cycle) + 2.0 * kept)
    # the pool is off, so D's fakes are the G step's: LSGAN d = 1/2 (D(x) - 1)^2 + 1/2 D(G)^2, both domains
    lsgan_d = 0.5 * (0.4 - 1) ** 2 + 0.5 * (-1.0) ** 2 + 0.5 * (0.5 - 1) ** 2 + 0.5 * (-0.1) ** 2
    assert torch.isclose(stats["loss_d"], torch.tensor(lsgan_d) + 2.0 * learned)


def test_the_class_consistency_loss_refuses_inputs_without_labels():
    step = make()
    step.class_weight = 1.0
    a = torch.zeros(2, 1, 2, 2)
    with pytest.raises(ValueError, match="needs both domains' labels"):
        step(StepInputs((a,), (None,), sources=(a,)))
