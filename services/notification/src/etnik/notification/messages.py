"""Durable messages: one per (trigger, kind, recipient), its `_id` the idempotency key, so
that a redelivered trigger finds its message already there. The dispatcher
(etnik.notification.dispatcher) sends them."""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from etnik.common.mongo import Document
from etnik.common.outbox import OUTBOX_SINCE_FIELD
from etnik.notification.leases import LEASES

MESSAGES = "messages"
# One document per dispatched batch: its outcomes and their events (see dispatcher.py).
DISPATCHES = "dispatches"
# A batch's final outcomes once its events are published, until written to the messages.
# Apart from the dispatches, which the outbox relay searches every second.
OUTCOME_BATCHES = "outcome_batches"
# Where an older version kept outboxes beside the documents (see main.publish_legacy_outboxes).
LEGACY_OUTBOX_COLLECTIONS = (MESSAGES, "recipients")
# Outcomes that end a message. Writing them to the messages waits until the dispatcher has
# nothing to send: on FerretDB v1 an update by `_id` costs time in proportion to the
# collection (40 ms at 5,000 messages), an insert does not. Until then the dispatch document
# is their record (see outcomes_not_applied).
FINAL_RESULTS = frozenset({"sent", "failed", "dropped"})
REMINDER = "event_reminder"
INVITATION = "invitation"
# Kinds a person may opt out of; the rest answer something they did or must know.
OPTIONAL_KINDS = frozenset({INVITATION})
# Kinds that do not concern one event.
KINDS_WITHOUT_EVENT = frozenset({"sign_in_link"})
# Context fields that are secrets for the recipient alone: removed once the message is sent.
SECRET_FIELDS = ("link", "accept_url")
# Messages due within this long are remembered in memory when queued or postponed here;
# later ones are found by the dispatcher's sweep when they fall due.
HINT_HORIZON = timedelta(minutes=15)
# People and events waited for that are remembered at most.
WAITING_LIMIT = 10_000
KNOWN_RECENTLY_S = 60.0


def message_key(trigger: str, kind: str, person_id: str) -> str:
    """The idempotency key: a redelivered trigger maps to the same message, never a second one."""
    return hashlib.sha256(f"{trigger}|{kind}|{person_id}".encode()).hexdigest()


class MessageStore:
    """The messages collection, and the due messages this replica queued itself.

    FerretDB v1 scans the whole collection for any filter but `_id`, so the dispatcher
    does not search for work message by message: what this replica enqueues (and what it
    postpones or retries) it also keeps in memory, ordered by due time, and a periodic
    sweep finds the rest.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[MESSAGES]
        # Set when a message is enqueued, so that an idle dispatcher starts at once.
        self.new_work = asyncio.Event()
        self._due: list[tuple[datetime, str, int]] = []  # (due at, message id, generation)
        self._queued: set[str] = set()
        self.last_queued = float("-inf")  # monotonic time of the last hint
        # Invitation campaigns seen lately (id -> monotonic time), for the progress metrics.
        self.active_campaigns: dict[str, float] = {}
        # Messages whose recipient or event is not known yet, by what they wait for
        # ("person:<id>", "event:<id>"): woken when this replica learns of it.
        self._waiting: dict[str, dict[str, int]] = {}
        # What became known lately (monotonic time): a message found waiting for it just
        # after (its recipient read a moment before the consumer stored them) goes at once.
        self._known: dict[str, float] = {}

    async def ensure_indexes(self) -> None:
        """The dispatcher's sweep, the delivery log, and look-ups by registration or campaign."""
        await self.collection.create_index([("status", 1), ("due_at", 1)])
        await self.collection.create_index([("person_id", 1), ("created_at", -1)])
        await self.collection.create_index([("context.registration_id", 1), ("kind", 1)])
        await self.collection.create_index([("context.campaign_id", 1), ("status", 1)])
        database = self.collection.database
        await database[DISPATCHES].create_index("applied")  # outcomes not yet written back
        await database[OUTCOME_BATCHES].create_index("created_at")  # the stale batches' sweep
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
        self.last_queued = time.monotonic()
        self.new_work.set()

    def take_due(self, now: datetime, limit: int) -> list[tuple[str, int]]:
        """Up to `limit` remembered messages due by now, earliest first."""
        taken: dict[str, int] = {}
        while self._due and len(taken) < limit and self._due[0][0] <= now:
            _, message_id, generation = heapq.heappop(self._due)
            self._queued.discard(message_id)
            taken[message_id] = max(generation, taken.get(message_id, 0))
        return list(taken.items())

    def quiet_for(self, seconds: float) -> bool:
        """Whether nothing was queued or remembered for that long."""
        return time.monotonic() - self.last_queued >= seconds

    def has_due(self, now: datetime) -> bool:
        """Whether a remembered message is due by now."""
        return bool(self._due) and self._due[0][0] <= now

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

    async def resend(self, message_id: str) -> bool:
        """Queue a sent or failed message again (an operator's action)."""
        now = datetime.now(UTC)
        result = await self.collection.update_one(
            {"_id": message_id, "status": {"$in": ["sent", "failed"]}},
            {"$set": {"status": "pending", "due_at": now, "attempts": 0}},
        )
        if result.modified_count:
            message = await self.collection.find_one({"_id": message_id}, {"claim_gen": 1})
            self.hint(message_id, now, int((message or {}).get("claim_gen", 0)))
            return True
        # Sent or failed moments ago, its outcome maybe not yet written to it: the resend
        # takes the place of that outcome (whose later write then skips it, being older).
        record = (await outcomes_not_applied(self.collection.database)).get(message_id)
        if record is None or record["fields"].get("status") not in {"sent", "failed"}:
            return False
        generation = int(record["generation"])
        await self.collection.update_one(
            {"_id": message_id},
            {"$set": {"status": "pending", "due_at": now, "attempts": 0, "claim_gen": generation}},
        )
        self.hint(message_id, now, generation)
        return True


async def outcomes_not_applied(db: AsyncDatabase[Document]) -> dict[str, Document]:
    """Final outcomes committed but not yet written to their messages, by message id.

    What the delivery log and campaign progress add to the messages as stored. Both
    collections hold only batches not yet written to the messages, so they stay small.
    """
    found: dict[str, Document] = {}
    batches = [
        document async for document in db[DISPATCHES].find({"applied": False}, {"outbox": 0})
    ] + [document async for document in db[OUTCOME_BATCHES].find({})]
    for document in batches:
        for record in document.get("outcomes", []):
            if record.get("result") not in FINAL_RESULTS:
                continue
            known = found.get(record["message_id"])
            if known is None or int(known["generation"]) < int(record["generation"]):
                found[record["message_id"]] = record
    return found
