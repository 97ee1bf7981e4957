"""Reporting rules without I/O: status precedence, periods, filters, events and content.

Facts are shaped like the projection documents (see projections.py). Counting registrations
and messages is in counts.py, the grant report's assembly in report.py.
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
    # hmac.digest: the same value as hmac.new(...).hexdigest(), in one C call (a replay makes
    # one per registration event).
    return hmac.digest(key, person_id.encode(), "sha256").hex()[:32]


def attendance_mark(recorded_at: datetime, attended: bool) -> str:
    """Attendance as a string whose maximum is the latest record (ties: present wins).

    Kept with `$max`, so the latest record wins in one unconditional write, whatever order
    the records arrive in.
    """
    utc = _aware(recorded_at).astimezone(UTC).replace(tzinfo=None)
    return f"{utc.isoformat(timespec='microseconds')}Z|{int(attended)}"


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
