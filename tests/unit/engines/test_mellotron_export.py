"""The set-up-time export of the ttskit weights (needs the ``voices`` extra: torch, onnx)."""

from __future__ import annotations

import collections
import pickle
from pathlib import Path

import pytest

from hanvoice.engines.mellotron import assets
from hanvoice.engines.mellotron.export import export, load_module
from hanvoice.errors import VoiceAssetError


def test_export_is_reproducible_and_checked_against_pytorch(tmp_path: Path) -> None:
    """A fresh export gives byte-identical graphs to the installed ones (so every region's
    voices have the same version) and passes the ONNX-vs-PyTorch check."""
    installed = assets.load_files()
    files = export(tmp_path / "set", force=True)
    assert files.manifest["files"] == installed.manifest["files"]
    assert files.sha256 == installed.sha256
    check = files.manifest["check"]
    assert check["frames_torch"] == check["frames_onnx"]
    assert check["mel_max_abs_diff"] < 1e-3 and check["audio_max_abs_diff"] < 2e-3


def test_unpickling_refuses_anything_but_the_known_classes(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "odd.pt"
    torch.save({"x": collections.Counter("abc")}, path)
    with pytest.raises(pickle.UnpicklingError, match=r"collections\.Counter"):
        load_module(path)


def test_the_wheel_files_are_checked_before_unpickling(tmp_path: Path) -> None:
    source = assets.find_source_dir()
    for name in assets.SOURCE_SHA256:
        data = bytearray((source / name).read_bytes())
        data[len(data) // 2] ^= 0xFF
        (tmp_path / name).write_bytes(bytes(data))
    with pytest.raises(VoiceAssetError, match="refusing unknown weights"):
        assets.verify_sources(tmp_path)
    assert assets.verify_sources(source)
