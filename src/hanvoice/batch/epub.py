"""An EPUB's chapters in reading order, read with ``epubfile`` (BSD-3-Clause).

Not ebooklib: it is AGPL-3.0, which an MIT product cannot take in. ``epubfile`` reads the
package document and the spine the way the format defines them; we only take each linear
spine document's text (the navigation document is not a chapter) and its first heading as
the chapter's title.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hanvoice.batch.chapters import Chapter
from hanvoice.errors import InvalidParameter

INSTALL_HINT = "reading EPUB needs the batch extra: pip install 'hanvoice[batch]'"


def _library() -> Any:
    try:
        import epubfile
    except ModuleNotFoundError as exc:
        raise InvalidParameter(INSTALL_HINT) from exc
    return epubfile


@contextmanager
def quiet_library() -> Iterator[None]:
    """Silence what epubfile says about itself, not about the book: it parses the package
    document with ``html.parser`` on purpose (namespaces survive; bs4 warns "XML parsed as
    HTML") and leaves some files and its temporary folder to the garbage collector
    (ResourceWarning). The collector runs before we leave, inside the filter."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        warnings.filterwarnings("ignore", message=".*HTML parser to parse an XML document")
        try:
            yield
        finally:
            gc.collect()


def read_epub(path: Path) -> list[Chapter]:
    """Chapters of the book at ``path``; documents with no text (a cover image) are left out."""
    lib = _library()
    with quiet_library():
        return _read(lib, path)


def _read(lib: Any, path: Path) -> list[Chapter]:
    try:
        book = lib.Epub(str(path), read_only=True)
        ids = book.get_spine_order(linear_only=True)
        chapters = []
        for n, doc_id in enumerate(ids, 1):
            if book.get_manifest_item(doc_id).get("properties") == "nav":
                continue
            soup = book.read_file(doc_id, soup=True)
            chapter = _chapter(soup, f"{path.stem} {n}")
            if chapter is not None:
                chapters.append(chapter)
    except (lib.EpubfileException, OSError, KeyError, ValueError) as exc:
        raise InvalidParameter(f"cannot read EPUB {path}: {exc}") from exc
    except Exception as exc:  # zipfile.BadZipFile and friends: not an EPUB at all
        raise InvalidParameter(f"cannot read EPUB {path}: {exc!r}") from exc
    return chapters


def _chapter(soup: Any, fallback: str) -> Chapter | None:
    body = soup.find("body") or soup
    for tag in body.find_all(["script", "style"]):
        tag.decompose()
    blocks = [t.get_text(" ", strip=True) for t in body.find_all(_BLOCKS)]
    lines = [b for b in blocks if b] or [body.get_text("\n", strip=True)]
    text = "\n".join(lines).strip()
    if not text:
        return None
    head = body.find(["h1", "h2", "h3"]) or soup.find("title")
    title = head.get_text(" ", strip=True) if head is not None else ""
    return Chapter(title or fallback, text)


_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote"]
