"""Lag and freshness of the projections, per topic-partition, on /metrics.

A background loop reads the end offset of every consumed partition from Kafka and the last
applied offset from the active generation; the collector turns them into gauges when
Prometheus scrapes, so the age of the last applied event is exact at scrape time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pymongo.errors import PyMongoError

from etnik.reporting.projections import Generations
from etnik.reporting.rebuild import (
    cancelled_from_outside,
    end_offsets,
    groupless_consumer,
    partitions_of,
    stop_quietly,
)
from etnik.reporting.view import ReportView

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartitionLag:
    """How far one partition's projection is behind Kafka."""

    topic: str
    partition: int
    end_offset: int
    last_applied: int | None
    applied_at: float | None  # seconds since the epoch

    @property
    def lag(self) -> int:
        """Messages on the partition that the projection has not applied yet."""
        consumed = -1 if self.last_applied is None else self.last_applied
        return max(self.end_offset - consumed - 1, 0)


def partition_lags(
    ends: dict[tuple[str, int], int], positions: dict[str, dict[str, object]]
) -> list[PartitionLag]:
    """Join Kafka's end offsets with the projection's positions ("topic:partition" keys)."""
    rows = []
    for (topic, partition), end in sorted(ends.items()):
        position = positions.get(f"{topic}:{partition}")
        offset = position.get("offset") if position else None
        applied_at = position.get("applied_at") if position else None
        rows.append(
            PartitionLag(
                topic,
                partition,
                end,
                int(offset) if isinstance(offset, int) else None,
                applied_at.timestamp() if isinstance(applied_at, datetime) else None,
            )
        )
    return rows


class LagCollector(Collector):
    """Exposes the last measured lags; age is computed when scraped."""

    def __init__(self) -> None:
        self.lags: list[PartitionLag] = []
        self.view_lags: list[PartitionLag] = []
        self.generation = 0

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Gauges for Prometheus."""
        lag = GaugeMetricFamily(
            "etnik_reporting_projection_lag_messages",
            "End offset minus the next offset to apply, per topic-partition",
            labels=["topic", "partition"],
        )
        age = GaugeMetricFamily(
            "etnik_reporting_projection_last_applied_age_seconds",
            "Seconds since the projection last applied a message of this topic-partition",
            labels=["topic", "partition"],
        )
        now = time.time()
        for row in self.lags:
            labels = [row.topic, str(row.partition)]
            lag.add_metric(labels, row.lag)
            if row.applied_at is not None:
                age.add_metric(labels, max(now - row.applied_at, 0.0))
        generation = GaugeMetricFamily(
            "etnik_reporting_projection_generation", "The projection generation reads use"
        )
        generation.add_metric([], self.generation)
        view_lag = GaugeMetricFamily(
            "etnik_reporting_view_lag_messages",
            "End offset minus the next offset the report view reads, per topic-partition",
            labels=["topic", "partition"],
        )
        for row in self.view_lags:
            view_lag.add_metric([row.topic, str(row.partition)], row.lag)
        yield lag
        yield age
        yield generation
        yield view_lag


class LagMonitor:
    """Measures lag periodically for the collector."""

    def __init__(
        self,
        generations: Generations,
        registry: CollectorRegistry,
        *,
        bootstrap_servers: str,
        topics: Sequence[str],
        interval_s: float,
        view: ReportView | None = None,
    ) -> None:
        self._generations = generations
        self._view = view
        self._bootstrap = bootstrap_servers
        self._topics = list(topics)
        self._interval_s = interval_s
        self.collector = LagCollector()
        registry.register(self.collector)

    async def run(self) -> None:
        """Measure forever; an outage leaves the last values in place."""
        while True:
            consumer = groupless_consumer(self._bootstrap, "etnik-reporting-lag", 5.0)
            # Kept open between measurements: a new admin client costs half a second.
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self._bootstrap,
                client_id="etnik-reporting-lag-admin",
                request_timeout_ms=5000,
            )
            try:
                await asyncio.wait_for(admin.start(), 10)
                await asyncio.wait_for(consumer.start(), 10)
                while True:
                    await self.measure(consumer, admin)
                    await asyncio.sleep(self._interval_s)
            except (KafkaError, OSError, TimeoutError, PyMongoError) as error:
                log.warning("lag not measured (%s); retrying", error)
            except asyncio.CancelledError:
                if cancelled_from_outside():
                    raise
                log.warning("lag not measured (Kafka connection dropped); retrying")
            finally:
                await stop_quietly(consumer, 10)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(admin.close(), 10)
            await asyncio.sleep(self._interval_s)

    async def measure(self, consumer: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> None:
        """One measurement of every partition of the consumed topics."""
        partitions = await partitions_of(admin, self._topics, timeout_s=10)
        ends = await end_offsets(consumer, partitions, timeout_s=10)
        store = await self._generations.active()
        positions = await store.positions_by_partition()
        self.collector.lags = partition_lags(
            {(tp.topic, tp.partition): int(end) for tp, end in ends.items()}, positions
        )
        self.collector.generation = store.generation
        if self._view is not None:
            held = self._view.state().positions
            self.collector.view_lags = [
                PartitionLag(
                    row.topic,
                    row.partition,
                    row.end_offset,
                    held.get((row.topic, row.partition), 0) - 1,
                    None,
                )
                for row in self.collector.lags
            ]
