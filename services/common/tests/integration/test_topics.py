"""One definition of the topics and their retention, applied by the services to the broker:
new topics are created with it, topics of an earlier version are brought to it, and on a
compacted topic an erasure record leaves no earlier copy of a person's record."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from prometheus_client import CollectorRegistry

from etnik.common import topics
from etnik.common.consumer import EventConsumer
from etnik.common.contracts.registration import RegistrationConfirmed
from etnik.common.events import CloudEvent
from etnik.common.kafka import ensure_topics
from etnik.common.publisher import EventPublisher
from etnik.common.settings import TEST_COMPACTION, Environment, ServiceSettings
from etnik.devstack import Stack

# Fields that hold a person's name or contact.
PERSONAL_FIELDS = {"email", "full_name", "phone"}
# Contracts that carry such a field off a person-keyed compacted topic, and why that is right.
NOT_KEYED_BY_PERSON = {
    # An organisation's contact address (its invitation); a person's invitation names none.
    # Deleted with the invitation topic after 31 days.
    "ru.etnik.invitation.issued",
}


async def test_a_tombstone_is_skipped_not_dead_lettered(infra: Stack) -> None:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    database = client[f"test_tombstone_{uuid.uuid4().hex[:8]}"]
    consumer = EventConsumer(
        group_id="etnik.test",
        database=database,
        publisher=EventPublisher.__new__(EventPublisher),  # dead-lettering would fail loudly
        dead_letter_topic="etnik.test.deadletter.v1",
        registry=CollectorRegistry(),
        retry_backoff_s=0,
    )
    handled: list[str] = []

    @consumer.on(RegistrationConfirmed)
    async def handle(envelope: CloudEvent, event: RegistrationConfirmed) -> None:
        handled.append(envelope.id)

    origin = {"topic": RegistrationConfirmed.topic, "partition": 0, "offset": 7, "key": b"r1"}
    try:
        assert await consumer.process(b"", headers={}, origin=origin) == "tombstone"
        assert handled == []
    finally:
        await client.drop_database(database.name)
        await client.close()


@pytest.fixture
def compacted_topic(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh topic that the definition compacts, as it does the people topic."""
    name = f"etnik.test.people_{uuid.uuid4().hex[:8]}.v1"
    monkeypatch.setattr(topics, "TOPIC_PROFILES", {**topics.TOPIC_PROFILES, name: "compacted"})
    return name


@pytest.fixture
async def admin(infra: Stack) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await client.start()
    try:
        yield client
    finally:
        await client.close()


async def own_configs(admin: AIOKafkaAdminClient, name: str) -> dict[str, str]:
    """The settings a topic has of its own (not the broker's defaults)."""
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    [resource] = response.to_object()["resources"]
    return {
        entry["config_names"]: entry["config_value"]
        for entry in resource["config_entries"]
        if entry.get("config_source") == 1
    }


async def settled_configs(
    admin: AIOKafkaAdminClient, name: str, expected: dict[str, str]
) -> dict[str, str]:
    """The topic's own settings once they equal what is expected (a change reaches the broker
    that answers a moment after it is accepted), or as they are after 10 s."""
    for _ in range(50):
        found = await own_configs(admin, name)
        if found == expected:
            break
        await asyncio.sleep(0.2)
    return found


def settings_for(infra: Stack, **values: Any) -> ServiceSettings:
    return ServiceSettings(
        service_name="topictest", kafka_bootstrap_servers=infra.kafka_bootstrap, **values
    )


async def test_a_new_topic_is_created_with_its_defined_configuration(
    infra: Stack, admin: AIOKafkaAdminClient, compacted_topic: str
) -> None:
    await ensure_topics(settings_for(infra), [compacted_topic])

    expected = dict(topics.PROFILES["compacted"])
    assert await settled_configs(admin, compacted_topic, expected) == expected


async def test_a_topic_of_an_earlier_version_is_brought_to_the_definition(
    infra: Stack, admin: AIOKafkaAdminClient, compacted_topic: str
) -> None:
    # As an earlier version created it: plain deletion, plus a setting of the cluster's own.
    await admin.create_topics(
        [
            NewTopic(
                compacted_topic,
                num_partitions=1,
                replication_factor=1,
                topic_configs={"cleanup.policy": "delete", "max.message.bytes": "2000000"},
            )
        ]
    )

    await ensure_topics(settings_for(infra), [compacted_topic])

    expected = {**topics.PROFILES["compacted"], "max.message.bytes": "2000000"}
    assert await settled_configs(admin, compacted_topic, expected) == expected


async def test_where_the_topics_are_managed_elsewhere_they_are_left_alone(
    infra: Stack, admin: AIOKafkaAdminClient, compacted_topic: str
) -> None:
    await admin.create_topics([NewTopic(compacted_topic, num_partitions=1, replication_factor=1)])

    await ensure_topics(settings_for(infra, kafka_manage_topic_configs=False), [compacted_topic])

    assert await own_configs(admin, compacted_topic) == {}


async def test_compaction_leaves_only_the_erasure_record_of_an_erased_person(
    infra: Stack, compacted_topic: str
) -> None:
    """What the test stack's settings promise: an erasure record replaces a person's record
    within seconds, once another record has closed the segment it was written in."""
    # One partition: the record that closes the segment must land beside the erasure record.
    await ensure_topics(
        settings_for(infra, environment=Environment.TEST, kafka_topic_partitions=1),
        [compacted_topic],
    )
    email = f"erased.{uuid.uuid4().hex[:8]}@example.org"
    person = b"p-erased"
    segment_s = int(TEST_COMPACTION["segment.ms"]) / 1000
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for value in (
            {"type": "registered", "email": email},
            {"type": "registered", "email": "other@example.org", "person": "p-kept"},
        ):
            key = person if value.get("person") is None else b"p-kept"
            await producer.send_and_wait(compacted_topic, json.dumps(value).encode(), key=key)
        await asyncio.sleep(segment_s + 0.5)
        # The erasure record opens a new segment; Kafka never compacts the active segment,
        # so another record (any key: in production, anyone's traffic) must close it.
        await producer.send_and_wait(compacted_topic, b'{"type": "erased"}', key=person)
        await asyncio.sleep(segment_s + 0.5)
        await producer.send_and_wait(compacted_topic, None, key=b"another key")
    finally:
        await producer.stop()

    async def read_all() -> list[tuple[bytes | None, bytes | None]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=infra.kafka_bootstrap, enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            partition = TopicPartition(compacted_topic, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            end = (await consumer.end_offsets([partition]))[partition]
            records: list[tuple[bytes | None, bytes | None]] = []
            while await consumer.position(partition) < end:
                batches = await consumer.getmany(timeout_ms=500)
                records += [(r.key, r.value) for batch in batches.values() for r in batch]
            return records
        finally:
            await consumer.stop()

    deadline = asyncio.get_running_loop().time() + 60
    while True:
        records = await read_all()
        if not any(value and email.encode() in value for _, value in records):
            break
        assert asyncio.get_running_loop().time() < deadline, "never compacted"
        await asyncio.sleep(1)
    # The erasure record stays under the person's key, the others' records are untouched.
    assert (person, b'{"type": "erased"}') in records
    assert any(key == b"p-kept" for key, _ in records)
