"""Use cases of materials: each changes state through the repository and stages its events."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridfs.asynchronous import AsyncGridOut
from pymongo.errors import PyMongoError

from etnik.common.contracts.content import (
    MaterialArchived,
    MaterialDownloaded,
    MaterialPublished,
    MaterialUpdated,
)
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, StagedEvent
from etnik.common.pdf_fonts import FontMissing, register_fonts
from etnik.content import search
from etnik.content.access import ParticipantAccess
from etnik.content.domain import (
    KIND_LABELS,
    VERSIONED_FIELDS,
    AccessLevel,
    MaterialKind,
    MaterialStatus,
    Reader,
    RuleViolation,
    WorkflowAction,
    changed_fields,
    check_reviewer,
    may_read,
    needs_review_again,
    next_status,
    readable_statuses,
    safe_filename,
    video_platform,
    visibility_filter,
)
from etnik.content.files import FileStore, chunks_of
from etnik.content.pdf import CollectionEntry, collection_pdf
from etnik.content.repository import MaterialRepository, new_id, now_utc
from etnik.content.search_index import SearchIndex, SearchQuery
from etnik.content.video import check_video_source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileToRead:
    """A file a reader may download, and which version of its material it belongs to."""

    material: Document
    version: int
    file: Document
    source: AsyncGridOut


class MaterialService:
    """Materials: drafting, versions, files, workflow, reading and search."""

    def __init__(
        self,
        repository: MaterialRepository,
        files: FileStore,
        access: ParticipantAccess,
        outbox: Outbox,
        index: SearchIndex,
        *,
        pseudonym_key: bytes,
        fonts: tuple[Path, Path],
    ) -> None:
        self._repo = repository
        self._files = files
        self._access = access
        self._outbox = outbox
        self._index = index
        self._pseudonym_key = pseudonym_key
        self._fonts = fonts

    # --- Writing -------------------------------------------------------------------------

    async def create(self, fields: dict[str, Any], *, by: str) -> Document:
        """A new draft, version 1."""
        state = _complete({**fields, "status": MaterialStatus.DRAFT.value, "file": None})
        await self._check_references(state, {})
        now = now_utc()
        material: Document = {
            "_id": new_id(),
            **state,
            "version": 1,
            "created_by": by,
            "created_at": now,
            "updated_at": now,
            "published_at": None,
            "file_terms": [],
            "search_terms": _metadata_terms(state),
            "history": [_history_entry(1, "create", by, now, list(VERSIONED_FIELDS), state)],
        }
        await self._repo.insert(material)
        await self._indexed(material)
        return _without_internals(material)

    async def edit(self, material_id: str, fields: dict[str, Any], *, by: str) -> Document:
        """Change a material's details: a new version, and an event if it is published."""
        current = await self._get_for_change(material_id)
        proposed = _complete({**_state_of(current), **fields})
        await self._check_references(proposed, current)
        changes = changed_fields(current, proposed)
        if not changes:
            return _without_internals(current)
        proposed, changes = _reviewed_again(current, proposed, changes)
        extra = {
            "search_terms": search.merge_terms(_metadata_terms(proposed), current["file_terms"])
        }
        return await self._write_version(current, proposed, "edit", by, changes, extra=extra)

    async def change(
        self,
        material_id: str,
        fields_for: Callable[[Document], dict[str, Any]],
        *,
        by: str,
        action: str,
    ) -> Document:
        """Change fields computed from the current state (a video's chapters, its subtitles):
        a new version under `action`, reviewed again like any other change."""
        current = await self._get_for_change(material_id)
        proposed = _complete({**_state_of(current), **fields_for(current)})
        changes = changed_fields(current, proposed)
        if not changes:
            return _without_internals(current)
        proposed, changes = _reviewed_again(current, proposed, changes)
        return await self._write_version(current, proposed, action, by, changes)

    async def attach_file(
        self,
        material_id: str,
        chunks: AsyncIterator[bytes],
        *,
        filename: str,
        by: str,
        action: str = "file",
    ) -> Document:
        """Stream a file into GridFS and make it the material's file in a new version."""
        current = await self._get_for_change(material_id)
        stored = await self._files.store(
            chunks, filename=filename, metadata={"material_id": material_id, "uploaded_by": by}
        )
        proposed, changes = _reviewed_again(
            current, {**_state_of(current), "file": stored.describe()}, ["file"]
        )
        file_terms = search.terms(stored.text)
        extra = {
            "file_terms": file_terms,
            "search_terms": search.merge_terms(_metadata_terms(proposed), file_terms),
        }
        try:
            return await self._write_version(current, proposed, action, by, changes, extra=extra)
        except RuleViolation:
            # The material changed while the file streamed in: the file belongs to no version.
            await self._files.delete(stored.file_id)
            raise

    async def compile_collection(self, material_id: str, *, by: str) -> Document:
        """Compile a collection's published materials into one PDF: its file's new version."""
        collection = await self._get_for_change(material_id)
        if collection["kind"] != MaterialKind.METHODOLOGICAL_COLLECTION:
            raise RuleViolation(422, "only a methodological collection can be compiled")
        content = await self._collection_pdf(collection)
        return await self.attach_file(
            material_id,
            chunks_of(content),
            filename=safe_filename(f"{collection['title']}.pdf"),
            by=by,
            action=COMPILE_ACTION,
        )

    async def _collection_pdf(
        self, collection: Document, erased: str | None = None, erased_names: Iterable[str] = ()
    ) -> bytes:
        """The PDF of a collection's published materials; an author being erased (and their
        name wherever a material's text spells it) shown as erased."""
        names = sorted({name for name in erased_names if name}, key=len, reverse=True)
        entries = []
        for member in await self._repo.published_in_collection(collection["_id"]):
            text = await self._files.text_of(member["file"]) if member.get("file") else ""
            for name in names:
                text = text.replace(name, ERASED_AUTHOR)
            authors = _erase(member.get("authors"), erased) if erased else member.get("authors")
            entries.append(
                CollectionEntry(
                    title=member["title"],
                    kind=KIND_LABELS.get(member["kind"]) or str(member["kind"]),
                    authors=[author["name"] for author in authors or []],
                    description=member.get("description"),
                    link=member.get("video_url"),
                    text=text,
                )
            )
        try:
            register_fonts(*self._fonts, setting="PDF_FONT_FILE")
        except FontMissing as error:
            raise RuleViolation(503, str(error)) from error
        return await asyncio.to_thread(
            collection_pdf, collection["title"], collection.get("description"), entries
        )

    async def transition(
        self, material_id: str, action: WorkflowAction, *, by: str, comment: str | None
    ) -> Document:
        """Move a material through its workflow; approving needs a second pair of eyes."""
        current = await self._get(material_id, with_history=True)
        target = next_status(current["status"], action)
        if action is WorkflowAction.APPROVE:
            check_reviewer(by, current)
        if action is WorkflowAction.SUBMIT:
            check_video_source(current)
        proposed = {**_state_of(current), "status": target.value}
        extra: Document = {}
        if target is MaterialStatus.PUBLISHED:
            extra["published_at"] = now_utc()
        return await self._write_version(
            current, proposed, action.value, by, ["status"], extra=extra, comment=comment
        )

    async def _write_version(
        self,
        current: Document,
        proposed: Document,
        action: str,
        by: str,
        changes: list[str],
        *,
        extra: Document | None = None,
        comment: str | None = None,
    ) -> Document:
        version = int(current["version"]) + 1
        now = now_utc()
        new_state: Document = {**proposed, **(extra or {}), "version": version, "updated_at": now}
        entry = _history_entry(version, action, by, now, changes, proposed, comment)
        after = {**current, **new_state}
        staged = self._outbox.stage(*_events_of(current, after, changes, now))
        if not await self._repo.apply_version(
            current["_id"], current["version"], new_state, entry, staged
        ):
            raise RuleViolation(409, "the material changed meanwhile; reload it and try again")
        await self._outbox.flush(self._repo.materials, current["_id"], staged)
        await self._indexed(after)
        return _without_internals(after)

    async def _indexed(self, material: Document) -> None:
        """Show a write in this process's search at once, and tell the other processes."""
        self._index.apply(material)
        try:
            await self._repo.bump_search_revision()
        except PyMongoError as error:
            # The write itself succeeded; other processes see it at their next rebuild.
            log.warning("could not bump the search revision: %s", error)

    async def _get_for_change(self, material_id: str) -> Document:
        current = await self._get(material_id, with_history=True)
        if current["status"] == MaterialStatus.ARCHIVED:
            raise RuleViolation(409, "an archived material cannot be changed")
        if current["status"] == MaterialStatus.IN_REVIEW:
            raise RuleViolation(409, "a material in review cannot be changed; reject it first")
        return current

    async def _get(self, material_id: str, *, with_history: bool = False) -> Document:
        material = await self._repo.get(material_id, with_history=with_history)
        if material is None:
            raise RuleViolation(404, "unknown material")
        return material

    async def _check_references(self, state: Document, current: Document) -> None:
        """Every id a material names must be known; only changed ones are looked up."""
        if state.get("access") == AccessLevel.PARTICIPANTS and not state.get("event_id"):
            raise RuleViolation(422, "participants-only material must name its event_id")
        if state.get("status") != MaterialStatus.DRAFT:
            check_video_source(state)
        event_id = _newly_named(state, current, "event_id")
        if event_id and not await self._access.event_exists(event_id):
            raise RuleViolation(422, f"unknown event {event_id}")
        organisation_id = _newly_named(state, current, "organisation_id")
        if organisation_id and await self._access.organisation(organisation_id) is None:
            raise RuleViolation(422, f"unknown organisation {organisation_id}")
        collection_id = _newly_named(state, current, "collection_id")
        if collection_id:
            collection = await self._repo.get(collection_id)
            if collection is None or collection["kind"] != MaterialKind.METHODOLOGICAL_COLLECTION:
                raise RuleViolation(422, f"unknown methodological collection {collection_id}")

    # --- Reading -------------------------------------------------------------------------

    async def read(self, material_id: str, reader: Reader) -> Document:
        """A material the reader may see; 404 otherwise, so drafts stay unknown."""
        material = await self._repo.get(material_id)
        if material is None or not may_read(reader, material, await self._events_of(reader)):
            raise RuleViolation(404, "unknown material")
        return material

    async def versions(self, material_id: str) -> list[Document]:
        """Every version of a material, oldest first (staff only)."""
        material = await self._get(material_id, with_history=True)
        history: list[Document] = material["history"]
        return history

    async def search(self, reader: Reader, query: SearchQuery) -> tuple[list[Document], int]:
        """A page of what the reader may see, matching the words and filters."""
        events = await self._events_of(reader)
        if self._index.loaded:
            return self._index.search(reader, events, query)
        # Until the index has loaded, the database answers (slowly on FerretDB).
        conditions: list[Document] = []
        visibility = visibility_filter(reader, events)
        if visibility:
            conditions.append(visibility)
        if query.status:
            if query.status not in readable_statuses(reader):
                return [], 0
            conditions.append({"status": query.status})
        if query.text:
            stems = search.terms(query.text)
            if stems:
                conditions.append({"search_terms": {"$all": stems}})
        for field in ("kind", "event_id", "federal_district", "collection_id"):
            value = getattr(query, field)
            if value:
                conditions.append({field: value})
        if query.tag:
            conditions.append({"tags": query.tag.strip().lower()})
        mongo_query: Document = (
            {"$and": conditions} if len(conditions) > 1 else (conditions[0] if conditions else {})
        )
        return await self._repo.search(mongo_query, limit=query.limit, offset=query.offset)

    async def open_file(
        self, material_id: str, reader: Reader, *, version: int | None = None
    ) -> FileToRead:
        """The current file (or an old version's, for staff) that the reader may download."""
        material = await self.read(material_id, reader)
        if version is None:
            file, file_version = material.get("file"), int(material["version"])
        else:
            if not reader.is_staff:
                raise RuleViolation(404, "unknown material version")
            entry = next(
                (e for e in await self.versions(material_id) if e["version"] == version), None
            )
            if entry is None:
                raise RuleViolation(404, "unknown material version")
            file, file_version = entry["state"].get("file"), version
        if not file:
            raise RuleViolation(404, "this material has no file")
        source = await self._files.open(file["file_id"])
        if source is None:
            raise RuleViolation(404, "the file is no longer stored")
        return FileToRead(material, file_version, file, source)

    async def record_download(self, target: FileToRead, reader: Reader, *, partial: bool) -> None:
        """Store and publish a download for statistics, under a pseudonym only."""
        now = now_utc()
        event = MaterialDownloaded(
            material_id=target.material["_id"],
            file_version=target.version,
            kind=target.material["kind"],
            reader=self.pseudonym(reader),
            reader_kind=reader.kind,
            partial=partial,
            downloaded_at=now,
        )
        staged: list[StagedEvent] = self._outbox.stage(event)
        record_id = new_id()
        await self._repo.record_download(
            {"_id": record_id, "material_id": target.material["_id"], "at": now}, staged
        )
        await self._outbox.flush(self._repo.downloads, record_id, staged)

    def pseudonym(self, reader: Reader) -> str:
        """A keyed hash of the reader: stable for statistics, useless for finding the person."""
        if reader.subject is None:
            return "anonymous"
        message = f"{reader.kind}:{reader.subject}".encode()
        return hmac.new(self._pseudonym_key, message, hashlib.sha256).hexdigest()[:32]

    async def _events_of(self, reader: Reader) -> set[str]:
        if reader.kind != "participant" or reader.subject is None:
            return set()
        return await self._access.events_of(reader.subject)

    # --- Erasure -------------------------------------------------------------------------

    async def forget_author(self, person_id: str) -> int:
        """Remove a person's name from every version of every material that credits them,
        from the search terms of those materials, and from the compiled PDFs of their
        collections (compiled again without it; earlier compiled versions are deleted).

        The name is removed from the materials last: until then a retry finds them again."""
        authored = await self._repo.authored_by(person_id)
        names: set[str] = set()
        collections: set[str] = set()
        for material in authored:
            for state in (material, *(entry["state"] for entry in material.get("history", []))):
                names.update(
                    author.get("name") or ""
                    for author in state.get("authors") or []
                    if author.get("person_id") == person_id
                )
                if state.get("collection_id"):
                    collections.add(str(state["collection_id"]))
            if material.get("kind") == MaterialKind.METHODOLOGICAL_COLLECTION:
                collections.add(material["_id"])
        names.discard("")
        for collection_id in sorted(collections):
            await self._compile_again_without(collection_id, person_id, names)
        changed = 0
        for material in authored:
            for _ in range(5):  # retried when an edit lands in between
                kept = set(_metadata_terms(_state_of(material)))
                name_terms = [term for term in search.terms(*names) if term not in kept]
                history = [
                    {
                        **entry,
                        "state": {
                            **entry["state"],
                            "authors": _erase(entry["state"].get("authors"), person_id),
                        },
                    }
                    for entry in material.get("history", [])
                ]
                authors = _erase(material.get("authors"), person_id)
                if await self._repo.replace_authors(
                    material["_id"], material["version"], authors, history, name_terms
                ):
                    changed += 1
                    break
                refreshed = await self._repo.get(material["_id"], with_history=True)
                if refreshed is None:
                    break
                material = refreshed
        if changed:
            await self._repo.bump_search_revision()
        return changed

    async def _compile_again_without(
        self, collection_id: str, person_id: str, names: set[str]
    ) -> None:
        """Erasure: a collection compiled with the person's name is compiled again without it
        (a new version, no second review: the contents did not change) and every earlier
        compiled PDF of it is deleted from the file store."""
        collection = await self._repo.get(collection_id, with_history=True)
        if collection is None:
            return
        compiled = [
            entry["state"]["file"]["file_id"]
            for entry in collection.get("history", [])
            if entry.get("action") == COMPILE_ACTION and (entry.get("state") or {}).get("file")
        ]
        if not compiled:
            return
        current_file = collection.get("file") or {}
        if current_file.get("file_id") in compiled:
            content = await self._collection_pdf(collection, person_id, names)
            stored = await self._files.store(
                chunks_of(content),
                filename=current_file.get("filename") or "collection.pdf",
                metadata={"material_id": collection_id, "uploaded_by": ERASURE_ACTOR},
            )
            file_terms = search.terms(stored.text)
            state = _state_of(collection)
            extra = {
                "file_terms": file_terms,
                "search_terms": search.merge_terms(_metadata_terms(state), file_terms),
            }
            try:
                await self._write_version(
                    collection,
                    {**state, "file": stored.describe()},
                    COMPILE_ACTION,
                    ERASURE_ACTOR,
                    ["file"],
                    extra=extra,
                    comment="compiled again without an erased author",
                )
            except RuleViolation:
                await self._files.delete(stored.file_id)
                raise  # the collection changed meanwhile: the erasure is retried
        for file_id in compiled:
            await self._files.delete(file_id)


