"""A participant's ticket for an in-person or hybrid event: the QR code the console scans at
the door (SVG for the participant's page, drawn into the PDF) and an A5 PDF in Russian.

Pure: values in, bytes out. The PDF needs the Cyrillic font registered first
(etnik.common.pdf_fonts.register_fonts); building it is blocking, so run it in a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A5
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from etnik.common.pdf_fonts import BOLD, REGULAR
from etnik.registration.domain import qr_value

PROGRAMME = "ЭтНик: стратегия в практике"
MOSCOW = ZoneInfo("Europe/Moscow")
FORMAT_LABELS = {"in_person": "очно", "hybrid": "очно и онлайн", "online": "онлайн"}
# Four modules of light margin around the code, as the QR standard asks for.
QUIET_ZONE = 4
_MONTHS = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
_ACCENT = HexColor("#1f4e79")
_MUTED = HexColor("#555555")


# --- The QR code ---------------------------------------------------------------------------


def qr_code(value: str) -> segno.QRCode:
    """The QR code of a value: a full (not micro) code, error correction M, which survives a
    crease or a scratched phone screen; the version is the smallest that fits."""
    return segno.make_qr(value, error="m", boost_error=False)


def qr_svg(value: str, *, scale: int = 8) -> bytes:
    """The QR code as a standalone SVG image, `scale` pixels a module, on a white square with
    its quiet zone (dark modules on a dark page would not scan)."""
    buffer = io.BytesIO()
    qr_code(value).save(
        buffer, kind="svg", scale=scale, border=QUIET_ZONE, dark="#000", light="#fff"
    )
    return buffer.getvalue()


def qr_matrix(value: str) -> list[list[bool]]:
    """The modules of the QR code, dark is True, rows from the top, quiet zone included."""
    return [[bool(module) for module in row] for row in qr_code(value).matrix_iter(QUIET_ZONE)]


class QrFlowable(Flowable):
    """A QR matrix drawn as vector squares `size` points wide (sharp at any print size)."""

    def __init__(self, matrix: Sequence[Sequence[bool]], size: float) -> None:
        super().__init__()
        self.matrix = matrix
        self.size = size
        self.hAlign = "CENTER"

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        canvas: Any = self.canv
        module = self.size / len(self.matrix)
        canvas.setFillColor(white)
        canvas.rect(0, 0, self.size, self.size, stroke=0, fill=1)
        path = canvas.beginPath()
        for row_number, row in enumerate(self.matrix):
            y = self.size - (row_number + 1) * module
            column = 0
            while column < len(row):
                if not row[column]:
                    column += 1
                    continue
                start = column
                while column < len(row) and row[column]:
                    column += 1
                # One rectangle per run of dark modules: fewer seams, a smaller file.
                path.rect(start * module, y, (column - start) * module, module)
        canvas.setFillColor(black)
        canvas.drawPath(path, stroke=0, fill=1)


# --- What the ticket says ------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    """Everything printed on a ticket."""

    participant_name: str
    event_title: str
    starts_at: datetime
    ends_at: datetime | None
    event_format: str
    venue: str | None
    check_in_code: str
    # The participant's own zone (their messages are written in it) and the event's.
    participant_timezone: str | None = None
    event_timezone: str | None = None

    @property
    def qr_value(self) -> str:
        """What the ticket's QR code encodes."""
        return qr_value(self.check_in_code)


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _day(moment: datetime) -> str:
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year} г."


def _span(starts_at: datetime, ends_at: datetime | None, zone: ZoneInfo) -> str:
    """«1 марта 2027 г., 14:00–17:00»; the end's date too when it falls on another day."""
    start = starts_at.astimezone(zone)
    text = f"{_day(start)}, {start:%H:%M}"
    if ends_at is None:
        return text
    end = ends_at.astimezone(zone)
    if end.date() == start.date():
        return f"{text}–{end:%H:%M}"
    return f"{text} — {_day(end)}, {end:%H:%M}"


