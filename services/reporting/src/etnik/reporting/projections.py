"""Read models built from events: pseudonymous ids and categories only, no personal data.

Each fact is one document keyed by its aggregate id (a registration, a programme event, a
message), and every write is commutative and idempotent: statuses only move up a rank
(`$max`), dates are kept by `$min`/`$max` or by event time, so replays, duplicates and
events arriving out of order all end in the same state.

Projections live in generations (`<name>_g<N>`): the live consumer writes to the active
generation and, during a rebuild, also to the one being built; the read side follows the
active one. The `generations` collection holds which is which and the rebuild's progress.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pymongo import ASCENDING, UpdateMany, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from etnik.common.events import CloudEvent, EventReader
from etnik.common.mongo import Document
from etnik.reporting import domain
from etnik.reporting.experts import EXPERT_EVENTS, expert_updates
from etnik.reporting.feedback import answer_document
from etnik.reporting.inbound import (
    AttendanceRecorded,
    EventChanged,
    EventCreated,
    MaterialArchived,
    MaterialDownloaded,
    MaterialPublished,
    MaterialViewed,
    MechanismRecorded,
    MechanismRetired,
    MediaMentionRecorded,
    NotificationFailed,
    NotificationSent,
    OrganisationRegistered,
    PartnershipChanged,
    PartnershipEnded,
    PartnershipFormed,
    PersonErased,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationWaitlisted,
    StrategyUpdated,
    SurveyAnswered,
)
from etnik.reporting.internships import INTERNSHIP_EVENTS, internship_updates
from etnik.reporting.mechanisms import mechanism_updates
from etnik.reporting.video import view_fact

# What reporting projects, each as its own reader of the producer's contract (inbound.py).
PROJECTED_EVENTS: tuple[type[EventReader], ...] = (
    *INTERNSHIP_EVENTS,
    EventCreated,
    EventChanged,
    RegistrationConfirmed,
    RegistrationWaitlisted,
    RegistrationCancelled,
    AttendanceRecorded,
    PersonErased,
    NotificationSent,
    NotificationFailed,
    MaterialPublished,
    MaterialArchived,
    MaterialDownloaded,
    MaterialViewed,
    StrategyUpdated,
    MediaMentionRecorded,
    SurveyAnswered,
    PartnershipFormed,
    PartnershipChanged,
    PartnershipEnded,
    *EXPERT_EVENTS,
    MechanismRecorded,
    MechanismRetired,
    OrganisationRegistered,
)
# The reader of each projected type: what the consumer, the rebuild and the view parse with.
READERS: dict[str, type[EventReader]] = {reader.event_type: reader for reader in PROJECTED_EVENTS}
STATE_ID = "state"


class Write(NamedTuple):
    """One projection write: run against MongoDB live, or folded in memory by a rebuild.

    A named tuple, not a dataclass: a replay makes one or two per event, and it builds faster.
    """

    filter: Document
    update: Document
    upsert: bool = False
    many: bool = False

    def operation(self) -> UpdateOne | UpdateMany:
        """As a PyMongo bulk operation."""
        if self.many:
            return UpdateMany(self.filter, self.update, upsert=self.upsert)
        return UpdateOne(self.filter, self.update, upsert=self.upsert)


# Below every real event time: a new document's snapshot is older than any event's.
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


def _event_snapshot_writes(envelope: CloudEvent, event: EventCreated | EventChanged) -> list[Write]:
    """Create the event's document if needed, then keep the newest snapshot by event time."""
    if isinstance(event, EventCreated):
        # The plan is what the event was created with; later changes are what happened.
        first = Write(
            {"_id": event.event_id},
            {
                "$set": {"planned_starts_at": event.starts_at, "planned_ends_at": event.ends_at},
                "$setOnInsert": {"snapshot_at": BEGINNING},
            },
            upsert=True,
        )
    else:
        # A change seen before its creation: the plan stays unknown until that arrives.
        first = Write(
            {"_id": event.event_id},
            {
                "$setOnInsert": {
                    "planned_starts_at": None,
                    "planned_ends_at": None,
                    "snapshot_at": BEGINNING,
                }
            },
            upsert=True,
        )
    newest = Write(
        {"_id": event.event_id, "snapshot_at": {"$lte": envelope.time}},
        {
            "$set": {
                "title": event.title,
                "track": event.track,
                "format": event.format,
                "starts_at": event.starts_at,
                "ends_at": event.ends_at,
                "federal_district": event.federal_district,
                "region_code": event.region_code,
                "status": event.status,
                "demo": event.demo,
                "snapshot_at": envelope.time,
            }
        },
    )
    return [first, newest]


