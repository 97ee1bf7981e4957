"""Idempotency-Key for HTTP writes: a retried request gets the first request's response."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import HTTPException, status
from fastapi.responses import JSONResponse
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from etnik.common.mongo import Document

IDEMPOTENCY_HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

Action = Callable[[], Awaitable[tuple[int, Any]]]


def fingerprint(payload: Any) -> str:
    """A stable digest of a request body, to tell a retry from a different request."""
    encoded = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


class IdempotencyStore:
    """Remembers the response to each (scope, key) in the service's own database."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._collection = collection

    async def ensure_indexes(self) -> None:
        """Index by creation time, for expiry and clean-up."""
        await self._collection.create_index("created_at")

    async def run(
        self, *, scope: str, key: str | None, request_fingerprint: str, action: Action
    ) -> JSONResponse:
        """Run the action once per key; a repeat returns the stored response unchanged."""
        if key is None:
            code, body = await action()
            return JSONResponse(body, status_code=code)
        if not _VALID_KEY.match(key):
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                f"{IDEMPOTENCY_HEADER} must be 8-128 characters of letters, digits, . _ : -",
            )
        record_id = f"{scope}:{key}"
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
            return await self._replay(record_id, request_fingerprint)
        try:
            code, body = await action()
        except BaseException:
            # Nothing was accepted under this key: a retry must be free to try again.
            await self._collection.delete_one({"_id": record_id, "state": "in_progress"})
            raise
        if code < 500:
            await self._collection.update_one(
                {"_id": record_id},
                {"$set": {"state": "done", "status_code": code, "body": body}},
            )
        else:
            await self._collection.delete_one({"_id": record_id})
        return JSONResponse(body, status_code=code)

    async def _replay(self, record_id: str, request_fingerprint: str) -> JSONResponse:
        stored = await self._collection.find_one({"_id": record_id})
        if stored is None or stored.get("state") != "done":
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                "a request with this Idempotency-Key is still being processed; retry shortly",
            )
        if stored.get("fingerprint") != request_fingerprint:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY,
                "this Idempotency-Key was used for a different request",
            )
        return JSONResponse(
            stored.get("body"),
            status_code=int(stored["status_code"]),
            headers={"Idempotent-Replayed": "true"},
        )
