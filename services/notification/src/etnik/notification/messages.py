"""Durable messages: one per (trigger, kind, recipient), its `_id` the idempotency key, so
that a redelivered trigger finds its message already there. The dispatcher
(etnik.notification.dispatcher) sends them and writes each outcome to the message itself,
with its `sent`/`failed` event in the message's outbox: the message is the one record of
what became of it."""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from pymongo.results import BulkWriteResult

from etnik.common.mongo import Document
from etnik.common.outbox import (
    OUTBOX_FIELD,
    OUTBOX_SINCE_FIELD,
    Outbox,
    StagedEvent,
    update_with_outbox,
)
from etnik.notification.domain import INVITATION, REMINDER, Outcome
from etnik.notification.leases import LEASES

MESSAGES = "messages"
# Where an older version kept outboxes beside the documents (see etnik.notification.upgrade).
LEGACY_OUTBOX_COLLECTIONS = (MESSAGES, "recipients")
# Context fields that are secrets for the recipient alone: removed once the message is sent.
SECRET_FIELDS = ("link", "accept_url")
# Context fields that name or reach a person (or say what they wrote): removed from every
# message of theirs when they are erased. The rest (ids, kind, times) keeps the counts.
PERSONAL_FIELDS = ("email", "full_name", "name", "reason", *SECRET_FIELDS)
ERASED_ERROR = "(removed at the person's erasure)"
# Messages due within this long are remembered in memory when queued or postponed here;
# later ones are found by the dispatcher's sweep when they fall due.
HINT_HORIZON = timedelta(minutes=15)
# People and events waited for that are remembered at most.
WAITING_LIMIT = 10_000
KNOWN_RECENTLY_S = 60.0


def message_key(trigger: str, kind: str, person_id: str) -> str:
    """The idempotency key: a redelivered trigger maps to the same message, never a second one."""
    return hashlib.sha256(f"{trigger}|{kind}|{person_id}".encode()).hexdigest()


def _not_written_since(message_id: str, generation: int) -> Document:
    """A message that no claim of this generation or a later one has written to (a message
    stored before generations were counted has none)."""
    return {"_id": message_id, "claim_gen": {"$not": {"$gte": generation}}}


def outcome_write(
    message_id: str,
    generation: int,
    fields: Mapping[str, Any],
    *,
    unset_secrets: bool = False,
    attempts: int = 0,
    staged: list[StagedEvent] | None = None,
) -> UpdateOne:
    """The write of one claim's outcome to its message, with the event it causes staged in the
    message's outbox (one atomic single-document update). It lands only while no later claim
    has written (or fenced, see `fence`), so a holder whose lease ran out overwrites nothing."""
    update: Document = {"$set": {**fields, "claim_gen": generation}}
    if unset_secrets:
        update["$unset"] = {f"context.{name}": "" for name in SECRET_FIELDS}
    if attempts:
        update["$inc"] = {"attempts": attempts}
    if staged:
        update = update_with_outbox(update, staged)
    return UpdateOne(_not_written_since(message_id, generation), update)


def fence(message_id: str, generation: int) -> UpdateOne:
    """Close a generation whose lease ran out: its holder's outcome, if it comes now, is refused.

    Written by a claim that took over, before it reads the message: either the old holder's
    outcome landed first (and the message shows it), or it never lands."""
    return UpdateOne(
        _not_written_since(message_id, generation), {"$set": {"claim_gen": generation}}
    )


