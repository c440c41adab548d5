"""Where every benchmark leaves its numbers: one JSON file, written the same way by all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_json(path: Path | str, data: Any) -> Path:
    """``data`` as readable UTF-8 JSON (Chinese kept as is) at ``path``, folders made."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return out
