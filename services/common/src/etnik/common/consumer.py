"""Consuming events reliably: commit after success, bounded retries, a dead-letter topic, dedup.

FastStream acknowledges before the handler by default (at most once); every subscriber
here uses NACK_ON_ERROR instead, so an offset is committed only once the message has been
handled, deduplicated, skipped as unknown or parked on the dead-letter topic. Failures of
the infrastructure itself (MongoDB or Kafka away) are not the message's fault: they rewind
the partition and the message is tried again, for as long as the outage lasts.

A consumer may take records in batches (`batch_max` > 1): the handlers still see one event
at a time, in partition order, but the duplicate look-up and the marks of handled events
are one command per batch instead of one each per event. A batch is committed only once
every record in it is done with; if one waits for the infrastructure, the marks of those
handled before it are written and the whole batch is redelivered (the handled ones are then
duplicates).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.middlewares import AckPolicy
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from etnik.common.events import (
    CloudEvent,
    EventModel,
    EventReader,
    IntegrationEvent,
    MalformedEvent,
    parse_envelope,
)
from etnik.common.logging import event_id_var, traceparent_var
from etnik.common.mongo import Document, is_transient
from etnik.common.publisher import EventPublisher, PublishFailed
from etnik.common.tracing import continue_trace

log = logging.getLogger(__name__)

E = TypeVar("E", bound=IntegrationEvent | EventReader)
Handler = Callable[[CloudEvent, Any], Awaitable[None]]
# Told where each message came from (topic, partition, offset, key) and how it ended.
MessageListener = Callable[[dict[str, Any], str], Awaitable[None]]
# One record as the consumer takes it: its value, its headers, where it came from.
Record = tuple[bytes, dict[str, Any], dict[str, Any]]
DUPLICATE_KEY = 11000

PROCESSED_COLLECTION = "processed_events"
# Outages outside the database; the database's own are told by etnik.common.mongo.is_transient.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    KafkaError,
    PublishFailed,
    OSError,
    asyncio.TimeoutError,
)


async def ensure_processed_index(database: AsyncDatabase[Document]) -> None:
    """Index the prune's filter (the look-up of an event id is by `_id`)."""
    await database[PROCESSED_COLLECTION].create_index("at")


async def prune_processed(database: AsyncDatabase[Document], before: datetime) -> int:
    """Forget the events handled before a moment; returns how many records went.

    Deduplication guards against redelivery, which Kafka does within minutes (a rebalance, a
    crash before the commit); records kept for ever would only take room. An event replayed
    from further back than the retention is handled again; handlers are idempotent by their
    own keys.
    """
    result = await database[PROCESSED_COLLECTION].delete_many({"at": {"$lt": before}})
    return result.deleted_count


