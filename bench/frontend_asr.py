"""Synthesize the held-out front-end sentences and report Whisper's character error rate.

    .venv/bin/python -m bench.frontend_asr [--out bench/results/frontend_asr.json]

Each line of ``bench/frontend_sentences.tsv`` is synthesized with the bundled voice; the
ASR tool (``/work/shared/tools/asr_cer``, Whisper base) transcribes it and the CER is
computed against what should be heard (the second column, written out in Chinese). Whisper
base is weak on Chinese: compare runs of this script with each other, not with zero.
Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

from bench.results import write_json

ROOT = Path(__file__).resolve().parent.parent
ASR_PYTHON = os.environ.get("ASR_PYTHON", "/work/asr_venv/bin/python")
ASR_SCRIPT = os.environ.get("ASR_CER", "/work/shared/tools/asr_cer/cer.py")


def sentences(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            text, _, ref = line.partition("\t")
            out.append((text, ref or text))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sentences", default=str(ROOT / "bench" / "frontend_sentences.tsv"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "frontend_asr.json"))
    ap.add_argument("--keep", default=None, help="folder to keep the WAV files in")
    args = ap.parse_args()

    from hanvoice.voices import VoiceCatalog

    voice = VoiceCatalog().get()
    rows = sentences(Path(args.sentences))
    work = Path(args.keep or tempfile.mkdtemp(prefix="frontend_asr_"))
    work.mkdir(parents=True, exist_ok=True)
    manifest = work / "manifest.tsv"
    lines = []
    t0 = time.perf_counter()
    for i, (text, ref) in enumerate(rows):
        result = voice.synthesize(text)
        wav = work / f"{i:03d}.wav"
        sf.write(wav, result.audio, result.sample_rate)
        lines.append(f"{wav}\t{ref}")
    synth_s = time.perf_counter() - t0
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [ASR_PYTHON, ASR_SCRIPT, "--manifest", str(manifest)],
        capture_output=True,
        text=True,
        check=True,
    )
    results = []
    blocks = re.split(r"\n(?=\S+\.wav\t)", proc.stdout)
    for (text, ref), block in zip(rows, (b for b in blocks if ".wav\t" in b), strict=True):
        hyp = re.search(r"hyp: (.*)", block)
        cer = re.search(r"CER=([\d.]+) \((\d+)/(\d+)\)", block)
        assert hyp and cer, block
        results.append(
            {
                "text": text,
                "reference": ref,
                "heard": hyp.group(1),
                "cer": float(cer.group(1)),
                "errors": int(cer.group(2)),
                "chars": int(cer.group(3)),
            }
        )
    total_e = sum(r["errors"] for r in results)
    total_n = sum(r["chars"] for r in results)
    print(f"{'CER':>6}  sentence / heard")
    for r in results:
        print(f"{r['cer']:6.3f}  {r['text']}\n        {r['heard']}")
    mean = sum(r["cer"] for r in results) / len(results)
    print(f"\nmean CER {mean:.4f}  corpus CER {total_e / total_n:.4f} ({total_e}/{total_n})")
    summary = {
        "sentences": len(results),
        "mean_cer": round(mean, 4),
        "corpus_cer": round(total_e / total_n, 4),
        "synthesis_seconds": round(synth_s, 1),
        "results": results,
    }
    write_json(args.out, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
