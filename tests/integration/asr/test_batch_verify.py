"""``hanvoice batch ... --verify``: each manifest row carries the check's verdict, the
summary names the flagged items, and a rerun checks only what it rendered again."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import soundfile as sf

from hanvoice.batch.inputs import Defaults
from hanvoice.batch.items import Item, Outcome
from hanvoice.batch.job import JobOptions, run_job
from hanvoice.synth import Synthesizer

HANVOICE = str(Path(sys.executable).parent / "hanvoice")
ROWS = [
    {"id": "door", "text": "请在左侧车门下车。"},
    {"id": "rule", "text": "请不要在车厢内吸烟。"},
]


def write_input(tmp: Path) -> Path:
    path = tmp / "prompts.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), "utf-8")
    return path


def manifest(out: Path) -> dict[str, dict[str, object]]:
    rows = [json.loads(x) for x in (out / "manifest.jsonl").read_text("utf-8").splitlines()]
    return {r["id"]: r for r in rows}


def test_verify_writes_verdicts_and_reruns_reuse_them(tmp_path: Path) -> None:
    src, out = write_input(tmp_path), tmp_path / "out"
    cmd = [HANVOICE, "batch", str(src), "-o", str(out), "--verify", "--workers", "1", "-q"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines()[-1].endswith("verify: 0 flagged")
    rows = manifest(out)
    for row in rows.values():
        verdict = row["verify"]
        assert isinstance(verdict, dict) and verdict["ok"] and verdict["heard"], row
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0 and "0 ok, 2 skipped" in r.stderr, r.stderr
    assert manifest(out) == {k: {**v, "status": "skipped"} for k, v in rows.items()}


class SaysSomethingElse:
    """Renders with the real voice, but item ``rule`` leaves out 不要 (a render gone wrong)."""

    workers = 1

    def __init__(self, voice: Synthesizer) -> None:
        self.voice = voice

    def run(self, items: Sequence[Item]) -> Iterator[Outcome]:
        for item in items:
            text = item.text.replace("不要", "") if item.id == "rule" else item.text
            result = self.voice.synthesize(text)
            buf = io.BytesIO()
            sf.write(buf, result.audio, result.sample_rate, format="WAV")
            yield Outcome(item.id, buf.getvalue(), result.duration)


def test_flagged_items_are_named(tmp_path: Path, voice: Synthesizer) -> None:
    opts = JobOptions(write_input(tmp_path), tmp_path / "out", Defaults(), verify=True, quiet=True)
    summary = run_job(opts, executor=SaysSomethingElse(voice), stream=io.StringIO())
    assert summary.flagged == ("rule",)
    assert summary.line().endswith("verify: 1 flagged (rule)")
    verdict = manifest(tmp_path / "out")["rule"]["verify"]
    assert isinstance(verdict, dict) and not verdict["ok"]
    assert [f["category"] for f in verdict["flags"]] == ["missing"], verdict
