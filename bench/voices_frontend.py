"""hanvoice's front end against ttskit's own (phkit) feeding the Mellotron voices.

    PYTHONPATH=/path/with/phkit .venv/bin/python -m bench.voices_frontend \
        --asr /work/asr_venv/bin/python [--voices aiyue,aicheng,aixia]

Three readings of each sentence in ``bench/voices_frontend.tsv``, all through the same
engine: ``ours`` (hanvoice's front end, phkit's third-tone rule on top, as the engine
does), ``ours-nosandhi`` (the front end's own tones only) and ``ttskit`` (phkit's
``text2phoneme`` on the raw text, as ttskit reads it). The ASR tool's character error
rate against the intended reading says which is better. phkit is not a hanvoice
dependency: install it where only this script sees it, e.g.
``pip install --no-deps --target /tmp/fe phkit==0.2.11 hanziconv inflect unidecode tqdm``.
"""

from __future__ import annotations

import argparse
import platform
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from bench.results import write_json
from bench.voices_report import asr_cer
from hanvoice.engines import load_engine
from hanvoice.engines.base import Controls, VoiceConfig
from hanvoice.engines.mellotron import engine as mellotron
from hanvoice.engines.mellotron.runtime import SAMPLE_RATE
from hanvoice.engines.mellotron.speakers import by_id
from hanvoice.engines.mellotron.symbols import PhonemeSequence, PhonemeTable
from hanvoice.text import Frontend

_CLAUSE = re.compile(r"(.+?[。！!？?；;：—，,、“”\"‘’\'《》（）()【】\[\]]+)")
"""ttskit's own clause split (``sdk_api._split_juzi_re``)."""


def ttskit_sequences(table: PhonemeTable, text: str) -> list[PhonemeSequence]:
    """ttskit's reading: its clause split, then phkit's text -> phonemes for each."""
    from phkit.chinese.sequence import text2phoneme

    out = []
    for clause in (c for c in _CLAUSE.split(text) if re.search(r"\w", c)):
        phones = [p for p in text2phoneme(clause) if p in table.symbol_to_id]
        marks = set(table.punctuation.values()) | {"-", "~", "_"}
        owners = [-1 if p in marks else 0 for p in phones]
        tones = sum(1 for p in phones if p in "12345")
        out.append(PhonemeSequence([table.symbol_to_id[p] for p in phones], owners, [], tones))
    return out


def render(engine: mellotron.MellotronEngine, seqs: list[PhonemeSequence]) -> Any:
    parts = []
    for seq in seqs:
        audio, _ = engine._render_clause(seq, 1)
        parts += [audio, np.zeros(round(mellotron.CLAUSE_PAUSE * SAMPLE_RATE), np.float32)]
    return np.concatenate(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voices", default="aiyue,aicheng,aixia,xiaoyun")
    ap.add_argument("--cases", type=Path, default=Path("bench/voices_frontend.tsv"))
    ap.add_argument("--asr", required=True, help="python of the ASR tool's venv")
    ap.add_argument("--json", type=Path, default=Path("bench/results/voices_frontend.json"))
    args = ap.parse_args()
    rows = [ln.split("\t") for ln in args.cases.read_text("utf-8").splitlines()]
    cases = [(r[0], r[1]) for r in rows if len(r) == 2 and not r[0].startswith("#")]
    folder = Path(tempfile.mkdtemp(prefix="voices_frontend."))
    frontend = Frontend()
    clips: list[tuple[Path, str]] = []
    for vid in args.voices.split(","):
        speaker = by_id(vid)
        assert speaker is not None, vid
        engine = load_engine(VoiceConfig(vid, "mellotron", None, {"speaker": speaker.speaker}))
        assert isinstance(engine, mellotron.MellotronEngine)
        sandhi, plain = engine.table, PhonemeTable(sandhi=False)
        for k, (text, reading) in enumerate(cases):
            utt = frontend.analyze(text)
            ours = [engine.render(seg, Controls()).audio for seg in utt.segments]
            readings = {
                "ours": np.concatenate(ours),
                "ttskit": render(engine, ttskit_sequences(engine.table, text)),
            }
            engine.table = plain  # the front end's own tones alone
            try:
                readings["ours-nosandhi"] = np.concatenate(
                    [engine.render(seg, Controls()).audio for seg in utt.segments]
                )
            finally:
                engine.table = sandhi
            for name, audio in readings.items():
                path = folder / f"{vid}__{name}__{k:02d}.wav"
                sf.write(path, audio, SAMPLE_RATE)
                clips.append((path, reading))
    cers = asr_cer(args.asr, clips)
    table: dict[str, list[float]] = {}
    for path, _ in clips:
        name = path.name.split("__")[1]
        table.setdefault(name, []).append(cers[str(path)])
    summary = {name: float(np.mean(v)) for name, v in table.items()}
    for name, value in summary.items():
        print(f"{name:14s} CER {value:.3f} over {len(table[name])} clips")
    write_json(
        args.json,
        {
            "voices": args.voices.split(","),
            "cases": cases,
            "cer": summary,
            "machine": platform.platform(),
        },
    )
    print(f"wrote {args.json}; clips in {folder}")


if __name__ == "__main__":
    main()
