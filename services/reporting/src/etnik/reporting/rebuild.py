"""Rebuild: replay every topic from the beginning into a new generation, then switch to it.

The replay folds the whole history in memory (see fold.py) and inserts the result in bulk.
Then the generation is marked as being built, so the live consumer writes each new event
to it as well as to the active one, and the replay applies what arrived in the meantime
until it has reached the end offsets again; only then do the reads switch over. Every
projection write is idempotent and order-independent, so an event seen by both paths
counts once.

If Kafka goes away the rebuild pauses (status "paused", with the reason), keeps what it has
applied, and resumes from the next offset of each partition when Kafka answers again.

Command line: python -m etnik.reporting.rebuild
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from pymongo.errors import PyMongoError

from etnik.common.errors import Refused
from etnik.common.events import CloudEvent, EventReader, MalformedEvent, parse_envelope
from etnik.common.mongo import Document, create_mongo_client, service_database
from etnik.reporting.fold import ProjectionFold
from etnik.reporting.projections import (
    PROJECTED_EVENTS,
    READERS,
    STATE_ID,
    Generations,
    ProjectionStore,
)
from etnik.reporting.settings import ReportingSettings

log = logging.getLogger(__name__)

REPLAYED_TOPICS = sorted({reader.topic for reader in PROJECTED_EVENTS})
# Faults that pause the rebuild until the infrastructure is back.
PAUSING_ERRORS: tuple[type[BaseException], ...] = (KafkaError, OSError, TimeoutError, PyMongoError)


async def topic_partitions(
    bootstrap_servers: str, topics: Sequence[str], timeout_s: float
) -> list[TopicPartition]:
    """Every partition of those of the topics that exist now."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="etnik-reporting-admin",
        request_timeout_ms=int(timeout_s * 1000),
    )
    await asyncio.wait_for(admin.start(), timeout_s)
    try:
        return await partitions_of(admin, topics, timeout_s)
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def partitions_of(
    admin: AIOKafkaAdminClient, topics: Sequence[str], timeout_s: float
) -> list[TopicPartition]:
    """Every partition of those of the topics that exist now, asked through a started client."""
    existing = set(await asyncio.wait_for(admin.list_topics(), timeout_s))
    wanted = [topic for topic in topics if topic in existing]
    described = await asyncio.wait_for(admin.describe_topics(wanted), timeout_s) if wanted else []
    return sorted(
        (
            TopicPartition(topic["topic"], int(partition["partition"]))
            for topic in described
            for partition in topic["partitions"]
        ),
        key=lambda tp: (tp.topic, tp.partition),
    )


async def end_offsets(
    consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition], timeout_s: float
) -> dict[TopicPartition, int]:
    """Where each partition ends now. Ask through a consumer that is not fetching: one that is
    answers only after its long-poll fetch."""
    if not partitions:
        return {}
    ends: dict[TopicPartition, int] = await asyncio.wait_for(
        consumer.end_offsets(list(partitions)), timeout_s
    )
    return ends


