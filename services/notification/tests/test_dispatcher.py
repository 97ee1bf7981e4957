"""The dispatcher on the real FerretDB: claims stay exclusive between replicas, a dead replica's
claims are taken over after their lease, a committed batch is never sent twice, an SMTP
outage loses nothing, and a message about a registration carries what registration says at
send time (never stored), waiting while registration is away."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.devstack import Stack
from etnik.notification.channels import EmailChannel, OutgoingMessage
from etnik.notification.dispatcher import Dispatcher
from etnik.notification.domain import DeliveryDetails
from etnik.notification.leases import LeaseStore
from etnik.notification.messages import DISPATCHES, MessageStore, outcomes_not_applied
from etnik.notification.projections import Projections
from etnik.notification.registration_client import RegistrationUnavailable, RegistrationUnknown
from etnik.notification.rendering import TemplateRenderer
from etnik.notification.settings import NotificationSettings
from etnik.notification.unsubscribe import UnsubscribeLinks

Db = AsyncDatabase[dict[str, Any]]
EVENT_ID = "event-1"
# Between them, one is always in daytime and one at night (22:00-08:00), whatever the hour.
ZONES = ("Asia/Kamchatka", "Europe/Moscow", "America/New_York", "Asia/Tokyo")


def zone_where(*, night: bool) -> str:
    """A zone where it is now night (or day), with a margin of a few minutes."""
    now = datetime.now(UTC)
    for zone in ZONES:
        local = now.astimezone(ZoneInfo(zone))
        minutes = local.hour * 60 + local.minute
        if night and not 7 * 60 + 50 <= minutes < 22 * 60 + 5:
            return zone
        if not night and 8 * 60 + 5 <= minutes < 21 * 60 + 50:
            return zone
    raise AssertionError("no such zone now")


class RecordingChannel:
    """Takes every message after a short delay and remembers which it took."""

    name = "email"
    connections = 4

    def __init__(self, sent: list[str]) -> None:
        self.sent = sent

    async def send(self, message: OutgoingMessage) -> None:
        await asyncio.sleep(0.005)
        self.sent.append(message.message_id)

    async def close(self) -> None:
        return None


class FakeRegistrations:
    """Registration's delivery read: answers from a dict, or is away."""

    def __init__(self, details: dict[str, DeliveryDetails] | None = None) -> None:
        self.details = details or {}
        self.away = False
        self.asked: list[str] = []

    async def delivery(self, registration_id: str) -> DeliveryDetails:
        self.asked.append(registration_id)
        if self.away:
            raise RegistrationUnavailable("registration unreachable (ConnectError)")
        if registration_id not in self.details:
            raise RegistrationUnknown("registration does not know this registration")
        return self.details[registration_id]


class KeepingChannel(RecordingChannel):
    """Keeps every message it took, whole."""

    def __init__(self) -> None:
        super().__init__([])
        self.messages: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> None:
        await super().send(message)
        self.messages.append(message)


