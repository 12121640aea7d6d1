"""Hostile and foreign files in a run folder: pickles that would run code, checkpoints of another
format or of nothing at all, generator files with missing metadata or tensors of another network.

Each is refused with one line (status 2 from the commands, a CheckpointError from gankit.load)
before any network is built from it, and nothing in a file ever runs.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch

import gankit
from gankit import config as C
from gankit.cli import main
from gankit.errors import CheckpointError
from gankit.models import build_generator
from gankit.run import checkpoint, generator
from gankit.run.folder import RunDir

SHAPE = (1, 28, 28)
STEP = 3


def tiny_config() -> C.Config:
    """A run's config with a small MLP generator: building and saving it takes milliseconds."""
    return C.from_dict({"name": "hostile", "data": {"dataset": "mnist", "download": False},
                        "model": {"arch": "mlp", "width": 16, "latent_dim": 8},
                        "train": {"device": "cpu", "precision": "fp32"}, "log": {"tensorboard": False}})


def tiny_generator(cfg: C.Config) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_generator(cfg.model, SHAPE, 0)


def checkpoint_payload(cfg: C.Config, G: torch.nn.Module) -> dict[str, Any]:
    """What a training checkpoint holds that the readers of a generator use."""
    return {"format": checkpoint.FORMAT, "config": cfg.to_dict(), "step": STEP, "image_shape": list(SHAPE),
            "source_shape": None, "num_classes": 0, "models": {"G": G.state_dict(), "D": {}}, "ema": None}


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    """A run folder with its config.yaml and nothing else: each test adds the file it is about."""
    folder = RunDir(tmp_path / "run")
    folder.prepare()
    folder.write_config(tiny_config())
    return folder


def refused_by_command(capsys: pytest.CaptureFixture, *argv: str) -> str:
    """``gankit ARGV`` must exit with status 2 and one line on stderr, without a traceback."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (code, err)
    return err


def refused_by_load(run: RunDir) -> str:
    """``gankit.load`` must raise one one-line CheckpointError."""
    with pytest.raises(CheckpointError) as info:
        gankit.load(run.path, device="cpu")
    message = str(info.value)
    assert "\n" not in message, message
    return message


def refused_everywhere(capsys: pytest.CaptureFixture, run: RunDir, *fragments: str, resume: bool = False) -> None:
    """sample, evaluate, (train --resume) and gankit.load each refuse the run, naming each fragment."""
    messages = [refused_by_command(capsys, "sample", str(run.path), "--n", "2", "--device", "cpu",
                                   "--out", str(run.path / "s.npy")),
                refused_by_command(capsys, "evaluate", str(run.path), "--n", "10", "--real-n", "10",
                                   "--device", "cpu"),
                refused_by_load(run)]
    if resume:
        messages.append(refused_by_command(capsys, "train", "--resume", str(run.path), "--quiet"))
    for message in messages:
        for fragment in fragments:
            assert fragment in message, message


def test_the_fixtures_make_a_loadable_run(run: RunDir, capsys: pytest.CaptureFixture) -> None:
    """The hand-made files are sound, so every refusal below is the hostile part's doing."""
    cfg = tiny_config()
    G = tiny_generator(cfg)
    checkpoint.save(run.last_checkpoint, checkpoint_payload(cfg, G))
    from_checkpoint = gankit.load(run.path, device="cpu").sample(4, seed=1)
    generator.write(run.generator, G, cfg, STEP, SHAPE, 0, ema=False)
    from_file = gankit.load(run.path, device="cpu").sample(4, seed=1)
    assert from_file.shape == (4, *SHAPE) and torch.equal(from_file, from_checkpoint)
    assert main(["sample", str(run.path), "--n", "2", "--out", str(run.path / "s.npy"), "--device", "cpu"]) == 0


# --- pickles that would run code --------------------------------------------------------------


class WritesMarker:
    """Unpickling this calls ``function(*args)``: in a checkpoint it would run on load."""

    def __init__(self, function: Callable[..., Any], *args: Any):
        self.function, self.args = function, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.function, self.args


