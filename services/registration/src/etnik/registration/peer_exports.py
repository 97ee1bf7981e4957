"""Reads each other service's part of a person's export, for registration to gather into one.

Notification, content and reporting each answer `GET /people/{id}/export` to operators and to
registration's service token (signed here, so no secret is exchanged). A service that does not
answer in time, cannot be reached or answers something else is reported as a missing section
with the reason: the export is never silently incomplete, and never waits on one service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

COMPLETE = "complete"
MISSING = "missing"
# Why a section is missing (the PDF says each in Russian).
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
REFUSED = "refused"
FAILED = "failed"


def missing(reason: str, detail: str) -> dict[str, Any]:
    """A section that could not be read, and why."""
    return {"status": MISSING, "reason": reason, "detail": detail}


class PeerExports:
    """The other services' export endpoints, read side by side within one timeout."""

    def __init__(
        self,
        peers: Mapping[str, str],
        service_token: Callable[[], str],
        *,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._peers = {name: url.rstrip("/") for name, url in peers.items()}
        self._service_token = service_token
        self._timeout_s = timeout_s
        self._transport = transport

    @property
    def names(self) -> list[str]:
        """The services read, in the order their sections appear."""
        return list(self._peers)

    async def gather(self, person_id: str) -> dict[str, dict[str, Any]]:
        """Each service's section: `{"status": "complete", "data": …}` or a missing one."""
        headers = {"Authorization": f"Bearer {self._service_token()}"}
        async with httpx.AsyncClient(
            timeout=self._timeout_s, headers=headers, transport=self._transport
        ) as client:
            sections = await asyncio.gather(
                *(self._read(client, name, url, person_id) for name, url in self._peers.items())
            )
        return dict(zip(self._peers, sections, strict=True))

    async def _read(
        self, client: httpx.AsyncClient, name: str, url: str, person_id: str
    ) -> dict[str, Any]:
        path = f"{url}/people/{quote(person_id, safe='')}/export"
        try:
            # One bound for the whole exchange (httpx's timeout is per read).
            response = await asyncio.wait_for(client.get(path), timeout=self._timeout_s)
        except (TimeoutError, httpx.TimeoutException):
            log.warning("the %s service did not answer a person's export in time", name)
            return missing(TIMEOUT, f"{name} did not answer within {self._timeout_s:g} s")
        except httpx.HTTPError as error:
            log.warning("the %s service could not be reached for an export", name)
            return missing(UNREACHABLE, f"{name} unreachable ({type(error).__name__})")
        if response.status_code in {401, 403}:
            log.error("the %s service refused registration's token (HTTP %d)", name,
                      response.status_code)  # fmt: skip
            return missing(REFUSED, f"{name} refused registration (HTTP {response.status_code})")
        if response.status_code != 200:
            return missing(FAILED, f"{name} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("service") != name:
            return missing(FAILED, f"{name} answered something unreadable")
        return {"status": COMPLETE, "data": body}
