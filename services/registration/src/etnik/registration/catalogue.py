"""Use cases of the catalogue: reference data, programmes with tracks, events and their forms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cachetools import TTLCache
from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.registration import (
    EventChanged,
    EventCreated,
    FederalDistrictChanged,
    FederalSubjectChanged,
    ProgrammeChanged,
)
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox
from etnik.registration.domain import (
    EventStatus,
    RuleViolation,
    check_transition,
    recognise_online_platform,
)
from etnik.registration.errors import DomainError
from etnik.registration.reference import DEFAULT_TIMEZONE
from etnik.registration.repository import (
    RegistrationRepository,
    new_id,
    now_utc,
)
from etnik.registration.schemas import (
    EventIn,
    EventUpdate,
    FederalDistrictUpdate,
    FederalSubjectUpdate,
    FormIn,
    ProgrammeIn,
)

DEFAULT_PROGRAMME: Document = {
    "_id": "etnik",
    "title": "ЭтНик: стратегия в практике",
    "description": "Программа для этнокультурных СО НКО",
    "tracks": [
        {"id": track_id, "title": title, "kind": kind}
        for track_id, title, kind in (
            ("in_person_session", "Очная стратегическая сессия", "in_person_session"),
            ("online_sessions", "Стратегические онлайн-сессии по округам", "online_sessions"),
            ("internships", "Стажировки для лидеров", "internship"),
            ("field_programmes", "Выездные бизнес-программы", "field_programme"),
        )
    ],
}

SNAPSHOT_FIELDS = (
    "title",
    "track",
    "format",
    "starts_at",
    "ends_at",
    "timezone",
    "federal_district",
    "region_code",
    "capacity",
    "status",
    "programme_id",
    "venue",
    "online_platform",
    "registration_opens_at",
    "registration_closes_at",
    "requires_approval",
    "invitation_only",
    "quotas",
    "demo",
)


def event_snapshot(event: Document) -> dict[str, Any]:
    """What EventCreated and EventChanged say of an event (never its online link)."""
    return {"event_id": event["_id"], **{name: event.get(name) for name in SNAPSHOT_FIELDS}} | {
        "quotas": event.get("quotas") or {},
        "requires_approval": bool(event.get("requires_approval")),
        "invitation_only": bool(event.get("invitation_only")),
        "demo": bool(event.get("demo")),
    }


# How long reference data read from the database is served before it is read again.
REFERENCE_CACHE_S = 60.0


class CatalogueService:
    """Reference data, programmes and events."""

    def __init__(self, repository: RegistrationRepository, staging: Outbox) -> None:
        self._repo = repository
        self._staging = staging
        # Reference data (89 subjects, 8 districts) read on every registration: each table is
        # kept whole for a minute; a correction made here clears it at once, one made through
        # another replica shows here within the minute.
        self._reference: TTLCache[str, dict[str, Document]] = TTLCache(
            maxsize=2, ttl=REFERENCE_CACHE_S
        )

    # --- Reference data --------------------------------------------------------------------

    async def subjects(self) -> list[Document]:
        """Every federal subject, by code."""
        return await self._repo.find(self._repo.subjects, {}, sort=(("code", ASCENDING),))

    async def districts(self) -> list[Document]:
        """Every federal district."""
        return await self._repo.find(self._repo.districts, {}, sort=(("name_ru", ASCENDING),))

    async def subject(self, code: str | None) -> Document | None:
        """A federal subject by its two-digit code."""
        return (await self._reference_table(self._repo.subjects)).get(code) if code else None

    async def _reference_table(self, collection: AsyncCollection[Document]) -> dict[str, Document]:
        """A reference collection by id, read once a minute at most."""
        table = self._reference.get(collection.name)
        if table is None:
            table = {doc["_id"]: doc for doc in await self._repo.find(collection, {})}
            if table:  # empty only before the reference data is seeded at the first start
                self._reference[collection.name] = table
        return table

    async def timezone_of(self, region_code: str | None) -> str:
        """The IANA zone of a federal subject, else Moscow time."""
        subject = await self.subject(region_code)
        return str(subject["iana_timezone"]) if subject else DEFAULT_TIMEZONE

    async def update_subject(self, code: str, command: FederalSubjectUpdate) -> Document:
        """Correct a subject (administrators); the change is published."""
        changes = command.model_dump(exclude_unset=True)
        if changes.get("federal_district") is not None:
            await self.require_district(changes["federal_district"])

        def event(after: Document, changed: list[str]) -> IntegrationEvent:
            return FederalSubjectChanged(
                code=code,
                name_ru=after["name_ru"],
                federal_district=after.get("federal_district"),
                iana_timezone=after["iana_timezone"],
                changes=changed,
            )

        return await self._correct(self._repo.subjects, code, changes, event, "federal subject")

    async def update_district(self, key: str, command: FederalDistrictUpdate) -> Document:
        """Correct a federal district's names (administrators); the change is published."""

        def event(after: Document, changed: list[str]) -> IntegrationEvent:
            return FederalDistrictChanged(
                district=key,
                name_ru=after["name_ru"],
                name_en=after["name_en"],
                centre_ru=after["centre_ru"],
                changes=changed,
            )

        changes = command.model_dump(exclude_unset=True, exclude_none=True)
        return await self._correct(self._repo.districts, key, changes, event, "federal district")

    async def _correct(
        self,
        collection: AsyncCollection[Document],
        key: str,
        changes: Document,
        event: Callable[[Document, list[str]], IntegrationEvent],
        what: str,
    ) -> Document:
        """Apply an administrator's correction of reference data and publish what changed."""
        current = await self._repo.get(collection, key)
        if current is None:
            raise DomainError(404, f"unknown {what}")
        changed = {k: v for k, v in changes.items() if current.get(k) != v}
        if not changed:
            return current
        staged = self._staging.stage(event({**current, **changed}, sorted(changed)))
        updated = await self._repo.update(
            collection, {"_id": key}, {"$set": {**changed, "edited_at": now_utc()}}, staged
        )
        assert updated is not None
        self._reference.pop(collection.name, None)
        await self._staging.flush(collection, key, staged)
        return updated

    async def require_district(self, key: str) -> None:
        """422 unless the federal district exists."""
        if key not in await self._reference_table(self._repo.districts):
            raise DomainError(422, f"unknown federal district {key}")

    async def place(
        self, region_code: str | None, federal_district: str | None
    ) -> tuple[str | None, str | None]:
        """Region and district checked against the reference data; the district from the region."""
        if federal_district is not None:
            await self.require_district(federal_district)
        if region_code is not None:
            subject = await self.subject(region_code)
            if subject is None:
                raise DomainError(422, f"unknown region code {region_code}")
            # The reference data's own district needs no second check.
            federal_district = federal_district or subject.get("federal_district")
        return region_code, federal_district

    # --- Programmes ------------------------------------------------------------------------

    async def seed_default_programme(self) -> None:
        """The programme and its four tracks: structure every environment needs, not demo data."""
        staged = self._staging.stage(_programme_changed(DEFAULT_PROGRAMME, ["created"]))
        try:
            await self._repo.insert(
                self._repo.programmes, {**DEFAULT_PROGRAMME, "created_at": now_utc()}, staged
            )
        except DuplicateKeyError:
            return
        await self._staging.flush(self._repo.programmes, DEFAULT_PROGRAMME["_id"], staged)

    async def programmes(self) -> list[Document]:
        """Every programme with its tracks."""
        return await self._repo.find(self._repo.programmes, {})

    async def put_programme(self, command: ProgrammeIn) -> Document:
        """Create or replace a programme and its tracks; the change is published."""
        document = {
            "title": command.title,
            "description": command.description,
            "tracks": [track.model_dump() for track in command.tracks],
        }
        staged = self._staging.stage(
            _programme_changed({"_id": command.id, **document}, ["title", "tracks"])
        )
        if await self._repo.get(self._repo.programmes, command.id) is None:
            try:
                created = {"_id": command.id, **document, "created_at": now_utc()}
                await self._repo.insert(self._repo.programmes, created, staged)
            except DuplicateKeyError:
                pass  # created meanwhile: replace it below
            else:
                await self._staging.flush(self._repo.programmes, command.id, staged)
                return created
        updated = await self._repo.update(
            self._repo.programmes, {"_id": command.id}, {"$set": document}, staged
        )
        assert updated is not None
        await self._staging.flush(self._repo.programmes, command.id, staged)
        return updated

    async def _check_track(self, programme_id: str, track: str | None) -> None:
        programme = await self._repo.get(self._repo.programmes, programme_id)
        if programme is None:
            raise DomainError(422, f"unknown programme {programme_id}")
        if track is not None and track not in {t["id"] for t in programme.get("tracks", [])}:
            raise DomainError(422, f"programme {programme_id} has no track {track}")

    # --- Events ----------------------------------------------------------------------------

    async def get_event(self, event_id: str, *, include_drafts: bool = False) -> Document:
        """An event; 404 when unknown (or a draft, for the public)."""
        event = await self._repo.get(self._repo.events, event_id)
        if event is None or (event.get("status") == EventStatus.DRAFT and not include_drafts):
            raise DomainError(404, "unknown event")
        return event

    async def list_events(
        self,
        *,
        statuses: list[str] | None,
        filters: Document,
        limit: int,
        offset: int,
        public: bool = False,
    ) -> list[Document]:
        """Events by start time; the public list leaves out those open by invitation only."""
        query: Document = {k: v for k, v in filters.items() if v is not None}
        if statuses:
            query["status"] = {"$in": statuses}
        if public:
            query["invitation_only"] = {"$ne": True}
        return await self._repo.find(
            self._repo.events, query, sort=(("starts_at", ASCENDING),), limit=limit, offset=offset
        )

    async def create_event(self, command: EventIn, *, demo: bool = False) -> Document:
        """Create an event (as a draft, published or open); its creation is published."""
        programme_id = command.programme_id or DEFAULT_PROGRAMME["_id"]
        await self._check_track(programme_id, command.track)
        region_code, district = await self.place(command.region_code, command.federal_district)
        fields = command.model_dump(mode="python")
        event: Document = {
            "_id": new_id(),
            **fields,
            "programme_id": programme_id,
            "region_code": region_code,
            "federal_district": district,
            "quotas": {str(k): v for k, v in command.quotas.items()},
            "online_platform": _platform(command.online_link),
            "form": {"version": 0, "questions": []},
            # Every place is numbered within 1..capacity (and quota): blind seat picks are safe.
            "places_numbered": True,
            "created_at": now_utc(),
            "version": 1,
            "demo": demo,
        }
        staged = self._staging.stage(EventCreated(**event_snapshot(event)))
        await self._repo.insert(self._repo.events, event, staged)
        await self._staging.flush(self._repo.events, event["_id"], staged)
        return event

    async def update_event(self, event_id: str, command: EventUpdate) -> Document:
        """Change an event's details; EventChanged carries the whole snapshot and what changed."""
        current = await self.get_event(event_id, include_drafts=True)
        if current["status"] in {EventStatus.COMPLETED, EventStatus.CANCELLED}:
            raise DomainError(409, f"a {current['status']} event can no longer change")
        changes = command.model_dump(mode="python", exclude_unset=True)
        if "quotas" in changes:
            changes["quotas"] = {str(k): v for k, v in (changes["quotas"] or {}).items()}
        if "online_link" in changes:
            changes["online_platform"] = _platform(changes["online_link"])
        if "track" in changes or "programme_id" in changes:
            await self._check_track(
                changes.get("programme_id") or current.get("programme_id") or "etnik",
                changes.get("track", current.get("track")),
            )
        if "region_code" in changes or "federal_district" in changes:
            region, district = await self.place(
                changes.get("region_code", current.get("region_code")),
                changes.get("federal_district", current.get("federal_district")),
            )
            changes["region_code"], changes["federal_district"] = region, district
        after = {**current, **changes}
        if after["ends_at"] <= after["starts_at"]:
            raise DomainError(422, "ends_at must be after starts_at")
        opens, closes = after.get("registration_opens_at"), after.get("registration_closes_at")
        if opens is not None and closes is not None and closes <= opens:
            raise DomainError(422, "registration_closes_at must be after registration_opens_at")
        changed = {k: v for k, v in changes.items() if current.get(k) != v}
        if not changed:
            return current
        update = {**changed}
        if _places_renumbered(current, changed):
            update["places_numbered"] = False
        return await self._write_change(current, {"$set": update}, sorted(changed))

    async def transition(self, event_id: str, target: EventStatus) -> tuple[Document, str]:
        """Move an event along its lifecycle; (event after, previous status)."""
        current = await self.get_event(event_id, include_drafts=True)
        try:
            check_transition(current["status"], target)
        except RuleViolation as error:
            raise DomainError(409, error.reason) from None
        updated = await self._write_change(
            current,
            {"$set": {"status": target.value, f"status_at.{target.value}": now_utc()}},
            ["status"],
        )
        return updated, current["status"]

    async def put_form(self, event_id: str, command: FormIn) -> Document:
        """A new version of the event's registration form; answers keep the version they used."""
        current = await self.get_event(event_id, include_drafts=True)
        old = current.get("form") or {"version": 0, "questions": []}
        form = {
            "version": int(old["version"]) + 1,
            "questions": [q.model_dump(mode="json") for q in command.questions],
            "created_at": now_utc(),
        }
        return await self._write_change(
            current, {"$set": {"form": form}, "$push": {"form_history": old}}, ["form"]
        )

    async def _write_change(
        self, current: Document, update: Document, changes: list[str]
    ) -> Document:
        """One optimistic write of an event with its EventChanged; 409 if it changed meanwhile."""
        after = dict(current)
        for name, value in update.get("$set", {}).items():
            if "." not in name:
                after[name] = value
        staged = self._staging.stage(EventChanged(**event_snapshot(after), changes=changes))
        update = {**update, "$inc": {"version": 1}}
        updated = await self._repo.update(
            self._repo.events,
            {"_id": current["_id"], "version": current.get("version", 1)},
            update,
            staged,
        )
        if updated is None:
            raise DomainError(409, "the event changed meanwhile; reload it and try again")
        await self._staging.flush(self._repo.events, current["_id"], staged)
        return updated


def _places_renumbered(current: Document, changed: Document) -> bool:
    """Whether held places may now lie outside 1..capacity (or a quota), or be unnumbered."""
    if "capacity" in changed and changed["capacity"] is not None:
        old = current.get("capacity")
        if old is None or changed["capacity"] < old:
            return True
    if "quotas" in changed:
        before: dict[str, int] = current.get("quotas") or {}
        after: dict[str, int] = changed["quotas"] or {}
        return any(c not in before or after[c] < before[c] for c in after)
    return False


def _platform(link: str | None) -> str | None:
    return recognise_online_platform(link) if link else None


def _programme_changed(programme: Document, changes: list[str]) -> ProgrammeChanged:
    return ProgrammeChanged(
        programme_id=programme["_id"],
        title=programme["title"],
        tracks=[{k: str(v) for k, v in track.items()} for track in programme.get("tracks", [])],
        changes=changes,
    )