def groupless_consumer(
    bootstrap_servers: str, client_id: str, timeout_s: float
) -> AIOKafkaConsumer:
    """A consumer outside any group: it reads where it is told, and commits nothing."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=client_id,
        request_timeout_ms=int(timeout_s * 1000),
    )


@contextlib.contextmanager
def heap_frozen_per_batch() -> Iterator[Callable[[], None]]:
    """While a fold grows, keep the cyclic collector from rescanning what it already holds.

    A fold keeps millions of small dicts alive; each full collection walks all of them, which
    made parsing three times slower than with the collector off (measured in this module's
    benchmark). `gc.freeze()` after each batch moves what is alive so far out of the
    collector's sight; `unfreeze` at the end hands it back.
    """
    try:
        yield gc.freeze
    finally:
        gc.unfreeze()


def projected_events(
    records: Sequence[Any],
) -> tuple[list[tuple[CloudEvent, EventReader]], int]:
    """The records the projections use, read as the live consumer reads them (the envelope,
    then the data through reporting's reader of its type), and how many were skipped: not a
    CloudEvent, a type reporting does not project, or data without what reporting reads (the
    live consumer skipped or dead-lettered those already)."""
    events: list[tuple[CloudEvent, EventReader]] = []
    skipped = 0
    for record in records:
        try:
            envelope = parse_envelope(record.value)
            reader = READERS.get(envelope.type)
            if reader is None:
                skipped += 1
                continue
            events.append((envelope, reader.model_validate(envelope.data)))
        except (MalformedEvent, ValidationError):
            skipped += 1
    return events, skipped


PartitionKey = tuple[str, int]


class RebuildBusy(Refused):
    """Another rebuild is running: 409."""

    def __init__(self, reason: str) -> None:
        super().__init__(409, reason)


@dataclass
class PartitionProgress:
    """How far the replay of one topic-partition has come."""

    topic: str
    partition: int
    consumed: int = 0
    end: int = 0


@dataclass
class RebuildProgress:
    """What an operator sees of a rebuild."""

    generation: int
    replaces: int
    status: str = "starting"
    phase: str = "replaying"  # then "loading", then "catching_up"
    reason: str | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    heartbeat_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    applied: int = 0
    skipped: int = 0
    partitions: list[PartitionProgress] = field(default_factory=list)

    def as_document(self) -> Document:
        """The progress as stored and returned by the API."""
        return asdict(self)


class Rebuilder:
    """Claims a new generation, replays the topics into it and switches the reads over."""

    def __init__(
        self,
        generations: Generations,
        *,
        bootstrap_servers: str,
        topics: Sequence[str] = REPLAYED_TOPICS,
        stale_after_s: float = 60.0,
        batch_size: int = 500,
        retry_s: float = 1.0,
        progress_interval_s: float = 1.0,
        request_timeout_s: float = 10.0,
    ) -> None:
        self._generations = generations
        self._bootstrap = bootstrap_servers
        self._topics = list(topics)
        self._stale_after = timedelta(seconds=stale_after_s)
        self._batch_size = batch_size
        self._retry_s = retry_s
        self._progress_interval_s = progress_interval_s
        self._timeout_s = request_timeout_s

    async def progress(self) -> Document | None:
        """The latest rebuild's progress, if there was one."""
        state = await self._generations.read_state(fresh=True)
        rebuild: Document | None = state.get("rebuild")
        if rebuild and self._stopped_beating(rebuild):
            # The replica running it stopped (or its task crashed): say so, rather than let
            # the operator wait on a "running" that will never move again.
            reason = "the replica running it stopped; start the rebuild again"
            return {**rebuild, "status": "interrupted", "reason": reason}
        return rebuild

    def _stopped_beating(self, rebuild: Document) -> bool:
        """Whether an unfinished rebuild's heartbeat is older than a live one's can be."""
        heartbeat = rebuild.get("heartbeat_at")
        return rebuild.get("status") != "completed" and (
            heartbeat is None or _aware(heartbeat) <= datetime.now(UTC) - self._stale_after
        )

    async def claim(self) -> RebuildProgress:
        """Reserve a new generation for a rebuild; RebuildBusy if one is under way."""
        await self._generations.ensure_initialised()
        state = await self._generations.read_state(fresh=True)
        current = state.get("rebuild")
        abandoned: int | None = None
        if current and current.get("status") != "completed":
            if not self._stopped_beating(current):
                raise RebuildBusy(f"rebuild of generation {current['generation']} is under way")
            abandoned = int(current["generation"])
        active = int(state["active"])
        latest = int(state.get("latest") or active)
        progress = RebuildProgress(generation=latest + 1, replaces=active)
        claimed = await self._generations.state.update_one(
            {"_id": STATE_ID, "active": active, "latest": state.get("latest")},
            {"$set": {"building": None, "latest": latest + 1, "rebuild": progress.as_document()}},
        )
        if claimed.modified_count != 1:
            raise RebuildBusy("another rebuild claimed a generation at the same moment")
        if abandoned is not None and abandoned != active:
            await self._generations.store(abandoned).drop()
        return progress

    async def run(self, progress: RebuildProgress) -> RebuildProgress:
        """Replay until caught up, pausing through outages, then switch the reads over.

        First the whole history is folded in memory and inserted in bulk; then the live
        consumer starts writing the new generation too, and the replay applies what came
        meanwhile until it has caught up again. Only then do the reads switch.
        """
        store = self._generations.store(progress.generation)
        await store.drop()
        await store.ensure_indexes()
        positions: dict[TopicPartition, int] = {}
        # Column-wise: a programme's history as documents would take about a kilobyte each.
        fold = ProjectionFold()
        started = time.monotonic()
        with heap_frozen_per_batch() as after_batch:
            await self._until_caught_up(store, progress, positions, fold, after_batch)
        replayed = time.monotonic()
        progress.phase = "loading"
        await self._save(progress)
        await store.load(fold.documents())
        log.info(
            "rebuild of generation %d: replayed %d events in %.1f s, loaded %d documents in %.1f s",
            progress.generation,
            progress.applied,
            replayed - started,
            len(fold),
            time.monotonic() - replayed,
        )
        await store.record_positions(
            {(tp.topic, tp.partition): offset - 1 for tp, offset in positions.items() if offset}
        )
        del fold
        await self._generations.state.update_one(
            {"_id": STATE_ID, "latest": progress.generation},
            {"$set": {"building": progress.generation}},
        )
        # Wait until every live consumer writes the new generation too, then catch up.
        await asyncio.sleep(self._generations.cache_s * 2)
        progress.phase = "catching_up"
        await self._until_caught_up(store, progress, positions, None)
        await self._switch(progress)
        return progress

    async def _until_caught_up(
        self,
        store: ProjectionStore,
        progress: RebuildProgress,
        positions: dict[TopicPartition, int],
        fold: ProjectionFold | None,
        after_batch: Callable[[], None] = lambda: None,
    ) -> None:
        while True:
            try:
                await self._replay(store, progress, positions, fold, after_batch)
                return
            except asyncio.CancelledError as cancelled:
                if cancelled_from_outside():
                    raise
                # aiokafka cancels its in-flight requests when the broker connection drops.
                await self._pause(progress, cancelled)
            except PAUSING_ERRORS as error:
                await self._pause(progress, error)

    async def _pause(self, progress: RebuildProgress, error: BaseException) -> None:
        progress.status = "paused"
        progress.reason = f"{error.__class__.__name__}: {error}"[:500]
        log.warning("rebuild paused: %s; resuming when it answers", progress.reason)
        with contextlib.suppress(PyMongoError):
            await self._save(progress)
        await asyncio.sleep(self._retry_s)

    async def _replay(
        self,
        store: ProjectionStore,
        progress: RebuildProgress,
        positions: dict[TopicPartition, int],
        fold: ProjectionFold | None,
        after_batch: Callable[[], None],
    ) -> None:
        consumer = self._consumer("etnik-reporting-rebuild")
        # End offsets through a second client: the reading one answers only after its
        # long-poll fetch (0.5 s), which took a quarter of the replay's time.
        offsets = self._consumer("etnik-reporting-rebuild-offsets")
        try:
            partitions = await self._assign_every_partition(consumer)
            await asyncio.wait_for(offsets.start(), self._timeout_s * 2)
            for partition in partitions:
                if partition in positions:
                    consumer.seek(partition, positions[partition])
                else:
                    await consumer.seek_to_beginning(partition)
                    positions[partition] = await consumer.position(partition)
            progress.status, progress.reason = "running", None
            ends = await end_offsets(offsets, partitions, self._timeout_s)
            last_saved = 0.0
            while True:
                if time.monotonic() - last_saved > self._progress_interval_s:
                    ends = await end_offsets(offsets, partitions, self._timeout_s)
                    self._describe(progress, positions, ends)
                    await self._save(progress)
                    last_saved = time.monotonic()
                if all(positions[tp] >= ends[tp] for tp in partitions):
                    # Measured now, not at the start: live traffic meanwhile is included.
                    ends = await end_offsets(offsets, partitions, self._timeout_s)
                    if all(positions[tp] >= ends[tp] for tp in partitions):
                        self._describe(progress, positions, ends)
                        return
                batches = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
                if batches:
                    await self._apply_batch(store, fold, progress, batches, positions)
                    after_batch()
                # getmany returns prefetched records without suspending: let requests run.
                await asyncio.sleep(0)
        finally:
            await stop_quietly(consumer, self._timeout_s)
            await stop_quietly(offsets, self._timeout_s)

    def _consumer(self, client_id: str) -> AIOKafkaConsumer:
        return groupless_consumer(self._bootstrap, client_id, self._timeout_s)

    async def _assign_every_partition(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Start the consumer on every partition of the replayed topics that exist now."""
        partitions = await topic_partitions(self._bootstrap, self._topics, self._timeout_s)
        await asyncio.wait_for(consumer.start(), self._timeout_s * 2)
        consumer.assign(partitions)
        return partitions

    async def fold_until(
        self, store: ProjectionStore, until: dict[PartitionKey, int]
    ) -> ProjectionFold:
        """Fold every topic from its beginning up to given end offsets (exclusive) in memory.

        Partitions not named in `until` contribute nothing, so a frozen report replays to
        exactly what it was built from. LookupError if a partition named is gone.
        """
        consumer = self._consumer("etnik-reporting-replay")
        fold = ProjectionFold()
        try:
            partitions = await self._assign_every_partition(consumer)
            ends = {(tp.topic, tp.partition): until.get((tp.topic, tp.partition), 0)
                    for tp in partitions}  # fmt: skip
            missing = sorted(set(until) - set(ends))
            if missing:
                raise LookupError(f"partitions no longer in Kafka: {missing}")
            pending = set()
            for tp in partitions:
                await consumer.seek_to_beginning(tp)
                start = await consumer.position(tp)
                if ends[(tp.topic, tp.partition)] > start:
                    pending.add(tp)
                else:
                    consumer.pause(tp)
            with heap_frozen_per_batch() as after_batch:
                await self._fold_pending(consumer, store, fold, ends, pending, after_batch)
        finally:
            await stop_quietly(consumer, self._timeout_s)
        return fold

    async def _fold_pending(
        self,
        consumer: AIOKafkaConsumer,
        store: ProjectionStore,
        fold: ProjectionFold,
        ends: dict[PartitionKey, int],
        pending: set[TopicPartition],
        after_batch: Callable[[], None],
    ) -> None:
        while pending:
            batches = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
            for tp, records in batches.items():
                end = ends[(tp.topic, tp.partition)]
                events, _ = projected_events([r for r in records if r.offset < end])
                for envelope, payload in events:
                    for collection, write in store.writes_for(envelope, payload):
                        fold.apply(collection, write)
            # By position, not by the last record: compaction leaves gaps in offsets.
            for tp in list(pending):
                if await consumer.position(tp) >= ends[(tp.topic, tp.partition)]:
                    pending.discard(tp)
                    consumer.pause(tp)
            after_batch()
            await asyncio.sleep(0)  # as in _replay: let requests run between batches

    @staticmethod
    async def _apply_batch(
        store: ProjectionStore,
        fold: ProjectionFold | None,
        progress: RebuildProgress,
        batches: dict[TopicPartition, list[Any]],
        positions: dict[TopicPartition, int],
    ) -> None:
        events, skipped = projected_events(
            [record for records in batches.values() for record in records]
        )
        last = {tp: records[-1].offset for tp, records in batches.items() if records}
        if fold is not None:
            for envelope, payload in events:
                for collection, write in store.writes_for(envelope, payload):
                    fold.apply(collection, write)
        else:
            await store.apply_many(events)
            await store.record_positions({(tp.topic, tp.partition): o for tp, o in last.items()})
        # Only now is the batch in: a pause from here resumes after it, not within it.
        for partition, offset in last.items():
            positions[partition] = offset + 1
        progress.applied += len(events)
        progress.skipped += skipped

    @staticmethod
    def _describe(
        progress: RebuildProgress,
        positions: dict[TopicPartition, int],
        ends: dict[TopicPartition, int],
    ) -> None:
        progress.partitions = [
            PartitionProgress(tp.topic, tp.partition, positions.get(tp, 0), end)
            for tp, end in sorted(ends.items(), key=lambda item: (item[0].topic, item[0].partition))
        ]

    async def _save(self, progress: RebuildProgress) -> None:
        progress.heartbeat_at = datetime.now(UTC)
        await self._generations.state.update_one(
            {"_id": STATE_ID, "latest": progress.generation},
            {"$set": {"rebuild": progress.as_document()}},
        )

    async def _switch(self, progress: RebuildProgress) -> None:
        state = await self._generations.read_state(fresh=True)
        progress.status = "completed"
        progress.finished_at = datetime.now(UTC)
        progress.heartbeat_at = progress.finished_at
        await self._generations.state.update_one(
            {"_id": STATE_ID, "latest": progress.generation},
            {
                "$set": {
                    "active": progress.generation,
                    "building": None,
                    "previous": progress.replaces,
                    "rebuild": progress.as_document(),
                }
            },
        )
        await self._generations.read_state(fresh=True)
        # Keep the generation just replaced (a consumer with a stale view may still write
        # it for a moment); the one before it is no longer read by anyone.
        older = state.get("previous")
        if older and int(older) not in {progress.generation, progress.replaces}:
            await self._generations.store(int(older)).drop()
        log.info(
            "rebuild switched reads to generation %d (%d events applied, %d skipped)",
            progress.generation,
            progress.applied,
            progress.skipped,
        )


async def stop_quietly(consumer: AIOKafkaConsumer, timeout_s: float) -> None:
    """Close a consumer whatever state Kafka is in; only a real cancellation goes through."""
    try:
        await asyncio.wait_for(consumer.stop(), timeout_s)
    except asyncio.CancelledError:
        # Stopping while the broker is away, aiokafka's fetcher re-raises its own cancellation.
        if cancelled_from_outside():
            raise
    except Exception as error:
        log.debug("consumer did not stop cleanly: %r", error)


def cancelled_from_outside() -> bool:
    """Whether this task was asked to stop, rather than a library cancelling its own work."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def rebuild_once(settings: ReportingSettings) -> RebuildProgress:
    """Run one whole rebuild against the configured Kafka and MongoDB."""
    client = create_mongo_client(settings)
    try:
        generations = Generations(
            service_database(client, settings),
            settings.pseudonym_key,
            cache_s=settings.reporting_generation_cache_s,
        )
        rebuilder = Rebuilder(
            generations,
            bootstrap_servers=settings.kafka_bootstrap_servers,
            stale_after_s=settings.reporting_rebuild_stale_s,
        )
        progress = await rebuilder.claim()
        return await rebuilder.run(progress)
    finally:
        await client.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Rebuild the projections from the beginning of every topic and switch to them."""
    argparse.ArgumentParser(description=main.__doc__).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        progress = asyncio.run(rebuild_once(ReportingSettings()))
    except RebuildBusy as busy:
        print(f"not started: {busy}", file=sys.stderr)
        return 2
    print(
        f"generation {progress.generation} active: {progress.applied} events applied, "
        f"{progress.skipped} skipped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
