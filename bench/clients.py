"""What an OpenAI client gets from ``hanvoice serve``: first audio with the official client
beside the streamed ``/tts``, and audio that follows the ``instructions``.

    .venv/bin/python -m bench.clients [--rounds 5] [--json OUT] [--no-timing]

Timing (needs a quiet machine): on the 200-character paragraph, each round asks, in an
order that rotates, the official ``openai`` client (``with_streaming_response.create``
with no extra field, ``iter_bytes()``) and a plain streamed ``POST /tts`` (httpx), in MP3
(OpenAI's default) and PCM, and takes the time to the first and the last chunk. Target
(issue #25): the client's first audio within 60 ms of streamed ``/tts``'s, same format.

Instructions (load does not matter): each instruction of :data:`INSTRUCTIONS` on three
sentences through the client, WAV, against the same sentences with none: duration ratio
(slower / faster), median F0 by pyin in semitones (lower / higher), speech RMS in dB
(louder / quieter), each with the direction the instruction asks and a verdict.
"""

from __future__ import annotations

import argparse
import io
import math
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import soundfile as sf

from bench.quality import pyin_median
from bench.results import write_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.audio import rms_db  # noqa: E402
from support.serve import start_server  # noqa: E402
from support.texts import PARAGRAPH  # noqa: E402

FIRST_TARGET_MS = 60.0
SENTENCES = (
    "今天天气很好，我们一起去公园散步吧。",
    "前方五百米右转，进入人民大道，然后继续直行。",
    "感谢您的耐心等待，人工服务马上为您接通。",
)
INSTRUCTIONS: tuple[tuple[str, str, str, float], ...] = (
    # (instruction, measure, direction, at least): duration ratio, F0 semitones, RMS dB
    ("请慢一点说", "duration", ">", 1.05),
    ("Speak slowly.", "duration", ">", 1.1),
    ("不要太快", "duration", ">", 1.04),
    ("语速快一点", "duration", "<", 0.95),
    ("talk faster", "duration", "<", 0.9),
    ("用低沉的声音说", "f0_st", "<", -1.0),
    ("speak in a deep voice", "f0_st", "<", -1.0),
    ("音调高一点", "f0_st", ">", 0.5),
    ("大声说", "rms_db", ">", 3.0),
    ("louder, please", "rms_db", ">", 3.0),
    ("小声一点", "rms_db", "<", -2.0),
    ("whisper", "rms_db", "<", -6.0),
    ("用悲伤的语气慢慢说", "duration", ">", 1.2),
    ("sound sad and slow", "f0_st", "<", -0.5),
)


def _decode(data: bytes) -> tuple[np.ndarray, int]:
    audio, sr = sf.read(io.BytesIO(data), dtype="float32")
    return np.asarray(audio, np.float32), int(sr)


def _measure(clips: list[bytes]) -> dict[str, float]:
    """Duration (s), median F0 (Hz) and speech RMS (dB) over the clips together."""
    audio = [_decode(c) for c in clips]
    sr = audio[0][1]
    joined = np.concatenate([a for a, _ in audio])
    return {
        "duration": joined.size / sr,
        "f0": statistics.median(pyin_median(a, s) for a, s in audio),
        "rms_db": rms_db(joined),
    }


def instruction_effects(client: openai.OpenAI) -> list[dict[str, Any]]:
    def speak(instructions: str | None) -> list[bytes]:
        extra: dict[str, Any] = {} if instructions is None else {"instructions": instructions}
        return [
            client.audio.speech.create(
                model="gpt-4o-mini-tts", voice="alloy", input=s, response_format="wav", **extra
            ).content
            for s in SENTENCES
        ]

    plain = _measure(speak(None))
    rows = []
    for text, what, direction, bound in INSTRUCTIONS:
        raw = client.audio.speech.with_raw_response.create(
            model="gpt-4o-mini-tts", voice="alloy", input=SENTENCES[0], instructions=text
        )
        m = _measure(speak(text))
        effect = {
            "duration": m["duration"] / plain["duration"],
            "f0_st": 12 * math.log2(m["f0"] / plain["f0"]),
            "rms_db": m["rms_db"] - plain["rms_db"],
        }
        value = effect[what]
        ok = value > bound if direction == ">" else value < bound
        rows.append(
            {
                "instruction": text,
                "read": raw.headers["x-instructions"],
                "measure": what,
                "asked": f"{direction} {bound:g}",
                "duration_ratio": round(effect["duration"], 3),
                "f0_st": round(effect["f0_st"], 2),
                "rms_db": round(effect["rms_db"], 2),
                "ok": ok,
            }
        )
    return rows


