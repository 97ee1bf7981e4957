"""An in-memory search index of materials, rebuilt from MongoDB and kept fresh.

FerretDB v1 (SQLite) answers only `_id` look-ups without reading the whole collection, so
a search filtered in the database costs a full scan per request (seconds at 10,000
materials). Each process therefore keeps the searchable fields of every material in
memory: its own writes are applied at once; other processes' writes are noticed through a
revision counter (one `_id` look-up per poll) and read with a scan only when it moved; a
periodic rebuild heals anything missed. Until the first load, searches go to the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from etnik.common.mongo import Document
from etnik.content.domain import Reader, may_read, readable_statuses
from etnik.content.search import terms as search_terms

log = logging.getLogger(__name__)

# Writes are stamped before they commit; re-reading this far back catches slow commits.
_OVERLAP = timedelta(seconds=10)
_INTERNAL_FIELDS = ("search_terms", "file_terms", "history", "outbox", "outbox_since")


@dataclass(frozen=True)
class SearchQuery:
    """A search: words, equality filters and a page."""

    text: str | None = None
    kind: str | None = None
    event_id: str | None = None
    federal_district: str | None = None
    tag: str | None = None
    status: str | None = None
    collection_id: str | None = None
    limit: int = 20
    offset: int = 0


class SearchIndex:
    """Materials' searchable fields in memory: an inverted index of terms plus summaries."""

    def __init__(self) -> None:
        self._summaries: dict[str, Document] = {}
        self._terms: dict[str, frozenset[str]] = {}
        self._postings: dict[str, set[str]] = {}
        self._newest_first: list[str] | None = []
        self.watermark: datetime | None = None
        self.loaded = False

    def __len__(self) -> int:
        return len(self._summaries)

    def apply(self, material: Document) -> None:
        """Put a material's current state in the index (replacing what was there)."""
        material_id = material["_id"]
        for term in self._terms.get(material_id, frozenset()):
            holders = self._postings.get(term)
            if holders is not None:
                holders.discard(material_id)
                if not holders:
                    del self._postings[term]
        terms = frozenset(material.get("search_terms") or ())
        self._terms[material_id] = terms
        for term in terms:
            self._postings.setdefault(term, set()).add(material_id)
        self._summaries[material_id] = {
            key: value for key, value in material.items() if key not in _INTERNAL_FIELDS
        }
        self._newest_first = None
        updated_at = material.get("updated_at")
        if isinstance(updated_at, datetime) and (
            self.watermark is None or updated_at > self.watermark
        ):
            self.watermark = updated_at

    def replace_all(self, materials: Iterable[Document]) -> None:
        """Rebuild from a full read of the collection."""
        fresh = SearchIndex()
        for material in materials:
            fresh.apply(material)
        self._summaries, self._terms, self._postings = (
            fresh._summaries,
            fresh._terms,
            fresh._postings,
        )
        self._newest_first = None
        self.watermark = fresh.watermark
        self.loaded = True

    def reread_since(self) -> datetime | None:
        """From when a refresh must re-read changed materials (None: everything)."""
        return None if self.watermark is None else self.watermark - _OVERLAP

    def search(
        self, reader: Reader, participant_events: set[str], query: SearchQuery
    ) -> tuple[list[Document], int]:
        """A page of what the reader may see, newest first, and how many match in all."""
        if query.status and query.status not in readable_statuses(reader):
            return [], 0
        candidates: Iterable[str] = self._ordered()
        if query.text:
            stems = search_terms(query.text)
            if stems:
                postings = [self._postings.get(stem, set()) for stem in stems]
                matching = set.intersection(*postings)
                candidates = [mid for mid in self._ordered() if mid in matching]
        tag = query.tag.strip().lower() if query.tag else None
        wanted = {
            field: value
            for field in ("kind", "event_id", "federal_district", "collection_id", "status")
            if (value := getattr(query, field))
        }
        hits: list[Document] = []
        for material_id in candidates:
            summary = self._summaries[material_id]
            if any(summary.get(field) != value for field, value in wanted.items()):
                continue
            if tag is not None and tag not in (summary.get("tags") or ()):
                continue
            if may_read(reader, summary, participant_events):
                hits.append(summary)
        return hits[query.offset : query.offset + query.limit], len(hits)

    def _ordered(self) -> list[str]:
        if self._newest_first is None:
            self._newest_first = sorted(
                self._summaries,
                key=lambda mid: (-self._summaries[mid]["updated_at"].timestamp(), mid),
            )
        return self._newest_first


class IndexSource(Protocol):
    """Where the index reads materials from."""

    async def search_revision(self) -> int:
        """A counter every material write increments."""
        ...

    async def indexable_since(self, since: datetime | None) -> list[Document]:
        """Materials changed since a time (all of them for None), with their index terms."""
        ...


class IndexKeeper:
    """Loads the index, then keeps it fresh for the life of the process."""

    def __init__(
        self,
        index: SearchIndex,
        repository: IndexSource,
        *,
        poll_interval_s: float = 2.0,
        rebuild_interval_s: float = 900.0,
    ) -> None:
        self.index = index
        self._repository = repository
        self._poll_interval_s = poll_interval_s
        self._rebuild_interval_s = rebuild_interval_s
        self._seen_revision = -1

    async def rebuild(self) -> None:
        """Read every material into a fresh index."""
        seen = await self._repository.search_revision()
        self.index.replace_all(await self._repository.indexable_since(None))
        self._seen_revision = seen
        log.info("search index loaded: %d materials", len(self.index))

    async def refresh_if_changed(self) -> bool:
        """Re-read recently changed materials if any process wrote since the last look."""
        revision = await self._repository.search_revision()
        if revision == self._seen_revision:
            return False
        for material in await self._repository.indexable_since(self.index.reread_since()):
            self.index.apply(material)
        self._seen_revision = revision
        return True

    async def run(self) -> None:
        """The background loop: load, then poll the revision and rebuild now and then."""
        await self.rebuild()
        loop = asyncio.get_running_loop()
        rebuilt_at = loop.time()
        while True:
            await asyncio.sleep(self._poll_interval_s)
            if loop.time() - rebuilt_at > self._rebuild_interval_s:
                await self.rebuild()
                rebuilt_at = loop.time()
            else:
                await self.refresh_if_changed()
