"""Counting registrations and messages held column-wise: the dashboard's and the report's figures.

The rules are domain.py's (status precedence, periods, slices, no-shows), run as numpy array
operations: one answer counts every registration of a period, up to millions, and a Python
loop over a million took over two seconds. The tests state the same rules one fact at a time
(tests/reference.py), and randomised tests compare the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from etnik.reporting import columnar
from etnik.reporting.columnar import MISSING, ColumnarTable
from etnik.reporting.domain import (
    BREAKDOWNS,
    NOTIFICATION_RANKS,
    RANK_STATUS,
    REGISTRATION_RANKS,
    UNKNOWN,
    Fact,
    Filters,
    Period,
    event_ids_matching,
    is_held,
)

Mask = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
TALLIES = ("registrations", "confirmed", "waitlisted", "cancelled", "attended", "no_shows")
FIELDS = {
    "district": "federal_district",
    "category": "category",
    "event": "event_id",
    "region": "region_code",
    "organisation": "organisation_id",
}
DAY_US = 86_400_000_000
NO_FILTERS = Filters()
# Above this many (slice, person) cells, distinct pairs are found by sorting, not a bitmap.
BITMAP_CELLS = 64_000_000


@dataclass(frozen=True)
class Slices:
    """Which slice each row falls in (an index into the names) and the slices' names."""

    keys: Ints
    names: list[str]

    @classmethod
    def of(cls, codes: Ints, texts: Sequence[str]) -> Slices:
        """Slices from each row's code and the text each code stands for."""
        names = sorted(set(texts))
        index = {name: i for i, name in enumerate(names)}
        by_code = np.array([index[text] for text in texts], dtype=np.int64)
        return cls(by_code[codes], names)