class RecordingOutbox:
    """Stages events as the kernel does and 'publishes' them into a list."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def stage(self, *events: IntegrationEvent) -> list[dict[str, Any]]:
        return [CloudEvent.wrap(e, source="/etnik/test").model_dump(mode="json") for e in events]

    async def flush(self, collection: Any, document_id: Any, staged: list[Any]) -> bool:
        self.published.extend(staged)
        await collection.update_one(
            {"_id": document_id}, {"$set": {"outbox": []}, "$unset": {"outbox_since": ""}}
        )
        return True


@pytest.fixture
async def db(infra: Stack) -> AsyncIterator[Db]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    database = client[f"test_notification_{uuid.uuid4().hex[:10]}"]
    start = datetime.now(UTC) + timedelta(days=7)
    await database["events"].insert_one(
        {"_id": EVENT_ID, "title": "Сессия", "format": "online", "starts_at": start,
         "ends_at": start + timedelta(hours=3), "timezone": "Europe/Moscow", "status": "open"}
    )  # fmt: skip
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


def settings(infra: Stack, **overrides: Any) -> NotificationSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "smtp_host": infra.smtp[0],
        "smtp_port": infra.smtp[1],
        "dispatch_lease_s": 60.0,
        "retry_base_delay_s": 0.2,
        "invitation_rate_per_s": 1000.0,
        **overrides,
    }
    return NotificationSettings(**values)


def dispatcher(
    db: Db,
    config: NotificationSettings,
    channel: Any,
    outbox: RecordingOutbox,
    registrations: FakeRegistrations | None = None,
) -> Dispatcher:
    store = MessageStore(db)
    return Dispatcher(
        store=store,
        projections=Projections(db),
        renderer=TemplateRenderer(),
        channel=channel,
        outbox=outbox,  # type: ignore[arg-type]
        unsubscribe_links=UnsubscribeLinks("test-key", "http://gateway.test"),
        registrations=registrations or FakeRegistrations(),
        settings=config,
        registry=CollectorRegistry(),
    )


async def queue_invitations(db: Db, count: int, zone: str | None = None) -> list[str]:
    """People and their invitations, queued as the consumer would; the message ids."""
    zone = zone or zone_where(night=False)
    store = MessageStore(db)
    campaign = uuid.uuid4().hex
    ids = []
    for number in range(count):
        person_id = f"person-{uuid.uuid4().hex[:8]}"
        await db["recipients"].insert_one(
            {"_id": person_id, "full_name": f"Участник {number}", "email": f"{person_id}@ex.org",
             "locale": "ru", "timezone": zone}
        )  # fmt: skip
        await store.enqueue(
            trigger=uuid.uuid4().hex,
            kind="invitation",
            person_id=person_id,
            context={"event_id": EVENT_ID, "campaign_id": campaign, "link": "https://x.test/i",
                     "link_expires_at": datetime.now(UTC).isoformat()},
        )  # fmt: skip
    ids = [doc["_id"] async for doc in db["messages"].find({"context.campaign_id": campaign})]
    return ids


def hint_all(dispatcher: Dispatcher, ids: list[str]) -> None:
    for message_id in ids:
        dispatcher._store.hint(message_id, datetime.now(UTC) - timedelta(seconds=1), 0)


async def statuses(db: Db, ids: list[str]) -> dict[str, str]:
    return {i: (await db["messages"].find_one({"_id": i}) or {}).get("status", "") for i in ids}


async def test_two_dispatchers_racing_over_the_same_batch_send_each_message_once(
    infra: Stack, db: Db
) -> None:
    ids = await queue_invitations(db, 30)
    sent: list[str] = []
    outbox = RecordingOutbox()
    config = settings(infra, dispatch_batch_size=30)
    first, second = (dispatcher(db, config, RecordingChannel(sent), outbox) for _ in range(2))
    hint_all(first, ids)
    hint_all(second, ids)

    await asyncio.gather(first.dispatch_once(), second.dispatch_once())
    await asyncio.gather(first.drain(), second.drain())
    while any(await asyncio.gather(first.dispatch_once(), second.dispatch_once())):
        pass  # what their sweeps found again: held or done already, so nothing more is sent
    await asyncio.gather(first.drain(), second.drain())

    assert sorted(sent) == sorted(ids)  # every message once, none twice
    assert sorted(e["data"]["message_id"] for e in outbox.published) == sorted(ids)
    # Recorded at once in the dispatch documents, written to the messages when idle.
    recorded = await outcomes_not_applied(db)
    assert {i: recorded[i]["fields"]["status"] for i in ids} == dict.fromkeys(ids, "sent")
    await asyncio.gather(first.apply_backlog(quiet_s=0), second.apply_backlog(quiet_s=0))
    assert set((await statuses(db, ids)).values()) == {"sent"}
    await first.recover_dispatches()  # removes the applied documents
    assert await db[DISPATCHES].count_documents({}) == 0
    # A second round finds nothing more to send.
    hint_all(first, ids)
    hint_all(second, ids)
    await asyncio.gather(first.dispatch_once(), second.dispatch_once())
    await asyncio.gather(first.drain(), second.drain())
    assert sorted(sent) == sorted(ids)


async def test_concurrent_claims_of_one_generation_have_one_winner(db: Db) -> None:
    leases = LeaseStore(db)
    now = datetime.now(UTC)
    wins = await asyncio.gather(
        *(
            leases.claim([("message-1", 0)], owner=f"o{n}", batch=f"b{n}", lease_s=30, now=now)
            for n in range(8)
        )
    )
    assert sum(len(claims) for claims in wins) == 1


async def test_a_dead_dispatchers_claims_are_taken_over_after_their_lease(
    infra: Stack, db: Db
) -> None:
    ids = await queue_invitations(db, 10)
    # The dead replica: claimed everything with a short lease, then nothing more.
    leases = LeaseStore(db)
    held = await leases.claim(
        [(i, 0) for i in ids], owner="dead", batch="dead-batch", lease_s=2.0, now=datetime.now(UTC)
    )
    assert len(held) == len(ids)

    sent: list[str] = []
    survivor = dispatcher(db, settings(infra), RecordingChannel(sent), RecordingOutbox())
    hint_all(survivor, ids)
    await survivor.dispatch_once()
    await survivor.drain()
    assert sent == []  # still held by the dead replica
    assert set((await statuses(db, ids)).values()) == {"pending"}

    await asyncio.sleep(2.5)
    survivor._last_sweep = float("-inf")  # the sweep finds them again
    while await survivor.dispatch_once():
        pass
    await survivor.drain()
    await survivor.apply_backlog(quiet_s=0)
    assert sorted(sent) == sorted(ids)
    assert set((await statuses(db, ids)).values()) == {"sent"}


async def test_a_batch_committed_but_not_applied_is_not_sent_again(infra: Stack, db: Db) -> None:
    ids = await queue_invitations(db, 5)
    sent_first: list[str] = []
    config = settings(infra, dispatch_lease_s=2.0, smtp_timeout_s=0.1)
    crashing = dispatcher(db, config, RecordingChannel(sent_first), RecordingOutbox())

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise asyncio.CancelledError  # dies after the commit, before applying the outcomes

    crashing._finish = crash  # type: ignore[method-assign]
    hint_all(crashing, ids)
    await crashing.dispatch_once()
    with pytest.raises(asyncio.CancelledError):
        await crashing.drain()
    assert sorted(sent_first) == sorted(ids)
    assert set((await statuses(db, ids)).values()) == {"pending"}  # not applied

    await asyncio.sleep(2.5)
    sent_again: list[str] = []
    outbox = RecordingOutbox()
    survivor = dispatcher(db, config, RecordingChannel(sent_again), outbox)
    hint_all(survivor, ids)
    survivor._last_sweep = time.monotonic()  # no sweep: the claims themselves find the batch
    await survivor.dispatch_once()
    await survivor.drain()
    assert sent_again == []
    assert set((await statuses(db, ids)).values()) == {"sent"}
    # The survivor's sweep applies what is left and the relay would publish its events.
    await survivor.recover_dispatches()
    [left] = await db[DISPATCHES].find({}).to_list()
    assert left["applied"] is True
    assert len(left["outbox"]) == len(ids)


async def test_an_smtp_outage_keeps_messages_and_they_go_out_when_it_is_back(
    infra: Stack, db: Db
) -> None:
    ids = await queue_invitations(db, 6)
    outbox = RecordingOutbox()
    down = settings(infra, smtp_port=1, smtp_timeout_s=1.0, max_send_attempts=1)
    broken = dispatcher(db, down, EmailChannel(down), outbox)
    hint_all(broken, ids)
    await broken.dispatch_once()
    await broken.drain()
    messages = await db["messages"].find({"_id": {"$in": ids}}).to_list()
    assert {m["status"] for m in messages} == {"pending"}
    assert {m["attempts"] for m in messages} == {0}  # an outage uses up no attempt
    assert all("SMTP unreachable" in m["last_error"] for m in messages)
    assert outbox.published == []

    up = settings(infra, retry_base_delay_s=0.2)
    channel = EmailChannel(up)
    working = dispatcher(db, up, channel, outbox)
    await asyncio.sleep(0.5)
    while await working.dispatch_once():
        pass
    await working.drain()
    await working.apply_backlog(quiet_s=0)
    await channel.close()
    assert set((await statuses(db, ids)).values()) == {"sent"}
    assert len(outbox.published) == len(ids)


async def test_quiet_hours_postpone_and_unsent_invitations_stay_pending(
    infra: Stack, db: Db
) -> None:
    now = datetime.now(UTC)
    night = zone_where(night=True)
    ids = await queue_invitations(db, 3, zone=night)
    sent: list[str] = []
    quiet = dispatcher(db, settings(infra), RecordingChannel(sent), RecordingOutbox())
    hint_all(quiet, ids)
    await quiet.dispatch_once()
    await quiet.drain()
    assert sent == []
    messages = await db["messages"].find({"_id": {"$in": ids}}).to_list()
    assert {m["status"] for m in messages} == {"pending"}
    assert all(m["due_at"] > now and m["note"].startswith("quiet hours") for m in messages)


async def test_a_message_waits_for_its_recipient_and_goes_out_once_it_is_known(
    infra: Stack, db: Db
) -> None:
    sent: list[str] = []
    early = dispatcher(db, settings(infra), RecordingChannel(sent), RecordingOutbox())
    person_id = f"late-{uuid.uuid4().hex[:8]}"
    await early._store.enqueue(
        trigger=uuid.uuid4().hex,
        kind="invitation",
        person_id=person_id,
        context={"event_id": EVENT_ID, "campaign_id": "c", "link": "https://x.test/i",
                 "link_expires_at": datetime.now(UTC).isoformat()},
    )  # fmt: skip
    await early.dispatch_once()
    await early.drain()
    assert sent == []
    [waiting] = await db["messages"].find({"person_id": person_id}).to_list()
    assert waiting["status"] == "pending"
    assert "note" not in waiting  # waiting costs no write

    await db["recipients"].insert_one(
        {"_id": person_id, "full_name": "Поздний Участник", "email": f"{person_id}@ex.org",
         "locale": "ru", "timezone": zone_where(night=False)}
    )  # fmt: skip
    early._store.known(f"person:{person_id}")  # as the consumer's on_person does
    await early.dispatch_once()
    await early.drain()
    assert sent == [waiting["_id"]]


async def test_outcomes_published_but_not_written_are_not_sent_again_by_a_successor(
    infra: Stack, db: Db
) -> None:
    ids = await queue_invitations(db, 5)
    config = settings(infra, dispatch_lease_s=2.0, smtp_timeout_s=0.1)
    sent: list[str] = []
    first = dispatcher(db, config, RecordingChannel(sent), RecordingOutbox())
    hint_all(first, ids)
    await first.dispatch_once()
    await first.drain()  # published; the outcomes wait to be written (first then dies)
    assert sorted(sent) == sorted(ids)
    assert set((await statuses(db, ids)).values()) == {"pending"}

    await asyncio.sleep(2.5)
    successor = dispatcher(db, config, RecordingChannel(sent), RecordingOutbox())
    hint_all(successor, ids)  # as its sweep would find them, still pending
    successor._last_sweep = time.monotonic()  # no sweep: the claims themselves find them
    await successor.dispatch_once()
    await successor.drain()
    assert sorted(sent) == sorted(ids)  # nothing a second time
    assert set((await statuses(db, ids)).values()) == {"sent"}


class TimedChannel(RecordingChannel):
    """Remembers when each message was taken."""

    def __init__(self, sent: list[str], times: list[float]) -> None:
        super().__init__(sent)
        self.times = times

    async def send(self, message: OutgoingMessage) -> None:
        await super().send(message)
        self.times.append(time.monotonic())


async def test_invitations_are_sent_no_faster_than_the_configured_rate(
    infra: Stack, db: Db
) -> None:
    rate = 8.0
    ids = await queue_invitations(db, 32)
    sent: list[str] = []
    times: list[float] = []
    paced = dispatcher(db, settings(infra, invitation_rate_per_s=rate), TimedChannel(sent, times),
                       RecordingOutbox())  # fmt: skip
    hint_all(paced, ids)
    while len(sent) < len(ids):
        if not await paced.dispatch_once():
            await asyncio.sleep(0.05)
    await paced.drain()

    assert sorted(sent) == sorted(ids)
    # A full bucket lets the first `rate` go at once; the rest follow at the rate.
    assert times[-1] - times[0] >= (len(ids) - rate) / rate * 0.9
    # Within any span of time, no more than the bucket plus the rate times the span went out.
    for first, start in enumerate(times):
        for last in range(first, len(times)):
            count, span = last - first + 1, times[last] - start
            assert count <= rate + rate * span + 1, f"{count} invitations in {span:.2f} s"


SESSION_LINK = "https://telemost.yandex.ru/j/dispatcher-test-4242"
MANAGE_URL = "https://etnik.test/registrations/manage?token=signed-for-the-test"


async def queue_about_registration(db: Db, kind: str, registration_id: str) -> str:
    """A recipient and one message of this kind about their registration; the message id."""
    person_id = f"person-{uuid.uuid4().hex[:8]}"
    await db["recipients"].insert_one(
        {"_id": person_id, "full_name": "Анна Иванова", "email": f"{person_id}@ex.org",
         "locale": "ru", "timezone": "Asia/Kamchatka"}
    )  # fmt: skip
    store = MessageStore(db)
    await store.enqueue(
        trigger=uuid.uuid4().hex,
        kind=kind,
        person_id=person_id,
        context={"event_id": EVENT_ID, "registration_id": registration_id},
    )
    [message] = await db["messages"].find({"person_id": person_id}).to_list()
    return str(message["_id"])


async def run_until_idle(dispatcher: Dispatcher) -> None:
    while await dispatcher.dispatch_once():
        pass
    await dispatcher.drain()
    await dispatcher.apply_backlog(quiet_s=0)


async def test_a_confirmation_carries_the_session_and_owner_links_read_at_send_time(
    infra: Stack, db: Db
) -> None:
    registrations = FakeRegistrations(
        {"r-1": DeliveryDetails("confirmed", MANAGE_URL, online_link=SESSION_LINK)}
    )
    message_id = await queue_about_registration(db, "registration_confirmed", "r-1")
    channel = KeepingChannel()
    sender = dispatcher(db, settings(infra), channel, RecordingOutbox(), registrations)
    await run_until_idle(sender)

    [sent] = channel.messages
    assert f"Ссылка для подключения: {SESSION_LINK}" in sent.text
    assert f"Управлять регистрацией (посмотреть или отменить): {MANAGE_URL}" in sent.text
    assert f'href="{SESSION_LINK}"' in sent.html
    assert SESSION_LINK.encode() in sent.attachments[0].content  # the calendar entry's place
    # Nothing of it is kept: not in the message, nor in any dispatch record.
    stored = await db["messages"].find_one({"_id": message_id})
    assert stored is not None
    assert stored["status"] == "sent"
    everything = [stored, *await db[DISPATCHES].find({}).to_list()]
    assert SESSION_LINK not in repr(everything)
    assert MANAGE_URL not in repr(everything)


async def test_a_message_waits_while_registration_is_away_and_is_never_sent_without_it(
    infra: Stack, db: Db
) -> None:
    registrations = FakeRegistrations(
        {"r-2": DeliveryDetails("confirmed", MANAGE_URL, online_link=SESSION_LINK)}
    )
    registrations.away = True
    ids = [await queue_about_registration(db, "event_reminder", "r-2") for _ in range(3)]
    channel = KeepingChannel()
    sender = dispatcher(db, settings(infra), channel, RecordingOutbox(), registrations)
    hint_all(sender, ids)
    await sender.dispatch_once()
    await sender.drain()

    assert channel.messages == []
    assert len(registrations.asked) == 1  # the batch waits after the first refusal
    waiting = await db["messages"].find({"_id": {"$in": ids}}).to_list()
    assert {m["status"] for m in waiting} == {"pending"}
    assert {m["attempts"] for m in waiting} == {0}  # waiting uses up no attempt
    assert {m["note"] for m in waiting} == {"waiting for registration"}

    registrations.away = False
    await asyncio.sleep(0.5)
    await run_until_idle(sender)
    assert len(channel.messages) == len(ids)
    assert all(SESSION_LINK in message.text for message in channel.messages)
    assert set((await statuses(db, ids)).values()) == {"sent"}


async def test_what_is_not_confirmed_gets_the_owner_link_only_or_is_not_sent(
    infra: Stack, db: Db
) -> None:
    # Registration withholds the session link from a waitlisted registration; a reminder of
    # one cancelled meanwhile is not sent; a registration registration does not know fails.
    registrations = FakeRegistrations(
        {
            "waiting": DeliveryDetails("waitlisted", MANAGE_URL),
            "gone": DeliveryDetails("cancelled", MANAGE_URL),
        }
    )
    waitlisted = await queue_about_registration(db, "registration_waitlisted", "waiting")
    reminder = await queue_about_registration(db, "event_reminder", "gone")
    unknown = await queue_about_registration(db, "registration_received", "nobody")
    channel = KeepingChannel()
    sender = dispatcher(db, settings(infra), channel, RecordingOutbox(), registrations)
    await run_until_idle(sender)

    [sent] = channel.messages
    assert sent.message_id == waitlisted
    assert MANAGE_URL in sent.text
    assert "Ссылка для подключения" not in sent.text
    outcomes = {m["_id"]: m for m in await db["messages"].find({}).to_list()}
    assert outcomes[reminder]["status"] == "dropped"
    assert "no longer confirmed" in outcomes[reminder]["last_error"]
    assert outcomes[unknown]["status"] == "failed"
