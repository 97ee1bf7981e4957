"""File types are judged by content: names can lie, bytes cannot."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest

from etnik.content.sniffing import DOCX, PDF, PPTX, TEXT, is_allowed, sniff


def _zip(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return buffer.getvalue()


PdfMaker = Callable[..., bytes]


def test_a_pdf_is_a_pdf(make_pdf: PdfMaker) -> None:
    assert sniff(make_pdf("Методические рекомендации")) == PDF


def test_office_documents_are_told_apart() -> None:
    docx = _zip({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"})
    pptx = _zip({"[Content_Types].xml": "<Types/>", "ppt/presentation.xml": "<p/>"})
    assert sniff(docx) == DOCX
    assert sniff(pptx) == PPTX


def test_a_bare_zip_is_not_an_office_document() -> None:
    assert sniff(_zip({"payload.exe": "MZ"})) == "application/zip"
    assert not is_allowed("application/zip")


def test_utf8_text_is_text() -> None:
    assert sniff("Повестка дня\n1. Открытие".encode()) == TEXT
    # A multi-byte letter cut at the end of the sniffed window is still text.
    assert sniff("Повестка".encode()[:-1]) == TEXT


@pytest.mark.parametrize(
    "content",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64,  # a Windows program
        b"\x7fELF\x02\x01\x01" + b"\x00" * 64,  # a Linux program
        b"\x00\x01\x02\x03binary",
    ],
)
def test_programs_and_unknown_binaries_are_refused(content: bytes) -> None:
    assert not is_allowed(sniff(content))


def test_images_and_video_are_recognised() -> None:
    assert sniff(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32) == "image/png"
    assert sniff(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 32) == "video/mp4"


def test_nothing_is_nothing() -> None:
    assert sniff(b"") is None