ERASED_AUTHOR = "Автор (данные удалены по запросу)"
# Who wrote the versions an erasure makes, and the action of a compiled collection's version.
ERASURE_ACTOR = "erasure"
COMPILE_ACTION = "compile"


def _erase(authors: list[Document] | None, person_id: str) -> list[Document]:
    return [
        {"name": ERASED_AUTHOR, "person_id": None, "affiliation": None}
        if author.get("person_id") == person_id
        else author
        for author in authors or []
    ]


def _newly_named(state: Document, current: Document, field: str) -> str | None:
    """An id the new state names that the current one did not (only those are looked up)."""
    value = state.get(field)
    return str(value) if value and value != current.get(field) else None


def _complete(state: Document) -> Document:
    """A state with every versioned field present, so versions compare field by field."""
    complete = {name: state.get(name) for name in VERSIONED_FIELDS}
    complete["authors"] = complete["authors"] or []
    complete["tags"] = sorted(set(complete["tags"] or []))
    url = complete["video_url"]
    complete["video_platform"] = video_platform(url) if url else None
    return complete


def _reviewed_again(
    current: Document, proposed: Document, changes: list[str]
) -> tuple[Document, list[str]]:
    """The proposed state, back in review when it changes a published material's substance.

    Readers then stop getting the material (404, out of listings and search) until a
    moderator approves the new version: the material keeps a single current state, so
    serving the last approved version meanwhile would need a second, published copy of it
    in every read path. Never showing unreviewed content is the moderated outcome.
    """
    if not needs_review_again(current["status"], changes, proposed):
        return proposed, changes
    back = {**proposed, "status": MaterialStatus.IN_REVIEW.value}
    return back, changed_fields(current, back)


