"""The README and docs/ document what exists: every config key, preset and command, and every page
and picture they link to."""

import re
from pathlib import Path

import pytest

from gankit import config, presets

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")  # [text](target) and ![alt](target)


def local_links(doc: Path) -> list[str]:
    """The targets of ``doc``'s markdown links and images that are not web addresses."""
    return [t for t in LINK.findall(doc.read_text()) if not re.match(r"[a-z]+:", t)]


def anchors(doc: Path) -> set[str]:
    """The anchors a markdown renderer gives ``doc``'s headings: lower case, punctuation dropped,
    spaces as hyphens."""
    headings = re.findall(r"^#+ +(.+?) *$", doc.read_text(), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_the_config_table_is_written_from_the_configs_help_strings():
    # tools/readme_config.py writes it; a changed default or help string must be written again
    assert config.markdown_table() in README, "README's config table is stale: run python tools/readme_config.py"
    assert all(f"| `{k}` |" in config.markdown_table() for k in config.all_keys())


def test_every_preset_is_listed():
    assert not [n for n in presets.names() if f"`{n}`" not in README]


def test_linked_docs_exist():
    for link in ("docs/tutorial.md", "docs/metrics.md", "docs/distributed.md", "docs/extending.md", "docs/doctor.md",
                 "docs/export.md", "docs/reliability.md", "docs/results.md"):
        assert link in README and (ROOT / link).is_file()


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_local_link_and_picture_resolves(doc):
    # a picture or page renamed or regenerated under another name must not leave the docs pointing nowhere
    missing = []
    for target in local_links(doc):
        path, _, anchor = target.partition("#")
        file = (doc.parent / path) if path else doc
        if not file.exists():
            missing.append(target)
        elif anchor and anchor not in anchors(file):
            missing.append(f"{target} (no such heading)")
    assert not missing, f"{doc.name} links to what does not exist: {missing}"


def test_the_link_checker_sees_a_broken_picture_and_a_broken_anchor(tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("# A page\n## Its part, two\n![grid](images/none.png) [ok](#its-part-two) [bad](#nowhere)\n"
                   "[web](https://example.org/x.png)\n")
    assert local_links(doc) == ["images/none.png", "#its-part-two", "#nowhere"]
    assert anchors(doc) == {"a-page", "its-part-two"}
