"""Batch synthesis: a prompt set or a book to one audio file per item and a manifest,
resumable, on local worker processes or on a Ray cluster (``hanvoice batch``)."""

from hanvoice.batch.inputs import Defaults, read_items
from hanvoice.batch.items import Item, Outcome
from hanvoice.batch.job import JobOptions, Summary, run_job

__all__ = ["Defaults", "Item", "JobOptions", "Outcome", "Summary", "read_items", "run_job"]