def _partnership_writes(
    event: PartnershipFormed | PartnershipChanged | PartnershipEnded,
) -> list[Write]:
    """Create the partnership's document if needed, then keep its newest version's state."""
    first = Write({"_id": event.partnership_id}, {"$setOnInsert": {"version": 0}}, upsert=True)
    newest = Write(
        {"_id": event.partnership_id, "version": {"$lte": event.version}},
        {
            "$set": {
                "subject": event.subject,
                "parties": [party.model_dump(mode="json") for party in event.parties],
                "formed_on": event.formed_on.isoformat(),
                "federal_district": event.federal_district,
                "event_id": event.event_id,
                "status": event.status,
                "ended_on": event.ended_on.isoformat() if event.ended_on else None,
                "version": event.version,
            }
        },
    )
    return [first, newest]


def _notification_write(message_id: str, kind: str, outcome: str, at: datetime) -> Write:
    return Write(
        {"_id": message_id},
        {
            "$set": {"kind": kind, f"{outcome}_at": at},
            "$max": {"rank": domain.NOTIFICATION_RANKS[outcome]},
        },
        upsert=True,
    )


def _content_write(envelope: CloudEvent, event: EventReader) -> tuple[str, Write] | None:
    """Materials, downloads, strategies and media mentions: facts without personal data."""
    if isinstance(event, MaterialPublished):
        # Each approved version publishes again: the first publication is the one counted.
        return "materials", Write(
            {"_id": event.material_id},
            {
                "$set": {
                    "kind": event.kind,
                    "title": event.title,
                    "track": event.track,
                    "federal_district": event.federal_district,
                    "event_id": event.event_id,
                },
                "$min": {"first_published_at": event.published_at},
                "$max": {"version": event.version},
            },
            upsert=True,
        )
    if isinstance(event, MaterialArchived):
        return "materials", Write(
            {"_id": event.material_id},
            {"$set": {"kind": event.kind}, "$max": {"archived_at": event.archived_at}},
            upsert=True,
        )
    if isinstance(event, MaterialDownloaded):
        # One document per download, keyed by the event: a repeat delivery changes nothing.
        return "downloads", Write(
            {"_id": envelope.id},
            {
                "$setOnInsert": {
                    "material_id": event.material_id,
                    "kind": event.kind,
                    "reader": event.reader,
                    "partial": event.partial,
                    "downloaded_at": event.downloaded_at,
                }
            },
            upsert=True,
        )
    if isinstance(event, MaterialViewed):
        # One document per counted view, keyed by the event: a repeat delivery changes nothing.
        view = view_fact(
            material_id=event.material_id,
            title=event.title,
            viewer=event.viewer,
            viewer_kind=event.viewer_kind,
            viewed_at=event.viewed_at,
        )
        return "video_views", Write({"_id": envelope.id}, {"$setOnInsert": view}, upsert=True)
    if isinstance(event, StrategyUpdated):
        return "strategies", Write(
            {"_id": event.strategy_id},
            {
                "$set": {"organisation_id": event.organisation_id},
                "$min": {"first_prepared_at": event.updated_at},
                "$max": {"version": event.version, "updated_at": event.updated_at},
            },
            upsert=True,
        )
    if isinstance(event, MediaMentionRecorded):
        return "mentions", Write(
            {"_id": event.mention_id},
            {
                "$set": {
                    "url": event.url,
                    "outlet": event.outlet,
                    "title": event.title,
                    "type": event.type,
                    "published_on": event.published_on.isoformat(),
                    "audience_reach": event.audience_reach,
                    "event_ids": event.event_ids,
                }
            },
            upsert=True,
        )
    return None


