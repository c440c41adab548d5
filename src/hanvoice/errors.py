"""Domain errors.

Core code raises these and knows nothing of HTTP; ``hanvoice.service.errors`` maps each
``code`` to a status, and the CLI prints ``message`` and exits 2 (client mistake) or 1.
"""

from __future__ import annotations


class HanvoiceError(Exception):
    """Base of every error hanvoice raises on purpose.

    ``code`` is a stable machine-readable identifier (it appears in JSON error bodies and
    logs); ``client_error`` says whether the caller's input was at fault.
    """

    code = "internal_error"
    client_error = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TextError(HanvoiceError):
    """The text cannot be synthesized (empty, nothing speakable, invalid SSML)."""

    code = "invalid_text"
    client_error = True


class EmptyText(TextError):
    code = "empty_text"


class TextTooLong(TextError):
    code = "text_too_long"


class AudioTooLong(TextError):
    """The request would make more audio than ``max_audio_seconds`` (breaks, slow speed)."""

    code = "audio_too_long"


class AnswerTooLarge(TextError):
    """A whole answer would be larger than ``max_answer_bytes``; a stream has no such bound."""

    code = "answer_too_large"


class SSMLError(TextError):
    code = "invalid_ssml"


class InvalidCharacter(TextError):
    """A lone surrogate or a non-character: not Unicode text (names the field and where)."""

    code = "invalid_character"


class InvalidParameter(HanvoiceError):
    """A synthesis parameter is out of range or unknown (speed, pitch, format, ...)."""

    code = "invalid_parameter"
    client_error = True


class UnknownEmotion(InvalidParameter):
    code = "unknown_emotion"


class VoiceNotFound(HanvoiceError):
    """No voice with that id is installed; never silently replaced by the default."""

    code = "voice_not_found"
    client_error = True


class VoiceAssetError(HanvoiceError):
    """A voice's files are missing or do not match their recorded SHA-256."""

    code = "voice_assets"


class EngineError(HanvoiceError):
    """Inference failed for a reason that is not the caller's fault."""

    code = "engine_error"


class ConfigError(HanvoiceError):
    """A setting is invalid (names the key and why); the operator's mistake, so exit 2."""

    code = "invalid_config"
    client_error = True


class Overloaded(HanvoiceError):
    """All workers are busy and the queue is full; retry after ``retry_after`` seconds."""

    code = "overloaded"

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ContentRejected(TextError):
    """The content filter matched; names the categories, never the matched words."""

    code = "content_rejected"

    def __init__(self, categories: tuple[str, ...]) -> None:
        super().__init__(
            f"text was rejected by the content filter (category: {', '.join(categories)})"
        )
        self.categories = categories


class Degraded(Overloaded):
    """Read-only (degrade) mode: only cached audio is served; a miss is retried later."""

    code = "degraded"


class _WithHeaders(HanvoiceError):
    """An error whose HTTP answer carries headers (``WWW-Authenticate``, ``Retry-After``)."""

    def __init__(self, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.headers = dict(headers or {})


class Unauthorized(_WithHeaders):
    """No credential, or one that is not valid (bad signature, expired, unknown key)."""

    code = "unauthorized"
    client_error = True


class Forbidden(_WithHeaders):
    """A valid credential without the scope this route needs."""

    code = "forbidden"
    client_error = True


class RateLimited(_WithHeaders):
    """Too many requests for this key, subject or client address; headers say when to retry."""

    code = "rate_limited"
    client_error = True


class AudioError(HanvoiceError):
    """Uploaded or given audio cannot be used (not audio, an unknown container, silence)."""

    code = "invalid_audio"
    client_error = True


class RecordingTooLong(AudioError):
    """An upload lasts longer than the limit (checked while decoding, before recognition)."""

    code = "audio_too_long"


class RecognizerUnavailable(HanvoiceError):
    """Speech recognition is not installed here (the optional ``asr`` extra)."""

    code = "asr_unavailable"
