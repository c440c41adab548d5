"""The front end's data files (word lists, unit names, letter readings, lexicons).

They live in ``hanvoice/data/text/`` as UTF-8 text: one entry a line, fields separated by
a tab; a line starting with ``# `` is a comment. Each loader is cached: the files are
read-only and small, and reading them once per process keeps ``analyze()`` fast.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "text"


def rows(name: str, path: Path | None = None) -> list[list[str]]:
    """The non-comment lines of a data file, split at tabs (trailing empty fields kept)."""
    file = path or DATA_DIR / name
    out = []
    for line in file.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("# ") or line == "#":
            continue  # a comment; a line "#<TAB>..." is an entry for the symbol #
        out.append(line.split("\t"))
    return out


@cache
def table(name: str) -> dict[str, str]:
    """A two-column file as a dict: first column -> second column."""
    return {r[0]: r[1] if len(r) > 1 else "" for r in rows(name)}


@cache
def words(name: str) -> frozenset[str]:
    """A one-word-a-line file (extra columns ignored)."""
    return frozenset(r[0].strip() for r in rows(name))