class ProjectionWriter:
    """Turns events into projection writes: the one definition of what each event changes."""

    def __init__(self, pseudonym_key: bytes) -> None:
        self._key = pseudonym_key

    def writes_for(self, envelope: CloudEvent, event: EventReader) -> list[tuple[str, Write]]:
        """The writes one event causes, each commutative and idempotent.

        No filter uses $or or a missing field: FerretDB answers those by scanning the whole
        collection, while an _id lookup stays cheap however large the projection grows.
        """
        if isinstance(event, EventCreated | EventChanged):
            return [("events", write) for write in _event_snapshot_writes(envelope, event)]
        if isinstance(event, RegistrationConfirmed | RegistrationWaitlisted):
            status = "confirmed" if isinstance(event, RegistrationConfirmed) else "waitlisted"
            dates = {"$min": {"registered_at": event.registered_at}}
            return [("registrations", self._registration_write(event, status, dates))]
        if isinstance(event, RegistrationCancelled):
            dates = {"$min": {"cancelled_at": event.cancelled_at}}
            return [("registrations", self._registration_write(event, "cancelled", dates))]
        if isinstance(event, AttendanceRecorded):
            return [("registrations", self._attendance_write(event))]
        if isinstance(event, PersonErased):
            # Counts keep the pseudonymous facts; the mark tells that the person left.
            erased = Write(
                {"person_ref": domain.pseudonym(self._key, event.person_id)},
                {"$set": {"person_erased": True}},
                many=True,
            )
            return [("registrations", erased)]
        if isinstance(event, PartnershipFormed | PartnershipChanged | PartnershipEnded):
            return [("partnerships", write) for write in _partnership_writes(event)]
        if isinstance(event, EXPERT_EVENTS):
            # The roster's experts and their assignments (experts.py): ids, roles, statuses.
            return [
                (name, Write(where, update, upsert=upsert))
                for name, where, update, upsert in expert_updates(event)
            ]
        if isinstance(event, NotificationSent):
            return [
                (
                    "notifications",
                    _notification_write(event.message_id, event.kind, "sent", event.sent_at),
                )
            ]
        if isinstance(event, NotificationFailed):
            return [
                (
                    "notifications",
                    _notification_write(event.message_id, event.kind, "failed", event.failed_at),
                )
            ]
        if isinstance(event, SurveyAnswered):
            # One fact per answer, keyed by its random id: a repeat delivery changes nothing.
            answer = answer_document(
                event_id=event.event_id,
                track=event.track,
                survey_version=event.survey_version,
                answered_on=event.answered_on.isoformat(),
                answers=[item.model_dump(mode="json") for item in event.answers],
            )
            return [
                (
                    "survey_answers",
                    Write({"_id": event.answer_id}, {"$setOnInsert": answer}, upsert=True),
                )
            ]
        if isinstance(event, INTERNSHIP_EVENTS):
            return [
                (name, Write(where, update, upsert=upsert))
                for name, where, update, upsert in internship_updates(event)
            ]
        content = _content_write(envelope, event)
        # Strategy versions' mechanisms, the catalogue, organisations' districts (mechanisms.py).
        chosen = [
            (name, Write(where, update, upsert=upsert))
            for name, where, update, upsert in mechanism_updates(event)
        ]
        return [content, *chosen] if content is not None else chosen

    def _registration_write(
        self,
        event: RegistrationConfirmed | RegistrationWaitlisted | RegistrationCancelled,
        status: str,
        dates: Document,
    ) -> Write:
        return Write(
            {"_id": event.registration_id},
            {
                "$set": {
                    "event_id": event.event_id,
                    "person_ref": domain.pseudonym(self._key, event.person_id),
                    "category": event.category,
                    "organisation_id": event.organisation_id,
                    "region_code": event.region_code,
                    "federal_district": event.federal_district,
                },
                "$max": {"rank": domain.REGISTRATION_RANKS[status]},
                **dates,
            },
            upsert=True,
        )

    def _attendance_write(self, event: AttendanceRecorded) -> Write:
        # The latest record wins through $max on a sortable mark; an older one changes nothing.
        return Write(
            {"_id": event.registration_id},
            {
                "$set": {
                    "event_id": event.event_id,
                    "person_ref": domain.pseudonym(self._key, event.person_id),
                },
                "$max": {"attendance": domain.attendance_mark(event.recorded_at, event.attended)},
            },
            upsert=True,
        )


