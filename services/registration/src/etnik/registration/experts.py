"""The roster of experts: people of the directory with a field of expertise, regions, a short
biography and a photo, and their assignments to events (speaker, moderator, facilitator) with
the travel each assignment needs.

An expert is one aggregate: the roster entry and its assignments live in one document, so an
assignment and its event are one atomic write, and a second identical assignment is refused
by the same optimistic version check that orders every change. Each change publishes the
entry's whole current state (ids and non-personal fields) under the expert's id.

The biography and photo are personal data. They are shown publicly only while the person's
publication consent holds, checked on every read against the person and the consent ledger,
so that withdrawing it (PublicationConsentWithdrawn) hides them at once. The photo is kept
here, next to that consent, rather than as a content material: a material's public file would
stay downloadable after the consent is withdrawn or the person erased.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.registration import (
    ExpertAssignment,
    ExpertChanged,
    ExpertErased,
    ExpertRemoved,
    ExpertRole,
    ExpertRostered,
    ExpertTravelStatus,
)
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, StagedEvent
from etnik.registration.catalogue import CatalogueService
from etnik.registration.errors import DomainError
from etnik.registration.repository import (
    WITHOUT_OUTBOX,
    RegistrationRepository,
    new_id,
    now_utc,
)

EXPERTS = "experts"
EXPERT_PHOTOS = "expert_photos"
MAX_PHOTO_BYTES = 1_000_000
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")
MAX_ASSIGNMENTS = 200
# How long before an event an expert may arrive, and after it leave (travel to remote regions).
TRAVEL_MARGIN = timedelta(days=7)
# The travel state machine: declined may be invited again; arrived is final.
TRAVEL_TRANSITIONS: Mapping[ExpertTravelStatus, frozenset[ExpertTravelStatus]] = {
    ExpertTravelStatus.INVITED: frozenset(
        {ExpertTravelStatus.CONFIRMED, ExpertTravelStatus.DECLINED}
    ),
    ExpertTravelStatus.CONFIRMED: frozenset(
        {ExpertTravelStatus.TRAVEL_BOOKED, ExpertTravelStatus.DECLINED}
    ),
    ExpertTravelStatus.TRAVEL_BOOKED: frozenset(
        {ExpertTravelStatus.ARRIVED, ExpertTravelStatus.DECLINED}
    ),
    ExpertTravelStatus.DECLINED: frozenset({ExpertTravelStatus.INVITED}),
    ExpertTravelStatus.ARRIVED: frozenset(),
}
CHANGEABLE = ("field_of_expertise", "region_codes", "bio")
# The order roles are listed in on a card.
ROLE_ORDER = tuple(role.value for role in ExpertRole)


# --- Rules (no I/O) -----------------------------------------------------------------------


def check_transition(current: str, target: str) -> None:
    """A travel status moves only along the state machine (409 otherwise)."""
    if current == target:
        return
    allowed = TRAVEL_TRANSITIONS[ExpertTravelStatus(current)]
    if ExpertTravelStatus(target) not in allowed:
        onward = ", ".join(sorted(s.value for s in allowed)) or "nothing (it is final)"
        raise DomainError(
            409, f"travel status cannot go from {current} to {target}; from {current}: {onward}"
        )


def check_travel_dates(arrival: date | None, departure: date | None, event: Document) -> None:
    """Departure not before arrival; the stay overlaps the event, within TRAVEL_MARGIN of it."""
    starts = _day(event["starts_at"])
    ends = _day(event["ends_at"])
    margin = TRAVEL_MARGIN.days
    if arrival is not None and departure is not None and departure < arrival:
        raise DomainError(422, "departure_on is before arrival_on")
    if arrival is not None:
        if arrival < starts - TRAVEL_MARGIN:
            raise DomainError(
                422, f"arrival_on is more than {margin} days before the event ({starts})"
            )
        if arrival > ends:
            raise DomainError(422, f"arrival_on is after the event ends ({ends})")
    if departure is not None:
        if departure > ends + TRAVEL_MARGIN:
            raise DomainError(
                422, f"departure_on is more than {margin} days after the event ({ends})"
            )
        if departure < starts:
            raise DomainError(422, f"departure_on is before the event starts ({starts})")


def check_not_assigned(
    assignments: Sequence[Mapping[str, Any]], event_id: str, role: str, except_id: str | None
) -> None:
    """One expert holds one role at one event once (different roles at one event are fine)."""
    for assignment in assignments:
        if (
            assignment["event_id"] == event_id
            and assignment["role"] == role
            and assignment["assignment_id"] != except_id
        ):
            raise DomainError(
                409,
                f"the expert is already assigned as {role} to this event "
                f"(assignment {assignment['assignment_id']})",
            )


def _day(moment: Any) -> date:
    if isinstance(moment, datetime):
        return moment.date()
    return datetime.fromisoformat(str(moment)).date()


def snapshot(expert: Document) -> dict[str, Any]:
    """The fields every expert event carries: ids and non-personal fields."""
    return {
        "expert_id": expert["_id"],
        "person_id": expert.get("person_id"),
        "field_of_expertise": expert.get("field_of_expertise"),
        "region_codes": list(expert.get("region_codes") or []),
        "status": expert["status"],
        "assignments": [
            ExpertAssignment(
                assignment_id=a["assignment_id"],
                event_id=a["event_id"],
                role=a["role"],
                travel_status=a["travel_status"],
            )
            for a in expert.get("assignments") or []
        ],
        "version": expert["version"],
    }


def publication_allowed(person: Document | None, consents: Sequence[Document]) -> bool:
    """Whether a person's publication consent holds now: given, not withdrawn, not erased."""
    if person is None or person.get("erased"):
        return False
    withdrawn_at = person.get("publication_withdrawn_at")
    for consent in consents:
        if consent.get("withdrawn_at") is not None:
            continue
        # The person's withdrawal is written before the ledger's: it hides the card at once.
        if withdrawn_at is None or _aware(consent["given_at"]) > _aware(withdrawn_at):
            return True
    return False


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- Use cases -----------------------------------------------------------------------------


