"""Intelligibility per emotion: ASR character error rate against neutral's.

    .venv/bin/python -m bench.emotion_asr --asr-python ASR_VENV/bin/python --asr CER_PY

Synthesizes every line of ``bench/sentences.txt`` in each emotion, writes the clips and one
manifest per emotion, and runs an external ASR CER tool on them (the shared
``asr_cer/cer.py``, Whisper base, in its own virtual environment: it is not one of our
dependencies). Prints each emotion's corpus CER and its difference from neutral's; the
target of issue #15 is no emotion more than 0.02 worse.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from pathlib import Path

import soundfile as sf

from bench.results import write_json
from hanvoice.synth import SynthesisParams
from hanvoice.voices import VoiceCatalog

EMOTIONS = ("neutral", "happy", "sad", "angry", "surprise", "fear", "disgust")
MARGIN = 0.02


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--asr-python", type=Path, required=True)
    ap.add_argument("--asr", type=Path, required=True, help="the CER tool's cer.py")
    # both plain-Chinese lists (42 lines): with Whisper base, one line's slip moves a
    # 30-line corpus CER by ~0.005, so the 0.02 margin is only a few slips wide
    ap.add_argument(
        "--sentences",
        type=Path,
        nargs="+",
        default=[Path("bench/sentences.txt"), Path("bench/voices_sentences.txt")],
    )
    ap.add_argument("--json", type=Path, default=Path("bench/results/emotion_asr.json"))
    args = ap.parse_args()
    lines = [s for f in args.sentences for s in f.read_text("utf-8").splitlines() if s.strip()]
    voice = VoiceCatalog().get()
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for emotion in EMOTIONS:
            folder = Path(tmp) / emotion
            folder.mkdir()
            rows = []
            for i, text in enumerate(lines):
                audio = voice.synthesize(text, SynthesisParams(emotion=emotion)).audio
                sf.write(folder / f"{i:03d}.wav", audio, voice.sample_rate)
                rows.append(f"{i:03d}.wav\t{text}")
            (folder / "m.tsv").write_text("\n".join(rows) + "\n", "utf-8")
            out = subprocess.run(
                [str(args.asr_python), str(args.asr), "--manifest", str(folder / "m.tsv")],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            result[emotion] = corpus_cer(out)
            diff = result[emotion] - result["neutral"]
            print(f"{emotion:9s} corpus CER {result[emotion]:.4f} ({diff:+.4f})", flush=True)
    worst = max(result[e] - result["neutral"] for e in EMOTIONS)
    ok = worst <= MARGIN
    print(f"worst emotion - neutral: {worst:+.4f} (target <= {MARGIN}): {ok}")
    write_json(args.json, {"sentences": len(lines), "corpus_cer": result, "target_met": ok})


def corpus_cer(output: str) -> float:
    """The corpus CER from the tool's summary lines."""
    m = re.search(r"corpus CER[^0-9]*([0-9.]+)", output, re.IGNORECASE)
    if m is None:
        raise RuntimeError(f"no corpus CER in the ASR output:\n{output[-2000:]}")
    return float(m.group(1))


if __name__ == "__main__":
    main()
