"""The roster's experts, hand-counted: five events and five experts' versions, with repeats,
an erasure and a removal (the unit tests count them; the integration tests store them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from etnik.common.contracts.registration import (
    EventCreated,
    EventFormat,
    ExpertAssignment,
    ExpertChanged,
    ExpertErased,
    ExpertRemoved,
    ExpertRostered,
)
from etnik.common.events import CloudEvent
from etnik.reporting import domain

T0 = datetime(2026, 3, 12, 11, tzinfo=UTC)
MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))


def _event(
    event_id: str, title: str, track: str, district: str, *, day: int = 12, demo: bool = False
) -> CloudEvent:
    starts = datetime(2026, 3 if day > 0 else 4, abs(day), 11, tzinfo=UTC)
    created = EventCreated(
        event_id=event_id,
        title=title,
        track=track,
        format=EventFormat.IN_PERSON,
        timezone="Europe/Moscow",
        starts_at=starts,
        ends_at=starts + timedelta(hours=6),
        federal_district=district,
        status="published",
        demo=demo,
    )
    return CloudEvent.wrap(created, source="/etnik/test", time=T0 - timedelta(days=30))


def _at(assignment: str, event_id: str, role: str, status: str = "invited") -> ExpertAssignment:
    return ExpertAssignment(
        assignment_id=assignment, event_id=event_id, role=role, travel_status=status
    )


def _expert(
    kind: type[ExpertRostered | ExpertChanged | ExpertRemoved | ExpertErased],
    expert_id: str,
    assignments: list[ExpertAssignment],
    *,
    version: int,
    status: str = "active",
) -> CloudEvent:
    fields: dict[str, Any] = {
        "expert_id": expert_id,
        "person_id": None if status == "erased" else f"person-{expert_id}",
        "field_of_expertise": None if status == "erased" else "Этнокультурное образование",
        "region_codes": [] if status == "erased" else ["14"],
        "status": status,
        "assignments": assignments,
        "version": version,
    }
    if kind is ExpertChanged:
        fields["changes"] = ["assignments"]
    return CloudEvent.wrap(kind(**fields), source="/etnik/test", time=T0)


# Events: s1 the in-person strategic session (ЦФО, strategic_session); o1 and o2 online
# sessions (ДФО and СФО, online_sessions); a1 in April; d1 a demonstration event.
#
# Hand-counted for March:
#   e1 speaker and moderator at s1 (one expert there), facilitator at o1, arrived at s1.
#   e2 speaker at s1, declined at o2 (declined: not counted at o2).
#   e3 moderator at o1, then its person erased: still counted, naming nobody.
#   e4 speaker at s1, then removed from the roster: not counted.
#   e5 at a1 (April) and at d1 (demo): never in March's report.
# s1: e1, e2 → 2.  o1: e1, e3 → 2.  o2: nobody.
# By district: ЦФО {e1, e2} = 2, ДФО {e1, e3} = 2.  By track: strategic_session 2,
# online_sessions 2.  Experts overall: e1, e2, e3 = 3.
# Assignments counted: e1 ×3, e2 ×1, e3 ×1 = 5; by role speaker 2, moderator 2, facilitator 1.
EVENTS = [
    _event("s1", "Очная стратегическая сессия", "strategic_session", "ЦФО"),
    _event("o1", "Онлайн-сессия ДФО", "online_sessions", "ДФО", day=20),
    _event("o2", "Онлайн-сессия СФО", "online_sessions", "СФО", day=25),
    _event("a1", "Онлайн-сессия ПФО", "online_sessions", "ПФО", day=-8),
    _event("d1", "Демонстрационная сессия", "online_sessions", "ЦФО", demo=True),
]
E1 = [
    _at("a1", "s1", "speaker", "arrived"),
    _at("a2", "s1", "moderator", "arrived"),
    _at("a3", "o1", "facilitator"),
]
HISTORY = [
    *EVENTS,
    _expert(ExpertRostered, "e1", [], version=1),
    _expert(ExpertChanged, "e1", E1[:1], version=2),
    _expert(ExpertChanged, "e1", E1, version=3),
    _expert(ExpertRostered, "e2", [], version=1),
    _expert(
        ExpertChanged,
        "e2",
        [_at("b1", "s1", "speaker", "confirmed"), _at("b2", "o2", "speaker", "declined")],
        version=2,
    ),
    _expert(ExpertChanged, "e3", [_at("c1", "o1", "moderator")], version=1),
    _expert(ExpertErased, "e3", [_at("c1", "o1", "moderator")], version=2, status="erased"),
    _expert(ExpertChanged, "e4", [_at("d1", "s1", "speaker")], version=1),
    _expert(ExpertRemoved, "e4", [], version=2, status="removed"),
    _expert(
        ExpertChanged, "e5", [_at("f1", "a1", "speaker"), _at("f2", "d1", "speaker")], version=1
    ),
]
