"""A participation certificate end to end, through the gateway: an event is completed with one
participant checked in at the door and one absent, an operator issues certificates, the one who
attended receives a message whose link downloads the PDF, and anyone verifies its code, on the
API and on the portal's public page."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
from pypdf import PdfReader

from helpers import Mailpit, bearer, create_open_event, register, staff_token, wait_until

SUBJECT = "Сертификат участника"


def _pdf_text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() or "" for page in pages).split())


def _registered(gateway: httpx.Client, event_id: str, name: str) -> dict[str, Any]:
    email = f"certificate.{uuid.uuid4().hex[:8]}@example.org"
    answer = register(gateway, event_id, email, full_name=name)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "confirmed"
    return {"email": email, **answer.json()}


def test_an_attendee_receives_the_certificate_link_and_anyone_verifies_the_code(
    gateway: httpx.Client, operator_token: str, mailpit: Mailpit
) -> None:
    event = create_open_event(
        gateway,
        operator_token,
        title="Очная стратегическая сессия экспертов",
        track="in_person_session",
        format="in_person",
        venue="Москва, ул. Новый Арбат, 36",
    )
    attendee = _registered(gateway, event["id"], "Баир Цыренов")
    absent = _registered(gateway, event["id"], "Отсутствующий Участник")
    view = gateway.get(
        "/api/registration/registrations/by-link", params={"token": attendee["manage_token"]}
    )
    door = bearer(staff_token(gateway, operator_token, "check_in"))
    checked = gateway.post(
        f"/api/registration/events/{event['id']}/check-in",
        json={"code": view.json()["check_in_code"]},
        headers=door,
    )
    assert checked.status_code == 200, checked.text
    for action in ("close-registration", "complete"):
        moved = gateway.post(
            f"/api/registration/events/{event['id']}/{action}", headers=bearer(operator_token)
        )
        assert moved.status_code == 200, moved.text

    issued = gateway.post(
        f"/api/registration/events/{event['id']}/certificates", headers=bearer(operator_token)
    )

    assert issued.status_code == 200, issued.text
    assert (issued.json()["attended"], issued.json()["issued"]) == (1, 1)
    assert issued.json()["hours"] == 3.0

    def arrived() -> list[dict[str, Any]]:
        return [
            m for m in mailpit.messages_to(attendee["email"]) if m["Subject"].startswith(SUBJECT)
        ]

    [summary] = wait_until(arrived, timeout=45, what=f"«{SUBJECT}» to {attendee['email']}")
    message = mailpit.message(summary["ID"])
    assert event["title"] in message["Subject"]
    link = next(
        line.split(": ", 1)[1].strip()
        for line in message["Text"].splitlines()
        if "certificate.pdf?token=" in line
    )
    assert f'href="{link}"' in message["HTML"].replace("&amp;", "&")

    pdf = gateway.get(link)

    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    text = _pdf_text(pdf.content)
    assert "Баир Цыренов" in text
    assert event["title"] in text
    own = gateway.get(
        "/api/registration/registrations/by-link/certificate",
        params={"token": attendee["manage_token"]},
    )
    code = own.json()["code"]
    assert code in text
    verified = gateway.get(f"/api/registration/certificates/{code}")
    assert verified.status_code == 200, verified.text
    assert verified.json()["full_name"] == "Баир Цыренов"
    assert verified.json()["event_title"] == event["title"]
    # The address printed on the certificate opens the portal, which shows the verification.
    page = gateway.get(f"/certificates/{code}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    unknown = gateway.get("/api/registration/certificates/ABCD-EFGH-JKLM")
    assert unknown.status_code == 404
    assert unknown.json()["detail"].startswith("unknown certificate")
    # The one who stayed away gets neither a certificate nor a message about one.
    none = gateway.get(
        "/api/registration/registrations/by-link/certificate.pdf",
        params={"token": absent["manage_token"]},
    )
    assert none.status_code == 404
    assert not [m for m in mailpit.messages_to(absent["email"]) if m["Subject"].startswith(SUBJECT)]
