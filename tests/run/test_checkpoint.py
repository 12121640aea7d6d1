import pickle

import pytest
import torch

from gankit.errors import CheckpointError
from gankit.run import checkpoint


def test_save_is_atomic_and_loads_back(tmp_path):
    path = tmp_path / "ck" / "last.pt"
    checkpoint.save(path, {"step": 3, "w": torch.arange(4)})
    ck = checkpoint.load(path)
    assert ck["step"] == 3 and torch.equal(ck["w"], torch.arange(4)) and ck["format"] == checkpoint.FORMAT
    assert [p.name for p in path.parent.iterdir()] == ["last.pt"]  # no temp file left


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    checkpoint.save(path, {"step": 1})

    class Unsavable:
        def __reduce__(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        checkpoint.save(path, {"step": 2, "bad": Unsavable()})
    assert checkpoint.load(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_corrupt_and_foreign_files_are_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint.load(tmp_path / "nope.pt")
    cut = tmp_path / "cut.pt"
    checkpoint.save(cut, {"step": 1, "w": torch.zeros(1000)})
    cut.write_bytes(cut.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="cut.pt cannot be read"):
        checkpoint.load(cut)
    other = tmp_path / "other.pt"
    torch.save({"hello": 1}, other)
    with pytest.raises(CheckpointError, match="not a gankit checkpoint"):
        checkpoint.load(other)


class Exploit:
    def __reduce__(self):
        return (print, ("this code must never run",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the crafted file uses protocol 4
def test_loading_never_runs_code_from_the_file(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"format": checkpoint.FORMAT, "x": Exploit()}, f)
    with pytest.raises(CheckpointError):
        checkpoint.load(evil)
    assert "must never run" not in capsys.readouterr().out
