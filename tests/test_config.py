import pytest

from gankit import config as C
from gankit import presets
from gankit.errors import ConfigError


def test_defaults_are_the_seeds():
    cfg = C.Config()
    assert (cfg.optim.lr_g, cfg.optim.lr_d, cfg.optim.beta1) == (2e-4, 2e-4, 0.5)
    assert (cfg.train.batch_size, cfg.model.latent_dim, cfg.train.epochs) == (128, 100, 50)
    assert cfg.loss.name == "nonsaturating"


def test_every_key_has_a_meaning():
    rows = C.describe_keys()
    assert len(rows) == len(C.all_keys()) > 15
    assert all(help for _, _, help in rows)


def test_round_trip_through_yaml(tmp_path):
    cfg = C.from_dict({"train": {"steps": 7}, "optim": {"lr_g": 1e-3}})
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    assert C.load_file(path) == cfg


def test_unknown_key_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match="unknown config key 'optim.lr'.*optim.lr_g"):
        C.set_key({}, "optim.lr", 1)
    with pytest.raises(ConfigError, match="unknown config key 'trian'"):
        C.from_dict({"trian": {"epochs": 2}})


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("train.batch_size", 0, "must be > 0"),
        ("train.batch_size", "many", "expected int"),
        ("train.batch_size", 1.5, "expected int"),
        ("optim.beta1", 1.0, r"\[0, 1\)"),
        ("data.split", "valid", "train, test"),
        ("loss.name", "nope", "minimax"),
        ("model.arch", "nope", "dcgan-28"),
        ("log.tensorboard", "maybe", "expected bool"),
        ("model.clusters", 1, r"must be 0 \(off\) or at least 2"),
        ("model.clusters", -3, r"must be 0 \(off\) or at least 2"),
    ],
)
def test_bad_values_are_refused_in_one_line(key, value, message):
    with pytest.raises(ConfigError, match=message) as e:
        C.from_dict(C.set_key({}, key, value))
    assert key in str(e.value) and "\n" not in str(e.value)


def test_overrides_are_parsed_as_typed_values():
    assert C.parse_override("optim.lr_g=2e-4") == ("optim.lr_g", "2e-4")  # YAML 1.1 reads it as a string...
    cfg = C.from_dict(C.set_key({}, *C.parse_override("optim.lr_g=2e-4")))
    assert cfg.optim.lr_g == 2e-4  # ...which the float field accepts
    cfg = C.from_dict(C.set_key({}, *C.parse_override("train.steps=null")))
    assert cfg.train.steps is None
    cfg = C.from_dict(C.set_key({}, *C.parse_override("log.tensorboard=false")))
    assert cfg.log.tensorboard is False
    with pytest.raises(ConfigError, match="key=value"):
        C.parse_override("train.steps")


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        C.read_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        C.read_yaml(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        C.read_yaml(listy)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("train:\n  epoch: 3\n")
    with pytest.raises(ConfigError, match=r"wrong.yaml: unknown config key 'train.epoch'.*train.epochs"):
        C.load_file(wrong)


def test_presets_are_valid_and_described():
    assert presets.DEFAULT in presets.names()
    for name, description in presets.describe():
        assert description, name
        C.from_dict(presets.load(name))
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        presets.load("nope")