class ExpertService:
    """The roster of experts, their assignments and travel, and what the public sees."""

    def __init__(
        self, repository: RegistrationRepository, staging: Outbox, catalogue: CatalogueService
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue
        database = repository.people.database
        self.experts = database[EXPERTS]
        self.photos = database[EXPERT_PHOTOS]

    async def ensure_indexes(self) -> None:
        """One roster entry per person; the list by name order of creation; by event."""
        await self.experts.create_index("person_id", unique=True, sparse=True)
        await self.experts.create_index([("status", ASCENDING), ("created_at", ASCENDING)])
        await self.experts.create_index("assignments.event_id")
        await self.experts.create_index("region_codes")

    # --- The roster ---------------------------------------------------------------------

    async def roster(self, fields: Mapping[str, Any], by: str) -> Document:
        """Add a person of the directory to the roster (ExpertRostered); 409 if already on it."""
        person_id = str(fields["person_id"])
        person = await self._repo.get(self._repo.people, person_id)
        if person is None:
            raise DomainError(422, f"unknown person {person_id}")
        if person.get("erased"):
            raise DomainError(422, "this person's data was erased")
        regions = await self._regions(fields.get("region_codes") or [])
        existing = await self.experts.find_one({"person_id": person_id}, WITHOUT_OUTBOX)
        now = now_utc()
        entry = {
            "field_of_expertise": fields["field_of_expertise"],
            "region_codes": regions,
            "bio": fields.get("bio"),
            "status": "active",
            "assignments": [],
        }
        if existing is not None:
            if existing["status"] == "active":
                raise DomainError(
                    409, f"this person is already on the roster (expert {existing['_id']})"
                )
            # A removed expert comes back under the same id, so the history stays one key.
            updated = {**existing, **entry, "version": existing["version"] + 1}
            staged = self._staging.stage(ExpertRostered(**snapshot(updated)))
            return await self._save(existing, entry, by, staged)
        expert: Document = {
            "_id": new_id(),
            "person_id": person_id,
            **entry,
            "version": 1,
            "created_at": now,
            "created_by": by,
            "updated_at": now,
        }
        staged = self._staging.stage(ExpertRostered(**snapshot(expert)))
        try:
            await self._repo.insert(self.experts, expert, staged)
        except DuplicateKeyError:
            raise DomainError(409, "this person was added to the roster meanwhile") from None
        await self._staging.flush(self.experts, expert["_id"], staged)
        return await self.get(expert["_id"])

    async def change(
        self, expert_id: str, fields: Mapping[str, Any], by: str, version: int | None
    ) -> Document:
        """Correct the field, regions or biography; 409 when `version` is no longer current."""
        current = await self.get(expert_id, version=version)
        wanted: Document = {k: v for k, v in fields.items() if k in CHANGEABLE}
        if "region_codes" in wanted:
            wanted["region_codes"] = await self._regions(wanted["region_codes"])
        return await self._change(current, wanted, by)

    async def remove(self, expert_id: str, by: str) -> Document:
        """Take an expert off the roster (ExpertRemoved): assignments, biography and photo go."""
        current = await self.get(expert_id)
        wanted: Document = {"status": "removed", "assignments": [], "bio": None, "has_photo": False}
        updated = {**current, **wanted, "version": current["version"] + 1}
        staged = self._staging.stage(ExpertRemoved(**snapshot(updated)))
        removed = await self._save(current, wanted, by, staged)
        await self.photos.delete_one({"_id": expert_id})
        return removed

    async def get(self, expert_id: str, *, version: int | None = None) -> Document:
        """An expert on the roster; 404 when unknown or removed, 409 on a stale version."""
        found = await self._repo.get(self.experts, expert_id)
        if found is None or found["status"] != "active":
            raise DomainError(404, "unknown expert")
        if version is not None and version != found["version"]:
            raise DomainError(
                409, f"the expert changed meanwhile: the entry is at version {found['version']}"
            )
        return found

    async def listed(
        self, *, event_id: str | None, region_code: str | None, limit: int, offset: int
    ) -> list[Document]:
        """Experts on the roster, oldest entry first, optionally of one event or region."""
        query: Document = {"status": "active"}
        if event_id:
            query["assignments.event_id"] = event_id
        if region_code:
            query["region_codes"] = region_code
        return await self._repo.find(
            self.experts,
            query,
            sort=(("created_at", ASCENDING), ("_id", ASCENDING)),
            limit=limit,
            offset=offset,
        )

    async def names(self, experts: Sequence[Document]) -> dict[str, Document]:
        """The directory's people behind these experts, by person id."""
        ids = [e["person_id"] for e in experts if e.get("person_id")]
        people = await self._repo.find(self._repo.people, {"_id": {"$in": ids}})
        return {person["_id"]: person for person in people}

    # --- Assignments ----------------------------------------------------------------------

    async def assign(self, expert_id: str, fields: Mapping[str, Any], by: str) -> Document:
        """Assign an expert to an event in a role, with travel; 409 for the same role twice."""
        current = await self.get(expert_id)
        event_id = str(fields["event_id"])
        event = await self._event(event_id)
        role = ExpertRole(fields["role"]).value
        assignments = list(current.get("assignments") or [])
        check_not_assigned(assignments, event_id, role, except_id=None)
        if len(assignments) >= MAX_ASSIGNMENTS:
            raise DomainError(422, f"an expert may hold at most {MAX_ASSIGNMENTS} assignments")
        arrival, departure = fields.get("arrival_on"), fields.get("departure_on")
        check_travel_dates(arrival, departure, event)
        assignments.append(
            {
                "assignment_id": new_id(),
                "event_id": event_id,
                "role": role,
                "travel_status": ExpertTravelStatus(
                    fields.get("travel_status") or ExpertTravelStatus.INVITED
                ).value,
                "arrival_on": arrival.isoformat() if arrival else None,
                "departure_on": departure.isoformat() if departure else None,
                "assigned_at": now_utc(),
            }
        )
        return await self._change(current, {"assignments": assignments}, by)

    async def change_assignment(
        self, expert_id: str, assignment_id: str, fields: Mapping[str, Any], by: str
    ) -> Document:
        """Change an assignment's role, travel dates or status (along the state machine)."""
        current = await self.get(expert_id)
        assignments = [dict(a) for a in current.get("assignments") or []]
        found = next((a for a in assignments if a["assignment_id"] == assignment_id), None)
        if found is None:
            raise DomainError(404, "unknown assignment")
        if fields.get("role") is not None:
            role = ExpertRole(fields["role"]).value
            check_not_assigned(assignments, found["event_id"], role, except_id=assignment_id)
            found["role"] = role
        if fields.get("travel_status") is not None:
            target = ExpertTravelStatus(fields["travel_status"]).value
            check_transition(found["travel_status"], target)
            found["travel_status"] = target
        if "arrival_on" in fields or "departure_on" in fields:
            arrival = fields["arrival_on"] if "arrival_on" in fields else found["arrival_on"]
            departure = (
                fields["departure_on"] if "departure_on" in fields else found["departure_on"]
            )
            arrival = date.fromisoformat(arrival) if isinstance(arrival, str) else arrival
            departure = date.fromisoformat(departure) if isinstance(departure, str) else departure
            check_travel_dates(arrival, departure, await self._event(found["event_id"]))
            found["arrival_on"] = arrival.isoformat() if arrival else None
            found["departure_on"] = departure.isoformat() if departure else None
        return await self._change(current, {"assignments": assignments}, by)

    async def unassign(self, expert_id: str, assignment_id: str, by: str) -> Document:
        """Remove one assignment; 404 when the expert has no such assignment."""
        current = await self.get(expert_id)
        assignments = list(current.get("assignments") or [])
        kept = [a for a in assignments if a["assignment_id"] != assignment_id]
        if len(kept) == len(assignments):
            raise DomainError(404, "unknown assignment")
        return await self._change(current, {"assignments": kept}, by)

    # --- Photo ------------------------------------------------------------------------------

    async def put_photo(self, expert_id: str, content: bytes, content_type: str, by: str) -> None:
        """Keep the expert's photo (JPEG, PNG or WebP, up to MAX_PHOTO_BYTES)."""
        await self.get(expert_id)
        if content_type not in PHOTO_TYPES:
            raise DomainError(
                415, f"a photo is {', '.join(PHOTO_TYPES)}; this is {content_type or 'untyped'}"
            )
        if not content:
            raise DomainError(422, "the photo is empty")
        if len(content) > MAX_PHOTO_BYTES:
            raise DomainError(413, f"the photo is over {MAX_PHOTO_BYTES} bytes")
        await self.photos.replace_one(
            {"_id": expert_id},
            {
                "_id": expert_id,
                "content_type": content_type,
                "data": content,
                "sha256": hashlib.sha256(content).hexdigest(),
                "stored_at": now_utc(),
                "stored_by": by,
            },
            upsert=True,
        )
        # Not an event: the photo is personal data, and its presence alone changes no count.
        await self.experts.update_one({"_id": expert_id}, {"$set": {"has_photo": True}})

    async def photo(self, expert_id: str, *, public: bool) -> Document:
        """The photo; for the public only while the publication consent holds (else 404)."""
        expert = await self.get(expert_id)
        if public and not await self.publishable([expert]):
            raise DomainError(404, "no public photo of this expert")
        found = await self.photos.find_one({"_id": expert_id})
        if found is None:
            raise DomainError(404, "the expert has no photo")
        return found

    # --- What the public sees ---------------------------------------------------------------

    async def public_card(self, expert_id: str) -> Document:
        """An expert's public card: only while the person consents to publication (else 404)."""
        expert = await self.get(expert_id)
        cards = await self._cards([expert], event_id=None)
        if not cards:
            raise DomainError(404, "unknown expert")
        return cards[0]

    async def event_experts(self, event_id: str) -> list[Document]:
        """An event's experts who consent to publication, with their roles there."""
        await self._catalogue.get_event(event_id)  # 404 for drafts and unknown events
        experts = await self.listed(event_id=event_id, region_code=None, limit=500, offset=0)
        return await self._cards(experts, event_id=event_id)

    async def _cards(self, experts: Sequence[Document], event_id: str | None) -> list[Document]:
        allowed = await self.publishable(experts)
        people = await self.names(experts)
        cards = []
        for expert in experts:
            if expert["_id"] not in allowed:
                continue
            roles = [
                a["role"]
                for a in expert.get("assignments") or []
                if event_id is None or a["event_id"] == event_id
            ]
            cards.append(
                {
                    "id": expert["_id"],
                    "full_name": people[expert["person_id"]]["full_name"],
                    "field_of_expertise": expert["field_of_expertise"],
                    "region_codes": expert.get("region_codes") or [],
                    "bio": expert.get("bio"),
                    "has_photo": bool(expert.get("has_photo")),
                    "roles": sorted(set(roles), key=ROLE_ORDER.index),
                }
            )
        return cards

    async def publishable(self, experts: Sequence[Document]) -> set[str]:
        """The ids of the experts whose person's publication consent holds now."""
        people = await self.names(experts)
        consents = await self._repo.find(
            self._repo.consents,
            {"person_id": {"$in": list(people)}, "scope": "publication", "withdrawn_at": None},
        )
        by_person: dict[str, list[Document]] = {}
        for consent in consents:
            by_person.setdefault(consent["person_id"], []).append(consent)
        return {
            e["_id"]
            for e in experts
            if publication_allowed(
                people.get(e.get("person_id") or ""), by_person.get(e.get("person_id") or "", [])
            )
        }

    # --- Personal data ----------------------------------------------------------------------

    async def of_person(self, person_id: str) -> Document | None:
        """A person's roster entry (any status), for their export; no photo bytes."""
        return await self.experts.find_one({"person_id": person_id}, WITHOUT_OUTBOX)

    async def erase_person(self, person_id: str) -> None:
        """Anonymise an erased person's entry (ExpertErased): name link, field, regions,
        biography and photo go; the assignments stay as pseudonymous counts."""
        current = await self.experts.find_one({"person_id": person_id}, WITHOUT_OUTBOX)
        if current is None:
            return
        wanted: Document = {
            "person_id": None,
            "field_of_expertise": None,
            "region_codes": [],
            "bio": None,
            "has_photo": False,
            "status": "erased",
            "erased_at": now_utc(),
        }
        updated = {**current, **wanted, "version": current["version"] + 1}
        staged = self._staging.stage(ExpertErased(**snapshot(updated)))
        # person_id goes with $unset: the unique sparse index allows many entries without one.
        stored = await self._repo.update(
            self.experts,
            {"_id": current["_id"], "version": current["version"]},
            {
                "$set": {k: v for k, v in wanted.items() if k != "person_id"},
                "$unset": {"person_id": ""},
                "$inc": {"version": 1},
            },
            staged,
        )
        if stored is not None:
            await self._staging.flush(self.experts, current["_id"], staged)
        await self.photos.delete_one({"_id": current["_id"]})

    # --- Helpers ------------------------------------------------------------------------------

    async def _change(self, current: Document, wanted: Document, by: str) -> Document:
        """Write the fields that differ with ExpertChanged naming them; as read when none do."""
        changes = sorted(k for k, v in wanted.items() if current.get(k) != v)
        if not changes:
            return current
        updated = {**current, **wanted, "version": current["version"] + 1}
        event: IntegrationEvent = ExpertChanged(**snapshot(updated), changes=changes)
        return await self._save(current, wanted, by, self._staging.stage(event))

    async def _save(
        self, current: Document, wanted: Document, by: str, staged: list[StagedEvent]
    ) -> Document:
        """Write a change if nobody changed the entry since it was read (else 409)."""
        stored = await self._repo.update(
            self.experts,
            {"_id": current["_id"], "version": current["version"]},
            {
                "$set": {**wanted, "updated_at": now_utc(), "updated_by": by},
                "$inc": {"version": 1},
            },
            staged,
        )
        if stored is None:
            raise DomainError(409, "the expert changed meanwhile: read the entry again and retry")
        await self._staging.flush(self.experts, current["_id"], staged)
        return stored

    async def _regions(self, codes: Sequence[str]) -> list[str]:
        """Federal subject codes checked against the reference data, each once, in order."""
        checked: list[str] = []
        for code in codes:
            if await self._catalogue.subject(code) is None:
                raise DomainError(422, f"unknown federal subject code {code}")
            if code not in checked:
                checked.append(code)
        return checked

    async def _event(self, event_id: str) -> Document:
        try:
            return await self._catalogue.get_event(event_id, include_drafts=True)
        except DomainError as error:
            if error.status_code == 404:
                raise DomainError(422, f"unknown event {event_id}") from None
            raise


async def roster_person_ids(repository: RegistrationRepository) -> list[str]:
    """The people on the roster of experts now (an invitation campaign's expert audience)."""
    cursor = repository.people.database[EXPERTS].find(
        {"status": "active"}, {"person_id": 1, "_id": 0}
    )
    return [str(entry["person_id"]) async for entry in cursor if entry.get("person_id")]
