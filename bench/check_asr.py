"""Does ``hanvoice check`` catch misreads? Precision and recall of its flags, per fault.

    .venv/bin/python -m bench.check_asr [--json bench/results/check_asr.json]

Every prompt of ``bench/check_prompts.tsv`` (80, written before the checker was tuned) is
rendered twice with the bundled voice and checked against its text both times: a clean
rendering, and a faulty one made from the prompt's target by its category's rule
(:func:`faulty_input`): a wrong polyphone reading (``<phoneme>``), a wrong number, a word or
phrase left out, a word replaced, an English word spelled letter by letter. Odd-numbered
prompts of each category tuned the checker; even-numbered ones were held out, and the two
halves are reported apart.

Per category: recall (faulty recordings flagged), precision (flagged items of that
category's prompts that were faulty), whether the flag named the right category, and the
clean false-flag rate. Also: recognition time per second of audio (the scheduler's core
seconds and the wall time; timing depends on what else runs on the machine), and the
initial-prompt measurement behind :attr:`hanvoice.asr.engine.RecognitionOptions.prompt`:
every rendering is transcribed once more with Whisper's prompt "以下是普通话的句子。", and
for Chinese-only and mixed (Latin) prompts both settings' clean mismatch per syllable, clean
false flags and faulty recordings flagged are reported. And the time per audio second of
one long recording (every prompt in a row), since a short clip pays for a whole 30 s
window.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pypinyin import Style, pinyin

from bench.results import write_json
from hanvoice.asr.check import Checker, flags_for, options_for
from hanvoice.asr.compare import align
from hanvoice.asr.engine import Recognizer
from hanvoice.asr.units import units
from hanvoice.synth import Synthesizer
from hanvoice.text.g2p import is_hanzi
from hanvoice.voices import VoiceCatalog

PROMPTS = Path(__file__).resolve().parent / "check_prompts.tsv"
CATEGORIES = ("polyphone", "number", "english", "missing", "substituted")
EXPECTED_FLAG = {"substituted": "other"}
"""The flag category that names each fault (the rest are named alike)."""
WHISPER_PROMPT = "以下是普通话的句子。"


@dataclass(frozen=True, slots=True)
class Prompt:
    id: str
    split: str
    category: str
    text: str
    target: str
    replacement: str = ""


def read_prompts(path: Path = PROMPTS) -> list[Prompt]:
    out = []
    for line in path.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            f = line.split("\t")
            out.append(Prompt(*f[:5], f[5] if len(f) > 5 else ""))
    return out


def faulty_input(p: Prompt, voice: Synthesizer) -> tuple[str, bool]:
    """The faulty rendering's input (text, is it SSML), made from ``p.target`` by the rule
    of ``p.category`` alone."""
    i = p.text.index(p.target)
    before, after = p.text[:i], p.text[i + len(p.target) :]
    if p.category == "missing":
        return before + after, False
    if p.category == "substituted":
        return before + p.replacement + after, False
    if p.category == "number":  # the target's last digit + 1 (mod 10)
        k = max(j for j, c in enumerate(p.target) if c.isdigit())
        digit = str((int(p.target[k]) + 1) % 10)
        return before + p.target[:k] + digit + p.target[k + 1 :] + after, False
    if p.category == "english":
        spelled = f'<say-as interpret-as="characters">{p.target}</say-as>'
        return f"<speak>{before}{spelled}{after}</speak>", True
    if p.category == "polyphone":  # the target's first character with another reading
        said = {t.source[0]: t.pinyin for t in voice.analyze(p.text).tokens if t.pinyin}
        for k, c in enumerate(p.target):
            if not is_hanzi(c):
                continue
            now = re.sub(r"\d", "", said[i + k] or "")
            readings = pinyin(c, style=Style.TONE3, heteronym=True, neutral_tone_with_five=True)
            other = next((o for o in readings[0] if re.sub(r"\d", "", o) != now), None)
            if other is not None:
                ph = f'<phoneme ph="{other}">{c}</phoneme>'
                return f"<speak>{p.text[: i + k]}{ph}{p.text[i + k + 1 :]}</speak>", True
        raise ValueError(f"{p.id}: no polyphone in {p.target!r}")
    raise ValueError(f"{p.id}: unknown category {p.category!r}")


def run(prompts: list[Prompt]) -> dict[str, Any]:
    catalog = VoiceCatalog()
    voice = catalog.get()
    recognizer = Recognizer.load(catalog.scheduler.workers)
    checker = Checker(recognizer, voice.frontend)
    rendered = []
    for p in prompts:
        faulty, ssml = faulty_input(p, voice)
        for kind, (text, is_ssml) in (("clean", (p.text, False)), ("faulty", (faulty, ssml))):
            r = voice.synthesize(text, ssml=is_ssml)
            rendered.append((p, kind, text, r.audio, r.sample_rate, r.duration))
    items: list[dict[str, Any]] = []
    audio_s = cpu = 0.0
    start = time.perf_counter()
    with catalog.scheduler.flow(0.0, "bench") as flow:
        pending = [(x, checker.submit(x[3], x[4], x[0].text, flow)) for x in rendered]
        for (p, kind, said, _, _, duration), job in pending:
            v = checker.verdict(f"{p.id}-{kind}", p.text, job)
            audio_s += duration
            items.append({**_describe(p, kind, said), **v.as_dict()})
        wall = time.perf_counter() - start
        cpu = flow.attained
    prompt_costs = _prompt_measurement(checker, catalog, rendered, items)
    long = _long_audio_timing(checker, voice, catalog)
    return {
        "items": items,
        "timing": {
            "audio_seconds": round(audio_s, 2),
            "wall_seconds": round(wall, 2),
            "core_seconds": round(cpu, 2),
            "wall_per_audio_second": round(wall / audio_s, 3),
            "core_seconds_per_audio_second": round(cpu / audio_s, 3),
            "cores": catalog.scheduler.workers,
            "long_recording": long,
        },
        "initial_prompt": prompt_costs,
    }


def _describe(p: Prompt, kind: str, said: str) -> dict[str, Any]:
    return {"prompt": p.id, "split": p.split, "category": p.category, "kind": kind, "said": said}


def _prompt_measurement(
    checker: Checker, catalog: VoiceCatalog, rendered: list[Any], items: list[dict[str, Any]]
) -> dict[str, Any]:
    """Every rendering transcribed once more with Whisper's initial prompt: per kind of
    prompt (Chinese only, or with Latin letters), the clean renderings' mismatched cost per
    syllable and false flags, and the faulty ones flagged, with and without the prompt."""
    from hanvoice.asr.audio import from_array

    heard_none = {(it["prompt"], it["kind"]): it["heard"] for it in items}
    with_prompt = replace(options_for(""), prompt=WHISPER_PROMPT)
    acc: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0] * 5))
    with catalog.scheduler.flow(0.0, "bench-prompt") as flow:
        jobs = [
            checker.recognizer.submit(from_array(x[3], x[4]), with_prompt, flow) for x in rendered
        ]
        for (p, kind, *_), job in zip(rendered, jobs, strict=True):
            group = "latin" if re.search(r"[A-Za-z]", p.text) else "chinese"
            ref = units(p.text, checker.frontend, heard=False)
            for setting, heard in (("none", heard_none[p.id, kind]), ("prompt", job.result().text)):
                a = acc[group][setting]
                flagged = bool(flags_for(p.text, heard, checker.frontend, checker.tolerance))
                if kind == "faulty":
                    a[3] += flagged
                    a[4] += 1
                    continue
                hyp = units(heard, checker.frontend, heard=True)
                a[0] += sum(op.cost for op in align(ref, hyp, checker.tolerance.gap))
                a[1] += len(ref)
                a[2] += flagged
    return {
        group: {
            s: {
                "clean_cost_per_syllable": round(c / n, 4),
                "clean_flagged": int(f),
                "faulty_flagged": int(tf),
                "faulty": int(tn),
            }
            for s, (c, n, f, tf, tn) in settings.items()
        }
        for group, settings in acc.items()
    }


def _long_audio_timing(
    checker: Checker, voice: Synthesizer, catalog: VoiceCatalog
) -> dict[str, Any]:
    """Recognition time of one long recording (all prompts in a row, as a chapter would
    be): Whisper reads 30 s windows, so short clips cost far more per second than this."""
    text = "".join(p.text for p in read_prompts())
    r = voice.synthesize(text)
    start = time.perf_counter()
    with catalog.scheduler.flow(0.0, "bench-long") as flow:
        verdict = checker.check("long", text, r.audio, r.sample_rate, flow)
        cpu = flow.attained
    wall = time.perf_counter() - start
    return {
        "audio_seconds": round(r.duration, 2),
        "wall_per_audio_second": round(wall / r.duration, 3),
        "core_seconds_per_audio_second": round(cpu / r.duration, 3),
        "flags": len(verdict.flags),
    }


def second_opinion(prompts: list[Prompt], voice: Synthesizer) -> list[dict[str, str]]:
    """Characters where pypinyin's own reading of the normalized text (no polyphone rules)
    differs from the front end's: how often a second opinion on the reference would say
    anything (:mod:`hanvoice.asr.check` explains the choice)."""
    from pypinyin import lazy_pinyin

    out = []
    for p in prompts:
        utt = voice.analyze(p.text)
        # one item per character: other scripts' runs are split into their characters
        theirs = lazy_pinyin(utt.normalized, style=Style.NORMAL, errors=lambda run: list(run))
        for k, tok in enumerate(utt.tokens):
            if not (tok.pinyin and is_hanzi(tok.char)) or tok.pinyin == "r":
                continue
            context = utt.normalized[max(0, k - 4) : k + 5]  # pypinyin's phrase window
            mine = re.sub(r"\d", "", tok.pinyin)
            if len(theirs) == len(utt.normalized) and theirs[k] != mine:
                out.append({"prompt": p.id, "char": tok.char, "context": context,
                            "frontend": mine, "pypinyin": theirs[k]})  # fmt: skip
    return out


def score(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall, precision and category agreement per split and fault category."""
    out: dict[str, Any] = {}
    for split in ("tune", "heldout", "all"):
        mine = [it for it in items if split == "all" or it["split"] == split]
        clean = [it for it in mine if it["kind"] == "clean"]
        faulty = [it for it in mine if it["kind"] == "faulty"]
        row: dict[str, Any] = {
            "clean_flagged": sum(not it["ok"] for it in clean),
            "clean": len(clean),
            "faulty_flagged": sum(not it["ok"] for it in faulty),
            "faulty": len(faulty),
        }
        for cat in CATEGORIES:
            f = [it for it in faulty if it["category"] == cat]
            c = [it for it in clean if it["category"] == cat]
            tp = sum(not it["ok"] for it in f)
            fp = sum(not it["ok"] for it in c)
            want = EXPECTED_FLAG.get(cat, cat)
            named = sum(any(fl["category"] == want for fl in it["flags"]) for it in f)
            row[cat] = {
                "recall": round(tp / len(f), 3) if f else None,
                "precision": round(tp / (tp + fp), 3) if tp + fp else None,
                "flagged": tp,
                "faulty": len(f),
                "clean_flagged": fp,
                "named_right": named,
            }
        out[split] = row
    return out


