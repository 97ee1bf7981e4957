"""The waitlist: a place freed (a cancellation, an expired offer, more places) is offered to the
earliest waitlisted person who fits it, who accepts it before the offer expires."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from enum import Enum

from pymongo.errors import PyMongoError

from etnik.common.contracts.registration import (
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationOffered,
    RegistrationStatus,
)
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.catalogue import CatalogueService
from etnik.registration.domain import EventStatus, WaitingEntry, next_to_offer
from etnik.registration.errors import DomainError
from etnik.registration.placement import Placement, no_place, place_fields, retry_while_taken
from etnik.registration.queries import ManageLinks, RegistrationQueries
from etnik.registration.repository import (
    ACTIVE_STATUSES,
    SEAT_HOLDING_STATUSES,
    RegistrationRepository,
    now_utc,
)
from etnik.registration.schemas import EventUpdate
from etnik.registration.settings import RegistrationSettings
from etnik.registration.status_changes import change_status, registration_facts

log = logging.getLogger(__name__)

# Offers made in one pass after places were freed.
OFFER_ROUNDS = 1000


class Offer(Enum):
    """What one look at an event's free places and its waitlist came to."""

    MADE = "made"  # a place was offered to the first who fits it
    RACED = "raced"  # that registration changed meanwhile: look again
    NONE_LEFT = "none_left"  # no free place, or nobody waiting who fits one


