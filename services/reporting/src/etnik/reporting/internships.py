"""Internships and field business programmes, counted for the grant report: per internship its
host, dates, applications, decisions, participants who completed it and their hours, and the
same by the participants' own federal districts.

Facts (see projections.py, which turns these updates into writes), all from the registration
service's internships topic, ids and counts only:
- `internships`: the newest details of each (kind, host, places, the schedule's first and last
  day), keyed by the programme event.
- `internship_applications`: one per application (a registration awaiting selection), with the
  applicant's district and, once decided, the decision.
- `internship_outcomes`: one per participant's outcome, its newest version.

An internship belongs to a period as its programme event does; demonstration events are left
out. Pure functions, no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from etnik.common.events import EventReader
from etnik.common.mongo import Document
from etnik.reporting import domain
from etnik.reporting.domain import Fact, Period
from etnik.reporting.inbound import (
    InternshipApplicationDecided,
    InternshipApplicationReceived,
    InternshipDetailsSet,
    InternshipOutcome,
    InternshipOutcomeCorrected,
    InternshipOutcomeRecorded,
)

INTERNSHIP_EVENTS: tuple[type[EventReader], ...] = (
    InternshipDetailsSet,
    InternshipApplicationReceived,
    InternshipApplicationDecided,
    InternshipOutcomeRecorded,
    InternshipOutcomeCorrected,
)
NO_DISTRICT = "не указан"
KIND_LABELS = {"internship": "Стажировка", "field_programme": "Выездная бизнес-программа"}
COUNTS = ("applications", "approved", "rejected", "completed", "hours")
# (collection, filter, update, upsert): projections.py wraps them as its writes.
Update = tuple[str, Document, Document, bool]


def internship_updates(event: EventReader) -> list[Update]:
    """The projection updates an internship's event causes (none for any other event)."""
    if isinstance(event, InternshipDetailsSet):
        days = sorted(day.date for day in event.schedule)
        return [
            ("internships", {"_id": event.event_id}, {"$setOnInsert": {"version": 0}}, True),
            (
                "internships",
                {"_id": event.event_id, "version": {"$lte": event.version}},
                {
                    "$set": {
                        "kind": event.kind,
                        "host_organisation_id": event.host_organisation_id,
                        "host_name": event.host_name,
                        "places": event.places,
                        "first_day": days[0].isoformat() if days else None,
                        "last_day": days[-1].isoformat() if days else None,
                        "version": event.version,
                    }
                },
                False,
            ),
        ]
    if isinstance(event, InternshipApplicationReceived | InternshipApplicationDecided):
        fields: Document = {
            "event_id": event.event_id,
            "federal_district": event.participant_federal_district,
        }
        if isinstance(event, InternshipApplicationDecided):
            # Decided once (registration refuses a second decision): a plain $set commutes.
            fields["decision"] = event.decision
        return [("internship_applications", {"_id": event.registration_id}, {"$set": fields}, True)]
    if isinstance(event, InternshipOutcome):
        return [
            (
                "internship_outcomes",
                {"_id": event.registration_id},
                {"$setOnInsert": {"version": 0}},
                True,
            ),
            (
                "internship_outcomes",
                {"_id": event.registration_id, "version": {"$lte": event.version}},
                {
                    "$set": {
                        "event_id": event.event_id,
                        "federal_district": event.participant_federal_district,
                        "completed": event.completed,
                        "hours": event.hours,
                        "version": event.version,
                    }
                },
                False,
            ),
        ]
    return []


def _empty() -> dict[str, float]:
    return dict.fromkeys(COUNTS, 0)


def _hours(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 1)


def internship_summary(
    internships: Iterable[Fact],
    applications: Iterable[Fact],
    outcomes: Iterable[Fact],
    events_by_id: Mapping[str, Fact],
    period: Period,
) -> dict[str, Any]:
    """Per internship of the period (real events only) and per participants' district:
    applications, approved, rejected, completed and total hours."""
    chosen = {
        str(fact["_id"]): fact
        for fact in internships
        if fact.get("kind")
        and str(fact["_id"]) in events_by_id
        and domain.event_in_period(events_by_id[str(fact["_id"])], period)
    }
    per_event: dict[str, dict[str, float]] = defaultdict(_empty)
    per_district: dict[str, dict[str, float]] = defaultdict(_empty)
    for application in applications:
        event_id = str(application.get("event_id"))
        if event_id not in chosen:
            continue
        district = str(application.get("federal_district") or NO_DISTRICT)
        for counted in (per_event[event_id], per_district[district]):
            counted["applications"] += 1
            if application.get("decision") == "approved":
                counted["approved"] += 1
            elif application.get("decision") == "rejected":
                counted["rejected"] += 1
    for outcome in outcomes:
        event_id = str(outcome.get("event_id"))
        if event_id not in chosen or not outcome.get("version"):
            continue
        district = str(outcome.get("federal_district") or NO_DISTRICT)
        for counted in (per_event[event_id], per_district[district]):
            counted["completed"] += 1 if outcome.get("completed") else 0
            counted["hours"] += float(outcome.get("hours") or 0)
    rows = []
    for event_id, fact in chosen.items():
        event = events_by_id[event_id]
        counted = per_event[event_id]
        rows.append(
            {
                "event_id": event_id,
                "title": event.get("title") or "",
                "kind": fact["kind"],
                "host_organisation_id": fact.get("host_organisation_id"),
                "host_name": fact.get("host_name") or "",
                "starts_on": fact.get("first_day"),
                "ends_on": fact.get("last_day"),
                "places": fact.get("places"),
                **{name: int(counted[name]) for name in COUNTS[:-1]},
                "hours": _hours(counted["hours"]),
            }
        )
    rows.sort(key=lambda row: (row["starts_on"] or "", row["event_id"]))
    totals = _empty()
    for counted in per_district.values():
        for name in COUNTS:
            totals[name] += counted[name]
    return {
        "internships": len(rows),
        "totals": {
            **{name: int(totals[name]) for name in COUNTS[:-1]},
            "hours": _hours(totals["hours"]),
        },
        "rows": rows,
        "by_district": {
            district: {
                **{name: int(counted[name]) for name in COUNTS[:-1]},
                "hours": _hours(counted["hours"]),
            }
            for district, counted in sorted(per_district.items())
        },
    }


def internship_tables(
    section: Mapping[str, Any] | None,
) -> list[tuple[str, str, list[str], list[list[Any]]]]:
    """The section as tables (key, title, headers, rows) for the XLSX, CSV and PDF."""
    if not section:
        return []
    counted = ["Заявок", "Одобрено", "Отклонено", "Завершили", "Часов"]
    return [
        (
            "internships",
            "Стажировки и выездные программы",
            ["Мероприятие", "Вид", "Принимающая организация", "Даты", *counted],
            [
                [
                    row["title"],
                    KIND_LABELS.get(row["kind"], row["kind"]),
                    row["host_name"] or "—",
                    f"{row['starts_on'] or '—'} – {row['ends_on'] or '—'}",
                    row["applications"],
                    row["approved"],
                    row["rejected"],
                    row["completed"],
                    row["hours"],
                ]
                for row in section["rows"]
            ],
        ),
        (
            "internships_by_district",
            "Стажировки по округам участников",
            ["Федеральный округ", *counted],
            [
                [district, *(counts[name] for name in COUNTS)]
                for district, counts in section["by_district"].items()
            ],
        ),
    ]
