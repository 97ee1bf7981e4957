"""Choosing a place for a registration, and taking it against concurrent writers.

A numbered place (a seat within the capacity, a place within the category's quota) is held by
a unique index. Whoever chooses a place may find it taken by the time the write arrives: the
write is refused (`PlaceTaken`) and `retry_while_taken` has the caller choose again.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from etnik.common.contracts.registration import (
    RegistrationConfirmed,
    RegistrationPendingApproval,
    RegistrationStatus,
    RegistrationWaitlisted,
)
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.registration.domain import Place, choose_place
from etnik.registration.errors import DomainError
from etnik.registration.repository import PlaceTaken, RegistrationRepository, unseated

T = TypeVar("T")

# Tries at a numbered place before answering 503; collisions need many concurrent writers.
PLACE_ATTEMPTS = 50
# Seat numbers tried blindly before the holders are read.
BLIND_TRIES = 3
# How long an event seen full sends newcomers straight to the waitlist.
FULL_EVENT_MEMORY_S = 2.0


async def retry_while_taken(
    attempt: Callable[[int], Awaitable[T]],
    *,
    busy: str = "too many changes at this moment; retry shortly",
) -> T:
    """Run `attempt(number)` again while the place it chose is taken meanwhile (PlaceTaken);
    503 with `busy` once PLACE_ATTEMPTS tries all met a taken place."""
    for number in range(PLACE_ATTEMPTS):
        try:
            return await attempt(number)
        except PlaceTaken:
            continue  # another registration took that number: choose again
    raise DomainError(503, busy)


def place_fields(place: Place, registration: Document) -> Document:
    """The seat and quota place a registration holds (unique values where not numbered)."""
    registration_id = registration["_id"]
    quota_place = (
        f"{registration['category']}:{place.quota_place}"
        if place.quota_place is not None
        else unseated(registration_id)
    )
    seat = place.seat if place.seat is not None else unseated(registration_id)
    return {"seat": seat, "quota_place": quota_place}


def no_place(registration_id: str) -> Document:
    """Fields of a registration that holds no place: its number is free for someone else."""
    return {"seat": unseated(registration_id), "quota_place": unseated(registration_id)}


class Placement:
    """Which place a registration gets: free places read from the holders, or for a
    newcomer, picked blindly first and remembered full for a moment."""

    def __init__(self, repository: RegistrationRepository) -> None:
        self._repo = repository
        # (event, category) → until when it is known to be full, on this process's clock.
        self._full_until: dict[tuple[str, str], float] = {}
        self._rechecking: set[tuple[str, str]] = set()

    async def for_newcomer(
        self, event: Document, registration: Document, *, invited: bool, attempt: int
    ) -> tuple[Document, type[IntegrationEvent]]:
        """The new registration's status and place: pending, confirmed or waitlisted."""
        registration_id = registration["_id"]
        if event.get("requires_approval") and not invited:
            status = RegistrationStatus.PENDING_APPROVAL.value
            return {"status": status, **no_place(registration_id)}, RegistrationPendingApproval
        place = await self._newcomer_place(event, registration["category"], attempt)
        if place is not None:
            status = RegistrationStatus.CONFIRMED.value
            return {"status": status, **place_fields(place, registration)}, RegistrationConfirmed
        fields = {
            "status": RegistrationStatus.WAITLISTED.value,
            # The waitlist is in order of arrival: the moment the form was received.
            "waitlisted_at": registration["created_at"],
            **no_place(registration_id),
        }
        return fields, RegistrationWaitlisted

    async def _newcomer_place(self, event: Document, category: str, attempt: int) -> Place | None:
        """A place for someone registering now; None sends them to the waitlist.

        Reading every holder is a scan on FerretDB v1, so the first tries pick seat numbers
        blindly and let the unique index refuse a taken one; only then is the event read.
        Once an event is seen full, newcomers join the waitlist for a moment without reading
        again. A place freed meanwhile is not lost: it goes to the head of the waitlist,
        where newcomers queue anyway.
        """
        capacity = event.get("capacity")
        quota = (event.get("quotas") or {}).get(category)
        if capacity is None and quota is None:
            return Place(None, None)
        if quota == 0:
            return None
        key = (event["_id"], category)
        if self._full_until.get(key, 0.0) > time.monotonic():
            return None
        if key in self._full_until and key in self._rechecking:
            # Seen full, and one request is reading it again: the rest queue meanwhile, rather
            # than each scanning every holder at once (what stalled a burst of thousands).
            return None
        if attempt < BLIND_TRIES and event.get("places_numbered"):
            return Place(
                secrets.randbelow(capacity) + 1 if capacity is not None else None,
                secrets.randbelow(quota) + 1 if quota is not None else None,
            )
        self._rechecking.add(key)
        try:
            place = await self.free_place(event, category)
        finally:
            self._rechecking.discard(key)
        if place is None:
            self._full_until[key] = time.monotonic() + FULL_EVENT_MEMORY_S
        else:
            self._full_until.pop(key, None)
        return place

    async def free_place(self, event: Document, category: str) -> Place | None:
        """A free numbered place for this category now, or None."""
        capacity = event.get("capacity")
        quota = (event.get("quotas") or {}).get(category)
        if capacity is None and quota is None:
            return Place(None, None)  # no limit: nothing to read
        # Without a capacity only the category's quota matters: read just those holders.
        holders = await self._repo.seat_holders(
            event["_id"], category=category if capacity is None else None
        )
        same_category = [h for h in holders if h.get("category") == category]
        prefix = f"{category}:"
        return choose_place(
            capacity=capacity,
            seats_held=len(holders),
            taken_seats={h["seat"] for h in holders if isinstance(h.get("seat"), int)},
            quota=quota,
            quota_held=len(same_category),
            taken_quota_places={
                int(str(h["quota_place"])[len(prefix) :])
                for h in same_category
                if str(h.get("quota_place", "")).startswith(prefix)
            },
            pick=secrets.choice,
        )
