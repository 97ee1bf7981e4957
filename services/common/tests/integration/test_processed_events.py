"""Handled events are remembered for deduplication as long as redelivery can happen, then
forgotten, so that the look-up every message makes does not grow with the service's age."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from etnik.common.app import ServiceRuntime
from etnik.common.consumer import PROCESSED_COLLECTION, EventConsumer, prune_processed
from etnik.common.contracts.registration import ParticipantCategory, RegistrationConfirmed
from etnik.common.events import CloudEvent
from etnik.common.publisher import EventPublisher
from etnik.common.settings import ServiceSettings
from etnik.devstack import Stack


def confirmed(number: int) -> bytes:
    event = RegistrationConfirmed(
        registration_id=f"r{number}",
        event_id="e1",
        person_id=f"p{number}",
        category=ParticipantCategory.EXPERT,
        registered_at=datetime.now(UTC),
    )
    return CloudEvent.wrap(event, source="/etnik/test").model_dump_json().encode()


async def test_old_records_are_forgotten_and_recent_ones_still_deduplicate(infra: Stack) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    database = client[f"test_processed_{uuid.uuid4().hex[:8]}"]
    consumer = EventConsumer(
        group_id="etnik.test",
        database=database,
        publisher=EventPublisher.__new__(EventPublisher),  # nothing is dead-lettered here
        dead_letter_topic="etnik.test.deadletter.v1",
        registry=CollectorRegistry(),
    )
    handled: list[str] = []

    @consumer.on(RegistrationConfirmed)
    async def handle(envelope: CloudEvent, event: RegistrationConfirmed) -> None:
        handled.append(event.registration_id)

    old, recent = confirmed(1), confirmed(2)
    origin = {"topic": RegistrationConfirmed.topic, "partition": 0, "offset": 1}
    try:
        for body in (old, recent):
            assert await consumer.process(body, headers={}, origin=origin) == "handled"
        old_id = CloudEvent.model_validate_json(old).id
        eight_days_ago = datetime.now(UTC) - timedelta(days=8)
        await database[PROCESSED_COLLECTION].update_one(
            {"_id": old_id}, {"$set": {"at": eight_days_ago}}
        )

        pruned = await prune_processed(database, datetime.now(UTC) - timedelta(days=7))

        assert pruned == 1
        assert await consumer.process(recent, headers={}, origin=origin) == "duplicate"
        # Redelivered after the retention: handled again (handlers are idempotent).
        assert await consumer.process(old, headers={}, origin=origin) == "handled"
        assert handled == ["r1", "r2", "r1"]
    finally:
        await client.drop_database(database.name)
        await client.close()


async def test_a_service_with_consumers_sweeps_its_records_in_the_background(infra: Stack) -> None:
    database = f"test_sweep_{uuid.uuid4().hex[:8]}"
    settings = ServiceSettings(
        service_name="sweeptest",
        mongodb_url=infra.mongodb_url,
        mongodb_database=database,
        processed_events_retention_s=3600,
        processed_events_prune_interval_s=0.1,
    )
    runtime = ServiceRuntime(settings)
    runtime.consumer()
    records = runtime.db[PROCESSED_COLLECTION]
    now = datetime.now(UTC)
    await records.insert_many(
        [
            {"_id": "two-hours-ago", "type": "t", "at": now - timedelta(hours=2)},
            {"_id": "a-minute-ago", "type": "t", "at": now - timedelta(minutes=1)},
        ]
    )
    runtime.database_initialised.set()  # as once the indexes exist; Kafka is not needed here
    sweep = asyncio.create_task(runtime.prune_processed_forever())
    try:
        for _ in range(100):
            if await records.count_documents({}) == 1:
                break
            await asyncio.sleep(0.1)
        assert [row["_id"] async for row in records.find({})] == ["a-minute-ago"]
    finally:
        sweep.cancel()
        await asyncio.gather(sweep, return_exceptions=True)
        await runtime.mongo.drop_database(database)
        await runtime.mongo.close()
