"""The README documents what exists: every config key, preset and command."""

from pathlib import Path

from gankit import config, presets

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_config_table_is_written_from_the_configs_help_strings():
    # tools/readme_config.py writes it; a changed default or help string must be written again
    assert config.markdown_table() in README, "README's config table is stale: run python tools/readme_config.py"
    assert all(f"| `{k}` |" in config.markdown_table() for k in config.all_keys())


def test_every_preset_is_listed():
    assert not [n for n in presets.names() if f"`{n}`" not in README]


def test_linked_docs_exist():
    root = Path(__file__).resolve().parents[1]
    for link in ("docs/tutorial.md", "docs/metrics.md", "docs/distributed.md", "docs/extending.md", "docs/doctor.md",
                 "docs/export.md", "docs/reliability.md", "docs/results.md"):
        assert link in README and (root / link).is_file()
