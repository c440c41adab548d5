"""``hanvoice check`` as a user runs it: a real process, the real voice and recognizer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hanvoice.cli import main

HANVOICE = str(Path(sys.executable).parent / "hanvoice")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HANVOICE, *args], capture_output=True, text=True, timeout=300, check=False
    )


def test_text_is_synthesized_and_checked_table() -> None:
    r = run("check", "请在听到提示音后说出您要办理的业务。", "--emotion", "happy")
    assert r.returncode == 0, r.stderr
    header, row = r.stdout.strip().splitlines()
    assert header.startswith("id\tverdict\theard")
    assert row.split("\t")[:2] == ["1", "ok"]


def test_tsv_both_forms_json(tmp_path: Path) -> None:
    said = tmp_path / "said.wav"  # a recording that leaves out 不要
    r = run("synth", "请在车厢内吸烟。", "-o", str(said))
    assert r.returncode == 0, r.stderr
    (tmp_path / "p.tsv").write_text(
        "# id, text, recording\n"
        "greet\t您好，欢迎致电客服中心。\n"
        "rule\t请不要在车厢内吸烟。\tsaid.wav\n"
        "gone\t您好。\tmissing.wav\n",
        "utf-8",
    )
    r = run("check", "--input", str(tmp_path / "p.tsv"), "--json")
    assert r.returncode == 1, r.stderr
    greet, rule, gone = (json.loads(line) for line in r.stdout.splitlines())
    assert greet["id"] == "greet" and greet["ok"] and greet["flags"] == [], greet
    assert not rule["ok"] and rule["heard"]
    assert [f["category"] for f in rule["flags"]] == ["missing"], rule
    assert rule["flags"][0]["span"] == [1, 3] and rule["flags"][0]["expected"] == "不要"
    assert not gone["ok"] and gone["error"].startswith("invalid_audio"), gone
    assert r.stderr.strip().splitlines()[-1] == "check: 3 items, 2 flagged: rule, gone"


@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (["check"], "no text given"),
        (["check", "x", "--input", "p.tsv"], "not both"),
        (["check", "--input", "bad.tsv"], "bad.tsv:1: expected id<TAB>text"),
        (["check", "--ssml", "<speak>你好</bad>"], "invalid SSML"),
    ],
)
def test_mistakes_are_one_line_exit_2(tmp_path: Path, args: list[str], lines: str) -> None:
    (tmp_path / "bad.tsv").write_text("only-an-id\n", "utf-8")
    r = subprocess.run(
        [HANVOICE, *args], capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False
    )
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and lines in r.stderr, r.stderr


def test_without_the_extra_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # as if not installed
    assert main(["check", "你好。"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["hanvoice: error: speech recognition is not installed: "
                   "pip install 'hanvoice[asr]' (or scripts/setup.sh --asr)"]  # fmt: skip
