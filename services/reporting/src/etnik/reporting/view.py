"""The report view: every replayed topic folded in memory on this replica, kept current.

The grant report and the dashboard count every registration of a period, up to millions.
Reading those from the projection collections took over a minute on FerretDB v1 (which scans
for every query). So each replica tails every topic itself, outside any consumer group, into
the fold a rebuild uses (fold.py: the same writes as the projections, held column-wise), and
counts from memory.

The view knows exactly which offsets it holds. A report is computed in one synchronous step
once the view has read everything Kafka held when the report was asked for, so the offsets
it returns are exactly the ones the report was built from: freezing stores them, and
replaying the topics to them gives the same report (see ReportingService.reproduce).

On start the view replays the topics from their beginning; until it has caught up, reports
wait (and then answer "not ready yet"). Kafka away: it retries and resumes where it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from etnik.common.errors import Refused
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import ProjectionWriter
from etnik.reporting.rebuild import (
    PAUSING_ERRORS,
    PartitionKey,
    cancelled_from_outside,
    end_offsets,
    groupless_consumer,
    partitions_of,
    projected_events,
    stop_quietly,
)

log = logging.getLogger(__name__)
Result = TypeVar("Result")


class StreamsUnavailable(Refused):
    """Kafka cannot be read now: 503, naming the kind of failure but no address."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(
            503,
            f"the event streams cannot be read now ({cause.__class__.__name__}); try again shortly",
            headers={"Retry-After": "30"},
        )


class ViewUnavailable(StreamsUnavailable):
    """Kafka cannot be asked how far its topics go, and what the view holds will not do."""


class ViewBehind(Refused):
    """The view has not yet read what Kafka holds; the answer says how far it has come."""

    def __init__(self, consumed: int, total: int) -> None:
        super().__init__(
            503,
            f"the report is not ready yet: {consumed} of {total} events read since the "
            "service started; try again in a minute",
            headers={"Retry-After": "30"},
        )
        self.consumed = consumed
        self.total = total


@dataclass(frozen=True)
class ViewState:
    """What the view has read, for metrics and the operations API."""

    status: str
    reason: str | None
    applied: int
    skipped: int
    positions: dict[PartitionKey, int]


