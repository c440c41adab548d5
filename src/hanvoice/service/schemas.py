"""Request and response shapes (they are also the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool
from pydantic_core import PydanticCustomError

from hanvoice.errors import InvalidCharacter
from hanvoice.instructions import MAX_CHARS as INSTRUCTION_CHARS
from hanvoice.synth import PITCH_RANGE, SPEED_RANGE, VOLUME_RANGE, SynthesisParams
from hanvoice.text import hygiene

TtsFormat = Literal["wav", "mp3", "ogg", "opus", "flac", "pcm", "aac"]
OpenAIFormat = Literal["mp3", "opus", "aac", "flac", "wav", "pcm"]


def _unicode(value: str) -> str:
    """Lone surrogates and non-characters are refused where they arrive, naming the field
    (pydantic adds it) and the position; they would fail deep inside (a cache key, a log)."""
    try:
        return hygiene.check(value, "value")
    except InvalidCharacter as exc:
        message = exc.message.removeprefix("value: ")
        raise PydanticCustomError(exc.code, message) from None


Text = Annotated[str, AfterValidator(_unicode)]
"""Every string a client sends."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(examples=["unknown_emotion"])
    message: str = Field(examples=["unknown emotion 'joyful'; choose one of: neutral, happy"])


class ErrorBody(BaseModel):
    """Every error response: a stable ``code`` and a human ``message``."""

    error: ErrorDetail


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Invalid input: empty text, unknown emotion, value out of range, "
        "malformed JSON, unknown field",
        404: "Not found (an unknown voice, or model on /v1)",
        413: "Text longer than the configured limit, or body too large",
        415: "Content-Type is not application/json",
        503: "Overloaded (queue full) or not ready; retry after `Retry-After` seconds",
        504: "Synthesis timed out",
    }
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}


SYNTH_ERRORS = _errors(400, 404, 413, 415, 503, 504)


class Voice(_Strict):
    """Our synthesis controls, shared by every synthesis request."""

    emotion: Text = Field(
        "neutral",
        description="neutral, happy, sad, angry, fear, surprise, disgust (see GET /voices)",
        examples=["happy"],
    )
    intensity: float = Field(1.0, ge=0.0, le=2.0, description="Emotion strength (0 = neutral).")
    speed: float = Field(1.0, ge=SPEED_RANGE[0], le=SPEED_RANGE[1], description="> 1 is faster.")
    pitch: float = Field(0.0, ge=PITCH_RANGE[0], le=PITCH_RANGE[1], description="Semitones.")
    volume: float = Field(0.0, ge=VOLUME_RANGE[0], le=VOLUME_RANGE[1], description="Gain in dB.")
    voice: Text | None = Field(None, description="Voice id (GET /voices); default: baker.")
    sample_rate: int | None = Field(
        None, description="8000, 16000, 22050, 24000, 44100 or 48000; default: the voice's."
    )

    def params(self) -> SynthesisParams:
        return SynthesisParams(self.emotion, self.intensity, self.speed, self.pitch, self.volume)


class TtsRequest(Voice):
    """``POST /tts``: the original design's API."""

    text: Text = Field(
        min_length=1,
        description="Text to speak (Chinese; digits, dates, English letters are read out).",
        examples=["欢迎使用多地域语音合成服务"],
    )
    format: TtsFormat = "wav"
    ssml: bool = Field(False, description="The text is SSML.")
    timestamps: bool = Field(False, description="Include per-character timestamps.")
    return_: Literal["base64", "url"] = Field(
        "base64",
        alias="return",
        description='"base64": audio in the JSON; "url": a link to /audio/<id>.<ext>.',
    )
    stream: bool = Field(
        False,
        description="Answer with the audio itself, chunked, as each sentence is ready "
        "(instead of JSON).",
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)
    """Strict: JSON types are what the schema says (``"stream": 0`` or ``"sample_rate":
    false`` are refused, not coerced)."""


class TtsQuery(Voice):
    """``GET /tts``: the same controls as query parameters; the answer is the audio."""

    text: Text = Field(min_length=1, description="Text to speak.")
    format: TtsFormat = "mp3"
    ssml: bool = False
    stream: bool = False


class CharTimeModel(BaseModel):
    char: str
    start: float
    end: float
    source: list[int] = Field(description="[start, end) of the input characters it came from")


