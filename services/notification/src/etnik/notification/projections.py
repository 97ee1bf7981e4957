"""Local copies of what registration publishes: recipients, events and registrations."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from etnik.common.mongo import Document
from etnik.notification.inbound import PersonRegistered

DEFAULT_ZONE = "Europe/Moscow"
UNSUBSCRIBES = "unsubscribes"


def organisation_recipient(organisation_id: str) -> str:
    """The recipient id of an organisation's contact address (never a person's id)."""
    return f"organisation:{organisation_id}"


class Projections:
    """Recipients (contact, language, zone, unsubscribes), events and registrations."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.recipients = db["recipients"]
        # Unsubscribes are kept apart, so that one outlives a recipient not yet projected.
        self.unsubscribes = db[UNSUBSCRIBES]
        self.events = db["events"]
        self.registrations = db["registrations"]

    async def ensure_indexes(self) -> None:
        """Registrations by event, for reminders and event changes."""
        await self.registrations.create_index([("event_id", 1), ("status", 1)])
        await self.registrations.create_index("person_id")

    async def upsert_recipient(self, person: PersonRegistered) -> None:
        """Store or refresh a person's contact details (an unsubscribe stays as it was)."""
        fields = {
            "full_name": person.full_name,
            "email": person.email,
            "locale": person.locale,
            "timezone": person.timezone,
            "region_code": person.region_code,
        }
        await self.recipients.update_one({"_id": person.person_id}, {"$set": fields}, upsert=True)

    async def erase_recipient(self, person_id: str) -> None:
        """Forget a person's contact details; only pseudonymous ids stay."""
        await self.recipients.delete_one({"_id": person_id})

    async def upsert_event(self, snapshot: dict[str, Any]) -> dict[str, Any] | None:
        """Store an event's latest details; returns what was stored before."""
        previous = await self.events.find_one({"_id": snapshot["event_id"]})
        fields = {
            key: snapshot.get(key)
            for key in ("title", "format", "starts_at", "ends_at", "timezone", "status")
        }
        fields["format"] = str(fields["format"])
        await self.events.update_one({"_id": snapshot["event_id"]}, {"$set": fields}, upsert=True)
        return previous

    async def record_registration(
        self, registration_id: str, event_id: str, person_id: str, status: str, at: datetime
    ) -> None:
        """Keep the latest status of a registration; an older event changes nothing."""
        # A newer event for this registration may be in already: then this one is stale.
        with contextlib.suppress(DuplicateKeyError):
            await self.registrations.update_one(
                {"_id": registration_id, "at": {"$lte": at}},
                {
                    "$set": {
                        "event_id": event_id,
                        "person_id": person_id,
                        "status": status,
                        "at": at,
                    }
                },
                upsert=True,
            )

    async def confirmed_registrations(self, event_id: str) -> list[Document]:
        """The registrations holding a place at an event."""
        return await self.registrations.find(
            {"event_id": event_id, "status": "confirmed"}
        ).to_list()

    async def recipient(self, person_id: str) -> dict[str, Any] | None:
        """A recipient by person id."""
        return await self.recipients.find_one({"_id": person_id})

    async def recipients_by_id(self, person_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The recipients known of these people, by person id (one query)."""
        return await _by_id(self.recipients, person_ids)

    async def addressed_recipient(
        self, recipient_id: str, context: dict[str, Any]
    ) -> dict[str, Any] | None:
        """A recipient named by the message itself (a sign-in link for someone not yet
        projected, an organisation's contact address); None when it names no address."""
        if not context.get("email"):
            return None
        unsubscribed = await self.unsubscribes.find_one({"_id": recipient_id})
        return {
            "full_name": "",
            "email": context["email"],
            "locale": context.get("locale") or "ru",
            "timezone": context.get("timezone") or DEFAULT_ZONE,
            "unsubscribed_at": unsubscribed["unsubscribed_at"] if unsubscribed else None,
        }

    async def event(self, event_id: str) -> dict[str, Any] | None:
        """An event by id."""
        return await self.events.find_one({"_id": event_id})

    async def events_by_id(self, event_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The events known of these ids, by id (one query)."""
        return await _by_id(self.events, event_ids)


async def _by_id(collection: AsyncCollection[Document], ids: Iterable[str]) -> dict[str, Document]:
    wanted = list(ids)
    if not wanted:
        return {}
    return {
        document["_id"]: document async for document in collection.find({"_id": {"$in": wanted}})
    }
