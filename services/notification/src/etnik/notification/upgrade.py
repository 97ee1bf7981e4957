"""What an older version left behind, taken over once by this one.

- Outboxes kept beside the messages and recipients (marked `outbox_since`): published.
- Outcomes kept apart from the messages: an older dispatcher recorded a batch's outcomes and
  their events in a `dispatches` document and, once published, in `outcome_batches`, writing
  them to the messages later. Each is written to its message (unless a later claim wrote to
  it since), the events still staged there are published, and the document is removed; an
  emptied collection is dropped. The dispatcher does this at start, at each sweep (during a
  rolling update a replica of the older version may still be writing them), and before it
  takes over a claim whose lease ran out (whose holder may have been such a replica), so that
  a message sent by an older replica is not sent again.
"""

from __future__ import annotations

import asyncio
import logging
import time

from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.mongo import Document
from etnik.common.outbox import OUTBOX_FIELD, OUTBOX_SINCE_FIELD, Outbox
from etnik.notification.messages import LEGACY_OUTBOX_COLLECTIONS, MESSAGES, outcome_write

log = logging.getLogger(__name__)

# Where an older version kept outcomes apart from their messages.
LEGACY_OUTCOME_COLLECTIONS = ("dispatches", "outcome_batches")
# An emptied collection of theirs is dropped once this process has run this long.
DROP_AFTER_S = 3600.0


async def publish_legacy_outboxes(
    db: AsyncDatabase[Document], outbox: Outbox, retry_s: float = 30.0
) -> None:
    """Publish events left in the outboxes of messages or recipients by an older version.

    One look at each at start (an index finds the few marked documents), again while some
    could not be published yet."""
    while True:
        left = 0
        for name in LEGACY_OUTBOX_COLLECTIONS:
            collection = db[name]
            query = {OUTBOX_SINCE_FIELD: {"$exists": True}}
            async for document in collection.find(query, {OUTBOX_FIELD: 1}):
                staged = document.get(OUTBOX_FIELD) or []
                if not staged:
                    await collection.update_one(
                        {"_id": document["_id"]}, {"$unset": {OUTBOX_SINCE_FIELD: ""}}
                    )
                elif not await outbox.flush(collection, document["_id"], staged, path="relay"):
                    left += 1
        if not left:
            return
        log.warning("%d documents still hold events of an older version; retrying", left)
        await asyncio.sleep(retry_s)


class LegacyOutcomes:
    """Outcomes an older version kept apart from the messages (see the module's note)."""

    def __init__(
        self, db: AsyncDatabase[Document], outbox: Outbox, *, drop_after_s: float = DROP_AFTER_S
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._drop_after_s = drop_after_s
        self._started = time.monotonic()

    async def apply(self) -> int:
        """Write each outcome to its message unless a later claim wrote to it since, publish
        the events still staged, remove the document; the number of documents still waiting
        for Kafka (kept for the next pass). One cheap listing when there is nothing left."""
        db = self._db
        present = await db.list_collection_names(
            filter={"name": {"$in": list(LEGACY_OUTCOME_COLLECTIONS)}}
        )
        waiting = 0
        for name in present:
            collection = db[name]
            async for document in collection.find({}):
                writes = [
                    outcome_write(
                        record["message_id"],
                        int(record["generation"]),
                        record["fields"],
                        unset_secrets=bool(record.get("unset_secrets")),
                        attempts=int(record.get("attempts") or 0),
                    )
                    for record in document.get("outcomes", [])
                ]
                if writes:
                    await db[MESSAGES].bulk_write(writes, ordered=False)
                staged = document.get(OUTBOX_FIELD) or []
                if staged and not await self._outbox.flush(
                    collection, document["_id"], staged, path="relay"
                ):
                    waiting += 1
                    continue
                await collection.delete_one({"_id": document["_id"]})
                log.info("applied %d outcomes an older version left in %s", len(writes), name)
            # Dropped only long after this version started: an older replica still running
            # (a rolling update) could write between the count and the drop.
            old_enough = time.monotonic() - self._started >= self._drop_after_s
            if old_enough and await collection.count_documents({}) == 0:
                await collection.drop()
        return waiting
