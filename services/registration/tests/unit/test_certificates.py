"""The pure rules of certificates: who earns one, its code, its hours and how it reads."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader

from etnik.common.pdf_fonts import register_fonts
from etnik.registration.certificate_pdf import CertificateSheet, certificate_pdf, days_text
from etnik.registration.certificates import (
    NotACode,
    counts_as_attended,
    default_hours,
    event_days,
    hours_text,
    new_certificate_code,
    normalise_code,
    public_view,
)
from etnik.registration.settings import RegistrationSettings

START = datetime(2027, 3, 1, 11, 0, tzinfo=UTC)


def test_a_code_is_random_grouped_and_read_back_however_it_is_typed() -> None:
    codes = {new_certificate_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", code)
        assert normalise_code(code) == code
    assert normalise_code(" abcd efgh-jklm ") == "ABCD-EFGH-JKLM"
    # Typed on a Russian keyboard: А, В, Е, К, М, Н, Р, С, Т, Х look like the Latin letters.
    assert normalise_code("АВСЕ-КМНР-ТХ23") == "ABCE-KMHP-TX23"


@pytest.mark.parametrize(
    "typed", ["", "ABCD-EFGH-JKL", "ABCD-EFGH-JKLMN", "ABCD-EFGH-JKL0", "1" * 12]
)
def test_what_cannot_be_a_code_is_refused_with_the_reason(typed: str) -> None:
    with pytest.raises(NotACode, match="12 Latin letters and digits"):
        normalise_code(typed)


@pytest.mark.parametrize(
    ("registration", "earns"),
    [
        ({"status": "confirmed", "attendance": {"status": "attended"}}, True),
        ({"status": "confirmed", "attendance": {"status": "no_show"}}, False),
        ({"status": "confirmed"}, False),
        ({"status": "cancelled", "attendance": {"status": "attended"}}, False),
        ({"status": "waitlisted"}, False),
    ],
)
def test_only_an_attended_confirmed_registration_earns_one(
    registration: dict[str, object], earns: bool
) -> None:
    assert counts_as_attended(registration) is earns


@pytest.mark.parametrize(
    ("minutes", "hours"),
    [(180, 3.0), (100, 1.5), (104, 1.5), (105, 2.0), (10, 0.5), (721, 12.0), (736, None)],
)
def test_hours_are_the_length_to_the_half_hour_within_a_working_day(
    minutes: int, hours: float | None
) -> None:
    assert default_hours(START, START + timedelta(minutes=minutes)) == hours


@pytest.mark.parametrize(
    ("hours", "text"),
    [(1, "1 час"), (3, "3 часа"), (5, "5 часов"), (11, "11 часов"), (21, "21 час"),
     (22, "22 часа"), (1.5, "1,5 часа"), (0.5, "0,5 часа"), (12.5, "12,5 часа")],
)  # fmt: skip
def test_hours_read_in_russian(hours: float, text: str) -> None:
    assert hours_text(hours) == text


def test_dates_are_the_events_own_days() -> None:
    late_in_moscow = {
        "starts_at": datetime(2027, 3, 1, 22, 0, tzinfo=UTC),
        "timezone": "Asia/Yakutsk",
    }
    assert event_days(late_in_moscow) == (date(2027, 3, 2), date(2027, 3, 2))
    assert days_text(date(2027, 3, 1), None) == "1 марта 2027 г."
    assert days_text(date(2027, 3, 1), date(2027, 3, 3)) == "1–3 марта 2027 г."
    assert days_text(date(2027, 3, 30), date(2027, 4, 2)) == "30 марта – 2 апреля 2027 г."


def test_the_public_view_withholds_an_erased_name() -> None:
    stored = {
        "code": "ABCD-EFGH-JKLM",
        "full_name": None,
        "name_withheld": True,
        "person_id": "p1",
        "event_title": "Сессия",
        "programme_title": "ЭтНик: стратегия в практике",
        "event_date": "2027-03-01",
        "hours": 3.0,
        "issued_at": START,
    }
    shown = public_view(stored)
    assert shown["full_name"] is None
    assert shown["name_withheld"] is True
    assert "person_id" not in shown


def test_the_pdf_is_a4_landscape_with_everything_it_states() -> None:
    settings = RegistrationSettings()
    register_fonts(settings.pdf_font_file, settings.pdf_bold_font_file, setting="PDF_FONT_FILE")
    sheet = CertificateSheet(
        full_name="Айаал Николаев",
        event_title="Стратегическая онлайн-сессия по ДФО",
        programme_title="ЭтНик: стратегия в практике",
        event_date=date(2027, 3, 1),
        event_end_date=None,
        hours=1.5,
        code="ABCD-EFGH-JKLM",
        verification_url="https://etnik.example/certificates/ABCD-EFGH-JKLM",
        issued_at=START,
    )

    reader = PdfReader(io.BytesIO(certificate_pdf(sheet)))

    [page] = reader.pages
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    assert (round(width), round(height)) == (842, 595)  # A4, landscape
    text = " ".join((page.extract_text() or "").split())
    for expected in (
        "Айаал Николаев",
        "Стратегическая онлайн-сессия по ДФО",
        "1 марта 2027 г.",
        "1,5 часа",
        "Код проверки: ABCD-EFGH-JKLM",
        "https://etnik.example/certificates/ABCD-EFGH-JKLM",
    ):
        assert expected in text, f"{expected!r} is not on the certificate: {text}"
