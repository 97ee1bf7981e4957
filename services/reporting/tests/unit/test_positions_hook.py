"""The kernel tells the projections where each message came from, whatever became of it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient

from etnik.common.consumer import EventConsumer
from etnik.common.events import CloudEvent
from etnik.common.publisher import EventPublisher
from etnik.reporting.inbound import RegistrationConfirmed


async def test_an_unknown_type_is_counted_skipped_and_its_offset_reported() -> None:
    registry = CollectorRegistry()
    consumer = EventConsumer(
        group_id="etnik.reporting",
        # Never contacted: an unknown type is skipped before any lookup.
        database=AsyncMongoClient("mongodb://127.0.0.1:9", connect=False)["unused"],
        publisher=EventPublisher.__new__(EventPublisher),  # unused: nothing is dead-lettered
        dead_letter_topic="etnik.reporting.deadletter.v1",
        registry=registry,
    )
    handled: list[Any] = []

    @consumer.on(RegistrationConfirmed)
    async def handle(envelope: CloudEvent, event: RegistrationConfirmed) -> None:
        handled.append(event)

    seen: list[tuple[dict[str, Any], str]] = []

    async def remember(origin: dict[str, Any], outcome: str) -> None:
        seen.append((origin, outcome))

    consumer.after_each_message(remember)
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": "evt-1",
            "source": "/elsewhere",
            "type": "ru.etnik.something.new",
            "time": datetime.now(UTC).isoformat(),
            "data": {"x": 1},
        }
    ).encode()
    origin = {"topic": "etnik.registration.registrations.v1", "partition": 2, "offset": 41}
    outcome = await consumer.process(body, headers={}, origin=origin)
    assert outcome == "skipped"
    assert handled == []
    assert seen == [(origin, "skipped")]
    skipped = registry.get_sample_value(
        "etnik_events_consumed_total", {"type": "ru.etnik.something.new", "outcome": "skipped"}
    )
    assert skipped == 1.0
