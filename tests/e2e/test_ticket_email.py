"""A participant's ticket reaches them by email, on the real stack: the confirmation of an
in-person event shows their QR code inline and carries the PDF ticket (their name, the event,
Moscow and their own time, the venue) beside the calendar file; the QR code in the email and
on the ticket checks them in. An online event's confirmation and a waitlisted person's message
carry no ticket."""

from __future__ import annotations

import io
import uuid
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from etnik.devstack import Stack
from helpers import Mailpit, create_open_event, register, wait_until
from qr_images import ticket_qr_image

VENUE = "Казань, ул. Пушкина, 86, Дом Дружбы народов Татарстана"
MANAGE_PATH = "/registrations/manage?token="


def _person(role: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:8]
    return {"email": f"ticket.{role}.{suffix}@example.org", "full_name": f"Мария Билетова {role}"}


@pytest.fixture(scope="module")
def in_person_event(gateway: httpx.Client, operator_token: str) -> dict[str, Any]:
    """An in-person event with one place: a confirmed participant and a waitlisted one."""
    event = create_open_event(
        gateway,
        operator_token,
        title="Очная стратегическая сессия в Казани",
        track="in_person_session",
        format="in_person",
        venue=VENUE,
        federal_district="ПФО",
        capacity=1,
    )
    people: dict[str, Any] = {"event": event}
    for role in ("confirmed", "waitlisted"):
        person = _person(role)
        answer = register(gateway, event["id"], person["email"], full_name=person["full_name"])
        assert answer.status_code == 201, answer.text
        assert answer.json()["status"] == role
        people[role] = person
    return people


@pytest.fixture(scope="module")
def online_participant(gateway: httpx.Client, operator_token: str) -> dict[str, str]:
    """A confirmed participant of an online event."""
    event = create_open_event(
        gateway,
        operator_token,
        title="Онлайн-сессия без билета",
        online_link=f"https://telemost.yandex.ru/j/ticket-e2e-{uuid.uuid4().hex}",
    )
    person = _person("online")
    answer = register(gateway, event["id"], person["email"], full_name=person["full_name"])
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "confirmed"
    return person


def _mail(mailpit: Mailpit, address: str, subject_start: str) -> dict[str, Any]:
    """The one message to this address whose subject starts so, as Mailpit shows it."""

    def arrived() -> list[dict[str, Any]]:
        return [m for m in mailpit.messages_to(address) if m["Subject"].startswith(subject_start)]

    [summary] = wait_until(arrived, timeout=60, what=f"«{subject_start}» to {address}")
    return mailpit.message(summary["ID"])


def _raw(infra: Stack, message_id: str) -> EmailMessage:
    """The message exactly as the SMTP server received it, parsed."""
    answer = httpx.get(f"{infra.mailpit_api}/api/v1/message/{message_id}/raw", timeout=10)
    answer.raise_for_status()
    parsed = message_from_bytes(answer.content, policy=email_policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _parts(email: EmailMessage) -> dict[str, EmailMessage]:
    """The leaf parts of an email by content type; each type must appear once."""
    parts: dict[str, EmailMessage] = {}
    for part in email.walk():
        if part.is_multipart():
            continue
        assert isinstance(part, EmailMessage)
        assert part.get_content_type() not in parts, f"two {part.get_content_type()} parts"
        parts[part.get_content_type()] = part
    return parts


def _pdf_text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() or "" for page in pages).split())


def _qr_value_of(gateway: httpx.Client, text: str) -> str:
    """What the participant's QR code encodes, as their own registration page says."""
    line = next(line for line in text.splitlines() if MANAGE_PATH in line)
    token = line.split("token=", 1)[1].strip()
    view = gateway.get("/api/registration/registrations/by-link", params={"token": token})
    assert view.status_code == 200, view.text
    qr_value: str = view.json()["qr_value"]
    assert qr_value
    return qr_value


def test_the_confirmation_carries_the_ticket_and_shows_the_qr_code_inline(
    infra: Stack, gateway: httpx.Client, mailpit: Mailpit, in_person_event: dict[str, Any]
) -> None:
    person = in_person_event["confirmed"]
    summary = _mail(mailpit, person["email"], "Регистрация подтверждена")
    assert sorted(a["FileName"] for a in summary["Attachments"]) == ["event.ics", "ticket.pdf"]
    [inline] = summary["Inline"]
    assert inline["ContentType"] == "image/png"
    assert "Во вложении — ваш именной билет (ticket.pdf)" in summary["Text"]

    email = _raw(infra, summary["ID"])
    parts = _parts(email)
    assert set(parts) == {
        "text/plain",
        "text/html",
        "image/png",
        "text/calendar",
        "application/pdf",
    }
    html, image = parts["text/html"].get_content(), parts["image/png"]
    content_id = image["Content-ID"].strip("<>")
    assert f'src="cid:{content_id}"' in html
    assert 'alt="QR-код для входа на мероприятие' in html
    assert image.get_content_disposition() == "inline"
    ticket = parts["application/pdf"]
    assert (ticket.get_filename(), ticket.get_content_disposition()) == ("ticket.pdf", "attachment")

    pdf = ticket.get_content()
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf)
    for expected in (
        person["full_name"],
        in_person_event["event"]["title"],
        VENUE,
        "14:00–17:00 МСК",
        "По вашему времени",  # Kamchatka, the participant's own zone
        ", 23:00 — ",
        "(UTC+12)",
    ):
        assert expected in text, f"{expected!r} is not in the ticket: {text}"

    # Both codes are the participant's: the one in the email and the one on the ticket.
    qr_value = _qr_value_of(gateway, summary["Text"])
    [shown] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
    assert shown.text == qr_value
    assert zxingcpp.read_barcodes(ticket_qr_image(pdf))[0].text == qr_value


def test_a_waitlisted_person_gets_no_ticket(
    mailpit: Mailpit, in_person_event: dict[str, Any]
) -> None:
    message = _mail(mailpit, in_person_event["waitlisted"]["email"], "Лист ожидания")
    assert message["Attachments"] == []
    assert message["Inline"] == []
    assert "cid:" not in message["HTML"]
    assert "ticket.pdf" not in message["Text"]


def test_an_online_events_confirmation_has_no_ticket(
    mailpit: Mailpit, online_participant: dict[str, str]
) -> None:
    message = _mail(mailpit, online_participant["email"], "Регистрация подтверждена")
    assert [a["FileName"] for a in message["Attachments"]] == ["event.ics"]
    assert message["Inline"] == []
    assert "cid:" not in message["HTML"]
    assert "ticket.pdf" not in message["Text"]
    assert "Во вложении — файл для календаря" in message["Text"]
