"""Scenarios published to test topics on the real Kafka, and the wait for the shared stack's
services once Kafka is back: what the rebuild and the report view are tested on."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from etnik.common.contracts.registration import (
    ParticipantCategory,
    RegistrationCancelled,
    RegistrationConfirmed,
)
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.common.topics import SERVICES
from etnik.devstack import Stack

T0 = datetime(2026, 2, 2, 9, tzinfo=UTC)


async def publish(
    stack: Stack, topic: str, events: list[IntegrationEvent], *, create: bool = True
) -> None:
    if create:
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
        finally:
            await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            body = CloudEvent.wrap(event, source="/etnik/test", time=T0).model_dump(mode="json")
            await producer.send_and_wait(topic, json.dumps(body).encode(), key=event.key.encode())
        await producer.send_and_wait(topic, b"not json", key=b"garbage")
    finally:
        await producer.stop()


def registrations(count: int) -> list[IntegrationEvent]:
    """Confirmed registrations; every third is cancelled, its cancel published first."""
    events: list[IntegrationEvent] = []
    for number in range(count):
        facts = {
            "registration_id": f"r{number}",
            "event_id": f"e{number % 3}",
            "person_id": f"person-{number % 7}",
            "category": ParticipantCategory.EXPERT,
            "federal_district": "СЗФО",
        }
        confirmed = RegistrationConfirmed(**facts, registered_at=T0)
        if number % 3 == 0:
            events.append(RegistrationCancelled(**facts, cancelled_at=T0 + timedelta(hours=1)))
        events.append(confirmed)
    return events


def wait_for_services(stack: Stack) -> None:
    """The shared stack's services reconnect by themselves; wait so later tests find them up."""
    deadline = datetime.now(UTC) + timedelta(seconds=90)
    running = [name for name in SERVICES if stack.is_running(name)]
    while datetime.now(UTC) < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if all(
                httpx.get(f"{stack.service_url(name)}/readyz", timeout=5).status_code == 200
                for name in running
            ):
                return
        time.sleep(0.5)