def _openai_first(client: openai.OpenAI, fmt: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    first = 0.0
    with client.audio.speech.with_streaming_response.create(
        model="tts-1",
        voice="alloy",
        input=PARAGRAPH,
        response_format=fmt,  # type: ignore[arg-type]
    ) as resp:
        for chunk in resp.iter_bytes():
            if chunk and not first:
                first = time.perf_counter() - t0
    return first, time.perf_counter() - t0


def _tts_first(http: httpx.Client, fmt: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    first = 0.0
    body = {"text": PARAGRAPH, "format": fmt, "stream": True}
    with http.stream("POST", "/tts", json=body) as r:
        r.raise_for_status()
        for chunk in r.iter_raw():
            if chunk and not first:
                first = time.perf_counter() - t0
    return first, time.perf_counter() - t0


def first_audio(client: openai.OpenAI, http: httpx.Client, rounds: int) -> dict[str, Any]:
    runs: dict[str, Callable[[], tuple[float, float]]] = {}
    for fmt in ("mp3", "pcm"):
        runs[f"openai {fmt}"] = lambda f=fmt: _openai_first(client, f)  # type: ignore[misc]
        runs[f"/tts {fmt}"] = lambda f=fmt: _tts_first(http, f)  # type: ignore[misc]
    names = list(runs)
    firsts: dict[str, list[float]] = {n: [] for n in names}
    lasts: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds + 1):  # the first round warms up
        for name in names[r % len(names) :] + names[: r % len(names)]:
            first, last = runs[name]()
            if r:
                firsts[name].append(first)
                lasts[name].append(last)
    out: dict[str, Any] = {}
    for name in names:
        out[name] = {
            "first_ms": round(1000 * statistics.median(firsts[name]), 1),
            "last_ms": round(1000 * statistics.median(lasts[name]), 1),
            "firsts_ms": [round(1000 * x, 1) for x in firsts[name]],
        }
    for fmt in ("mp3", "pcm"):
        gap = out[f"openai {fmt}"]["first_ms"] - out[f"/tts {fmt}"]["first_ms"]
        out[f"gap {fmt}"] = {"ms": round(gap, 1), "ok": gap <= FIRST_TARGET_MS}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "clients.json"))
    ap.add_argument("--no-timing", action="store_true", help="only the instruction effects")
    args = ap.parse_args()
    with _server() as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="bench", max_retries=0)
        with httpx.Client(base_url=url, timeout=120) as http:
            timing = {} if args.no_timing else first_audio(client, http, args.rounds)
            effects = instruction_effects(client)
    if timing:
        print(f"\nFirst audio, {len(PARAGRAPH)} characters, median of {args.rounds} rounds")
        print(f"{'path':<12} {'first ms':>9} {'last ms':>9}")
        for name, row in timing.items():
            if not name.startswith("gap"):
                print(f"{name:<12} {row['first_ms']:>9.1f} {row['last_ms']:>9.1f}")
        for fmt in ("mp3", "pcm"):
            gap = timing[f"gap {fmt}"]
            verdict = "ok" if gap["ok"] else "OVER"
            target = f"target <= {FIRST_TARGET_MS:g}"
            print(f"openai - /tts ({fmt}): {gap['ms']:+.1f} ms ({target}) {verdict}")
    print("\nInstructions: effect on the audio against none (3 sentences, WAV)")
    print(f"{'instruction':<22} {'read as':<34} {'dur x':>6} {'F0 st':>6} {'dB':>6}  asked")
    for row in effects:
        print(
            f"{row['instruction']:<22} {row['read'][:34]:<34} {row['duration_ratio']:>6.3f} "
            f"{row['f0_st']:>+6.2f} {row['rms_db']:>+6.2f}  {row['measure']} {row['asked']} "
            f"{'ok' if row['ok'] else 'FAIL'}"
        )
    held = sum(r["ok"] for r in effects)
    print(f"{held}/{len(effects)} instructions moved the audio as asked")
    out = write_json(
        args.json,
        {
            "machine": platform.platform(),
            "paragraph_chars": len(PARAGRAPH),
            "rounds": args.rounds,
            "first_audio": timing,
            "instructions": effects,
            "instructions_ok": f"{held}/{len(effects)}",
        },
    )
    print(f"wrote {out}")


@contextmanager
def _server() -> Iterator[str]:
    """``hanvoice serve`` on a free port, cache off (each request synthesizes)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), workers=2, cache_enabled="false", max_text_chars=5000)
        try:
            yield server.url
        finally:
            server.stop()


if __name__ == "__main__":
    main()
