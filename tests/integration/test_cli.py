"""The ``hanvoice`` command run as a user runs it: a real process, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.audio import assert_speech, decode

HANVOICE = str(Path(sys.executable).parent / "hanvoice")


def run(
    *args: str, stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HANVOICE, *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_done_when_example(tmp_path: Path) -> None:
    out = tmp_path / "a.wav"
    t0 = time.perf_counter()
    r = run("synth", "今天天气很好，我们去公园散步吧。", "-o", str(out), "--emotion", "happy")
    elapsed = time.perf_counter() - t0
    print(f"\nhanvoice synth (start-up included): {elapsed:.2f} s")
    assert r.returncode == 0, r.stderr
    audio, sr = decode(out.read_bytes())
    assert sr == 24000
    assert_speech(audio, sr, text_chars=14)


@pytest.mark.parametrize(
    ("name", "extra", "rate"),
    [
        ("a.mp3", [], 24000),
        ("a.flac", ["--sample-rate", "16000"], 16000),
        ("a.ogg", ["--sample-rate", "48000"], 48000),
        ("a.bin", ["--format", "wav", "--sample-rate", "8000"], 8000),
    ],
)
def test_formats_and_rates(tmp_path: Path, name: str, extra: list[str], rate: int) -> None:
    out = tmp_path / name
    r = run("synth", "前方路口右转。", "-o", str(out), *extra)
    assert r.returncode == 0, r.stderr
    audio, sr = decode(out.read_bytes())
    assert sr == rate
    assert_speech(audio, sr, text_chars=6)


def test_pcm_output_is_raw_16_bit(tmp_path: Path) -> None:
    out = tmp_path / "a.pcm"
    assert run("synth", "你好。", "-o", str(out)).returncode == 0
    size = out.stat().st_size
    assert size % 2 == 0 and 0.3 < size / 2 / 24000 < 2.0


def test_stdin_and_timestamps(tmp_path: Path) -> None:
    out, stamps = tmp_path / "a.wav", tmp_path / "t.json"
    r = run(
        "synth",
        "--input",
        "-",
        "-o",
        str(out),
        "--timestamps",
        str(stamps),
        stdin="银行行长说，明天开会。",
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(stamps.read_text(encoding="utf-8"))
    chars = "".join(t["char"] for t in data["timestamps"])
    assert chars == "银行行长说明天开会"
    audio, sr = decode(out.read_bytes())
    assert data["timestamps"][-1]["end"] <= audio.size / sr


def test_voices_lists_the_bundled_voice() -> None:
    r = run("voices")
    assert r.returncode == 0, r.stderr
    voices = json.loads(r.stdout)
    baker = next(v for v in voices if v["id"] == "baker")
    assert baker["sample_rate"] == 24000 and "happy" in baker["emotions"]
    assert len(baker["model_sha256"]) == 64


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["synth", "", "-o", "{tmp}/a.wav"], "empty"),
        (["synth", "   ", "-o", "{tmp}/a.wav"], "empty"),
        (["synth", "你好", "-o", "{tmp}/a.wav", "--emotion", "joy"], "unknown emotion"),
        (["synth", "你好", "-o", "{tmp}/a.wav", "--speed", "3"], "speed"),
        (["synth", "你好", "-o", "{tmp}/a.wav", "--speed", "abc"], "invalid float"),
        (["synth", "你好", "-o", "{tmp}/a.wav", "--intensity", "5"], "intensity"),
        (["synth", "你好", "-o", "{tmp}/a.wav", "--pitch", "9"], "pitch"),
        (["synth", "你好", "-o", "{tmp}/no/such/dir/a.wav"], "does not exist"),
        (["synth", "你好", "-o", "{tmp}"], "directory"),
        (["synth", "你好", "-o", "{tmp}/a.xyz"], "unknown format"),
        (["synth", "你好", "-o", "{tmp}/a.opus", "--sample-rate", "44100"], "opus"),
        (["synth", "你好", "-o", "{tmp}/a.wav", "--sample-rate", "12345"], "sample_rate"),
        (["synth", "-o", "{tmp}/a.wav"], "no text"),
        (["synth", "你好", "--input", "{tmp}/missing.txt", "-o", "{tmp}/a.wav"], "both"),
        (["synth", "--input", "{tmp}/missing.txt", "-o", "{tmp}/a.wav"], "cannot read"),
        (["synth", "😀", "-o", "{tmp}/a.wav"], "nothing"),
        (["synth", "你好", "-o", "{tmp}/a.wav", "--voice", "nobody"], "unknown voice"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], needle: str) -> None:
    r = run(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    assert needle in r.stderr.lower(), r.stderr
    assert len(r.stderr.strip().splitlines()) <= 3  # argparse adds its usage line


def test_unwritable_path(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        target = "/proc/a.wav"  # not writable even for root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = str(locked / "a.wav")
    r = run("synth", "你好", "-o", target)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr


def _long_text(chars: int) -> str:
    base = Path(__file__).resolve().parents[2] / "bench" / "sentences.txt"
    lines = [s for s in base.read_text(encoding="utf-8").splitlines() if s.strip()]
    out: list[str] = []
    while sum(map(len, out)) < chars:
        out.append(lines[len(out) % len(lines)])
        if len(out) % 5 == 0:
            out.append("\n")
    return "".join(out)[:chars]


_MEASURE = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:], stdin=sys.stdin)\n"
    "sys.stderr.write('MAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(r.returncode)\n"
)


def _max_rss_mb(args: list[str], stdin: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Peak RSS of one hanvoice process, read by a fresh parent that ran only it."""
    r = subprocess.run(
        [sys.executable, "-c", _MEASURE, HANVOICE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    line = next(x for x in r.stderr.splitlines() if x.startswith("MAXRSS "))
    return int(line.split()[1]) / 1024, r


@pytest.mark.slow
def test_long_text_is_written_as_it_is_made(tmp_path: Path) -> None:
    """A long text streams to disk while it is synthesized, and memory does not grow with
    the length of the audio."""
    out = tmp_path / "l.flac"
    proc = subprocess.Popen(
        [HANVOICE, "synth", "--input", "-", "-o", str(out), "-q"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(_long_text(3000))
    proc.stdin.close()
    sizes: list[int] = []
    while proc.poll() is None:
        if out.exists():
            sizes.append(out.stat().st_size)
        time.sleep(0.5)
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.returncode == 0, err
    growing = sorted(set(s for s in sizes if s > 0))
    assert len(growing) >= 3, f"file did not grow while being made: {growing}"
    audio, sr = decode(out.read_bytes())
    seconds = audio.size / sr
    assert seconds > 3000 * 0.15

    short_rss, r1 = _max_rss_mb(
        ["synth", "--input", "-", "-o", str(tmp_path / "s.flac")], _long_text(300)
    )
    long_rss, r2 = _max_rss_mb(
        ["synth", "--input", "-", "-o", str(tmp_path / "m.flac")], _long_text(3000)
    )
    assert r1.returncode == 0 and r2.returncode == 0, (r1.stderr, r2.stderr)
    held_mb = seconds * sr * 4 / 2**20  # what holding the float32 audio alone would cost
    print(f"\n3000 chars: {seconds:.0f} s of audio, written in {len(growing)} growing steps;")
    print(f"peak RSS {short_rss:.0f} MB for 300 chars, {long_rss:.0f} MB for 3000 chars")
    assert long_rss - short_rss < held_mb
