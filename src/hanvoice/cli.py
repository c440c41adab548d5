"""The ``hanvoice`` command: a thin layer over the same core calls the service uses.

Every mistake in the input is one line on stderr and exit status 2; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, NoReturn

from hanvoice import __version__
from hanvoice.errors import HanvoiceError, InvalidParameter

EXIT_USAGE = 2
EXIT_FAILURE = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"hanvoice: error: {message}\n")


def _catalog(args: argparse.Namespace, frontend: object = None) -> object:
    from hanvoice.text import Frontend
    from hanvoice.voices import VoiceCatalog, builtin_voices, voices_from_file

    configs = builtin_voices()
    vf = getattr(args, "voices_file", None) or os.environ.get("HANVOICE_VOICES_FILE")
    if vf:
        configs += voices_from_file(Path(vf))
    return VoiceCatalog(configs, frontend if isinstance(frontend, Frontend) else None)


def _read_text(args: argparse.Namespace) -> str:
    if args.input and args.text:
        raise InvalidParameter("give the text either as an argument or with --input, not both")
    if args.input == "-":
        return sys.stdin.read()
    if args.input:
        try:
            return Path(args.input).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidParameter(f"cannot read {args.input}: {exc}") from exc
    if args.text is None:
        raise InvalidParameter("no text given (pass TEXT, or --input FILE, or --input - for stdin)")
    return str(args.text)


class _Progress:
    """A one-line progress bar on stderr, only when a person is watching a long job."""

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total = total
        self.stream = stream
        self.enabled = stream.isatty() and total >= 8
        self.start = time.monotonic()

    def update(self, done: int, audio_seconds: float) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / max(self.total, 1))
        elapsed = time.monotonic() - self.start
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
            f"{audio_seconds:7.1f}s audio in {elapsed:5.1f}s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def cmd_synth(args: argparse.Namespace) -> int:
    from hanvoice.audio.encode import (
        FileWriter,
        Resampler,
        check_sample_rate,
        default_rate,
        get_format,
    )
    from hanvoice.synth import SynthesisParams
    from hanvoice.voices import VoiceCatalog

    text = _read_text(args)
    out = Path(args.output)
    fmt_name = args.format or (out.suffix.lstrip(".").lower() or "wav")
    catalog = _catalog(args)
    assert isinstance(catalog, VoiceCatalog)
    voice = catalog.get(args.voice)
    native = default_rate(fmt_name, voice.sample_rate)  # Opus has no 22.05 kHz
    rate = check_sample_rate(args.sample_rate) if args.sample_rate else native
    fmt = get_format(fmt_name, rate)
    params = SynthesisParams(
        emotion=args.emotion,
        intensity=args.intensity,
        speed=args.speed,
        pitch=args.pitch,
        volume=args.volume,
    ).validated(voice.presets)
    utt = voice.analyze(text, ssml=args.ssml)
    if args.timestamps:
        _check_writable(Path(args.timestamps))
    _check_writable(out)
    stamps: list[dict[str, object]] = []
    progress = _Progress(len(utt.segments), sys.stderr)
    seconds = 0.0
    resampler = Resampler(voice.sample_rate, rate)
    with FileWriter(out, rate, fmt) as writer:
        for chunk in voice.stream(utt, params):
            writer.write(resampler.write(chunk.audio))
            stamps.extend(t.as_dict() for t in chunk.timestamps)
            seconds += chunk.duration
            progress.update(chunk.index + 1, seconds)
        writer.write(resampler.finish())
    progress.close()
    if args.timestamps:
        Path(args.timestamps).write_text(
            json.dumps({"normalized": utt.normalized, "timestamps": stamps}, ensure_ascii=False),
            encoding="utf-8",
        )
    if not args.quiet:
        print(f"wrote {out} ({seconds:.2f} s, {fmt.name}, {rate} Hz)", file=sys.stderr)
    return 0


def _check_writable(path: Path) -> None:
    if path.is_dir():
        raise InvalidParameter(f"cannot write {path}: it is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InvalidParameter(f"cannot write {path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InvalidParameter(f"cannot write {path}: permission denied")


def cmd_voices(args: argparse.Namespace) -> int:
    from hanvoice.voices import VoiceCatalog

    catalog = _catalog(args)
    assert isinstance(catalog, VoiceCatalog)
    infos = [info.as_dict() for info in catalog.infos()]  # described, not loaded, if possible
    print(json.dumps(infos, ensure_ascii=False, indent=2))
    return 0


def _add_synthesis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--voice", default=None, help="voice id (default: baker)")
    p.add_argument(
        "--emotion", default="neutral", help="neutral, happy, sad, angry, fear, surprise, disgust"
    )
    p.add_argument("--intensity", type=float, default=1.0, help="emotion strength 0.0-2.0")
    p.add_argument("--speed", type=float, default=1.0, help="0.5-2.0, > 1 is faster")
    p.add_argument("--pitch", type=float, default=0.0, help="semitones, -6..+6")
    p.add_argument("--volume", type=float, default=0.0, help="gain in dB, -30..+12")
    p.add_argument("--ssml", action="store_true", help="the text is SSML")
    p.add_argument("--voices-file", default=None, help="YAML file of extra voices")


def build_parser(
    extra: Sequence[Callable[[argparse._SubParsersAction[_Parser]], None]] = (),
) -> _Parser:
    parser = _Parser(prog="hanvoice", description="Mandarin Chinese text-to-speech with emotions")
    parser.add_argument("--version", action="version", version=f"hanvoice {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("synth", help="synthesize text to an audio file")
    p.add_argument("text", nargs="?", help="the text (or use --input)")
    p.add_argument("-o", "--output", required=True, help="output file (format from extension)")
    p.add_argument("--input", "-i", default=None, help="read the text from FILE, or - for stdin")
    p.add_argument("--format", default=None, help="wav, mp3, ogg, opus, flac, pcm")
    p.add_argument(
        "--sample-rate", type=int, default=None, help="8000 16000 22050 24000 44100 48000"
    )
    p.add_argument("--timestamps", default=None, help="write per-character timestamps as JSON")
    p.add_argument("-q", "--quiet", action="store_true")
    _add_synthesis_options(p)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("voices", help="list voices as JSON")
    p.add_argument("--voices-file", default=None)
    p.set_defaults(func=cmd_voices)

    for add in extra:
        add(sub)
    return parser


def _plugins() -> list[Callable[[argparse._SubParsersAction[_Parser]], None]]:
    """Sub-commands that live beside their feature (g2p, serve, cache, fleet, batch)."""
    import importlib

    found = []
    for mod in (
        "hanvoice.text.cli",
        "hanvoice.service.cli",
        "hanvoice.service.cachecli",
        "hanvoice.fleet.cli",
        "hanvoice.batch.cli",
        "hanvoice.asr.cli",
    ):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name and mod.startswith(exc.name):
                continue
            raise
        found.append(m.add_commands)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(_plugins())
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except HanvoiceError as exc:
        print(f"hanvoice: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE if exc.client_error else EXIT_FAILURE
    except KeyboardInterrupt:
        print("hanvoice: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_FAILURE
    except OSError as exc:  # disk full, file vanished, ...: say what, not where in our code
        print(f"hanvoice: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:
        if args.verbose:
            raise
        print(f"hanvoice: internal error: {exc!r} (run with -v for details)", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
