"""Staging events into an aggregate's write."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from etnik.common.contracts.registration import (
    PersonErased,
)
from etnik.common.events import CloudEvent
from etnik.common.outbox import (
    OUTBOX_FIELD,
    Outbox,
    OutboxRelay,
    ensure_outbox_index,
    stage,
    update_with_outbox,
    with_outbox,
)
from etnik.common.publisher import PublishFailed
from etnik.devstack import Stack


class ListPublisher:
    """Publishes into a list; fails while `down` is set."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.down = False

    async def publish(self, entry: dict[str, Any]) -> None:
        if self.down:
            raise PublishFailed("Kafka is away")
        self.published.append(str(entry["id"]))


@pytest.fixture
async def collection(infra: Stack) -> AsyncIterator[AsyncCollection[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    database = client[f"test_outbox_{uuid.uuid4().hex[:8]}"]
    await ensure_outbox_index(database["aggregates"])
    try:
        yield database["aggregates"]
    finally:
        await client.drop_database(database.name)
        await client.close()


def _entries(count: int, *, age_s: float = 0) -> list[dict[str, object]]:
    moment = datetime.now(UTC) - timedelta(seconds=age_s)
    return stage(
        [
            CloudEvent.wrap(
                PersonErased(person_id=f"p{n}", erased_at=moment), source="/etnik/test", time=moment
            )
            for n in range(count)
        ]
    )


async def test_a_flush_pulls_out_exactly_what_it_published(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    publisher = ListPublisher()
    outbox = Outbox(publisher, CollectorRegistry())  # type: ignore[arg-type]
    mine = _entries(2)
    await collection.insert_one(with_outbox({"_id": "a1", "state": 1}, mine))
    # Another change staged its own event before this flush cleared the outbox.
    theirs = _entries(1)
    await collection.update_one({"_id": "a1"}, update_with_outbox({"$set": {"state": 2}}, theirs))
    assert await outbox.flush(collection, "a1", mine)
    await outbox.drain()
    stored = await collection.find_one({"_id": "a1"})
    assert stored is not None
    assert stored[OUTBOX_FIELD] == theirs
    assert publisher.published == [str(e["id"]) for e in mine]


async def test_clears_gathered_meanwhile_are_written_together(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    publisher = ListPublisher()
    outbox = Outbox(publisher, CollectorRegistry())  # type: ignore[arg-type]
    staged = {f"b{n}": _entries(1) for n in range(40)}
    for document_id, entries in staged.items():
        await collection.insert_one(with_outbox({"_id": document_id}, entries))
    writes: list[int] = []
    bulk_write = collection.bulk_write

    async def counted(requests: list[Any], **kwargs: Any) -> Any:
        writes.append(len(requests))
        return await bulk_write(requests, **kwargs)

    collection.bulk_write = counted  # type: ignore[method-assign]
    flushed = await asyncio.gather(*(outbox.flush(collection, i, e) for i, e in staged.items()))
    assert all(flushed)
    await outbox.drain()
    assert sum(writes) == 40
    assert len(writes) < 40  # fewer round trips than documents
    async for document in collection.find({"_id": {"$in": list(staged)}}):
        assert document[OUTBOX_FIELD] == []
    await outbox.close()


async def test_the_relay_publishes_what_stayed_past_the_grace_and_only_that(
    collection: AsyncCollection[dict[str, Any]],
) -> None:
    publisher = ListPublisher()
    outbox = Outbox(publisher, CollectorRegistry())  # type: ignore[arg-type]
    relay = OutboxRelay(outbox, [collection], interval_s=1, grace_s=30)
    left_behind, fresh = _entries(2, age_s=120), _entries(1)
    await collection.insert_one(with_outbox({"_id": "old"}, left_behind))
    await collection.insert_one(with_outbox({"_id": "new"}, fresh))
    await collection.insert_one({"_id": "none", OUTBOX_FIELD: []})
    publisher.down = True
    assert await relay.run_once() == 1  # Kafka away: still waiting, nothing lost
    assert (await collection.find_one({"_id": "old"}) or {})[OUTBOX_FIELD] == left_behind
    publisher.down = False
    assert await relay.run_once() == 0
    assert publisher.published == [str(e["id"]) for e in left_behind]
    assert (await collection.find_one({"_id": "old"}) or {})[OUTBOX_FIELD] == []
    assert (await collection.find_one({"_id": "new"}) or {})[OUTBOX_FIELD] == fresh
    assert await relay.run_once() == 0
    assert publisher.published == [str(e["id"]) for e in left_behind]  # not again
