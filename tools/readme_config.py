"""Write the README's config table from the config's own help strings.

    python tools/readme_config.py          # rewrite the table in README.md
    python tools/readme_config.py --check  # exit 1 when the README's table is stale

The table sits between the markers BEGIN and END below; tests/test_docs.py
keeps it equal to gankit.config.markdown_table().
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gankit.config import markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = "<!-- config table: written by tools/readme_config.py from gankit/config.py -->\n"
END = "<!-- end of config table -->\n"


def with_table(text: str) -> str:
    """``text`` with the part between the markers replaced by the current table."""
    try:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"{README}: the config table markers are missing") from None
    return head + BEGIN + markdown_table() + END + tail


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only check; exit 1 when the table is stale")
    args = p.parse_args()
    text = README.read_text()
    new = with_table(text)
    if args.check:
        if new != text:
            print(f"{README}: the config table is stale; run python tools/readme_config.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
