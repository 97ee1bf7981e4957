"""A batch of records is handled in order with one duplicate look-up and one write of marks:
repeats inside the batch and events handled before are duplicates, a bad record is parked
alone, and when the infrastructure fails midway the records handled before it are marked,
so that the redelivered batch handles only the rest."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import AutoReconnect

from etnik.common.app import ServiceRuntime
from etnik.common.consumer import PROCESSED_COLLECTION, EventConsumer
from etnik.common.contracts.registration import PersonErased
from etnik.common.events import CloudEvent
from etnik.common.settings import ServiceSettings
from etnik.devstack import Stack


class DeadLetters:
    """Stands in for the publisher: keeps what would be parked."""

    def __init__(self) -> None:
        self.parked: list[bytes] = []

    async def publish_raw(
        self, topic: str, value: bytes, *, key: bytes | None, headers: dict[str, str]
    ) -> None:
        self.parked.append(value)


@pytest.fixture
async def database(infra: Stack) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    db = client[f"test_batches_{uuid.uuid4().hex[:8]}"]
    try:
        yield db
    finally:
        await client.drop_database(db.name)
        await client.close()


def record(person_id: str, offset: int) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    event = PersonErased(person_id=person_id, erased_at=datetime.now(UTC))
    body = CloudEvent.wrap(event, source="/etnik/test").model_dump_json().encode()
    return body, {}, {"topic": PersonErased.topic, "partition": 0, "offset": offset}


async def test_a_batch_is_handled_in_order_once_per_event(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    parked = DeadLetters()
    consumer = EventConsumer(
        group_id="etnik.test.batches",
        database=database,
        publisher=parked,  # type: ignore[arg-type]
        dead_letter_topic="etnik.test.deadletter.v1",
        registry=CollectorRegistry(),
        retry_backoff_s=0.01,
        batch_max=100,
    )
    handled: list[str] = []
    outage = {"on": "p-down"}
    listened: list[tuple[int, str]] = []

    @consumer.on(PersonErased)
    async def on_erased(envelope: CloudEvent, erased: PersonErased) -> None:
        if erased.person_id == outage["on"]:
            raise AutoReconnect("MongoDB went away")
        handled.append(erased.person_id)

    async def listen(origin: dict[str, Any], outcome: str) -> None:
        listened.append((origin["offset"], outcome))

    consumer.after_each_message(listen)

    earlier = record("p0", 0)
    assert await consumer.process(earlier[0], headers={}, origin=earlier[2]) == "handled"
    first, again = record("p1", 1), record("p2", 2)
    batch = [
        earlier,  # handled in an earlier batch
        first,
        (first[0], {}, {**first[2], "offset": 3}),  # the same event twice in one batch
        (b'{"not": "a CloudEvent"}', {}, {"topic": "t", "partition": 0, "offset": 4}),
        again,
    ]
    outcomes = await consumer.process_batch(batch)
    assert outcomes == ["duplicate", "handled", "duplicate", "dead_lettered", "handled"]
    assert handled == ["p0", "p1", "p2"]
    assert parked.parked == [b'{"not": "a CloudEvent"}']
    assert listened[-5:] == [
        (0, "duplicate"),
        (1, "handled"),
        (3, "duplicate"),
        (4, "dead_lettered"),
        (2, "handled"),
    ]
    marked = {document["_id"] async for document in database[PROCESSED_COLLECTION].find({})}
    assert len(marked) == 3

    # MongoDB fails on the third record: the batch is to be redelivered, the first two are
    # marked already, and on redelivery only the rest is handled.
    batch = [record("p3", 5), record("p4", 6), record("p-down", 7), record("p5", 8)]
    with pytest.raises(AutoReconnect):
        await consumer.process_batch(batch)
    assert handled[-2:] == ["p3", "p4"]
    outage["on"] = ""
    handled.clear()
    # The failed record waited for the infrastructure: once it is back, it is handled.
    outcomes = await consumer.process_batch(batch)
    assert outcomes == ["duplicate", "duplicate", "handled", "handled"]
    assert handled == ["p-down", "p5"]


async def test_records_on_kafka_reach_the_handlers_through_a_batch_subscription(
    infra: Stack,
) -> None:
    """The path a service takes (`consumer_batch_max` > 1): Kafka → FastStream's batch
    subscriber → `process_batch`, every record handled once, in order within its partition."""
    settings = ServiceSettings(
        service_name=f"batchtest{uuid.uuid4().hex[:6]}",
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        mongodb_url=infra.mongodb_url,
        consumer_batch_max=25,
    )
    runtime = ServiceRuntime(settings)
    consumer = runtime.consumer()
    handled: list[str] = []

    @consumer.on(PersonErased)
    async def on_erased(envelope: CloudEvent, erased: PersonErased) -> None:
        handled.append(erased.person_id)

    # Across several batches, and few: other modules' consumers read this topic from the start.
    sent = [f"batch-probe-{number:02d}" for number in range(60)]
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    await runtime.start()
    try:
        for person_id in sent:
            body, _, _ = record(person_id, 0)
            # One key: one partition, so the order they were sent in is the order to handle.
            await producer.send_and_wait(PersonErased.topic, body, key=b"one-key")
        for _ in range(300):
            if len(handled) >= len(sent):
                break
            await asyncio.sleep(0.1)
        assert handled == sent
        assert await runtime.db[PROCESSED_COLLECTION].count_documents({}) == len(sent)
    finally:
        await producer.stop()
        await runtime.mongo.drop_database(settings.database_name)
        await runtime.stop()
