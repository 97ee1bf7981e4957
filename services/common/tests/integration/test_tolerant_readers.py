"""A consumer validates only what it reads: the handler is found by type first, then the data
is checked against the consumer's own reader. A value or field it does not read never parks
a message on the dead-letter topic; a missing field it does read still does, named."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.consumer import EventConsumer
from etnik.common.contracts.registration import ParticipantCategory, RegistrationConfirmed
from etnik.common.events import CloudEvent, EventReader
from etnik.devstack import Stack


class ConfirmedRead(EventReader, of=RegistrationConfirmed):
    """All this consumer needs of a confirmation."""

    registration_id: str
    person_id: str


class DeadLetters:
    """Stands in for the publisher: keeps what would be parked."""

    def __init__(self) -> None:
        self.parked: list[dict[str, Any]] = []

    async def publish_raw(
        self, topic: str, value: bytes, *, key: bytes | None, headers: dict[str, str]
    ) -> None:
        self.parked.append({"topic": topic, "value": value, "headers": headers})


@pytest.fixture
async def database(infra: Stack) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url)
    db = client[f"test_readers_{uuid.uuid4().hex[:8]}"]
    try:
        yield db
    finally:
        await client.drop_database(db.name)
        await client.close()


def message(event_type: str, data: dict[str, Any]) -> bytes:
    """A CloudEvent as a newer producer might send it."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/etnik/registration",
            "type": event_type,
            "time": datetime.now(UTC).isoformat(),
            "datacontenttype": "application/json",
            "data": data,
        }
    ).encode()


def confirmation(**changes: Any) -> dict[str, Any]:
    data = RegistrationConfirmed(
        registration_id="r1",
        event_id="e1",
        person_id="p1",
        category=ParticipantCategory.NGO_LEADER,
        registered_at=datetime.now(UTC),
    ).model_dump(mode="json")
    return {**data, **changes}


async def test_what_the_consumer_does_not_read_never_parks_a_message(
    database: AsyncDatabase[dict[str, Any]],
) -> None:
    parked = DeadLetters()
    registry = CollectorRegistry()
    consumer = EventConsumer(
        group_id="etnik.test.readers",
        database=database,
        publisher=parked,  # type: ignore[arg-type]
        dead_letter_topic="etnik.test.deadletter.v1",
        registry=registry,
        retry_backoff_s=0.01,
    )
    handled: list[ConfirmedRead] = []

    @consumer.on(ConfirmedRead)
    async def on_confirmed(envelope: CloudEvent, confirmed: ConfirmedRead) -> None:
        handled.append(confirmed)

    origin = {"topic": RegistrationConfirmed.topic, "partition": 0, "offset": 1}
    # A category the producer added after this consumer was built, and a new field: the
    # producer's own contract would refuse the first, this reader never looks at either.
    newer = message(
        RegistrationConfirmed.event_type, confirmation(category="youth_leader", badge="gold")
    )
    with pytest.raises(ValidationError, match="category"):
        RegistrationConfirmed.model_validate(json.loads(newer)["data"])
    assert await consumer.process(newer, headers={}, origin=origin) == "handled"
    assert handled == [ConfirmedRead(registration_id="r1", person_id="p1")]

    # A type no handler here reads is skipped, however odd its data.
    odd = message("ru.etnik.something.new", {"anything": ["at", "all"]})
    assert await consumer.process(odd, headers={}, origin=origin) == "skipped"
    known_elsewhere = message("ru.etnik.event.created", {"event_id": 7})
    assert await consumer.process(known_elsewhere, headers={}, origin=origin) == "skipped"
    assert parked.parked == []

    # A field the reader does read is missing: parked, with the field named and no value.
    broken = confirmation(person_id=None)
    body = message(RegistrationConfirmed.event_type, broken)
    assert await consumer.process(body, headers={}, origin=origin) == "dead_lettered"
    [dead] = parked.parked
    assert dead["value"] == body
    assert dead["headers"]["x-dlq-error-type"] == "MalformedEvent"
    assert "person_id" in dead["headers"]["x-dlq-reason"]
    assert "r1" not in dead["headers"]["x-dlq-reason"]
    assert len(handled) == 1
    assert (
        registry.get_sample_value(
            "etnik_events_consumed_total",
            {"type": RegistrationConfirmed.event_type, "outcome": "dead_lettered"},
        )
        == 1
    )
