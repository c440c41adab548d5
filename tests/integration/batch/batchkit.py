"""What the batch tests share: prompt sets, the command, reading manifests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HANVOICE = [sys.executable, "-m", "hanvoice.cli"]
SENTENCES = [
    "您好，欢迎致电。",
    "请按一号键。",
    "余额查询请按二。",
    "人工服务请按零。",
    "感谢您的耐心等待。",
    "今天天气很好。",
    "我们下午三点见。",
]


def prompt_rows(n: int) -> list[dict[str, Any]]:
    """``n`` short prompts, a few with their own emotion or speed (one per sentence)."""
    rows: list[dict[str, Any]] = []
    for i in range(n):
        row: dict[str, Any] = {"id": f"p{i:03d}", "text": f"第{i + 1}条。{SENTENCES[i % 7]}"}
        if i % 5 == 1:
            row["emotion"] = "happy"
        if i % 7 == 3:
            row["speed"] = 1.2
        rows.append(row)
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def manifest(outdir: Path) -> list[dict[str, Any]]:
    text = (outdir / "manifest.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines()]


def files(outdir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(outdir.iterdir()) if p.name != "manifest.jsonl"}


def run_batch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HANVOICE, "batch", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
