"""The erasure ledger on the real store: an erasure is recorded before it runs, a failure is
kept with its error and raised, repeated failures count as failed, the background pass runs
open erasures again until they are done, and the gauge follows."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.erasure import ERASURES, ErasureLedger, ErasureStatus
from etnik.devstack import Stack

Db = AsyncDatabase[dict[str, Any]]


@pytest.fixture
async def db(infra: Stack) -> AsyncIterator[Db]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    database = client[f"test_erasure_{uuid.uuid4().hex[:8]}"]
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


class Eraser:
    """Erases by remembering whom; fails while `broken`, seeing the record already there."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.broken = False
        self.erased: list[str] = []
        self.recorded_first: list[bool] = []

    async def __call__(self, person_id: str) -> None:
        self.recorded_first.append(await self.db[ERASURES].find_one({"_id": person_id}) is not None)
        if self.broken:
            raise RuntimeError("disk full")
        self.erased.append(person_id)


def gauge(registry: CollectorRegistry, status: str) -> float | None:
    return registry.get_sample_value("etnik_erasures", {"status": status})


async def test_a_failing_erasure_is_kept_counted_retried_and_completed(db: Db) -> None:
    eraser, registry = Eraser(db), CollectorRegistry()
    ledger = ErasureLedger(db, eraser, registry, failed_after=2, retry_after_s=0)
    await ledger.ensure_indexes()
    eraser.broken = True

    with pytest.raises(RuntimeError, match="disk full"):
        await ledger.erase("p1")

    assert eraser.recorded_first == [True], "recorded before it ran"
    record = await db[ERASURES].find_one({"_id": "p1"})
    assert record is not None
    assert (record["status"], record["attempts"]) == ("pending", 1)
    assert record["last_error"] == "RuntimeError: disk full"
    assert await ledger.is_erased("p1"), "its id must not come back, even before it is done"
    assert await ledger.refresh_gauge() == {"pending": 1, "failed": 0}

    assert await ledger.retry_open() == 0  # still broken: the second failure makes it failed
    assert [r["_id"] for r in await ledger.listing(ErasureStatus.FAILED, 10)] == ["p1"]
    await ledger.refresh_gauge()
    assert gauge(registry, "failed") == 1
    assert gauge(registry, "pending") == 0

    eraser.broken = False
    assert await ledger.retry_open() == 1
    record = await db[ERASURES].find_one({"_id": "p1"})
    assert record is not None
    assert record["status"] == "done"
    assert record["done_at"] is not None
    assert record["attempts"] == 3
    assert eraser.erased == ["p1"]
    assert await ledger.listing(None, 10) == []
    await ledger.refresh_gauge()
    assert gauge(registry, "failed") == 0
    assert await ledger.retry_open() == 0, "nothing done is run again by the loop"


async def test_a_redelivered_erasure_runs_again_and_others_are_not_erased(db: Db) -> None:
    eraser = Eraser(db)
    ledger = ErasureLedger(db, eraser, CollectorRegistry())
    await ledger.ensure_indexes()

    await ledger.erase("p1")
    await ledger.erase("p1")

    assert eraser.erased == ["p1", "p1"]
    record = await db[ERASURES].find_one({"_id": "p1"})
    assert record is not None
    assert record["status"] == "done"
    assert not await ledger.is_erased("p2")
    assert not await ledger.is_erased(None)


async def test_operators_see_open_erasures_oldest_first_and_done_ones_newest_first(db: Db) -> None:
    ledger = ErasureLedger(db, Eraser(db), CollectorRegistry())
    start = datetime(2026, 1, 1, tzinfo=UTC)
    await db[ERASURES].insert_many(
        [
            {"_id": f"{status}-{day}", "status": status, "received_at": start + timedelta(days=day)}
            for status in ("pending", "failed", "done")
            for day in range(3)
        ]
    )
    open_ones = [record["_id"] for record in await ledger.listing(None, limit=4)]
    assert open_ones == ["pending-0", "failed-0", "pending-1", "failed-1"]
    done = [record["_id"] for record in await ledger.listing(ErasureStatus.DONE, limit=2)]
    assert done == ["done-2", "done-1"]