class TtsResponse(BaseModel):
    audio: str | None = Field(None, description="Base64 audio (when return = base64).")
    url: str | None = Field(None, description="Download path (when return = url).")
    expires_in: int | None = Field(None, description="Seconds the url stays valid.")
    format: str
    sample_rate: int
    duration: float = Field(description="Seconds.")
    emotion: str
    voice: str
    timestamps: list[CharTimeModel] | None = None


class SpeechRequest(_Strict):
    """``POST /v1/audio/speech``: OpenAI's request, plus our ``emotion`` and friends."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: Text = Field(
        examples=["tts-1"],
        description="tts-1, tts-1-hd, gpt-4o-mini-tts or "
        "hanvoice: all use the voice named by `voice`.",
    )
    input: Text = Field(min_length=1, examples=["你好，欢迎光临。"])
    voice: Text = Field(
        examples=["alloy"],
        description="OpenAI names (alloy, echo, fable, onyx, nova, shimmer, ...) map to our "
        "voices; our ids work too.",
    )
    instructions: Text | None = Field(
        None,
        max_length=INSTRUCTION_CHARS,
        description="A style instruction, Chinese or English (`用开心的语气`, `温柔一点，慢慢说`, "
        "`sound sad and slow`): read for emotion, intensity, speed, pitch and volume by a "
        "table of cue words (negations too: `不要太快`). What was read comes back in the "
        "`X-Instructions` header; a text with no cue changes nothing and says so there. "
        "Our own fields below are applied first; a named `emotion` wins over the text's.",
    )
    response_format: OpenAIFormat = "mp3"
    speed: float = Field(
        1.0,
        ge=SPEED_RANGE[0],
        le=SPEED_RANGE[1],
        description="OpenAI allows 0.25-4.0; this voice 0.5-2.0.",
    )
    stream_format: Literal["audio", "sse"] = Field(
        "audio",
        description="`audio`: the audio bytes, sent as they are made; `sse`: server-sent "
        "events (`speech.audio.delta` with base64 audio, then `speech.audio.done`).",
    )
    stream: StrictBool = Field(
        True,
        description="Extension: `false` answers with the whole file and its Content-Length "
        "once it is made, instead of streaming it.",
    )
    emotion: Text = Field("neutral", description="Extension: the emotion.")
    intensity: float = Field(1.0, ge=0.0, le=2.0, description="Extension: emotion strength.")
    pitch: float = Field(0.0, ge=PITCH_RANGE[0], le=PITCH_RANGE[1], description="Extension.")
    volume: float = Field(0.0, ge=VOLUME_RANGE[0], le=VOLUME_RANGE[1], description="Extension.")
    sample_rate: int | None = Field(None, description="Extension: output rate.")

    def params(self) -> SynthesisParams:
        return SynthesisParams(self.emotion, self.intensity, self.speed, self.pitch, self.volume)


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class VoiceModel(BaseModel):
    id: str
    name: str
    engine: str
    language: str
    gender: str
    sample_rate: int
    emotions: list[str]
    speed_class: str
    model_id: str
    model_sha256: str
    description: str


class VoiceList(BaseModel):
    voices: list[VoiceModel]
    default: str
    openai_voices: dict[str, str] = Field(description="OpenAI voice name -> our voice id")
    max_text_chars: int = Field(description="Longest text accepted (longer: 413)")


class Health(BaseModel):
    status: Literal["ok", "starting", "failed"]
    model_loaded: bool
    voices: list[str]


class Ready(BaseModel):
    ready: bool
    status: Literal["ready", "starting", "draining", "overloaded"]
    inflight: int = Field(description="Requests admitted (running or waiting)")
    running: int = Field(description="Pieces of work on a core now")
    capacity: int = Field(description="workers + queue_size: requests in flight at most")
    backlog_seconds: float = Field(description="Expected seconds for admitted work to drain")
    max_backlog: float = Field(description="Backlog beyond which requests get 503")


class Version(BaseModel):
    version: str
    build: str
    commit: str
    image: str = Field(description="the image this node runs, repository@sha256:… (or empty)")
    image_digest: str = Field(description="its digest, sha256:… (or empty)")
    engine: str
    model_id: str
    model_sha256: str
    region: str
    config_version: str
    voices: dict[str, str] = Field(description="voice id -> model SHA-256")
