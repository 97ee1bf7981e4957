"""Reporting reads what it counts through its own readers (inbound.py): a newer producer's
category, format, role or sector it has never seen, and fields it does not know, are still
counted, live and in a rebuild alike; data without a field reporting reads is passed over and
counted as skipped (a rebuild goes on), or parked on the dead-letter topic by the live
consumer, with the field named."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from aiokafka import TopicPartition
from pymongo import AsyncMongoClient

from etnik.common.contracts.registration import (
    EventCreated,
    EventFormat,
    ExpertAssignment,
    ExpertChanged,
    ParticipantCategory,
    PartnershipFormed,
    PartnershipParty,
    RegistrationConfirmed,
)
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.reporting import domain, inbound
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import ProjectionStore
from etnik.reporting.rebuild import Rebuilder, RebuildProgress, projected_events
from etnik.reporting.service import report_from_fold

from ..folding import PSEUDONYM_KEY
from .conftest import LiveConsumer

T0 = datetime(2026, 3, 12, 11, tzinfo=UTC)
MARCH = domain.Period(date(2026, 3, 1), date(2026, 3, 31))


class Record(NamedTuple):
    """What the rebuild and the view take of a Kafka record."""

    value: bytes | None
    offset: int


def body(event: IntegrationEvent, **data: Any) -> bytes:
    """The event as its producer publishes it, its data changed or grown by `data`; a value of
    None removes the field, as an older or broken producer would leave it out."""
    envelope = CloudEvent.wrap(event, source="/etnik/test", time=T0)
    grown = {**envelope.data, **data}
    message = envelope.model_dump(mode="json") | {
        "data": {name: value for name, value in grown.items() if value is not None}
    }
    return json.dumps(message).encode()


# A registration as registration publishes it (r2: the same, from a broken producer).
REGISTRATION: dict[str, Any] = {
    "event_id": "e1",
    "person_id": "person-1",
    "category": ParticipantCategory.NGO_LEADER,
    "federal_district": "ДФО",
}


# A newer producer: a format, a category, a role, a travel status and a sector this build has
# never seen, and fields it does not know, at every level.
NEWER = [
    body(
        EventCreated(
            event_id="e1",
            title="Фестиваль",
            track="festivals",
            format=EventFormat.IN_PERSON,
            timezone="Asia/Yakutsk",
            starts_at=T0,
            ends_at=T0 + timedelta(hours=6),
            federal_district="ДФО",
            status="completed",
        ),
        format="festival",
        livestream_url="https://example.org/live",
    ),
    body(
        RegistrationConfirmed(
            registration_id="r1", **REGISTRATION, registered_at=T0 - timedelta(days=3)
        ),
        category="youth_leader",
        consent_scope="extended",
    ),
    body(
        ExpertChanged(
            expert_id="x1",
            person_id="person-9",
            status="active",
            assignments=[
                ExpertAssignment(
                    assignment_id="a1", event_id="e1", role="speaker", travel_status="arrived"
                )
            ],
            version=2,
            changes=["assignments"],
        ),
        assignments=[
            {
                "assignment_id": "a1",
                "event_id": "e1",
                "role": "mentor",
                "travel_status": "visa_pending",
                "fee": 100,
            }
        ],
    ),
    body(
        PartnershipFormed(
            partnership_id="p1",
            subject="Соглашение",
            parties=[
                PartnershipParty(sector="ngo", name="АНО «Алгыс»"),
                PartnershipParty(sector="media", name="Газета"),
            ],
            formed_on=date(2026, 3, 10),
            federal_district="ДФО",
            status="active",
            version=1,
        ),
        parties=[
            {"sector": "ngo", "name": "АНО «Алгыс»", "inn": "1435000000"},
            {"sector": "diaspora", "name": "Землячество"},
        ],
        status="suspended",
    ),
]
# Data without a field reporting reads: the registration names no person.
BROKEN = body(
    RegistrationConfirmed(registration_id="r2", **REGISTRATION, registered_at=T0), person_id=None
)


def assert_newer_producer_counted(fold: ProjectionFold) -> None:
    report = report_from_fold(MARCH, "", fold)
    [event] = report["events"]
    assert (event["format"], event["held"]) == ("festival", True)
    assert report["results"]["participants_by_category"] == {"youth_leader": 1}
    assert report["results"]["attendance"]["confirmed"] == 1
    assert report["experts"]["experts"] == 1
    assert report["experts"]["assignments"] == 1
    assert report["partnerships"]["by_sector_pair"] == {"ngo–diaspora": 1}
    assert report["partnerships"]["rows"][0]["status"] == "suspended"


def unconnected_store() -> ProjectionStore:
    """A generation whose collections are never touched: a rebuild that folds only computes
    its writes (the client does not connect until asked)."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        "mongodb://127.0.0.1:9", connect=False
    )
    return ProjectionStore(client["unused"], 2, PSEUDONYM_KEY)