class Registrations:
    """The registrations' columns as arrays, with the programme events they belong to."""

    def __init__(self, table: ColumnarTable, events_by_id: Mapping[str, Fact]) -> None:
        columns = table.columns
        self._columns = columns
        self.rank = columns["rank"].array()
        self.made = columns["registered_at"].array()
        marks = columns["attendance"].array()
        self.present: Mask = (marks != MISSING) & (marks & 1 == 1)
        self._event_column = columns["event_id"]
        self._event_codes = self._event_column.array()
        # The snapshot of each code's event (None for an absent id or an unknown event).
        self._events = [
            None if value is None else events_by_id.get(str(value))
            for value in self._event_column.values
        ]
        self.held: Mask = np.array([is_held(e) for e in self._events], dtype=bool)[
            self._event_codes
        ]
        person_column = columns["person_ref"]
        self.people = Slices.of(person_column.array(), person_column.keys(UNKNOWN))
        # Only a person reference that is there and not empty makes a participant.
        self._has_person: Mask = np.array([bool(v) for v in person_column.values], dtype=bool)[
            person_column.array()
        ]

    def matching(
        self,
        period: Period,
        *,
        district: str | None = None,
        events: set[str] | None = None,
        excluded_events: frozenset[str] = frozenset(),
    ) -> Mask:
        """Rows with a status, made within the period, in the district and events given."""
        mask: Mask = (self.rank >= 1) & (self.rank <= len(RANK_STATUS))
        if events is not None or excluded_events:
            by_code = [
                (events is None or (value is not None and value in events))
                and value not in excluded_events
                for value in self._event_column.values
            ]
            mask &= np.array(by_code, dtype=bool)[self._event_codes]
        if district is not None:
            column = self._columns["federal_district"]
            code = column.code_of(district)
            mask &= column.array() == (-1 if code is None else code)
        if period.from_time is not None or period.until_time is not None:
            mask &= self.made != MISSING
            if period.from_time is not None:
                mask &= self.made >= columnar.time_code(period.from_time)
            if period.until_time is not None:
                mask &= self.made < columnar.time_code(period.until_time)
        return mask

    def slices(self, by: str) -> Slices:
        """Each row's slice for one breakdown."""
        if by == "track":
            tracks = [
                str(event["track"]) if event and event.get("track") else UNKNOWN
                for event in self._events
            ]
            return Slices.of(self._event_codes, tracks)
        if by not in FIELDS:
            raise ValueError(f"unknown breakdown {by!r}; one of {', '.join(BREAKDOWNS)}")
        column = self._columns[FIELDS[by]]
        return Slices.of(column.array(), column.keys(UNKNOWN))

    def status(self, name: str) -> Mask:
        """Rows whose registration has this status now."""
        result: Mask = self.rank == REGISTRATION_RANKS[name]
        return result

    def tallies(self, mask: Mask, slices: Slices) -> list[dict[str, Any]]:
        """Registrations, statuses, attendance, no-shows and participants per slice, largest
        first; slices without a registration are left out."""
        confirmed = mask & self.status("confirmed")
        columns = [
            np.bincount(slices.keys[rows], minlength=len(slices.names))
            for rows in (
                mask,
                confirmed,
                mask & self.status("waitlisted"),
                mask & self.status("cancelled"),
                mask & self.present,
                # Held, a place was held for them, and nobody recorded them as present.
                confirmed & ~self.present & self.held,
            )
        ]
        people = self._distinct_people(mask, slices)
        rows = [
            {
                "key": name,
                "participants": int(people[i]),
                **{tally: int(column[i]) for tally, column in zip(TALLIES, columns, strict=True)},
            }
            for i, name in enumerate(slices.names)
            if columns[0][i]
        ]
        return sorted(rows, key=lambda row: (-row["registrations"], row["key"]))

    def participants(self, mask: Mask, slices: Slices) -> dict[str, int]:
        """People with at least one confirmed registration, counted once per slice."""
        people = self._distinct_people(mask, slices)
        return {name: int(people[i]) for i, name in enumerate(slices.names) if people[i]}

    def everyone(self, mask: Mask) -> int:
        """People with at least one confirmed registration."""
        one = Slices(np.zeros(len(self.rank), dtype=np.int64), ["all"])
        return int(self._distinct_people(mask, one)[0])

    def _distinct_people(self, mask: Mask, slices: Slices) -> Ints:
        rows = mask & self.status("confirmed") & self._has_person
        return distinct_per_key(
            slices.keys[rows], self.people.keys[rows], len(slices.names), len(self.people.names)
        )

    def daily(self, mask: Mask, period: Period) -> list[dict[str, Any]]:
        """Registrations per day by the day they were made, with empty days filled in."""
        rows = mask & (self.made != MISSING)
        days = self.made[rows] // DAY_US  # days since the epoch, UTC
        if days.size == 0 and (period.start is None or period.end is None):
            return []
        epoch = columnar.EPOCH.date()
        first = (period.start - epoch).days if period.start else int(days.min())
        last = (period.end - epoch).days if period.end else int(days.max())
        span = max(last - first + 1, 0)
        offsets = days - first
        inside = (offsets >= 0) & (offsets < span)

        def per_day(selected: Mask) -> Ints:
            return np.bincount(offsets[selected[rows] & inside], minlength=span)

        counts = {"registrations": per_day(rows)} | {
            status: per_day(self.status(status)) for status in REGISTRATION_RANKS
        }
        return [
            {
                "day": (epoch + timedelta(days=first + i)).isoformat(),
                "registrations": int(counts["registrations"][i]),
                "confirmed": int(counts["confirmed"][i]),
                "waitlisted": int(counts["waitlisted"][i]),
                "cancelled": int(counts["cancelled"][i]),
            }
            for i in range(span)
        ]

    def by_status(self, mask: Mask) -> dict[str, int]:
        """Registrations per status (only statuses that occur)."""
        return {
            status: count
            for status in REGISTRATION_RANKS
            if (count := int((mask & self.status(status)).sum()))
        }


