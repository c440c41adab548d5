"""hanvoice: self-hosted Mandarin Chinese text-to-speech with emotions.

>>> from hanvoice import VoiceCatalog, SynthesisParams
>>> voice = VoiceCatalog().get()                        # the bundled voice
>>> result = voice.synthesize("你好，世界。", SynthesisParams(emotion="happy"))
>>> result.sample_rate
24000
"""

from hanvoice.errors import HanvoiceError
from hanvoice.synth import Chunk, SynthesisParams, SynthesisResult, Synthesizer
from hanvoice.voices import DEFAULT_VOICE, VoiceCatalog

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_VOICE",
    "Chunk",
    "HanvoiceError",
    "SynthesisParams",
    "SynthesisResult",
    "Synthesizer",
    "VoiceCatalog",
    "__version__",
]
