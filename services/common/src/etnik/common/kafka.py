"""Kafka plumbing: the broker factory, topic creation and a connection that heals itself."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from prometheus_client import CollectorRegistry, Gauge

from etnik.common.settings import ServiceSettings
from etnik.common.topics import dead_letter_topic, topic_config

# dead_letter_topic lives with the topics' definition; services import it from here too.
__all__ = ["KafkaConnection", "create_broker", "dead_letter_topic", "ensure_topics"]

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


# DescribeConfigs v1+: where a value comes from; 1 is a topic's own (dynamic) setting.
_DYNAMIC_TOPIC_CONFIG = 1


async def ensure_topics(settings: ServiceSettings, topics: Iterable[str]) -> None:
    """Create the topics a service reads or writes, and give each its defined configuration.

    Topics made by an earlier version (plain deletion, default retention) are brought to the
    definition in `etnik.common.topics` too, unless the deployment manages topics itself
    (`KAFKA_MANAGE_TOPIC_CONFIGS=false`, the Helm chart: Strimzi's Topic Operator).
    """
    overrides = settings.compacted_topic_overrides
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"etnik-{settings.service_name}-admin",
        request_timeout_ms=5000,
    )
    await admin.start()
    try:
        wanted = sorted(set(topics))
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if missing:
            new = [
                NewTopic(
                    name,
                    num_partitions=settings.kafka_topic_partitions,
                    replication_factor=settings.kafka_replication_factor,
                    topic_configs=topic_config(name, overrides),
                )
                for name in missing
            ]
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
            log.info("created topics %s", ", ".join(missing))
        if settings.kafka_manage_topic_configs:
            await _align_configs(admin, wanted, overrides)
    finally:
        await admin.close()


async def _align_configs(
    admin: AIOKafkaAdminClient, topics: list[str], overrides: Mapping[str, str]
) -> None:
    """Set each topic's defined configuration where it differs; other settings are kept."""
    defined = {name: topic_config(name, overrides) for name in topics}
    defined = {name: config for name, config in defined.items() if config}
    if not defined:
        return
    current = await _dynamic_configs(admin, list(defined))
    for _ in range(3):
        # A topic created a moment ago (here or by another service) may not be known to the
        # broker that answers yet: ask again for those.
        unread = [name for name in defined if name not in current]
        if not unread:
            break
        await asyncio.sleep(0.5)
        current.update(await _dynamic_configs(admin, unread))
    changes = []
    for name, config in defined.items():
        have = current.get(name)
        if have is None or all(have.get(key) == value for key, value in config.items()):
            continue
        # AlterConfigs replaces a topic's whole set: what it had besides ours is sent along
        # (min.insync.replicas on a cluster, an operator's own setting).
        changes.append(ConfigResource(ConfigResourceType.TOPIC, name, {**have, **config}))
        log.info(
            "topic %s: configuration %s becomes %s",
            name,
            {key: have.get(key) for key in config},
            config,
        )
    if not changes:
        return
    for response in await admin.alter_configs(changes):
        for error_code, error_message, _type, name in response.resources:
            if error_code:
                # The service still runs: the topic keeps its old settings, operators are told.
                log.error(
                    "topic %s: configuration refused (%s): %s", name, error_code, error_message
                )


async def _dynamic_configs(
    admin: AIOKafkaAdminClient, topics: list[str]
) -> dict[str, dict[str, str]]:
    """The settings each topic has of its own (not the broker's defaults)."""
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in topics]
    )
    found: dict[str, dict[str, str]] = {}
    for response in responses:
        described: dict[str, Any] = response.to_object()
        for resource in described["resources"]:
            if resource["error_code"]:
                log.warning(
                    "topic %s: configuration unreadable (%s): %s",
                    resource["resource_name"],
                    resource["error_code"],
                    resource["error_message"],
                )
                continue
            found[resource["resource_name"]] = {
                entry["config_names"]: entry["config_value"]
                for entry in resource["config_entries"]
                if _is_own_setting(entry) and entry["config_value"] is not None
            }
    return found


def _is_own_setting(entry: Mapping[str, Any]) -> bool:
    if "config_source" in entry:
        return bool(entry["config_source"] == _DYNAMIC_TOPIC_CONFIG)
    return not entry["is_default"]


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
