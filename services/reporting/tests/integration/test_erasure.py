"""Reporting holds no personal data of anyone, before an erasure and after it, even when more
events about the erased person arrive: every event reaches the service's real consumer and
projections on FerretDB, and the whole database is searched for the person afterwards."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.consumer import EventConsumer
from etnik.common.contracts.content import MaterialDownloaded
from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.common.contracts.registration import (
    AttendanceRecorded,
    ParticipantCategory,
    PersonErased,
    PersonRegistered,
    RegistrationCancelled,
    RegistrationConfirmed,
    SignInLinkRequested,
)
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.devstack import Stack
from etnik.reporting.container import ReportingContainer, build
from etnik.reporting.settings import ReportingSettings

EMAIL = "zarema.udalyaeva@example.org"
FULL_NAME = "Зарема Удаляева"


@pytest.fixture
async def reporting(infra: Stack) -> AsyncIterator[ReportingContainer]:
    """Reporting's runtime and consumer on a database of its own (its consumer is fed here,
    message by message, as Kafka would)."""
    settings = ReportingSettings(
        environment="test",
        service_name=f"reporting-erasure-{uuid.uuid4().hex[:6]}",
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        mongodb_url=infra.mongodb_url,
        mongodb_database=f"test_reporting_erasure_{uuid.uuid4().hex[:8]}",
    )
    parts = build(settings)
    await parts.generations.ensure_initialised()
    try:
        yield parts
    finally:
        await parts.runtime.mongo.drop_database(settings.database_name)
        await parts.runtime.mongo.close()


async def everything_in(db: AsyncDatabase[dict[str, Any]]) -> str:
    texts = []
    for name in await db.list_collection_names():
        async for document in db[name].find({}):
            texts.append(json.dumps(document, default=str, ensure_ascii=False))
    return "\n".join(texts)


async def feed(consumer: EventConsumer, offset: int, *events: IntegrationEvent) -> int:
    for event in events:
        body = CloudEvent.wrap(event, source="/etnik/test").model_dump_json().encode()
        origin = {"topic": event.topic, "partition": 0, "offset": offset, "key": None}
        assert await consumer.process(body, headers={}, origin=origin) in {"handled", "skipped"}
        offset += 1
    return offset


async def test_the_reporting_database_never_holds_the_persons_name_or_address(
    reporting: ReportingContainer,
) -> None:
    [consumer] = reporting.runtime.consumers
    person_id = f"person-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    registration = {
        "registration_id": f"reg-{uuid.uuid4().hex[:8]}",
        "event_id": "event-1",
        "person_id": person_id,
        "category": ParticipantCategory.NGO_LEADER,
        "region_code": "05",
        "federal_district": "СКФО",
    }
    message = {
        "kind": "registration_confirmed",
        "channel": "email",
        "person_id": person_id,
        "trigger_event_id": uuid.uuid4().hex,
    }
    offset = await feed(
        consumer,
        0,
        PersonRegistered(
            person_id=person_id,
            full_name=FULL_NAME,
            email=EMAIL,
            timezone="Europe/Moscow",
            category=ParticipantCategory.NGO_LEADER,
        ),
        SignInLinkRequested(
            person_id=person_id, email=EMAIL, link="https://x.test/s", expires_at=now
        ),
        RegistrationConfirmed(**registration, registered_at=now),
        NotificationSent(message_id="m1", sent_at=now, **message),
        MaterialDownloaded(
            material_id="material-1",
            file_version=1,
            kind="recommendation",
            reader="pseudonymous-reader",
            reader_kind="participant",
            partial=False,
            downloaded_at=now,
        ),
    )
    db = reporting.runtime.db
    before = await everything_in(db)
    assert "registered_at" in before or "rank" in before, "the facts were projected"
    for personal in (EMAIL, FULL_NAME, person_id):
        assert personal not in before

    offset = await feed(consumer, offset, PersonErased(person_id=person_id, erased_at=now))
    # Events about the person that arrive after the erasure (late, or replayed).
    await feed(
        consumer,
        offset,
        RegistrationCancelled(
            **registration, reason=f"письмо от {FULL_NAME}", cancelled_at=now + timedelta(1)
        ),
        AttendanceRecorded(
            registration_id=registration["registration_id"],
            event_id="event-1",
            person_id=person_id,
            attended=True,
            method="qr",
            recorded_at=now,
        ),
        NotificationFailed(
            message_id="m2", reason=f"550 <{EMAIL}> unknown", failed_at=now, **message
        ),
        PersonRegistered(
            person_id=person_id,
            full_name=FULL_NAME,
            email=EMAIL,
            timezone="Europe/Moscow",
            category=ParticipantCategory.NGO_LEADER,
        ),
    )

    after = await everything_in(db)
    for personal in (EMAIL, FULL_NAME, person_id):
        assert personal not in after
    assert "person_erased" in after, "the erasure was recorded against the pseudonym"
