"""Text for search comes out of PDF and plain-text uploads."""

from __future__ import annotations

import io
from collections.abc import Callable

from etnik.content.extraction import extract_text, extracts_text
from etnik.content.sniffing import PDF, TEXT

PdfMaker = Callable[..., bytes]


def test_text_comes_out_of_a_pdf(make_pdf: PdfMaker) -> None:
    pdf = make_pdf("Стратегия развития этнокультурных НКО", "Второй раздел")
    text = extract_text(PDF, io.BytesIO(pdf))
    assert "Стратегия развития этнокультурных НКО" in text
    assert "Второй раздел" in text


def test_plain_text_is_read_as_utf8() -> None:
    assert extract_text(TEXT, io.BytesIO("Повестка дня".encode())) == "Повестка дня"


def test_a_damaged_pdf_gives_no_text_rather_than_an_error() -> None:
    assert extract_text(PDF, io.BytesIO(b"%PDF-1.7\n garbage")) == ""


def test_only_pdf_and_text_are_read() -> None:
    assert extracts_text(PDF)
    assert extracts_text(TEXT)
    assert not extracts_text("image/png")