class Waitlist:
    """Offers of freed places, their acceptance and expiry, and cancellations that free them."""

    def __init__(
        self,
        repository: RegistrationRepository,
        staging: Outbox,
        catalogue: CatalogueService,
        placement: Placement,
        queries: RegistrationQueries,
        links: ManageLinks,
        settings: RegistrationSettings,
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue
        self._placement = placement
        self._queries = queries
        self._links = links
        self._settings = settings

    async def change_event(self, event_id: str, command: EventUpdate) -> Document:
        """Change an event's details; places it gained go to the waitlist at once."""
        event = await self._catalogue.update_event(event_id, command)
        await self.offer_free_places(event_id)
        return event

    async def cancel(self, registration_id: str, reason: str | None, *, by: str) -> Document:
        """Cancel a registration; a place it held goes to the next person on the waitlist."""
        registration = await self._queries.registration(registration_id)
        if registration["status"] not in ACTIVE_STATUSES:
            raise DomainError(409, f"a {registration['status']} registration cannot be cancelled")
        now = now_utc()
        updated = await change_status(
            self._repo,
            self._staging,
            registration,
            ACTIVE_STATUSES,
            {
                "$set": {
                    "status": RegistrationStatus.CANCELLED.value,
                    "cancelled_at": now,
                    "cancelled_by": by,
                    "cancel_reason": reason,
                    "previous_status": registration["status"],
                    **no_place(registration["_id"]),
                }
            },
            RegistrationCancelled(
                **registration_facts(registration), reason=reason, cancelled_at=now
            ),
        )
        if updated is None:
            raise DomainError(409, "the registration changed meanwhile; reload it")
        if registration["status"] in SEAT_HOLDING_STATUSES:
            await self.offer_free_places(registration["event_id"])
        return updated

    async def accept_offer(self, registration_id: str) -> Document:
        """The person takes the place offered to them, before the offer expires."""
        registration = await self._queries.registration(registration_id)
        expires = registration.get("offer_expires_at")
        if registration["status"] != RegistrationStatus.OFFERED or expires is None:
            raise DomainError(409, "there is no open offer for this registration")
        if expires <= now_utc():
            raise DomainError(410, "the offer has expired")
        updated = await change_status(
            self._repo,
            self._staging,
            registration,
            (RegistrationStatus.OFFERED.value,),
            {
                "$set": {
                    "status": RegistrationStatus.CONFIRMED.value,
                    "offer_accepted_at": now_utc(),
                }
            },
            RegistrationConfirmed(
                **registration_facts(registration), registered_at=registration["created_at"]
            ),
        )
        if updated is None:
            raise DomainError(409, "the offer is no longer open")
        return updated

    async def offer_free_places(self, event_id: str) -> int:
        """Offer every free place to the earliest waitlisted person who fits it; how many."""
        offered = 0
        for _ in range(OFFER_ROUNDS):
            outcome = await retry_while_taken(lambda _: self._offer_next(event_id))
            if outcome is Offer.NONE_LEFT:
                break
            if outcome is Offer.MADE:
                offered += 1
        return offered

    async def _offer_next(self, event_id: str) -> Offer:
        """Offer one free place to the first waitlisted person who fits it; PlaceTaken when
        a concurrent writer took the number chosen."""
        event = await self._repo.get(self._repo.events, event_id)
        if event is None or event["status"] in {EventStatus.CANCELLED, EventStatus.COMPLETED}:
            return Offer.NONE_LEFT
        waiting = await self._repo.waiting(event_id)
        holders = await self._repo.seat_holders(event_id)
        held_by_category: dict[str, int] = {}
        for holder in holders:
            category = holder["category"]
            held_by_category[category] = held_by_category.get(category, 0) + 1
        entry = next_to_offer(
            (WaitingEntry(w["_id"], w["category"], rank) for rank, w in enumerate(waiting)),
            capacity=event.get("capacity"),
            seats_taken=len(holders),
            quotas=event.get("quotas") or {},
            quota_taken=held_by_category,
        )
        place = await self._placement.free_place(event, entry.category) if entry else None
        if entry is None or place is None:
            return Offer.NONE_LEFT
        registration = next(w for w in waiting if w["_id"] == entry.registration_id)
        expires = now_utc() + timedelta(seconds=self._settings.offer_ttl_s)
        staged = self._staging.stage(
            RegistrationOffered(
                **registration_facts(registration),
                offer_expires_at=expires,
                accept_url=self._links.url(registration),
            )
        )
        update = {
            "status": RegistrationStatus.OFFERED.value,
            "offer_expires_at": expires,
            **place_fields(place, registration),
        }
        updated = await self._repo.take_place(
            registration["_id"],
            RegistrationStatus.WAITLISTED.value,
            {"$set": update, "$inc": {"version": 1}},
            staged,
        )
        if updated is None:
            return Offer.RACED
        await self._staging.flush(self._repo.registrations, registration["_id"], staged)
        return Offer.MADE

    async def expire_offers(self) -> int:
        """Cancel offers past their expiry and pass their places on; how many expired."""
        due = await self._repo.find(
            self._repo.registrations,
            {"status": RegistrationStatus.OFFERED.value, "offer_expires_at": {"$lte": now_utc()}},
            limit=200,
        )
        for registration in due:
            now = now_utc()
            reason = "the offered place was not taken in time"
            staged = self._staging.stage(
                RegistrationCancelled(
                    **registration_facts(registration), reason=reason, cancelled_at=now
                )
            )
            updated = await self._repo.update(
                self._repo.registrations,
                {
                    "_id": registration["_id"],
                    "status": RegistrationStatus.OFFERED.value,
                    "offer_expires_at": {"$lte": now},
                },
                {
                    "$set": {
                        "status": RegistrationStatus.CANCELLED.value,
                        "cancelled_at": now,
                        "cancelled_by": "system",
                        "cancel_reason": reason,
                        "previous_status": RegistrationStatus.OFFERED.value,
                        **no_place(registration["_id"]),
                    },
                    "$inc": {"version": 1},
                },
                staged,
            )
            if updated is None:
                continue  # accepted or cancelled meanwhile
            await self._staging.flush(self._repo.registrations, registration["_id"], staged)
            await self.offer_free_places(registration["event_id"])
        return len(due)

    async def run_offer_expiry(self) -> None:
        """Background loop: expire offers for the life of the process."""
        while True:
            try:
                await self.expire_offers()
            except (PyMongoError, DomainError) as error:
                # Storage away, or places contended past every retry: the next pass tries again.
                log.warning("offer expiry pass failed: %s", error)
            await asyncio.sleep(self._settings.offer_check_interval_s)
