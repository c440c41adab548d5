"""How a batch worker gets its voices and turns one item into file bytes.

:func:`worker_catalog` is the one place a worker builds its voices, so that when the
synthesizer's internals change only this needs adapting. A batch worker is one process
on one core: its voices run their pieces on a scheduler of one thread, because N processes
each spreading over N cores would only contend.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hanvoice.batch.items import Item, Outcome
from hanvoice.errors import HanvoiceError
from hanvoice.scheduler import Scheduler
from hanvoice.voices import VoiceCatalog, builtin_voices, voices_from_file

log = logging.getLogger(__name__)


def worker_catalog(voices_file: str | None = None) -> VoiceCatalog:
    """The voices a worker renders with: built in, plus a voices file; each loaded on first
    use and then kept for every later item."""
    configs = builtin_voices()
    if voices_file:
        configs += voices_from_file(Path(voices_file))
    return VoiceCatalog(configs, scheduler=Scheduler(1))


def render(catalog: VoiceCatalog, item: Item) -> Outcome:
    """The item encoded in its format, or an :class:`Outcome` with the reason it cannot be.

    A domain error (nothing speakable, bad SSML, a value out of range, an unknown voice) is
    the item's own failure; anything else is logged and also made an error row, so that one
    bad item never stops a night's job.
    """
    from hanvoice.audio.encode import default_rate, encode, get_format, resample
    from hanvoice.synth import SynthesisParams

    try:
        voice = catalog.get(item.voice)
        rate = default_rate(item.format, voice.sample_rate)
        fmt = get_format(item.format, rate)
        params = SynthesisParams(
            emotion=item.emotion, intensity=item.intensity, speed=item.speed, pitch=item.pitch
        ).validated(voice.presets)
        result = voice.synthesize(item.text, params, ssml=item.ssml)
        audio = resample(result.audio, result.sample_rate, rate)
        return Outcome(item.id, encode(audio, rate, fmt), audio.size / rate)
    except HanvoiceError as exc:
        return Outcome(item.id, error=f"{exc.code}: {exc.message}")
    except Exception as exc:
        log.exception("item %s failed", item.id)
        return Outcome(item.id, error=f"internal_error: {exc!r}")
