"""What reporting does with each event it consumes: fold it into the active projections."""

from __future__ import annotations

from typing import Any, Protocol

from etnik.common.consumer import EventConsumer
from etnik.common.events import CloudEvent, EventReader
from etnik.reporting.projections import PROJECTED_EVENTS


class Projections(Protocol):
    """Where consumed events go (Projector: every generation being written, in MongoDB)."""

    async def apply(self, envelope: CloudEvent, event: EventReader) -> None: ...

    async def record_position(self, origin: dict[str, Any], outcome: str) -> None: ...


def subscribe(consumer: EventConsumer, projector: Projections) -> None:
    """Every projected event type, read through reporting's own reader (inbound.py), goes to
    the projector; positions are kept after each message, whatever became of it."""

    async def project(envelope: CloudEvent, event: EventReader) -> None:
        await projector.apply(envelope, event)

    for reader in PROJECTED_EVENTS:
        consumer.on(reader)(project)
    consumer.after_each_message(projector.record_position)