def table(scores: dict[str, Any], timing: dict[str, Any], prompts: dict[str, Any]) -> str:
    lines = [f"{'split':8s} {'category':12s} {'recall':>12s} {'precision':>10s} {'named':>6s}"]
    for split, row in scores.items():
        for cat in CATEGORIES:
            r = row[cat]
            rec = f"{r['flagged']}/{r['faulty']} {r['recall']:.2f}"
            prec = "-" if r["precision"] is None else f"{r['precision']:.2f}"
            lines.append(f"{split:8s} {cat:12s} {rec:>12s} {prec:>10s} {r['named_right']:>6d}")
        lines.append(
            f"{split:8s} {'ALL faulty':12s} {row['faulty_flagged']}/{row['faulty']} flagged "
            f"({row['faulty_flagged'] / row['faulty']:.1%}); clean flagged "
            f"{row['clean_flagged']}/{row['clean']} ({row['clean_flagged'] / row['clean']:.1%})"
        )
    lines.append(
        f"recognition: {timing['audio_seconds']} s of audio, {timing['wall_per_audio_second']} s "
        f"wall and {timing['core_seconds_per_audio_second']} core-s per audio second "
        f"({timing['cores']} cores)"
    )
    long = timing["long_recording"]
    lines.append(
        f"one long recording ({long['audio_seconds']} s): {long['wall_per_audio_second']} s wall "
        f"and {long['core_seconds_per_audio_second']} core-s per audio second"
    )
    for group, settings in sorted(prompts.items()):
        parts = [
            f"{s}: clean {v['clean_cost_per_syllable']:.4f} cost/syllable, "
            f"{v['clean_flagged']} flagged; faulty {v['faulty_flagged']}/{v['faulty']} flagged"
            for s, v in sorted(settings.items())
        ]
        lines.append(f"initial prompt, {group} prompts: " + "; ".join(parts))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--prompts", type=Path, default=PROMPTS)
    ap.add_argument("--json", type=Path, default=Path("bench/results/check_asr.json"))
    args = ap.parse_args()
    prompts = read_prompts(args.prompts)
    result = run(prompts)
    scores = score(result["items"])
    print(table(scores, result["timing"], result["initial_prompt"]))
    opinion = second_opinion(prompts, VoiceCatalog().get())
    print(f"pypinyin's reading differs from the front end's: {len(opinion)} characters")
    for d in opinion:
        print(f"  {d['prompt']} {d['context']}: {d['char']} {d['frontend']} / {d['pypinyin']}")
    write_json(args.json, {"scores": scores, "second_opinion": opinion, **result})


if __name__ == "__main__":
    main()