class ProjectionStore:
    """The projection collections of one generation."""

    def __init__(self, db: AsyncDatabase[Document], generation: int, pseudonym_key: bytes) -> None:
        self.generation = generation
        self.writer = ProjectionWriter(pseudonym_key)
        self.registrations = db[f"registrations_g{generation}"]
        self.events = db[f"events_g{generation}"]
        self.notifications = db[f"notifications_g{generation}"]
        self.materials = db[f"materials_g{generation}"]
        self.downloads = db[f"downloads_g{generation}"]
        self.strategies = db[f"strategies_g{generation}"]
        self.mentions = db[f"mentions_g{generation}"]
        self.survey_answers = db[f"survey_answers_g{generation}"]
        self.partnerships = db[f"partnerships_g{generation}"]
        self.internships = db[f"internships_g{generation}"]
        self.internship_applications = db[f"internship_applications_g{generation}"]
        self.internship_outcomes = db[f"internship_outcomes_g{generation}"]
        self.experts = db[f"experts_g{generation}"]
        self.video_views = db[f"video_views_g{generation}"]
        self.strategy_versions = db[f"strategy_versions_g{generation}"]
        self.mechanisms = db[f"mechanisms_g{generation}"]
        self.organisations = db[f"organisations_g{generation}"]
        self.positions = db[f"positions_g{generation}"]

    @property
    def collections(self) -> list[AsyncCollection[Document]]:
        """Every collection of this generation."""
        return [*self._fact_collections().values(), self.positions]

    def _fact_collections(self) -> dict[str, AsyncCollection[Document]]:
        return {
            "registrations": self.registrations,
            "events": self.events,
            "notifications": self.notifications,
            "materials": self.materials,
            "downloads": self.downloads,
            "strategies": self.strategies,
            "mentions": self.mentions,
            "survey_answers": self.survey_answers,
            "partnerships": self.partnerships,
            "internships": self.internships,
            "internship_applications": self.internship_applications,
            "internship_outcomes": self.internship_outcomes,
            "experts": self.experts,
            "video_views": self.video_views,
            "strategy_versions": self.strategy_versions,
            "mechanisms": self.mechanisms,
            "organisations": self.organisations,
        }

    async def ensure_indexes(self) -> None:
        """Indexes of the filters the dashboard and the report use."""
        await self.registrations.create_index([("registered_at", ASCENDING)])
        await self.registrations.create_index("person_ref")  # an erasure's registrations

    async def drop(self) -> None:
        """Remove this generation."""
        for collection in self.collections:
            await collection.drop()

    # --- Writes ------------------------------------------------------------------------

    async def apply(self, envelope: CloudEvent, event: EventReader) -> None:
        """Apply one event to this generation's facts."""
        for name, write in self.writes_for(envelope, event):
            await self._collection(name).bulk_write([write.operation()])

    async def apply_many(self, events: Iterable[tuple[CloudEvent, EventReader]]) -> None:
        """Apply a batch of events with one bulk write per collection (the rebuild's path)."""
        by_collection: dict[str, list[UpdateOne | UpdateMany]] = {}
        for envelope, event in events:
            for name, write in self.writes_for(envelope, event):
                by_collection.setdefault(name, []).append(write.operation())
        # Writes to one collection keep their order; collections do not depend on each other.
        for name, writes in by_collection.items():
            await self._collection(name).bulk_write(writes, ordered=True)

    async def load(self, documents: Mapping[str, Iterable[Document]], chunk: int = 2000) -> None:
        """Insert whole documents folded in memory into this generation's empty collections.

        Taken a chunk at a time: a fold's tables decode their rows as they are read.
        """
        for name, rows in documents.items():
            remaining = iter(rows)
            while batch := list(itertools.islice(remaining, chunk)):
                await self._collection(name).insert_many(batch, ordered=False)

    def _collection(self, name: str) -> AsyncCollection[Document]:
        return self._fact_collections()[name]

    def writes_for(self, envelope: CloudEvent, event: EventReader) -> list[tuple[str, Write]]:
        """The writes one event causes (see ProjectionWriter)."""
        return self.writer.writes_for(envelope, event)

    async def record_positions(self, offsets: dict[tuple[str, int], int]) -> None:
        """Remember the highest offset applied per topic-partition, and when."""
        now = datetime.now(UTC)
        for (topic, partition), offset in offsets.items():
            await self.positions.update_one(
                {"_id": f"{topic}:{partition}"},
                {
                    "$set": {"topic": topic, "partition": partition},
                    "$max": {"offset": offset, "applied_at": now},
                },
                upsert=True,
            )

    # --- Reads -------------------------------------------------------------------------

    async def positions_by_partition(self) -> dict[str, Document]:
        """The last applied offset and time per "topic:partition"."""
        return {str(row["_id"]): row async for row in self.positions.find({})}

    async def offsets(self) -> dict[str, int]:
        """The last applied offset per "topic:partition"."""
        return {
            key: int(row["offset"]) for key, row in (await self.positions_by_partition()).items()
        }


