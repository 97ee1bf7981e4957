"""Publishing CloudEvents to Kafka, each publish awaited until Kafka has acknowledged it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.usecase import DefaultPublisher

from etnik.common.events import EVENT_TYPES, CloudEvent, IntegrationEvent
from etnik.common.kafka import KafkaConnection
from etnik.common.logging import request_id_var, traceparent_var

log = logging.getLogger(__name__)

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"


class PublishFailed(RuntimeError):
    """Kafka did not acknowledge an event in time; it stays wherever it was staged."""


class EventPublisher:
    """Sends envelopes to the topic of their type, keyed by aggregate id."""

    def __init__(
        self, broker: KafkaBroker, connection: KafkaConnection, *, source: str, timeout_s: float
    ) -> None:
        self._broker = broker
        self._connection = connection
        self._timeout_s = timeout_s
        self._publishers: dict[str, DefaultPublisher] = {}
        self.source = source

    def declare(self, contracts: Iterable[type[IntegrationEvent]]) -> None:
        """Register the topics this service produces, so that its AsyncAPI document lists them."""
        by_topic: dict[str, list[str]] = {}
        for contract in contracts:
            by_topic.setdefault(contract.topic, []).append(contract.event_type)
        for topic, types in by_topic.items():
            self._publishers[topic] = self._broker.publisher(
                topic,
                title=f"{topic}:publish",
                description="CloudEvents 1.0 (structured JSON) of types: " + ", ".join(types),
                schema=CloudEvent,
            )

    @property
    def topics(self) -> list[str]:
        """The topics declared for publishing."""
        return sorted(self._publishers)

    def envelope(self, data: IntegrationEvent) -> CloudEvent:
        """Wrap one event's data with this service as its source."""
        return CloudEvent.wrap(data, source=self.source)

    async def publish(self, event: CloudEvent | Mapping[str, Any]) -> None:
        """Publish one event and wait for Kafka's acknowledgement, or raise PublishFailed."""
        envelope = event if isinstance(event, CloudEvent) else CloudEvent.model_validate(event)
        contract = EVENT_TYPES.get(envelope.type)
        if contract is None:
            raise PublishFailed(f"no contract declares {envelope.type}")
        if not self._connection.started.is_set():
            raise PublishFailed("Kafka connection not established yet")
        body = json.dumps(envelope.model_dump(mode="json"), ensure_ascii=False).encode()
        headers = {"content-type": STRUCTURED_CONTENT_TYPE, "ce_id": envelope.id}
        if traceparent := traceparent_var.get():
            headers["traceparent"] = traceparent
        if request_id := request_id_var.get():
            headers["x-request-id"] = request_id
        publisher = self._publishers.get(contract.topic)
        send = (
            publisher.publish(body, key=(envelope.subject or "").encode(), headers=headers)
            if publisher is not None
            else self._broker.publish(
                body, contract.topic, key=(envelope.subject or "").encode(), headers=headers
            )
        )
        try:
            await asyncio.wait_for(send, timeout=self._timeout_s)
        except (TimeoutError, KafkaError, OSError) as error:
            raise PublishFailed(f"{envelope.type} {envelope.id}: {error!r}") from error

    async def publish_raw(
        self, topic: str, body: bytes, *, key: bytes | None, headers: dict[str, str]
    ) -> None:
        """Publish bytes as they are (the dead-letter path), waiting for the acknowledgement."""
        try:
            await asyncio.wait_for(
                self._broker.publish(body, topic, key=key, headers=headers),
                timeout=self._timeout_s,
            )
        except (TimeoutError, KafkaError, OSError) as error:
            raise PublishFailed(f"to {topic}: {error!r}") from error
