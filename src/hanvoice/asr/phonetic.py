"""How far apart two toneless pinyin syllables sound: 0 (same), 1 (nothing alike).

The recognition check compares what was said with what was meant syllable by syllable, and
Whisper base on our voice hears many syllables *nearly* right (辅路 fu lu -> 幅度 fu du,
车厢 che xiang -> 车销 che xiao, 准时 zhun shi -> 钟时 zhong shi: 8 of the 40 clean tuning
prompts had one). A near miss must cost less than a different word (北京 -> 天津, 猫 -> 狗),
so a syllable is split into its initial and final, each scored 0 (same), 0.5 (a pair
listeners confuse: ``data/asr/confusions.tsv``) or 1, and the distance is their mean:
``distance("zhun", "zhong") == 0.25``, ``distance("lu", "du") == 0.5``,
``distance("mao", "gou") == 1.0``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "asr" / "confusions.tsv"

INITIALS = (
    "zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x",
    "r", "z", "c", "s",
)  # fmt: skip
_Y = {"yi": "i", "yu": "v", "yue": "ve", "yuan": "van", "yun": "vn", "you": "iu", "yin": "in",
      "ying": "ing"}  # fmt: skip
_W = {"wu": "u", "wei": "ui", "wen": "un"}


def split(syllable: str) -> tuple[str, str]:
    """``"zhuang"`` -> ``("zh", "uang")``; y/w spellings are folded into the final
    (``"yan"`` -> ``("", "ian")``, ``"wen"`` -> ``("", "un")``), and ü after j/q/x is
    written ``v`` (``"xue"`` -> ``("x", "ve")``)."""
    s = syllable.replace("ü", "v")
    if s in _Y:
        return "", _Y[s]
    if s in _W:
        return "", _W[s]
    if s.startswith("y"):
        return "", "i" + s[1:]
    if s.startswith("w"):
        return "", "u" + s[1:]
    for ini in INITIALS:
        if s.startswith(ini) and len(s) > len(ini):
            final = s[len(ini) :]
            if ini in ("j", "q", "x") and final.startswith("u"):
                final = "v" + final[1:]
            return ini, final
    return "", s


@cache
def _groups() -> dict[str, tuple[frozenset[str], ...]]:
    out: dict[str, list[frozenset[str]]] = {"initial": [], "final": []}
    for line in DATA.read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, parts = line.split("\t")
            out[kind].append(frozenset(parts.split()))
    return {k: tuple(v) for k, v in out.items()}


def _part(a: str, b: str, kind: str) -> float:
    if a == b:
        return 0.0
    if any(a in g and b in g for g in _groups()[kind]):
        return 0.5
    return 1.0


@cache
def distance(a: str, b: str) -> float:
    """0.0, 0.25, 0.5, 0.75 or 1.0: the mean of the initials' and the finals' scores."""
    if a == b:
        return 0.0
    (ia, fa), (ib, fb) = split(a), split(b)
    return (_part(ia, ib, "initial") + _part(fa, fb, "final")) / 2
