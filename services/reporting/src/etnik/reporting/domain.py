"""Reporting rules without I/O: status precedence, periods, series, breakdowns, the grant report.

Facts arrive as plain dicts shaped like the projection documents (see projections.py), so
that every rule here is tested with plain values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal, get_args

Fact = Mapping[str, Any]

# A registration only moves forward: waitlisted -> confirmed -> cancelled. Keeping the
# highest rank seen makes the outcome independent of the order events arrive in.
REGISTRATION_RANKS = {"waitlisted": 1, "confirmed": 2, "cancelled": 3}
RANK_STATUS = {rank: status for status, rank in REGISTRATION_RANKS.items()}
# A message that was delivered once stays delivered, whatever failure is reported later.
NOTIFICATION_RANKS = {"failed": 1, "sent": 2}
RANK_OUTCOME = {rank: outcome for outcome, rank in NOTIFICATION_RANKS.items()}

HELD_STATUS = "completed"
Breakdown = Literal["district", "category", "track", "event", "region", "organisation"]
BREAKDOWNS: tuple[str, ...] = get_args(Breakdown)
UNKNOWN = "unknown"


class InvalidPeriod(ValueError):
    """A period whose end is before its start."""


@dataclass(frozen=True)
class Period:
    """Whole days from start to end, both included, in UTC; an open side is unbounded."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.end < self.start:
            raise InvalidPeriod(
                f"the period ends ({self.end.isoformat()}) before it starts "
                f"({self.start.isoformat()})"
            )

    @property
    def from_time(self) -> datetime | None:
        """The first instant of the period."""
        return datetime.combine(self.start, time(), UTC) if self.start else None

    @property
    def until_time(self) -> datetime | None:
        """The first instant after the period."""
        return datetime.combine(self.end + timedelta(days=1), time(), UTC) if self.end else None

    def contains(self, moment: datetime | None) -> bool:
        """Whether a moment falls within the period (an unknown moment never does)."""
        if moment is None:
            return False
        moment = _aware(moment)
        if self.from_time and moment < self.from_time:
            return False
        return not (self.until_time and moment >= self.until_time)


@dataclass(frozen=True)
class Filters:
    """What the console narrows a view to; None means everything."""

    period: Period = Period()
    district: str | None = None
    track: str | None = None
    event_id: str | None = None


def pseudonym(key: bytes, person_id: str) -> str:
    """A stable pseudonymous reference for a person: counts stay exact, the id is not kept."""
    return hmac.new(key, person_id.encode(), hashlib.sha256).hexdigest()[:32]


def registration_status(fact: Fact) -> str | None:
    """The current status of a registration, or None if only its attendance is known yet."""
    rank = fact.get("rank")
    return RANK_STATUS.get(int(rank)) if rank is not None else None


def notification_outcome(fact: Fact) -> str | None:
    """The outcome of a message: sent beats failed."""
    rank = fact.get("rank")
    return RANK_OUTCOME.get(int(rank)) if rank is not None else None


def attendance_mark(recorded_at: datetime, attended: bool) -> str:
    """Attendance as a string whose maximum is the latest record (ties: present wins).

    Kept with `$max`, so the latest record wins in one unconditional write, whatever order
    the records arrive in.
    """
    moment = _aware(recorded_at).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{moment}|{int(attended)}"


def attended(fact: Fact) -> bool | None:
    """Whether the latest attendance record says present; None when nothing was recorded."""
    mark = fact.get("attendance")
    return None if not mark else str(mark).endswith("|1")


def is_held(event: Fact | None) -> bool:
    """An event counts as held once its status is completed."""
    return event is not None and event.get("status") == HELD_STATUS


def event_ids_matching(events: Iterable[Fact], filters: Filters) -> set[str] | None:
    """The events a track or event filter allows, or None when neither is set."""
    if filters.track is None and filters.event_id is None:
        return None
    return {
        str(event["_id"])
        for event in events
        if (filters.track is None or event.get("track") == filters.track)
        and (filters.event_id is None or event["_id"] == filters.event_id)
    }


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


def event_row(event: Fact) -> dict[str, Any]:
    """One event as the report lists it: planned dates from its creation, actual from now."""
    planned_start = event.get("planned_starts_at")
    actual_start = event.get("starts_at")
    return {
        "event_id": str(event["_id"]),
        "title": event.get("title") or "",
        "track": event.get("track") or UNKNOWN,
        "format": event.get("format") or UNKNOWN,
        "federal_district": event.get("federal_district") or UNKNOWN,
        "status": event.get("status") or UNKNOWN,
        "held": is_held(event),
        "planned_starts_at": _iso(planned_start),
        "planned_ends_at": _iso(event.get("planned_ends_at")),
        "actual_starts_at": _iso(actual_start) if is_held(event) else None,
        "actual_ends_at": _iso(event.get("ends_at")) if is_held(event) else None,
        "rescheduled": bool(planned_start and actual_start and planned_start != actual_start),
    }


