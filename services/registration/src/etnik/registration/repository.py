"""Storage of the registration service; every state change carries its events (the outbox).

FerretDB v1 has no multi-document transactions and no projection in find_one_and_update, so
each change is one atomic single-document write. Nor does it apply `$inc` atomically under
concurrent writers (it reads, changes and writes back the document), so capacity is not a
counter: each registration holding a place carries a numbered seat, and a unique index on
(event, seat) makes two registrations on one seat impossible. Freeing a seat is part of the
same single-document write that cancels the registration.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.registration import RegistrationStatus
from etnik.common.mongo import Document
from etnik.common.outbox import (
    OUTBOX_FIELD,
    OUTBOX_SINCE_FIELD,
    StagedEvent,
    update_with_outbox,
    with_outbox,
)

EVENTS = "events"
PROGRAMMES = "programmes"
PEOPLE = "people"
ORGANISATIONS = "organisations"
REGISTRATIONS = "registrations"
SUBJECTS = "federal_subjects"
DISTRICTS = "federal_districts"
CONSENTS = "consents"
CONSENT_TEXTS = "consent_texts"
SIGN_IN_LINKS = "sign_in_links"
INVITATIONS = "invitations"
CAMPAIGNS = "invitation_campaigns"
OPERATORS = "operators"
CERTIFICATES = "certificates"
# The registry of partnerships formed in the programme (partnerships.py).
PARTNERSHIPS = "partnerships"
# Feedback surveys: one invitation and one answer receipt per registration (surveys.py).
SURVEY_REQUESTS = "survey_requests"
SURVEY_RECEIPTS = "survey_receipts"
# The retention job's runs: each one's audit record, and (by its id) its claim on a time slot.
RETENTION_RUNS = "retention_runs"
OUTBOX_COLLECTIONS = (
    EVENTS,
    PROGRAMMES,
    PEOPLE,
    ORGANISATIONS,
    REGISTRATIONS,
    SUBJECTS,
    DISTRICTS,
    SIGN_IN_LINKS,
    INVITATIONS,
    CAMPAIGNS,
    OPERATORS,
    CERTIFICATES,
    SURVEY_REQUESTS,
    SURVEY_RECEIPTS,
    PARTNERSHIPS,
)

WITHOUT_OUTBOX = {OUTBOX_FIELD: 0, OUTBOX_SINCE_FIELD: 0}
# Registrations that hold or wait for a place (what a cancellation may end).
ACTIVE_STATUSES = (
    RegistrationStatus.CONFIRMED.value,
    RegistrationStatus.WAITLISTED.value,
    RegistrationStatus.PENDING_APPROVAL.value,
    RegistrationStatus.OFFERED.value,
)
# Registrations that hold a place on the event's seat counter.
SEAT_HOLDING_STATUSES = (RegistrationStatus.CONFIRMED.value, RegistrationStatus.OFFERED.value)


SEAT_INDEX = "one_registration_per_seat"
QUOTA_INDEX = "one_registration_per_quota_place"


class PlaceTaken(Exception):
    """Another registration took the numbered place meanwhile: pick another one."""


def unseated(registration_id: str) -> str:
    """The seat value of a registration without a numbered place (unique, so never clashing)."""
    return f"none:{registration_id}"


def new_id() -> str:
    """A random, unguessable id."""
    return uuid.uuid4().hex


def now_utc() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def without_outbox(document: Document) -> Document:
    """A stored document without its outbox bookkeeping."""
    return {k: v for k, v in document.items() if k not in (OUTBOX_FIELD, OUTBOX_SINCE_FIELD)}


class RegistrationRepository:
    """The registration service's collections and their atomic writes."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.events = db[EVENTS]
        self.programmes = db[PROGRAMMES]
        self.people = db[PEOPLE]
        self.organisations = db[ORGANISATIONS]
        self.registrations = db[REGISTRATIONS]
        self.subjects = db[SUBJECTS]
        self.districts = db[DISTRICTS]
        self.consents = db[CONSENTS]
        self.consent_texts = db[CONSENT_TEXTS]
        self.sign_in_links = db[SIGN_IN_LINKS]
        self.invitations = db[INVITATIONS]
        self.campaigns = db[CAMPAIGNS]
        self.certificates = db[CERTIFICATES]
        self.retention_runs = db[RETENTION_RUNS]

    async def ensure_indexes(self) -> None:
        """Uniqueness that the domain relies on, and the indexes of the lists."""
        await self.people.create_index("email", unique=True)
        await self.organisations.create_index("inn", unique=True, sparse=True)
        await self.registrations.create_index([("event_id", 1), ("person_id", 1)], unique=True)
        await self.registrations.create_index(
            [("event_id", 1), ("seat", 1)], unique=True, name=SEAT_INDEX
        )
        await self.registrations.create_index(
            [("event_id", 1), ("quota_place", 1)], unique=True, name=QUOTA_INDEX
        )
        await self.registrations.create_index([("event_id", 1), ("created_at", 1)])
        await self.registrations.create_index(
            [("event_id", 1), ("status", 1), ("waitlisted_at", 1)]
        )
        await self.registrations.create_index("check_in_code", unique=True, sparse=True)
        await self.registrations.create_index("person_id")
        await self.registrations.create_index([("status", 1), ("offer_expires_at", 1)])
        await self.events.create_index("starts_at")
        # The public list: the statuses shown, in time order (track and district narrow it).
        await self.events.create_index([("status", 1), ("starts_at", 1)])
        await self.consents.create_index("person_id")
        await self.consent_texts.create_index([("scope", 1), ("version", -1)])
        await self.invitations.create_index("person_id")
        await self.invitations.create_index([("event_id", 1), ("created_at", 1)])
        await self.campaigns.create_index([("event_id", 1), ("created_at", -1)])
        # A campaign's audience: by district, region, category or kind of organisation.
        for audience in ("federal_district", "region_code", "category", "organisation_kind"):
            await self.people.create_index(audience)
        # Retention: people not erased, oldest first; a person's latest registration; the runs.
        await self.people.create_index([("erased", 1), ("created_at", 1)])
        await self.registrations.create_index([("person_id", 1), ("created_at", -1)])
        await self.retention_runs.create_index([("started_at", -1)])
        await self.retention_runs.create_index([("status", 1), ("started_at", 1)])

    # --- Generic writes that carry events ------------------------------------------------

    async def insert(
        self, collection: AsyncCollection[Document], document: Document, staged: list[StagedEvent]
    ) -> None:
        """Store a new aggregate with its events (DuplicateKeyError if it exists)."""
        await collection.insert_one(with_outbox(document, staged))

    async def update(
        self,
        collection: AsyncCollection[Document],
        query: Document,
        update: Document,
        staged: list[StagedEvent],
    ) -> Document | None:
        """Apply an update with its events to the one document matching; that document after."""
        updated = await collection.find_one_and_update(
            query, update_with_outbox(update, staged), return_document=ReturnDocument.AFTER
        )
        return without_outbox(updated) if updated is not None else None

    async def get(self, collection: AsyncCollection[Document], document_id: str) -> Document | None:
        """One document by id, without its outbox."""
        return await collection.find_one({"_id": document_id}, WITHOUT_OUTBOX)

    async def find(
        self,
        collection: AsyncCollection[Document],
        query: Document,
        *,
        sort: Sequence[tuple[str, int]] = (("_id", ASCENDING),),
        limit: int = 0,
        offset: int = 0,
    ) -> list[Document]:
        """Documents matching a query, without outboxes."""
        cursor = collection.find(query, WITHOUT_OUTBOX).sort(list(sort)).skip(offset)
        if limit:
            cursor = cursor.limit(limit)
        return await cursor.to_list()

    # --- Places ---------------------------------------------------------------------------

    async def seat_holders(self, event_id: str, *, category: str | None = None) -> list[Document]:
        """Registrations that hold a place at the event now (of one category, if given)."""
        query: Document = {"event_id": event_id, "status": {"$in": list(SEAT_HOLDING_STATUSES)}}
        if category is not None:
            query["category"] = category
        return await self.registrations.find(
            query, {"seat": 1, "quota_place": 1, "category": 1}
        ).to_list()

    async def seats_taken(self, event_id: str) -> int:
        """How many places are held now."""
        return await self.registrations.count_documents(
            {"event_id": event_id, "status": {"$in": list(SEAT_HOLDING_STATUSES)}}
        )

    async def take_place(
        self, registration_id: str, from_status: str, update: Document, staged: list[StagedEvent]
    ) -> Document | None:
        """Move a registration onto a numbered place; PlaceTaken if another one got there."""
        try:
            return await self.update(
                self.registrations, {"_id": registration_id, "status": from_status}, update, staged
            )
        except DuplicateKeyError as error:
            # The only unique keys an existing registration can change are its places.
            raise PlaceTaken from error

    async def waitlist_rank(self, registration: Document) -> int:
        """1 for the first in line: arrival order, ties broken by id."""
        earlier = await self.registrations.count_documents(
            {
                "event_id": registration["event_id"],
                "status": RegistrationStatus.WAITLISTED.value,
                "$or": [
                    {"waitlisted_at": {"$lt": registration["waitlisted_at"]}},
                    {
                        "waitlisted_at": registration["waitlisted_at"],
                        "_id": {"$lt": registration["_id"]},
                    },
                ],
            }
        )
        return earlier + 1

    # --- People and organisations ---------------------------------------------------------

    async def find_or_create(
        self,
        collection: AsyncCollection[Document],
        key: Document,
        document: Document,
        staged: list[StagedEvent],
    ) -> tuple[Document, bool]:
        """The document with this unique key, created with its events if new; (doc, created)."""
        # Most look-ups find someone already known: a read spares a write.
        existing = await collection.find_one(key, WITHOUT_OUTBOX)
        if existing is not None:
            return existing, False
        for _ in range(2):
            try:
                stored = await collection.find_one_and_update(
                    key,
                    {"$setOnInsert": with_outbox(document, staged)},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # Two first writes with one key raced; the other one created it.
                continue
            assert stored is not None
            return without_outbox(stored), stored["_id"] == document["_id"]
        existing = await collection.find_one(key, WITHOUT_OUTBOX)
        assert existing is not None
        return existing, False

    # --- Registrations ---------------------------------------------------------------------

    async def find_registration(self, event_id: str, person_id: str) -> Document | None:
        """The registration of a person for an event, if any."""
        return await self.registrations.find_one(
            {"event_id": event_id, "person_id": person_id}, WITHOUT_OUTBOX
        )

    async def insert_registration(
        self, registration: Document, staged: list[StagedEvent]
    ) -> Document | None:
        """Store a registration with its events; the person's earlier registration for the event
        instead, if any; PlaceTaken when its numbered place was taken meanwhile."""
        try:
            await self.registrations.insert_one(with_outbox(registration, staged))
        except DuplicateKeyError as error:
            # Which unique index refused it (not every server names it): one per person and
            # event, or a numbered place.
            earlier = await self.find_registration(
                registration["event_id"], registration["person_id"]
            )
            if earlier is not None:
                return earlier
            raise PlaceTaken from error
        return None

    async def waiting(self, event_id: str, limit: int = 500) -> list[Document]:
        """Waitlisted registrations of an event in arrival order."""
        return await self.find(
            self.registrations,
            {"event_id": event_id, "status": RegistrationStatus.WAITLISTED.value},
            sort=(("waitlisted_at", ASCENDING), ("_id", ASCENDING)),
            limit=limit,
        )

    async def count(self, collection: AsyncCollection[Document], query: Document) -> int:
        """How many documents match."""
        return await collection.count_documents(query)
