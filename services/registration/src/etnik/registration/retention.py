"""Retention (152-FZ art. 5 p. 7): the personal data of people with no registration for the
retention period is erased by a scheduled job, which operators preview and audit.

Nobody is due before the programme's end plus the period (PROGRAMME_ENDS_ON, RETENTION_PERIOD:
three years by default); after that, a person is due when neither their record nor any of their
registrations is younger than the period. The job calls the same erasure as a withdrawal.

One replica runs each scheduled pass: a pass claims its time slot by inserting its audit record
under the slot's id, and of two replicas only one insert succeeds (a unique `_id` is atomic on
every MongoDB-compatible server, FerretDB v1 included). A pass that finds another run still in
progress (a slow pass, an administrator's run) is recorded as skipped and erases nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError, PyMongoError

from etnik.common.mongo import Document
from etnik.registration.privacy import PrivacyService
from etnik.registration.repository import RegistrationRepository, new_id, now_utc
from etnik.registration.settings import RegistrationSettings

log = logging.getLogger(__name__)

# Who ran a pass, in the audit record (several replicas share the database).
REPLICA = f"{socket.gethostname()}:{os.getpid()}"
ERASED_BY = "retention"
# A run still marked running after this long stopped without finishing (its process died).
RUN_LEASE = timedelta(hours=6)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RetentionRule:
    """How long personal data is kept after a person's last registration."""

    programme_ends_on: date
    period: timedelta

    def cutoff(self, now: datetime) -> datetime | None:
        """Data last used before this moment is due; None while the programme's end plus the
        period has not passed (nobody is due yet)."""
        programme_end = datetime(
            self.programme_ends_on.year,
            self.programme_ends_on.month,
            self.programme_ends_on.day,
            tzinfo=UTC,
        ) + timedelta(days=1)
        if now < programme_end + self.period:
            return None
        return now - self.period

    @staticmethod
    def reason(last_registration_at: datetime | None, cutoff: datetime) -> str:
        """Why a person is due, for the preview."""
        if last_registration_at is None:
            return f"never registered, and known since before {cutoff:%Y-%m-%d}"
        return f"last registered on {last_registration_at:%Y-%m-%d}, before {cutoff:%Y-%m-%d}"


@dataclass(frozen=True)
class DuePerson:
    """A person the retention rule would erase now."""

    person_id: str
    full_name: str
    last_registration_at: datetime | None
    reason: str


