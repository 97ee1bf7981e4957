"""The programme's experts at its events, counted for the grant report and the dashboard: per
event, per federal district and per track, from the roster's events (ids, roles, statuses)
and the events' facts reporting already holds.

An expert counts at an event when assigned to it in any role and not declined; an expert
with two roles at one event, or at two events of one district or track, counts once there.
Experts removed from the roster are not counted (a removal corrects the roster); an erased
person's assignments still count, naming nobody. Pure functions over the projection's facts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Set
from typing import Any

from etnik.common.events import EventReader
from etnik.common.mongo import Document
from etnik.reporting.domain import UNKNOWN, Fact
from etnik.reporting.inbound import (
    ExpertChanged,
    ExpertErased,
    ExpertRemoved,
    ExpertRostered,
    ExpertSnapshot,
)

EXPERT_EVENTS: tuple[type[ExpertSnapshot], ...] = (
    ExpertRostered,
    ExpertChanged,
    ExpertRemoved,
    ExpertErased,
)
ROLE_LABELS = {"speaker": "Спикер", "moderator": "Модератор", "facilitator": "Фасилитатор"}
COUNTED_STATUSES = ("active", "erased")

Update = tuple[str, Document, Document, bool]


def expert_updates(event: EventReader) -> list[Update]:
    """Create the expert's fact if needed, then keep its newest version's state."""
    if not isinstance(event, ExpertSnapshot):
        return []
    first: Update = ("experts", {"_id": event.expert_id}, {"$setOnInsert": {"version": 0}}, True)
    newest: Update = (
        "experts",
        {"_id": event.expert_id, "version": {"$lte": event.version}},
        {
            "$set": {
                "status": event.status,
                "assignments": [
                    {"event_id": a.event_id, "role": a.role, "status": a.travel_status}
                    for a in event.assignments
                ],
                "version": event.version,
            }
        },
        False,
    )
    return [first, newest]


def expert_summary(
    facts: Iterable[Fact],
    events_by_id: Mapping[str, Fact],
    event_ids: Set[str],
    *,
    federal_district: str | None = None,
    track: str | None = None,
) -> dict[str, Any]:
    """Experts at the chosen events (real events of the period): how many, per event, per
    district, per track and per role."""
    per_event: dict[str, set[str]] = defaultdict(set)
    roles: Counter[str] = Counter()
    arrived = 0
    for fact in facts:
        if fact.get("status") not in COUNTED_STATUSES:
            continue
        for assignment in fact.get("assignments") or []:
            event_id = str(assignment.get("event_id"))
            event = events_by_id.get(event_id)
            if event is None or event_id not in event_ids or assignment.get("status") == "declined":
                continue
            if federal_district is not None and event.get("federal_district") != federal_district:
                continue
            if track is not None and event.get("track") != track:
                continue
            per_event[event_id].add(str(fact["_id"]))
            roles[str(assignment.get("role"))] += 1
            arrived += assignment.get("status") == "arrived"
    by_district: dict[str, set[str]] = defaultdict(set)
    by_track: dict[str, set[str]] = defaultdict(set)
    for event_id, experts in per_event.items():
        event = events_by_id[event_id]
        by_district[str(event.get("federal_district") or UNKNOWN)] |= experts
        by_track[str(event.get("track") or UNKNOWN)] |= experts
    return {
        "experts": len(set().union(*per_event.values())),
        "assignments": sum(roles.values()),
        "arrived": arrived,
        "by_role": {role: roles[role] for role in ROLE_LABELS if roles[role]},
        "by_district": {key: len(found) for key, found in sorted(by_district.items())},
        "by_track": {key: len(found) for key, found in sorted(by_track.items())},
        "by_event": sorted(
            (
                {
                    "event_id": event_id,
                    "title": events_by_id[event_id].get("title") or "",
                    "federal_district": events_by_id[event_id].get("federal_district") or UNKNOWN,
                    "track": events_by_id[event_id].get("track") or UNKNOWN,
                    "experts": len(experts),
                }
                for event_id, experts in per_event.items()
            ),
            key=lambda row: (str(row["title"]), str(row["event_id"])),
        ),
    }


def expert_tables(
    section: Mapping[str, Any] | None,
) -> list[tuple[str, str, list[str], list[list[Any]]]]:
    """The section as the report's tables (key, title, headers, rows); none when absent. Each
    row's first cell names it alone, so that the CSV's row labels stay unique."""
    if not section:
        return []
    return [
        (
            "experts_by_event",
            "Эксперты на мероприятиях",
            ["Мероприятие", "Округ", "Направление", "Экспертов"],
            [
                [f"{row['title']} ({row['event_id'][:8]})", row["federal_district"], row["track"],
                 row["experts"]]
                for row in section["by_event"]
            ],
        ),
        (
            "experts_by_district",
            "Эксперты по округам",
            ["Федеральный округ", "Экспертов"],
            [[district, count] for district, count in section["by_district"].items()],
        ),
        (
            "experts_by_track",
            "Эксперты по направлениям",
            ["Направление", "Экспертов"],
            [[track, count] for track, count in section["by_track"].items()],
        ),
        (
            "experts_by_role",
            "Роли экспертов",
            ["Роль", "Назначений"],
            [[ROLE_LABELS.get(role, role), count] for role, count in section["by_role"].items()],
        ),
        (
            "experts_totals",
            "Эксперты программы: итоги",
            ["Показатель", "Значение"],
            [["Экспертов на мероприятиях", section["experts"]],
             ["Назначений", section["assignments"]],
             ["Прибыли на мероприятия", section["arrived"]]],
        ),
    ]  # fmt: skip
