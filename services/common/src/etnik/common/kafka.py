"""Kafka plumbing: the broker factory, topic creation and a connection that heals itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry, Gauge

from etnik.common.settings import ServiceSettings

log = logging.getLogger(__name__)


def create_broker(settings: ServiceSettings, registry: CollectorRegistry) -> KafkaBroker:
    """A broker whose producer is idempotent and waits for every in-sync replica."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=f"etnik-{settings.service_name}",
        enable_idempotence=True,
        acks="all",
        linger_ms=settings.kafka_linger_ms,
        request_timeout_ms=int(settings.kafka_publish_timeout_s * 1000) + 2000,
        middlewares=(KafkaPrometheusMiddleware(registry=registry, app_name=settings.service_name),),
        logger=logging.getLogger(f"etnik.{settings.service_name}.broker"),
    )


def dead_letter_topic(service: str) -> str:
    """Where a service's consumers put the messages they could not handle."""
    return f"etnik.{service}.deadletter.v1"


async def ensure_topics(settings: ServiceSettings, topics: Iterable[str]) -> None:
    """Create the topics a service reads or writes; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"etnik-{settings.service_name}-admin",
        request_timeout_ms=5000,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = sorted(set(topics) - existing)
        if not missing:
            return
        new = [
            NewTopic(
                name,
                num_partitions=settings.kafka_topic_partitions,
                replication_factor=settings.kafka_replication_factor,
            )
            for name in missing
        ]
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)
        log.info("created topics %s", ", ".join(missing))
    finally:
        await admin.close()


class KafkaConnection:
    """Starts the broker in the background and keeps trying until Kafka answers.

    A service must come up and stay up while Kafka is away; aiokafka reconnects by itself
    once the first connection has been made, so only the start needs retrying here.
    """

    def __init__(
        self,
        broker: KafkaBroker,
        settings: ServiceSettings,
        registry: CollectorRegistry,
    ) -> None:
        self.broker = broker
        self._settings = settings
        self._topics: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self.started = asyncio.Event()
        self._up = Gauge(
            "etnik_kafka_connected",
            "1 when the broker has started and the last readiness probe reached Kafka",
            registry=registry,
        )

    def start(self, topics: Iterable[str]) -> None:
        """Create the topics and start the broker in the background; returns at once."""
        self._topics = sorted(set(topics))
        self._task = asyncio.create_task(self._connect_forever(), name="kafka-connect")

    async def _connect_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                await ensure_topics(self._settings, self._topics)
                await self.broker.start()
            except (TimeoutError, KafkaError, OSError) as error:
                log.warning("Kafka not reachable yet (%s); retrying in %.1fs", error, delay)
                with contextlib.suppress(Exception):
                    await self.broker.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            else:
                log.info("connected to Kafka at %s", self._settings.kafka_bootstrap_servers)
                self.started.set()
                self._up.set(1)
                return

    async def is_ready(self, within_s: float = 2.0) -> bool:
        """Whether the broker has started and Kafka answers a metadata request now."""
        if not self.started.is_set():
            self._up.set(0)
            return False
        ok = bool(await self.broker.ping(timeout=within_s))
        self._up.set(1 if ok else 0)
        return ok

    async def stop(self) -> None:
        """Stop connecting and close the broker."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.broker.stop()
