"""The ticket of an in-person or hybrid event, rendered from plain values: who gets one, the
QR code (decoded by zxing-cpp, an independent reader), and the PDF (its text read by pypdf,
its QR code rendered by PDFium and decoded again)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest
import zxingcpp
from pypdf import PdfReader

from etnik.common.pdf_fonts import DEFAULT_BOLD_FONT_FILE, DEFAULT_FONT_FILE, register_fonts
from etnik.registration.domain import qr_value, ticket_refusal
from etnik.registration.ticket import Ticket, qr_svg, schedule_lines, ticket_pdf
from qr_images import grey_raster, svg_modules, ticket_qr_image

CODE = "K7M2PX9Q"
VENUE = "Москва, ул. Покровка, 47, Дом народов России"
TITLE = "Очная стратегическая сессия экспертов «ЭтНик»"
NAME = "Айаал Николаевич Николаев"


def _ticket(**overrides: Any) -> Ticket:
    values: dict[str, Any] = {
        "participant_name": NAME,
        "event_title": TITLE,
        "starts_at": datetime(2027, 3, 1, 11, 0, tzinfo=UTC),
        "ends_at": datetime(2027, 3, 1, 14, 0, tzinfo=UTC),
        "event_format": "in_person",
        "venue": VENUE,
        "check_in_code": CODE,
        "participant_timezone": "Asia/Yakutsk",
        "event_timezone": "Europe/Moscow",
        **overrides,
    }
    return Ticket(**values)


def _pdf(ticket: Ticket) -> bytes:
    register_fonts(DEFAULT_FONT_FILE, DEFAULT_BOLD_FONT_FILE, setting="PDF_FONT_FILE")
    return ticket_pdf(ticket)


def _text(pdf: bytes) -> str:
    """The PDF's text, lines joined by spaces (a long title wraps)."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() or "" for page in pages).split())


def _decoded(image: Any) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(image)]


# --- Who gets a ticket ------------------------------------------------------------------------


@pytest.mark.parametrize("event_format", ["in_person", "hybrid"])
def test_a_confirmed_registration_of_an_event_at_a_venue_has_a_ticket(event_format: str) -> None:
    refusal = ticket_refusal(
        registration_status="confirmed",
        event_status="registration_open",
        event_format=event_format,
        check_in_code=CODE,
    )
    assert refusal is None


@pytest.mark.parametrize(
    ("status", "event_status", "event_format", "reason"),
    [
        ("waitlisted", "registration_open", "in_person", "only for a confirmed registration"),
        ("pending_approval", "closed", "hybrid", "this one is pending approval"),
        ("offered", "registration_open", "in_person", "this one is offered"),
        ("cancelled", "registration_open", "in_person", "this one is cancelled"),
        ("confirmed", "registration_open", "online", "online only"),
        ("confirmed", "cancelled", "in_person", "the event is cancelled"),
        ("confirmed", "cancelled", "hybrid", "the event is cancelled"),
    ],
)
def test_any_other_registration_is_told_why_it_has_none(
    status: str, event_status: str, event_format: str, reason: str
) -> None:
    refusal = ticket_refusal(
        registration_status=status,
        event_status=event_status,
        event_format=event_format,
        check_in_code=CODE,
    )
    assert refusal is not None
    assert reason in refusal


# --- The QR code ------------------------------------------------------------------------------


def test_the_qr_svg_decodes_to_what_the_console_checks_in() -> None:
    svg = qr_svg(qr_value(CODE))
    assert svg.lstrip().startswith(b"<?xml") or svg.lstrip().startswith(b"<svg")

    matrix = svg_modules(svg)
    pixels, width, height = grey_raster(matrix)

    assert _decoded(memoryview(pixels).cast("B", (height, width))) == ["ETNIK1:" + CODE]


def test_the_qr_svg_is_on_white_with_its_quiet_zone() -> None:
    matrix = svg_modules(qr_svg(qr_value(CODE)))
    border = [*matrix[:4], *matrix[-4:], *(row[:4] + row[-4:] for row in matrix)]
    assert not any(any(row) for row in border)
    assert b'fill="#fff"' in qr_svg(qr_value(CODE))


# --- The PDF ----------------------------------------------------------------------------------


def test_the_pdf_ticket_names_the_participant_and_the_event_in_russian() -> None:
    pdf = _pdf(_ticket())

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (420, 595)  # A5
    text = _text(pdf)
    for expected in (
        "ЭтНик: стратегия в практике",
        "Билет участника",
        NAME,
        TITLE,
        VENUE,
        "очно",
        f"Код для входа: {CODE}",
        "1 марта 2027 г., 14:00–17:00 МСК",
        "1 марта 2027 г., 20:00–23:00 (UTC+9)",
    ):
        assert expected in text, f"{expected!r} is not in the ticket: {text}"
    assert reader.metadata is not None
    assert reader.metadata.title == f"Билет участника: {TITLE}"


def test_the_pdf_tickets_qr_code_scans() -> None:
    image = ticket_qr_image(_pdf(_ticket()))

    assert _decoded(image) == ["ETNIK1:" + CODE]


def test_a_long_title_and_venue_keep_the_qr_code_on_the_first_page() -> None:
    pdf = _pdf(_ticket(event_title="Сессия " * 42, venue="Улица " * 80, event_format="hybrid"))

    assert "очно и онлайн" in _text(pdf)
    assert _decoded(ticket_qr_image(pdf)) == ["ETNIK1:" + CODE]


def test_text_that_looks_like_markup_is_printed_as_is() -> None:
    name = "Анна <b>Иванова</b> & Co"
    assert name in _text(_pdf(_ticket(participant_name=name)))


# --- When -------------------------------------------------------------------------------------


def test_moscow_time_always_and_the_participants_own_where_it_differs() -> None:
    assert schedule_lines(_ticket(participant_timezone="Europe/Moscow")) == [
        ("Дата и время", "1 марта 2027 г., 14:00–17:00 МСК")
    ]
    assert schedule_lines(_ticket(participant_timezone="Asia/Kamchatka"))[1] == (
        "По вашему времени",
        "1 марта 2027 г., 23:00 — 2 марта 2027 г., 02:00 (UTC+12)",
    )
    assert schedule_lines(_ticket(participant_timezone=None)) == [
        ("Дата и время", "1 марта 2027 г., 14:00–17:00 МСК")
    ]


def test_the_venues_own_time_where_it_differs_from_both() -> None:
    lines = schedule_lines(
        _ticket(participant_timezone="Asia/Kamchatka", event_timezone="Asia/Novosibirsk")
    )
    assert lines[2] == ("По времени места проведения", "1 марта 2027 г., 18:00–21:00 (UTC+7)")
    same = schedule_lines(
        _ticket(participant_timezone="Asia/Novosibirsk", event_timezone="Asia/Novosibirsk")
    )
    assert [label for label, _ in same] == ["Дата и время", "По вашему времени"]


def test_an_unknown_zone_is_left_out_rather_than_failing() -> None:
    assert len(schedule_lines(_ticket(participant_timezone="Mars/Olympus"))) == 1
