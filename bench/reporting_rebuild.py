"""Rebuild of the reporting projections, against a bare aiokafka consumer reading the same topics.

Starts Kafka and FerretDB on free ports, publishes N registration-lifecycle events
(confirmed, waitlisted, cancelled, attendance; 3 partitions per topic), then in the same run:
- baseline: a bare AIOKafkaConsumer reading every partition from the beginning to its end;
- ours: a whole rebuild (claim a generation, replay into FerretDB, switch) by the Rebuilder.
Goal (issue 6): our events per second at least 0.3 of the baseline's.

    uv run python bench/reporting_rebuild.py [--events 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from etnik.common.contracts.registration import (
    AttendanceRecorded,
    ParticipantCategory,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationWaitlisted,
)
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.devstack import Stack
from etnik.reporting.projections import Generations
from etnik.reporting.rebuild import Rebuilder

TOPICS = [RegistrationConfirmed.topic, AttendanceRecorded.topic]
CATEGORIES = list(ParticipantCategory)
T0 = datetime(2026, 1, 10, 9, tzinfo=UTC)


def lifecycle(number: int) -> IntegrationEvent:
    """The n-th event: mostly confirmations, some waitlisted, cancelled and attendance."""
    registration = number // 2
    facts = {
        "registration_id": f"r{registration}",
        "event_id": f"e{registration % 50}",
        "person_id": f"p{registration % 100_000}",
        "category": CATEGORIES[registration % len(CATEGORIES)],
        "region_code": f"{registration % 89 + 1:02d}",
        "federal_district": f"FO{registration % 8}",
    }
    moment = T0 + timedelta(seconds=registration)
    if number % 2 == 0:
        if registration % 10 == 0:
            return RegistrationWaitlisted(**facts, registered_at=moment)
        return RegistrationConfirmed(**facts, registered_at=moment)
    if registration % 7 == 0:
        return RegistrationCancelled(**facts, cancelled_at=moment + timedelta(hours=1))
    return AttendanceRecorded(
        registration_id=facts["registration_id"],
        event_id=facts["event_id"],
        person_id=facts["person_id"],
        attended=registration % 3 != 0,
        method="qr",
        recorded_at=moment + timedelta(days=1),
    )


async def publish(
    bootstrap: str,
    events: Iterable[IntegrationEvent],
    topics: Sequence[str] = TOPICS,
) -> None:
    """Create the topics and publish the events, a batch of sends in flight at a time."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, num_partitions=3, replication_factor=1) for t in topics]
        )
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    await producer.start()
    try:
        pending = []
        for event in events:
            body = CloudEvent.wrap(event, source="/etnik/bench", time=T0).model_dump(mode="json")
            pending.append(
                await producer.send(event.topic, json.dumps(body).encode(), key=event.key.encode())
            )
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def bare_read(bootstrap: str, topics: Sequence[str] = TOPICS) -> tuple[int, float]:
    """Every message of the topics, read from the beginning by a bare consumer."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(3)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        started = time.perf_counter()
        read = 0
        remaining = set(partitions)
        while remaining:
            for tp, records in (await consumer.getmany(timeout_ms=500, max_records=500)).items():
                read += sum(len(record.value) > 0 for record in records)
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            remaining = {tp for tp in remaining if ends[tp] > 0}
        return read, time.perf_counter() - started
    finally:
        await consumer.stop()


async def rebuild(bootstrap: str, mongodb_url: str) -> tuple[int, float]:
    """A whole rebuild into a fresh database."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    try:
        generations = Generations(
            client["etnik_reporting_bench"], b"bench-key-0123456789", cache_s=0.01
        )
        await generations.ensure_initialised()
        rebuilder = Rebuilder(generations, bootstrap_servers=bootstrap, topics=TOPICS)
        progress = await rebuilder.claim()
        started = time.perf_counter()
        done = await rebuilder.run(progress)
        return done.applied, time.perf_counter() - started
    finally:
        await client.close()


def main() -> int:
    """Run the benchmark and print a row for docs/benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as run_dir, Stack.for_tests(Path(run_dir)) as stack:
        stack.fetch()
        stack.start_kafka()
        stack.start_ferretdb()
        asyncio.run(publish(stack.kafka_bootstrap, map(lifecycle, range(args.events))))
        print(f"published {args.events} events", flush=True)
        read, bare_s = asyncio.run(bare_read(stack.kafka_bootstrap))
        print(f"bare consumer read {read} in {bare_s:.1f} s", flush=True)
        applied, ours_s = asyncio.run(rebuild(stack.kafka_bootstrap, stack.mongodb_url))
    assert read == applied == args.events, (read, applied, args.events)
    bare_rate, our_rate = read / bare_s, applied / ours_s
    print(f"events: {args.events}")
    print(f"bare aiokafka consumer: {bare_rate:,.0f} events/s ({bare_s:.1f} s)")
    print(f"rebuild into FerretDB:  {our_rate:,.0f} events/s ({ours_s:.1f} s)")
    print(f"ratio: {our_rate / bare_rate:.3f} (goal >= 0.3)")
    print(
        f"| reporting rebuild | {args.events} events | {our_rate:,.0f}/s vs {bare_rate:,.0f}/s "
        f"| {our_rate / bare_rate:.3f} | {platform.machine()}, {datetime.now(UTC).date()} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
