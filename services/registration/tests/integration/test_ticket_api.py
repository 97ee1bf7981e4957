"""The ticket of an in-person or hybrid event through the signed management link (the QR code
as SVG, the PDF) and for the notification service, on the real stack: who gets one, and the
answers to everyone else (409 with the reason, a forged link 403, an expired one 410)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import zxingcpp
from pypdf import PdfReader

from etnik.common.settings import DEVELOPMENT_NOTIFICATION_CLIENT_SECRET
from qr_images import grey_raster, svg_modules, ticket_qr_image

if TYPE_CHECKING:
    from conftest import RegistrationApp

VENUE = "Казань, ул. Пушкина, 86, Дом Дружбы народов Татарстана"
NAME = "Айаал Николаев"  # the name conftest registers with
TICKET_PATHS = ("/registrations/by-link/qr.svg", "/registrations/by-link/ticket.pdf")
CREDENTIALS = {"client_id": "notification", "client_secret": DEVELOPMENT_NOTIFICATION_CLIENT_SECRET}


async def _in_person(registration: RegistrationApp, **overrides: Any) -> dict[str, Any]:
    fields = {
        "title": "Очная стратегическая сессия в Казани",
        "format": "in_person",
        "venue": VENUE,
        "online_link": None,
        "federal_district": "ПФО",
        **overrides,
    }
    return await registration.event(**fields)


async def _registered(registration: RegistrationApp, event_id: str, status: str) -> Any:
    answer = await registration.register(event_id, timezone="Asia/Yakutsk")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == status
    return body


async def _get(registration: RegistrationApp, path: str, token: str) -> httpx.Response:
    return await registration.client.get(path, params={"token": token})


async def _view(registration: RegistrationApp, token: str) -> Any:
    return (await _get(registration, "/registrations/by-link", token)).json()


def _text(pdf: bytes) -> str:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() or "" for page in pages).split())


async def test_a_confirmed_participant_gets_the_qr_code_that_checks_them_in(
    registration: RegistrationApp,
) -> None:
    event = await _in_person(registration)
    confirmed = await _registered(registration, event["id"], "confirmed")
    qr_value = (await _view(registration, confirmed["manage_token"]))["qr_value"]

    answer = await _get(registration, TICKET_PATHS[0], confirmed["manage_token"])

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "image/svg+xml"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-security-policy"] == "default-src 'none'"
    pixels, width, height = grey_raster(svg_modules(answer.content))
    [found] = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))
    assert found.text == qr_value
    # The door scans it: the console's check-in path takes exactly this value.
    door = await registration.operator(["check_in"])
    checked = await registration.client.post(
        f"/events/{event['id']}/check-in",
        json={"code": found.text},
        headers=registration.auth(door),
    )
    assert checked.status_code == 200, checked.text
    assert checked.json()["registration_id"] == confirmed["id"]


async def test_a_confirmed_participant_downloads_the_pdf_ticket(
    registration: RegistrationApp,
) -> None:
    event = await _in_person(registration, format="hybrid", online_link="https://vk.com/video1")
    confirmed = await _registered(registration, event["id"], "confirmed")
    view = await _view(registration, confirmed["manage_token"])

    answer = await _get(registration, TICKET_PATHS[1], confirmed["manage_token"])

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-disposition"] == (
        'attachment; filename="etnik-ticket-2027-03-01.pdf"'
    )
    text = _text(answer.content)
    for expected in (
        "ЭтНик: стратегия в практике",
        NAME,
        event["title"],
        VENUE,
        "очно и онлайн",
        f"Код для входа: {view['check_in_code']}",
        "1 марта 2027 г., 14:00–17:00 МСК",
        "1 марта 2027 г., 20:00–23:00 (UTC+9)",  # Якутск, the participant's own zone
    ):
        assert expected in text, f"{expected!r} is not in the ticket: {text}"
    assert "vk.com" not in text  # a ticket is for the door; the session link stays in the mail
    assert zxingcpp.read_barcodes(ticket_qr_image(answer.content))[0].text == view["qr_value"]


@pytest.mark.parametrize("path", TICKET_PATHS)
async def test_a_waitlisted_participant_has_no_ticket_yet(
    registration: RegistrationApp, path: str
) -> None:
    event = await _in_person(registration, capacity=1)
    await _registered(registration, event["id"], "confirmed")
    waiting = await _registered(registration, event["id"], "waitlisted")

    answer = await _get(registration, path, waiting["manage_token"])

    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"] == (
        "a ticket is issued only for a confirmed registration; this one is waitlisted"
    )


@pytest.mark.parametrize("path", TICKET_PATHS)
async def test_an_online_event_has_no_ticket(registration: RegistrationApp, path: str) -> None:
    event = await registration.event()  # online
    confirmed = await _registered(registration, event["id"], "confirmed")

    answer = await _get(registration, path, confirmed["manage_token"])

    assert answer.status_code == 409, answer.text
    assert answer.json()["detail"] == (
        "this event is online only: there is no ticket, join by the session link"
    )


async def test_a_cancelled_registration_loses_its_ticket(registration: RegistrationApp) -> None:
    event = await _in_person(registration)
    confirmed = await _registered(registration, event["id"], "confirmed")
    token = confirmed["manage_token"]
    assert (await _get(registration, TICKET_PATHS[0], token)).status_code == 200

    cancelled = await registration.client.post(
        "/registrations/by-link/cancel", params={"token": token}
    )
    assert cancelled.status_code == 200, cancelled.text

    for path in TICKET_PATHS:
        answer = await _get(registration, path, token)
        assert answer.status_code == 409, answer.text
        assert answer.json()["detail"].endswith("this one is cancelled")


async def test_a_cancelled_event_has_no_tickets(registration: RegistrationApp) -> None:
    event = await _in_person(registration)
    confirmed = await _registered(registration, event["id"], "confirmed")
    stopped = await registration.client.post(
        f"/events/{event['id']}/cancel", headers=registration.auth(registration.admin_token)
    )
    assert stopped.status_code == 200, stopped.text

    for path in TICKET_PATHS:
        answer = await _get(registration, path, confirmed["manage_token"])
        assert answer.status_code == 409, answer.text
        assert answer.json()["detail"] == "the event is cancelled: there is no ticket"


@pytest.mark.parametrize("path", TICKET_PATHS)
async def test_a_forged_or_expired_link_gets_no_ticket(
    registration: RegistrationApp, path: str
) -> None:
    event = await _in_person(registration)
    confirmed = await _registered(registration, event["id"], "confirmed")
    key = registration.container.signing_key
    forged = confirmed["manage_token"][:-4] + "AAAA"
    expired = key.sign_link(purpose="manage", subject=confirmed["id"], ttl_s=-60)
    invitation = key.sign_link(purpose="invitation", subject=confirmed["id"], ttl_s=600)

    assert (await _get(registration, path, forged)).status_code == 403
    assert (await _get(registration, path, "not-a-token")).status_code == 403
    assert (await _get(registration, path, invitation)).status_code == 403  # another purpose
    gone = await _get(registration, path, expired)
    assert gone.status_code == 410
    assert gone.json()["detail"] == "this link has expired"
    missing = await registration.client.get(path)
    assert missing.status_code == 422


async def test_notification_gets_the_ticket_to_attach_and_nobody_else_does(
    registration: RegistrationApp,
) -> None:
    event = await _in_person(registration)
    confirmed = await _registered(registration, event["id"], "confirmed")
    online = await _registered(registration, (await registration.event())["id"], "confirmed")
    signed_in = await registration.client.post("/auth/service-token", json=CREDENTIALS)
    service = signed_in.json()["access_token"]
    operator = await registration.operator(["operator", "check_in"])
    path = f"/registrations/{confirmed['id']}/delivery/ticket.pdf"

    answer = await registration.client.get(path, headers=registration.auth(service))

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "no-store"
    assert NAME in _text(answer.content)
    assert (await registration.client.get(path)).status_code == 401
    refused = await registration.client.get(path, headers=registration.auth(operator))
    assert refused.status_code == 403
    none = await registration.client.get(
        f"/registrations/{online['id']}/delivery/ticket.pdf", headers=registration.auth(service)
    )
    assert none.status_code == 409
    unknown = await registration.client.get(
        "/registrations/no-such-registration/delivery/ticket.pdf",
        headers=registration.auth(service),
    )
    assert unknown.status_code == 404
