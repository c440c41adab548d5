"""Audio cache: a content-addressed key, an in-process LRU and a shared Redis tier."""

from hanvoice.cache.entry import CachedAudio
from hanvoice.cache.key import audio_cache_key, normalize_input
from hanvoice.cache.tiered import AudioCache, Hit, build_cache

__all__ = ["AudioCache", "CachedAudio", "Hit", "audio_cache_key", "build_cache", "normalize_input"]
