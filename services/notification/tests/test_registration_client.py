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
)

SECRET = "s" * 40
LINK = "https://telemost.yandex.ru/j/42"


class StandIn:
    """Answers as registration does; counts token requests; refuses tokens it did not issue."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.delivery_status = 200

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
                      "online_link": LINK, "check_in_code": None},
            )  # fmt: skip
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
