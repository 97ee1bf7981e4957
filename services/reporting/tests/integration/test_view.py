"""The report view on the real Kafka: it counts at exact offsets, follows new events and
topics, says how far it has come while it catches up, and rides out a Kafka outage."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from etnik.common.contracts.registration import ParticipantCategory, RegistrationConfirmed
from etnik.common.events import CloudEvent, EventReader
from etnik.devstack import Stack
from etnik.reporting import counts
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import ProjectionWriter, Write
from etnik.reporting.view import ReportView, ViewBehind, ViewUnavailable

from .streams import T0, publish, registrations, wait_for_services


def confirmed_per_event(fold: ProjectionFold) -> dict[str, int]:
    rows = counts.breakdown(fold.tables["registrations"], [], "event")
    return {row["key"]: row["confirmed"] for row in rows}


@asynccontextmanager
async def running(view: ReportView) -> AsyncIterator[ReportView]:
    task = asyncio.create_task(view.run())
    try:
        yield view
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def new_view(infra: Stack, topics: list[str], **options: float) -> ReportView:
    return ReportView(
        ProjectionWriter(b"test-pseudonym-key-0123"),
        bootstrap_servers=infra.kafka_bootstrap,
        topics=topics,
        **options,  # type: ignore[arg-type]
    )


async def test_the_view_counts_at_exact_offsets_and_follows_new_events_and_topics(
    infra: Stack,
) -> None:
    first = f"test.reporting.view.{uuid.uuid4().hex[:8]}"
    later = f"test.reporting.view.later.{uuid.uuid4().hex[:8]}"
    await publish(infra, first, registrations(9))  # 12 events and one garbage message
    # Partitions are listed rarely: a report must look for new topics itself.
    async with running(new_view(infra, [first, later], refresh_partitions_s=600)) as view:
        counted, offsets = await view.report(confirmed_per_event, timeout_s=60)
        assert counted == {"e0": 0, "e1": 3, "e2": 3}  # every registration of e0 is cancelled
        assert sum(offsets.values()) == 13
        assert {topic for topic, _ in offsets} == {first}

        late = RegistrationConfirmed(
            registration_id="late-1",
            event_id="e-late",
            person_id="person-late",
            category=ParticipantCategory.MEDIA,
            registered_at=T0 + timedelta(days=1),
        )
        await publish(infra, later, [late])
        counted, offsets = await view.report(confirmed_per_event, timeout_s=60)
        assert counted["e-late"] == 1
        assert sum(offset for (topic, _), offset in offsets.items() if topic == later) == 2
        state = view.state()
        assert (state.status, state.applied, state.skipped) == ("running", 13, 2)


class SlowWriter(ProjectionWriter):
    """Takes 5 ms an event, so that catching up takes a while."""

    def writes_for(self, envelope: CloudEvent, event: EventReader) -> list[tuple[str, Write]]:
        time.sleep(0.005)
        return super().writes_for(envelope, event)


async def test_a_view_still_catching_up_says_how_far_it_has_come(infra: Stack) -> None:
    topic = f"test.reporting.view.slow.{uuid.uuid4().hex[:8]}"
    await publish(infra, topic, registrations(300))  # 400 events and one garbage message
    view = ReportView(
        SlowWriter(b"test-pseudonym-key-0123"),
        bootstrap_servers=infra.kafka_bootstrap,
        topics=[topic],
        batch_size=1,  # the loop is held 5 ms at a time, so the report's own requests go on
    )
    async with running(view):
        for _ in range(300):  # reading, and 2 s at least from having read everything
            if view.state().status == "running":
                break
            await asyncio.sleep(0.05)
        with pytest.raises(ViewBehind) as behind:
            await view.report(confirmed_per_event, timeout_s=0.3)
        assert behind.value.total == 401
        assert 0 <= behind.value.consumed < 401
        assert "of 401 events read" in str(behind.value)
        counted, offsets = await view.report(confirmed_per_event, timeout_s=120)
        assert sum(counted.values()) == 200
        assert sum(offsets.values()) == 401


async def test_with_kafka_away_the_view_keeps_what_it_holds_and_resumes(infra: Stack) -> None:
    topic = f"test.reporting.view.outage.{uuid.uuid4().hex[:8]}"
    await publish(infra, topic, registrations(30))
    async with running(new_view(infra, [topic], retry_s=0.5, request_timeout_s=3.0)) as view:
        counted, _ = await view.report(confirmed_per_event, timeout_s=60)
        assert sum(counted.values()) == 20
        await asyncio.to_thread(infra.stop_kafka)
        try:
            # The live report is what the view holds; a report that must be current fails.
            counted, offsets = await view.report(confirmed_per_event, timeout_s=5, current=False)
            assert (sum(counted.values()), sum(offsets.values())) == (20, 41)
            with pytest.raises(ViewUnavailable):  # after waiting up to 1 s for Kafka
                await view.report(confirmed_per_event, timeout_s=1)
            for _ in range(100):
                if view.state().status == "paused":
                    break
                await asyncio.sleep(0.2)
            assert view.state().status == "paused"
            assert view.state().reason
        finally:
            await asyncio.to_thread(infra.start_kafka)
            await asyncio.to_thread(wait_for_services, infra)
        late = RegistrationConfirmed(
            registration_id="after-outage",
            event_id="e-after",
            person_id="person-after",
            category=ParticipantCategory.EXPERT,
            registered_at=T0,
        )
        await publish(infra, topic, [late], create=False)
        counted, offsets = await view.report(confirmed_per_event, timeout_s=120)
        assert counted["e-after"] == 1
        assert sum(counted.values()) == 21
        assert sum(offsets.values()) == 43
        assert view.state().status == "running"
