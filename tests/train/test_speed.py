"""The speed options of training: channels-last, fused Adam, CUDA graphs.

Each must train the same model as the plain step: same weights after a few steps
(float32, where kernels differ only in summation order), and checkpoints that the
plain step reads. The CUDA tests run where a GPU is present (benchmarks/gpu.sh runs
them on one) and are skipped elsewhere.
"""

from __future__ import annotations

import pytest
import torch

from gankit.errors import ConfigError
from gankit.train.graphed import GraphedStep
from gankit.train.trainer import Trainer

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def trained(cfg, steps: int = 3) -> Trainer:
    t = Trainer(cfg)
    for _ in range(steps):
        t.train_step()
    return t


def update_mismatch(a: Trainer, b: Trainer, init: Trainer) -> float:
    """How far apart two runs' weights are, as a fraction of how far they moved from the
    start: ~0 for the same computation in another summation order, ~1 or more for another one.
    (A plain weight tolerance proves little: Adam moves a weight by about lr a step at most.)"""
    apart = moved = 0.0
    for net in ("G", "D"):
        for p, q, p0 in zip(*(getattr(t, net).state_dict().values() for t in (a, b, init))):
            if p.is_floating_point():
                apart += (p - q).abs().sum().item()
                moved += (p - p0).abs().sum().item()
    return apart / moved


def test_channels_last_and_fused_adam_train_the_same_model(tiny_config):
    plain = trained(tiny_config())
    fast = trained(tiny_config(train__channels_last=True, optim__fused=True))
    conv = fast.G.upsample[0].weight  # [256, 128, 5, 5]
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert all(g["fused"] for g in [g for o in fast.step_fn.optimizers.values() for g in o.param_groups])
    assert not any(g["fused"] for g in plain.step_fn.optimizers["G"].param_groups)  # CPU default: PyTorch's own choice
    assert update_mismatch(plain, fast, Trainer(tiny_config())) < 0.01


def test_cuda_graph_is_on_only_where_it_applies(tiny_config):
    t = Trainer(tiny_config())  # null: on where it applies, and a CPU is not such a place
    assert t.cuda_graph is False and not isinstance(t.step_fn, GraphedStep)
    assert not any(g["capturable"] for g in t.step_fn.optimizers["G"].param_groups)
    with pytest.raises(ConfigError, match="train.cuda_graph=true needs a CUDA device, and this run trains on cpu"):
        Trainer(tiny_config(train__cuda_graph=True))


@pytest.mark.parametrize("strict", [False, True])
def test_a_step_that_cannot_be_captured_runs_eagerly_or_raises_when_asked_for(tiny_config, monkeypatch, strict):
    """The fallback, on any device: a capture that fails leaves the step eager, and the run
    trains exactly as without the graph; asked for explicitly (strict), the failure is raised."""
    plain = trained(tiny_config())
    t = Trainer(tiny_config())
    t.step_fn = GraphedStep(t.step_fn, warmup=0, strict=strict)

    def refuse(*args):
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(t.step_fn, "_capture", refuse)
    if strict:
        with pytest.raises(RuntimeError, match="not permitted"):
            t.train_step()
        return
    with pytest.warns(UserWarning, match="could not be captured .*not permitted.*training goes on without it"):
        t.train_step()
    for _ in range(2):
        t.train_step()
    assert t.step_fn.eager and t.step_fn.graph is None
    assert update_mismatch(plain, t, Trainer(tiny_config())) == 0.0  # the very same computation


def test_a_resumed_optimizer_computes_as_this_run_asks(tiny_config):
    first = trained(tiny_config(optim__fused=False), steps=2)
    again = Trainer(tiny_config(optim__fused=True))
    again.load_state_dict(first.state_dict())
    assert all(g["fused"] for g in again.step_fn.optimizers["G"].param_groups)
    assert int(next(iter(again.step_fn.optimizers["G"].state.values()))["step"]) == 2  # the state came along
    again.train_step()


# CUDA --------------------------------------------------------------------------------


@cuda
@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_cuda_graph_trains_the_same_model_as_the_eager_step(tiny_config, update):
    """Without dropout the step is deterministic but for summation order: the replayed
    graph must follow the eager step's weights step for step."""
    opts = dict(train__device="cuda", model__dropout=0.0, optim__update=update)
    eager = trained(tiny_config(train__cuda_graph=False, **opts), steps=8)
    graphed = trained(tiny_config(train__cuda_graph=True, **opts), steps=8)
    assert graphed.step_fn.graph is not None  # steps 4-8 were replays
    assert update_mismatch(eager, graphed, Trainer(tiny_config(**opts))) < 0.01


@cuda
def test_cuda_graph_with_dropout_bf16_and_resume(tiny_config, tmp_path):
    cfg = tiny_config(train__device="cuda", train__cuda_graph=True, train__precision="bf16",
                      train__channels_last=True, train__steps=12)
    t = trained(cfg, steps=6)
    stats = t.train_step()
    assert all(torch.isfinite(v).all() for v in stats.values())
    again = Trainer(cfg)
    again.load_state_dict(t.state_dict())
    before = [p.detach().clone() for p in again.G.parameters()]  # no autograd graph kept alive
    for _ in range(5):  # warm-up, capture, replays, from the restored optimizer state
        again.train_step()
    assert all(not torch.equal(a, b) for a, b in zip(before, again.G.parameters()))


@cuda
def test_cuda_graph_is_the_default_on_cuda_and_false_turns_it_off(tiny_config):
    assert isinstance(Trainer(tiny_config(train__device="cuda")).step_fn, GraphedStep)
    assert not isinstance(Trainer(tiny_config(train__device="cuda", train__cuda_graph=False)).step_fn, GraphedStep)
    assert not isinstance(Trainer(tiny_config(train__device="cuda", reg__name="r1", reg__every=4)).step_fn,
                          GraphedStep)
    with pytest.raises(ConfigError, match="reg.every=4 changes the step"):
        Trainer(tiny_config(train__device="cuda", reg__name="r1", reg__every=4, train__cuda_graph=True))
