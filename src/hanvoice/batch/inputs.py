"""Batch inputs -> :class:`Item` lists: prompt sets (JSONL, CSV, TSV) and books (.txt/.md,
a folder of chapter files, an EPUB).

A prompt set's rows carry ``id`` and ``text`` and, optionally, ``voice``, ``emotion``,
``intensity``, ``speed``, ``pitch``, ``format`` and ``ssml``; what a row leaves out comes
from the command line (:class:`Defaults`). A book becomes one item per chapter, ids
``ch001``, ``ch002``, ... in reading order. Mistakes in the input (a missing column, an
unknown field, a duplicate id, a number that is not one) stop the job before any work, with
the line that is wrong; values out of range are the item's own error row later.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hanvoice.batch.chapters import Chapter, split_chapters
from hanvoice.batch.items import Item
from hanvoice.errors import InvalidParameter

PROMPT_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv"}
BOOK_SUFFIXES = (".txt", ".md", ".markdown")
FIELDS = ("id", "text", "voice", "emotion", "intensity", "speed", "pitch", "format", "ssml")
_NUMBERS = ("intensity", "speed", "pitch")
_TRUE = {"1", "true", "yes", "y", "on"}
_FALSE = {"", "0", "false", "no", "n", "off"}


@dataclass(frozen=True, slots=True)
class Defaults:
    """The command line's settings, for what a row does not say."""

    voice: str = "baker"
    emotion: str = "neutral"
    intensity: float = 1.0
    speed: float = 1.0
    pitch: float = 0.0
    format: str = "wav"
    ssml: bool = False

    def item(self, item_id: str, text: str, title: str = "") -> Item:
        """An item with these settings (a row's own values are applied after)."""
        return Item(
            item_id,
            text,
            self.voice,
            self.emotion,
            self.intensity,
            self.speed,
            self.pitch,
            self.format,
            self.ssml,
            title,
        )


def read_items(path: Path, defaults: Defaults) -> list[Item]:
    """Every item of the input at ``path``, in input order."""
    if not path.exists():
        raise InvalidParameter(f"input {path} does not exist")
    if path.is_dir():
        return _book_items(_folder_chapters(path), defaults)
    suffix = path.suffix.lower()
    if suffix in PROMPT_SUFFIXES:
        rows = _rows(path, PROMPT_SUFFIXES[suffix])
        items = [_item(row, where, defaults) for where, row in rows]
        _check_unique(items, path)
        return items
    if suffix == ".epub":
        from hanvoice.batch.epub import read_epub

        return _book_items(read_epub(path), defaults)
    if suffix in BOOK_SUFFIXES:
        return _book_items(split_chapters(_read(path), default_title=path.stem), defaults)
    raise InvalidParameter(
        f"cannot tell what {path} is: give a .jsonl/.csv/.tsv prompt set, a .txt/.md or "
        ".epub book, or a folder of chapter files"
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"cannot read {path}: {exc}") from exc


def _rows(path: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    text = _read(path)
    if kind == "jsonl":
        out = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidParameter(f"{path}:{n}: not JSON: {exc.msg}") from exc
            if not isinstance(row, dict):
                raise InvalidParameter(f"{path}:{n}: each line must be a JSON object")
            out.append((f"{path}:{n}", row))
        return out
    reader = csv.DictReader(text.splitlines(), delimiter="\t" if kind == "tsv" else ",")
    missing = {"id", "text"} - set(reader.fieldnames or ())
    if missing:
        raise InvalidParameter(f"{path}: header lacks column(s) {', '.join(sorted(missing))}")
    return [
        (f"{path}:{reader.line_num}", {k: v for k, v in row.items() if v is not None})
        for row in reader
        if any((v or "").strip() for v in row.values() if isinstance(v, str))
    ]


def _item(row: dict[str, Any], where: str, d: Defaults) -> Item:
    unknown = set(row) - set(FIELDS)
    if unknown:
        raise InvalidParameter(
            f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}; "
            f"known: {', '.join(FIELDS)}"
        )
    for name in ("id", "text"):
        if row.get(name) in (None, ""):
            raise InvalidParameter(f"{where}: {name} is missing")
    item = d.item(str(row["id"]), str(row["text"]))
    changes: dict[str, Any] = {}
    for name in ("voice", "emotion", "format"):
        if row.get(name) not in (None, ""):
            changes[name] = str(row[name]).strip().lower() if name == "format" else str(row[name])
    for name in _NUMBERS:
        if row.get(name) not in (None, ""):
            changes[name] = _number(row[name], name, where)
    if row.get("ssml") is not None:
        changes["ssml"] = _flag(row["ssml"], where)
    return replace(item, **changes)


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool):
        raise InvalidParameter(f"{where}: {name} must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{where}: {name} must be a number, got {value!r}") from None


def _flag(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise InvalidParameter(f"{where}: ssml must be true or false, got {value!r}")


def _check_unique(items: list[Item], path: Path) -> None:
    seen: dict[str, str] = {}
    for item in items:
        other = seen.get(item.filename)
        if other is not None:
            raise InvalidParameter(
                f"{path}: ids {other!r} and {item.id!r} would share the file {item.filename}"
            )
        seen[item.filename] = item.id


def _folder_chapters(folder: Path) -> list[Chapter]:
    """One chapter per .txt/.md file, in name order (``01.txt`` before ``02.txt``)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in BOOK_SUFFIXES)
    if not files:
        raise InvalidParameter(f"folder {folder} has no .txt or .md chapter files")
    chapters = []
    for f in files:
        parts = split_chapters(_read(f), default_title=f.stem)
        title = parts[0].title if len(parts) == 1 else f.stem
        body = "\n".join(c.text for c in parts).strip()
        if body:
            chapters.append(Chapter(title, body))
    return chapters


def _book_items(chapters: list[Chapter], d: Defaults) -> list[Item]:
    if not chapters:
        raise InvalidParameter("the book has no chapter with any text")
    return [d.item(f"ch{n:03d}", c.text, c.title) for n, c in enumerate(chapters, 1)]
