"""Fill the generated regions of README.md and docs/**/*.md from the reports the code writes, so
that no number in a table is copied by hand.

A region is `<!-- generated: PATH [BLOCKS] -->` ... `<!-- end -->`. PATH is relative to the
repository root; BLOCKS (`1`, `1-3,5`) picks blank-line-separated blocks of that file (default:
all of it). `python docs/build.py` rewrites stale regions; `--check` only names them and exits 1.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGION = re.compile(r"(<!-- generated: (\S+)(?: ([\d,-]+))? -->\n)(.*?)(<!-- end -->)", re.DOTALL)


def pick(text: str, blocks: str | None) -> str:
    """The chosen blocks of a report, 1-based, in the order asked."""
    parts = re.split(r"\n\s*\n", text.strip())
    if not blocks:
        return "\n\n".join(parts)
    chosen = []
    for item in blocks.split(","):
        first, _, last = item.partition("-")
        chosen += range(int(first), int(last or first) + 1)
    return "\n\n".join(parts[i - 1] for i in chosen)


def fill(page: str, root: Path) -> str:
    """The page with every generated region replaced by the current content of its source."""
    return REGION.sub(lambda m: f"{m[1]}{pick((root / m[2]).read_text(), m[3])}\n{m[5]}", page)


def stale(root: Path) -> list[Path]:
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    return [p for p in pages if fill(p.read_text(), root) != p.read_text()]


def main(argv: list[str]) -> int:
    pages = stale(ROOT)
    for page in pages:
        if "--check" in argv:
            print(f"{page.relative_to(ROOT)}: a generated region is stale; run python docs/build.py")
        else:
            page.write_text(fill(page.read_text(), ROOT))
    return 1 if pages and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
