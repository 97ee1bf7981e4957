"""Internships and field programmes, hand-counted: four events, their details, applications,
decisions and outcomes, one corrected (the unit tests count them; the integration tests store
them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from etnik.common.contracts.registration import (
    EventCreated,
    EventFormat,
    InternshipApplicationDecided,
    InternshipApplicationReceived,
    InternshipDetailsSet,
    InternshipKind,
    InternshipOutcomeCorrected,
    InternshipOutcomeRecorded,
    InternshipScheduleDay,
    InternshipScheduleItem,
)
from etnik.common.events import CloudEvent
from etnik.reporting import domain

T0 = datetime(2026, 3, 12, 7, tzinfo=UTC)
MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))


def _wrap(event: Any, at: datetime = T0) -> CloudEvent:
    return CloudEvent.wrap(event, source="/etnik/test", time=at)


def _event(event_id: str, starts: datetime, *, demo: bool = False) -> CloudEvent:
    return _wrap(
        EventCreated(
            event_id=event_id,
            title=f"Стажировка {event_id}",
            track="internships",
            format=EventFormat.IN_PERSON,
            timezone="Europe/Moscow",
            starts_at=starts,
            ends_at=starts + timedelta(days=2, hours=8),
            status="published",
            demo=demo,
        ),
        starts - timedelta(days=40),
    )


def _details(
    event_id: str, first_day: date, *, version: int = 1, host: str = "Дом дружбы народов"
) -> CloudEvent:
    item = InternshipScheduleItem(starts="10:00", ends="12:00", title="Мастерская")
    return _wrap(
        InternshipDetailsSet(
            event_id=event_id,
            kind=InternshipKind.FIELD_PROGRAMME if event_id == "f1" else InternshipKind.INTERNSHIP,
            host_organisation_id=f"org-{event_id}",
            host_name=host,
            places=5,
            selection=True,
            schedule=[
                InternshipScheduleDay(date=first_day, items=[item]),
                InternshipScheduleDay(date=first_day + timedelta(days=2), items=[item]),
            ],
            timezone="Europe/Moscow",
            version=version,
        )
    )


def _applied(event_id: str, registration_id: str, district: str | None) -> CloudEvent:
    return _wrap(
        InternshipApplicationReceived(
            event_id=event_id,
            registration_id=registration_id,
            person_id=f"person-{registration_id}",
            participant_federal_district=district,
            applied_at=T0,
        )
    )


def _decided(
    event_id: str, registration_id: str, district: str | None, decision: str
) -> CloudEvent:
    return _wrap(
        InternshipApplicationDecided(
            event_id=event_id,
            registration_id=registration_id,
            person_id=f"person-{registration_id}",
            participant_federal_district=district,
            decision=decision,
            decided_by="moderator-1",
            decided_at=T0,
        )
    )


def _outcome(
    event_id: str,
    registration_id: str,
    district: str | None,
    *,
    completed: bool,
    hours: float,
    version: int = 1,
) -> CloudEvent:
    fields: dict[str, Any] = {
        "event_id": event_id,
        "registration_id": registration_id,
        "person_id": f"person-{registration_id}",
        "participant_federal_district": district,
        "completed": completed,
        "hours": hours,
        "version": version,
        "recorded_at": T0,
        "recorded_by": "operator-1",
    }
    if version == 1:
        return _wrap(InternshipOutcomeRecorded(**fields))
    return _wrap(InternshipOutcomeCorrected(**fields, changes=["hours"]))


# Hand-counted for March:
#   i1 (internship, 10-12 March, host «Дом дружбы народов», renamed in version 2):
#      a1 ДФО approved, completed 24 h, corrected to 30 h;  a2 СФО approved, not completed,
#      6 h;  a3 ДФО rejected;  a4 ПФО still waiting.
#      → applications 4, approved 2, rejected 1, completed 1, hours 36.
#   f1 (field programme, 20-22 March): b1 СФО approved, completed 16 h; b2 (no district)
#      rejected.  → applications 2, approved 1, rejected 1, completed 1, hours 16.
#   i2 in April: not March's (c1 ДФО approved).   d1 a demonstration event: never counted.
#   By district: ДФО applications 2, approved 1, rejected 1, completed 1, hours 30;
#      СФО 2, 2, 0, 1, 22;  ПФО 1, 0, 0, 0, 0;  «не указан» 1, 0, 1, 0, 0.
HISTORY = [
    _event("i1", datetime(2026, 3, 10, 6, tzinfo=UTC)),
    _event("f1", datetime(2026, 3, 20, 6, tzinfo=UTC)),
    _event("i2", datetime(2026, 4, 14, 6, tzinfo=UTC)),
    _event("d1", datetime(2026, 3, 5, 6, tzinfo=UTC), demo=True),
    _details("i1", date(2026, 3, 10)),
    _details("i1", date(2026, 3, 10), version=2, host="Дом народов Татарстана"),
    _details("f1", date(2026, 3, 20)),
    _details("i2", date(2026, 4, 14)),
    _details("d1", date(2026, 3, 5)),
    _applied("i1", "a1", "ДФО"),
    _applied("i1", "a2", "СФО"),
    _applied("i1", "a3", "ДФО"),
    _applied("i1", "a4", "ПФО"),
    _decided("i1", "a1", "ДФО", "approved"),
    _decided("i1", "a2", "СФО", "approved"),
    _decided("i1", "a3", "ДФО", "rejected"),
    _outcome("i1", "a1", "ДФО", completed=True, hours=24),
    _outcome("i1", "a1", "ДФО", completed=True, hours=30, version=2),
    _outcome("i1", "a2", "СФО", completed=False, hours=6),
    _applied("f1", "b1", "СФО"),
    _applied("f1", "b2", None),
    _decided("f1", "b1", "СФО", "approved"),
    _decided("f1", "b2", None, "rejected"),
    _outcome("f1", "b1", "СФО", completed=True, hours=16),
    _applied("i2", "c1", "ДФО"),
    _decided("i2", "c1", "ДФО", "approved"),
    _applied("d1", "e1", "ДФО"),
    _decided("d1", "e1", "ДФО", "approved"),
]
