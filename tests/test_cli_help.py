"""``--help`` of every command, sub-command and alias: always a usage text and status 0, at any width."""

from __future__ import annotations

import argparse

import pytest

from gankit.cli import build_parser, main


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path the parser accepts, aliases included: (), ("train",), ("translate",), ("enhance",) ..."""
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += commands(sub, (*prefix, name))
    return paths


COMMANDS = commands(build_parser())


def test_the_commands_are_all_found() -> None:
    found = {path[0] for path in COMMANDS if path}
    assert {"train", "sample", "evaluate", "report", "interpolate", "export", "blend", "translate", "enhance",
            "list"} <= found


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "gankit")
@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("columns", ["200", "12"])  # a wide terminal and a very narrow one
def test_help_never_fails(path: tuple[str, ...], flag: str, columns: str, capsys: pytest.CaptureFixture,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    with pytest.raises(SystemExit) as e:
        main([*path, flag])
    out, err = capsys.readouterr()
    assert e.value.code == 0 and not err, err
    assert out.startswith("usage: gankit") and "Traceback" not in out, out


def test_version(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("gankit ")
