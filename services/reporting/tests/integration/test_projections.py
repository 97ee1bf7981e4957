"""Projections on the real FerretDB: redelivery, out-of-order arrival and erasure end right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from etnik.common.contracts.content import MaterialDownloaded, MaterialPublished, StrategyUpdated
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
from etnik.reporting import domain
from etnik.reporting.projections import Generations, ProjectionStore

from .. import reference
from ..folding import read

T0 = datetime(2026, 2, 2, 9, tzinfo=UTC)


async def registrations_of(store: ProjectionStore) -> list[dict[str, Any]]:
    """The registrations with a status (attendance can arrive before its registration)."""
    return await store.registrations.find({"rank": {"$exists": True}}).to_list()


def envelope(event: IntegrationEvent, at: datetime = T0) -> CloudEvent:
    return CloudEvent.wrap(event, source="/etnik/test", time=at)


async def apply_all(store: ProjectionStore, *envelopes: CloudEvent) -> None:
    for item in envelopes:
        await store.apply(item, read(item))


def facts(**overrides: Any) -> dict[str, Any]:
    return {
        "registration_id": "r1",
        "event_id": "e1",
        "person_id": "person-1",
        "category": ParticipantCategory.NGO_LEADER,
        "region_code": "41",
        "federal_district": "ДФО",
        **overrides,
    }


async def statuses(store: ProjectionStore) -> dict[str, str | None]:
    rows = await registrations_of(store)
    return {str(row["_id"]): reference.registration_status(row) for row in rows}


async def test_a_cancel_before_its_create_ends_cancelled_and_redelivery_changes_nothing(
    generations: Generations,
) -> None:
    store = await generations.active()
    cancelled = envelope(RegistrationCancelled(**facts(), cancelled_at=T0 + timedelta(hours=2)))
    waitlisted = envelope(RegistrationWaitlisted(**facts(), registered_at=T0))
    confirmed = envelope(RegistrationConfirmed(**facts(), registered_at=T0 + timedelta(hours=1)))
    await apply_all(store, cancelled, confirmed, waitlisted)
    assert await statuses(store) == {"r1": "cancelled"}
    await apply_all(store, confirmed, cancelled, waitlisted)  # redelivered, in any order
    [row] = await registrations_of(store)
    assert row["registered_at"] == T0  # the earliest, whichever came first
    assert reference.registration_status(row) == "cancelled"

    other = facts(registration_id="r2")
    await apply_all(
        store,
        envelope(RegistrationConfirmed(**other, registered_at=T0)),  # promoted from the list...
        envelope(RegistrationWaitlisted(**other, registered_at=T0)),  # ...whose event came late
    )
    assert await statuses(store) == {"r1": "cancelled", "r2": "confirmed"}


async def test_attendance_before_its_registration_and_a_late_older_record(
    generations: Generations,
) -> None:
    store = await generations.active()

    def attendance(attended: bool, minutes: int) -> CloudEvent:
        return envelope(
            AttendanceRecorded(
                registration_id="r1",
                event_id="e1",
                person_id="person-1",
                attended=attended,
                method="operator",
                recorded_at=T0 + timedelta(minutes=minutes),
            )
        )

    await apply_all(store, attendance(True, 30))
    assert await statuses(store) == {}  # not a registration until its registration arrives
    await apply_all(
        store,
        envelope(RegistrationConfirmed(**facts(), registered_at=T0)),
        attendance(False, 10),  # older correction arriving late: ignored
        attendance(True, 30),
    )
    [row] = await registrations_of(store)
    assert reference.attended(row) is True
    assert reference.registration_status(row) == "confirmed"


async def test_planned_dates_come_from_creation_and_actual_from_the_latest_change(
    generations: Generations,
) -> None:
    store = await generations.active()
    planned = T0 + timedelta(days=10)
    snapshot: dict[str, Any] = {
        "event_id": "e1",
        "title": "Стратегическая сессия",
        "track": "strategic_session",
        "format": EventFormat.IN_PERSON,
        "timezone": "Europe/Moscow",
        "federal_district": "ЦФО",
    }
    created = envelope(
        EventCreated(
            **snapshot, starts_at=planned, ends_at=planned + timedelta(hours=3), status="published"
        ),
        T0,
    )
    moved = envelope(
        EventChanged(
            **snapshot,
            starts_at=planned + timedelta(days=2),
            ends_at=planned + timedelta(days=2, hours=3),
            status="registration_open",
            changes=["starts_at", "ends_at", "status"],
        ),
        T0 + timedelta(days=1),
    )
    held = envelope(
        EventChanged(
            **snapshot,
            starts_at=planned + timedelta(days=2),
            ends_at=planned + timedelta(days=2, hours=3),
            status="completed",
            changes=["status"],
        ),
        T0 + timedelta(days=13),
    )
    # The change arrives first and the older change last: the outcome is the same.
    await apply_all(store, held, created, moved)
    [event] = await store.events.find({}).to_list()
    row = domain.event_row(event)
    assert row["planned_starts_at"] == planned.isoformat()
    assert row["actual_starts_at"] == (planned + timedelta(days=2)).isoformat()
    assert row["held"] is True
    assert row["rescheduled"] is True


async def test_erasure_keeps_the_counts_and_no_person_id_is_stored(
    generations: Generations,
) -> None:
    store = await generations.active()
    await apply_all(
        store,
        envelope(RegistrationConfirmed(**facts(), registered_at=T0)),
        envelope(
            RegistrationConfirmed(**facts(registration_id="r2", event_id="e2"), registered_at=T0)
        ),
        envelope(
            RegistrationConfirmed(
                **facts(registration_id="r3", person_id="person-2"), registered_at=T0
            )
        ),
    )
    before = reference.unique_participants(await registrations_of(store), "district")
    assert before == {"ДФО": 2}
    await apply_all(store, envelope(PersonErased(person_id="person-1", erased_at=T0)))
    rows = await registrations_of(store)
    assert reference.unique_participants(rows, "district") == before
    assert sorted(bool(row.get("person_erased")) for row in rows) == [False, True, True]
    for collection in store.collections:
        async for document in collection.find({}):
            assert "person-1" not in repr(document)


async def test_a_message_sent_after_a_failure_counts_as_sent(generations: Generations) -> None:
    store = await generations.active()
    common = {"kind": "confirmation", "channel": "email", "person_id": "p", "trigger_event_id": "x"}
    sent = envelope(NotificationSent(message_id="m1", sent_at=T0, **common))
    failed = envelope(NotificationFailed(message_id="m1", reason="550", failed_at=T0, **common))
    other = envelope(NotificationFailed(message_id="m2", reason="550", failed_at=T0, **common))
    await apply_all(store, sent, failed, other, failed)
    outcomes = sorted(
        str(reference.notification_outcome(row))
        for row in await store.notifications.find({}).to_list()
    )
    assert outcomes == ["failed", "sent"]


async def test_positions_keep_the_highest_offset_per_partition(generations: Generations) -> None:
    store = await generations.active()
    await store.record_positions({("t.v1", 0): 7, ("t.v1", 1): 3})
    await store.record_positions({("t.v1", 0): 5})  # a redelivered, older message
    assert await store.offsets() == {"t.v1:0": 7, "t.v1:1": 3}


async def test_content_facts_survive_redelivery_and_versions_in_any_order(
    generations: Generations,
) -> None:
    store = await generations.active()
    material = {"material_id": "m1", "kind": "recommendation", "title": "Рекомендации",
                "access": "public", "language": "ru"}  # fmt: skip
    download = envelope(
        MaterialDownloaded(material_id="m1", file_version=1, kind="recommendation", reader="r1",
                           reader_kind="participant", partial=False, downloaded_at=T0)
    )  # fmt: skip
    second = envelope(MaterialPublished(**material, version=2, published_at=T0 + timedelta(days=3)))
    first = envelope(MaterialPublished(**material, version=1, published_at=T0))
    strategy_v2 = envelope(
        StrategyUpdated(strategy_id="s1", organisation_id="o1", version=2, sections=["goals"],
                        updated_at=T0 + timedelta(days=1))
    )  # fmt: skip
    strategy_v1 = envelope(
        StrategyUpdated(strategy_id="s1", organisation_id="o1", version=1, sections=["goals"],
                        updated_at=T0)
    )  # fmt: skip
    await apply_all(store, second, download, first, download, strategy_v2, strategy_v1)
    [published] = await store.materials.find({}).to_list()
    assert (published["version"], published["first_published_at"]) == (2, T0)
    # The same download event twice is one download.
    assert await store.downloads.count_documents({}) == 1
    [strategy] = await store.strategies.find({}).to_list()
    assert (strategy["version"], strategy["first_prepared_at"]) == (2, T0)
