"""Read models built from events: pseudonymous ids and categories only, no personal data."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.registration import RegistrationConfirmed, RegistrationWaitlisted
from etnik.common.mongo import Document


class ReportingProjections:
    """One document per fact (a registration, a message), so replays and duplicates count once."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.registrations = db["registrations"]
        self.notifications = db["notifications"]

    async def ensure_indexes(self) -> None:
        """Counts by event and status."""
        await self.registrations.create_index([("event_id", 1), ("status", 1)])
        await self.notifications.create_index([("kind", 1), ("outcome", 1)])

    async def record_registration(
        self, event: RegistrationConfirmed | RegistrationWaitlisted, status: str, at: datetime
    ) -> None:
        """Keep the latest known status of a registration; an older event changes nothing."""
        # A newer event for this registration may be in already: then this one is stale.
        with contextlib.suppress(DuplicateKeyError):
            await self.registrations.update_one(
                {"_id": event.registration_id, "at": {"$lte": at}},
                {
                    "$set": {
                        "event_id": event.event_id,
                        "person_ref": event.person_id,
                        "status": status,
                        "category": event.category.value,
                        "region_code": event.region_code,
                        "federal_district": event.federal_district,
                        "at": at,
                    }
                },
                upsert=True,
            )

    async def record_notification(self, message_id: str, kind: str, outcome: str) -> None:
        """Keep the outcome of a message."""
        await self.notifications.update_one(
            {"_id": message_id}, {"$set": {"kind": kind, "outcome": outcome}}, upsert=True
        )

    async def registration_counts(self, event_id: str | None) -> dict[str, Any]:
        """Registrations in total and by status, for one event or for all."""
        match: dict[str, Any] = {"event_id": event_id} if event_id else {}
        by_status: dict[str, int] = {}
        async for row in await self.registrations.aggregate(
            [{"$match": match}, {"$group": {"_id": "$status", "count": {"$sum": 1}}}]
        ):
            by_status[str(row["_id"])] = int(row["count"])
        return {"event_id": event_id, "total": sum(by_status.values()), "by_status": by_status}

    async def notification_counts(self) -> dict[str, int]:
        """Messages by outcome."""
        counts: dict[str, int] = {}
        async for row in await self.notifications.aggregate(
            [{"$group": {"_id": "$outcome", "count": {"$sum": 1}}}]
        ):
            counts[str(row["_id"])] = int(row["count"])
        return counts
