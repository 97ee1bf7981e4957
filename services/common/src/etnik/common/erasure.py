"""The erasures a service owes: recorded before they are done, retried until they are done.

A service that holds personal data acts on `PersonErased` through an `ErasureLedger`: the
ledger first records the erasure in the service's `erasures` collection (keyed by the
person's pseudonymous id: status, received_at, attempts, last_error, done_at), then runs the
service's own erase function. A failure is recorded and raised, so that the consumer retries
it and, past its attempts, parks the event on the dead-letter topic; a background loop runs
every erasure still pending again until it succeeds. Nothing is skipped silently: the gauge
`etnik_erasures{status="pending"|"failed"}` feeds an alert, and operators list the records
through `GET /erasures`.

The records hold nothing but the person's id, so they double as the set of erased people:
`is_erased` lets a projection refuse to attach an erased person's id again when an event
about them arrives late.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from prometheus_client import CollectorRegistry, Gauge
from pydantic import BaseModel
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from etnik.common.auth import Principal, Role, require_roles
from etnik.common.mongo import Document

log = logging.getLogger(__name__)

ERASURES = "erasures"
ERROR_CHARS = 300

EraseFunction = Callable[[str], Awaitable[None]]


class ErasureStatus(StrEnum):
    """Where an erasure stands: pending (not done yet), failed (failed often: look at it),
    done."""

    PENDING = "pending"
    FAILED = "failed"
    DONE = "done"


OPEN_STATUSES = (ErasureStatus.PENDING.value, ErasureStatus.FAILED.value)


async def is_erased(db: AsyncDatabase[Document], person_id: str | None) -> bool:
    """Whether the service owning this database was told to erase the person."""
    if not person_id:
        return False
    return await db[ERASURES].find_one({"_id": person_id}, {"_id": 1}) is not None


class ErasureLedger:
    """The erasures one service owes, each recorded before it runs and retried until done."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        erase: EraseFunction,
        registry: CollectorRegistry,
        *,
        failed_after: int = 3,
        retry_interval_s: float = 30.0,
        retry_after_s: float = 10.0,
    ) -> None:
        self.collection = db[ERASURES]
        self._erase = erase
        # Attempts after which a pending erasure counts as failed (it is still retried).
        self._failed_after = failed_after
        self._retry_interval_s = retry_interval_s
        # The consumer's own attempt goes first: the loop leaves fresh failures to it for this long.
        self._retry_after = timedelta(seconds=retry_after_s)
        self._gauge = Gauge(
            "etnik_erasures",
            "Erasures of a person's data this service has not completed, by status",
            ["status"],
            registry=registry,
        )
        for status in OPEN_STATUSES:
            self._gauge.labels(status=status).set(0)

    async def ensure_indexes(self) -> None:
        """The retry loop's and the operators' look-up of open erasures, oldest first."""
        await self.collection.create_index([("status", ASCENDING), ("received_at", ASCENDING)])

    async def erase(self, person_id: str) -> None:
        """Record that the person must be erased here, then erase them; raises on failure
        (the erasure stays pending and is retried)."""
        now = datetime.now(UTC)
        await self.collection.update_one(
            {"_id": person_id},
            {
                "$setOnInsert": {"received_at": now, "attempts": 0},
                # A redelivered erasure runs again: erasing twice is harmless.
                "$set": {"status": ErasureStatus.PENDING.value, "requested_at": now},
            },
            upsert=True,
        )
        await self._attempt(person_id)

    async def is_erased(self, person_id: str | None) -> bool:
        """Whether this service was told to erase the person (their id must not come back)."""
        return await is_erased(self.collection.database, person_id)

    async def retry_open(self, limit: int = 100) -> int:
        """Run again the erasures still open (oldest first); returns how many completed."""
        cutoff = datetime.now(UTC) - self._retry_after
        # Read first, then run: an erasure that turns failed now is not tried twice in a pass.
        due: list[str] = []
        for status in OPEN_STATUSES:
            cursor = (
                self.collection.find(
                    {"status": status, "received_at": {"$lte": cutoff}}, {"_id": 1}
                )
                .sort("received_at", ASCENDING)
                .limit(limit)
            )
            due.extend(record["_id"] for record in await cursor.to_list())
        completed = 0
        for person_id in due:
            try:
                await self._attempt(person_id)
                completed += 1
            except Exception:  # recorded by _attempt; the next pass tries again
                log.warning("erasure of %s failed again; retried later", person_id)
        return completed

    async def refresh_gauge(self) -> dict[str, int]:
        """Count the open erasures for the gauge (an alert watches it)."""
        counts = {
            status: await self.collection.count_documents({"status": status})
            for status in OPEN_STATUSES
        }
        for status, count in counts.items():
            self._gauge.labels(status=status).set(count)
        return counts

    async def run_forever(self, ready: asyncio.Event | None = None) -> None:
        """Retry open erasures and refresh the gauge, now and then, for the life of the process."""
        if ready is not None:
            await ready.wait()
        while True:
            try:
                await self.retry_open()
                await self.refresh_gauge()
            except PyMongoError as error:
                log.warning("open erasures not retried (%s); trying again later", error)
            await asyncio.sleep(self._retry_interval_s)

    async def listing(self, status: ErasureStatus | None, limit: int) -> list[Document]:
        """Erasure records for operators: open ones (all when no status is given) oldest
        first, as they wait; done ones newest first, as an operator checks what just ended."""
        statuses = [status.value] if status else list(OPEN_STATUSES)
        newest_first = status is ErasureStatus.DONE
        order = DESCENDING if newest_first else ASCENDING
        found: list[Document] = []
        for wanted in statuses:
            cursor = self.collection.find({"status": wanted}).sort("received_at", order)
            found.extend(await cursor.limit(limit).to_list())
        found.sort(key=lambda record: record["received_at"], reverse=newest_first)
        return found[:limit]

    async def _attempt(self, person_id: str) -> None:
        try:
            await self._erase(person_id)
        except Exception as error:
            record = await self.collection.find_one_and_update(
                {"_id": person_id},
                {
                    "$inc": {"attempts": 1},
                    "$set": {
                        "last_error": f"{type(error).__name__}: {error}"[:ERROR_CHARS],
                        "last_attempt_at": datetime.now(UTC),
                    },
                },
                return_document=True,
            )
            attempts = int((record or {}).get("attempts") or 0)
            if attempts >= self._failed_after:
                await self.collection.update_one(
                    {"_id": person_id, "status": ErasureStatus.PENDING.value},
                    {"$set": {"status": ErasureStatus.FAILED.value}},
                )
            log.warning("erasure of %s failed (attempt %d): %s", person_id, attempts, error)
            raise
        await self.collection.update_one(
            {"_id": person_id},
            {
                "$set": {
                    "status": ErasureStatus.DONE.value,
                    "done_at": datetime.now(UTC),
                    "last_attempt_at": datetime.now(UTC),
                },
                "$inc": {"attempts": 1},
            },
        )


class ErasureRecord(BaseModel):
    """One erasure a service owes or has done (the person's pseudonymous id only)."""

    person_id: str
    status: ErasureStatus
    received_at: datetime
    attempts: int
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    done_at: datetime | None = None


def erasure_router() -> APIRouter:
    """`GET /erasures` for administrators and operators: what this service has not erased
    yet (pending, failed) or, asked for, what it has (done). The service's container holds the
    ledger as `erasures`."""
    router = APIRouter(tags=["erasure"])

    @router.get(
        "/erasures",
        response_model=list[ErasureRecord],
        summary="Erasures of people's data this service owes (or has done)",
    )
    async def list_erasures(
        request: Request,
        _: Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.OPERATOR))],
        status: Annotated[ErasureStatus | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[dict[str, Any]]:
        ledger: ErasureLedger = request.app.state.container.erasures
        return [
            {**record, "person_id": record["_id"]} for record in await ledger.listing(status, limit)
        ]

    return router