def payloads(marker: Path) -> dict[str, WritesMarker]:
    return {
        "os.system": WritesMarker(os.system, f"touch {marker}"),
        "subprocess": WritesMarker(subprocess.call, ["touch", str(marker)]),
        "exec": WritesMarker(exec, f"open({str(marker)!r}, 'w').close()"),
        "eval": WritesMarker(eval, f"open({str(marker)!r}, 'w')"),
    }


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the plain pickle is not torch's format
@pytest.mark.parametrize("payload", ["os.system", "subprocess", "exec", "eval"])
@pytest.mark.parametrize("container", ["torch.save", "plain pickle"])
def test_a_checkpoint_that_would_run_code_is_refused(run: RunDir, capsys: pytest.CaptureFixture, tmp_path: Path,
                                                     payload: str, container: str) -> None:
    marker = tmp_path / "ran"
    evil = checkpoint_payload(tiny_config(), tiny_generator(tiny_config()))
    evil["models"]["G"] = payloads(marker)[payload]  # inside an entry every reader touches
    if container == "torch.save":
        torch.save(evil, run.last_checkpoint)
    else:
        with open(run.last_checkpoint, "wb") as f:
            pickle.dump(evil, f)
    refused_everywhere(capsys, run, "last.pt", resume=True)
    assert not marker.exists()


def test_the_payload_does_run_when_unpickled_plainly(tmp_path: Path) -> None:
    """The payloads above are real: plain unpickling runs them (in a child process, to stay clean)."""
    marker = tmp_path / "ran"
    data = tmp_path / "evil.pickle"
    data.write_bytes(pickle.dumps(payloads(marker)["os.system"]))
    subprocess.run([sys.executable, "-c", f"import pickle; pickle.load(open({str(data)!r}, 'rb'))"], check=True)
    assert marker.exists()


# --- checkpoints of another format, or of nothing ----------------------------------------------


def test_a_checkpoint_of_another_format_says_which(run: RunDir, capsys: pytest.CaptureFixture) -> None:
    future = checkpoint_payload(tiny_config(), tiny_generator(tiny_config()))
    future["format"] = 99
    torch.save(future, run.last_checkpoint)
    refused_everywhere(capsys, run, "last.pt", "format 99", resume=True)


@pytest.mark.parametrize("content", [{"hello": 1}, [1, 2, 3], torch.zeros(3), "text"],
                         ids=["dict", "list", "tensor", "str"])
def test_a_file_that_is_not_a_checkpoint_says_so(run: RunDir, capsys: pytest.CaptureFixture, content: Any) -> None:
    torch.save(content, run.last_checkpoint)
    refused_everywhere(capsys, run, "last.pt", "not a gankit checkpoint", resume=True)


@pytest.mark.parametrize("damage, fragment", [
    pytest.param(lambda c: c.pop("models"), "models.G", id="no models"),
    pytest.param(lambda c: c["models"].update(G={"weight": "not a tensor"}), "models.G", id="not tensors"),
    pytest.param(lambda c: c.update(ema={"a": 1}), "ema", id="bad ema"),
    pytest.param(lambda c: c.pop("image_shape"), "image_shape", id="no shape"),
    pytest.param(lambda c: c.update(image_shape=[1, -28, 28]), "image_shape", id="negative side"),
    pytest.param(lambda c: c.update(image_shape=[1, 2**40, 28]), "image_shape", id="huge side"),
    pytest.param(lambda c: c.update(step="three"), "step", id="bad step"),
    pytest.param(lambda c: c.update(num_classes=-1), "num_classes", id="bad classes"),
    pytest.param(lambda c: c["models"]["G"].pop(next(iter(c["models"]["G"]))), "missing", id="tensor missing"),
    pytest.param(lambda c: c["models"]["G"].update(extra=torch.zeros(2)), "unexpected: extra", id="extra tensor"),
    pytest.param(lambda c: c.update(image_shape=[3, 32, 32]), "wrong shape", id="other shape"),
])
def test_a_damaged_checkpoint_entry_is_named(run: RunDir, capsys: pytest.CaptureFixture,
                                             damage: Callable[[dict], Any], fragment: str) -> None:
    ckpt = checkpoint_payload(tiny_config(), tiny_generator(tiny_config()))
    damage(ckpt)
    checkpoint.save(run.last_checkpoint, ckpt)
    refused_everywhere(capsys, run, "last.pt", fragment)


