"""Idempotency-Key for HTTP writes: a retried request gets the first request's response."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, PyMongoError

from etnik.common.errors import Refused
from etnik.common.mongo import Document

log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

Action = Callable[[], Awaitable[tuple[int, Any]]]


def fingerprint(payload: Any) -> str:
    """A stable digest of a request body, to tell a retry from a different request."""
    encoded = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


class IdempotencyStore:
    """Remembers the response to each (scope, key) in the service's own database."""

    def __init__(
        self, collection: AsyncCollection[Document], *, abandoned_after_s: float = 30.0
    ) -> None:
        self._collection = collection
        # A record still "in progress" after this long was abandoned: its process stopped, or
        # the record could not be finished. A retry takes it over. The work behind a key is
        # safe to repeat (found again by natural keys), so taking over a slow request that
        # is still alive at worst does the same work twice, with the same result.
        self._abandoned_after = timedelta(seconds=abandoned_after_s)

    async def ensure_indexes(self) -> None:
        """Index by creation time, for expiry and clean-up."""
        await self._collection.create_index("created_at")

    async def run(
        self, *, scope: str, key: str | None, request_fingerprint: str, action: Action
    ) -> JSONResponse:
        """Run the action once per key; a repeat returns the stored response unchanged.

        A use case's refusal (`Refused`) is an answer like any other: stored under the key, so
        a retry is refused the same way without acting again.
        """
        action = _refusals_answered(action)
        if key is None:
            code, body = await action()
            return JSONResponse(body, status_code=code)
        if not _VALID_KEY.match(key):
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                f"{IDEMPOTENCY_HEADER} must be 8-128 characters of letters, digits, . _ : -",
            )
        record_id = f"{scope}:{key}"
        stored = await self._claim(record_id, request_fingerprint)
        if stored is not None:
            return self._replay(stored, request_fingerprint)
        try:
            code, body = await action()
        except BaseException:
            # Nothing was accepted under this key: a retry must be free to try again.
            await self._forget(record_id)
            raise
        if code >= 500:
            await self._forget(record_id)
            return JSONResponse(body, status_code=code)
        try:
            await self._collection.update_one(
                {"_id": record_id},
                {"$set": {"state": "done", "status_code": code, "body": body}},
            )
        except PyMongoError as error:
            # The work is done, only its record is not: answer, and leave the key free so
            # that a retry repeats the work (and finds its result) instead of waiting on a
            # record that would never finish.
            log.warning("could not record the answer under %s: %s", record_id, error)
            await self._forget(record_id)
        return JSONResponse(body, status_code=code)

    async def _claim(self, record_id: str, request_fingerprint: str) -> Document | None:
        """Take the key for this request (None), or the record another request holds."""
        for _ in range(3):
            try:
                await self._collection.insert_one(
                    {
                        "_id": record_id,
                        "fingerprint": request_fingerprint,
                        "state": "in_progress",
                        "created_at": datetime.now(UTC),
                    }
                )
            except DuplicateKeyError:
                stored = await self._collection.find_one({"_id": record_id})
                if stored is None:
                    continue  # forgotten meanwhile: claim again
                if stored.get("state") == "done" or not self._abandoned(stored):
                    return stored
                log.warning("taking over %s, abandoned while in progress", record_id)
                await self._collection.delete_one({"_id": record_id})
                continue
            return None
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "a request with this Idempotency-Key is still being processed; retry shortly",
        )

    def _abandoned(self, stored: Document) -> bool:
        # The services' clients are tz_aware (etnik.common.mongo), so times come back aware.
        created: datetime = stored["created_at"]
        return created <= datetime.now(UTC) - self._abandoned_after

    async def _forget(self, record_id: str) -> None:
        """Free a key (best effort: a record left behind is taken over once abandoned)."""
        try:
            await self._collection.delete_one({"_id": record_id})
        except PyMongoError as error:
            log.warning("could not free %s: %s", record_id, error)

    @staticmethod
    def _replay(stored: Document, request_fingerprint: str) -> JSONResponse:
        if stored.get("state") != "done":
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "a request with this Idempotency-Key is still being processed; retry shortly",
            )
        if stored.get("fingerprint") != request_fingerprint:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "this Idempotency-Key was used for a different request",
            )
        return JSONResponse(
            stored.get("body"),
            status_code=int(stored["status_code"]),
            headers={"Idempotent-Replayed": "true"},
        )


def _refusals_answered(action: Action) -> Action:
    """The action, with a refusal it raises turned into its answer (status, detail)."""

    async def answered() -> tuple[int, Any]:
        try:
            return await action()
        except Refused as refused:
            return refused.status_code, {"detail": refused.reason}

    return answered
