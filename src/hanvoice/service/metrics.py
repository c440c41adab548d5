"""Prometheus series for one app (a registry per app, so tests can run several apps).

Everything is named ``hanvoice_*``. Features add their own series to ``Metrics.registry``.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "hanvoice_requests",
            "HTTP requests by route, status and emotion (synthesis).",
            ["route", "method", "status", "emotion"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "hanvoice_request_duration_seconds",
            "Time to the end of the response, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.synthesis_seconds = Histogram(
            "hanvoice_synthesis_seconds",
            "Inference + encoding time of one request.",
            ["voice", "format"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.first_audio_seconds = Histogram(
            "hanvoice_first_audio_seconds",
            "Request start to the first audio bytes (streams).",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.audio_seconds = Counter(
            "hanvoice_audio_seconds", "Seconds of audio synthesized.", ["voice"], registry=r
        )
        self.characters = Counter(
            "hanvoice_characters", "Characters of input text synthesized.", ["voice"], registry=r
        )
        self.syntheses = Counter(
            "hanvoice_syntheses",
            "Syntheses by emotion and format.",
            ["emotion", "format"],
            registry=r,
        )
        self.transcriptions = Counter(
            "hanvoice_transcriptions", "Transcriptions answered (speech to text).", registry=r
        )
        self.transcribed_seconds = Counter(
            "hanvoice_transcribed_audio_seconds", "Seconds of audio transcribed.", registry=r
        )
        self.transcription_seconds = Histogram(
            "hanvoice_transcription_seconds",
            "Decoding + recognition time of one transcription.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "hanvoice_errors", "Error responses by error code.", ["code"], registry=r
        )
        self.overloaded = Counter(
            "hanvoice_overloaded",
            "Requests refused with 503 because the queue was full.",
            registry=r,
        )
        self.inflight = Gauge(
            "hanvoice_inflight_requests",
            "Synthesis requests admitted (running or queued).",
            registry=r,
        )
        self.queue_depth = Gauge(
            "hanvoice_queue_depth", "Pieces of work waiting for a core (scheduler).", registry=r
        )
        self.pieces_running = Gauge(
            "hanvoice_pieces_running", "Pieces of work running on a core now.", registry=r
        )
        self.backlog = Gauge(
            "hanvoice_backlog_seconds",
            "Expected seconds for the admitted work to drain (admission compares it with "
            "max_backlog).",
            registry=r,
        )
        self.queue_wait = Histogram(
            "hanvoice_queue_wait_seconds",
            "Admission to the first piece of a request running on a core.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.workers = Gauge("hanvoice_workers", "Cores the scheduler runs pieces on.", registry=r)
        self.ready = Gauge("hanvoice_ready", "1 when the node accepts work.", registry=r)
        self.build_info = Gauge(
            "hanvoice_build_info",
            "Build and model identity (value is always 1).",
            ["version", "build", "commit", "region", "engine", "model_id", "model_sha256"],
            registry=r,
        )

    def bind(
        self,
        *,
        inflight: Callable[[], float],
        queued: Callable[[], float],
        running: Callable[[], float],
        backlog: Callable[[], float],
        ready: Callable[[], float],
    ) -> None:
        """Read live gauges from the components at scrape time."""
        self.inflight.set_function(inflight)
        self.queue_depth.set_function(queued)
        self.pieces_running.set_function(running)
        self.backlog.set_function(backlog)
        self.ready.set_function(ready)

    def render(self) -> bytes:
        return generate_latest(self.registry)