def _utc_offset(moment: datetime) -> str:
    """«UTC+9», «UTC+5:30», «UTC−1»."""
    offset = moment.utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def schedule_lines(ticket: Ticket) -> list[tuple[str, str]]:
    """When, as (label, text): Moscow time always, as the programme announces it; the
    participant's own time where it differs; the venue's local time where it differs from
    both (someone travelling from another region needs it at the door)."""
    lines = [("Дата и время", f"{_span(ticket.starts_at, ticket.ends_at, MOSCOW)} МСК")]
    shown = {ticket.starts_at.astimezone(MOSCOW).utcoffset()}
    for label, name in (
        ("По вашему времени", ticket.participant_timezone),
        ("По времени места проведения", ticket.event_timezone),
    ):
        zone = _zone(name)
        if zone is None:
            continue
        local = ticket.starts_at.astimezone(zone)
        if local.utcoffset() in shown:
            continue
        shown.add(local.utcoffset())
        text = f"{_span(ticket.starts_at, ticket.ends_at, zone)} ({_utc_offset(local)})"
        lines.append((label, text))
    return lines


def ticket_pdf(ticket: Ticket) -> bytes:
    """The ticket as a one-page A5 PDF: the event, the participant, the QR code with the
    code beneath it, when (Moscow and own time), where and in what format."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A5,
        title=f"Билет участника: {ticket.event_title}",
        author=PROGRAMME,
        subject=f"Билет участника программы «{PROGRAMME}»",
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        invariant=True,
    )
    facts: list[tuple[str, str]] = [
        *schedule_lines(ticket),
        ("Место проведения", ticket.venue or "организаторы сообщат письмом"),
        ("Формат", FORMAT_LABELS.get(ticket.event_format, ticket.event_format)),
    ]
    table = Table(
        [
            [Paragraph(escape(label), styles["label"]), Paragraph(escape(text), styles["fact"])]
            for label, text in facts
        ],
        colWidths=[38 * mm, None],
        style=[
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ],
    )
    story: list[Any] = [
        Paragraph(f"«{escape(PROGRAMME)}»", styles["programme"]),
        Paragraph("Билет участника", styles["heading"]),
        Paragraph(escape(ticket.event_title), styles["title"]),
        Paragraph(escape(ticket.participant_name), styles["name"]),
        KeepTogether(
            [
                QrFlowable(qr_matrix(ticket.qr_value), 48 * mm),
                Paragraph(f"Код для входа: <b>{escape(ticket.check_in_code)}</b>", styles["code"]),
            ]
        ),
        Spacer(1, 3 * mm),
        table,
        Spacer(1, 2 * mm),
        Paragraph(
            "Покажите QR-код на входе, с экрана или распечатанным, или назовите код. "
            "Билет именной: не передавайте его другим.",
            styles["hint"],
        ),
        Paragraph(
            "Отменить участие или скачать билет снова можно по ссылке из письма о регистрации.",
            styles["hint"],
        ),
    ]
    document.build(story)
    return buffer.getvalue()


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("TicketBody", fontName=REGULAR, fontSize=10, leading=13)
    return {
        "programme": ParagraphStyle(
            "TicketProgramme", parent=body, fontName=BOLD, fontSize=10, textColor=_ACCENT
        ),
        "heading": ParagraphStyle(
            "TicketHeading", parent=body, fontSize=9, textColor=_MUTED, spaceAfter=4
        ),
        "title": ParagraphStyle(
            "TicketTitle", parent=body, fontName=BOLD, fontSize=14, leading=17, spaceAfter=3
        ),
        "name": ParagraphStyle("TicketName", parent=body, fontSize=12, leading=15, spaceAfter=4),
        "code": ParagraphStyle(
            "TicketCode", parent=body, fontSize=13, leading=17, alignment=TA_CENTER, spaceBefore=2
        ),
        "label": ParagraphStyle("TicketLabel", parent=body, fontSize=9, textColor=_MUTED),
        "fact": body,
        "hint": ParagraphStyle(
            "TicketHint", parent=body, fontSize=8.5, leading=11, textColor=_MUTED, spaceAfter=2
        ),
    }
