"""A campaign of invitations through the notification service, against a bare aiosmtplib loop.

Both send to the same local SMTP sink (Mailpit) in the same run. Ours starts from Kafka:
the person and invitation events are published first, then the clock runs until the
service has sent every invitation (rendered, paced, logged, with its event published).

    uv run python bench/notification_campaign.py [--count 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import aiosmtplib
import httpx
from aiokafka import AIOKafkaProducer
from pymongo import MongoClient

from etnik.common.contracts.registration import EventCreated, InvitationIssued, PersonRegistered
from etnik.common.events import CloudEvent
from etnik.devstack import Stack

DAYTIME_ZONES = ["Europe/Kaliningrad", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk",
                 "Asia/Irkutsk", "Asia/Vladivostok", "Asia/Kamchatka"]  # fmt: skip


def daytime_zone() -> str:
    """A Russian zone where it is now between 08:00 and 22:00, so quiet hours do not apply."""
    now = datetime.now(UTC)
    for zone in DAYTIME_ZONES:
        if 9 <= now.astimezone(ZoneInfo(zone)).hour < 21:
            return zone
    raise SystemExit("no Russian zone is in daytime now (cannot happen)")


async def bare_loop(host: str, port: int, count: int) -> float:
    """Messages per second from one aiosmtplib connection sending plain messages."""
    client = aiosmtplib.SMTP(hostname=host, port=port)
    await client.connect()
    started = time.perf_counter()
    for number in range(count):
        message = EmailMessage()
        message["From"] = "bench@etnik.local"
        message["To"] = f"bare{number}@example.org"
        message["Subject"] = "Приглашение"
        message.set_content("Приглашаем вас принять участие в сессии.")
        await client.send_message(message)
    elapsed = time.perf_counter() - started
    await client.quit()
    return count / elapsed


async def publish_campaign(stack: Stack, count: int, zone: str) -> str:
    """The events a campaign of `count` invitations makes, on Kafka."""
    source = "/etnik/registration"
    event_id = uuid.uuid4().hex
    start = datetime.now(UTC) + timedelta(days=10)
    records = [
        CloudEvent.wrap(
            EventCreated(event_id=event_id, title="Стратегическая сессия", format="online",
                         starts_at=start, ends_at=start + timedelta(hours=3),
                         timezone="Europe/Moscow", status="registration_open"),
            source=source,
        )
    ]  # fmt: skip
    campaign_id = uuid.uuid4().hex
    for number in range(count):
        person_id = f"bench-{campaign_id[:6]}-{number}"
        records.append(
            CloudEvent.wrap(
                PersonRegistered(person_id=person_id, full_name=f"Участник {number}",
                                 email=f"p{number}@example.org", timezone=zone,
                                 category="ngo_activist"),
                source=source,
            )
        )  # fmt: skip
        records.append(
            CloudEvent.wrap(
                InvitationIssued(invitation_id=uuid.uuid4().hex, event_id=event_id,
                                 person_id=person_id, campaign_id=campaign_id,
                                 link=f"https://etnik.example/i/{number}",
                                 expires_at=start),
                source=source,
            )
        )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for record in records:
            await producer.send(
                record.topic,
                json.dumps(record.model_dump(mode="json")).encode(),
                key=(record.subject or "").encode(),
            )
        await producer.flush()
    finally:
        await producer.stop()
    return campaign_id


def main() -> int:
    """Run both, print throughput and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    args = parser.parse_args()
    zone = daytime_zone()
    with tempfile.TemporaryDirectory() as run_dir:
        stack = Stack.for_tests(
            Path(run_dir), env_overrides={"INVITATION_RATE_PER_S": "100000", "LOG_LEVEL": "WARNING"}
        )
        with stack:
            stack.fetch()
            stack.start_infra()
            bare = asyncio.run(bare_loop(*stack.smtp, args.count))
            stack.start_services(["registration", "notification"])
            deadline = time.monotonic() + 60
            while httpx.get(f"{stack.service_url('notification')}/readyz").status_code != 200:
                if time.monotonic() > deadline:
                    raise SystemExit("notification did not become ready")
                time.sleep(0.5)
            started = time.perf_counter()
            asyncio.run(publish_campaign(stack, args.count, zone))
            with MongoClient(stack.mongodb_url) as client:
                messages = client["etnik_notification"]["messages"]
                while True:
                    sent = messages.count_documents({"kind": "invitation", "status": "sent"})
                    if sent >= args.count:
                        break
                    time.sleep(0.5)
            ours = args.count / (time.perf_counter() - started)
    print(f"invitations: {args.count}, recipients' zone {zone}")
    print(f"bare aiosmtplib loop: {bare:8.1f} messages/s")
    print(f"notification service: {ours:8.1f} messages/s (from publishing the events to all sent)")
    print(f"ratio: {ours / bare:.2f} (goal: at least 0.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
