"""The MongoDB client: PyMongo's async API, which works with MongoDB and FerretDB alike."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from etnik.common.settings import ServiceSettings

Document = dict[str, Any]


def create_mongo_client(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    """A client that fails fast when the server is away, so that requests answer quickly."""
    return AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        uuidRepresentation="standard",
        appname=f"etnik-{settings.service_name}",
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
        connectTimeoutMS=settings.mongodb_timeout_ms,
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
