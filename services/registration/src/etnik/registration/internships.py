"""Internships for sector leaders and field business programmes: what such an event carries
(its host, its multi-day schedule, its places and selection), the events that go with its
applications and decisions, and each participant's outcome.

An internship is an event of a track of kind `internship` or `field_programme`; its details
live in the event's own document (`internship`), its places are the event's capacity and its
selection the event's `requires_approval`, so that one atomic write changes them together with
`InternshipDetailsSet` (and `EventChanged` when the capacity or the selection change).
Applications are the event's registrations awaiting approval: moderators decide them through
the registration service's approve and reject (`service.py`), which stage the decision's
`InternshipApplicationDecided` in the registration's own outbox. Outcomes are kept in the
registration's document (`outcome`), each change with its event in the same write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from etnik.common.contracts.registration import (
    EventChanged,
    InternshipApplicationDecided,
    InternshipApplicationReceived,
    InternshipDetailsSet,
    InternshipKind,
    InternshipOutcomeCorrected,
    InternshipOutcomeRecorded,
    InternshipScheduleDay,
    RegistrationStatus,
)
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.catalogue import CatalogueService, event_snapshot
from etnik.registration.domain import EventStatus
from etnik.registration.errors import DomainError
from etnik.registration.repository import (
    OPERATORS,
    RegistrationRepository,
    now_utc,
)

INTERNSHIP_KINDS = frozenset(kind.value for kind in InternshipKind)
MAX_HOURS_PER_DAY = 24
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
OUTCOME_FIELDS = ("completed", "hours", "result", "content_material_id")


# --- Rules (no I/O) -----------------------------------------------------------------------


def event_dates(event: Mapping[str, Any]) -> tuple[date, date]:
    """The first and last day of an event in its own time zone."""
    zone = ZoneInfo(str(event.get("timezone") or "Europe/Moscow"))
    starts: datetime = event["starts_at"]
    ends: datetime = event["ends_at"]
    return starts.astimezone(zone).date(), ends.astimezone(zone).date()


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def schedule_problems(
    days: Sequence[Mapping[str, Any]], first_day: date, last_day: date
) -> list[str]:
    """Every problem of a schedule, each naming its day and item; empty when it is sound."""
    problems: list[str] = []
    seen: set[date] = set()
    for number, day in enumerate(days, start=1):
        on: date = day["date"]
        where = f"day {number} ({on.isoformat()})"
        if on in seen:
            problems.append(f"{where}: this date is already in the schedule")
        seen.add(on)
        if not first_day <= on <= last_day:
            problems.append(
                f"{where}: outside the event's dates "
                f"{first_day.isoformat()} to {last_day.isoformat()}"
            )
        if not day["items"]:
            problems.append(f"{where}: a day needs at least one item")
        timed: list[tuple[int, int, int]] = []
        for item_number, item in enumerate(day["items"], start=1):
            label = f"{where}, item {item_number}"
            starts, ends = str(item["starts"]), str(item["ends"])
            if not _CLOCK.match(starts) or not _CLOCK.match(ends):
                problems.append(f"{label}: times are HH:MM, 00:00 to 23:59")
                continue
            if _minutes(ends) <= _minutes(starts):
                problems.append(f"{label}: ends at {ends}, not after it starts at {starts}")
                continue
            timed.append((_minutes(starts), _minutes(ends), item_number))
        timed.sort()
        for (_, earlier_end, earlier), (later_start, _, later) in pairwise(timed):
            if later_start < earlier_end:
                problems.append(f"{where}: items {earlier} and {later} overlap")
    return problems


def sorted_schedule(days: Sequence[Mapping[str, Any]]) -> list[Document]:
    """The schedule as stored: days by date, each day's items by start time."""
    return [
        {
            "date": day["date"].isoformat(),
            "items": sorted(
                (
                    {
                        "starts": item["starts"],
                        "ends": item["ends"],
                        "title": item["title"],
                        "place": item.get("place"),
                    }
                    for item in day["items"]
                ),
                key=lambda item: (item["starts"], item["ends"]),
            ),
        }
        for day in sorted(days, key=lambda day: day["date"])
    ]


