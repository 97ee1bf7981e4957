"""Local copies of what registration publishes: recipients and events."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.contracts.registration import EventCreated, PersonRegistered
from etnik.common.mongo import Document


class Projections:
    """Recipients (contact, language, zone) and events (title, time, format)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.recipients = db["recipients"]
        self.events = db["events"]

    async def upsert_recipient(self, person: PersonRegistered) -> None:
        """Store or refresh a person's contact details."""
        await self.recipients.update_one(
            {"_id": person.person_id},
            {
                "$set": {
                    "full_name": person.full_name,
                    "email": str(person.email),
                    "locale": person.locale,
                    "timezone": person.timezone,
                    "region_code": person.region_code,
                }
            },
            upsert=True,
        )

    async def upsert_event(self, event: EventCreated) -> None:
        """Store or refresh an event's details."""
        await self.events.update_one(
            {"_id": event.event_id},
            {
                "$set": {
                    "title": event.title,
                    "format": event.format.value,
                    "starts_at": event.starts_at,
                    "ends_at": event.ends_at,
                    "timezone": event.timezone,
                    "status": event.status,
                }
            },
            upsert=True,
        )

    async def recipient(self, person_id: str) -> dict[str, Any] | None:
        """A recipient by person id."""
        return await self.recipients.find_one({"_id": person_id})

    async def event(self, event_id: str) -> dict[str, Any] | None:
        """An event by id."""
        return await self.events.find_one({"_id": event_id})
