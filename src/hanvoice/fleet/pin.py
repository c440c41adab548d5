"""Pin a region's overlay to an image digest: ``hanvoice fleet pin OVERLAY DIGEST``.

The first step of every wave of a rollout. It edits the one ``digest:`` line of the
overlay's ``kustomization.yaml`` in place (comments and layout stay as they are, so the
commit shows a one-line diff) instead of re-serialising the YAML.
"""

from __future__ import annotations

import re
from pathlib import Path

from hanvoice.errors import InvalidParameter
from hanvoice.fleet.plan import DIGEST

_LINE = re.compile(r"^(?P<indent>\s+digest:\s*)(?P<digest>\S+)\s*$", re.MULTILINE)


def pin_overlay(overlay: Path, digest: str) -> str:
    """Set the overlay's image digest; returns the digest it had before."""
    if not DIGEST.match(digest):
        raise InvalidParameter(f"digest must look like sha256:<64 hex digits>, not {digest!r}")
    path = overlay / "kustomization.yaml" if overlay.is_dir() else overlay
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidParameter(f"cannot read {path}: {exc.strerror or exc}") from exc
    found = list(_LINE.finditer(text))
    if len(found) != 1:
        raise InvalidParameter(
            f"{path} must have exactly one `digest:` line under images, found {len(found)}"
        )
    old = found[0]["digest"]
    new_text = text[: found[0].start("digest")] + digest + text[found[0].end("digest") :]
    try:
        path.write_text(new_text, encoding="utf-8")
    except OSError as exc:
        raise InvalidParameter(f"cannot write {path}: {exc.strerror or exc}") from exc
    return old
