"""The read from registration at send time, against a stand-in registration: the service token
is bought once and renewed when refused, and every failure is one the dispatcher waits out,
except a registration that registration does not know."""

from __future__ import annotations

import json

import httpx
import pytest

from etnik.notification.registration_client import (
    RegistrationClient,
    RegistrationUnavailable,
    RegistrationUnknown,
    TicketWithheld,
)

SECRET = "s" * 40
LINK = "https://telemost.yandex.ru/j/42"
QR_VALUE = "ETNIK1:ABCD2345"
TICKET = b"%PDF-1.4\n% a participant's ticket\n"


class StandIn:
    """Answers as registration does; counts token requests; refuses tokens it did not issue."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.delivery_status = 200
        self.ticket_status = 200
        self.ticket_body = TICKET

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/service-token":
            body = json.loads(request.content)
            if body != {"client_id": "notification", "client_secret": SECRET}:
                return httpx.Response(401, json={"detail": "unknown client or wrong secret"})
            token = f"token-{len(self.issued)}"
            self.issued.append(token)
            self.valid.add(token)
            return httpx.Response(200, json={"access_token": token, "expires_in": 300})
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid:
            return httpx.Response(401, json={"detail": "token expired"})
        if request.url.path == "/registrations/r1/delivery":
            return httpx.Response(
                self.delivery_status,
                json={"registration_id": "r1", "status": "confirmed", "manage_url": "https://m",
                      "online_link": LINK, "check_in_code": "ABCD2345", "qr_value": QR_VALUE},
            )  # fmt: skip
        if request.url.path == "/registrations/r1/delivery/ticket.pdf":
            if self.ticket_status == 409:
                return httpx.Response(409, json={"detail": "this event is online only"})
            return httpx.Response(
                self.ticket_status,
                content=self.ticket_body,
                headers={"content-type": "application/pdf"},
            )
        if request.url.path.startswith("/registrations/"):
            return httpx.Response(404, json={"detail": "unknown registration"})
        return httpx.Response(404, json={"detail": "Not Found"})


def client(stand_in: StandIn, secret: str = SECRET) -> RegistrationClient:
    return RegistrationClient(
        "http://registration", secret, timeout_s=1, transport=httpx.MockTransport(stand_in)
    )


async def test_details_are_read_with_one_token_for_many_reads() -> None:
    stand_in = StandIn()
    reader = client(stand_in)
    for _ in range(3):
        details = await reader.delivery("r1")
    assert (details.status, details.manage_url, details.online_link) == (
        "confirmed",
        "https://m",
        LINK,
    )
    assert stand_in.issued == ["token-0"]
    assert LINK not in repr(details)  # never in a log line by accident


async def test_a_refused_token_is_renewed_once() -> None:
    stand_in = StandIn()
    reader = client(stand_in)
    await reader.delivery("r1")
    stand_in.valid.clear()  # expired, or signed by a key rotated out
    await reader.delivery("r1")
    assert stand_in.issued == ["token-0", "token-1"]


async def test_wrong_credentials_and_failures_are_waited_out() -> None:
    with pytest.raises(RegistrationUnavailable, match="HTTP 401") as refused:
        await client(StandIn(), secret="w" * 40).delivery("r1")
    assert SECRET not in str(refused.value)
    stand_in = StandIn()
    stand_in.delivery_status = 503
    with pytest.raises(RegistrationUnavailable, match="HTTP 503"):
        await client(stand_in).delivery("r1")


async def test_an_unreachable_registration_is_waited_out() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    reader = RegistrationClient(
        "http://registration", SECRET, timeout_s=1, transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(RegistrationUnavailable, match="ConnectError"):
        await reader.delivery("r1")


async def test_only_an_unknown_registration_is_final() -> None:
    with pytest.raises(RegistrationUnknown):
        await client(StandIn()).delivery("r2")


async def test_ids_cannot_leave_the_delivery_path() -> None:
    # Quoted whole: "../auth/jwks" stays one path segment, answered as an unknown registration.
    with pytest.raises(RegistrationUnknown):
        await client(StandIn()).delivery("../auth/jwks")


async def test_the_qr_value_is_read_and_kept_out_of_reprs() -> None:
    details = await client(StandIn()).delivery("r1")
    assert details.qr_value == QR_VALUE
    assert QR_VALUE not in repr(details)


async def test_the_ticket_is_read_with_the_same_token_and_renewed_once_if_refused() -> None:
    stand_in = StandIn()
    reader = client(stand_in)
    await reader.delivery("r1")
    assert await reader.ticket_pdf("r1") == TICKET
    assert stand_in.issued == ["token-0"]
    stand_in.valid.clear()
    assert await reader.ticket_pdf("r1") == TICKET
    assert stand_in.issued == ["token-0", "token-1"]


async def test_a_withheld_ticket_says_why() -> None:
    stand_in = StandIn()
    stand_in.ticket_status = 409
    with pytest.raises(TicketWithheld, match="online only"):
        await client(stand_in).ticket_pdf("r1")


async def test_a_failing_or_garbled_ticket_is_waited_out() -> None:
    stand_in = StandIn()
    stand_in.ticket_status = 503
    with pytest.raises(RegistrationUnavailable, match="HTTP 503"):
        await client(stand_in).ticket_pdf("r1")
    stand_in.ticket_status = 200
    stand_in.ticket_body = b"<html>a proxy's error page</html>"
    with pytest.raises(RegistrationUnavailable, match="other than a PDF"):
        await client(stand_in).ticket_pdf("r1")


async def test_the_ticket_of_an_unknown_registration_is_final() -> None:
    with pytest.raises(RegistrationUnknown):
        await client(StandIn()).ticket_pdf("r2")
