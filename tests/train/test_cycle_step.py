"""The cycle (unpaired translation) step on tiny networks, its losses checked by hand, and its pool of fakes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.models import CycleDiscriminators, CycleGenerators
from gankit.registry import LOSSES, REGULARIZERS
from gankit.regularizers import Penalty
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

    def forward(self, x, source=None, y=None):
        assert y is None, "Mean judges images alone"
        return (self.v * x.flatten(1).mean(1)).unsqueeze(1)


def make(identity=0.5, pool=0, lr_d=0.0, penalty=None):
    G = CycleGenerators(Scale(2.0), Scale(0.25))
    D = CycleDiscriminators(Mean(1.0), Mean(-1.0))
    return CycleStep(G, D, torch.optim.SGD(G.parameters(), lr=0.0), torch.optim.SGD(D.parameters(), lr=lr_d),
                     LOSSES.get("lsgan"), cycle_weight=10.0, identity_weight=identity, pool_size=pool, penalty=penalty)


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


def test_r1_penalises_both_discriminators_on_their_own_domains():
    # Mean's logit v * mean(x) over 4 pixels has the gradient v / 4 in each: R1 = v^2 / 4 for each D,
    # and gamma/2 * R1 moves v by -lr * gamma/2 * v/2 beside the adversarial loss's step
    a, b = torch.full((2, 1, 2, 2), 0.5), torch.full((2, 1, 2, 2), -0.4)
    plain, with_r1 = make(lr_d=0.1), make(lr_d=0.1, penalty=Penalty(REGULARIZERS.get("r1"), 10.0))
    stats, stats_r1 = (s(StepInputs((b,), (None,), sources=(a,))) for s in (plain, with_r1))
    assert "penalty" not in stats
    assert torch.isclose(stats_r1["penalty"], torch.tensor(1.0 / 4 + 1.0 / 4))
    for name, v in (("a", 1.0), ("b", -1.0)):
        shift = getattr(with_r1.D, name).v - getattr(plain.D, name).v
        assert torch.isclose(shift, torch.tensor(-0.1 * 5.0 * v / 2)), name


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
    assert torch.equal(pool.query(first)[0], first)  # filling: the fakes themselves
    state = pool.state_dict()
    rng = torch.get_rng_state()
    later, no_labels = pool.query(torch.full((4, 1, 1, 1), 9.0))
    assert no_labels is None and (later != 9).any() and set(later.flatten().tolist()) <= {0.0, 1.0, 2.0, 3.0, 9.0}
    again = FakePool(4)
    again.load_state_dict(state)
    torch.set_rng_state(rng)
    assert torch.equal(again.query(torch.full((4, 1, 1, 1), 9.0))[0], later)
    assert torch.equal(FakePool(0).query(first)[0], first)  # pool_size 0: the latest only


def test_a_restored_pool_follows_the_fakes_to_their_device():
    # a checkpoint loads on the CPU; resumed on a GPU, the pool's images must move to the fakes'
    # device ("meta" stands for it here) instead of failing in torch.stack
    pool = FakePool(2)
    pool.load_state_dict({"images": torch.zeros(2, 1, 4, 4)}, device="meta")
    torch.manual_seed(0)
    out, _ = pool.query(torch.ones(8, 1, 4, 4, device="meta"))
    assert out.device.type == "meta" and all(x.device.type == "meta" for x in pool.images)


def test_a_pool_with_classes_keeps_each_fake_with_its_class():
    torch.manual_seed(0)
    pool = FakePool(4)
    first, first_y = torch.arange(4.0).view(4, 1, 1, 1), torch.tensor([10, 11, 12, 13])
    images, labels = pool.query(first, first_y)
    assert torch.equal(images, first) and torch.equal(labels, first_y)
    state, rng = pool.state_dict(), torch.get_rng_state()
    # the new fakes 4..7 have classes 14..17; a pooled fake i comes back with class 10 + i
    later, later_y = pool.query(torch.arange(4.0, 8.0).view(4, 1, 1, 1), torch.tensor([14, 15, 16, 17]))
    assert (later < 4).any()
    assert torch.equal(later_y, later.flatten().long() + 10)
    assert torch.equal(torch.stack(pool.labels), torch.stack(pool.images).flatten().long() + 10)
    again = FakePool(4)
    again.load_state_dict(state)
    torch.set_rng_state(rng)
    resumed, resumed_y = again.query(torch.arange(4.0, 8.0).view(4, 1, 1, 1), torch.tensor([14, 15, 16, 17]))
    assert torch.equal(resumed, later) and torch.equal(resumed_y, later_y)
    with pytest.raises(ValueError, match="with classes or without"):
        pool.query(first)  # a pool of labelled fakes given fakes without classes
    old = FakePool(4)
    old.load_state_dict({"images": first})  # a checkpoint from before pools kept classes
    assert old.labels == [] and len(old.images) == 4


class MeanWithClasses(Mean):
    """Mean's logits, and class logits [B, 2] = (m, -m) with m = v * mean(x)."""

    def judge(self, x, y=None):
        logits = self(x, y=y)
        return logits, torch.cat([logits, -logits], dim=1)


