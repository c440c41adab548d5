"""The Mellotron voice set: 24 speakers from the ttskit wheel (optional extra ``voices``)."""

from hanvoice.engines.mellotron.engine import MellotronEngine

__all__ = ["MellotronEngine"]
