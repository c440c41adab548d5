from __future__ import annotations

from dataclasses import replace

import pytest

from hanvoice.batch.items import Item

BASE = Item("a", "你好。")


@pytest.mark.parametrize(
    "change",
    [
        {"text": "您好。"},
        {"voice": "other"},
        {"emotion": "happy"},
        {"intensity": 1.5},
        {"speed": 1.1},
        {"pitch": 2.0},
        {"format": "mp3"},
        {"ssml": True},
    ],
)
def test_every_parameter_changes_the_key(change: dict[str, object]) -> None:
    assert replace(BASE, **change).key("v1") != BASE.key("v1")  # type: ignore[arg-type]


def test_voice_version_changes_the_key_but_id_and_title_do_not() -> None:
    assert BASE.key("v1") != BASE.key("v2")
    assert replace(BASE, id="b", title="第一章").key("v1") == BASE.key("v1")
    assert BASE.key("v1") == Item("a", "你好。").key("v1")  # stable across instances


@pytest.mark.parametrize(
    ("item_id", "name"),
    [("p001", "p001.wav"), ("intro/1 a", "intro_1_a.wav"), ("../x", "x.wav"), ("欢迎", "欢迎.wav")],
)
def test_filename_stays_in_the_folder(item_id: str, name: str) -> None:
    assert Item(item_id, "x").filename == name
