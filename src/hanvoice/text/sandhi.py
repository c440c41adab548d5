"""Tone sandhi: the tones the words are actually spoken with.

The bundled voice learned from Baker labels, which record surface tones (卡尔普 is labelled
``ka2 er2 pu3``), so the front end hands it surface tones too:

- third tone before third tone becomes second, within a word and across a word boundary
  when one of the two words has one syllable (你好 ni2 hao3, 很/好 hen2 hao3, 展览馆
  zhan2 lan2 guan3);
- 不 before a fourth tone is bu2 (不对 bu2 dui4), between repeated verbs bu5 (去不去);
- 一 before a fourth tone is yi2 (一个), before other tones yi4 (一天), between repeated
  verbs yi5 (看一看); it stays yi1 at a word's end, after 第/周/月 (第一, 周一, 十月一日),
  inside a number (十一, 二十一个) and before 月/号 (一月一号).

A syllable whose reading a normalization rule fixed (a digit read one by one, a letter) is
never changed.
"""

from __future__ import annotations

from dataclasses import dataclass

_NUMERALS = set("零一二三四五六七八九十百千万亿两幺")
_YI1_AFTER = set("第周月初")
"""After these 一 is an ordinal or a date: 第一, 周一, 十月一日, 初一."""
_YI1_BEFORE = ("月", "号", "楼", "等奖", "年级", "班", "中", "线", "流", "致", "律", "切")


@dataclass(slots=True)
class Syllable:
    char: str
    pinyin: str
    word: int
    """Index of the word it belongs to."""
    fixed: bool


def _tone(p: str) -> str:
    return p[-1] if p and p[-1] in "12345" else "5"


def _set(s: Syllable, tone: str) -> None:
    s.pinyin = s.pinyin[:-1] + tone


def apply(sylls: list[Syllable]) -> None:
    """Rewrite tones in place."""
    _bu_yi(sylls)
    _third(sylls)


def _bu_yi(sylls: list[Syllable]) -> None:
    n = len(sylls)
    for i, s in enumerate(sylls):
        if s.fixed or s.char not in "不一":
            continue
        prev = sylls[i - 1] if i > 0 else None
        nxt = sylls[i + 1] if i + 1 < n else None
        repeated = (  # 去不去, 看一看: the same character on both sides, nothing between
            prev is not None
            and nxt is not None
            and prev.char == nxt.char
            and s.word - prev.word <= 1
            and nxt.word - s.word <= 1
        )
        if s.char == "不":
            if repeated:
                _set(s, "5")
            elif nxt and _tone(nxt.pinyin) == "4":
                _set(s, "2")
            else:
                _set(s, "4")
        else:
            _set(s, _yi(s, prev, nxt, sylls[i + 1 : i + 4], repeated))


def _yi(
    s: Syllable, prev: Syllable | None, nxt: Syllable | None, ahead: list[Syllable], repeated: bool
) -> str:
    first_in_word = prev is None or prev.word != s.word
    last_in_word = nxt is None or nxt.word != s.word
    following = "".join(x.char for x in ahead)
    if repeated:
        return "5"
    if prev and (prev.char in _YI1_AFTER or (prev.char in _NUMERALS and prev.word == s.word)):
        return "1"
    if nxt and nxt.char in _NUMERALS and nxt.word == s.word:
        return "4" if nxt.char in "十百千" else "2" if nxt.char in "万亿" else "1"
    if any(following.startswith(w) for w in _YI1_BEFORE):
        return "1"
    if nxt is None or (last_in_word and not first_in_word):
        return "1"
    tone = _tone(nxt.pinyin)
    return "2" if tone == "4" else "4" if tone in "123" else "1"


def _ends_word(sylls: list[Syllable], i: int) -> bool:
    return i + 1 >= len(sylls) or sylls[i + 1].word != sylls[i].word


def _third(sylls: list[Syllable]) -> None:
    """Third tone before third tone: all but the last of a run become second tones.

    Runs stay inside a word, except that neighbouring words made only of third tones join
    when together they have at most three syllables, grouped from the right (你/好, 我/很/好
    -> wo2 hen2 hao3; 展览馆/里 stays apart), close to PaddleSpeech's grouping.
    """
    groups: list[list[Syllable]] = []
    for w in reversed(_words(sylls)):  # from the right: 我/很/好 groups as 我很好
        if (
            groups
            and groups[-1][0].word == w[-1].word + 1
            and _all_third(groups[-1])
            and _all_third(w)
            and len(groups[-1]) + len(w) <= 3
        ):
            groups[-1][:0] = w
        else:
            groups.append(list(w))
    for g in groups:
        run: list[Syllable] = []
        for s in g:
            if not s.fixed and _tone(s.pinyin) == "3":
                run.append(s)
            else:
                _flush(run)
                run = []
        _flush(run)


def _words(sylls: list[Syllable]) -> list[list[Syllable]]:
    out: list[list[Syllable]] = []
    for s in sylls:
        if out and out[-1][-1].word == s.word:
            out[-1].append(s)
        else:
            out.append([s])
    return out


def _all_third(group: list[Syllable]) -> bool:
    return all(not s.fixed and _tone(s.pinyin) == "3" for s in group)


def _flush(run: list[Syllable]) -> None:
    for s in run[:-1]:
        _set(s, "2")
