"""A participation certificate as a one-page A4 landscape PDF in Russian.

Pure: values in, bytes out. The Cyrillic font must be registered first
(etnik.common.pdf_fonts.register_fonts); building is blocking, so run it in a worker thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.colors import HexColor
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table

from etnik.common.pdf_fonts import BOLD, REGULAR
from etnik.registration.certificates import hours_text
from etnik.registration.ticket import MOSCOW, QrFlowable, qr_matrix

_MONTHS = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
_ACCENT = HexColor("#1f4e79")
_MUTED = HexColor("#555555")
_PAGE = landscape(A4)


@dataclass(frozen=True)
class CertificateSheet:
    """Everything printed on a certificate."""

    full_name: str
    event_title: str
    programme_title: str
    event_date: date
    event_end_date: date | None
    hours: float
    code: str
    verification_url: str
    issued_at: datetime


def day_text(day: date) -> str:
    """«1 марта 2027 г.»."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year} г."


def days_text(first: date, last: date | None) -> str:
    """One day, or a span: «1–3 марта 2027 г.», «30 марта – 2 апреля 2027 г.»."""
    if last is None or last == first:
        return day_text(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{day_text(last)}"
    if first.year == last.year:
        return f"{first.day} {_MONTHS[first.month - 1]} – {day_text(last)}"
    return f"{day_text(first)} – {day_text(last)}"


def certificate_pdf(sheet: CertificateSheet) -> bytes:
    """The certificate: the programme, the participant's name, the event, its date and hours,
    and at the foot the verification code, the public page that checks it and its QR code."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=_PAGE,
        title=f"Сертификат участника: {sheet.event_title}",
        author=sheet.programme_title,
        subject=f"Сертификат участника программы «{sheet.programme_title}»",
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=20 * mm,
        bottomMargin=16 * mm,
        invariant=True,
    )
    verification = Table(
        [
            [
                [
                    Paragraph(f"Код проверки: <b>{escape(sheet.code)}</b>", styles["code"]),
                    Paragraph(
                        f"Проверить подлинность: {escape(sheet.verification_url)}",
                        styles["hint"],
                    ),
                    Paragraph(
                        f"Выдан {day_text(sheet.issued_at.astimezone(MOSCOW).date())}",
                        styles["hint"],
                    ),
                ],
                QrFlowable(qr_matrix(sheet.verification_url), 30 * mm),
            ]
        ],
        colWidths=[None, 34 * mm],
        style=[
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ],
    )
    story: list[Any] = [
        Paragraph(f"«{escape(sheet.programme_title)}»", styles["programme"]),
        Spacer(1, 8 * mm),
        Paragraph("СЕРТИФИКАТ УЧАСТНИКА", styles["heading"]),
        Spacer(1, 6 * mm),
        Paragraph("Настоящий сертификат подтверждает, что", styles["body"]),
        Paragraph(escape(sheet.full_name), styles["name"]),
        Paragraph("принял(а) участие в мероприятии", styles["body"]),
        Paragraph(f"«{escape(sheet.event_title)}»", styles["event"]),
        Paragraph(
            f"Дата проведения: {days_text(sheet.event_date, sheet.event_end_date)} · "
            f"Объём: {hours_text(sheet.hours)}",
            styles["facts"],
        ),
        Spacer(1, 10 * mm),
        verification,
    ]
    document.build(story, onFirstPage=_frame)
    return buffer.getvalue()


def _frame(canvas: Any, document: Any) -> None:
    """A double border in the programme's colour."""
    width, height = _PAGE
    canvas.saveState()
    canvas.setStrokeColor(_ACCENT)
    canvas.setLineWidth(2.5)
    canvas.rect(9 * mm, 9 * mm, width - 18 * mm, height - 18 * mm)
    canvas.setLineWidth(0.8)
    canvas.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    canvas.restoreState()


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle(
        "CertificateBody", fontName=REGULAR, fontSize=13, leading=18, alignment=TA_CENTER
    )
    return {
        "body": body,
        "programme": ParagraphStyle(
            "CertificateProgramme", parent=body, fontName=BOLD, fontSize=14, textColor=_ACCENT
        ),
        "heading": ParagraphStyle(
            "CertificateHeading", parent=body, fontName=BOLD, fontSize=30, leading=36
        ),
        "name": ParagraphStyle(
            "CertificateName",
            parent=body,
            fontName=BOLD,
            fontSize=24,
            leading=30,
            spaceBefore=6,
            spaceAfter=6,
        ),
        "event": ParagraphStyle(
            "CertificateEvent", parent=body, fontName=BOLD, fontSize=16, leading=21, spaceBefore=4
        ),
        "facts": ParagraphStyle("CertificateFacts", parent=body, spaceBefore=8),
        "code": ParagraphStyle(
            "CertificateCode", parent=body, fontSize=12, leading=16, alignment=0
        ),
        "hint": ParagraphStyle(
            "CertificateHint", parent=body, fontSize=9, leading=12, textColor=_MUTED, alignment=0
        ),
    }
