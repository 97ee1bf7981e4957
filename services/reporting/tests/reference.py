"""The reporting rules stated one fact at a time: the reference the column counts are tested
against (counts.py runs the same rules as array operations)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from etnik.reporting.domain import (
    BREAKDOWNS,
    RANK_OUTCOME,
    RANK_STATUS,
    UNKNOWN,
    Fact,
    Filters,
    Period,
    _aware,
    is_held,
)


def registration_status(fact: Fact) -> str | None:
    """The current status of a registration, or None if only its attendance is known yet."""
    rank = fact.get("rank")
    return RANK_STATUS.get(int(rank)) if rank is not None else None


def notification_outcome(fact: Fact) -> str | None:
    """The outcome of a message: sent beats failed."""
    rank = fact.get("rank")
    return RANK_OUTCOME.get(int(rank)) if rank is not None else None


def attended(fact: Fact) -> bool | None:
    """Whether the latest attendance record says present; None when nothing was recorded."""
    mark = fact.get("attendance")
    return None if not mark else str(mark).endswith("|1")


def registration_matches(fact: Fact, filters: Filters, allowed_events: set[str] | None) -> bool:
    """Whether a registration falls within the filters (its day is the day it was made)."""
    if registration_status(fact) is None:
        return False
    if allowed_events is not None and fact.get("event_id") not in allowed_events:
        return False
    if filters.district is not None and fact.get("federal_district") != filters.district:
        return False
    if filters.period.start is None and filters.period.end is None:
        return True
    return filters.period.contains(fact.get("registered_at"))


@dataclass
class Tally:
    """Counts for one slice of registrations."""

    registrations: int = 0
    confirmed: int = 0
    waitlisted: int = 0
    cancelled: int = 0
    attended: int = 0
    no_shows: int = 0

    def add(self, fact: Fact, event: Fact | None) -> None:
        """Count one registration."""
        status = registration_status(fact)
        self.registrations += 1
        if status == "confirmed":
            self.confirmed += 1
        elif status == "waitlisted":
            self.waitlisted += 1
        elif status == "cancelled":
            self.cancelled += 1
        if attended(fact) is True:
            self.attended += 1
        elif status == "confirmed" and is_held(event):
            # Held, a place was held for them, and nobody recorded them as present.
            self.no_shows += 1

    def as_dict(self) -> dict[str, int]:
        """The counts by name."""
        return dict(self.__dict__)


def slice_key(fact: Fact, event: Fact | None, by: str) -> str:
    """The value a registration is grouped under for one breakdown."""
    if by == "district":
        value = fact.get("federal_district")
    elif by == "category":
        value = fact.get("category")
    elif by == "track":
        value = event.get("track") if event else None
    elif by == "event":
        value = fact.get("event_id")
    elif by == "region":
        value = fact.get("region_code")
    elif by == "organisation":
        value = fact.get("organisation_id")
    else:
        raise ValueError(f"unknown breakdown {by!r}; one of {', '.join(BREAKDOWNS)}")
    return str(value) if value else UNKNOWN


def breakdown(
    facts: Iterable[Fact], events_by_id: Mapping[str, Fact], by: str
) -> list[dict[str, Any]]:
    """Registrations, statuses, attendance and unique participants per slice, largest first."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    people: dict[str, set[str]] = defaultdict(set)
    for fact in facts:
        event = events_by_id.get(str(fact.get("event_id")))
        key = slice_key(fact, event, by)
        tallies[key].add(fact, event)
        if registration_status(fact) == "confirmed" and fact.get("person_ref"):
            people[key].add(str(fact["person_ref"]))
    rows = [
        {"key": key, "participants": len(people[key]), **tally.as_dict()}
        for key, tally in tallies.items()
    ]
    return sorted(rows, key=lambda row: (-row["registrations"], row["key"]))


def daily_series(facts: Iterable[Fact], period: Period) -> list[dict[str, Any]]:
    """Registrations per day by the day they were made, with empty days filled in."""
    per_day: dict[date, Tally] = defaultdict(Tally)
    for fact in facts:
        made = fact.get("registered_at")
        if made is not None:
            per_day[_aware(made).date()].add(fact, None)
    if not per_day and (period.start is None or period.end is None):
        return []
    first = period.start or min(per_day)
    last = period.end or max(per_day)
    rows = []
    day = first
    while day <= last:
        tally = per_day.get(day, Tally())
        rows.append(
            {
                "day": day.isoformat(),
                "registrations": tally.registrations,
                "confirmed": tally.confirmed,
                "waitlisted": tally.waitlisted,
                "cancelled": tally.cancelled,
            }
        )
        day += timedelta(days=1)
    return rows


def unique_participants(facts: Iterable[Fact], by: str) -> dict[str, int]:
    """People with at least one confirmed registration, counted once per slice."""
    people: dict[str, set[str]] = defaultdict(set)
    for fact in facts:
        if registration_status(fact) == "confirmed" and fact.get("person_ref"):
            people[slice_key(fact, None, by)].add(str(fact["person_ref"]))
    return {key: len(refs) for key, refs in sorted(people.items())}