async def rebuild_batch(*bodies: bytes | None) -> tuple[ProjectionFold, RebuildProgress, int]:
    """One batch of a partition through the rebuild's replay into a fold; where it resumes."""
    fold, progress = ProjectionFold(), RebuildProgress(generation=2, replaces=1)
    partition = TopicPartition("t", 0)
    positions: dict[TopicPartition, int] = {}
    batches = {partition: [Record(value, offset) for offset, value in enumerate(bodies)]}
    await Rebuilder._apply_batch(unconnected_store(), fold, progress, batches, positions)
    return fold, progress, positions[partition]


async def test_live_a_newer_producers_values_and_fields_are_counted(live: LiveConsumer) -> None:
    assert await live.take(*NEWER) == ["handled"] * 4
    assert live.publisher.parked == []
    assert_newer_producer_counted(live.projections.fold)


async def test_a_rebuild_counts_a_newer_producers_values_and_fields(live: LiveConsumer) -> None:
    fold, progress, resumes_at = await rebuild_batch(*NEWER)
    assert (progress.applied, progress.skipped, resumes_at) == (4, 0, 4)
    assert_newer_producer_counted(fold)
    # The same facts as the live consumer's.
    await live.take(*NEWER)
    assert {name: list(rows) for name, rows in fold.documents().items()} == {
        name: list(rows) for name, rows in live.projections.fold.documents().items()
    }


async def test_a_rebuild_skips_and_counts_a_record_without_a_field_it_reads() -> None:
    garbage = b"not json"
    unknown = json.dumps(
        json.loads(NEWER[0]) | {"type": "ru.etnik.something.new", "data": {"x": 1}}
    ).encode()
    fold, progress, resumes_at = await rebuild_batch(NEWER[1], BROKEN, garbage, unknown, None)
    assert (progress.applied, progress.skipped) == (1, 4)
    assert resumes_at == 5  # past what it skipped: a rebuild does not stop at it
    assert [row["_id"] for row in fold.collection("registrations")] == ["r1"]


def test_the_reader_of_each_type_is_what_the_rebuild_and_the_view_parse_with() -> None:
    [(envelope, event)], skipped = projected_events([Record(NEWER[1], 0), Record(BROKEN, 1)])
    assert skipped == 1
    assert isinstance(event, inbound.RegistrationConfirmed)
    assert (envelope.type, event.category) == (RegistrationConfirmed.event_type, "youth_leader")


async def test_live_a_record_without_a_field_it_reads_is_parked_with_the_field_named(
    live: LiveConsumer,
) -> None:
    assert await live.take(BROKEN, NEWER[1]) == ["dead_lettered", "handled"]
    [(topic, parked, headers)] = live.publisher.parked
    assert (topic, parked) == ("etnik.reporting.deadletter.v1", BROKEN)
    assert "person_id" in headers["x-dlq-reason"]
    assert [row["_id"] for row in live.projections.fold.collection("registrations")] == ["r1"]
    # Its position is kept all the same: the projections know how far the partition is read.
    assert live.projections.outcomes == ["dead_lettered", "handled"]
