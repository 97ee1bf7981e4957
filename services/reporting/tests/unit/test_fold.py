"""The rebuild's in-memory fold gives what the live writes give, whatever the order."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from etnik.common.contracts.content import MaterialDownloaded
from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.common.contracts.registration import (
    AttendanceRecorded,
    EventChanged,
    EventCreated,
    EventFormat,
    ParticipantCategory,
    PersonErased,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationWaitlisted,
)
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.reporting import columnar, domain

from .. import reference
from ..folding import documents

T0 = datetime(2026, 5, 4, 10, tzinfo=UTC)
FACTS = {
    "registration_id": "r1",
    "event_id": "e1",
    "person_id": "person-1",
    "category": ParticipantCategory.EXPERT,
}
SNAPSHOT = {"event_id": "e1", "title": "Сессия", "format": EventFormat.ONLINE, "timezone": "UTC"}


PRESENT_MARK = domain.attendance_mark(T0, attended=True)


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


def test_every_order_of_arrival_folds_to_the_same_documents() -> None:
    expected = documents(HISTORY[:5])  # the erasure depends on order: checked below
    for order in itertools.permutations(HISTORY[:5]):
        assert documents(list(order)) == expected
    [registration] = expected["registrations"]
    assert reference.registration_status(registration) == "cancelled"
    assert reference.attended(registration) is True
    [event] = expected["events"]
    assert (event["planned_starts_at"], event["starts_at"]) == (T0, T0 + timedelta(days=1))
    assert event["status"] == "completed"


def test_an_erasure_marks_what_is_there_and_keeps_it() -> None:
    folded = documents(HISTORY)
    [registration] = folded["registrations"]
    assert registration["person_erased"] is True
    assert registration["rank"] == domain.REGISTRATION_RANKS["cancelled"]


def random_history(seed: int, count: int) -> list[CloudEvent]:
    """Registrations, attendance, erasures, messages and downloads, with repeats, any order."""
    rng = random.Random(seed)
    history = []
    for _ in range(count):
        rid, person = f"r{rng.randrange(60)}", f"person-{rng.randrange(20)}"
        moment = T0 + timedelta(minutes=rng.randrange(-600, 6000))
        facts = {
            **FACTS,
            "registration_id": rid,
            "person_id": person,
            "category": rng.choice(list(ParticipantCategory)),
            "organisation_id": rng.choice([None, "o1"]),
            "region_code": rng.choice([None, "41"]),
            "event_id": rng.choice(["e1", "e2"]),
        }
        kind = rng.randrange(7)
        event: IntegrationEvent
        if kind == 0:
            event = RegistrationConfirmed(**facts, registered_at=moment)
        elif kind == 1:
            event = RegistrationWaitlisted(**facts, registered_at=moment)
        elif kind == 2:
            event = RegistrationCancelled(**facts, cancelled_at=moment)
        elif kind == 3:
            event = AttendanceRecorded(
                registration_id=rid,
                event_id=facts["event_id"],
                person_id=person,
                attended=rng.random() < 0.5,
                method="qr",
                recorded_at=moment,
            )
        elif kind == 4:
            event = PersonErased(person_id=person, erased_at=moment)
        elif kind == 5:
            outcome = NotificationSent if rng.random() < 0.5 else NotificationFailed
            at = (
                {"sent_at": moment}
                if outcome is NotificationSent
                else {"failed_at": moment, "reason": "mailbox full"}
            )
            event = outcome(
                message_id=f"m{rng.randrange(30)}",
                kind="confirmation",
                channel="email",
                person_id=person,
                trigger_event_id="t1",
                **at,
            )
        else:
            event = MaterialDownloaded(
                material_id=f"mat{rng.randrange(5)}",
                file_version=1,
                kind="guide",
                reader=rng.choice(["anonymous", "reader-1"]),
                reader_kind="participant",
                partial=rng.random() < 0.3,
                downloaded_at=moment,
            )
        history.append(envelope(event, moment))
    return history


@pytest.mark.parametrize("seed", range(5))
def test_columns_hold_what_the_documents_hold_after_the_same_writes(seed: int) -> None:
    history = random_history(seed, 400)
    as_columns = documents(history)
    expected = documents(history, columnar=False)  # every collection as documents: the reference
    assert set(as_columns) == set(expected)
    for name, rows in expected.items():
        assert as_columns[name] == rows, name


def test_a_column_refuses_what_it_cannot_hold() -> None:
    table = columnar.registrations_table()
    with pytest.raises(ValueError, match="no column 'status'"):
        table.apply({"_id": "r1"}, {"$set": {"status": "confirmed"}}, upsert=True, many=False)
    with pytest.raises(ValueError, match="by _id only"):
        table.apply({"_id": "r1", "rank": 1}, {"$set": {}}, upsert=True, many=False)
    assert columnar.code_mark(columnar.mark_code(PRESENT_MARK)) == PRESENT_MARK