def event_in_period(event: Fact, period: Period) -> bool:
    """An event belongs to a period when it was planned or took place within it."""
    if period.start is None and period.end is None:
        return True
    return period.contains(event.get("planned_starts_at")) or period.contains(
        event.get("starts_at")
    )


def milestones(events: Sequence[Fact]) -> list[dict[str, Any]]:
    """Per track: events planned and held, and when the first and last took place."""
    by_track: dict[str, list[Fact]] = defaultdict(list)
    for event in events:
        by_track[str(event.get("track") or UNKNOWN)].append(event)
    rows = []
    for track, members in sorted(by_track.items()):
        held = [event for event in members if is_held(event)]
        held_starts = sorted(_aware(e["starts_at"]) for e in held if e.get("starts_at"))
        rows.append(
            {
                "track": track,
                "planned": len(members),
                "held": len(held),
                "first_held": held_starts[0].date().isoformat() if held_starts else None,
                "last_held": held_starts[-1].date().isoformat() if held_starts else None,
                "complete": len(held) == len(members),
            }
        )
    return rows


@dataclass(frozen=True)
class ContentFacts:
    """What the content service reported: materials, their downloads, strategies, mentions."""

    materials: Sequence[Fact] = ()
    downloads: Sequence[Fact] = ()
    strategies: Sequence[Fact] = ()
    mentions: Sequence[Fact] = ()


def is_demo(event: Fact | None) -> bool:
    """Demonstration events never reach the Fund's report."""
    return event is not None and bool(event.get("demo"))


def material_results(content: ContentFacts, period: Period) -> dict[str, Any]:
    """Materials first published in the period, by kind, and their full downloads."""
    published = [
        fact
        for fact in content.materials
        if period_contains_or_open(period, fact.get("first_published_at"))
    ]
    downloads = [
        fact
        for fact in content.downloads
        if not fact.get("partial") and period_contains_or_open(period, fact.get("downloaded_at"))
    ]
    return {
        "published": len(published),
        "published_by_kind": dict(
            sorted(Counter(str(fact.get("kind") or UNKNOWN) for fact in published).items())
        ),
        "titles": sorted(
            (
                {
                    "material_id": str(fact["_id"]),
                    "title": fact.get("title") or "",
                    "kind": fact.get("kind") or UNKNOWN,
                    "published_at": _iso(fact.get("first_published_at")),
                }
                for fact in published
            ),
            key=lambda row: (row["published_at"] or "", row["material_id"]),
        ),
        "downloads": len(downloads),
        "unique_readers": len(
            {
                str(fact["reader"])
                for fact in downloads
                if fact.get("reader") and fact["reader"] != "anonymous"
            }
        ),
    }


def publication_rows(content: ContentFacts, period: Period) -> list[dict[str, Any]]:
    """Media mentions published in the period, with their links and reach, oldest first."""
    rows = []
    for fact in content.mentions:
        published_on = fact.get("published_on")
        day = date.fromisoformat(str(published_on)) if published_on else None
        if day is not None and not _day_in_period(day, period):
            continue
        rows.append(
            {
                "mention_id": str(fact["_id"]),
                "published_on": day.isoformat() if day else None,
                "outlet": fact.get("outlet") or "",
                "title": fact.get("title") or "",
                "url": fact.get("url") or "",
                "type": fact.get("type") or UNKNOWN,
                "audience_reach": fact.get("audience_reach"),
            }
        )
    return sorted(rows, key=lambda row: (row["published_on"] or "", row["mention_id"]))


def strategies_prepared(content: ContentFacts, period: Period) -> int:
    """Organisations whose development strategy was first prepared within the period."""
    return len(
        {
            str(fact.get("organisation_id") or fact["_id"])
            for fact in content.strategies
            if period_contains_or_open(period, fact.get("first_prepared_at"))
        }
    )


def grant_report(
    *,
    period: Period,
    registrations: Sequence[Fact],
    events: Sequence[Fact],
    notifications: Sequence[Fact],
    qualitative: str,
    content: ContentFacts = ContentFacts(),
) -> dict[str, Any]:
    """The Fund's analytical report for a period, as plain JSON-ready data."""
    real_events = [event for event in events if not is_demo(event)]
    events_by_id = {str(event["_id"]): event for event in real_events}
    demo_ids = {str(event["_id"]) for event in events if is_demo(event)}
    in_period = [event for event in real_events if event_in_period(event, period)]
    counted = _count_registrations(registrations, period, events_by_id, demo_ids)
    outcomes = Counter(
        outcome
        for fact in notifications
        if (outcome := notification_outcome(fact)) is not None
        and period_contains_or_open(period, fact.get(f"{outcome}_at"))
    )
    publications = publication_rows(content, period)
    return {
        "period": {
            "start": period.start.isoformat() if period.start else None,
            "end": period.end.isoformat() if period.end else None,
        },
        "milestones": milestones(in_period),
        "events": sorted(
            (event_row(event) for event in in_period),
            key=lambda row: (row["planned_starts_at"] or "", row["event_id"]),
        ),
        "results": {
            "events_planned": len(in_period),
            "events_held": sum(1 for event in in_period if is_held(event)),
            "participants": counted.participants,
            "participants_by_category": counted.by_category,
            "participants_by_region": counted.by_region,
            "participants_by_district": counted.by_district,
            "attendance": counted.totals,
            "attendance_by_event": counted.by_event,
            "notifications": {"sent": outcomes["sent"], "failed": outcomes["failed"]},
            "materials": material_results(content, period),
            "publications": publications,
            "media_reach": sum(row["audience_reach"] or 0 for row in publications),
            "strategies_prepared": strategies_prepared(content, period),
        },
        "qualitative": qualitative,
    }


