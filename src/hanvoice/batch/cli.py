"""``hanvoice batch INPUT -o OUTDIR``: render a prompt set or a book, resumably.

Exit status: 0 when every item is ``ok`` or ``skipped``; 1 when any item failed (the last
line says how many; ``manifest.jsonl`` says why) or, with ``--verify``, any file was flagged
(the last line names them; each row's ``verify`` says where); 2 for a mistake in the
command or input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hanvoice.batch.inputs import Defaults


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "batch",
        help="render a prompt set (JSONL/CSV/TSV) or a book (.txt/.md, folder, EPUB) to OUTDIR",
        description=__doc__,
    )
    p.add_argument("input", help="prompt set (.jsonl .csv .tsv), book (.txt .md .epub) or folder")
    p.add_argument("-o", "--output", required=True, help="output folder (made if missing)")
    p.add_argument("--voice", default="baker", help="voice for rows that name none")
    p.add_argument("--emotion", default="neutral", help="emotion for rows that name none")
    p.add_argument("--intensity", type=float, default=1.0, help="emotion strength 0.0-2.0")
    p.add_argument("--speed", type=float, default=1.0, help="0.5-2.0, > 1 is faster")
    p.add_argument("--pitch", type=float, default=0.0, help="semitones, -6..+6")
    p.add_argument("--format", default="wav", help="wav, mp3, ogg, opus, flac, pcm")
    p.add_argument("--ssml", action="store_true", help="texts are SSML unless a row says not")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="run on a Ray cluster: host:port, or auto (needs pip install 'hanvoice[ray]')",
    )
    p.add_argument("--voices-file", default=None, help="YAML file of extra voices")
    p.add_argument(
        "--join",
        choices=("m4b", "mp3"),
        default=None,
        help="also join the chapters into OUTDIR/<book>.m4b (or .mp3), one titled chapter "
        "mark per chapter",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, only the summary")
    p.add_argument(
        "--verify",
        action="store_true",
        help="check each file says its text (speech recognition; pip install 'hanvoice[asr]')",
    )
    p.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from hanvoice.audio.encode import get_format
    from hanvoice.batch.job import JobOptions, run_job

    fmt = get_format(args.format).name  # a typo stops the job before any work
    defaults = Defaults(
        voice=args.voice,
        emotion=args.emotion,
        intensity=args.intensity,
        speed=args.speed,
        pitch=args.pitch,
        format=fmt,
        ssml=args.ssml,
    )
    opts = JobOptions(
        input=Path(args.input),
        outdir=Path(args.output),
        defaults=defaults,
        workers=args.workers,
        ray=args.ray,
        voices_file=args.voices_file,
        quiet=args.quiet,
        verify=args.verify,
        join=args.join,
    )
    summary = run_job(opts)
    print(summary.line(), file=sys.stderr)
    return 1 if summary.failed or summary.flagged else 0
