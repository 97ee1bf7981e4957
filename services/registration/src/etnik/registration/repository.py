"""Storage of events, people and registrations; every state change carries its events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from etnik.common.mongo import Document
from etnik.common.outbox import StagedEvent, with_outbox

EVENTS = "events"
PEOPLE = "people"
REGISTRATIONS = "registrations"
OUTBOX_COLLECTIONS = (EVENTS, PEOPLE, REGISTRATIONS)


def new_id() -> str:
    """A random, unguessable id."""
    return uuid.uuid4().hex


class RegistrationRepository:
    """The registration service's collections."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.events = db[EVENTS]
        self.people = db[PEOPLE]
        self.registrations = db[REGISTRATIONS]

    async def ensure_indexes(self) -> None:
        """One person per email; one registration per person and event; lists by event."""
        await self.people.create_index("email", unique=True)
        await self.registrations.create_index([("event_id", 1), ("person_id", 1)], unique=True)
        await self.registrations.create_index([("event_id", 1), ("created_at", 1)])
        await self.events.create_index("starts_at")

    async def insert_event(self, event: Document, staged: list[StagedEvent]) -> None:
        """Store a new event with its events."""
        await self.events.insert_one(with_outbox(event, staged))

    async def get_event(self, event_id: str) -> Document | None:
        """An event by id, without its outbox."""
        return await self.events.find_one({"_id": event_id}, {"outbox": 0, "outbox_since": 0})

    async def list_events(
        self, *, statuses: list[str] | None, limit: int, offset: int
    ) -> list[Document]:
        """Events by start time."""
        query: dict[str, Any] = {"status": {"$in": statuses}} if statuses else {}
        cursor = (
            self.events.find(query, {"outbox": 0, "outbox_since": 0})
            .sort("starts_at", 1)
            .skip(offset)
            .limit(limit)
        )
        return await cursor.to_list()

    # FerretDB v1 supports no projection in findAndModify, so these return whole documents.
    async def find_or_create_person(
        self, person: Document, staged: list[StagedEvent]
    ) -> tuple[Document, bool]:
        """The person with this email, created with its events if new; (person, created)."""
        for _ in range(2):
            try:
                stored = await self.people.find_one_and_update(
                    {"email": person["email"]},
                    {"$setOnInsert": with_outbox(person, staged)},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # Two first registrations with one email raced; the other one created the person.
                continue
            assert stored is not None
            return stored, stored["_id"] == person["_id"]
        existing = await self.people.find_one({"email": person["email"]})
        assert existing is not None
        return existing, False

    async def take_seat(self, event_id: str, capacity: int) -> bool:
        """Take one place if any is left; atomic, so concurrent registrations never overbook."""
        taken = await self.events.find_one_and_update(
            {"_id": event_id, "seats_taken": {"$lt": capacity}},
            {"$inc": {"seats_taken": 1}},
        )
        return taken is not None

    async def release_seat(self, event_id: str) -> None:
        """Give back a place taken for a registration that was not stored."""
        await self.events.update_one(
            {"_id": event_id, "seats_taken": {"$gt": 0}}, {"$inc": {"seats_taken": -1}}
        )

    async def find_registration(self, event_id: str, person_id: str) -> Document | None:
        """The registration of a person for an event, if any."""
        return await self.registrations.find_one(
            {"event_id": event_id, "person_id": person_id}, {"outbox": 0, "outbox_since": 0}
        )

    async def insert_registration(self, registration: Document, staged: list[StagedEvent]) -> bool:
        """Store a registration with its events; False when the person already has one."""
        try:
            await self.registrations.insert_one(with_outbox(registration, staged))
        except DuplicateKeyError:
            return False
        return True


def now_utc() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)
