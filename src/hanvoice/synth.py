"""The core call both the CLI and the service use: text in, audio chunks out.

:class:`Synthesizer` ties a front end, an engine and the emotion presets together.
``stream()`` yields one :class:`Chunk` per segment as soon as it is ready (each ends with the
pause that follows it, so a consumer just concatenates); ``synthesize()`` is built on it.

All the CPU work of a call (text analysis, the engine's pieces, signal processing) runs on
the node's :class:`~hanvoice.scheduler.Scheduler`, in the call's :class:`~hanvoice.scheduler.
Flow`: the service hands in one flow per request; a script that calls a ``Synthesizer``
directly gets a flow of its own on the synthesizer's scheduler, i.e. it behaves like a lone
request and uses every core.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hanvoice.audio import effects
from hanvoice.emotion import EmotionPresets
from hanvoice.engines.base import (
    Audio,
    BoundedEngine,
    Controls,
    Engine,
    PartialEngine,
    Rendered,
    VoiceInfo,
)
from hanvoice.errors import EmptyText, InvalidParameter, UnknownEmotion
from hanvoice.scheduler import Flow, Scheduler
from hanvoice.text import Frontend, Segment, Style, Utterance, hygiene
from hanvoice.text.ssml import outline as ssml_outline

SPEED_RANGE = (0.5, 2.0)
PITCH_RANGE = (-6.0, 6.0)
VOLUME_RANGE = (-30.0, 12.0)
LOOKAHEAD = 2
"""Segments started ahead of the one being streamed, for engines that work in the
background (``PartialEngine``): enough that two cores always have vocoding queued, and a
bound on what a slow reader's stream holds queued (its pieces wait for it, not a core)."""
CPU_PER_CHAR = {"fast": 0.0055, "medium": 0.03, "slow": 0.1}
"""First guess of core-seconds per input character by ``VoiceInfo.speed_class`` (measured:
the bundled voice 1.04 s for 200 characters, Mellotron ~5 s); refined by what requests
really cost (:meth:`Synthesizer.learn`)."""
CPU_PER_REQUEST = 0.01
"""Fixed CPU seconds of any request (front end set-up, warm caches, encoding)."""


@dataclass(frozen=True, slots=True)
class SynthesisParams:
    """Per-call settings; ``validated()`` checks ranges and resolves the emotion name."""

    emotion: str = "neutral"
    intensity: float = 1.0
    speed: float = 1.0
    """0.5-2.0, > 1 faster (as OpenAI's ``speed``)."""
    pitch: float = 0.0
    """Semitones, -6..+6."""
    volume: float = 0.0
    """dB, -30..+12."""

    def validated(
        self, presets: EmotionPresets, allowed: tuple[str, ...] | None = None
    ) -> SynthesisParams:
        for name, value, (lo, hi) in (
            ("speed", self.speed, SPEED_RANGE),
            ("pitch", self.pitch, PITCH_RANGE),
            ("volume", self.volume, VOLUME_RANGE),
            ("intensity", self.intensity, (0.0, 2.0)),
        ):
            if not (isinstance(value, int | float) and math.isfinite(value) and lo <= value <= hi):
                raise InvalidParameter(f"{name} must be between {lo:g} and {hi:g}, got {value!r}")
        emotion = presets.resolve(self.emotion)
        if allowed is not None and emotion not in allowed:
            raise InvalidParameter(
                f"emotion {emotion!r} is not enabled here; allowed: {', '.join(allowed)}"
            )
        return replace(self, emotion=emotion)


@dataclass(frozen=True, slots=True)
class CharTime:
    """Where one character of the normalized text is spoken."""

    char: str
    start: float
    end: float
    source: tuple[int, int]
    """Span of the original input it came from."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "char": self.char,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "source": list(self.source),
        }


@dataclass(frozen=True, slots=True)
class Chunk:
    audio: Audio
    """Mono float32 at ``sample_rate``, peak-safe, including the pause after the segment."""
    sample_rate: int
    offset: float
    """Seconds from the start of the whole stream to this chunk's first sample."""
    text: str
    timestamps: tuple[CharTime, ...]
    index: int

    @property
    def duration(self) -> float:
        return self.audio.size / self.sample_rate


@dataclass(frozen=True, slots=True)
class SynthesisResult:
    audio: Audio
    sample_rate: int
    timestamps: tuple[CharTime, ...]
    utterance: Utterance
    params: SynthesisParams = field(default_factory=SynthesisParams)

    @property
    def duration(self) -> float:
        return self.audio.size / self.sample_rate


