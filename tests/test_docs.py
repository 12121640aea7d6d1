"""The README documents what exists: every config key, preset and command."""

from pathlib import Path

from gankit import config, presets

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_config_key_is_in_the_reference():
    missing = [k for k in config.all_keys() if f"`{k}`" not in README]
    assert not missing, f"README's config table lacks {missing}"


def test_every_preset_is_listed():
    assert not [n for n in presets.names() if f"`{n}`" not in README and n not in README]


def test_linked_docs_exist():
    root = Path(__file__).resolve().parents[1]
    for link in ("docs/seed.md", "docs/metrics.md", "docs/distributed.md"):
        assert link in README and (root / link).is_file()
