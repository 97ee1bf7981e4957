"""Text of uploaded files, for search: PDF through pypdf, plain text as it is."""

from __future__ import annotations

import logging
from typing import BinaryIO

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from etnik.content.sniffing import PDF, TEXT

log = logging.getLogger(__name__)

# Enough text to index a long collection; a bigger file is indexed by its beginning.
MAX_TEXT_CHARS = 500_000
MAX_PDF_PAGES = 500


def extracts_text(mime: str) -> bool:
    """Whether text is taken out of files of this type."""
    return mime in {PDF, TEXT}


def extract_text(mime: str, source: BinaryIO) -> str:
    """The text of a file read from a seekable stream; empty when it cannot be read.

    Blocking: run it in a worker thread.
    """
    try:
        if mime == PDF:
            return _pdf_text(source)
        if mime == TEXT:
            return source.read(MAX_TEXT_CHARS * 4).decode("utf-8", errors="replace")[
                :MAX_TEXT_CHARS
            ]
    except (PyPdfError, ValueError, OSError, KeyError, IndexError, TypeError) as error:
        # A damaged PDF is still a valid upload; it is only not searchable by its text.
        log.warning("could not extract text from a %s file: %r", mime, error)
    return ""


def _pdf_text(source: BinaryIO) -> str:
    reader = PdfReader(source)
    parts: list[str] = []
    total = 0
    for page in reader.pages[:MAX_PDF_PAGES]:
        text = page.extract_text() or ""
        parts.append(text)
        total += len(text)
        if total >= MAX_TEXT_CHARS:
            break
    return "\n".join(parts)[:MAX_TEXT_CHARS]
