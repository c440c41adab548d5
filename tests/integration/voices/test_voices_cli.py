"""``hanvoice voices`` and ``hanvoice synth --voice`` for the Mellotron set, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from voices_common import FEMALE, MALE, SENTENCE

from hanvoice.engines.mellotron.speakers import speakers
from support.audio import assert_speech, decode, measure

HANVOICE = str(Path(sys.executable).parent / "hanvoice")
FIELDS = {"id", "name", "gender", "sample_rate", "engine", "emotions", "speed_class"}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HANVOICE, *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_voices_lists_every_offered_voice(voice_set: None) -> None:
    r = run("voices")
    assert r.returncode == 0, r.stderr
    listed = {v["id"]: v for v in json.loads(r.stdout)}
    offered = [s for s in speakers() if not s.withheld]
    assert next(iter(listed)) == "baker"
    assert set(listed) == {"baker"} | {s.id for s in offered}
    for s in offered:
        v = listed[s.id]
        assert set(v) >= FIELDS
        assert v["name"] == s.name and v["gender"] == s.gender
        assert v["engine"] == "mellotron" and v["sample_rate"] == 22050
        assert v["speed_class"] == "medium" and "surprise" in v["emotions"]
    assert listed["baker"]["speed_class"] == "fast"


@pytest.mark.parametrize(("voice", "low", "high"), [(FEMALE, 165.0, 300.0), (MALE, 85.0, 165.0)])
def test_synth_with_a_voice_of_each_gender(
    voice_set: None, tmp_path: Path, voice: str, low: float, high: float
) -> None:
    out, stamps = tmp_path / f"{voice}.wav", tmp_path / f"{voice}.json"
    r = run("synth", SENTENCE, "-o", str(out), "--voice", voice, "--timestamps", str(stamps))
    assert r.returncode == 0, r.stderr
    audio, sr = decode(out.read_bytes())
    assert sr == 22050
    assert_speech(audio, sr, text_chars=19)
    assert low < measure(audio, sr).f0_median < high
    chars = json.loads(stamps.read_text("utf-8"))["timestamps"]
    assert "".join(c["char"] for c in chars) == "欢迎使用多地域语音合成服务今天天气很好"
    starts = [c["start"] for c in chars]
    assert starts == sorted(starts) and chars[-1]["end"] <= audio.size / sr


def test_opus_of_a_22khz_voice_goes_out_at_24khz(voice_set: None, tmp_path: Path) -> None:
    out = tmp_path / "a.opus"
    r = run("synth", "你好。", "-o", str(out), "--voice", FEMALE)
    assert r.returncode == 0, r.stderr
    assert decode(out.read_bytes())[1] in (24000, 48000)


@pytest.mark.parametrize(
    ("voice", "message"),
    [
        ("nobody", "unknown voice 'nobody'"),
        ("Aiyue", "unknown voice 'Aiyue'"),  # ids are lower case; the training name is not one
        ("xiaowei", "withheld"),
    ],
)
def test_unknown_or_withheld_voice_exits_2(
    voice_set: None, tmp_path: Path, voice: str, message: str
) -> None:
    r = run("synth", "你好", "-o", str(tmp_path / "x.wav"), "--voice", voice)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.wav").exists()
