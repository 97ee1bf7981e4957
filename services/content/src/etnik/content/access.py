"""What the content service learns from registration: events, organisations and participants.

These projections decide who may see participants-only material (a confirmed registration),
whether an event or organisation named by a material exists, and an organisation's
participation history for its development strategy. Every write is an upsert keyed by the
aggregate's id, so a redelivered event changes nothing. Who may read is kept per person
(one document keyed by person id), since FerretDB v1 answers only `_id` look-ups without
reading a whole collection.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.erasure import is_erased
from etnik.common.mongo import Document
from etnik.content.inbound import (
    AttendanceRecorded,
    EventChanged,
    EventCreated,
    OrganisationRegistered,
    RegistrationCancelled,
    RegistrationConfirmed,
)

CONFIRMED = "confirmed"
CANCELLED = "cancelled"


class ParticipantAccess:
    """Projections of registration events: events, organisations, registrations."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db
        self.registrations = db["known_registrations"]
        # Per person, the confirmed registrations: one `_id` look-up per reader (FerretDB v1
        # answers nothing else without reading the whole collection).
        self.participants = db["participant_events"]
        self.events = db["known_events"]
        self.organisations = db["known_organisations"]

    async def ensure_indexes(self) -> None:
        """Look-ups by person and event, and by organisation."""
        await self.registrations.create_index([("person_id", 1), ("status", 1)])
        await self.registrations.create_index("organisation_id")

    async def record_event(self, event: EventCreated | EventChanged) -> None:
        """Remember a programme event's current title, time and place."""
        await self.events.update_one(
            {"_id": event.event_id},
            {
                "$set": {
                    "title": event.title,
                    "track": event.track,
                    "starts_at": event.starts_at,
                    "federal_district": event.federal_district,
                    "status": event.status,
                }
            },
            upsert=True,
        )

    async def record_organisation(self, organisation: OrganisationRegistered) -> None:
        """Remember an organisation's name and district."""
        await self.organisations.update_one(
            {"_id": organisation.organisation_id},
            {
                "$set": {
                    "name": organisation.name,
                    "kind": organisation.kind,
                    "federal_district": organisation.federal_district,
                }
            },
            upsert=True,
        )

    async def grant(self, registration: RegistrationConfirmed) -> None:
        """A confirmed registration: its person may read the event's participants material."""
        await self.participants.update_one(
            {"_id": registration.person_id},
            {"$set": {f"events.{_field(registration.registration_id)}": registration.event_id}},
            upsert=True,
        )
        await self._record_registration(registration, CONFIRMED)
        await self._unless_erased(registration.person_id)

    async def revoke(self, registration: RegistrationCancelled) -> None:
        """A cancelled registration no longer opens the event's material."""
        await self.participants.update_one(
            {"_id": registration.person_id},
            {"$unset": {f"events.{_field(registration.registration_id)}": ""}},
        )
        await self._record_registration(registration, CANCELLED)
        await self._unless_erased(registration.person_id)

    async def _record_registration(
        self, registration: RegistrationConfirmed | RegistrationCancelled, status: str
    ) -> None:
        await self.registrations.update_one(
            {"_id": registration.registration_id},
            {
                "$set": {
                    "event_id": registration.event_id,
                    "person_id": registration.person_id,
                    "organisation_id": registration.organisation_id,
                    "status": status,
                }
            },
            upsert=True,
        )

    async def record_attendance(self, attendance: AttendanceRecorded) -> None:
        """Whether the registration's person attended (for participation history)."""
        await self.registrations.update_one(
            {"_id": attendance.registration_id},
            {
                "$set": {
                    "event_id": attendance.event_id,
                    "person_id": attendance.person_id,
                    "attended": attendance.attended,
                }
            },
            upsert=True,
        )
        await self._unless_erased(attendance.person_id)

    async def forget_person(self, person_id: str) -> None:
        """Erasure: registrations keep counting for their organisation, without the person."""
        await self.participants.delete_one({"_id": person_id})
        await self.registrations.update_many(
            {"person_id": person_id}, {"$set": {"person_id": None}}
        )

    async def _unless_erased(self, person_id: str) -> None:
        """An event about a person that arrives after their erasure (a cancellation, a late
        confirmation) must not attach their id again: checked after the write, so that an
        erasure running meanwhile cannot miss it either."""
        if await is_erased(self._db, person_id):
            await self.forget_person(person_id)

    async def events_of(self, person_id: str) -> set[str]:
        """The events at which a person holds a confirmed place."""
        found = await self.participants.find_one({"_id": person_id})
        return set((found or {}).get("events", {}).values())

    async def is_participant(self, event_id: str, person_id: str) -> bool:
        """Whether the person holds a confirmed place at the event."""
        return event_id in await self.events_of(person_id)

    async def event_exists(self, event_id: str) -> bool:
        """Whether registration has told us of this event."""
        return await self.events.find_one({"_id": event_id}, {"_id": 1}) is not None

    async def organisation(self, organisation_id: str) -> Document | None:
        """An organisation registration has told us of."""
        return await self.organisations.find_one({"_id": organisation_id})

    async def participation_of(self, organisation_id: str) -> list[dict[str, Any]]:
        """Per event: the organisation's confirmed and attending people, with the event's data."""
        cursor = self.registrations.find({"organisation_id": organisation_id})
        per_event: dict[str, dict[str, Any]] = {}
        async for row in cursor:
            entry = per_event.setdefault(
                row["event_id"], {"event_id": row["event_id"], "confirmed": 0, "attended": 0}
            )
            entry["confirmed"] += row.get("status") == CONFIRMED
            entry["attended"] += bool(row.get("attended"))
        if per_event:
            async for event in self.events.find({"_id": {"$in": sorted(per_event)}}):
                per_event[event["_id"]].update(
                    title=event.get("title"),
                    starts_at=event.get("starts_at"),
                    federal_district=event.get("federal_district"),
                )
        return sorted(per_event.values(), key=lambda e: (str(e.get("starts_at")), e["event_id"]))


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _field(registration_id: str) -> str:
    """A registration id usable as a field name (ids with dots or dollars are hashed)."""
    if _PLAIN_KEY.match(registration_id):
        return registration_id
    return hashlib.sha256(registration_id.encode()).hexdigest()[:32]
