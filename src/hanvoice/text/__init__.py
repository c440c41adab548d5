"""Chinese text front end: text (or SSML) in, segments of pinyin tokens out.

This package imports nothing else of hanvoice's but :mod:`hanvoice.errors` and
:mod:`hanvoice.files`.
"""

from hanvoice.text.frontend import Frontend, FrontendConfig
from hanvoice.text.types import Break, Segment, Style, Token, Utterance

__all__ = ["Break", "Frontend", "FrontendConfig", "Segment", "Style", "Token", "Utterance"]
