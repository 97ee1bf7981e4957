"""The in-document outbox: a state change and its events are written in one atomic update.

MongoDB (and FerretDB v1 in particular) offers no multi-document transactions, so each
aggregate document carries the events its last changes caused in an `outbox` array. The
writer publishes them right after the write and pulls exactly those entries out once Kafka
has acknowledged them (an update by `_id` alone, whatever else was staged meanwhile); the
relay finds entries staged longer ago than a grace period, by their own `time`, and
republishes what a crash or an outage left behind. Consumers deduplicate by event id, so
publishing an event twice is harmless; losing one is not.

Clears are written together: what Kafka acknowledged is pulled out by one task, the clears
that gathered meanwhile in one `bulk_write` per collection (one round trip for many
documents). A request still waits until its own clear is written, so that its next change to
the same document comes after it (FerretDB v1 reads, changes and writes back a document, so
two updates of one document at once can lose one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.publisher import EventPublisher, PublishFailed

log = logging.getLogger(__name__)

OUTBOX_FIELD = "outbox"
# The relay's search: the staging time of each entry (an index over the array's entries, so
# a document leaves it as soon as its last entry is pulled out).
OUTBOX_TIME_PATH = f"{OUTBOX_FIELD}.time"
# Written by earlier versions beside the outbox; read models still hide it.
OUTBOX_SINCE_FIELD = "outbox_since"
# Staged times in one format (UTC, microseconds), so that they compare as strings.
STAGED_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

StagedEvent = dict[str, Any]


def stage(events: Sequence[CloudEvent]) -> list[StagedEvent]:
    """Envelopes as stored in the outbox: JSON-safe, so a stored entry compares equal to ours."""
    staged = []
    for event in events:
        entry = event.model_dump(mode="json")
        entry["time"] = staged_time(event.time)
        staged.append(entry)
    return staged


def staged_time(moment: datetime) -> str:
    """A moment as the outbox stores an entry's time."""
    return moment.astimezone(UTC).strftime(STAGED_TIME_FORMAT)


def with_outbox(document: Document, staged: list[StagedEvent]) -> Document:
    """A new aggregate document that carries its first events."""
    return {**document, OUTBOX_FIELD: staged}


def update_with_outbox(update: Document, staged: list[StagedEvent]) -> Document:
    """An update of an aggregate that also appends the events it causes."""
    merged = {operator: dict(fields) for operator, fields in update.items()}
    merged.setdefault("$push", {})[OUTBOX_FIELD] = {"$each": staged}
    return merged


async def ensure_outbox_index(collection: AsyncCollection[Document]) -> None:
    """Index the relay's query; documents without pending events stay out of the index."""
    await collection.create_index(OUTBOX_TIME_PATH, sparse=True)


