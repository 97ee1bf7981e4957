"""What operators write to reporting: qualitative results and frozen report snapshots."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.mongo import Document
from etnik.common.outbox import StagedEvent, with_outbox
from etnik.reporting.domain import Period

FROZEN_REPORTS = "frozen_reports"


def period_key(period: Period) -> str:
    """The id of a period's qualitative text: its two days, or "open" for an open side."""
    start = period.start.isoformat() if period.start else "open"
    end = period.end.isoformat() if period.end else "open"
    return f"{start}_{end}"


class ReportRepository:
    """Qualitative texts by period and frozen snapshots by id."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.qualitative = db["qualitative_results"]
        self.frozen = db[FROZEN_REPORTS]

    async def ensure_indexes(self) -> None:
        """Frozen reports are listed newest first."""
        await self.frozen.create_index([("frozen_at", DESCENDING)])

    async def qualitative_text(self, period: Period) -> str:
        """The qualitative results an operator wrote for the period, or an empty text."""
        stored = await self.qualitative.find_one({"_id": period_key(period)})
        return str(stored["text"]) if stored else ""

    async def save_qualitative_text(self, period: Period, text: str) -> datetime:
        """Replace the period's qualitative text; returns when it was saved."""
        saved_at = datetime.now(UTC)
        await self.qualitative.update_one(
            {"_id": period_key(period)},
            {"$set": {"text": text, "updated_at": saved_at}},
            upsert=True,
        )
        return saved_at

    async def insert_frozen(self, snapshot: Document, staged: list[StagedEvent]) -> None:
        """Store a snapshot together with its ReportFrozen event (one atomic write)."""
        await self.frozen.insert_one(with_outbox(snapshot, staged))

    async def frozen_report(self, report_id: str) -> Document | None:
        """One snapshot, without its outbox bookkeeping."""
        return await self.frozen.find_one({"_id": report_id}, _SNAPSHOT_FIELDS)

    async def frozen_reports(self, limit: int = 100) -> list[Document]:
        """The latest snapshots, without their contents."""
        fields = {**_SNAPSHOT_FIELDS, "report_json": 0}
        cursor = self.frozen.find({}, fields).sort("frozen_at", DESCENDING).limit(limit)
        return [row async for row in cursor]


_SNAPSHOT_FIELDS: dict[str, Any] = {"outbox": 0, "outbox_since": 0}
