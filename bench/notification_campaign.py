"""A campaign of invitations through the notification service, against a bare aiosmtplib loop.

Both send to the same local SMTP sink (Mailpit) in the same run. Ours starts from Kafka:
the person and invitation events are published first, then the clock runs until the
service has sent every invitation (rendered, paced, logged, with its event published).

    uv run python bench/notification_campaign.py [--count 5000] [--people-first]

With --people-first the people are published (and projected) before the clock starts, as in
a real campaign, whose audience registered long before; without it their events are part of
the measured run, interleaved with the invitations.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
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

ADMIN = {"email": "bench-admin@example.org", "password": "bench-admin-password-7e1f"}
DAYTIME_ZONES = ["Europe/Kaliningrad", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk",
                 "Asia/Irkutsk", "Asia/Vladivostok", "Asia/Kamchatka"]  # fmt: skip


# Between about 19:00 and 21:00 UTC it is night all over Russia: then a zone elsewhere.
OTHER_ZONES = ["Asia/Anadyr", "Pacific/Auckland", "Europe/London", "America/New_York",
               "America/Los_Angeles", "Pacific/Honolulu"]  # fmt: skip


def daytime_zone() -> str:
    """A zone where it is now between 09:00 and 21:00, so quiet hours do not apply."""
    now = datetime.now(UTC)
    for zone in DAYTIME_ZONES + OTHER_ZONES:
        if 9 <= now.astimezone(ZoneInfo(zone)).hour < 21:
            return zone
    raise SystemExit("no zone is in daytime now (cannot happen)")


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


def campaign_events(
    count: int, zone: str, campaign_id: str | None = None
) -> tuple[list[CloudEvent], list[CloudEvent]]:
    """The event and the people of a campaign of `count` invitations, and the invitations."""
    source = "/etnik/registration"
    event_id = uuid.uuid4().hex
    start = datetime.now(UTC) + timedelta(days=10)
    people = [
        CloudEvent.wrap(
            EventCreated(event_id=event_id, title="Стратегическая сессия", format="online",
                         starts_at=start, ends_at=start + timedelta(hours=3),
                         timezone="Europe/Moscow", status="registration_open"),
            source=source,
        )
    ]  # fmt: skip
    invitations = []
    campaign_id = campaign_id or uuid.uuid4().hex
    for number in range(count):
        person_id = f"bench-{campaign_id[:6]}-{number}"
        people.append(
            CloudEvent.wrap(
                PersonRegistered(person_id=person_id, full_name=f"Участник {number}",
                                 email=f"p{number}@example.org", timezone=zone,
                                 category="ngo_activist"),
                source=source,
            )
        )  # fmt: skip
        invitations.append(
            CloudEvent.wrap(
                InvitationIssued(invitation_id=uuid.uuid4().hex, event_id=event_id,
                                 person_id=person_id, campaign_id=campaign_id,
                                 link=f"https://etnik.example/i/{number}",
                                 expires_at=start),
                source=source,
            )
        )  # fmt: skip
    return people, invitations


async def publish(stack: Stack, records: list[CloudEvent]) -> None:
    """Put the events on their topics, as registration would."""
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


async def publish_campaign(stack: Stack, count: int, zone: str) -> None:
    """The events a campaign of `count` invitations makes, people and invitations interleaved."""
    await publish_campaign_records(stack, *campaign_events(count, zone))


def wait_for(condition: Callable[[], bool], what: str, timeout: float, every: float) -> None:
    """Poll until the condition holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(every)


def run_ours(stack: Stack, count: int, zone: str, *, people_first: bool) -> float:
    """Messages per second through the notification service."""
    mailpit = httpx.Client(base_url=stack.mailpit_api, timeout=10)
    mailpit.delete("/api/v1/messages").raise_for_status()  # the bare loop's
    # Registration signs in operators once its database is set up: wait for that first.
    wait_for(
        lambda: (
            httpx.post(
                f"{stack.service_url('registration')}/auth/token", json=ADMIN, timeout=30
            ).status_code
            == 200
        ),
        "registration to sign the benchmark's administrator in",
        timeout=90,
        every=0.5,
    )
    token = httpx.post(
        f"{stack.service_url('registration')}/auth/token", json=ADMIN, timeout=30
    ).json()["access_token"]
    campaign_id = uuid.uuid4().hex
    progress_url = f"{stack.service_url('notification')}/campaigns/{campaign_id}"
    with MongoClient(stack.mongodb_url) as client:
        database = client[stack.database_name("notification")]
        people, invitations = campaign_events(count, zone, campaign_id)
        if people_first:
            # The recipients are known before the campaign, as in real life: not timed.
            asyncio.run(publish(stack, people))
            wait_for(
                lambda: database["recipients"].count_documents({}) >= count,
                "the recipients",
                timeout=3600,
                every=2,
            )
            started = time.perf_counter()
            asyncio.run(publish(stack, invitations))
        else:
            started = time.perf_counter()
            asyncio.run(publish_campaign_records(stack, people, invitations))

        # Mailpit counts what arrived without loading the database; the service's own record
        # of every invitation as sent is checked once all have arrived.
        def arrived() -> bool:
            total: int = mailpit.get("/api/v1/messages", params={"limit": 1}).json()["total"]
            return total >= count

        wait_for(arrived, "the invitations to arrive", timeout=3600, every=0.25)

        def recorded() -> bool:
            answer = httpx.get(progress_url, headers={"Authorization": f"Bearer {token}"})
            return int(answer.raise_for_status().json()["sent"]) >= count

        # The service's own account (GET /campaigns/{id}): every invitation recorded as sent.
        wait_for(recorded, "the invitations to be recorded as sent", timeout=600, every=0.5)
        return count / (time.perf_counter() - started)


async def publish_campaign_records(
    stack: Stack, people: list[CloudEvent], invitations: list[CloudEvent]
) -> None:
    """People and invitations interleaved, the event first."""
    records = people[:1]
    for person, invitation in zip(people[1:], invitations, strict=True):
        records += [person, invitation]
    await publish(stack, records)


def main() -> int:
    """Run both, print throughput and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument(
        "--people-first",
        action="store_true",
        help="publish the people and wait until notification knows them before the clock starts",
    )
    parser.add_argument(
        "--consumer-batch",
        type=int,
        default=1,
        help="records notification's consumer takes from Kafka at once (CONSUMER_BATCH_MAX)",
    )
    args = parser.parse_args()
    zone = daytime_zone()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as run_dir:
        stack = Stack.for_tests(
            Path(run_dir),
            env_overrides={
                "INVITATION_RATE_PER_S": "100000",
                "LOG_LEVEL": "WARNING",
                "CONSUMER_BATCH_MAX": str(args.consumer_batch),
                "ADMIN_EMAIL": ADMIN["email"],
                "ADMIN_PASSWORD": ADMIN["password"],
            },
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
            ours = run_ours(stack, args.count, zone, people_first=args.people_first)
    load_after = os.getloadavg()
    mode = "people known before" if args.people_first else "people and invitations together"
    print(f"invitations: {args.count}, recipients' zone {zone}, {mode}, "
          f"consumer batch {args.consumer_batch}")  # fmt: skip
    print(f"bare aiosmtplib loop: {bare:8.1f} messages/s")
    print(f"notification service: {ours:8.1f} messages/s (from publishing the events to all sent)")
    print(f"ratio: {ours / bare:.2f} (goal: at least 0.5)")
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