def _state_of(material: Document) -> Document:
    return {name: material.get(name) for name in VERSIONED_FIELDS}


def _metadata_terms(state: Document) -> list[str]:
    return search.terms(
        state.get("title"), state.get("description"), " ".join(state.get("tags") or [])
    )


def _history_entry(
    version: int,
    action: str,
    by: str,
    at: Any,
    changes: list[str],
    state: Document,
    comment: str | None = None,
) -> Document:
    return {
        "version": version,
        "action": action,
        "by": by,
        "at": at,
        "changes": changes,
        "comment": comment,
        "state": {name: state.get(name) for name in VERSIONED_FIELDS},
    }


def _without_internals(material: Document) -> Document:
    hidden = {"history", "search_terms", "file_terms", "outbox", "outbox_since"}
    return {key: value for key, value in material.items() if key not in hidden}


def _events_of(
    before: Document, after: Document, changes: list[str], now: Any
) -> list[IntegrationEvent]:
    """What a change tells other services: only published material is news."""
    facts = {
        "material_id": after["_id"],
        "version": after["version"],
        "kind": after["kind"],
        "title": after["title"],
        "access": after["access"],
        "language": after["language"],
        "federal_district": after.get("federal_district"),
        "track": after.get("track"),
        "event_id": after.get("event_id"),
        "organisation_id": after.get("organisation_id"),
        "tags": after.get("tags") or [],
    }
    was, now_status = before["status"], after["status"]
    if now_status == MaterialStatus.PUBLISHED and was != MaterialStatus.PUBLISHED:
        return [MaterialPublished(**facts, published_at=now)]
    if was == MaterialStatus.PUBLISHED and now_status != MaterialStatus.PUBLISHED:
        # Archived, or sent back to review by a change: either way withdrawn from publication.
        return [MaterialArchived(**facts, archived_at=now)]
    if now_status == MaterialStatus.PUBLISHED:
        return [MaterialUpdated(**facts, changes=changes, updated_at=now)]
    return []
