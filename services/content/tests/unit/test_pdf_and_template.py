"""Strategy template and PDF building: plain values, no I/O beyond the font file."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from etnik.common.pdf_fonts import FontMissing, register_fonts
from etnik.content.pdf import CollectionEntry, StrategySection, collection_pdf, strategy_pdf
from etnik.content.settings import ContentSettings
from etnik.content.strategy_template import (
    SECTIONS,
    changed_sections,
    initial_sections,
    participation_text,
)

SETTINGS = ContentSettings()


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_template_is_prefilled_with_the_organisations_participation() -> None:
    participation = [
        {
            "event_id": "e1",
            "title": "Стратегическая сессия ПФО",
            "starts_at": datetime(2022, 11, 29, 11, tzinfo=UTC),
            "federal_district": "ПФО",
            "confirmed": 3,
            "attended": 2,
        }
    ]
    sections = initial_sections({"name": "АНО «Дружба»", "federal_district": "ПФО"}, participation)
    assert list(sections) == list(SECTIONS)
    assert "АНО «Дружба»" in sections["profile"]
    assert sections["participation"] == (
        "• 29.11.2022 — Стратегическая сессия ПФО, ПФО: зарегистрировано 3, присутствовало 2"
    )
    assert sections["goals"].startswith("[")


def test_no_participation_is_said_plainly() -> None:
    assert "пока нет" in participation_text([])


def test_changed_sections_are_in_document_order() -> None:
    before = {"goals": "a", "profile": "b"}
    after = {"goals": "x", "profile": "y", "partners": ""}
    assert changed_sections(before, after) == ["profile", "goals"]


def test_a_missing_font_says_what_to_install() -> None:
    with pytest.raises(FontMissing, match="fonts-dejavu-core"):
        register_fonts(Path("/nonexistent/DejaVuSans.ttf"), None, setting="PDF_FONT_FILE")


def test_a_strategy_pdf_carries_cyrillic_text() -> None:
    register_fonts(SETTINGS.pdf_font_file, SETTINGS.pdf_bold_font_file, setting="PDF_FONT_FILE")
    pdf = strategy_pdf(
        "Национально-культурная автономия",
        [StrategySection("Цели развития", "Открыть воскресную школу <языка> & музей")],
        version=3,
        updated_at=datetime(2024, 5, 1, tzinfo=UTC),
    )
    text = _text(pdf)
    assert "Национально-культурная автономия" in text
    assert "Открыть воскресную школу <языка> & музей" in text
    assert "Редакция 3 от 01.05.2024" in text


def test_a_collection_pdf_has_a_table_of_contents_with_pages() -> None:
    register_fonts(SETTINGS.pdf_font_file, SETTINGS.pdf_bold_font_file, setting="PDF_FONT_FILE")
    entries = [
        CollectionEntry("Первая рекомендация", "Рекомендации", ["Иванова А. П."], "Описание"),
        CollectionEntry("Видеоролик", "Видео", link="https://rutube.ru/video/abc/"),
    ]
    reader = PdfReader(io.BytesIO(collection_pdf("Сборник «ЭтНик»", None, entries)))
    contents = reader.pages[0].extract_text() or ""
    assert "Содержание" in contents
    assert "Первая рекомендация" in contents
    assert "Видеоролик" in contents
    # Each material starts on its own page, after the contents page.
    assert len(reader.pages) == 3
    assert "Иванова А. П." in (reader.pages[1].extract_text() or "")
