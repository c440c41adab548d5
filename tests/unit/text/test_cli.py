"""``hanvoice g2p`` through the real command (a subprocess, as a user runs it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HANVOICE = [sys.executable, "-m", "hanvoice.cli"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HANVOICE, "g2p", *args], input=stdin, capture_output=True, text=True, timeout=120
    )


def test_json_has_one_token_per_character() -> None:
    p = run("--json", "银行行长，2个iPhone！")
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)
    assert set(obj) == {"normalized", "sentences", "tokens"}
    assert obj["normalized"] == "银行行长，两个iPhone！"
    assert len(obj["tokens"]) == len(obj["normalized"])
    assert [t["char"] for t in obj["tokens"]] == list(obj["normalized"])
    assert obj["tokens"][:4] == [
        {"char": "银", "pinyin": "yin2"},
        {"char": "行", "pinyin": "hang2"},
        {"char": "行", "pinyin": "hang2"},
        {"char": "长", "pinyin": "zhang3"},
    ]
    assert obj["tokens"][4] == {"char": "，", "pinyin": None}
    assert obj["sentences"] == ["银行行长，两个iPhone！"]
    assert p.stdout.count("\n") == 1


def test_human_readable() -> None:
    p = run("长江很长。你好")
    assert p.returncode == 0
    assert p.stdout.splitlines() == [
        "长江很长。",
        "  chang2 jiang1 hen3 chang2",
        "你好",
        "  ni2 hao3",
    ]


def test_stdin_ssml_and_lexicon(tmp_path: Path) -> None:
    lex = tmp_path / "lex.tsv"
    lex.write_text("重庆\tzhong4 qing4\n", encoding="utf-8")
    p = run("--json", "--ssml", "--lexicon", str(lex), "--input", "-", stdin="<speak>重庆</speak>")
    assert p.returncode == 0, p.stderr
    assert [t["pinyin"] for t in json.loads(p.stdout)["tokens"]] == ["zhong4", "qing4"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   "], "text is empty"),
        ([], "no text given"),
        (["--ssml", "<speak>x"], "invalid SSML at line 1, column 1"),
        (["--input", "/nonexistent/file"], "cannot read"),
        (["--lexicon", "/nonexistent/lex", "你好"], "cannot read user lexicon"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    p = run(*args)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr.count("\n") == 1 and message in p.stderr