def outcome_refusal(registration: Mapping[str, Any]) -> str | None:
    """Why a registration can have no outcome, or None: only an approved (confirmed)
    participant who attended, or whose attendance is not marked, has one."""
    status = registration["status"]
    if status != RegistrationStatus.CONFIRMED:
        return (
            "an outcome is recorded only for an approved participant; "
            f"this registration is {status.replace('_', ' ')}"
        )
    if (registration.get("attendance") or {}).get("status") == "no_show":
        return "this participant is marked as not attended: there is no outcome to record"
    return None


def details_event(event: Mapping[str, Any], changes: list[str]) -> InternshipDetailsSet:
    """InternshipDetailsSet with the event's internship as it stands."""
    internship = event["internship"]
    return InternshipDetailsSet(
        event_id=event["_id"],
        kind=InternshipKind(internship["kind"]),
        host_organisation_id=internship["host_organisation_id"],
        host_name=internship["host_name"],
        places=int(event["capacity"]),
        selection=bool(event.get("requires_approval")),
        schedule=[InternshipScheduleDay.model_validate(day) for day in internship["schedule"]],
        timezone=str(event.get("timezone") or "Europe/Moscow"),
        version=int(internship["version"]),
        changes=changes,
    )


def application_received(
    event: Mapping[str, Any], registration: Mapping[str, Any], person: Mapping[str, Any]
) -> list[IntegrationEvent]:
    """What a new registration adds for an internship: its application, when it awaits review."""
    if not event.get("internship") or registration["status"] != (
        RegistrationStatus.PENDING_APPROVAL
    ):
        return []
    return [
        InternshipApplicationReceived(
            event_id=registration["event_id"],
            registration_id=registration["_id"],
            person_id=registration["person_id"],
            participant_federal_district=person.get("federal_district"),
            applied_at=registration["created_at"],
        )
    ]


def application_decided(
    event: Mapping[str, Any],
    registration: Mapping[str, Any],
    person: Mapping[str, Any] | None,
    *,
    decision: str,
    by: str,
    at: datetime,
) -> list[IntegrationEvent]:
    """What a moderator's decision adds for an internship's application."""
    if not event.get("internship"):
        return []
    return [
        InternshipApplicationDecided(
            event_id=registration["event_id"],
            registration_id=registration["_id"],
            person_id=registration["person_id"],
            participant_federal_district=(person or {}).get("federal_district"),
            decision="approved" if decision == "approved" else "rejected",
            decided_by=by,
            decided_at=at,
        )
    ]


# --- Use cases -----------------------------------------------------------------------------