class ReportView:
    """A fold of every topic, tailed from Kafka, with the offsets it holds."""

    def __init__(
        self,
        writer: ProjectionWriter,
        *,
        bootstrap_servers: str,
        topics: Sequence[str],
        batch_size: int = 2000,
        retry_s: float = 1.0,
        refresh_partitions_s: float = 10.0,
        request_timeout_s: float = 10.0,
    ) -> None:
        self._writer = writer
        self._bootstrap = bootstrap_servers
        self._topics = list(topics)
        self._batch_size = batch_size
        self._retry_s = retry_s
        self._refresh_s = refresh_partitions_s
        self._timeout_s = request_timeout_s
        self._fold = ProjectionFold()
        self._positions: dict[TopicPartition, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: AIOKafkaConsumer | None = None
        self._moved = asyncio.Condition()
        self._refresh_now = asyncio.Event()
        self._status = "starting"
        self._reason: str | None = None
        self._applied = self._skipped = 0
        self._caught_up = False  # has held, once, everything its partitions had

    def state(self) -> ViewState:
        """How far the view has read."""
        return ViewState(
            self._status,
            self._reason,
            self._applied,
            self._skipped,
            {(tp.topic, tp.partition): offset for tp, offset in self._positions.items()},
        )

    async def run(self) -> None:
        """Tail the topics forever; an outage pauses, then the view resumes where it was."""
        while True:
            consumer = groupless_consumer(self._bootstrap, "etnik-reporting-view", self._timeout_s)
            # Kept open for reports, which ask which partitions exist and where they end: a
            # new client costs 0.5 s, and the tailing consumer answers only after its fetch.
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self._bootstrap,
                client_id="etnik-reporting-view-admin",
                request_timeout_ms=int(self._timeout_s * 1000),
            )
            offsets = groupless_consumer(
                self._bootstrap, "etnik-reporting-view-offsets", self._timeout_s
            )
            try:
                await asyncio.wait_for(admin.start(), self._timeout_s * 2)
                await asyncio.wait_for(offsets.start(), self._timeout_s * 2)
                await asyncio.wait_for(consumer.start(), self._timeout_s * 2)
                self._admin, self._offsets = admin, offsets
                self._consumer = consumer
                async with self._moved:
                    self._moved.notify_all()
                await self._tail(consumer)
            except asyncio.CancelledError as cancelled:
                if cancelled_from_outside():
                    raise
                self._paused(cancelled)  # aiokafka cancels its requests when a broker drops
            except PAUSING_ERRORS as error:
                self._paused(error)
            finally:
                self._consumer = self._offsets = self._admin = None
                await stop_quietly(consumer, self._timeout_s)
                await stop_quietly(offsets, self._timeout_s)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(admin.close(), self._timeout_s)
            await asyncio.sleep(self._retry_s)

    def _paused(self, error: BaseException) -> None:
        self._status = "paused"
        self._reason = f"{error.__class__.__name__}: {error}"[:500]
        log.warning("report view paused: %s; resuming when Kafka answers", self._reason)

    async def _tail(self, consumer: AIOKafkaConsumer) -> None:
        assigned: set[TopicPartition] = set()
        listed_at = float("-inf")
        while True:
            if self._refresh_now.is_set() or time.monotonic() - listed_at > self._refresh_s:
                # Topics appear as services first publish: assign new partitions as they come.
                self._refresh_now.clear()
                assigned = await self._assign(consumer, assigned)
                listed_at = time.monotonic()
                self._status, self._reason = "running", None
            batches = await consumer.getmany(timeout_ms=200, max_records=self._batch_size)
            for tp, records in batches.items():
                events, skipped = projected_events(records)
                for envelope, payload in events:
                    for collection, write in self._writer.writes_for(envelope, payload):
                        self._fold.apply(collection, write)
                self._applied += len(events)
                self._skipped += skipped
                # Moved with the fold, before any await: a report never sees offsets behind it.
                self._positions[tp] = max(self._positions[tp], records[-1].offset + 1)
            # Then past gaps (compaction, markers): the consumer's position goes past them.
            for tp in assigned:
                self._positions[tp] = max(self._positions[tp], await consumer.position(tp))
            if not self._caught_up:
                self._caught_up = all(
                    self._positions[tp] >= (consumer.highwater(tp) or 0) for tp in assigned
                ) and all(consumer.highwater(tp) is not None for tp in assigned)
            async with self._moved:
                self._moved.notify_all()
            # getmany returns prefetched records without suspending: let requests run.
            await asyncio.sleep(0)

    async def _assign(
        self, consumer: AIOKafkaConsumer, assigned: set[TopicPartition]
    ) -> set[TopicPartition]:
        partitions = set(await self._partitions())
        if partitions == assigned:
            return assigned
        consumer.assign(sorted(partitions, key=lambda tp: (tp.topic, tp.partition)))
        for tp in partitions:
            if tp in self._positions:
                consumer.seek(tp, self._positions[tp])
            else:
                await consumer.seek_to_beginning(tp)
                self._positions[tp] = await consumer.position(tp)
        return partitions

    async def report(
        self,
        compute: Callable[[ProjectionFold], Result],
        *,
        timeout_s: float,
        current: bool = True,
    ) -> tuple[Result, dict[PartitionKey, int]]:
        """Compute from the view once it holds everything Kafka held at the call.

        Returns what `compute` gave and the offsets it was computed at (per partition, the
        next offset not included). `compute` runs synchronously, so nothing is applied while
        it reads. ViewBehind if the view does not catch up within the timeout. If Kafka
        cannot be asked for its end offsets, ViewUnavailable, unless `current` is False and
        the view has caught up before: then what it holds is used.
        """
        deadline = time.monotonic() + timeout_s
        # What it holds may serve: fail fast on an outage rather than wait for Kafka.
        stale_allowed = not current and self._caught_up
        try:
            ends = await self._end_offsets(deadline, wait_for_kafka=not stale_allowed)
        except PAUSING_ERRORS as error:
            if not stale_allowed:
                raise ViewUnavailable(error) from error
            ends = {}
        async with self._moved:
            while not self._holds(ends):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    consumed = sum(min(self._positions.get(tp, 0), end) for tp, end in ends.items())
                    raise ViewBehind(consumed, sum(ends.values()))
                if any(tp not in self._positions for tp in ends):
                    self._refresh_now.set()  # a topic created since the view last looked
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._moved.wait(), remaining)
        positions = {(tp.topic, tp.partition): offset for tp, offset in self._positions.items()}
        return compute(self._fold), positions

    async def _partitions(self) -> list[TopicPartition]:
        admin = self._admin
        if admin is None:
            raise TimeoutError(f"the report view is not reading Kafka ({self._reason})")
        return await partitions_of(admin, self._topics, self._timeout_s)

    def _holds(self, ends: dict[TopicPartition, int]) -> bool:
        return all(self._positions.get(tp, 0) >= end for tp, end in ends.items() if end > 0)

    async def _end_offsets(
        self, deadline: float, *, wait_for_kafka: bool
    ) -> dict[TopicPartition, int]:
        """Kafka's end offsets now, asked through the view's consumer once it has one."""
        async with self._moved:
            while (consumer := self._offsets) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self._status == "paused" and not wait_for_kafka):
                    raise TimeoutError(f"the report view is not reading Kafka ({self._reason})")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._moved.wait(), remaining)
        return await end_offsets(consumer, await self._partitions(), self._timeout_s)
