"""Config values from anywhere (``--set key=value``, YAML files, Python dicts) against generated garbage.

Every value is either accepted, and then fit to train with (finite numbers, sizes > 0, each
key's own check passed), or refused with one ConfigError, on one line, naming the key:
``gankit train`` then exits with status 2 and one line on stderr. Hypothesis runs a fixed,
derandomized set of examples with no database.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gankit import cli
from gankit import config as C
from gankit.errors import ConfigError

# The autouse fixture of conftest only sets environment variables, and the monkeypatch of the CLI
# tests below replaces one function with the same stub for every example: both are safe to share.
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=80,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

KEYS = C.all_keys()
SECTIONS = sorted({k.split(".")[0] for k in KEYS if "." in k})


def fields() -> dict[str, tuple[dataclasses.Field, Any]]:
    """Every key -> (its field, its type), e.g. 'optim.lr_g' -> (Field, float)."""
    out = {}

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if dataclasses.is_dataclass(hints[f.name]):
                walk(hints[f.name], prefix + f.name + ".")
            else:
                out[prefix + f.name] = (f, hints[f.name])

    walk(C.Config, "")
    return out


FIELDS = fields()
FLOAT_KEYS = [k for k, (_, tp) in FIELDS.items() if float in (tp, *typing.get_args(tp))]
SIZE_KEYS = [k for k, (f, _) in FIELDS.items() if f.metadata.get("check") in (C.positive, C.non_negative)]


def assert_fit_to_train(cfg: C.Config) -> None:
    """What a Config that was accepted must be: every number finite, every value passing its key's check."""
    data = cfg.to_dict()
    for key, (f, _) in FIELDS.items():
        value = data
        for part in key.split("."):
            value = value[part]
        if isinstance(value, float):
            assert math.isfinite(value), (key, value)
        check = f.metadata.get("check")
        assert check is None or check(value) is None, (key, value)


def assert_refusal_names(message: str, key: str) -> None:
    assert "\n" not in message, message
    assert key in message, message


def garbage() -> st.SearchStrategy[Any]:
    """Values a config may be handed: odd numbers, odd strings, nested garbage."""
    numbers = st.sampled_from([math.nan, math.inf, -math.inf, 0, -1, 0.0, -0.0, 1e-300, 1e300, 2**64, 1.5, -7])
    strings = st.sampled_from(["", " ", "x" * 10_000, "nan", "inf", ".inf", "-.inf", "null", "~", "1e3", "2e-4",
                               "true", "0x10", "\x00", "a\nb", "é", "../../etc", "cuda:-1"]) | st.text(max_size=40)
    leaves = st.none() | st.booleans() | st.integers() | st.floats() | numbers | strings
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3) |
                        st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


@FUZZ
@given(key=st.sampled_from(KEYS), value=garbage())
def test_any_value_of_any_key_is_accepted_fit_or_refused_by_name(key: str, value: Any) -> None:
    try:
        cfg = C.from_dict(C.set_key({}, key, value))
    except ConfigError as e:
        assert_refusal_names(str(e), key)
    else:
        assert_fit_to_train(cfg)


@FUZZ
@given(key=st.from_regex(r"[a-z_]{1,12}(\.[a-z_]{1,12}){0,2}", fullmatch=True), value=garbage())
def test_unknown_keys_are_refused_by_name(key: str, value: Any) -> None:
    assume(key not in KEYS and key not in SECTIONS)
    with pytest.raises(ConfigError) as info:
        C.from_dict(C.set_key({}, key, value)) if "." in key else C.from_dict({key: value})
    assert_refusal_names(str(info.value), f"unknown config key {key!r}")


@FUZZ
@given(section=st.sampled_from(SECTIONS), value=garbage())
def test_a_section_that_is_not_a_mapping_is_refused_by_name(section: str, value: Any) -> None:
    assume(not isinstance(value, dict))
    with pytest.raises(ConfigError) as info:
        C.from_dict({section: value})
    assert_refusal_names(str(info.value), f"config key {section}: expected a mapping")


@pytest.mark.parametrize("key", FLOAT_KEYS)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, ".inf", ".nan", "1e400"])
def test_non_finite_numbers_are_refused_by_name(key: str, value: Any) -> None:
    parsed = C.parse_override(f"{key}={value}")[1] if isinstance(value, str) else value
    with pytest.raises(ConfigError) as info:
        C.from_dict(C.set_key({}, key, parsed))
    assert_refusal_names(str(info.value), f"config key {key}=")


