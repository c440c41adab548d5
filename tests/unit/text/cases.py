"""Loading the table-driven cases in ``tests/cases/*.tsv``.

Each file starts with comment lines (``# ``); ``# compare: normalized`` or
``# compare: pinyin`` says what the second column is. Rows: ``input<TAB>expected[<TAB>alt]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CASES_DIR = Path(__file__).resolve().parents[2] / "cases"


@dataclass(frozen=True)
class Case:
    file: str
    line: int
    text: str
    expected: tuple[str, ...]
    compare: str

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{self.text[:20]}"


def load(name: str) -> list[Case]:
    path = CASES_DIR / name
    compare = "normalized"
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line:
            continue
        if line.startswith("# ") or line == "#":
            if line.startswith("# compare:"):
                compare = line.split(":", 1)[1].strip()
            continue
        fields = line.split("\t")
        assert len(fields) >= 2, f"{name}:{i}: needs input<TAB>expected"
        out.append(Case(name, i, fields[0], tuple(fields[1:]), compare))
    return out


def files() -> list[str]:
    """The front end's case files: those declaring ``# compare: normalized|pinyin`` (other
    packages keep their own tables in the same folder)."""
    out = []
    for p in sorted(CASES_DIR.glob("*.tsv")):
        head = p.read_text(encoding="utf-8")[:2000]
        if "# compare: normalized" in head or "# compare: pinyin" in head:
            out.append(p.name)
    return out


def all_cases() -> list[Case]:
    return [c for f in files() for c in load(f)]