@dataclass(frozen=True)
class RegistrationCounts:
    """The grant report's registration figures."""

    participants: int
    by_category: dict[str, int]
    by_region: dict[str, int]
    by_district: dict[str, int]
    totals: dict[str, int]
    by_event: list[dict[str, Any]]


def _count_registrations(
    facts: Iterable[Fact],
    period: Period,
    events_by_id: Mapping[str, Fact],
    excluded_events: set[str],
) -> RegistrationCounts:
    """Every figure of the report in one pass over the registrations.

    The same rules as `registration_matches`, `Tally`, `unique_participants` and `breakdown`
    (the dashboard's), written as one loop: the report reads every registration of a period,
    up to millions, and separate passes cost several times as much.
    """
    start, until = period.from_time, period.until_time
    bounded = start is not None or until is not None
    held = {event_id for event_id, event in events_by_id.items() if is_held(event)}
    tallies: dict[str, list[int]] = {}  # per event: registrations, confirmed, waitlisted, ...
    event_people: dict[str, set[str]] = defaultdict(set)
    everyone: set[str] = set()
    by: dict[str, dict[str, set[str]]] = {k: defaultdict(set) for k in ("c", "r", "d")}
    for fact in facts:
        rank = fact.get("rank")
        if rank is None:
            continue
        status = RANK_STATUS.get(int(rank))
        if status is None:
            continue
        event_id = str(fact.get("event_id") or UNKNOWN)
        if event_id in excluded_events:
            continue
        if bounded:
            made = fact.get("registered_at")
            if made is None:
                continue
            if made.tzinfo is None:
                made = made.replace(tzinfo=UTC)
            if (start is not None and made < start) or (until is not None and made >= until):
                continue
        tally = tallies.get(event_id)
        if tally is None:
            tally = tallies[event_id] = [0, 0, 0, 0, 0, 0]
        tally[0] += 1
        mark = fact.get("attendance")
        present = bool(mark) and str(mark).endswith("|1")
        if status == "confirmed":
            tally[1] += 1
            person = fact.get("person_ref")
            if person:
                person = str(person)
                everyone.add(person)
                event_people[event_id].add(person)
                by["c"][str(fact.get("category") or UNKNOWN)].add(person)
                by["r"][str(fact.get("region_code") or UNKNOWN)].add(person)
                by["d"][str(fact.get("federal_district") or UNKNOWN)].add(person)
        elif status == "waitlisted":
            tally[2] += 1
        elif status == "cancelled":
            tally[3] += 1
        if present:
            tally[4] += 1
        elif status == "confirmed" and event_id in held:
            tally[5] += 1
    names = ("registrations", "confirmed", "waitlisted", "cancelled", "attended", "no_shows")
    totals = [sum(column) for column in zip(*tallies.values(), strict=True)] or [0] * 6
    rows = [
        {
            "key": event_id,
            "participants": len(event_people[event_id]),
            **dict(zip(names, tally, strict=True)),
        }
        for event_id, tally in tallies.items()
    ]
    return RegistrationCounts(
        participants=len(everyone),
        by_category={k: len(v) for k, v in sorted(by["c"].items())},
        by_region={k: len(v) for k, v in sorted(by["r"].items())},
        by_district={k: len(v) for k, v in sorted(by["d"].items())},
        totals=dict(zip(names, totals, strict=True)),
        by_event=sorted(rows, key=lambda row: (-row["registrations"], row["key"])),
    )


def period_contains_or_open(period: Period, moment: datetime | None) -> bool:
    """Whether a moment is in the period; every moment is in an open period."""
    if period.start is None and period.end is None:
        return True
    return period.contains(moment)


def _day_in_period(day: date, period: Period) -> bool:
    return (period.start is None or day >= period.start) and (
        period.end is None or day <= period.end
    )


def report_digest(report: Mapping[str, Any]) -> str:
    """SHA-256 of the report's canonical JSON: the same report always gives the same digest."""
    canonical = json.dumps(report, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    # MongoDB drivers may hand back naive UTC datetimes; treat them as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return _aware(moment).isoformat() if moment else None
