"""Partnerships formed in the programme: the registry of who agreed with whom on what, and the
use cases that record, change and end them.

A partnership is its own aggregate. Its parties are organisations of the directory (their
sector follows from the organisation's kind) or parties named only here (a business, a
university) with the sector given. Each change publishes the whole current state under the
partnership's id, so a consumer (reporting) needs only the newest event of each key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pymongo import DESCENDING

from etnik.common.contracts.registration import (
    PartnershipChanged,
    PartnershipEnded,
    PartnershipFormed,
    PartnershipParty,
    PartnershipSector,
)
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, StagedEvent
from etnik.registration.catalogue import CatalogueService
from etnik.registration.errors import DomainError
from etnik.registration.repository import (
    PARTNERSHIPS,
    WITHOUT_OUTBOX,
    RegistrationRepository,
    new_id,
    now_utc,
)

MAX_PARTIES = 20

# An organisation's kind in the directory, as a sector of a partnership.
SECTOR_OF_KIND: Mapping[str, PartnershipSector] = {
    "ngo": PartnershipSector.NGO,
    "national_cultural_autonomy": PartnershipSector.NGO,
    "authority": PartnershipSector.AUTHORITY,
    "media": PartnershipSector.MEDIA,
    "other": PartnershipSector.OTHER,
}
# What a change may touch: the rest is the partnership's identity or its lifecycle.
CHANGEABLE = (
    "subject",
    "parties",
    "formed_on",
    "federal_district",
    "event_id",
    "document_material_id",
)


# --- Rules (no I/O) -----------------------------------------------------------------------


def check_party_count(parties: Sequence[Mapping[str, Any]]) -> None:
    """A partnership has two parties at least, and a bounded number of them."""
    if len(parties) < 2:
        raise DomainError(422, "a partnership needs at least two parties")
    if len(parties) > MAX_PARTIES:
        raise DomainError(422, f"a partnership may name at most {MAX_PARTIES} parties")


def check_distinct(parties: Sequence[Mapping[str, Any]]) -> None:
    """No organisation, and no outside party by the same name and sector, named twice."""
    seen: set[tuple[str, str]] = set()
    for number, party in enumerate(parties, start=1):
        identity = (
            ("organisation", str(party["organisation_id"]))
            if party.get("organisation_id")
            else (str(party["sector"]), " ".join(str(party["name"]).casefold().split()))
        )
        if identity in seen:
            raise DomainError(422, f"party {number}: this party is already named")
        seen.add(identity)


def check_dates(formed_on: date, ended_on: date | None, today: date) -> None:
    """A partnership is recorded once formed, and ends on or after the day it was formed."""
    if formed_on > today:
        raise DomainError(422, "formed_on is in the future: record a partnership once formed")
    if ended_on is not None and ended_on < formed_on:
        raise DomainError(422, "ended_on is before formed_on")


def snapshot(partnership: Document) -> dict[str, Any]:
    """The fields every partnership event carries: its whole current state."""
    return {
        "partnership_id": partnership["_id"],
        "subject": partnership["subject"],
        "parties": [PartnershipParty.model_validate(p) for p in partnership["parties"]],
        "formed_on": date.fromisoformat(partnership["formed_on"]),
        "federal_district": partnership["federal_district"],
        "event_id": partnership.get("event_id"),
        "document_material_id": partnership.get("document_material_id"),
        "status": partnership["status"],
        "ended_on": (
            date.fromisoformat(partnership["ended_on"]) if partnership.get("ended_on") else None
        ),
        "version": partnership["version"],
    }


# --- Use cases -----------------------------------------------------------------------------


class PartnershipService:
    """The registry of partnerships: record, change, end, read."""

    def __init__(
        self, repository: RegistrationRepository, staging: Outbox, catalogue: CatalogueService
    ) -> None:
        self._repo = repository
        self._staging = staging
        self._catalogue = catalogue
        self.partnerships = repository.registrations.database[PARTNERSHIPS]

    async def ensure_indexes(self) -> None:
        """The list, newest first, whole or by district, event or organisation."""
        await self.partnerships.create_index([("formed_on", DESCENDING), ("_id", DESCENDING)])
        await self.partnerships.create_index(
            [("federal_district", 1), ("formed_on", DESCENDING), ("_id", DESCENDING)]
        )
        await self.partnerships.create_index("event_id", sparse=True)
        await self.partnerships.create_index("parties.organisation_id", sparse=True)

    async def record(self, fields: Mapping[str, Any], by: str) -> Document:
        """Record a partnership formed in the programme, with PartnershipFormed."""
        parties = await self._parties(fields["parties"])
        formed_on: date = fields["formed_on"]
        check_dates(formed_on, None, now_utc().date())
        event_id = fields.get("event_id")
        district = await self._district(fields.get("federal_district"), event_id, parties)
        now = now_utc()
        partnership: Document = {
            "_id": new_id(),
            "subject": fields["subject"],
            "parties": parties,
            "formed_on": formed_on.isoformat(),
            "federal_district": district,
            "event_id": event_id,
            "document_material_id": fields.get("document_material_id"),
            "status": "active",
            "ended_on": None,
            "version": 1,
            "created_at": now,
            "created_by": by,
            "updated_at": now,
        }
        staged = self._staging.stage(PartnershipFormed(**snapshot(partnership)))
        await self._repo.insert(self.partnerships, partnership, staged)
        await self._staging.flush(self.partnerships, partnership["_id"], staged)
        return await self.get(partnership["_id"])

    async def change(
        self, partnership_id: str, fields: Mapping[str, Any], by: str, version: int | None
    ) -> Document:
        """Change what was recorded; 409 when `version` is given and no longer current."""
        current = await self.get(partnership_id)
        if version is not None and version != current["version"]:
            raise DomainError(
                409, f"the partnership changed meanwhile: it is at version {current['version']}"
            )
        wanted: Document = {k: v for k, v in fields.items() if k in CHANGEABLE}
        if "parties" in wanted:
            wanted["parties"] = await self._parties(wanted["parties"])
        if "formed_on" in wanted:
            ended_on = current.get("ended_on")
            check_dates(
                wanted["formed_on"],
                date.fromisoformat(ended_on) if ended_on else None,
                now_utc().date(),
            )
            wanted["formed_on"] = wanted["formed_on"].isoformat()
        if wanted.keys() & {"event_id", "federal_district", "parties"}:
            # A district given wins; a new event brings its own; else the one recorded stays.
            if "federal_district" in wanted:
                explicit = wanted["federal_district"]
            else:
                explicit = None if "event_id" in wanted else current["federal_district"]
            wanted["federal_district"] = await self._district(
                explicit,
                wanted.get("event_id", current.get("event_id")),
                wanted["parties"] if "parties" in wanted else current["parties"],
            )
        changes = sorted(k for k, v in wanted.items() if current.get(k) != v)
        if not changes:
            return current
        updated = {**current, **wanted, "version": current["version"] + 1}
        staged = self._staging.stage(PartnershipChanged(**snapshot(updated), changes=changes))
        return await self._save(current, wanted, by, staged)

    async def end(self, partnership_id: str, ended_on: date, by: str) -> Document:
        """Record that a partnership ended; 409 if it already has."""
        current = await self.get(partnership_id)
        if current["status"] == "ended":
            raise DomainError(409, f"the partnership already ended on {current['ended_on']}")
        check_dates(date.fromisoformat(current["formed_on"]), ended_on, now_utc().date())
        if ended_on > now_utc().date():
            raise DomainError(422, "ended_on is in the future: record the end once it happened")
        wanted = {"status": "ended", "ended_on": ended_on.isoformat()}
        updated = {**current, **wanted, "version": current["version"] + 1}
        staged = self._staging.stage(PartnershipEnded(**snapshot(updated)))
        return await self._save(current, wanted, by, staged)

    async def _save(
        self, current: Document, wanted: Document, by: str, staged: list[StagedEvent]
    ) -> Document:
        """Write a change if nobody changed the partnership since it was read (else 409)."""
        stored = await self._repo.update(
            self.partnerships,
            {"_id": current["_id"], "version": current["version"]},
            {
                "$set": {**wanted, "updated_at": now_utc(), "updated_by": by},
                "$inc": {"version": 1},
            },
            staged,
        )
        if stored is None:
            raise DomainError(409, "the partnership changed meanwhile: read it again and retry")
        await self._staging.flush(self.partnerships, current["_id"], staged)
        return await self.get(current["_id"])

    async def get(self, partnership_id: str) -> Document:
        """One partnership; 404 when unknown."""
        found = await self._repo.get(self.partnerships, partnership_id)
        if found is None:
            raise DomainError(404, "unknown partnership")
        return found

    async def listed(
        self,
        *,
        federal_district: str | None,
        event_id: str | None,
        organisation_id: str | None,
        limit: int,
        offset: int,
    ) -> list[Document]:
        """Partnerships, newest formed first, optionally of one district, event or party."""
        query: Document = {}
        if federal_district:
            query["federal_district"] = federal_district
        if event_id:
            query["event_id"] = event_id
        if organisation_id:
            query["parties.organisation_id"] = organisation_id
        cursor = (
            self.partnerships.find(query, WITHOUT_OUTBOX)
            .sort([("formed_on", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [document async for document in cursor]

    async def _parties(self, given: Sequence[Mapping[str, Any]]) -> list[Document]:
        """The parties as stored: directory organisations looked up, outside ones as named."""
        check_party_count(given)
        parties: list[Document] = []
        for number, party in enumerate(given, start=1):
            organisation_id = party.get("organisation_id")
            if organisation_id:
                organisation = await self._repo.get(self._repo.organisations, organisation_id)
                if organisation is None:
                    raise DomainError(
                        422, f"party {number}: unknown organisation {organisation_id}"
                    )
                sector = party.get("sector") or SECTOR_OF_KIND.get(
                    str(organisation.get("kind")), PartnershipSector.OTHER
                )
                parties.append(
                    {
                        "sector": PartnershipSector(sector).value,
                        "name": organisation["name"],
                        "organisation_id": organisation_id,
                    }
                )
                continue
            if not party.get("name") or not party.get("sector"):
                raise DomainError(
                    422,
                    f"party {number}: give an organisation_id from the directory, "
                    "or the party's name and sector",
                )
            parties.append(
                {
                    "sector": PartnershipSector(party["sector"]).value,
                    "name": str(party["name"]),
                    "organisation_id": None,
                }
            )
        check_distinct(parties)
        return parties

    async def _district(
        self, explicit: str | None, event_id: str | None, parties: Sequence[Document]
    ) -> str:
        """The district it is counted in: as given, else the event's, else the first NGO's."""
        event = None
        if event_id:
            try:
                event = await self._catalogue.get_event(event_id, include_drafts=True)
            except DomainError as error:
                if error.status_code == 404:
                    raise DomainError(422, f"unknown event {event_id}") from None
                raise
        if explicit:
            await self._catalogue.require_district(explicit)
            return explicit
        if event is not None and event.get("federal_district"):
            return str(event["federal_district"])
        for party in parties:
            if party.get("organisation_id") and party["sector"] == PartnershipSector.NGO:
                organisation = await self._repo.get(
                    self._repo.organisations, party["organisation_id"]
                )
                if organisation and organisation.get("federal_district"):
                    return str(organisation["federal_district"])
        raise DomainError(
            422,
            "federal_district is needed: neither the event nor an NGO party's region gives one",
        )
