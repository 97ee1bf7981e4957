"""The rebuild's in-memory fold gives what the live writes give, whatever the order."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from pymongo import AsyncMongoClient

from etnik.common.contracts.registration import (
    AttendanceRecorded,
    EventChanged,
    EventCreated,
    EventFormat,
    ParticipantCategory,
    PersonErased,
    RegistrationCancelled,
    RegistrationConfirmed,
)
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.reporting import domain
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import ProjectionStore

T0 = datetime(2026, 5, 4, 10, tzinfo=UTC)
FACTS = {
    "registration_id": "r1",
    "event_id": "e1",
    "person_id": "person-1",
    "category": ParticipantCategory.EXPERT,
}
SNAPSHOT = {"event_id": "e1", "title": "Сессия", "format": EventFormat.ONLINE, "timezone": "UTC"}


def envelope(event: IntegrationEvent, at: datetime = T0) -> CloudEvent:
    return CloudEvent.wrap(event, source="/etnik/test", time=at)


HISTORY = [
    envelope(RegistrationConfirmed(**FACTS, registered_at=T0)),
    envelope(RegistrationCancelled(**FACTS, cancelled_at=T0 + timedelta(hours=1))),
    envelope(
        AttendanceRecorded(
            **{k: v for k, v in FACTS.items() if k != "category"},
            attended=True,
            method="qr",
            recorded_at=T0 + timedelta(hours=2),
        )
    ),
    envelope(EventCreated(**SNAPSHOT, starts_at=T0, ends_at=T0, status="published"), T0),
    envelope(
        EventChanged(
            **SNAPSHOT,
            starts_at=T0 + timedelta(days=1),
            ends_at=T0 + timedelta(days=1),
            status="completed",
            changes=["status"],
        ),
        T0 + timedelta(days=2),
    ),
    envelope(PersonErased(person_id="person-1", erased_at=T0 + timedelta(days=3))),
]


def fold(order: list[CloudEvent]) -> dict[str, list[dict[str, object]]]:
    # A client that never connects: building writes does no I/O.
    unused = AsyncMongoClient("mongodb://127.0.0.1:9", connect=False)["unused"]
    store = ProjectionStore(unused, 1, b"test-pseudonym-key-0123")
    result = ProjectionFold()
    for item in order:
        for collection, write in store.writes_for(item, item.payload()):
            result.apply(collection, write)
    return result.documents()


def test_every_order_of_arrival_folds_to_the_same_documents() -> None:
    expected = fold(HISTORY[:5])  # the erasure depends on order: checked below
    for order in itertools.permutations(HISTORY[:5]):
        assert fold(list(order)) == expected
    [registration] = expected["registrations"]
    assert domain.registration_status(registration) == "cancelled"
    assert domain.attended(registration) is True
    [event] = expected["events"]
    assert (event["planned_starts_at"], event["starts_at"]) == (T0, T0 + timedelta(days=1))
    assert event["status"] == "completed"


def test_an_erasure_marks_what_is_there_and_keeps_it() -> None:
    documents = fold(HISTORY)
    [registration] = documents["registrations"]
    assert registration["person_erased"] is True
    assert registration["rank"] == domain.REGISTRATION_RANKS["cancelled"]
