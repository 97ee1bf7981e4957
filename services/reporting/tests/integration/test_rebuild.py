"""A rebuild on the real Kafka and FerretDB: it replays, pauses while Kafka is away, resumes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import MongoClient

from etnik.common.contracts.registration import ParticipantCategory, RegistrationConfirmed
from etnik.devstack import Stack
from etnik.reporting import counts
from etnik.reporting.projections import Generations, ProjectionStore
from etnik.reporting.rebuild import RebuildBusy, Rebuilder, RebuildProgress

from .streams import T0, publish, registrations, wait_for_services


@pytest.fixture
async def generations(
    new_generations: Callable[[float], AbstractAsyncContextManager[Generations]],
) -> AsyncIterator[Generations]:
    """Fresh generations as integration/conftest.py gives them, their state cached 50 ms."""
    async with new_generations(0.05) as generations:
        yield generations


async def confirmed_counts(store: ProjectionStore) -> list[dict[str, Any]]:
    rows = await store.registrations.find({"rank": {"$exists": True}}).to_list()
    return counts.breakdown(rows, [], "event")


class GatedGenerations(Generations):
    """Holds the rebuild before it loads what it folded, until the test opens the gate."""

    def __init__(self, inner: Generations, gate: asyncio.Event) -> None:
        super().__init__(inner._db, inner._key, cache_s=inner.cache_s)
        self._gate = gate

    def store(self, generation: int) -> ProjectionStore:
        store = super().store(generation)
        gate = self._gate
        load = store.load

        async def gated(documents: dict[str, list[dict[str, Any]]]) -> None:
            await gate.wait()
            await load(documents)

        store.load = gated  # type: ignore[method-assign]
        return store


async def test_a_rebuild_replays_into_a_new_generation_and_switches(
    infra: Stack, generations: Generations
) -> None:
    topic = f"test.reporting.rebuild.{uuid.uuid4().hex[:8]}"
    await publish(infra, topic, registrations(30))
    rebuilder = Rebuilder(generations, bootstrap_servers=infra.kafka_bootstrap, topics=[topic])
    progress = await rebuilder.run(await rebuilder.claim())
    assert progress.status == "completed"
    assert (progress.applied, progress.skipped) == (40, 1)  # the garbage is skipped
    assert sum(p.end for p in progress.partitions) == 41
    assert all(p.consumed == p.end for p in progress.partitions)
    active = await generations.active()
    assert active.generation == 2
    rows = await confirmed_counts(active)
    assert [(row["key"], row["confirmed"], row["cancelled"]) for row in rows] == [
        ("e0", 0, 10),
        ("e1", 10, 0),
        ("e2", 10, 0),
    ]
    # A rebuild whose heartbeat is fresh holds its claim.
    await generations.state.update_one({"_id": "state"}, {"$set": {"rebuild.status": "running"}})
    with pytest.raises(RebuildBusy, match="under way"):
        await rebuilder.claim()
    assert (await rebuilder.progress() or {})["status"] == "running"
    # One whose replica stopped beating is shown as interrupted, and may be claimed again.
    stale = datetime.now(UTC) - timedelta(minutes=5)
    await generations.state.update_one({"_id": "state"}, {"$set": {"rebuild.heartbeat_at": stale}})
    shown = await rebuilder.progress() or {}
    assert (shown["status"], shown["reason"]) == (
        "interrupted",
        "the replica running it stopped; start the rebuild again",
    )
    assert (await rebuilder.claim()).generation == 3


async def test_kafka_away_during_a_rebuild_pauses_it_and_it_resumes(
    infra: Stack, generations: Generations
) -> None:
    topic = f"test.reporting.pause.{uuid.uuid4().hex[:8]}"
    await publish(infra, topic, registrations(30))
    gate = asyncio.Event()
    rebuilder = Rebuilder(
        GatedGenerations(generations, gate),
        bootstrap_servers=infra.kafka_bootstrap,
        topics=[topic],
        retry_s=0.5,
        request_timeout_s=3.0,
    )
    claimed: RebuildProgress = await rebuilder.claim()
    running = asyncio.create_task(rebuilder.run(claimed))
    try:
        loading = await wait_for_status(rebuilder, {"running"}, within=60, phase="loading")
        assert loading["applied"] == 40  # the whole history is folded, not yet stored
        await asyncio.to_thread(infra.stop_kafka)
        gate.set()
        paused = await wait_for_status(rebuilder, {"paused"}, within=60)
        assert paused["reason"]
        assert not running.done()
    finally:
        gate.set()
        await asyncio.to_thread(infra.start_kafka)
        await asyncio.to_thread(wait_for_services, infra)
    progress = await asyncio.wait_for(running, timeout=120)
    assert progress.status == "completed"
    assert progress.applied == 40
    rows = await confirmed_counts(await generations.active())
    assert sum(row["confirmed"] for row in rows) == 20
    assert sum(row["cancelled"] for row in rows) == 10


async def test_events_that_arrive_while_the_fold_is_stored_are_caught_up(
    infra: Stack, generations: Generations
) -> None:
    topic = f"test.reporting.catchup.{uuid.uuid4().hex[:8]}"
    await publish(infra, topic, registrations(9))
    gate = asyncio.Event()
    rebuilder = Rebuilder(
        GatedGenerations(generations, gate), bootstrap_servers=infra.kafka_bootstrap, topics=[topic]
    )
    running = asyncio.create_task(rebuilder.run(await rebuilder.claim()))
    await wait_for_status(rebuilder, {"running"}, within=60, phase="loading")
    later = [
        RegistrationConfirmed(
            registration_id=f"late-{number}",
            event_id="e-late",
            person_id=f"person-late-{number}",
            category=ParticipantCategory.MEDIA,
            registered_at=T0,
        )
        for number in range(4)
    ]
    await publish(infra, topic, later, create=False)
    gate.set()
    progress = await asyncio.wait_for(running, timeout=60)
    assert progress.phase == "catching_up"
    assert progress.applied == 12 + 4
    rows = {row["key"]: row for row in await confirmed_counts(await generations.active())}
    assert rows["e-late"]["confirmed"] == 4


def test_the_rebuild_command_replays_and_switches(infra: Stack) -> None:
    database = f"test_rebuild_cli_{uuid.uuid4().hex[:10]}"
    env = {**os.environ, **infra.infra_env(), "MONGODB_DATABASE": database}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "etnik.reporting.rebuild"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "generation 2 active" in result.stdout
        with MongoClient(infra.mongodb_url) as client:
            state = client[database]["generations"].find_one({"_id": "state"})
    finally:
        with MongoClient(infra.mongodb_url) as client:
            client.drop_database(database)
    assert state is not None
    assert (state["active"], state["building"]) == (2, None)
    assert state["rebuild"]["status"] == "completed"


async def wait_for_status(
    rebuilder: Rebuilder, wanted: set[str], within: float, phase: str | None = None
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        progress = await rebuilder.progress()
        if progress and progress["status"] in wanted and phase in (None, progress["phase"]):
            return progress
        await asyncio.sleep(0.2)
    pytest.fail(f"the rebuild never reached {wanted}")