class InternshipService:
    """An internship's details, its applications' audit and its participants' outcomes."""

    def __init__(
        self, repository: RegistrationRepository, staging: Outbox, catalogue: CatalogueService
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue

    async def kind_of(self, event: Mapping[str, Any]) -> str | None:
        """The event's kind of practice (its track's kind), or None for any other event."""
        programme = await self._repo.get(
            self._repo.programmes, str(event.get("programme_id") or "etnik")
        )
        for track in (programme or {}).get("tracks", []):
            if track.get("id") == event.get("track") and track.get("kind") in INTERNSHIP_KINDS:
                return str(track["kind"])
        return None

    async def set_details(self, event_id: str, fields: Mapping[str, Any], by: str) -> Document:
        """Set an internship's host, schedule, places and selection; InternshipDetailsSet."""
        event = await self._catalogue.get_event(event_id, include_drafts=True)
        kind = await self.kind_of(event)
        if kind is None:
            raise DomainError(
                409,
                "this event is not an internship or a field business programme "
                f"(its track is {event.get('track') or 'none'})",
            )
        if event["status"] in {EventStatus.COMPLETED, EventStatus.CANCELLED}:
            raise DomainError(409, f"a {event['status']} event can no longer change")
        host_id = fields["host_organisation_id"]
        host = await self._repo.get(self._repo.organisations, host_id)
        if host is None:
            raise DomainError(422, f"unknown host organisation {host_id}")
        first_day, last_day = event_dates(event)
        problems = schedule_problems(fields["schedule"], first_day, last_day)
        if problems:
            raise DomainError(422, "; ".join(problems))
        places = int(fields["places"])
        holding = await self._repo.seats_taken(event_id)
        if places < holding:
            raise DomainError(
                409,
                f"{holding} places are taken already (approved participants): "
                f"places cannot be fewer",
            )
        current = event.get("internship") or {}
        internship: Document = {
            "kind": kind,
            "host_organisation_id": host_id,
            "host_name": host["name"],
            "schedule": sorted_schedule(fields["schedule"]),
            "version": int(current.get("version", 0)) + 1,
            "updated_at": now_utc(),
            "updated_by": by,
        }
        selection = bool(fields["selection"])
        event_changes = sorted(
            name
            for name, value in (("capacity", places), ("requires_approval", selection))
            if event.get(name) != value
        )
        changes = sorted(
            [
                *(
                    k
                    for k in ("host_organisation_id", "schedule")
                    if current.get(k) != internship[k]
                ),
                *(["places"] if "capacity" in event_changes else []),
                *(["selection"] if "requires_approval" in event_changes else []),
            ]
        )
        if current and not changes:
            return event
        update: Document = {"internship": internship, "capacity": places}
        update["requires_approval"] = selection
        if event.get("capacity") is None or places < int(event["capacity"]):
            update["places_numbered"] = False  # held seat numbers may lie beyond the new places
        after = {**event, **update}
        contracts: list[IntegrationEvent] = [details_event(after, changes)]
        if event_changes:
            contracts.append(EventChanged(**event_snapshot(after), changes=event_changes))
        staged = self._staging.stage(*contracts)
        stored = await self._repo.update(
            self._repo.events,
            {"_id": event_id, "version": event.get("version", 1)},
            {"$set": update, "$inc": {"version": 1}},
            staged,
        )
        if stored is None:
            raise DomainError(409, "the event changed meanwhile; reload it and try again")
        await self._staging.flush(self._repo.events, event_id, staged)
        return stored

    async def details(self, event: Document) -> Document:
        """An internship's details as shown; 404 when the event has none."""
        internship = event.get("internship")
        if not internship:
            raise DomainError(404, "this event has no internship details")
        first_day, last_day = event_dates(event)
        return {
            "event_id": event["_id"],
            "title": event["title"],
            **{k: v for k, v in internship.items() if k != "updated_by"},
            "places": event.get("capacity"),
            "selection": bool(event.get("requires_approval")),
            "timezone": event.get("timezone") or "Europe/Moscow",
            "starts_on": first_day,
            "ends_on": last_day,
            "places_taken": await self._repo.seats_taken(event["_id"]),
        }

    async def applications(self, event_id: str) -> list[Document]:
        """The event's registrations as applications to review: who, the answers given (the
        motivation), status, decision, attendance and outcome, in arrival order."""
        await self._catalogue.get_event(event_id, include_drafts=True)
        registrations = await self._repo.find(
            self._repo.registrations, {"event_id": event_id}, sort=(("created_at", 1),)
        )
        people = await self._people(registrations)
        return [
            {
                "registration_id": r["_id"],
                "full_name": people.get(r["person_id"], {}).get("full_name"),
                "email": people.get(r["person_id"], {}).get("email"),
                "category": r.get("category"),
                "status": r["status"],
                "answers": r.get("answers") or {},
                "created_at": r["created_at"],
                "decided_at": r.get("decided_at"),
                "rejection_reason": r.get("rejection_reason"),
                "attendance": (r.get("attendance") or {}).get("status", "registered"),
                "outcome": r.get("outcome"),
            }
            for r in registrations
        ]

    async def decisions(self, event_id: str) -> list[Document]:
        """Every decision on the event's applications, newest first, with who made it."""
        await self._catalogue.get_event(event_id, include_drafts=True)
        decided = [
            r
            for r in await self._repo.find(
                self._repo.registrations, {"event_id": event_id}, sort=(("created_at", 1),)
            )
            if r.get("decided_at")
        ]
        moderators = {
            account["_id"]: account.get("email")
            for account in await self._repo.find(
                self._repo.registrations.database[OPERATORS],
                {"_id": {"$in": sorted({str(r.get("decided_by")) for r in decided})}},
            )
        }
        people = await self._people(decided)
        return sorted(
            (
                {
                    "registration_id": r["_id"],
                    "full_name": people.get(r["person_id"], {}).get("full_name"),
                    "decision": "rejected" if r.get("rejection_reason") else "approved",
                    "reason": r.get("rejection_reason"),
                    "decided_by": r.get("decided_by"),
                    "decided_by_email": moderators.get(r.get("decided_by")),
                    "decided_at": r["decided_at"],
                    "status": r["status"],
                }
                for r in decided
            ),
            key=lambda row: (row["decided_at"], row["registration_id"]),
            reverse=True,
        )

    async def record_outcome(
        self, registration_id: str, fields: Mapping[str, Any], by: str, version: int | None
    ) -> Document:
        """Record or correct a participant's outcome; 409 for one who may have none."""
        registration = await self._repo.get(self._repo.registrations, registration_id)
        if registration is None:
            raise DomainError(404, "unknown registration")
        event = await self._catalogue.get_event(registration["event_id"], include_drafts=True)
        if not event.get("internship"):
            raise DomainError(409, "the event of this registration is not set up as an internship")
        refusal = outcome_refusal(registration)
        if refusal:
            raise DomainError(409, refusal)
        first_day, last_day = event_dates(event)
        most = ((last_day - first_day).days + 1) * MAX_HOURS_PER_DAY
        hours = float(fields["hours"])
        if hours > most:
            raise DomainError(422, f"hours: at most {most} for an event of these dates")
        if fields["completed"] and hours <= 0:
            raise DomainError(422, "hours: a completed internship has its hours (more than 0)")
        current = registration.get("outcome") or {}
        if version is not None and version != current.get("version", 0):
            raise DomainError(
                409, f"the outcome changed meanwhile: it is at version {current.get('version', 0)}"
            )
        wanted = {name: fields.get(name) for name in OUTCOME_FIELDS}
        wanted["hours"] = hours
        changes = sorted(name for name in OUTCOME_FIELDS if current.get(name) != wanted[name])
        if current and not changes:
            return registration
        now = now_utc()
        outcome: Document = {
            **wanted,
            "version": int(current.get("version", 0)) + 1,
            "recorded_at": current.get("recorded_at", now),
            "recorded_by": current.get("recorded_by", by),
            "updated_at": now,
            "updated_by": by,
        }
        person = await self._repo.get(self._repo.people, registration["person_id"]) or {}
        facts = {
            "event_id": registration["event_id"],
            "registration_id": registration_id,
            "person_id": registration["person_id"],
            "participant_federal_district": person.get("federal_district"),
            "completed": bool(outcome["completed"]),
            "hours": hours,
            "content_material_id": outcome["content_material_id"],
            "version": outcome["version"],
            "recorded_at": now,
            "recorded_by": by,
        }
        contract: IntegrationEvent = (
            InternshipOutcomeCorrected(**facts, changes=changes)
            if current
            else InternshipOutcomeRecorded(**facts)
        )
        staged = self._staging.stage(contract)
        stored = await self._repo.update(
            self._repo.registrations,
            {"_id": registration_id, "version": registration.get("version", 1)},
            {"$set": {"outcome": outcome}, "$inc": {"version": 1}},
            staged,
        )
        if stored is None:
            raise DomainError(409, "the registration changed meanwhile; reload it and try again")
        await self._staging.flush(self._repo.registrations, registration_id, staged)
        return stored

    async def outcomes(self, event_id: str) -> list[Document]:
        """The outcomes recorded for an event's participants, with their names."""
        await self._catalogue.get_event(event_id, include_drafts=True)
        with_outcome = [
            r
            for r in await self._repo.find(
                self._repo.registrations, {"event_id": event_id}, sort=(("created_at", 1),)
            )
            if r.get("outcome")
        ]
        people = await self._people(with_outcome)
        return [
            {
                "registration_id": r["_id"],
                "full_name": people.get(r["person_id"], {}).get("full_name"),
                **r["outcome"],
            }
            for r in with_outcome
        ]

    async def _people(self, registrations: Sequence[Document]) -> dict[str, Document]:
        ids = sorted({r["person_id"] for r in registrations})
        if not ids:
            return {}
        found = await self._repo.find(self._repo.people, {"_id": {"$in": ids}})
        return {person["_id"]: person for person in found}


async def forget_outcome_texts(repository: RegistrationRepository, person_id: str) -> None:
    """An erased person's outcome texts go with them; completion and hours stay as counts."""
    await repository.registrations.update_many(
        {"person_id": person_id, "outcome.version": {"$gte": 1}},
        {"$set": {"outcome.result": None}},
    )