class MessageStore:
    """The messages collection, and the due messages this replica queued itself.

    What this replica enqueues (and what it postpones or retries) it also keeps in memory,
    ordered by due time, so that the dispatcher starts on it at once without polling; a
    periodic sweep finds the rest (see etnik.notification.dispatcher).
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[MESSAGES]
        # Set when a message is enqueued, so that an idle dispatcher starts at once.
        self.new_work = asyncio.Event()
        self._due: list[tuple[datetime, str, int]] = []  # (due at, message id, generation)
        self._queued: set[str] = set()
        # Invitation campaigns seen lately (id -> monotonic time), for the progress metrics.
        self.active_campaigns: dict[str, float] = {}
        # Messages whose recipient or event is not known yet, by what they wait for
        # ("person:<id>", "event:<id>"): woken when this replica learns of it.
        self._waiting: dict[str, dict[str, int]] = {}
        # What became known lately (monotonic time): a message found waiting for it just
        # after (its recipient read a moment before the consumer stored them) goes at once.
        self._known: dict[str, float] = {}

    async def ensure_indexes(self) -> None:
        """The dispatcher's sweep, the delivery log, and look-ups by registration or campaign
        (the outbox relay's index is made by the service runtime)."""
        await self.collection.create_index([("status", 1), ("due_at", 1)])
        await self.collection.create_index([("person_id", 1), ("created_at", -1)])
        await self.collection.create_index([("context.registration_id", 1), ("kind", 1)])
        await self.collection.create_index([("context.campaign_id", 1), ("status", 1)])
        database = self.collection.database
        await database[LEASES].create_index("until")  # the expired leases' sweep
        # An older version's outboxes, looked for once at start (few documents have the field).
        for name in LEGACY_OUTBOX_COLLECTIONS:
            await database[name].create_index(OUTBOX_SINCE_FIELD, sparse=True)

    def hint(
        self, message_id: str, due_at: datetime, generation: int, *, again: bool = False
    ) -> None:
        """Remember that a message falls due (at the generation of its last claim); `again`:
        even if it is remembered already (a second claim of it finds it held, or done)."""
        if message_id in self._queued and not again:
            return
        self._queued.add(message_id)
        heapq.heappush(self._due, (due_at, message_id, generation))
        self.new_work.set()

    def take_due(self, now: datetime, limit: int) -> list[tuple[str, int]]:
        """Up to `limit` remembered messages due by now, earliest first."""
        taken: dict[str, int] = {}
        while self._due and len(taken) < limit and self._due[0][0] <= now:
            _, message_id, generation = heapq.heappop(self._due)
            self._queued.discard(message_id)
            taken[message_id] = max(generation, taken.get(message_id, 0))
        return list(taken.items())

    def next_due(self) -> datetime | None:
        """When the earliest remembered message falls due."""
        return self._due[0][0] if self._due else None

    def wait_for(self, what: str, message_id: str, generation: int, retry_at: datetime) -> None:
        """Try a message again at retry_at, or as soon as `what` becomes known here."""
        if time.monotonic() - self._known.get(what, float("-inf")) < KNOWN_RECENTLY_S:
            self.hint(message_id, datetime.now(UTC), generation)
            return
        waiting = self._waiting.setdefault(what, {})
        waiting[message_id] = generation
        if len(self._waiting) > WAITING_LIMIT:  # forget the oldest: their retry is scheduled
            del self._waiting[next(iter(self._waiting))]
        self.hint(message_id, retry_at, generation)

    def known(self, what: str) -> None:
        """A person or event the consumer just stored: its waiting messages are due now."""
        now_s = time.monotonic()
        self._known[what] = now_s
        if len(self._known) > WAITING_LIMIT:
            self._known = {k: t for k, t in self._known.items() if now_s - t < KNOWN_RECENTLY_S}
        waiting = self._waiting.pop(what, None)
        if not waiting:
            return
        now = datetime.now(UTC)
        for message_id, generation in waiting.items():
            self._queued.discard(message_id)  # due now rather than at its later retry
            self.hint(message_id, now, generation)

    def note_campaign(self, campaign_id: str | None) -> None:
        """A campaign's invitations are being queued or sent here."""
        if campaign_id:
            self.active_campaigns[campaign_id] = time.monotonic()

    async def enqueue(
        self,
        *,
        trigger: str,
        kind: str,
        person_id: str,
        context: Mapping[str, Any],
        due_at: datetime | None = None,
    ) -> bool:
        """Schedule a message; False when this trigger already produced it."""
        now = datetime.now(UTC)
        message_id = message_key(trigger, kind, person_id)
        due = due_at or now
        try:
            await self.collection.insert_one(
                {
                    "_id": message_id,
                    "kind": kind,
                    "channel": "email",
                    "person_id": person_id,
                    "trigger": trigger,
                    "context": dict(context),
                    "status": "pending",
                    "due_at": due,
                    "claim_gen": 0,
                    "attempts": 0,
                    "created_at": now,
                }
            )
        except DuplicateKeyError:
            return False
        if kind == INVITATION:
            self.note_campaign(context.get("campaign_id"))
        if due <= now + HINT_HORIZON:
            self.hint(message_id, due, 0)
        return True

    # --- What the dispatcher reads and writes -----------------------------------------

    async def due_in_store(self, now: datetime, limit: int) -> list[tuple[str, datetime, int]]:
        """Pending messages due by now, found in MongoDB: (id, due at, generation of the last
        claim); the sweep's safety net for what is not remembered here."""
        cursor = self.collection.find(
            {"status": "pending", "due_at": {"$lte": now}}, {"due_at": 1, "claim_gen": 1}
        ).limit(limit)
        return [
            (document["_id"], document["due_at"], int(document.get("claim_gen") or 0))
            async for document in cursor
        ]

    async def fence_generations(self, expired: list[tuple[str, int]]) -> None:
        """Close the expired generations of messages a claim took over (see `fence`)."""
        if expired:
            await self.collection.bulk_write(
                [fence(message_id, generation) for message_id, generation in expired],
                ordered=False,
            )

    async def claimed(self, message_ids: list[str]) -> dict[str, Document]:
        """The claimed messages as they are now, without their outboxes."""
        return {
            document["_id"]: document
            async for document in self.collection.find(
                {"_id": {"$in": message_ids}}, {OUTBOX_FIELD: 0}
            )
        }

    async def record_outcomes(
        self, outcomes: list[Outcome], staged: Mapping[str, list[StagedEvent]]
    ) -> BulkWriteResult:
        """Write each outcome to its message with its staged events, in one round trip; a
        write lands only while no later claim has written to its message."""
        writes = [
            outcome_write(
                outcome.message["_id"],
                outcome.generation,
                outcome.fields,
                unset_secrets=outcome.unset_secrets,
                attempts=outcome.attempts,
                staged=staged.get(outcome.message["_id"]),
            )
            for outcome in outcomes
        ]
        return await self.collection.bulk_write(writes, ordered=False)

    async def landed(self, staged: Mapping[str, list[StagedEvent]]) -> dict[str, list[StagedEvent]]:
        """Of the events staged, those that are in their message's outbox (some writes may
        have been refused, or landed in an earlier try)."""
        if not staged:
            return {}
        found: dict[str, list[StagedEvent]] = {}
        cursor = self.collection.find({"_id": {"$in": list(staged)}}, {OUTBOX_FIELD: 1})
        async for document in cursor:
            ids = {entry.get("id") for entry in document.get(OUTBOX_FIELD) or []}
            mine = [entry for entry in staged[document["_id"]] if entry["id"] in ids]
            if mine:
                found[document["_id"]] = mine
        return found

    async def publish_recorded(
        self, outbox: Outbox, written: list[tuple[str, list[StagedEvent]]]
    ) -> None:
        """Publish recorded events side by side and pull them out of their messages; what
        Kafka does not take now the outbox relay publishes later."""
        await asyncio.gather(
            *(outbox.flush(self.collection, message_id, events) for message_id, events in written)
        )

    async def drop_pending(self, query: Mapping[str, Any], reason: str) -> int:
        """Give up pending messages that no longer make sense (cancelled, erased, moved)."""
        result = await self.collection.update_many(
            {**query, "status": "pending"},
            {
                "$set": {"status": "dropped", "last_error": reason},
                "$unset": {f"context.{field}": "" for field in SECRET_FIELDS},
            },
        )
        return result.modified_count

    async def drop_reminders(
        self,
        reason: str,
        *,
        event_id: str | None = None,
        registration_id: str | None = None,
        unless_starting_at: str | None = None,
    ) -> int:
        """Give up pending reminders of an event or a registration; `unless_starting_at`
        keeps those for the event's current start."""
        query: dict[str, Any] = {"kind": REMINDER}
        if event_id is not None:
            query["context.event_id"] = event_id
        if registration_id is not None:
            query["context.registration_id"] = registration_id
        if unless_starting_at is not None:
            query["context.starts_at"] = {"$ne": unless_starting_at}
        return await self.drop_pending(query, reason)

    async def forget_person(self, person_id: str) -> int:
        """Erasure: the person's pending messages are dropped and every message of theirs,
        sent or not, loses the address, name and free text it carried; kind, status, times
        and attempts stay, so that the delivery log and the statistics still count it."""
        await self.drop_pending({"person_id": person_id}, "the person was erased")
        result = await self.collection.update_many(
            {"person_id": person_id},
            {
                "$set": {"erased": True},
                "$unset": {f"context.{field}": "" for field in PERSONAL_FIELDS},
            },
        )
        # An SMTP refusal may quote the address: the error text goes, the outcome stays.
        await self.collection.update_many(
            {"person_id": person_id, "status": {"$ne": "dropped"}, "last_error": {"$ne": None}},
            {"$set": {"last_error": ERASED_ERROR}},
        )
        return result.modified_count

    async def delivery_log(
        self, query: Mapping[str, Any], *, limit: int, offset: int
    ) -> list[Document]:
        """Messages matching `query`, newest first, without their content or staged events."""
        cursor = (
            self.collection.find(dict(query), {"context": 0, "outbox": 0})
            .sort("created_at", -1)
            .skip(offset)
            .limit(limit)
        )
        return await cursor.to_list()

    async def resend(self, message_id: str) -> bool:
        """Queue a sent or failed message again (an operator's action)."""
        now = datetime.now(UTC)
        message = await self.collection.find_one_and_update(
            # An erased person's message has no address left to send to.
            {"_id": message_id, "status": {"$in": ["sent", "failed"]}, "erased": {"$ne": True}},
            {"$set": {"status": "pending", "due_at": now, "attempts": 0}},
        )
        if message is None:
            return False
        self.hint(message_id, now, int(message.get("claim_gen") or 0))
        return True
