"""``hanvoice g2p``: what the front end makes of a text (normalized text and pinyin).

Human-readable by default; ``--json`` prints exactly one JSON object::

    {"normalized": "...", "sentences": [...], "tokens": [{"char": "银", "pinyin": "yin2"}, ...]}

with one token per character of ``normalized`` (``pinyin`` null when silent). Imports
nothing heavy until the command runs: every ``hanvoice`` start imports this module.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("g2p", help="show the normalized text and pinyin the voice will read")
    p.add_argument("text", nargs="?", help="the text (or use --input)")
    p.add_argument("--input", "-i", default=None, help="read the text from FILE, or - for stdin")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--ssml", action="store_true", help="the text is SSML")
    p.add_argument("--lexicon", default=None, help="user lexicon file (word<TAB>pinyin ...)")
    p.set_defaults(func=cmd_g2p)


def _text(args: argparse.Namespace) -> str:
    from hanvoice.errors import EmptyText, InvalidParameter

    if args.input and args.text is not None:
        raise InvalidParameter("give the text either as an argument or with --input, not both")
    if args.input == "-":
        text = sys.stdin.read()
    elif args.input:
        try:
            text = Path(args.input).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidParameter(f"cannot read {args.input}: {exc}") from exc
    elif args.text is None:
        raise InvalidParameter("no text given (pass TEXT, or --input FILE, or --input - for stdin)")
    else:
        text = str(args.text)
    if not text.strip():
        raise EmptyText("text is empty")
    return text


def cmd_g2p(args: argparse.Namespace) -> int:
    from hanvoice.text import Frontend, FrontendConfig

    text = _text(args)
    lexicon = Path(args.lexicon) if args.lexicon else None
    utt = Frontend(FrontendConfig(user_lexicon=lexicon)).analyze(text, ssml=args.ssml)
    for w in utt.warnings:
        print(f"hanvoice: warning: {w}", file=sys.stderr)
    if args.json:
        obj = {
            "normalized": utt.normalized,
            "sentences": list(utt.sentences),
            "tokens": [{"char": t.char, "pinyin": t.pinyin} for t in utt.tokens],
        }
        print(json.dumps(obj, ensure_ascii=False))
        return 0
    for sentence_tokens in _by_sentence(utt):
        chars = "".join(t.char for t in sentence_tokens).strip()
        pinyin = " ".join(t.pinyin for t in sentence_tokens if t.pinyin)
        print(chars)
        print(f"  {pinyin}")
    return 0


def _by_sentence(utt: Any) -> list[list[Any]]:
    from hanvoice.text.sentences import sentence_spans

    return [list(utt.tokens[a:b]) for a, b in sentence_spans(utt.tokens)]
