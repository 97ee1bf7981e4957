"""Staging events in an aggregate's outbox and publishing them right after the write."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, StagedEvent


class EventStaging:
    """Wraps events in envelopes for an outbox write, and flushes them after it."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def stage(self, *events: IntegrationEvent) -> list[StagedEvent]:
        """Envelopes ready to be written with the state change they belong to."""
        return self._outbox.stage(*events)

    async def flush(
        self, collection: AsyncCollection[Document], document_id: Any, staged: list[StagedEvent]
    ) -> None:
        """Publish now if Kafka is there; otherwise the relay does it later."""
        await self._outbox.flush(collection, document_id, staged)