class EventConsumer:
    """Dispatches the events of some topics to handlers by type, exactly once in effect."""

    def __init__(
        self,
        *,
        group_id: str,
        database: AsyncDatabase[Document],
        publisher: EventPublisher,
        dead_letter_topic: str,
        registry: CollectorRegistry,
        max_attempts: int = 3,
        retry_backoff_s: float = 0.2,
        batch_max: int = 1,
    ) -> None:
        self.group_id = group_id
        self._processed = database[PROCESSED_COLLECTION]
        self._publisher = publisher
        self.dead_letter_topic = dead_letter_topic
        self._max_attempts = max_attempts
        self._backoff_s = retry_backoff_s
        self.batch_max = batch_max
        self._handlers: dict[str, tuple[EventModel, Handler]] = {}
        self._listeners: list[MessageListener] = []
        self._topics: list[str] = []
        self._subscribed = False
        self._outcomes = Counter(
            "etnik_events_consumed_total",
            "Events taken from Kafka, by type and outcome",
            ["type", "outcome"],
            registry=registry,
        )

    @property
    def topics(self) -> list[str]:
        """Every topic subscribed to, with the dead-letter topic this consumer writes."""
        return [*self._topics, self.dead_letter_topic]

    def on(
        self, contract: type[E]
    ) -> Callable[
        [Callable[[CloudEvent, E], Awaitable[None]]], Callable[[CloudEvent, E], Awaitable[None]]
    ]:
        """Register the handler of one event type, given the data validated against `contract`:
        the producer's contract, or better this consumer's own EventReader of it."""

        def register(
            handler: Callable[[CloudEvent, E], Awaitable[None]],
        ) -> Callable[[CloudEvent, E], Awaitable[None]]:
            if contract.event_type in self._handlers:
                raise ValueError(f"{contract.event_type} already has a handler")
            # mypy cannot narrow type[E] of a union-bound E to the union of the types.
            self._handlers[contract.event_type] = (cast("EventModel", contract), handler)
            if contract.topic not in self._topics:
                self._topics.append(contract.topic)
            return handler

        return register

    def after_each_message(self, listener: MessageListener) -> None:
        """Call listener(origin, outcome) once a message is done with, whatever its outcome.

        Read models use it to record how far they have consumed each partition (skipped and
        duplicate messages included); an exception from it has the message redelivered.
        """
        self._listeners.append(listener)

    def subscribe(self, broker: KafkaBroker, *, description: str = "") -> None:
        """Attach one Kafka subscriber for all registered topics, with commit-after-success."""
        if self._subscribed or not self._topics:
            return
        self._subscribed = True

        async def raw_body(message: Any) -> Any:
            return message.body  # bytes, or a list of them for a batch

        async def on_message(body: Any, message: KafkaMessage) -> None:
            records = message.raw_message
            batch = records if isinstance(records, tuple) else (records,)
            await self.process_batch(
                [
                    (
                        bytes(record.value or b""),
                        {name: value.decode() for name, value in record.headers},
                        {
                            "topic": record.topic,
                            "partition": record.partition,
                            "offset": record.offset,
                            "key": record.key,
                        },
                    )
                    for record in batch
                ]
            )

        batching: dict[str, Any] = {}
        if self.batch_max > 1:
            batching = {"batch": True, "max_records": self.batch_max}
        broker.subscriber(
            *self._topics,
            group_id=self.group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=raw_body,
            title=f"{self.group_id}:consume",
            description=description
            or "Handles: " + ", ".join(sorted(self._handlers)) + " (others are skipped)",
            **batching,
        )(on_message)

    async def process(self, body: bytes, *, headers: dict[str, Any], origin: dict[str, Any]) -> str:
        """Handle one message; returns the outcome, raises only to have it redelivered."""
        [outcome] = await self.process_batch([(body, headers, origin)])
        return outcome

    async def process_batch(self, records: Sequence[Record]) -> list[str]:
        """Handle records in order; their outcomes. Raises only to have them redelivered."""
        seen = await self._handled_before(records)
        marks: list[Document] = []
        outcomes: list[str] = []
        try:
            for body, headers, origin in records:
                outcomes.append(await self._process(body, headers, origin, seen, marks))
        finally:
            # Also when one waits for the infrastructure: those handled before it are then
            # duplicates on redelivery (if MongoDB is the trouble, this fails too; they are
            # handled again, which handlers are built to bear).
            await self._mark(marks)
        for (_, _, origin), outcome in zip(records, outcomes, strict=True):
            for listener in self._listeners:
                await listener(origin, outcome)
        return outcomes

    async def _handled_before(self, records: Sequence[Record]) -> set[str]:
        """Which of these events were handled already: one look-up for the whole batch."""
        ids = []
        for body, _, _ in records:
            with contextlib.suppress(MalformedEvent):
                if body and (envelope := parse_envelope(body)).type in self._handlers:
                    ids.append(envelope.id)
        if not ids:
            return set()
        cursor = self._processed.find({"_id": {"$in": ids}}, {"_id": 1})
        return {document["_id"] async for document in cursor}

    async def _mark(self, marks: list[Document]) -> None:
        """Record the events handled, so that a redelivery finds them duplicates."""
        if not marks:
            return
        try:
            await self._processed.insert_many(marks, ordered=False)
        except BulkWriteError as error:
            # Another delivery marked some first: fine. Anything else is not.
            if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", [])):
                raise

    async def _process(
        self,
        body: bytes,
        headers: dict[str, Any],
        origin: dict[str, Any],
        seen: set[str],
        marks: list[Document],
    ) -> str:
        traceparent_var.set(continue_trace(headers.get("traceparent")))
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._handle_once(body, seen, marks)
            except Exception as error:
                if isinstance(error, TRANSIENT_ERRORS) or is_transient(error):
                    # Not the message's fault: it waits, however long the outage or contention.
                    log.warning(
                        "infrastructure unavailable, message will be redelivered: %r", error
                    )
                    await asyncio.sleep(max(self._backoff_s, 1.0))
                    raise
                if attempt < self._max_attempts:
                    log.warning("attempt %d of %d failed: %r", attempt, self._max_attempts, error)
                    await asyncio.sleep(self._backoff_s * attempt)
                    continue
                await self._dead_letter(body, headers, origin, error, attempt)
                return "dead_lettered"
            finally:
                event_id_var.set(None)

    async def _handle_once(self, body: bytes, seen: set[str], marks: list[Document]) -> str:
        if not body:
            # A tombstone (no value): compaction's marker that a key's records are gone. It
            # carries no event; nothing to handle, nothing to park.
            self._outcomes.labels("tombstone", "skipped").inc()
            log.info("skipped a tombstone")
            return "tombstone"
        envelope = parse_envelope(body)
        event_id_var.set(envelope.id)
        registered = self._handlers.get(envelope.type)
        if registered is None:
            # Other consumers may know this type; here it is counted and passed over, whatever
            # its data says: only what a handler reads can make a message undeliverable.
            self._outcomes.labels(envelope.type, "skipped").inc()
            log.info("skipped event of type %s", envelope.type)
            return "skipped"
        model, handler = registered
        try:
            payload = model.model_validate(envelope.data)
        except ValidationError as error:
            raise MalformedEvent(
                f"{envelope.type} {envelope.id}: data lacks what this consumer reads"
                f" ({error.error_count()} errors: {_fields_of(error)})"
            ) from error
        if envelope.id in seen:
            self._outcomes.labels(envelope.type, "duplicate").inc()
            log.info("duplicate of an event already handled: ignored")
            return "duplicate"
        await handler(envelope, payload)
        log.debug("handled %s", envelope.type)
        seen.add(envelope.id)  # the same event twice in one batch is handled once
        marks.append({"_id": envelope.id, "type": envelope.type, "at": datetime.now(UTC)})
        self._outcomes.labels(envelope.type, "handled").inc()
        return "handled"

    async def _dead_letter(
        self,
        body: bytes,
        headers: dict[str, Any],
        origin: dict[str, Any],
        error: Exception,
        attempts: int,
    ) -> None:
        reason = error.__class__.__name__ if isinstance(error, MalformedEvent) else repr(error)
        log.error(
            "parking message on %s after %d attempts: %s", self.dead_letter_topic, attempts, reason
        )
        dlq_headers = {
            key: value if isinstance(value, str) else str(value)
            for key, value in headers.items()
            if key not in {"correlation_id"}
        }
        dlq_headers.update(
            {
                "x-dlq-reason": str(error)[:1000],
                "x-dlq-error-type": error.__class__.__name__,
                "x-dlq-attempts": str(attempts),
                "x-dlq-group": self.group_id,
                "x-dlq-origin-topic": str(origin.get("topic")),
                "x-dlq-origin-partition": str(origin.get("partition")),
                "x-dlq-origin-offset": str(origin.get("offset")),
            }
        )
        key = origin.get("key")
        await self._publisher.publish_raw(
            self.dead_letter_topic,
            body,
            key=key if isinstance(key, bytes) or key is None else str(key).encode(),
            headers=dlq_headers,
        )
        self._outcomes.labels(_type_of(body), "dead_lettered").inc()


def _type_of(body: bytes) -> str:
    try:
        return parse_envelope(body).type
    except MalformedEvent:
        return "malformed"


def _fields_of(error: ValidationError) -> str:
    """The fields at fault, for the dead-letter reason (never their values: personal data)."""
    return ", ".join(sorted({".".join(map(str, e["loc"])) or "data" for e in error.errors()}))
