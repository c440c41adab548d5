"""The files hanvoice checks or derives: the cache folder, SHA-256 of weights, atomic writes.

One place for them because every engine and the text front end derive something once and
keep it (split graphs, exported ONNX, trimmed word lists), and every set of weights is
refused unless its hash is the one recorded: a pickle or a graph we do not know is not run.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from hanvoice.errors import VoiceAssetError


def cache_dir() -> Path:
    """``$HANVOICE_CACHE_DIR``, else ``$XDG_CACHE_HOME/hanvoice``, else ``~/.cache/hanvoice``."""
    if os.environ.get("HANVOICE_CACHE_DIR"):
        return Path(os.environ["HANVOICE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hanvoice"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_files(folder: Path, expected: Mapping[str, str], what: str) -> str:
    """Check each file of ``expected`` (name -> SHA-256) in ``folder``; return one digest
    over all of them (the weights' version). ``what`` names them in the error."""
    combined = hashlib.sha256()
    for name, want in expected.items():
        path = folder / name
        if not path.is_file():
            raise VoiceAssetError(f"{what} file missing: {path}")
        actual = sha256_file(path)
        if actual != want:
            raise VoiceAssetError(
                f"{path} has SHA-256 {actual}, expected {want}: refusing unknown weights"
            )
        combined.update(f"{name}:{actual}\n".encode())
    return combined.hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that no reader ever sees half a file (processes start
    side by side on one cache folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