class MeanProjected(Mean):
    """A D that judges images with their classes: m + <e_y, m> with m = v * mean(x) and e = (1, -1)."""

    def forward(self, x, source=None, y=None):
        m = super().forward(x)
        return m + m * (1 - 2 * y[:, None].float())


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


def test_class_projection_judges_each_image_with_its_class():
    step = make(identity=0.0)
    step.D = CycleDiscriminators(MeanProjected(1.0), MeanProjected(-1.0))
    step.class_projection = True
    a, b = torch.full((2, 1, 2, 2), 0.5), torch.full((2, 1, 2, 2), -0.4)
    y_a, y_b = torch.tensor([0, 1]), torch.tensor([1, 1])
    stats = step(StepInputs((b,), (y_b,), sources=(a,), source_labels=(y_a,)))

    def projected(m, labels):  # the verdict m plus <e_y, m>: m for class 0, -m for class 1
        return torch.tensor([m + (m if y == 0 else -m) for y in labels])

    # G step: fake_b = 1.0, D.b's m = -1, judged as a's classes; fake_a = -0.1, D.a's m = -0.1, as b's
    fake_b, fake_a = projected(-1.0, y_a), projected(-0.1, y_b)  # [-2, 0], [0, 0]
    adv = 0.5 * ((fake_b - 1) ** 2).mean() + 0.5 * ((fake_a - 1) ** 2).mean()
    cycle = abs(0.25 * 2 * 0.5 - 0.5) + abs(2 * 0.25 * -0.4 + 0.4)
    assert torch.isclose(stats["adv_g"], adv) and "class_g" not in stats
    assert torch.isclose(stats["loss_g"], adv + 10 * cycle)
    # D step: real b (m = 0.4) with its labels, real a (m = 0.5) with a's; the fakes with the classes they were made for
    real_b, real_a = projected(0.4, y_b), projected(0.5, y_a)  # [0, 0], [1, 0]
    lsgan_d = (0.5 * ((real_b - 1) ** 2).mean() + 0.5 * (fake_b ** 2).mean()
               + 0.5 * ((real_a - 1) ** 2).mean() + 0.5 * (fake_a ** 2).mean())
    assert torch.isclose(stats["loss_d"], lsgan_d) and "class_d" not in stats
    # with the pool on, the pooled fakes carry those classes
    pooled = make(identity=0.0, pool=4)
    pooled.D, pooled.class_projection = step.D, True
    pooled(StepInputs((b,), (y_b,), sources=(a,), source_labels=(y_a,)))
    assert torch.equal(torch.stack(pooled.pools["b"].labels), y_a)
    assert torch.equal(torch.stack(pooled.pools["a"].labels), y_b)
