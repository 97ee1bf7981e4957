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

import numpy as np
import numpy.typing as npt

from etnik.reporting import columnar
from etnik.reporting.columnar import ColumnarTable

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
    downloads: Iterable[Fact] = ()
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
    registrations: Iterable[Fact] | ColumnarTable,
    events: Sequence[Fact],
    notifications: Iterable[Fact] | ColumnarTable,
    qualitative: str,
    content: ContentFacts = ContentFacts(),
) -> dict[str, Any]:
    """The Fund's analytical report for a period, as plain JSON-ready data."""
    real_events = [event for event in events if not is_demo(event)]
    events_by_id = {str(event["_id"]): event for event in real_events}
    demo_ids = {str(event["_id"]) for event in events if is_demo(event)}
    in_period = [event for event in real_events if event_in_period(event, period)]
    counted = _count_registrations(
        registration_table(registrations), period, events_by_id, demo_ids
    )
    outcomes = _count_outcomes(notifications, period)
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


def registration_table(facts: Iterable[Fact] | ColumnarTable) -> ColumnarTable:
    """Registrations as columns: a fold's table as it is, documents copied into one."""
    return facts if isinstance(facts, ColumnarTable) else columnar.table_of(facts, "registrations")


def _count_registrations(
    table: ColumnarTable,
    period: Period,
    events_by_id: Mapping[str, Fact],
    excluded_events: set[str],
) -> RegistrationCounts:
    """Every figure of the report from the registrations' columns, with numpy.

    The same rules as `registration_matches`, `Tally`, `unique_participants` and `breakdown`
    (the dashboard's, which a randomised test compares it with), as array operations: the
    report counts every registration of a period, up to millions, and a Python loop over a
    million took over two seconds.
    """
    columns = table.columns
    rank = columns["rank"].array()
    events = _Keys(columns["event_id"])
    held = np.array([key in events_by_id and is_held(events_by_id[key]) for key in events.names])
    excluded = np.array([key in excluded_events for key in events.names], dtype=bool)
    counted = (rank >= 1) & (rank <= len(RANK_STATUS)) & ~excluded[events.keys]
    if period.from_time is not None or period.until_time is not None:
        made = columns["registered_at"].array()
        counted &= made != columnar.MISSING
        if period.from_time is not None:
            counted &= made >= columnar.time_code(period.from_time)
        if period.until_time is not None:
            counted &= made < columnar.time_code(period.until_time)
    marks = columns["attendance"].array()
    present = (marks != columnar.MISSING) & (marks & 1 == 1)
    confirmed = counted & (rank == REGISTRATION_RANKS["confirmed"])
    event_of = events.keys
    per_event = [
        np.bincount(event_of[mask], minlength=len(events.names))
        for mask in (
            counted,
            confirmed,
            counted & (rank == REGISTRATION_RANKS["waitlisted"]),
            counted & (rank == REGISTRATION_RANKS["cancelled"]),
            counted & present,
            confirmed & ~present & held[events.keys],
        )
    ]
    people = _Keys(columns["person_ref"])
    participating = confirmed & people.truthy[people.codes]
    person_of = people.keys[participating]

    def distinct(keys: _Keys) -> npt.NDArray[np.int64]:
        return _distinct_per_key(
            keys.keys[participating], person_of, len(keys.names), len(people.names)
        )

    def by_name(keys: _Keys) -> dict[str, int]:
        counts = distinct(keys)
        return {name: int(counts[i]) for i, name in enumerate(keys.names) if counts[i]}

    event_people = distinct(events)
    names = ("registrations", "confirmed", "waitlisted", "cancelled", "attended", "no_shows")
    rows = [
        {
            "key": key,
            "participants": int(event_people[i]),
            **{name: int(column[i]) for name, column in zip(names, per_event, strict=True)},
        }
        for i, key in enumerate(events.names)
        if per_event[0][i]
    ]
    return RegistrationCounts(
        participants=int(
            _distinct_per_key(np.zeros_like(person_of), person_of, 1, len(people.names))[0]
        ),
        by_category=by_name(_Keys(columns["category"])),
        by_region=by_name(_Keys(columns["region_code"])),
        by_district=by_name(_Keys(columns["federal_district"])),
        totals={name: int(column.sum()) for name, column in zip(names, per_event, strict=True)},
        by_event=sorted(rows, key=lambda row: (-row["registrations"], row["key"])),
    )


# Above this many (slice, person) cells, distinct pairs are found by sorting, not a bitmap.
BITMAP_CELLS = 64_000_000


def _distinct_per_key(
    keys: npt.NDArray[np.int64], people: npt.NDArray[np.int64], key_count: int, person_count: int
) -> npt.NDArray[np.int64]:
    """How many distinct people each key has, from parallel arrays of (key, person) pairs."""
    pairs = keys * person_count + people
    if key_count * person_count <= BITMAP_CELLS:
        # A bitmap of every (key, person) cell: linear, and faster than a sort at this size.
        seen = np.zeros(key_count * person_count, dtype=bool)
        seen[pairs] = True
        counts: npt.NDArray[np.int64] = seen.reshape(key_count, person_count).sum(
            axis=1, dtype=np.int64
        )
        return counts
    pairs = np.sort(pairs)
    first = np.ones(pairs.size, dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]
    return np.bincount(pairs[first] // person_count, minlength=key_count)


class _Keys:
    """A value column's rows as indexes of their names (values as text, absent as unknown)."""

    def __init__(self, column: columnar.Column) -> None:
        texts = column.keys(UNKNOWN)
        self.names: list[str] = sorted(set(texts))
        index = {name: i for i, name in enumerate(self.names)}
        by_code = np.array([index[text] for text in texts], dtype=np.int64)
        self.codes = column.array()
        self.keys: npt.NDArray[np.int64] = by_code[self.codes]
        self.truthy = np.array([bool(value) for value in column.values], dtype=bool)


def _count_outcomes(messages: Iterable[Fact] | ColumnarTable, period: Period) -> dict[str, int]:
    """Messages by outcome, each counted when its outcome fell within the period."""
    table = (
        messages
        if isinstance(messages, ColumnarTable)
        else columnar.table_of(messages, "notifications")
    )
    rank = table.columns["rank"].array()
    counts = {}
    for outcome, outcome_rank in NOTIFICATION_RANKS.items():
        mask = rank == outcome_rank
        if period.from_time is not None or period.until_time is not None:
            at = table.columns[f"{outcome}_at"].array()
            mask &= at != columnar.MISSING
            if period.from_time is not None:
                mask &= at >= columnar.time_code(period.from_time)
            if period.until_time is not None:
                mask &= at < columnar.time_code(period.until_time)
        counts[outcome] = int(mask.sum())
    return counts


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
