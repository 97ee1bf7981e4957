"""Operators' versions of the message templates, kept in MongoDB and served by the renderer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.mongo import Document
from etnik.notification.rendering import TemplateRenderer


class TemplateStore:
    """Every saved version of every edited template; the latest one is in use."""

    def __init__(self, db: AsyncDatabase[Document], renderer: TemplateRenderer) -> None:
        self.collection = db["templates"]
        self._renderer = renderer

    async def load_into_renderer(self) -> None:
        """Serve the latest saved version of each edited template."""
        async for document in self.collection.find({}):
            latest = document["versions"][-1]
            self._renderer.use_edited(document["_id"], latest["source"])

    async def refresh_forever(self, interval_s: float = 10.0) -> None:
        """Pick up edits made through other replicas."""
        while True:
            await asyncio.sleep(interval_s)
            await self.load_into_renderer()

    async def save(self, name: str, source: str, author: str) -> int:
        """Store a new version and serve it; returns its number."""
        document = await self.collection.find_one({"_id": name})
        version = len(document["versions"]) + 1 if document else 1
        entry = {
            "version": version,
            "source": source,
            "author": author,
            "created_at": datetime.now(UTC),
        }
        await self.collection.update_one({"_id": name}, {"$push": {"versions": entry}}, upsert=True)
        self._renderer.use_edited(name, source)
        return version

    async def history(self, name: str) -> list[dict[str, Any]]:
        """Every saved version, oldest first."""
        document = await self.collection.find_one({"_id": name})
        return list(document["versions"]) if document else []
