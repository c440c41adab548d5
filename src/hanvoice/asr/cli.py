"""``hanvoice check``: does the audio say the text?

    hanvoice check "您的验证码是739264。"          # synthesize, then check
    hanvoice check --input prompts.tsv --json     # id<TAB>text, or id<TAB>text<TAB>audio

A TSV line with two fields is synthesized with the synthesis options, then checked; with a
third field (a path relative to the TSV) that recording is checked instead: our earlier
renders, another engine's, a voice talent's. ``--json`` prints one object a line (``id``,
``ok``, ``heard``, ``flags``: each ``span``, ``expected``, ``heard``, ``category``); without
it, a table. Exit status: 0 when every item is ok, 1 when any is flagged or could not be
checked, 2 for a mistake in the command or input. Imports nothing heavy until it runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hanvoice.errors import InvalidParameter

if TYPE_CHECKING:
    from hanvoice.asr.check import Job, Verdict

MAX_SECONDS = 3600.0
"""Longest recording the CLI checks (an hour; the service has its own setting)."""


@dataclass(frozen=True, slots=True)
class CheckItem:
    id: str
    text: str
    audio: Path | None = None


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    from hanvoice.cli import _add_synthesis_options

    p = sub.add_parser("check", help="check that audio says its text (speech recognition)")
    p.add_argument("text", nargs="?", help="the text to synthesize and check (or use --input)")
    p.add_argument("--input", "-i", default=None, help="TSV: id<TAB>text[<TAB>audio file]")
    p.add_argument("--json", action="store_true", help="one JSON object a line")
    p.add_argument("--lexicon", default=None, help="user lexicon file (word<TAB>pinyin ...)")
    _add_synthesis_options(p)
    p.set_defaults(func=cmd_check)


def read_tsv(path: Path) -> list[CheckItem]:
    """The items of a check TSV; a malformed line stops before any work, naming it."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidParameter(f"cannot read {path}: {exc}") from exc
    items, seen = [], set()
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) not in (2, 3) or not fields[0].strip() or not fields[1].strip():
            raise InvalidParameter(f"{path}:{n}: expected id<TAB>text or id<TAB>text<TAB>audio")
        item_id = fields[0].strip()
        if item_id in seen:
            raise InvalidParameter(f"{path}:{n}: duplicate id {item_id!r}")
        seen.add(item_id)
        audio = path.parent / fields[2].strip() if len(fields) == 3 and fields[2].strip() else None
        items.append(CheckItem(item_id, fields[1], audio))
    if not items:
        raise InvalidParameter(f"{path} has no items")
    return items


def cmd_check(args: argparse.Namespace) -> int:
    from hanvoice.asr.check import Checker, check_many
    from hanvoice.asr.engine import Recognizer
    from hanvoice.cli import _catalog
    from hanvoice.text import Frontend, FrontendConfig
    from hanvoice.voices import VoiceCatalog

    if args.input and args.text:
        raise InvalidParameter("give the text either as an argument or with --input, not both")
    if args.input:
        items = read_tsv(Path(args.input))
    elif args.text and args.text.strip():
        items = [CheckItem("1", args.text)]
    else:
        raise InvalidParameter("no text given (pass TEXT, or --input prompts.tsv)")
    lexicon = Path(args.lexicon) if args.lexicon else None
    frontend = Frontend(FrontendConfig(user_lexicon=lexicon))
    catalog = _catalog(args, frontend)
    assert isinstance(catalog, VoiceCatalog)
    checker = Checker(Recognizer.load(catalog.scheduler.workers), frontend)  # fails first
    jobs = _jobs(items, catalog, args)
    flagged = []
    if not args.json:
        print("id\tverdict\theard\tflags (category: expected -> heard)")
    with catalog.scheduler.flow(0.0, "check") as flow:
        for verdict in check_many(checker, jobs, flow, strict=not args.input):
            print(json.dumps(verdict.as_dict(), ensure_ascii=False) if args.json else _row(verdict))
            sys.stdout.flush()
            if not verdict.ok:
                flagged.append(verdict.id)
    if args.input:
        names = f": {', '.join(flagged)}" if flagged else ""
        print(f"check: {len(items)} items, {len(flagged)} flagged{names}", file=sys.stderr)
    return 1 if flagged else 0


def _jobs(items: list[CheckItem], catalog: Any, args: argparse.Namespace) -> list[Job]:
    """What each item is checked against: its recording, or the voice's rendering of it."""
    from hanvoice.asr.audio import RATE, decode
    from hanvoice.asr.check import Job
    from hanvoice.synth import SynthesisParams

    voice = catalog.get(args.voice) if any(i.audio is None for i in items) else None
    params = SynthesisParams(args.emotion, args.intensity, args.speed, args.pitch, args.volume)
    if voice is not None:
        params = params.validated(voice.presets)

    def audio(item: CheckItem) -> Callable[[], tuple[Any, int]]:
        def get() -> tuple[Any, int]:
            if item.audio is not None:
                return decode(item.audio, MAX_SECONDS), RATE
            assert voice is not None
            result = voice.synthesize(item.text, params, ssml=args.ssml)
            return result.audio, result.sample_rate

        return get

    return [Job(i.id, i.text, audio(i), args.ssml) for i in items]


def _row(v: Verdict) -> str:
    """``id  ok|FLAGGED|ERROR  heard  category: expected -> heard; ...``"""
    status = "ok" if v.ok else ("ERROR" if v.error else "FLAGGED")
    notes = v.error or "; ".join(
        f"{f.category}: {f.expected or '-'} -> {f.heard or '-'}" for f in v.flags
    )
    return "\t".join((v.id, status, v.heard, notes))
