"""Claims on messages that stay exclusive on FerretDB: each claim is an insert of a new,
never-changed lease document whose `_id` is (message id, generation).

FerretDB v1 does not apply a conditional update atomically (two replicas may both see a
message as free and both take it), but it does refuse a second document with the same
`_id`. So a claim inserts `<message id>:<generation>`; of two replicas trying the same
generation exactly one succeeds. Generations follow each other without gaps: whoever
finds generation g taken reads it, and only if its lease has run out (its holder crashed
or gave it back) tries g + 1. The message records the generation of its last outcome
(`claim_gen`), so a claim starts right after it and rarely has to walk.

Lease documents are written once and released at most once (their holder sets `until`
to now); they are removed only long after they ran out (`cleanup`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from etnik.common.mongo import Document

LEASES = "message_leases"
DUPLICATE_KEY = 11000
# A claim gives up on a message after walking this many expired generations in one go.
MAX_WALK = 4


def lease_id(message_id: str, generation: int) -> str:
    """The lease document of one generation of claims on a message."""
    return f"{message_id}:{generation}"


@dataclass(frozen=True)
class Claim:
    """A message held by this dispatcher until `until`."""

    message_id: str
    generation: int
    batch: str
    until: datetime
    # Batches of earlier holders whose lease ran out: they may hold an unapplied outcome.
    passed: tuple[str, ...] = field(default=())


class LeaseStore:
    """The lease documents."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[LEASES]

    async def claim(
        self,
        candidates: Sequence[tuple[str, int]],
        *,
        owner: str,
        batch: str,
        lease_s: float,
        now: datetime,
    ) -> list[Claim]:
        """Claim each (message id, last generation known) not held by someone else.

        One insert for the whole batch; a generation found taken costs one read, and one
        more insert if its lease has run out.
        """
        until = now + timedelta(seconds=lease_s)
        pending: dict[str, tuple[int, tuple[str, ...]]] = {
            message_id: (generation + 1, ()) for message_id, generation in candidates
        }
        won: list[Claim] = []
        for _ in range(MAX_WALK):
            if not pending:
                break
            documents = [
                {
                    "_id": lease_id(message_id, generation),
                    "message_id": message_id,
                    "generation": generation,
                    "owner": owner,
                    "batch": batch,
                    "until": until,
                    "created_at": now,
                }
                for message_id, (generation, _) in pending.items()
            ]
            taken = await self._insert(documents)
            walking: dict[str, tuple[int, tuple[str, ...]]] = {}
            for message_id, (generation, passed) in pending.items():
                if lease_id(message_id, generation) not in taken:
                    won.append(Claim(message_id, generation, batch, until, passed))
                    continue
                holder = await self.collection.find_one({"_id": lease_id(message_id, generation)})
                if holder is None or holder["until"] > now:
                    continue  # held by someone else (or removed meanwhile: next round)
                walking[message_id] = (generation + 1, (*passed, str(holder.get("batch", ""))))
            pending = walking
        return won

    async def _insert(self, documents: list[Document]) -> set[str]:
        """Insert them all; the ids that already existed."""
        try:
            await self.collection.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            errors: list[dict[str, Any]] = error.details.get("writeErrors", [])
            if any(item.get("code") != DUPLICATE_KEY for item in errors):
                raise
            return {str(documents[item["index"]]["_id"]) for item in errors}
        return set()

    async def release(self, claims: Sequence[Claim], now: datetime) -> None:
        """Give claims back before their time: only their holder writes them."""
        for claim in claims:
            await self.collection.update_one(
                {"_id": lease_id(claim.message_id, claim.generation)}, {"$set": {"until": now}}
            )

    async def cleanup(self, before: datetime) -> int:
        """Remove leases that ran out long ago (a scan: run it rarely)."""
        result = await self.collection.delete_many({"until": {"$lt": before}})
        return result.deleted_count