class RetentionService:
    """The preview, the runs and the scheduled job."""

    def __init__(
        self,
        repository: RegistrationRepository,
        privacy: PrivacyService,
        settings: RegistrationSettings,
    ) -> None:
        self._repo = repository
        self._privacy = privacy
        self._interval_s = settings.retention_check_interval_s
        self.rule = RetentionRule(settings.programme_ends_on, settings.retention_period)

    async def due(self, now: datetime, limit: int | None = None) -> list[DuePerson]:
        """The people the rule would erase at `now`, oldest first (at most `limit`)."""
        cutoff = self.rule.cutoff(now)
        if cutoff is None:
            return []
        found: list[DuePerson] = []
        # Index (erased, created_at): only people not erased and known since before the cutoff.
        candidates = self._repo.people.find(
            {"erased": {"$in": [None, False]}, "created_at": {"$lt": cutoff}},
            {"full_name": 1, "created_at": 1},
        ).sort([("created_at", ASCENDING), ("_id", ASCENDING)])
        async for person in candidates:
            # Index (person_id, created_at desc): their latest registration.
            latest = await self._repo.registrations.find_one(
                {"person_id": person["_id"]},
                {"created_at": 1},
                sort=[("created_at", DESCENDING)],
            )
            last = _aware(latest["created_at"]) if latest else None
            if last is not None and last >= cutoff:
                continue
            found.append(
                DuePerson(person["_id"], person["full_name"], last, self.rule.reason(last, cutoff))
            )
            if limit is not None and len(found) >= limit:
                break
        return found

    async def preview(self, limit: int) -> dict[str, Any]:
        """Who a run now would erase, and why: ids and names only."""
        now = now_utc()
        due = await self.due(now, limit + 1)
        return {
            "as_of": now,
            "cutoff": self.rule.cutoff(now),
            "programme_ends_on": self.rule.programme_ends_on,
            "retention_period_days": self.rule.period.total_seconds() / 86400,
            "people": [
                {
                    "id": person.person_id,
                    "full_name": person.full_name,
                    "last_registration_at": person.last_registration_at,
                    "reason": person.reason,
                }
                for person in due[:limit]
            ],
            "truncated": len(due) > limit,
        }

    async def run(self, *, trigger: str, slot: str | None = None) -> Document | None:
        """Erase everyone due, recording the run as it goes; None when `slot` (a scheduled
        pass) was claimed by another replica already."""
        now = now_utc()
        run_id = f"schedule:{slot}" if slot is not None else new_id()
        record: Document = {
            "_id": run_id,
            "trigger": trigger,
            "replica": REPLICA,
            "started_at": now,
            "finished_at": None,
            "status": "running",
            "cutoff": self.rule.cutoff(now),
            "count": 0,
            "erased_ids": [],
            "failed_ids": [],
        }
        try:
            await self._repo.retention_runs.insert_one(record)
        except DuplicateKeyError:
            return None
        if await self._another_running(run_id, now):
            await self._repo.retention_runs.update_one(
                {"_id": run_id}, {"$set": {"status": "skipped", "finished_at": now_utc()}}
            )
            return await self._repo.retention_runs.find_one({"_id": run_id})
        for person in await self.due(now):
            if (
                await self._repo.people.find_one(
                    {"_id": person.person_id, "erased": {"$ne": True}}, {"_id": 1}
                )
                is None
            ):
                continue  # erased meanwhile by someone else: not this run's doing
            try:
                await self._privacy.erase(person.person_id, by=ERASED_BY)
            except Exception:
                # Still due next time: the next pass retries it; the audit shows it failed.
                log.exception("retention could not erase person %s", person.person_id)
                await self._repo.retention_runs.update_one(
                    {"_id": run_id}, {"$push": {"failed_ids": person.person_id}}
                )
                continue
            # Each erasure is in the audit as soon as it is done, even if the pass stops later.
            await self._repo.retention_runs.update_one(
                {"_id": run_id}, {"$push": {"erased_ids": person.person_id}, "$inc": {"count": 1}}
            )
        await self._repo.retention_runs.update_one(
            {"_id": run_id}, {"$set": {"status": "finished", "finished_at": now_utc()}}
        )
        finished = await self._repo.retention_runs.find_one({"_id": run_id})
        assert finished is not None
        if finished["count"] or finished["failed_ids"]:
            log.info(
                "retention run %s erased %d people, %d failed",
                run_id,
                finished["count"],
                len(finished["failed_ids"]),
            )
        return finished

    async def _another_running(self, run_id: str, now: datetime) -> bool:
        """Whether another run is in progress (one that crashed counts for RUN_LEASE only).

        Checked after this run's record is written: of two runs that overlap, the later one
        always sees the earlier one, so two never erase side by side."""
        running = await self._repo.retention_runs.find_one(
            {
                "status": "running",
                "started_at": {"$gt": now - RUN_LEASE},
                "_id": {"$ne": run_id},
            },
            {"_id": 1},
        )
        return running is not None

    async def runs(self, *, limit: int, offset: int) -> list[Document]:
        """The audit of past runs, newest first."""
        return await self._repo.find(
            self._repo.retention_runs,
            {},
            sort=(("started_at", DESCENDING),),
            limit=limit,
            offset=offset,
        )

    async def run_periodically(self) -> None:
        """Background loop: one pass per RETENTION_CHECK_INTERVAL_S slot, across all replicas."""
        while True:
            slot = int(time.time() // self._interval_s)
            try:
                await self.run(trigger="schedule", slot=f"{self._interval_s:g}:{slot}")
            except PyMongoError as error:
                log.warning("retention pass failed: %s", error)
            # Sleep to the start of the next slot, so that replicas claim the same slots.
            await asyncio.sleep(max(0.0, (slot + 1) * self._interval_s - time.time()))