def test_the_message_of_an_infinite_learning_rate() -> None:
    with pytest.raises(ConfigError, match=r"^config key optim\.lr_g=inf: must be a finite number > 0$"):
        C.from_dict(C.set_key({}, *C.parse_override("optim.lr_g=inf")))
    with pytest.raises(ConfigError, match=r"^config key reg\.weight=inf: must be a finite number >= 0$"):
        C.from_dict({"reg": {"weight": math.inf}})
    with pytest.raises(ConfigError, match=r"^config key train\.batch_size=-3: must be > 0$"):
        C.from_dict({"train": {"batch_size": -3}})


@pytest.mark.parametrize("key", SIZE_KEYS)
def test_negative_and_zero_sizes_are_refused_by_name(key: str) -> None:
    for value in (-1, 0) if FIELDS[key][0].metadata["check"] is C.positive else (-1,):
        with pytest.raises(ConfigError) as info:
            C.from_dict(C.set_key({}, key, value))
        assert_refusal_names(str(info.value), f"config key {key}=")


@pytest.mark.parametrize("text", ["2000,1000", "0", "²", "9" * 5000, "1,,x", "-5"])
def test_odd_milestones_are_refused_by_name(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        C.from_dict({"optim": {"milestones": text}})
    assert_refusal_names(str(info.value), "optim.milestones")


# --- through the command line -----------------------------------------------------------------


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replace the training itself: a config the command accepts is recorded, never trained with."""
    accepted: list[Any] = []

    def record(cfg: Any, args: Any, dist: Any) -> int:
        accepted.append(cfg)
        return 0

    monkeypatch.setattr(cli, "new_train", record)
    return accepted


def run_cli(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


def as_yaml_text(value: Any) -> str:
    """A value as the text after '=' in --set: YAML flow style, on one line."""
    return yaml.safe_dump(value, default_flow_style=True, width=10**9).strip().removesuffix("...").strip()


@FUZZ
@given(key=st.sampled_from(KEYS), text=garbage().map(as_yaml_text) | st.text(max_size=60))
def test_set_is_accepted_fit_or_refused_in_one_line(capsys: pytest.CaptureFixture, no_training: list[Any], key: str,
                                                    text: str) -> None:
    no_training.clear()
    code, err = run_cli(capsys, "train", "--set", f"{key}={text}", "--quiet")
    if code == 0:
        assert len(no_training) == 1 and not err
        assert_fit_to_train(no_training[0])
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert err.startswith("gankit train: error: ") and key in err, err


@FUZZ
@given(content=garbage() | st.dictionaries(st.sampled_from(SECTIONS),
                                           st.dictionaries(st.sampled_from(sorted({k.split(".")[-1] for k in KEYS})),
                                                           garbage(), max_size=3), max_size=3))
def test_config_files_are_accepted_fit_or_refused_in_one_line(capsys: pytest.CaptureFixture, no_training: list[Any],
                                                               tmp_path: Path, content: Any) -> None:
    no_training.clear()
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(content))
    code, err = run_cli(capsys, "train", "--config", str(path), "--quiet")
    if code == 0:
        assert len(no_training) == 1
        assert_fit_to_train(no_training[0])
    else:  # the file's own faults (YAML, not a mapping) name the file; its keys' faults name the key
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert str(path) in err or "config key" in err, err


@FUZZ
@given(text=st.text(max_size=200))
def test_any_config_file_text_is_read_or_refused_in_one_line(capsys: pytest.CaptureFixture, no_training: list[Any],
                                                            tmp_path: Path, text: str) -> None:
    path = tmp_path / "any.yaml"
    path.write_text(text, encoding="utf-8")
    code, err = run_cli(capsys, "train", "--config", str(path), "--quiet")
    named = str(path) in err or "config key" in err
    assert code == 0 or (code == 2 and len(err.strip().splitlines()) == 1 and named), err


@pytest.mark.parametrize("where", ["--set", "--config"])
def test_deeply_nested_values_are_refused_in_one_line(capsys: pytest.CaptureFixture, no_training: list[Any],
                                                      tmp_path: Path, where: str) -> None:
    deep = "[" * 5000 + "]" * 5000
    path = tmp_path / "deep.yaml"
    path.write_text(f"train:\n  batch_size: {deep}\n")
    argv = ["--set", f"train.batch_size={deep}"] if where == "--set" else ["--config", str(path)]
    code, err = run_cli(capsys, "train", *argv, "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
