"""In-memory stand-ins for what reporting's consumer and projections talk to, so that the live
path (the kernel's EventConsumer and handlers.py) runs with nothing started.

The MongoDB projections behind handlers.Projections are tested on the real stack in
../integration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from prometheus_client import CollectorRegistry
from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.consumer import PROCESSED_COLLECTION, EventConsumer
from etnik.common.events import CloudEvent, EventReader
from etnik.common.mongo import Document
from etnik.common.publisher import EventPublisher
from etnik.reporting import handlers
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import ProjectionWriter

from ..folding import PSEUDONYM_KEY


@dataclass
class FakeProcessed:
    """The consumer's record of handled event ids (`processed_events`)."""

    ids: set[str] = field(default_factory=set)

    def find(
        self, query: Mapping[str, Any], _projection: Mapping[str, Any]
    ) -> AsyncIterator[Document]:
        wanted = set(query["_id"]["$in"])

        async def found() -> AsyncIterator[Document]:
            for event_id in sorted(wanted & self.ids):
                yield {"_id": event_id}

        return found()

    async def insert_many(self, marks: list[Document], *, ordered: bool = True) -> None:
        self.ids.update(str(mark["_id"]) for mark in marks)


@dataclass
class FakePublisher:
    """Keeps what the consumer parks on its dead-letter topic."""

    parked: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)

    async def publish_raw(
        self, topic: str, body: bytes, *, key: bytes | None, headers: dict[str, str]
    ) -> None:
        self.parked.append((topic, body, headers))


@dataclass
class FoldingProjections:
    """handlers.Projections folded in memory, as the report view folds: the writes of every
    event applied, and the outcome of every message whose position would be kept."""

    fold: ProjectionFold = field(default_factory=ProjectionFold)
    outcomes: list[str] = field(default_factory=list)
    writer: ProjectionWriter = field(default_factory=lambda: ProjectionWriter(PSEUDONYM_KEY))

    async def apply(self, envelope: CloudEvent, event: EventReader) -> None:
        for collection, write in self.writer.writes_for(envelope, event):
            self.fold.apply(collection, write)

    async def record_position(self, origin: dict[str, Any], outcome: str) -> None:
        self.outcomes.append(outcome)


@dataclass
class LiveConsumer:
    """Reporting's consumer as container.py wires it, on fakes: feed it message bodies."""

    consumer: EventConsumer
    projections: FoldingProjections
    publisher: FakePublisher

    async def take(self, *bodies: bytes) -> list[str]:
        """Each body as one Kafka message of a partition; the outcome of each."""
        return [
            await self.consumer.process(
                body, headers={}, origin={"topic": "t", "partition": 0, "offset": offset}
            )
            for offset, body in enumerate(bodies)
        ]


@pytest.fixture
def live() -> LiveConsumer:
    """The kernel's consumer with reporting's handlers subscribed, projecting in memory."""
    publisher = FakePublisher()
    consumer = EventConsumer(
        group_id="etnik.reporting",
        database=cast(AsyncDatabase[Document], {PROCESSED_COLLECTION: FakeProcessed()}),
        publisher=cast(EventPublisher, publisher),
        dead_letter_topic="etnik.reporting.deadletter.v1",
        registry=CollectorRegistry(),
        retry_backoff_s=0,
    )
    projections = FoldingProjections()
    handlers.subscribe(consumer, projections)
    return LiveConsumer(consumer, projections, publisher)
