"""Speech to text: Whisper base on CTranslate2 (faster-whisper), run as pieces on the node's
scheduler.

Whisper reads audio 30 seconds at a time. Each window (:func:`.audio.windows`, cut in a
pause) is one *piece* on the request's :class:`~hanvoice.scheduler.Flow`, transcribed on its
own (no conditioning on the previous window's text, which is also what keeps one bad window
from derailing the next), with one CTranslate2 thread: the scheduler, not CTranslate2,
decides which core does what, so a recognition and a synthesis share the cores by the same
policy as two syntheses do, and a long file's windows fan out over every core. A window is
a long piece (about a core-second or more), so a recognition counts as a *long* flow and
short syntheses take the scheduler's express lane past it.

Decoding is deterministic by default (temperature 0, beam 5, no fallback), nothing is
dropped as "no speech", and the tokens per window are capped (10 a second + 20), which
bounds a hallucination loop.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any

from hanvoice.asr.audio import RATE, WINDOW, Samples, windows
from hanvoice.asr.model import INSTALL_HINT, MODEL_ID, model_dir
from hanvoice.errors import InvalidParameter, RecognizerUnavailable
from hanvoice.scheduler import Runner

log = logging.getLogger(__name__)

CPU_PER_WINDOW = 2.0
"""First guess of core-seconds per window (the encoder always reads 30 s); refined by
:meth:`Recognizer.learn`. Measured on a busy 2-core machine: 2-6 core-s for a 3 s clip."""
CPU_PER_SECOND = 0.03
"""First guess of core-seconds per second of speech (the decoder's tokens)."""
TOKENS_PER_SECOND = 10
"""Cap on the tokens a window may produce per second of its audio (plus 20)."""


@dataclass(frozen=True, slots=True)
class RecognitionOptions:
    """Per-call settings (as OpenAI's transcription request has them)."""

    language: str | None = "zh"
    """ISO 639-1 code; ``None`` lets Whisper detect it (per window)."""
    prompt: str | None = None
    """Whisper's initial prompt; none by default. Measured for the check
    (``bench/check_asr.py``, 80 prompts): with "以下是普通话的句子。" 53 of 64 faulty Chinese
    recordings were flagged against 52 without, 15 of 16 mixed ones either way, clean false
    flags the same (1 and 0), the clean mismatch 0.0097 against 0.0110 per syllable: one
    item, less than the benchmark can tell apart. Without it English words come back in
    Latin letters (``email``, not 伊妹儿), which a person reading ``heard`` can check."""
    temperature: float = 0.0
    """0 decodes deterministically (beam search); above 0 samples at that temperature."""
    beam_size: int = 5
    timestamps: bool = False
    """Segment times (verbose answers); without them each window is one segment."""

    def validated(self, languages: Sequence[str]) -> RecognitionOptions:
        if self.language is not None and self.language not in languages:
            raise InvalidParameter(f"unknown language {self.language!r} (ISO 639-1, e.g. zh)")
        if not 0.0 <= self.temperature <= 1.0:
            raise InvalidParameter(f"temperature must be between 0 and 1, got {self.temperature}")
        return self


@dataclass(frozen=True, slots=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    tokens: tuple[int, ...] = ()
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0
    temperature: float = 0.0
    seek: int = 0


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    duration: float
    language: str
    segments: tuple[Segment, ...] = field(default_factory=tuple)


class Recognizer:
    """A loaded Whisper model; thread-safe (up to ``workers`` windows at once)."""

    def __init__(self, model: Any, workers: int) -> None:
        self.model = model
        self.workers = workers
        self.model_id = MODEL_ID
        self._scale = 1.0
        self._lock = threading.Lock()

    @classmethod
    def load(cls, workers: int | None = None, compute_type: str = "int8") -> Recognizer:
        """Whisper base from the joined, checked weights; one CTranslate2 thread per window,
        ``workers`` windows at once (the scheduler's cores)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never the hub, whatever happens
        try:
            from faster_whisper import WhisperModel
        except ModuleNotFoundError:
            raise RecognizerUnavailable(
                f"speech recognition is not installed: {INSTALL_HINT}"
            ) from None
        n = max(1, workers or os.cpu_count() or 1)
        model = WhisperModel(
            str(model_dir()), device="cpu", compute_type=compute_type, cpu_threads=1, num_workers=n
        )
        return cls(model, n)

    @property
    def languages(self) -> list[str]:
        return list(self.model.supported_languages)

    def cost(self, seconds: float) -> float:
        """Expected core-seconds to transcribe ``seconds`` of audio."""
        n = max(1, -int(-seconds // WINDOW))
        return self._scale * (n * CPU_PER_WINDOW + seconds * CPU_PER_SECOND)

    def learn(self, seconds: float, cpu: float) -> None:
        """Fold a finished transcription's core-seconds into :meth:`cost` (moving average
        over ~20 calls)."""
        if seconds > 0 and cpu > 0:
            with self._lock:
                guess = self.cost(seconds) / self._scale
                self._scale += 0.05 * (cpu / guess - self._scale)

    def submit(self, audio: Samples, options: RecognitionOptions, runner: Runner) -> Pending:
        """Queue every window of ``audio`` on ``runner`` now; the result comes from the
        returned :class:`Pending`."""
        options = options.validated(self.languages)
        futures = [
            runner.submit(self._window, audio[a:b], a / RATE, options) for a, b in windows(audio)
        ]
        return Pending(futures, audio.size / RATE, options)

    def transcribe(self, audio: Samples, options: RecognitionOptions, runner: Runner) -> Transcript:
        return self.submit(audio, options, runner).result()

    def _window(
        self, audio: Samples, offset: float, options: RecognitionOptions
    ) -> tuple[list[Segment], str]:
        seconds = audio.size / RATE
        segments, info = self.model.transcribe(
            audio,
            language=options.language,
            task="transcribe",
            beam_size=options.beam_size,
            temperature=options.temperature,
            compression_ratio_threshold=None,
            log_prob_threshold=None,
            no_speech_threshold=None,
            condition_on_previous_text=False,
            without_timestamps=not options.timestamps,
            vad_filter=False,
            initial_prompt=options.prompt or None,
            max_new_tokens=int(min(seconds, WINDOW) * TOKENS_PER_SECOND) + 20,
        )
        out = [
            Segment(
                id=0,
                start=round(offset + min(s.start, seconds), 3),
                end=round(offset + min(s.end, seconds), 3),
                text=s.text,
                tokens=tuple(s.tokens),
                avg_logprob=float(s.avg_logprob),
                compression_ratio=float(s.compression_ratio),
                no_speech_prob=float(s.no_speech_prob),
                temperature=float(s.temperature or 0.0),
                seek=int(offset * 100) + int(s.seek),
            )
            for s in segments
        ]
        return out, str(info.language)


@dataclass
class Pending:
    """A transcription whose windows are queued; :meth:`result` waits for them in order."""

    futures: list[Future[tuple[list[Segment], str]]]
    duration: float
    options: RecognitionOptions

    def result(self) -> Transcript:
        segments: list[Segment] = []
        language = self.options.language or ""
        for fut in self.futures:
            found, lang = fut.result()
            language = language or lang
            segments += [replace(s, id=len(segments) + k) for k, s in enumerate(found)]
        text = "".join(s.text for s in segments).strip()
        return Transcript(text, round(self.duration, 3), language, tuple(segments))

    def cancel(self) -> None:
        for fut in self.futures:
            fut.cancel()