def test_resuming_from_a_checkpoint_without_its_entries_is_one_line(run: RunDir,
                                                                    capsys: pytest.CaptureFixture) -> None:
    checkpoint.save(run.last_checkpoint, {"step": STEP})
    refused_by_command(capsys, "train", "--resume", str(run.path), "--quiet")


# --- generator.safetensors that does not fit --------------------------------------------------


def write_generator(run: RunDir, tensors: dict[str, torch.Tensor] | None = None,
                    metadata: dict[str, str] | None = None, drop: tuple[str, ...] = ()) -> None:
    """generator.safetensors as gankit writes it, then with ``tensors`` and ``metadata`` in place of
    its own (None: keep), and the metadata keys ``drop`` removed."""
    cfg = tiny_config()
    generator.write(run.generator, tiny_generator(cfg), cfg, STEP, SHAPE, 0, ema=False)
    with safetensors.safe_open(str(run.generator), "pt") as f:
        meta = dict(f.metadata())
    own = safetensors.torch.load_file(str(run.generator))
    meta.update(metadata or {})
    for key in drop:
        meta.pop(key, None)
    safetensors.torch.save_file(own if tensors is None else tensors, str(run.generator), metadata=meta or None)


def own_tensors() -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in tiny_generator(tiny_config()).state_dict().items()}


def test_a_generator_file_without_metadata(run: RunDir, capsys: pytest.CaptureFixture) -> None:
    safetensors.torch.save_file(own_tensors(), str(run.generator))
    refused_everywhere(capsys, run, "generator.safetensors has no metadata")


@pytest.mark.parametrize("key", generator.REQUIRED_METADATA)
def test_a_generator_file_with_incomplete_metadata(run: RunDir, capsys: pytest.CaptureFixture, key: str) -> None:
    write_generator(run, drop=(key,))
    refused_everywhere(capsys, run, "generator.safetensors", f"lacks {key}")


@pytest.mark.parametrize("metadata, fragment", [
    ({"format": "2"}, "format '2'"),
    ({"image_shape": "a,b"}, "image_shape"),
    ({"image_shape": "0,28,28"}, "image_shape"),
    ({"image_shape": "1,28"}, "image_shape"),
    ({"image_shape": "3,99999999,99999999"}, "image_shape"),
    ({"step": "-1"}, "step"),
    ({"num_classes": "ten"}, "num_classes"),
    ({"ema": "maybe"}, "ema"),
    ({"arch": "dcgan-64"}, "'dcgan-64' generator"),
    ({"image_shape": "3,64,64"}, "wrong shape"),
])
def test_a_generator_file_with_bad_metadata(run: RunDir, capsys: pytest.CaptureFixture, metadata: dict[str, str],
                                            fragment: str) -> None:
    write_generator(run, metadata=metadata)
    refused_everywhere(capsys, run, "generator.safetensors", fragment)


def test_generator_tensors_that_do_not_match_the_architecture(run: RunDir, capsys: pytest.CaptureFixture) -> None:
    tensors = own_tensors()
    first, last = next(iter(tensors)), list(tensors)[-1]

    write_generator(run, tensors={k: v for k, v in tensors.items() if k != first})
    refused_everywhere(capsys, run, "generator.safetensors", f"missing: {first}")

    write_generator(run, tensors={**tensors, "stowaway.weight": torch.zeros(3)})
    refused_everywhere(capsys, run, "generator.safetensors", "unexpected: stowaway.weight")

    write_generator(run, tensors={**tensors, last: torch.zeros(*tensors[last].shape, 2)})
    refused_everywhere(capsys, run, "generator.safetensors", f"wrong shape: {last} is")


def test_a_generator_file_that_is_not_safetensors(run: RunDir, capsys: pytest.CaptureFixture) -> None:
    run.generator.write_bytes(b"\xff" * 8 + b"{not json")
    refused_everywhere(capsys, run, "generator.safetensors cannot be read")
