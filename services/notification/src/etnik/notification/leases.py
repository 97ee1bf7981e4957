"""Claims on messages: each claim is an insert of a new, never-changed lease document whose
`_id` is (message id, generation).

Every MongoDB-compatible server refuses a second document with the same `_id`, FerretDB v1
(the local store, which applies no conditional update atomically) included: of two replicas
claiming the same generation exactly one succeeds. Generations follow each other without
gaps: whoever finds generation g taken reads it, and only if its lease has run out (its holder
crashed, stalled or gave it back) tries g + 1; such a claim is a takeover. The message records
the last generation that wrote to it (`claim_gen`): a claim starts right after it, and an
outcome is written only while no later generation has (see etnik.notification.dispatcher).

Lease documents are written once and released at most once (their holder sets `until`
to now); they are removed only long after they ran out (`cleanup`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne
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
    until: datetime
    # Whether an earlier generation's lease ran out on the way: its holder may still write.
    took_over: bool = False


class LeaseStore:
    """The lease documents."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[LEASES]

    async def claim(
        self,
        candidates: Sequence[tuple[str, int]],
        *,
        owner: str,
        lease_s: float,
        now: datetime,
    ) -> list[Claim]:
        """Claim each (message id, last generation known) not held by someone else.

        One insert for the whole batch; a generation found taken costs one read, and one
        more insert if its lease has run out.
        """
        until = now + timedelta(seconds=lease_s)
        pending: dict[str, tuple[int, bool]] = {
            message_id: (generation + 1, False) for message_id, generation in candidates
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
                    "until": until,
                    "created_at": now,
                }
                for message_id, (generation, _) in pending.items()
            ]
            taken = await self._insert(documents)
            walking: dict[str, tuple[int, bool]] = {}
            for message_id, (generation, took_over) in pending.items():
                if lease_id(message_id, generation) not in taken:
                    won.append(Claim(message_id, generation, until, took_over))
                    continue
                holder = await self.collection.find_one({"_id": lease_id(message_id, generation)})
                if holder is None or holder["until"] > now:
                    continue  # held by someone else (or removed meanwhile: next round)
                walking[message_id] = (generation + 1, True)
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
        """Give claims back before their time (one write): only their holder writes them."""
        if claims:
            await self.collection.bulk_write(
                [
                    UpdateOne(
                        {"_id": lease_id(claim.message_id, claim.generation)},
                        {"$set": {"until": now}},
                    )
                    for claim in claims
                ],
                ordered=False,
            )

    async def cleanup(self, before: datetime) -> int:
        """Remove leases that ran out long ago."""
        result = await self.collection.delete_many({"until": {"$lt": before}})
        return result.deleted_count
