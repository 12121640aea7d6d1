"""The Trainer's draws: per-rank noise, the random streams a checkpoint keeps, and each step's inputs."""

from __future__ import annotations

import torch

from gankit.train.trainer import Trainer, draw_noise, rng_state, set_rng_state


def noise_of(rank: int, world: int, batch: int, num_classes: int = 10):
    """The noise rank ``rank`` of ``world`` draws, from the same seed as every rank."""
    return draw_noise(torch.Generator().manual_seed(7), batch, 5, num_classes, rank, world)


def test_ranks_draw_different_noise_whose_union_is_one_process_draw():
    single_z, single_y = noise_of(0, 1, 8)  # one process, global batch 8
    parts = [noise_of(r, 2, 4) for r in range(2)]  # two ranks of batch 4
    assert not torch.equal(parts[0][0], parts[1][0])
    assert torch.equal(torch.cat([z for z, _ in parts]), single_z)
    assert torch.equal(torch.cat([y for _, y in parts]), single_y)
    assert parts[0][0].shape == (4, 5) and parts[0][1].shape == (4,)


def test_unconditional_runs_draw_no_labels():
    z, y = noise_of(1, 2, 4, num_classes=0)
    assert y is None and z.shape == (4, 5)


def test_rng_state_round_trip():
    noise = torch.Generator().manual_seed(5)
    saved = rng_state(noise)
    a = (torch.rand(3), torch.randn(3, generator=noise))
    set_rng_state(saved, noise)
    b = (torch.rand(3), torch.randn(3, generator=noise))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_draw_gives_n_critic_batches_and_their_noise_in_data_order(tiny_config):
    t = Trainer(tiny_config(optim__n_critic=3, model__conditioning="cgan"))
    inputs = t.draw()
    assert len(inputs.reals) == len(inputs.labels) == len(inputs.z) == len(inputs.fake_labels) == 3
    assert inputs.d_index == 0
    for k in range(3):  # D step k's batch is batch k of the data order
        x, y = t.batches.get(k)
        assert torch.equal(inputs.reals[k], x) and torch.equal(inputs.labels[k], y)
        assert inputs.z[k].shape == (32, 100) and inputs.fake_labels[k].shape == (32,)
    assert not torch.equal(inputs.z[0], inputs.z[1])
    t.train_step()
    assert t.draw().d_index == 3


def test_unconditional_and_likelihood_steps_draw_what_they_use(tiny_config):
    gan = Trainer(tiny_config()).draw()
    assert gan.labels == (None,) and gan.fake_labels == (None,) and len(gan.z) == 1
    vae = Trainer(tiny_config(model__arch="vae")).draw()
    assert len(vae.reals) == 1 and vae.z == () and vae.fake_labels == ()


def test_deterministic_runs_repeat_bit_for_bit(tiny_config, tmp_path):
    """train.deterministic turns on PyTorch's deterministic algorithms (process-wide, hence in child
    processes here); two such runs give the same generator, bit for bit."""
    import os
    import subprocess
    import sys

    import safetensors.torch

    cfg = tmp_path / "c.yaml"
    cfg.write_text(tiny_config(train__steps=6, train__deterministic=True).to_yaml())
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        code = subprocess.run([sys.executable, "-m", "gankit", "train", "--config", str(cfg), "--out", str(out),
                               "--quiet"], env={**os.environ, "OMP_NUM_THREADS": "2"}, timeout=300).returncode
        assert code == 0
        outs.append(safetensors.torch.load_file(str(out / "generator.safetensors")))
    a, b = outs
    differ = {k: float((a[k] - b[k]).abs().max()) for k in a if not torch.equal(a[k], b[k])}
    assert not differ, f"{len(differ)} of {len(a)} tensors differ, e.g. {dict(list(differ.items())[:3])}"
    assert torch.are_deterministic_algorithms_enabled() is False  # this process untouched


def test_deterministic_turns_on_mkls_reproducible_mode_unless_the_user_chose_one():
    """MKL reads MKL_CBWR at its first call: make_deterministic sets it before the first step,
    and leaves a value the user gave alone (checked in child processes: it is process-wide)."""
    import os
    import subprocess
    import sys

    code = ("import os; from gankit.train.trainer import make_deterministic; make_deterministic(); "
            "print(os.environ['MKL_CBWR'])")
    env = {k: v for k, v in os.environ.items() if k != "MKL_CBWR"}

    def run(e):
        return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True,
                              check=True).stdout.strip()

    assert run(env) == "AUTO,STRICT"
    assert run({**env, "MKL_CBWR": "COMPATIBLE"}) == "COMPATIBLE"
