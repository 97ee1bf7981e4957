"""A ticket holder's message, built without I/O: which kinds carry the QR code and the PDF, how
the templates show them, and how the email puts the QR image inline beside the HTML."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

import pytest
import zxingcpp
from PIL import Image

from etnik.notification.channels import _WIRE_POLICY, Attachment, EmailChannel, OutgoingMessage
from etnik.notification.domain import DeliveryDetails, needs_ticket_pdf, ticket_qr_value
from etnik.notification.rendering import (
    QR_PIXELS_PER_MODULE,
    QR_QUIET_ZONE,
    TemplateRenderer,
    event_context,
    qr_png,
)
from etnik.notification.settings import NotificationSettings

QR_VALUE = "ETNIK1:ABCD2345"
MANAGE = "https://etnik.example/registrations/manage?token=t"
TICKET_HOLDER = DeliveryDetails("confirmed", MANAGE, check_in_code="ABCD2345", qr_value=QR_VALUE)
ONLINE = DeliveryDetails("confirmed", MANAGE, online_link="https://telemost.yandex.ru/j/1")
WAITLISTED = DeliveryDetails("waitlisted", MANAGE)
QR_ID = "ticket-qr.m1@etnik.local"
SESSION = datetime(2027, 3, 1, 11, 0, tzinfo=UTC)


def test_a_confirmation_carries_the_qr_code_and_the_pdf_ticket() -> None:
    assert ticket_qr_value("registration_confirmed", TICKET_HOLDER) == QR_VALUE
    assert needs_ticket_pdf("registration_confirmed", TICKET_HOLDER)


def test_a_reminder_shows_the_qr_code_without_asking_for_the_pdf() -> None:
    assert ticket_qr_value("event_reminder", TICKET_HOLDER) == QR_VALUE
    assert not needs_ticket_pdf("event_reminder", TICKET_HOLDER)


@pytest.mark.parametrize("details", [ONLINE, WAITLISTED, None])
def test_without_a_ticket_there_is_neither(details: DeliveryDetails | None) -> None:
    for kind in ("registration_confirmed", "event_reminder"):
        assert ticket_qr_value(kind, details) is None
        assert not needs_ticket_pdf(kind, details)


@pytest.mark.parametrize("kind", ["registration_waitlisted", "event_changed", "event_cancelled"])
def test_other_messages_carry_no_ticket(kind: str) -> None:
    assert ticket_qr_value(kind, TICKET_HOLDER) is None
    assert not needs_ticket_pdf(kind, TICKET_HOLDER)


def test_the_qr_value_stays_out_of_reprs() -> None:
    assert QR_VALUE not in repr(TICKET_HOLDER)


def test_the_qr_image_decodes_to_the_value_and_has_its_quiet_zone() -> None:
    image = Image.open(io.BytesIO(qr_png(QR_VALUE)))
    assert image.format == "PNG"
    [found] = zxingcpp.read_barcodes(image)
    assert found.text == QR_VALUE
    # The light margin round the code (a dark page round it would not scan): all white.
    margin = QR_QUIET_ZONE * QR_PIXELS_PER_MODULE
    grey = image.convert("L")
    assert grey.crop((0, 0, image.width, margin)).getextrema() == (255, 255)
    assert grey.crop((0, 0, margin, image.height)).getextrema() == (255, 255)
    assert grey.crop((margin, margin, margin + 7, margin + 7)).getextrema() == (0, 0)  # a finder


def _render(kind: str, locale: str, **values: object) -> tuple[str, str]:
    event = {"title": "Очная сессия <ЦФО>", "starts_at": SESSION, "format": "in_person"}
    context = {
        "recipient": {"full_name": "Анна Иванова"},
        "event": event_context(event, locale=locale, recipient_zone="Asia/Kamchatka"),
        "manage_url": MANAGE,
        "check_in_code": "ABCD2345",
        **values,
    }
    rendered = TemplateRenderer().render(kind, locale, context)
    return rendered.text, rendered.html


def test_the_confirmation_shows_the_qr_image_and_says_the_ticket_is_attached() -> None:
    text, html = _render(
        "registration_confirmed", "ru", ticket_qr_src=f"cid:{QR_ID}", ticket_attached=True
    )
    assert f'<img src="cid:{QR_ID}"' in html
    assert 'alt="QR-код для входа на мероприятие «Очная сессия &lt;ЦФО&gt;»"' in html
    assert "именной билет (ticket.pdf)" in html
    assert "Во вложении — ваш именной билет (ticket.pdf) с QR-кодом для входа" in text
    assert "cid:" not in text


def test_a_confirmation_without_a_ticket_mentions_the_calendar_file_only() -> None:
    text, html = _render("registration_confirmed", "ru")
    assert "<img" not in html
    assert "ticket.pdf" not in text
    assert "ticket.pdf" not in html
    assert "Во вложении — файл для календаря. До встречи!" in text


def test_english_recipients_read_about_their_ticket_in_english() -> None:
    text, html = _render(
        "registration_confirmed", "en", ticket_qr_src=f"cid:{QR_ID}", ticket_attached=True
    )
    assert f'<img src="cid:{QR_ID}"' in html
    assert "Your personal ticket (ticket.pdf)" in text


@pytest.mark.parametrize("locale", ["ru", "en"])
def test_a_reminder_shows_the_qr_image(locale: str) -> None:
    text, html = _render("event_reminder", locale, ticket_qr_src=f"cid:{QR_ID}")
    assert f'<img src="cid:{QR_ID}"' in html
    assert "cid:" not in text
    _, without = _render("event_reminder", locale)
    assert "<img" not in without


def _wire(message: OutgoingMessage) -> EmailMessage:
    """The email as the SMTP server receives it, parsed back."""
    wire = EmailChannel(NotificationSettings())._build(message).as_bytes(policy=_WIRE_POLICY)
    parsed = message_from_bytes(wire, policy=email_policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _message(html: str | None, *attachments: Attachment) -> OutgoingMessage:
    return OutgoingMessage(
        message_id="m1",
        to_address="anna@example.org",
        to_name="Анна Иванова",
        subject="Регистрация подтверждена",
        text="Во вложении — ваш билет.",
        html=html,
        attachments=attachments,
    )


CALENDAR = Attachment("event.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text", "calendar")
PDF = Attachment("ticket.pdf", b"%PDF-1.4 ticket", "application", "pdf")
QR = Attachment("qr.png", qr_png(QR_VALUE), "image", "png", content_id=QR_ID)


def test_the_qr_image_is_related_to_the_html_and_the_files_are_attached() -> None:
    email = _wire(_message(f'<p><img src="cid:{QR_ID}" alt="QR-код"></p>', CALENDAR, PDF, QR))

    assert email.get_content_type() == "multipart/mixed"
    body, calendar, ticket = email.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    text, related = body.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    assert related.get_param("type") == "text/html"
    html, image = related.iter_parts()
    assert f"cid:{QR_ID}" in html.get_content()
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == f"<{QR_ID}>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == QR.content

    assert (calendar.get_filename(), calendar.get_content_type()) == ("event.ics", "text/calendar")
    assert (ticket.get_filename(), ticket.get_content_type()) == ("ticket.pdf", "application/pdf")
    assert ticket.get_content_disposition() == "attachment"
    assert ticket.get_content() == PDF.content


def test_a_message_without_inline_images_keeps_its_shape() -> None:
    email = _wire(_message("<p>Привет</p>", CALENDAR))
    body, calendar = email.iter_parts()
    assert [part.get_content_type() for part in body.iter_parts()] == ["text/plain", "text/html"]
    assert calendar.get_filename() == "event.ics"


def test_without_an_html_part_the_image_goes_as_a_file() -> None:
    email = _wire(_message(None, QR))
    text, image = email.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert (image.get_filename(), image.get_content_disposition()) == ("qr.png", "attachment")