def distinct_per_key(keys: Ints, people: Ints, key_count: int, person_count: int) -> Ints:
    """How many distinct people each key has, from parallel arrays of (key, person) pairs."""
    pairs = keys * person_count + people
    if key_count * person_count <= BITMAP_CELLS:
        # A bitmap of every (key, person) cell: linear, and faster than a sort at this size.
        seen = np.zeros(key_count * person_count, dtype=bool)
        seen[pairs] = True
        counts: Ints = seen.reshape(key_count, person_count).sum(axis=1, dtype=np.int64)
        return counts
    pairs = np.sort(pairs)
    first = np.ones(pairs.size, dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]
    return np.bincount(pairs[first] // person_count, minlength=key_count)


def registration_table(facts: Iterable[Fact] | ColumnarTable) -> ColumnarTable:
    """Registrations as columns: a fold's table as it is, documents copied into one."""
    return facts if isinstance(facts, ColumnarTable) else columnar.table_of(facts, "registrations")


def breakdown(
    registrations: Iterable[Fact] | ColumnarTable,
    events: Sequence[Fact],
    by: str,
    filters: Filters = NO_FILTERS,
) -> list[dict[str, Any]]:
    """The dashboard's breakdown: the registrations the filters select, per slice."""
    counted = Registrations(registration_table(registrations), _by_id(events))
    mask = counted.matching(
        filters.period, district=filters.district, events=event_ids_matching(events, filters)
    )
    return counted.tallies(mask, counted.slices(by))


def daily_series(
    registrations: Iterable[Fact] | ColumnarTable, events: Sequence[Fact], filters: Filters
) -> list[dict[str, Any]]:
    """The dashboard's series: registrations the filters select, per day they were made."""
    counted = Registrations(registration_table(registrations), _by_id(events))
    mask = counted.matching(
        filters.period, district=filters.district, events=event_ids_matching(events, filters)
    )
    return counted.daily(mask, filters.period)


def status_counts(
    registrations: Iterable[Fact] | ColumnarTable, events: Sequence[Fact], event_id: str | None
) -> dict[str, int]:
    """Registrations per status, for one programme event or for all."""
    counted = Registrations(registration_table(registrations), _by_id(events))
    mask = counted.matching(Period(), events=event_ids_matching(events, Filters(event_id=event_id)))
    return counted.by_status(mask)


def outcome_counts(messages: Iterable[Fact] | ColumnarTable, period: Period) -> dict[str, int]:
    """Messages by outcome, each counted when its outcome fell within the period."""
    return {
        outcome: int(mask.sum()) for outcome, mask in _outcome_masks(messages, period)[0].items()
    }


def outcome_counts_by_kind(
    messages: Iterable[Fact] | ColumnarTable, period: Period
) -> dict[str, dict[str, int]]:
    """Messages by kind (invitation, registration_confirmed, event_reminder …), then by outcome."""
    masks, table = _outcome_masks(messages, period)
    kinds = Slices.of(table.columns["kind"].array(), table.columns["kind"].keys(UNKNOWN))
    per_kind = {
        outcome: np.bincount(kinds.keys[mask], minlength=len(kinds.names))
        for outcome, mask in masks.items()
    }
    return {
        kind: {outcome: int(counts[i]) for outcome, counts in per_kind.items()}
        for i, kind in enumerate(kinds.names)
        if any(counts[i] for counts in per_kind.values())
    }


def _outcome_masks(
    messages: Iterable[Fact] | ColumnarTable, period: Period
) -> tuple[dict[str, Mask], ColumnarTable]:
    """Per outcome (sent beats failed), the messages whose outcome fell within the period."""
    table = (
        messages
        if isinstance(messages, ColumnarTable)
        else columnar.table_of(messages, "notifications")
    )
    rank = table.columns["rank"].array()
    masks = {}
    for outcome in ("sent", "failed"):
        mask: Mask = rank == NOTIFICATION_RANKS[outcome]
        if period.from_time is not None or period.until_time is not None:
            at = table.columns[f"{outcome}_at"].array()
            mask &= at != MISSING
            if period.from_time is not None:
                mask &= at >= columnar.time_code(period.from_time)
            if period.until_time is not None:
                mask &= at < columnar.time_code(period.until_time)
        masks[outcome] = mask
    return masks, table


@dataclass(frozen=True)
class RegistrationCounts:
    """The grant report's registration figures."""

    participants: int
    by_category: dict[str, int]
    by_region: dict[str, int]
    by_district: dict[str, int]
    totals: dict[str, int]
    by_event: list[dict[str, Any]]


def report_counts(
    registrations: Iterable[Fact] | ColumnarTable,
    period: Period,
    events_by_id: Mapping[str, Fact],
    excluded_events: frozenset[str],
) -> RegistrationCounts:
    """Every registration figure of the grant report."""
    counted = Registrations(registration_table(registrations), events_by_id)
    mask = counted.matching(period, excluded_events=excluded_events)
    by_event = counted.tallies(mask, counted.slices("event"))
    return RegistrationCounts(
        participants=counted.everyone(mask),
        by_category=counted.participants(mask, counted.slices("category")),
        by_region=counted.participants(mask, counted.slices("region")),
        by_district=counted.participants(mask, counted.slices("district")),
        totals={tally: sum(row[tally] for row in by_event) for tally in TALLIES},
        by_event=by_event,
    )


def _by_id(events: Sequence[Fact]) -> dict[str, Fact]:
    return {str(event["_id"]): event for event in events}