class Outbox:
    """Publishes staged events and removes them from their document once acknowledged."""

    def __init__(self, publisher: EventPublisher, registry: CollectorRegistry) -> None:
        self._publisher = publisher
        # After a failed publish, requests stop waiting on Kafka and leave the work to the relay.
        self.degraded = False
        self._published = Counter(
            "etnik_outbox_published_total",
            "Events published from an outbox",
            ["path"],
            registry=registry,
        )
        self._pending = Gauge(
            "etnik_outbox_pending_documents",
            "Documents with unpublished events found by the last relay pass",
            registry=registry,
        )
        # Published entries waiting to be pulled out, by collection name.
        self._to_clear: dict[str, tuple[AsyncCollection[Document], list[UpdateOne]]] = {}
        # Resolved once the clears queued with them are written.
        self._written: list[asyncio.Future[None]] = []
        self._clear_wanted = asyncio.Event()
        self._cleared = asyncio.Event()
        self._cleared.set()
        self._clearing: asyncio.Task[None] | None = None

    def stage(self, *events: IntegrationEvent) -> list[StagedEvent]:
        """Wrap events in this service's envelopes, ready to be written with their change."""
        return stage([self._publisher.envelope(event) for event in events])

    async def flush(
        self,
        collection: AsyncCollection[Document],
        document_id: Any,
        staged: list[StagedEvent],
        *,
        path: str = "request",
    ) -> bool:
        """Publish in order and clear what Kafka acknowledged; True when all of it was published."""
        if not staged or (self.degraded and path == "request"):
            return not staged
        published: list[StagedEvent] = []
        for entry in staged:
            try:
                await self._publisher.publish(entry)
            except PublishFailed as error:
                self.degraded = True
                log.warning("publish deferred to the outbox relay: %s", error)
                break
            published.append(entry)
        if published:
            self._published.labels(path).inc(len(published))
            await self._clear_later(collection, document_id, published)
        if len(published) == len(staged):
            self.degraded = False
            return True
        return False

    def _clear_later(
        self, collection: AsyncCollection[Document], document_id: Any, published: list[StagedEvent]
    ) -> asyncio.Future[None]:
        """Queue the pull of published entries (exactly those: whatever else was staged stays);
        the future is resolved once it is written (or given up, for the relay to mend)."""
        pull = UpdateOne({"_id": document_id}, {"$pullAll": {OUTBOX_FIELD: published}})
        self._to_clear.setdefault(collection.full_name, (collection, []))[1].append(pull)
        self._cleared.clear()
        self._clear_wanted.set()
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._written.append(written)
        if self._clearing is None or self._clearing.done():
            self._clearing = asyncio.create_task(self._clear_forever(), name="outbox-clear")
        return written

    async def _clear_forever(self) -> None:
        """Write the queued pulls; those queued while one write is under way go in the next."""
        while True:
            await self._clear_wanted.wait()
            self._clear_wanted.clear()
            batch, self._to_clear = self._to_clear, {}
            written, self._written = self._written, []
            for collection, pulls in batch.values():
                try:
                    await collection.bulk_write(pulls, ordered=False)
                except PyMongoError as error:
                    # Published but not cleared: the relay publishes again, consumers deduplicate.
                    log.warning("could not clear %d outbox entries: %s", len(pulls), error)
                except Exception:
                    # Never let the loop die: drain() (and so the relay) would wait for ever.
                    log.exception("clearing %d outbox entries crashed", len(pulls))
            for future in written:
                if not future.done():
                    future.set_result(None)
            if not self._to_clear:
                self._cleared.set()

    async def drain(self) -> None:
        """Wait until every published entry queued so far has been pulled out."""
        await self._cleared.wait()

    async def close(self) -> None:
        """Write the queued pulls, then stop clearing."""
        if self._clearing is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.drain(), timeout=5)
            self._clearing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._clearing

    def record_pending(self, count: int) -> None:
        """Expose how many documents the relay found waiting."""
        self._pending.set(count)


class OutboxRelay:
    """Republishes events that stayed in outboxes past a grace period."""

    def __init__(
        self,
        outbox: Outbox,
        collections: Sequence[AsyncCollection[Document]],
        *,
        interval_s: float,
        grace_s: float,
        batch_size: int = 200,
    ) -> None:
        self._outbox = outbox
        self._collections = list(collections)
        self._interval_s = interval_s
        self._grace_s = grace_s
        self._batch_size = batch_size
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """One pass over every collection; returns how many documents still hold events."""
        cutoff = staged_time(datetime.now(UTC) - timedelta(seconds=self._grace_s))
        waiting = 0
        for collection in self._collections:
            cursor = (
                collection.find({OUTBOX_TIME_PATH: {"$lte": cutoff}}, {OUTBOX_FIELD: 1})
                .sort(OUTBOX_TIME_PATH, 1)
                .limit(self._batch_size)
            )
            # Read whole before publishing: a cursor left open across publishes (seconds when
            # Kafka is slow) holds a server connection, and FerretDB v1 has only a few.
            for document in await cursor.to_list():
                staged = document.get(OUTBOX_FIELD) or []
                if staged and not await self._outbox.flush(
                    collection, document["_id"], staged, path="relay"
                ):
                    waiting += 1
        # Cleared before the next pass looks, so that it does not publish the same again
        # (bounded: a pass must never stall the relay).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.drain(), timeout=self._interval_s + 5)
        self._outbox.record_pending(waiting)
        return waiting

    def start(self) -> None:
        """Run passes in the background until stopped."""
        self._task = asyncio.create_task(self._run_forever(), name="outbox-relay")

    async def _run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except PyMongoError as error:
                log.warning("outbox relay pass failed: %s", error)
            except Exception:
                log.exception("outbox relay pass crashed; retrying")
            await asyncio.sleep(self._interval_s)

    async def stop(self) -> None:
        """Stop the background passes."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
