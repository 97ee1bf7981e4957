"""Database errors that pass (outages, elections, FerretDB's busy SQLite) make a message wait,
never park it on the dead-letter topic; errors of the message itself still do."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.errors import (
    OperationFailure,
)

from etnik.common.consumer import EventConsumer
from etnik.common.contracts.registration import ParticipantCategory, RegistrationConfirmed
from etnik.common.events import CloudEvent
from etnik.common.publisher import EventPublisher
from etnik.devstack import Stack

BUSY = "[msg_update.go:133 handler.(*Handler).update] database is locked (5) (SQLITE_BUSY)"


async def test_a_busy_database_has_the_message_redelivered_not_dead_lettered(infra: Stack) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    database = client[f"test_transient_{uuid.uuid4().hex[:8]}"]
    registry = CollectorRegistry()
    consumer = EventConsumer(
        group_id="etnik.test",
        database=database,
        publisher=EventPublisher.__new__(EventPublisher),  # dead-lettering would fail loudly
        dead_letter_topic="etnik.test.deadletter.v1",
        registry=registry,
        retry_backoff_s=0.01,
    )
    calls: list[str] = []

    @consumer.on(RegistrationConfirmed)
    async def handle(envelope: CloudEvent, event: RegistrationConfirmed) -> None:
        calls.append(envelope.id)
        if len(calls) <= 4:  # busier than the bounded retries of a bad message would allow
            raise OperationFailure(BUSY, code=1)

    event = RegistrationConfirmed(
        registration_id="r1",
        event_id="e1",
        person_id="p1",
        category=ParticipantCategory.EXPERT,
        registered_at=datetime.now(UTC),
    )
    body = CloudEvent.wrap(event, source="/etnik/test").model_dump_json().encode()
    origin = {"topic": RegistrationConfirmed.topic, "partition": 0, "offset": 7}
    try:
        for _ in range(4):  # each delivery fails and asks for redelivery
            with pytest.raises(OperationFailure):
                await consumer.process(body, headers={}, origin=origin)
        assert await consumer.process(body, headers={}, origin=origin) == "handled"
        assert len(calls) == 5
        dead = registry.get_sample_value(
            "etnik_events_consumed_total",
            {"type": RegistrationConfirmed.event_type, "outcome": "dead_lettered"},
        )
        assert dead is None
    finally:
        await client.drop_database(database.name)
        await client.close()