class Synthesizer:
    """A loaded voice with its front end: safe to share between threads."""

    def __init__(
        self,
        engine: Engine,
        frontend: Frontend | None = None,
        presets: EmotionPresets | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        self.engine = engine
        self.frontend = frontend or Frontend()
        self.presets = presets or EmotionPresets.load()
        self._scheduler = scheduler
        self._lock = threading.Lock()
        self._per_char = CPU_PER_CHAR.get(engine.info.speed_class, CPU_PER_CHAR["slow"])

    @property
    def scheduler(self) -> Scheduler:
        """The scheduler this voice's work runs on (one of its own, made on first use, when
        none was given: a script then gets every core)."""
        with self._lock:
            if self._scheduler is None:
                self._scheduler = Scheduler()
            return self._scheduler

    def cost(self, chars: int) -> float:
        """Expected core-seconds to synthesize ``chars`` characters with this voice."""
        return CPU_PER_REQUEST + self._per_char * chars

    def estimate_seconds(self, text: str, params: SynthesisParams, *, ssml: bool = False) -> float:
        """Seconds of audio ``text`` will make, from the text alone (no front end): letters
        and digits at the voice's pace for the emotion and speed, SSML breaks and the
        slowest ``<prosody rate>``. For admission, before any work; :meth:`audio_seconds`
        says it exactly once the text is analysed."""
        if ssml:
            o = ssml_outline(text)
            chars, pauses, slowest = o.chars, o.pauses, o.slowest
        else:
            chars, pauses, slowest = sum(1 for c in text if c.isalnum()), 0.0, 1.0
        c = self._pace(Style(params.emotion, params.intensity, params.speed))
        speech = chars * self.info.seconds_per_syllable / (c.tempo * slowest)
        return speech + pauses * c.pause_scale

    def audio_seconds(self, utt: Utterance, params: SynthesisParams) -> float:
        """Seconds of audio the analysed text will make: its syllables at each segment's
        pace and its pauses (explicit breaks included), as :meth:`stream` renders them."""
        base = Style(params.emotion, params.intensity, params.speed)
        total = 0.0
        for segment in utt.segments:
            c = self._pace(segment.style.over(base))
            total += segment.syllables * self.info.seconds_per_syllable / c.tempo
            total += segment.pause_after * c.pause_scale
        return total

    def check(
        self, utt: Utterance, params: SynthesisParams, allowed: tuple[str, ...] | None = None
    ) -> None:
        """Raise now what :meth:`stream` would raise on its way (an SSML emotion that is
        unknown or not allowed here), so a service can refuse before its first byte."""
        base = Style(params.emotion, params.intensity, params.speed, params.pitch, params.volume)
        for style in {s.style for s in utt.segments}:
            self._controls(style.over(base), allowed)

    def _pace(self, style: Style) -> Controls:
        """Tempo and pause scale of a style, from the emotion presets (unknown emotions, an
        error later, count as neutral)."""
        try:
            emotion = self.presets.resolve(style.emotion or "neutral")
        except UnknownEmotion:
            emotion = "neutral"
        intensity = 1.0 if style.intensity is None else min(max(style.intensity, 0.0), 2.0)
        return self.presets.controls(emotion, intensity, speed=style.rate or 1.0)

    def learn(self, chars: int, cpu: float) -> None:
        """Fold one finished request's real core-seconds into :meth:`cost` (moving average
        over ~20 requests; requests of a few characters say little and are skipped). On a
        machine shared with other work pieces take longer, and the estimate follows."""
        if chars >= 20 and cpu > 0:
            with self._lock:
                self._per_char += 0.05 * (max(cpu - CPU_PER_REQUEST, 0.0) / chars - self._per_char)

    @property
    def info(self) -> VoiceInfo:
        return self.engine.info

    @property
    def sample_rate(self) -> int:
        return self.engine.info.sample_rate

    def analyze(self, text: str, *, ssml: bool = False) -> Utterance:
        """Run the front end; raise EmptyText when nothing in ``text`` can be spoken."""
        if not text or not text.strip():
            raise EmptyText("text is empty")
        hygiene.check(text)
        utt = self.frontend.analyze(text, ssml=ssml)
        if not utt.speakable:
            raise EmptyText("text has nothing that can be spoken")
        return utt

    def stream(
        self,
        text: str | Utterance,
        params: SynthesisParams | None = None,
        *,
        ssml: bool = False,
        allowed_emotions: tuple[str, ...] | None = None,
        early: bool = False,
        flow: Flow | None = None,
    ) -> Iterator[Chunk]:
        """Yield one chunk per segment as soon as it is synthesized.

        ``early``: yield each part an engine hands out (:class:`PartialEngine`) as it comes,
        so the first audio leaves after a fraction of the first segment; the chunks then
        join into exactly the same audio. Such an engine also gets the next
        :data:`LOOKAHEAD` segments started while one is streamed, so that the cores
        always have work queued. ``flow``: the request's share of the node's scheduler
        (the caller closes it); without one, the call makes its own on :attr:`scheduler`.
        """
        params = (params or SynthesisParams()).validated(self.presets, allowed_emotions)
        if flow is not None:
            yield from self._stream(text, params, ssml, allowed_emotions, early, flow)
            return
        chars = len(text) if isinstance(text, str) else len(text.normalized)
        with self.scheduler.flow(self.cost(chars)) as own:
            yield from self._stream(text, params, ssml, allowed_emotions, early, own)
            self.learn(chars, own.attained)

    def _stream(
        self,
        text: str | Utterance,
        params: SynthesisParams,
        ssml: bool,
        allowed_emotions: tuple[str, ...] | None,
        early: bool,
        flow: Flow,
    ) -> Iterator[Chunk]:
        if isinstance(text, Utterance):
            utt = text
        else:
            utt = flow.submit(functools.partial(self.analyze, text, ssml=ssml)).result()
        sr = self.sample_rate
        base = Style(params.emotion, params.intensity, params.speed, params.pitch, params.volume)
        segments = utt.segments
        controls = [self._controls(s.style.over(base), allowed_emotions) for s in segments]
        started: dict[int, Iterator[Rendered]] = {}
        offset = 0.0
        try:
            for index, segment in enumerate(segments):
                c = controls[index]
                if index not in started:
                    started[index] = self._start(segments, controls, index, flow)
                start, audios, stamps = offset, [], []
                for k, (audio, times, final) in enumerate(self._finish(started[index], c, flow)):
                    if final:
                        pause = np.zeros(
                            round(segment.pause_after * c.pause_scale * sr), np.float32
                        )
                        audio = np.concatenate([audio, pause]) if pause.size else audio
                    here = [
                        CharTime(tok.char, offset + t[0], offset + t[1], tok.source)
                        for tok, t in zip(segment.tokens, times, strict=True)
                        if t is not None
                    ]
                    offset += audio.size / sr
                    if early:  # joined, the chunks' texts make the segment's text
                        text = segment.text if k == 0 else ""
                        yield Chunk(audio, sr, offset - audio.size / sr, text, tuple(here), index)
                    else:
                        audios.append(audio)
                        stamps += here
                    for m in range(index + 1, min(len(segments), index + 1 + LOOKAHEAD)):
                        if m not in started:  # once our first part is out: start what follows
                            started[m] = self._start(segments, controls, m, flow)
                if not early:
                    audio = audios[0] if len(audios) == 1 else np.concatenate(audios)
                    yield Chunk(audio, sr, start, segment.text, tuple(stamps), index)
                del started[index]
        finally:
            for parts in started.values():
                close = getattr(parts, "close", None)
                if close is not None:
                    close()

    def synthesize(
        self,
        text: str | Utterance,
        params: SynthesisParams | None = None,
        *,
        ssml: bool = False,
        allowed_emotions: tuple[str, ...] | None = None,
        flow: Flow | None = None,
    ) -> SynthesisResult:
        params = (params or SynthesisParams()).validated(self.presets, allowed_emotions)
        utt = text if isinstance(text, Utterance) else self.analyze(text, ssml=ssml)
        chunks = list(self.stream(utt, params, allowed_emotions=allowed_emotions, flow=flow))
        audio = np.concatenate([c.audio for c in chunks]) if chunks else np.zeros(0, np.float32)
        stamps = tuple(t for c in chunks for t in c.timestamps)
        return SynthesisResult(audio, self.sample_rate, stamps, utt, params)

    def _controls(self, style: Style, allowed: tuple[str, ...] | None) -> Controls:
        emotion = self.presets.resolve(style.emotion or "neutral")
        if allowed is not None and emotion not in allowed:
            raise InvalidParameter(f"emotion {emotion!r} is not enabled here")
        intensity = 1.0 if style.intensity is None else style.intensity
        native = "emotion" in self.engine.native_controls
        controls = self.presets.controls(
            "neutral" if native else emotion,
            intensity,
            speed=1.0 if style.rate is None else style.rate,
            pitch=style.pitch or 0.0,
            volume=style.volume or 0.0,
        )
        return replace(controls, emotion=emotion, intensity=intensity)

    def _start(
        self, segments: tuple[Segment, ...], controls: list[Controls], index: int, flow: Flow
    ) -> Iterator[Rendered]:
        """The segment's parts; its pieces are queued on ``flow`` now."""
        segment, c = segments[index], controls[index]
        if isinstance(self.engine, PartialEngine):
            last = index == len(segments) - 1
            return self.engine.render_parts(segment, c, lead=index == 0, alone=last, flow=flow)
        whole = flow.submit(self.engine.render, segment, c)  # one piece: the whole segment
        return (whole.result() for _ in range(1))

    def _finish(
        self, parts: Iterator[Rendered], c: Controls, flow: Flow
    ) -> Iterator[tuple[Audio, tuple[tuple[float, float] | None, ...], bool]]:
        """Parts with the controls the engine does not realise itself applied by DSP.

        When that DSP is sample by sample (no pitch, range or tempo change), each part is
        passed on as soon as it comes; otherwise the segment is joined first, because WORLD
        analyses the whole of it, and the DSP is a piece of its own on ``flow``. Parts are
        cut in silence, so limiting each part's peak on its own cannot click; the same parts
        come for the same input, stream or not.
        """
        native = self.engine.native_controls
        semitones, range_factor = self._dsp_pitch(c)
        pointwise = (
            semitones == 0.0 and range_factor == 1.0 and ("tempo" in native or c.tempo == 1.0)
        )
        if not pointwise:
            joined = _join(parts, self.sample_rate)
            yield (*flow.submit(self._render, joined, c).result(), True)
            return
        first = True
        for part in parts:
            audio = part.audio
            if audio.size:
                if "volume_db" not in native:
                    audio = effects.gain(audio, c.volume_db)
                audio = effects.fade_edges(audio, self.sample_rate, head=first, tail=part.final)
                audio = effects.limit_peak(audio)
            first = False
            yield audio, part.times, part.final

    def _dsp_pitch(self, c: Controls) -> tuple[float, float]:
        """Semitones and range factor signal processing must still apply to the engine's
        audio: what the engine leaves of them (all, none, or beyond its native limits)."""
        native = self.engine.native_controls
        if isinstance(self.engine, BoundedEngine):
            left = self.engine.dsp_remainder(c)
            return left.pitch, left.pitch_range
        return (
            0.0 if "pitch" in native else c.pitch,
            1.0 if "pitch_range" in native else c.pitch_range,
        )

    def _render(
        self, rendered: Rendered, c: Controls
    ) -> tuple[Audio, tuple[tuple[float, float] | None, ...]]:
        """Engine output with the controls it does not realise itself applied by DSP."""
        native = self.engine.native_controls
        audio, times = rendered.audio, rendered.times
        if audio.size == 0:
            return audio, times
        tempo = 1.0 if "tempo" in native else c.tempo
        semitones, range_factor = self._dsp_pitch(c)
        audio = effects.reshape_pitch(
            audio, self.sample_rate, semitones=semitones, range_factor=range_factor, tempo=tempo
        )
        if tempo != 1.0:
            times = tuple(None if t is None else (t[0] / tempo, t[1] / tempo) for t in times)
        if "volume_db" not in native:
            audio = effects.gain(audio, c.volume_db)
        audio = effects.limit_peak(effects.fade_edges(audio, self.sample_rate))
        return audio, times


def _join(parts: Iterator[Rendered], sample_rate: int) -> Rendered:
    """A segment's parts as one :class:`Rendered`, times relative to its start."""
    audio: list[Audio] = []
    times: list[tuple[float, float] | None] = []
    offset = 0.0
    for part in parts:
        times = times or [None] * len(part.times)
        for i, t in enumerate(part.times):
            if t is not None:
                times[i] = (t[0] + offset, t[1] + offset)
        audio.append(part.audio)
        offset += part.audio.size / sample_rate
    return Rendered(np.concatenate(audio) if audio else np.zeros(0, np.float32), tuple(times))
