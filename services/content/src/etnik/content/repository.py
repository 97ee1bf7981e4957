"""Storage of materials and media mentions; each material's versions live in its own document.

A material document holds its current state, its whole version history and its outbox, so
that a change, the version it makes and the events it causes are one atomic write (FerretDB
v1 has no multi-document transactions).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from etnik.common.mongo import Document
from etnik.common.outbox import (
    OUTBOX_FIELD,
    OUTBOX_SINCE_FIELD,
    StagedEvent,
    update_with_outbox,
    with_outbox,
)

MATERIALS = "materials"
DOWNLOADS = "downloads"
MEDIA_MENTIONS = "media_mentions"
CATALOGUE = "catalogue"
SEARCH_REVISION_ID = "search_revision"
OUTBOX_COLLECTIONS = (MATERIALS, DOWNLOADS, MEDIA_MENTIONS)

# Listings never carry the history, the outbox or the index terms.
SUMMARY_PROJECTION = {
    "history": 0,
    "search_terms": 0,
    "file_terms": 0,
    OUTBOX_FIELD: 0,
    OUTBOX_SINCE_FIELD: 0,
}


def new_id() -> str:
    """A random, unguessable id."""
    return uuid.uuid4().hex


def now_utc() -> datetime:
    """The current time, in UTC, at the millisecond MongoDB keeps."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class MaterialRepository:
    """The content service's materials, downloads and media mentions."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.materials = db[MATERIALS]
        self.downloads = db[DOWNLOADS]
        self.media_mentions = db[MEDIA_MENTIONS]
        self.catalogue = db[CATALOGUE]

    async def ensure_indexes(self) -> None:
        """Indexes of the filters the API offers."""
        await self.materials.create_index([("status", ASCENDING), ("updated_at", DESCENDING)])
        await self.materials.create_index("search_terms")
        await self.materials.create_index("event_id")
        await self.materials.create_index("updated_at")  # the search index's refresh
        await self.materials.create_index("authors.person_id")  # an erasure's authors
        await self.materials.create_index("collection_id")
        await self.media_mentions.create_index("event_ids")

    async def insert(self, material: Document) -> None:
        """Store a new material (a draft: it causes no event yet)."""
        await self.materials.insert_one(material)

    async def get(self, material_id: str, *, with_history: bool = False) -> Document | None:
        """A material by id; its history only when asked for."""
        projection = (
            {OUTBOX_FIELD: 0, OUTBOX_SINCE_FIELD: 0} if with_history else SUMMARY_PROJECTION
        )
        return await self.materials.find_one({"_id": material_id}, projection)

    async def apply_version(
        self,
        material_id: str,
        expected_version: int,
        new_state: Document,
        history_entry: Document,
        staged: list[StagedEvent],
    ) -> bool:
        """Write the next version if nobody wrote one meanwhile; False on a lost race."""
        update: Document = {"$set": new_state, "$push": {"history": history_entry}}
        result = await self.materials.update_one(
            {"_id": material_id, "version": expected_version},
            update_with_outbox(update, staged) if staged else update,
        )
        return result.modified_count == 1

    async def search_revision(self) -> int:
        """A counter every material write increments: one `_id` look-up tells of any change."""
        found = await self.catalogue.find_one({"_id": SEARCH_REVISION_ID})
        return int(found["n"]) if found else 0

    async def bump_search_revision(self) -> None:
        """Tell every process's search index that materials changed."""
        await self.catalogue.update_one(
            {"_id": SEARCH_REVISION_ID}, {"$inc": {"n": 1}}, upsert=True
        )

    async def indexable_since(self, since: datetime | None) -> list[Document]:
        """Materials changed since a time (all for None), with their index terms."""
        query: Document = {} if since is None else {"updated_at": {"$gte": since}}
        projection = {"history": 0, OUTBOX_FIELD: 0, OUTBOX_SINCE_FIELD: 0, "file_terms": 0}
        return await self.materials.find(query, projection).to_list()

    async def search(
        self, query: Document, *, limit: int, offset: int
    ) -> tuple[list[Document], int]:
        """A page of matching materials, newest first, and how many match in all."""
        cursor = (
            self.materials.find(query, SUMMARY_PROJECTION)
            .sort([("updated_at", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        page = await cursor.to_list()
        total = await self.materials.count_documents(query)
        return page, total

    async def published_in_collection(self, collection_id: str) -> list[Document]:
        """The published materials that belong to a methodological collection, by title."""
        cursor = self.materials.find(
            {"collection_id": collection_id, "status": "published"}, {"history": 0}
        ).sort([("title", ASCENDING), ("_id", ASCENDING)])
        return await cursor.to_list()

    async def authored_by(self, person_id: str) -> list[Document]:
        """Materials that name a person as an author now or in any version."""
        cursor = self.materials.find(
            {
                "$or": [
                    {"authors.person_id": person_id},
                    {"history.state.authors.person_id": person_id},
                ]
            },
            {OUTBOX_FIELD: 0, OUTBOX_SINCE_FIELD: 0},
        )
        return await cursor.to_list()

    async def replace_authors(
        self,
        material_id: str,
        version: int,
        authors: list[Any],
        history: list[Any],
        dropped_terms: Sequence[str] = (),
    ) -> bool:
        """Rewrite the authors of every version and drop index terms (erasure); False when
        the material moved on."""
        update: Document = {
            "$set": {"authors": authors, "history": history, "updated_at": now_utc()}
        }
        if dropped_terms:
            terms = list(dropped_terms)
            update["$pullAll"] = {"search_terms": terms, "file_terms": terms}
        result = await self.materials.update_one({"_id": material_id, "version": version}, update)
        return result.matched_count == 1

    async def record_download(self, record: Document, staged: list[StagedEvent]) -> None:
        """Store that a file was read, with its statistics event in the same write."""
        await self.downloads.insert_one(with_outbox(record, staged))

    async def insert_media_mention(self, mention: Document) -> bool:
        """Store a media mention; False when this URL is already registered."""
        try:
            await self.media_mentions.insert_one(mention)
        except DuplicateKeyError:
            return False
        return True

    async def list_media_mentions(
        self, *, event_id: str | None, limit: int, offset: int
    ) -> tuple[list[Document], int]:
        """Media mentions, newest first, optionally those of one event."""
        query: Document = {"event_ids": event_id} if event_id else {}
        cursor = (
            self.media_mentions.find(query, {OUTBOX_FIELD: 0, OUTBOX_SINCE_FIELD: 0})
            .sort([("published_on", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return await cursor.to_list(), await self.media_mentions.count_documents(query)
