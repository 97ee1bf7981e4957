"""Files in GridFS: streamed in and out, typed by content, hashed, and bounded in size."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from gridfs.asynchronous import AsyncGridFSBucket, AsyncGridOut
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.mongo import Document
from etnik.content.domain import RuleViolation
from etnik.content.extraction import extract_text, extracts_text
from etnik.content.sniffing import SNIFF_BYTES, is_allowed, sniff

BUCKET = "files"
CHUNK_BYTES = 255 * 1024
# Text extraction needs random access; the upload is spooled to disk past this size.
_SPOOL_IN_MEMORY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    """A file now in GridFS, with what was learned while it streamed in."""

    file_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    text: str

    def describe(self) -> dict[str, Any]:
        """The file as a material version records it (without its text)."""
        return {
            "file_id": self.file_id,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


class FileStore:
    """The GridFS bucket of material files."""

    def __init__(self, db: AsyncDatabase[Document], *, max_bytes: int) -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=CHUNK_BYTES)
        self.max_bytes = max_bytes

    async def store(
        self, chunks: AsyncIterator[bytes], *, filename: str, metadata: dict[str, Any]
    ) -> StoredFile:
        """Stream a body into GridFS; RuleViolation 415 for a refused type, 413 when too big.

        Nothing is written before the type is known, and a refused or broken upload is
        aborted, which removes every chunk it wrote: no half-stored file stays behind.
        """
        head = bytearray()
        async for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
        self._check_size(len(head))
        if not head:
            raise RuleViolation(422, "the file is empty")
        mime = sniff(bytes(head[:SNIFF_BYTES]))
        if not is_allowed(mime):
            raise RuleViolation(
                415, f"files of type {mime or 'unknown'} are not accepted (judged by content)"
            )
        assert mime is not None
        digest = hashlib.sha256()
        size = 0
        upload = self._bucket.open_upload_stream(
            filename, metadata={**metadata, "content_type": mime}
        )
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY_BYTES) as spool:
            keep_copy = extracts_text(mime)
            try:
                pending: bytes = bytes(head)
                while True:
                    if pending:
                        size += len(pending)
                        self._check_size(size)
                        digest.update(pending)
                        await upload.write(pending)
                        if keep_copy:
                            spool.write(pending)
                    try:
                        pending = await anext(chunks)
                    except StopAsyncIteration:
                        break
                await upload.close()
            except BaseException:
                await asyncio.shield(upload.abort())
                raise
            text = ""
            if keep_copy:
                spool.seek(0)
                text = await asyncio.to_thread(extract_text, mime, spool)  # type: ignore[arg-type]
        return StoredFile(
            file_id=str(upload._id),
            filename=filename,
            content_type=mime,
            size=size,
            sha256=digest.hexdigest(),
            text=text,
        )

    def _check_size(self, size: int) -> None:
        if size > self.max_bytes:
            raise RuleViolation(413, f"files may be at most {self.max_bytes} bytes")

    async def open(self, file_id: str) -> AsyncGridOut | None:
        """A file to read from, or None when it does not exist."""
        try:
            return await self._bucket.open_download_stream(ObjectId(file_id))
        except (NoFile, InvalidId):
            return None

    async def text_of(self, file: dict[str, Any]) -> str:
        """The searchable text of a stored PDF or plain-text file, read through a spool file."""
        if not extracts_text(file["content_type"]):
            return ""
        source = await self.open(file["file_id"])
        if source is None:
            return ""
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY_BYTES) as spool:
            while chunk := await source.readchunk():
                spool.write(chunk)
            spool.seek(0)
            text: str = await asyncio.to_thread(extract_text, file["content_type"], spool)  # type: ignore[arg-type]
        return text

    async def delete(self, file_id: str) -> None:
        """Remove a file that no version refers to (a lost race), ignoring one already gone."""
        try:
            await self._bucket.delete(ObjectId(file_id))
        except NoFile:
            return


async def chunks_of(content: bytes) -> AsyncIterator[bytes]:
    """A body made on the spot, as the chunks an upload would arrive in."""
    for start in range(0, len(content), CHUNK_BYTES):
        yield content[start : start + CHUNK_BYTES]


async def read_range(source: AsyncGridOut, first: int, last: int) -> AsyncIterator[bytes]:
    """Bytes first..last (inclusive), one GridFS chunk at a time."""
    await source.seek(first)
    remaining = last - first + 1
    while remaining > 0:
        data = await source.read(min(remaining, CHUNK_BYTES))
        if not data:
            break
        remaining -= len(data)
        yield data