class Generations:
    """Which projection generation the reads use and which ones the consumer writes."""

    def __init__(
        self, db: AsyncDatabase[Document], pseudonym_key: bytes, *, cache_s: float = 1.0
    ) -> None:
        self._db = db
        self.state = db["generations"]
        self._key = pseudonym_key
        self.cache_s = cache_s
        self._cached: tuple[float, Document] | None = None

    def store(self, generation: int) -> ProjectionStore:
        """The collections of one generation."""
        return ProjectionStore(self._db, generation, self._key)

    async def ensure_initialised(self) -> None:
        """Start with generation 1 the first time, with its indexes."""
        with contextlib.suppress(DuplicateKeyError):
            await self.state.insert_one(
                {"_id": STATE_ID, "active": 1, "latest": 1, "building": None}
            )
        await self.store((await self.read_state(fresh=True))["active"]).ensure_indexes()

    async def read_state(self, *, fresh: bool = False) -> Document:
        """The generations document; cached briefly, since every event needs it."""
        now = time.monotonic()
        if not fresh and self._cached is not None and now - self._cached[0] < self.cache_s:
            return self._cached[1]
        state = await self.state.find_one({"_id": STATE_ID}) or {"active": 1, "building": None}
        self._cached = (now, state)
        return state

    async def active(self) -> ProjectionStore:
        """The generation reads use."""
        return self.store(int((await self.read_state())["active"]))

    async def writable(self) -> list[ProjectionStore]:
        """The active generation and, while a rebuild runs, the one being built."""
        state = await self.read_state()
        numbers = [int(state["active"])]
        if state.get("building"):
            numbers.append(int(state["building"]))
        return [self.store(number) for number in numbers]


class Projector:
    """Applies consumed events to every generation being written."""

    def __init__(self, generations: Generations) -> None:
        self._generations = generations

    async def apply(self, envelope: CloudEvent, event: EventReader) -> None:
        """Apply one event wherever it is needed."""
        for store in await self._generations.writable():
            await store.apply(envelope, event)

    async def record_position(self, origin: dict[str, Any], outcome: str) -> None:
        """Note how far a partition has been consumed, whatever became of the message."""
        offsets = {(str(origin["topic"]), int(origin["partition"])): int(origin["offset"])}
        for store in await self._generations.writable():
            await store.record_positions(offsets)
