"""Reads from the registration service, at send time, what only registration may hold: the
owner's link to a registration, the session link and check-in code of a confirmed one, and
the PDF ticket of a confirmed participant of an in-person or hybrid event.

What is read goes into the message being composed and nowhere else: it is not stored, logged
or published. Each call carries a short-lived service token, bought with this service's
client secret (`POST /auth/service-token`) and renewed before it expires.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from etnik.notification.domain import DeliveryDetails

log = logging.getLogger(__name__)

CLIENT_ID = "notification"
# A token is renewed this long before it expires, so that none expires on its way.
TOKEN_RENEW_MARGIN_S = 30.0
# How registration says that it does not know a registration (any other 404, e.g. from an
# older version without the endpoint during an upgrade, is waited out).
UNKNOWN_REGISTRATION = "unknown registration"


class RegistrationUnavailable(Exception):
    """Registration did not answer, failed, or refused this service's credentials: the
    message waits and is tried again."""


class RegistrationUnknown(Exception):
    """Registration does not know the registration: the message cannot be completed."""


class TicketWithheld(Exception):
    """Registration gives no ticket for the registration (HTTP 409): it changed since its
    details were read (cancelled, the event moved online or cancelled), or the participant's
    data was erased. Tried again as a failed send, which reads the details afresh."""


class DeliveryLookup(Protocol):
    """Where the dispatcher reads what a message about a registration carries."""

    async def delivery(self, registration_id: str) -> DeliveryDetails:
        """The registration's details; RegistrationUnavailable or RegistrationUnknown."""
        ...

    async def ticket_pdf(self, registration_id: str) -> bytes:
        """The participant's PDF ticket; RegistrationUnavailable, RegistrationUnknown or
        TicketWithheld."""
        ...


class RegistrationClient:
    """Registration's `GET /registrations/{id}/delivery` and `.../delivery/ticket.pdf`, with a
    cached service token."""

    def __init__(
        self,
        base_url: str,
        client_secret: str,
        *,
        timeout_s: float,
        client_id: str = CLIENT_ID,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._timeout_s = timeout_s
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._token: str | None = None
        self._token_until = 0.0
        self._token_lock = asyncio.Lock()

    def _client(self) -> httpx.AsyncClient:
        if self._http is None or self._http.is_closed:
            self._http = httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout_s, transport=self._transport
            )
        return self._http

    async def delivery(self, registration_id: str) -> DeliveryDetails:
        """What a message about this registration carries, as registration says now."""
        response = await self._read(f"/registrations/{quote(registration_id, safe='')}/delivery")
        try:
            body: dict[str, Any] = response.json()
            return DeliveryDetails(
                status=str(body["status"]),
                manage_url=str(body["manage_url"]),
                online_link=body.get("online_link") or None,
                check_in_code=body.get("check_in_code") or None,
                qr_value=body.get("qr_value") or None,
                certificate_url=body.get("certificate_url") or None,
                survey_url=body.get("survey_url") or None,
            )
        except (ValueError, KeyError, TypeError):
            raise RegistrationUnavailable("registration answered something unreadable") from None

    async def ticket_pdf(self, registration_id: str) -> bytes:
        """The participant's PDF ticket, as the participant's own page gives it."""
        path = f"/registrations/{quote(registration_id, safe='')}/delivery/ticket.pdf"
        response = await self._read(path, withheld_with=409)
        if not response.content.startswith(b"%PDF-"):
            raise RegistrationUnavailable("registration answered something other than a PDF")
        return response.content

    async def _read(self, path: str, *, withheld_with: int | None = None) -> httpx.Response:
        """A 200 answer to a GET with the service token; the token is renewed once if refused.
        An unknown registration is final; `withheld_with` is the status that says registration
        gives nothing for this registration; any other failure is to be waited out."""
        token = await self._current_token(stale=None)
        response = await self._get(path, token)
        if response.status_code == 401:
            # Expired on the way, or signed by a key rotated out meanwhile: a new one, once.
            response = await self._get(path, await self._current_token(stale=token))
        if response.status_code == 404 and _detail(response) == UNKNOWN_REGISTRATION:
            raise RegistrationUnknown("registration does not know this registration")
        if withheld_with is not None and response.status_code == withheld_with:
            reason = _detail(response) or "no reason given"
            raise TicketWithheld(f"registration gives no ticket: {reason}")
        if response.status_code != 200:
            if response.status_code in {401, 403}:
                log.error(
                    "registration refused this service's token (HTTP %d)", response.status_code
                )
            raise RegistrationUnavailable(f"registration answered HTTP {response.status_code}")
        return response

    async def _get(self, path: str, token: str) -> httpx.Response:
        try:
            return await self._client().get(path, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as error:
            # The exception's text is not kept: only its type says what happened.
            raise RegistrationUnavailable(
                f"registration unreachable ({type(error).__name__})"
            ) from None

    async def _current_token(self, *, stale: str | None) -> str:
        """The cached token, or a new one when there is none, it is about to expire, or it is
        the one just refused (`stale`; concurrent callers renew it once between them)."""
        async with self._token_lock:
            if (
                self._token is not None
                and self._token != stale
                and time.monotonic() < self._token_until
            ):
                return self._token
            self._token = None
            try:
                response = await self._client().post(
                    "/auth/service-token",
                    json={"client_id": self._client_id, "client_secret": self._client_secret},
                )
            except httpx.HTTPError as error:
                raise RegistrationUnavailable(
                    f"registration unreachable ({type(error).__name__})"
                ) from None
            if response.status_code != 200:
                if response.status_code in {401, 403, 422}:
                    log.error(
                        "registration refused this service's credentials (HTTP %d): "
                        "check NOTIFICATION_CLIENT_SECRET on both services",
                        response.status_code,
                    )
                raise RegistrationUnavailable(
                    f"registration gave no service token (HTTP {response.status_code})"
                )
            try:
                body = response.json()
                token = str(body["access_token"])
                lifetime_s = float(body["expires_in"])
            except (ValueError, KeyError, TypeError):
                raise RegistrationUnavailable(
                    "registration answered something unreadable"
                ) from None
            self._token = token
            self._token_until = time.monotonic() + max(0.0, lifetime_s - TOKEN_RENEW_MARGIN_S)
            return token


def _detail(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("detail") if isinstance(body, dict) else None
