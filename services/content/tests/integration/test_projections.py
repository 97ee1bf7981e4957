"""The projections of registration events, on the real FerretDB."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from pymongo import AsyncMongoClient

from etnik.common.contracts.registration import (
    AttendanceRecorded,
    ParticipantCategory,
    RegistrationCancelled,
    RegistrationConfirmed,
)
from etnik.content.access import ParticipantAccess

if TYPE_CHECKING:
    from conftest import RunningContent


@pytest.fixture
async def access(content_service: RunningContent) -> AsyncIterator[ParticipantAccess]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        content_service.stack.mongodb_url, tz_aware=True
    )
    try:
        yield ParticipantAccess(client[content_service.database])
    finally:
        await client.close()


def facts(registration_id: str, person_id: str, event_id: str) -> dict[str, Any]:
    return {
        "registration_id": registration_id,
        "event_id": event_id,
        "person_id": person_id,
        "category": ParticipantCategory.NGO_LEADER,
        "organisation_id": "org-" + event_id,
    }


async def test_confirmation_grants_cancellation_revokes_and_repeats_change_nothing(
    access: ParticipantAccess,
) -> None:
    person, event, registration = (uuid.uuid4().hex for _ in range(3))
    confirmed = RegistrationConfirmed(
        **facts(registration, person, event), registered_at=datetime.now(UTC)
    )
    await access.grant(confirmed)
    await access.grant(confirmed)
    assert await access.is_participant(event, person)
    assert await access.events_of(person) == {event}

    await access.record_attendance(
        AttendanceRecorded(
            registration_id=registration,
            event_id=event,
            person_id=person,
            attended=True,
            method="qr",
            recorded_at=datetime.now(UTC),
        )
    )
    [history] = await access.participation_of("org-" + event)
    assert (history["confirmed"], history["attended"]) == (1, 1)

    await access.revoke(
        RegistrationCancelled(**facts(registration, person, event), cancelled_at=datetime.now(UTC))
    )
    assert not await access.is_participant(event, person)
    assert await access.events_of(person) == set()


async def test_erasure_keeps_counts_but_drops_the_person(access: ParticipantAccess) -> None:
    person, event, registration = (uuid.uuid4().hex for _ in range(3))
    await access.grant(
        RegistrationConfirmed(**facts(registration, person, event), registered_at=datetime.now(UTC))
    )
    await access.forget_person(person)
    assert await access.events_of(person) == set()
    stored = await access.registrations.find_one({"_id": registration})
    assert stored is not None
    assert stored["person_id"] is None
    [history] = await access.participation_of("org-" + event)
    assert history["confirmed"] == 1
