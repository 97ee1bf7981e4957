"""The MongoDB client: PyMongo's async API, which works with MongoDB and FerretDB alike."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)
from pymongo.monitoring import CommandListener

from etnik.common.query_log import QueryLog
from etnik.common.settings import ServiceSettings

Document = dict[str, Any]

# Server error codes that say "not now" rather than "not this": elections, shutdowns, time
# limits and write conflicts (MongoDB's own list of retryable and transient errors).
TRANSIENT_CODES = frozenset(
    {6, 7, 50, 89, 91, 112, 134, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436}
)
# FerretDB v1 on SQLite refuses a write while another holds the database, with code 1.
TRANSIENT_MESSAGES = ("database is locked", "SQLITE_BUSY")


def is_transient(error: BaseException) -> bool:
    """Whether a database error is an outage or contention that passes, not the request's
    fault: worth repeating the same work later instead of giving up on it."""
    if isinstance(error, ConnectionFailure | ExecutionTimeout | WTimeoutError):
        return True
    if not isinstance(error, OperationFailure):
        return False
    if error.code in TRANSIENT_CODES:
        return True
    if any(
        error.has_error_label(label)
        for label in ("RetryableWriteError", "TransientTransactionError")
    ):
        return True
    return any(text in str(error) for text in TRANSIENT_MESSAGES)


def create_mongo_client(
    settings: ServiceSettings, *, event_listeners: Sequence[CommandListener] = ()
) -> AsyncMongoClient[Document]:
    """A client that fails fast when the server is away, so that requests answer quickly.

    Profilers pass `event_listeners` to time every command the service sends."""
    listeners = list(event_listeners)
    if settings.mongodb_query_log:
        path = Path(settings.mongodb_query_log) / f"{settings.service_name}-{os.getpid()}.jsonl"
        listeners.append(QueryLog(path))
    return AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        uuidRepresentation="standard",
        appname=f"etnik-{settings.service_name}",
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
        connectTimeoutMS=settings.mongodb_timeout_ms,
        event_listeners=listeners,
    )


def service_database(
    client: AsyncMongoClient[Document], settings: ServiceSettings
) -> AsyncDatabase[Document]:
    """The service's own database."""
    return client[settings.database_name]


async def mongo_is_reachable(client: AsyncMongoClient[Document]) -> bool:
    """Whether the server answers a ping now."""
    try:
        await client.admin.command("ping")
    except PyMongoError:
        return False
    return True
