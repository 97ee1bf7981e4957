"""Use cases of video materials: chapters, subtitle tracks, and counting views.

A view is the start of a playback of a published material's video file, reported once per
playback by the portal. It counts once per viewer and material within a window: one
document per (material, viewer) holds the last counted view and the event it caused, so
that deciding, counting and the outbox are one atomic write (no transaction needed).
The viewer is a keyed hash only: of the signed-in person, or of the random key an anonymous
viewer's browser keeps; no address, agent or person id is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from etnik.common.contracts.content import MaterialViewed
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, update_with_outbox
from etnik.content.domain import Reader, RuleViolation
from etnik.content.files import FileStore, chunks_of
from etnik.content.repository import now_utc
from etnik.content.service import MaterialService
from etnik.content.sniffing import TEXT, WEBVTT, sniff
from etnik.content.video import (
    MAX_SUBTITLE_BYTES,
    MAX_SUBTITLE_TRACKS,
    ChaptersIn,
    chapters_vtt,
    check_chapters,
    check_video_material,
    check_viewable,
    decode_subtitles,
    parse_webvtt,
    subtitle_label,
)

VIDEO_VIEWS = "video_views"
CHAPTERS_ACTION = "chapters"
SUBTITLES_ACTION = "subtitles"


class VideoService:
    """Chapters and subtitles of video materials (new versions), and their views."""

    def __init__(
        self,
        db: AsyncDatabase[Document],
        materials: MaterialService,
        files: FileStore,
        outbox: Outbox,
        *,
        view_window_s: float,
    ) -> None:
        self.views = db[VIDEO_VIEWS]
        self._materials = materials
        self._files = files
        self._outbox = outbox
        self._window = timedelta(seconds=view_window_s)

    async def ensure_indexes(self) -> None:
        """An erasure's look-up of a person's views."""
        await self.views.create_index("viewer")

    # --- Chapters ------------------------------------------------------------------------

    async def set_chapters(self, material_id: str, body: ChaptersIn, *, by: str) -> Document:
        """Replace a video's chapter list (and duration): a new version, reviewed again."""

        def fields(current: Document) -> dict[str, Any]:
            check_video_material(current)
            duration = body.duration_s if body.duration_s is not None else current.get("duration_s")
            chapters = [chapter.model_dump() for chapter in body.chapters]
            check_chapters(chapters, duration)
            # No chapters is stored as none, so that clearing them on a material that never
            # had any changes nothing.
            return {"chapters": chapters or None, "duration_s": duration}

        return await self._materials.change(material_id, fields, by=by, action=CHAPTERS_ACTION)

    async def chapters_track(self, material_id: str, reader: Reader) -> str:
        """The chapters as a WebVTT track (kind="chapters") for the reader, 404 if none."""
        material = await self._materials.read(material_id, reader)
        if not material.get("chapters"):
            raise RuleViolation(404, "this video has no chapters")
        return chapters_vtt(material["chapters"], material.get("duration_s"))

    # --- Subtitles -----------------------------------------------------------------------

    async def upload_subtitles(
        self,
        material_id: str,
        language: str,
        chunks: AsyncIterator[bytes],
        *,
        label: str | None,
        by: str,
    ) -> Document:
        """Check a WebVTT file, store it and make it the language's track in a new version.

        413 past the size limit, 415 for what is not text at all, 422 naming the bad line.
        """
        content = bytearray()
        async for chunk in chunks:
            content += chunk
            if len(content) > MAX_SUBTITLE_BYTES:
                raise RuleViolation(
                    413, f"subtitle files may be at most {MAX_SUBTITLE_BYTES} bytes"
                )
        if not content:
            raise RuleViolation(422, "the subtitle file is empty")
        kind = sniff(bytes(content).removeprefix(b"\xef\xbb\xbf")[:4096])
        # A known binary type is the wrong file; unrecognised bytes may be text in another
        # encoding (Windows-1251 is common), which decoding names by its line below.
        if kind not in (None, TEXT, WEBVTT):
            raise RuleViolation(
                415,
                f"subtitles must be a WebVTT text file, not {kind} (judged by content)",
            )
        text = decode_subtitles(bytes(content))
        cues = parse_webvtt(text)
        # Checked before storing anything, and again in the write below.
        check_video_material(await self._materials.read(material_id, _STAFF))
        stored = await self._files.store(
            chunks_of(text.encode()),
            filename=f"{language}.vtt",
            metadata={"material_id": material_id, "uploaded_by": by, "subtitles": language},
        )
        track = {
            "language": language,
            "label": subtitle_label(language, label),
            "file_id": stored.file_id,
            "size": stored.size,
            "sha256": stored.sha256,
            "cues": len(cues),
        }

        def fields(current: Document) -> dict[str, Any]:
            check_video_material(current)
            others = [t for t in current.get("subtitles") or [] if t["language"] != language]
            if len(others) >= MAX_SUBTITLE_TRACKS:
                raise RuleViolation(
                    422, f"a video may have at most {MAX_SUBTITLE_TRACKS} subtitle tracks"
                )
            return {"subtitles": sorted([*others, track], key=lambda t: t["language"])}

        try:
            return await self._materials.change(material_id, fields, by=by, action=SUBTITLES_ACTION)
        except RuleViolation:
            # The file belongs to no version.
            await self._files.delete(stored.file_id)
            raise

    async def remove_subtitles(self, material_id: str, language: str, *, by: str) -> Document:
        """Remove a language's track: a new version (older versions keep their file)."""

        def fields(current: Document) -> dict[str, Any]:
            tracks = current.get("subtitles") or []
            if not any(track["language"] == language for track in tracks):
                raise RuleViolation(404, f"this video has no subtitles in «{language}»")
            kept = [track for track in tracks if track["language"] != language]
            return {"subtitles": kept or None}

        return await self._materials.change(material_id, fields, by=by, action=SUBTITLES_ACTION)

    async def subtitles_text(self, material_id: str, language: str, reader: Reader) -> str:
        """A track's WebVTT text, for a reader who may see the material (404 otherwise)."""
        material = await self._materials.read(material_id, reader)
        track = next(
            (t for t in material.get("subtitles") or [] if t["language"] == language), None
        )
        if track is None:
            raise RuleViolation(404, f"this video has no subtitles in «{language}»")
        source = await self._files.open(track["file_id"])
        if source is None:
            raise RuleViolation(404, "the subtitle file is no longer stored")
        content: bytes = await source.read()
        return content.decode("utf-8")

    # --- Views ---------------------------------------------------------------------------

    async def count_view(self, material_id: str, reader: Reader, viewer_key: str | None) -> bool:
        """Count a playback as a view unless the viewer's last one is within the window.

        404 for a material the reader may not see, 409 when it is not published or has no
        video, 422 for an anonymous viewer without a key. True when it counted.
        """
        material = await self._materials.read(material_id, reader)
        check_viewable(material)
        if reader.subject is None:
            if viewer_key is None:
                raise RuleViolation(422, "an anonymous view needs the viewer key of its browser")
            viewer = self._materials.pseudonym(Reader(kind="anonymous", subject=viewer_key))
        else:
            viewer = self._materials.pseudonym(reader)
        now = now_utc()
        record_id = f"{material_id}:{viewer}"
        staged = self._outbox.stage(
            MaterialViewed(
                material_id=material_id,
                version=int(material["version"]),
                kind=str(material["kind"]),
                title=str(material["title"]),
                viewer=viewer,
                viewer_kind=reader.kind,
                viewed_at=now,
            )
        )
        update = update_with_outbox(
            {
                "$set": {
                    "material_id": material_id,
                    "viewer": viewer,
                    "viewer_kind": reader.kind,
                    "last_counted_at": now,
                },
                "$setOnInsert": {"first_at": now},
                "$inc": {"views": 1},
            },
            staged,
        )
        try:
            # Matches only a record whose last view is outside the window; a recent one makes
            # the upsert insert a second document under the same id, which is refused.
            await self.views.update_one(
                {"_id": record_id, "last_counted_at": {"$lte": now - self._window}},
                update,
                upsert=True,
            )
        except DuplicateKeyError:
            return False
        await self._outbox.flush(self.views, record_id, staged)
        return True

    async def forget_person(self, person_id: str) -> int:
        """Erasure: remove the view records under the person's pseudonym."""
        viewer = self._materials.pseudonym(Reader(kind="participant", subject=person_id))
        result = await self.views.delete_many({"viewer": viewer})
        return result.deleted_count


# Uploads check the material's kind before storing a file, whatever its status.
_STAFF = Reader(kind="operator", is_staff=True)
