"""Staging events into an aggregate's write."""

from __future__ import annotations

from datetime import UTC, datetime

from etnik.common.contracts.registration import (
    ParticipantCategory,
    RegistrationConfirmed,
)
from etnik.common.events import CloudEvent
from etnik.common.outbox import (
    OUTBOX_FIELD,
    stage,
    update_with_outbox,
    with_outbox,
)


def _staged() -> list[dict[str, object]]:
    data = RegistrationConfirmed(
        registration_id="r1",
        event_id="e1",
        person_id="p1",
        category=ParticipantCategory.EXPERT,
        registered_at=datetime.now(UTC),
    )
    return stage([CloudEvent.wrap(data, source="/etnik/registration")])


def test_staged_events_are_json_safe_so_they_compare_equal_after_a_round_trip() -> None:
    entry = _staged()[0]
    assert isinstance(entry["time"], str)
    assert CloudEvent.model_validate(entry).type == "ru.etnik.registration.confirmed"


def test_an_update_keeps_its_own_operators_and_appends_the_events() -> None:
    staged = _staged()
    update = update_with_outbox({"$set": {"status": "cancelled"}, "$inc": {"version": 1}}, staged)
    assert update["$set"] == {"status": "cancelled"}
    assert update["$inc"] == {"version": 1}
    assert update["$push"] == {OUTBOX_FIELD: {"$each": staged}}


def test_a_new_document_carries_its_first_events() -> None:
    staged = _staged()
    document = with_outbox({"_id": "r1"}, staged)
    assert document[OUTBOX_FIELD] == staged
    assert document["_id"] == "r1"
