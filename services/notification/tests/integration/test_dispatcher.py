"""The dispatcher on the real store: claims stay exclusive between replicas, a dead replica's
claims are taken over after their lease, a recorded outcome is never sent again and a late
holder's outcome is refused, each outcome's event is published once (by the relay if the
dispatcher died before publishing), an SMTP outage loses nothing, outcomes an older version
kept apart are taken over, and a message about a registration carries what registration says
at send time (never stored), waiting while registration is away."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.contracts.notification import NotificationSent
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.common.outbox import OUTBOX_FIELD, Outbox, OutboxRelay, stage, with_outbox
from etnik.common.publisher import PublishFailed
from etnik.devstack import Stack
from etnik.notification.channels import EmailChannel, OutgoingMessage
from etnik.notification.dispatcher import Dispatcher
from etnik.notification.domain import DeliveryDetails
from etnik.notification.leases import LeaseStore
from etnik.notification.messages import MessageStore
from etnik.notification.projections import Projections
from etnik.notification.registration_client import (
    RegistrationUnavailable,
    RegistrationUnknown,
    TicketWithheld,
)
from etnik.notification.rendering import TemplateRenderer
from etnik.notification.settings import NotificationSettings
from etnik.notification.unsubscribe import UnsubscribeLinks
from etnik.notification.upgrade import LEGACY_OUTCOME_COLLECTIONS, LegacyOutcomes
from helpers import AROUND_THE_CLOCK
from helpers import zone_where as any_zone_where

Db = AsyncDatabase[dict[str, Any]]
EVENT_ID = "event-1"


def zone_where(*, night: bool) -> str:
    """A zone where it is now night (or day)."""
    zone = any_zone_where(night=night, zones=AROUND_THE_CLOCK)
    assert zone is not None, "no such zone now"
    return zone


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
    """Registration's delivery and ticket reads: answer from dicts, or are away."""

    def __init__(
        self,
        details: dict[str, DeliveryDetails] | None = None,
        tickets: dict[str, bytes] | None = None,
    ) -> None:
        self.details = details or {}
        self.tickets = tickets or {}
        self.away = False
        self.tickets_away = False
        self.asked: list[str] = []
        self.asked_tickets: list[str] = []

    async def delivery(self, registration_id: str) -> DeliveryDetails:
        self.asked.append(registration_id)
        if self.away:
            raise RegistrationUnavailable("registration unreachable (ConnectError)")
        if registration_id not in self.details:
            raise RegistrationUnknown("registration does not know this registration")
        return self.details[registration_id]

    async def ticket_pdf(self, registration_id: str) -> bytes:
        self.asked_tickets.append(registration_id)
        if self.away or self.tickets_away:
            raise RegistrationUnavailable("registration answered HTTP 503")
        if registration_id not in self.tickets:
            raise TicketWithheld("registration gives no ticket: the event is cancelled")
        return self.tickets[registration_id]


class KeepingChannel(RecordingChannel):
    """Keeps every message it took, whole."""

    def __init__(self) -> None:
        super().__init__([])
        self.messages: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> None:
        await super().send(message)
        self.messages.append(message)


class ListPublisher:
    """The kernel outbox's publisher, 'publishing' into a list; refuses while `down`."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []
        self.down = False

    def envelope(self, data: IntegrationEvent) -> CloudEvent:
        return CloudEvent.wrap(data, source="/etnik/test")

    async def publish(self, entry: dict[str, Any]) -> None:
        if self.down:
            raise PublishFailed("Kafka is away")
        self.published.append(dict(entry))


class RecordingOutbox(Outbox):
    """The kernel's outbox over a list publisher."""

    opened: ClassVar[list[RecordingOutbox]] = []

    def __init__(self) -> None:
        self.publisher = ListPublisher()
        super().__init__(self.publisher, CollectorRegistry())  # type: ignore[arg-type]
        RecordingOutbox.opened.append(self)

    @property
    def published(self) -> list[dict[str, Any]]:
        return self.publisher.published


@pytest.fixture(autouse=True)
async def close_outboxes() -> AsyncIterator[None]:
    yield
    while RecordingOutbox.opened:
        await RecordingOutbox.opened.pop().close()


def published_ids(*outboxes: RecordingOutbox) -> list[str]:
    """The message ids of every event the outboxes published, sorted."""
    return sorted(e["data"]["message_id"] for o in outboxes for e in o.published)


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
        outbox=outbox,
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
    assert published_ids(outbox) == sorted(ids)
    # The message is the record: its outcome is there as soon as the batch is done, and its
    # event, once published, is pulled out of its outbox.
    await outbox.drain()
    messages = await db["messages"].find({"_id": {"$in": ids}}).to_list()
    assert {m["status"] for m in messages} == {"sent"}
    assert {m["attempts"] for m in messages} == {1}
    assert all(m[OUTBOX_FIELD] == [] for m in messages)
    assert all("link" not in m["context"] for m in messages)  # the secret is gone once sent
    assert set(await db.list_collection_names()) <= {
        "messages",
        "recipients",
        "events",
        "message_leases",
    }
    # A second round finds nothing more to send.
    hint_all(first, ids)
    hint_all(second, ids)
    await asyncio.gather(first.dispatch_once(), second.dispatch_once())
    await asyncio.gather(first.drain(), second.drain())
    assert sorted(sent) == sorted(ids)
    assert published_ids(outbox) == sorted(ids)


async def test_concurrent_claims_of_one_generation_have_one_winner(db: Db) -> None:
    leases = LeaseStore(db)
    now = datetime.now(UTC)
    wins = await asyncio.gather(
        *(leases.claim([("message-1", 0)], owner=f"o{n}", lease_s=30, now=now) for n in range(8))
    )
    assert sum(len(claims) for claims in wins) == 1


async def test_a_dead_dispatchers_claims_are_taken_over_after_their_lease(
    infra: Stack, db: Db
) -> None:
    ids = await queue_invitations(db, 10)
    # The dead replica: claimed everything with a short lease, then nothing more.
    leases = LeaseStore(db)
    held = await leases.claim(
        [(i, 0) for i in ids], owner="dead", lease_s=2.0, now=datetime.now(UTC)
    )
    assert len(held) == len(ids)

    sent: list[str] = []
    outbox = RecordingOutbox()
    survivor = dispatcher(db, settings(infra), RecordingChannel(sent), outbox)
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
    assert sorted(sent) == sorted(ids)
    assert set((await statuses(db, ids)).values()) == {"sent"}
    assert published_ids(outbox) == sorted(ids)


async def test_a_crash_after_the_outcomes_are_written_leaves_their_events_to_the_relay(
    infra: Stack, db: Db
) -> None:
    ids = await queue_invitations(db, 5)
    sent_first: list[str] = []
    config = settings(infra, dispatch_lease_s=2.0, smtp_timeout_s=0.1)
    dying = RecordingOutbox()
    crashing = dispatcher(db, config, RecordingChannel(sent_first), dying)

    async def crash(*args: Any, **kwargs: Any) -> None:
        return None  # the process dies after the outcomes are written, before publishing

    crashing._publish = crash  # type: ignore[method-assign]
    hint_all(crashing, ids)
    await crashing.dispatch_once()
    await crashing.drain()
    assert sorted(sent_first) == sorted(ids)
    assert dying.published == []
    messages = await db["messages"].find({"_id": {"$in": ids}}).to_list()
    assert {m["status"] for m in messages} == {"sent"}
    staged = {m["_id"]: m[OUTBOX_FIELD] for m in messages}
    assert all(len(entries) == 1 for entries in staged.values())
    assert {e["type"] for entries in staged.values() for e in entries} == {
        "ru.etnik.notification.sent"
    }

    # A successor, once the leases ran out, sends nothing again...
    await asyncio.sleep(2.5)
    sent_again: list[str] = []
    survivor_outbox = RecordingOutbox()
    survivor = dispatcher(db, config, RecordingChannel(sent_again), survivor_outbox)
    hint_all(survivor, ids)
    await survivor.dispatch_once()
    await survivor.drain()
    assert sent_again == []
    # ...and the relay publishes each event that was left, once.
    relay = OutboxRelay(survivor_outbox, [db["messages"]], interval_s=1, grace_s=0)
    assert await relay.run_once() == 0
    assert await relay.run_once() == 0
    assert published_ids(survivor_outbox) == sorted(ids)
    assert sorted(e["id"] for e in survivor_outbox.published) == sorted(
        e["id"] for entries in staged.values() for e in entries
    )
    assert await db["messages"].count_documents({"outbox.time": {"$exists": True}}) == 0


async def test_published_events_are_not_published_again_by_the_relay(infra: Stack, db: Db) -> None:
    ids = await queue_invitations(db, 5)
    outbox = RecordingOutbox()
    sender = dispatcher(db, settings(infra), RecordingChannel([]), outbox)
    await run_until_idle(sender)
    await outbox.drain()
    relay = OutboxRelay(outbox, [db["messages"]], interval_s=1, grace_s=0)
    assert await relay.run_once() == 0
    assert published_ids(outbox) == sorted(ids)


class StallingChannel(RecordingChannel):
    """Takes each message, then hangs until `go` is set (a replica stalled past its lease);
    `took_all` is set once it has taken `expected` messages."""

    def __init__(self, sent: list[str], expected: int) -> None:
        super().__init__(sent)
        self.expected = expected
        self.took_all = asyncio.Event()
        self.go = asyncio.Event()

    async def send(self, message: OutgoingMessage) -> None:
        await super().send(message)
        if len(self.sent) >= self.expected:
            self.took_all.set()
        await self.go.wait()


async def test_a_holder_whose_lease_ran_out_cannot_overwrite_its_successors_outcome(
    infra: Stack, db: Db
) -> None:
    ids = await queue_invitations(db, 4)
    config = settings(infra, dispatch_lease_s=2.0, smtp_timeout_s=0.1)
    late_sent: list[str] = []
    late_channel = StallingChannel(late_sent, len(ids))
    late_outbox = RecordingOutbox()
    late = dispatcher(db, config, late_channel, late_outbox)
    hint_all(late, ids)
    late_round = asyncio.create_task(late.dispatch_once())
    await asyncio.sleep(2.5)  # its lease has run out while the SMTP server had the messages

    # The successor takes the claims over and sends again (the late holder recorded nothing)...
    sent: list[str] = []
    channel = StallingChannel(sent, len(ids))
    outbox = RecordingOutbox()
    successor = dispatcher(db, config, channel, outbox)
    hint_all(successor, ids)
    successor_round = asyncio.create_task(successor.dispatch_once())
    await asyncio.wait_for(channel.took_all.wait(), timeout=10)
    # ...and while it is still sending, the late holder tries to record its outcomes: refused.
    late_channel.go.set()
    await late_round
    await late.drain()
    assert sorted(late_sent) == sorted(ids)
    assert late_outbox.published == []
    assert set((await statuses(db, ids)).values()) == {"pending"}

    channel.go.set()
    await successor_round
    await successor.drain()
    messages = await db["messages"].find({"_id": {"$in": ids}}).to_list()
    assert {m["status"] for m in messages} == {"sent"}
    assert {(m["claim_gen"], m["attempts"]) for m in messages} == {(2, 1)}
    assert published_ids(outbox) == sorted(ids)  # one event each, the successor's


async def test_a_successor_does_not_resend_what_an_expired_holder_recorded(
    infra: Stack, db: Db
) -> None:
    ids = await queue_invitations(db, 5)
    config = settings(infra, dispatch_lease_s=2.0, smtp_timeout_s=0.1)
    sent: list[str] = []
    first = dispatcher(db, config, RecordingChannel(sent), RecordingOutbox())
    hint_all(first, ids)
    await first.dispatch_once()
    await first.drain()
    assert sorted(sent) == sorted(ids)

    await asyncio.sleep(2.5)
    outbox = RecordingOutbox()
    successor = dispatcher(db, config, RecordingChannel(sent), outbox)
    hint_all(successor, ids)  # a stale hint: its claims walk past the expired generation
    await successor.dispatch_once()
    await successor.drain()
    assert sorted(sent) == sorted(ids)  # nothing a second time
    assert outbox.published == []
    assert set((await statuses(db, ids)).values()) == {"sent"}


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


async def test_a_confirmation_carries_the_session_and_owner_links_read_at_send_time(
    infra: Stack, db: Db
) -> None:
    registrations = FakeRegistrations(
        {"r-1": DeliveryDetails("confirmed", MANAGE_URL, online_link=SESSION_LINK)}
    )
    message_id = await queue_about_registration(db, "registration_confirmed", "r-1")
    channel = KeepingChannel()
    outbox = RecordingOutbox()
    sender = dispatcher(db, settings(infra), channel, outbox, registrations)
    await run_until_idle(sender)

    [sent] = channel.messages
    assert f"Ссылка для подключения: {SESSION_LINK}" in sent.text
    assert f"Управлять регистрацией (посмотреть или отменить): {MANAGE_URL}" in sent.text
    assert f'href="{SESSION_LINK}"' in sent.html
    assert SESSION_LINK.encode() in sent.attachments[0].content  # the calendar entry's place
    # Nothing of it is kept: not in the message, nor in its event.
    stored = await db["messages"].find_one({"_id": message_id})
    assert stored is not None
    assert stored["status"] == "sent"
    everything = [stored, *outbox.published]
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


def legacy_record(message_id: str, generation: int, sent_at: datetime) -> dict[str, Any]:
    """A final outcome as an older version kept it apart from its message."""
    return {"message_id": message_id, "generation": generation, "result": "sent",
            "kind": "invitation", "campaign_id": None,
            "fields": {"status": "sent", "sent_at": sent_at},
            "unset_secrets": True, "attempts": 1}  # fmt: skip


async def test_outcomes_an_older_version_kept_apart_are_written_and_published_once(
    infra: Stack, db: Db
) -> None:
    ids = await queue_invitations(db, 4)
    in_dispatch, in_batch, superseded, untouched = ids
    sent_at = datetime.now(UTC).replace(microsecond=0)
    # The older version: one batch committed (its event not yet published) and one published,
    # both not yet written to the messages; one message claimed again since (generation 2).
    event = CloudEvent.wrap(
        NotificationSent(message_id=in_dispatch, kind="invitation", channel="email",
                         person_id="p", trigger_event_id="t", sent_at=sent_at),
        source="/etnik/notification",
    )  # fmt: skip
    await db["dispatches"].insert_one(
        with_outbox(
            {"_id": "batch-1", "created_at": sent_at, "applied": False,
             "outcomes": [legacy_record(in_dispatch, 1, sent_at)]},
            stage([event]),
        )
    )  # fmt: skip
    await db["outcome_batches"].insert_one(
        {"_id": "batch-2", "created_at": sent_at,
         "outcomes": [legacy_record(in_batch, 1, sent_at), legacy_record(superseded, 1, sent_at)]}
    )  # fmt: skip
    await db["messages"].update_one({"_id": superseded}, {"$set": {"claim_gen": 2}})

    outbox = RecordingOutbox()
    legacy = LegacyOutcomes(db, outbox, drop_after_s=0)
    outbox.publisher.down = True
    assert await legacy.apply() == 1  # Kafka away: the batch with its event waits
    assert await db["dispatches"].count_documents({}) == 1
    outbox.publisher.down = False
    assert await legacy.apply() == 0
    assert [e["id"] for e in outbox.published] == [event.id]
    assert set(await db.list_collection_names()) & set(LEGACY_OUTCOME_COLLECTIONS) == set()
    assert await legacy.apply() == 0  # nothing left: nothing more is done
    assert [e["id"] for e in outbox.published] == [event.id]

    messages = {m["_id"]: m for m in await db["messages"].find({"_id": {"$in": ids}}).to_list()}
    for message_id in (in_dispatch, in_batch):
        message = messages[message_id]
        assert message["status"] == "sent"
        assert message["sent_at"] == sent_at
        assert (message["claim_gen"], message["attempts"]) == (1, 1)
        assert "link" not in message["context"]
    assert messages[superseded]["status"] == "pending"  # a later claim wrote to it since
    assert messages[untouched]["status"] == "pending"

    # The dispatcher sends only what is still pending.
    sent: list[str] = []
    sender = dispatcher(db, settings(infra), RecordingChannel(sent), outbox)
    hint_all(sender, ids)
    await run_until_idle(sender)
    assert sorted(sent) == sorted([superseded, untouched])


async def test_the_dispatcher_takes_over_what_an_older_version_left_at_its_first_sweep(
    infra: Stack, db: Db
) -> None:
    [message_id] = await queue_invitations(db, 1)
    now = datetime.now(UTC)
    await db["outcome_batches"].insert_one(
        {"_id": "batch-1", "created_at": now, "outcomes": [legacy_record(message_id, 1, now)]}
    )
    sent: list[str] = []
    sender = dispatcher(db, settings(infra), RecordingChannel(sent), RecordingOutbox())
    await sender.dispatch_once()  # its first sweep, before anything is claimed
    await sender.drain()
    assert sent == []
    assert (await statuses(db, [message_id]))[message_id] == "sent"
    assert await db["outcome_batches"].count_documents({}) == 0


QR_VALUE = "ETNIK1:TICKET42"
TICKET_PDF = b"%PDF-1.4\n% the ticket of Anna Ivanova\n"


def ticket_holder(status: str = "confirmed") -> DeliveryDetails:
    """What registration says of a confirmed participant of an in-person event."""
    return DeliveryDetails(status, MANAGE_URL, check_in_code="TICKET42", qr_value=QR_VALUE)


def by_name(message: OutgoingMessage) -> dict[str, Any]:
    return {attachment.filename: attachment for attachment in message.attachments}


async def test_a_ticket_holders_confirmation_carries_the_pdf_and_shows_the_qr_code_inline(
    infra: Stack, db: Db
) -> None:
    registrations = FakeRegistrations({"t-1": ticket_holder()}, {"t-1": TICKET_PDF})
    message_id = await queue_about_registration(db, "registration_confirmed", "t-1")
    channel = KeepingChannel()
    outbox = RecordingOutbox()
    await run_until_idle(dispatcher(db, settings(infra), channel, outbox, registrations))

    [sent] = channel.messages
    attached = by_name(sent)
    assert set(attached) == {"event.ics", "ticket.pdf", "qr.png"}
    assert (attached["ticket.pdf"].content, attached["ticket.pdf"].subtype) == (TICKET_PDF, "pdf")
    assert attached["ticket.pdf"].content_id is None
    qr = attached["qr.png"]
    assert qr.content_id is not None
    assert f'<img src="cid:{qr.content_id}"' in sent.html
    assert qr.content.startswith(b"\x89PNG")
    assert "ticket.pdf" in sent.text
    assert registrations.asked_tickets == ["t-1"]
    stored = await db["messages"].find_one({"_id": message_id})
    assert stored is not None
    assert stored["status"] == "sent"
    assert QR_VALUE not in repr([stored, *outbox.published])


async def test_a_confirmation_waits_for_its_ticket_and_is_never_sent_without_it(
    infra: Stack, db: Db
) -> None:
    registrations = FakeRegistrations({"t-2": ticket_holder()}, {"t-2": TICKET_PDF})
    registrations.tickets_away = True
    message_id = await queue_about_registration(db, "registration_confirmed", "t-2")
    channel = KeepingChannel()
    sender = dispatcher(db, settings(infra), channel, RecordingOutbox(), registrations)
    await sender.dispatch_once()
    await sender.drain()

    assert channel.messages == []
    waiting = await db["messages"].find_one({"_id": message_id})
    assert waiting is not None
    assert (waiting["status"], waiting["attempts"]) == ("pending", 0)
    assert waiting["note"] == "waiting for registration"
    assert waiting["registration_waits"] == 1

    registrations.tickets_away = False
    await asyncio.sleep(0.5)
    await run_until_idle(sender)
    [sent] = channel.messages
    assert by_name(sent)["ticket.pdf"].content == TICKET_PDF
    assert (await statuses(db, [message_id]))[message_id] == "sent"


async def test_a_ticket_withheld_since_the_details_were_read_is_tried_again(
    infra: Stack, db: Db
) -> None:
    registrations = FakeRegistrations({"t-3": ticket_holder()})  # no ticket behind the details
    message_id = await queue_about_registration(db, "registration_confirmed", "t-3")
    channel = KeepingChannel()
    sender = dispatcher(db, settings(infra), channel, RecordingOutbox(), registrations)
    await sender.dispatch_once()
    await sender.drain()

    assert channel.messages == []
    retried = await db["messages"].find_one({"_id": message_id})
    assert retried is not None
    assert (retried["status"], retried["attempts"]) == ("pending", 1)
    assert "the event is cancelled" in retried["last_error"]
    # The next try reads the details afresh: the registration was cancelled meanwhile.
    registrations.details["t-3"] = ticket_holder("cancelled")
    await asyncio.sleep(0.5)
    await run_until_idle(sender)
    assert channel.messages == []
    assert (await statuses(db, [message_id]))[message_id] == "dropped"


async def test_a_reminder_shows_the_qr_code_without_the_pdf_and_others_get_neither(
    infra: Stack, db: Db
) -> None:
    registrations = FakeRegistrations(
        {
            "holder": ticket_holder(),
            "online": DeliveryDetails("confirmed", MANAGE_URL, online_link=SESSION_LINK),
            "waiting": DeliveryDetails("waitlisted", MANAGE_URL),
        }
    )
    reminder = await queue_about_registration(db, "event_reminder", "holder")
    online = await queue_about_registration(db, "registration_confirmed", "online")
    waitlisted = await queue_about_registration(db, "registration_waitlisted", "waiting")
    channel = KeepingChannel()
    await run_until_idle(dispatcher(db, settings(infra), channel, RecordingOutbox(), registrations))

    sent = {message.message_id: message for message in channel.messages}
    assert set(sent) == {reminder, online, waitlisted}
    assert registrations.asked_tickets == []  # nobody's PDF was drawn
    [qr] = sent[reminder].attachments
    assert (qr.filename, qr.content_id) == ("qr.png", f"ticket-qr.{reminder}@etnik.local")
    assert f'src="cid:{qr.content_id}"' in sent[reminder].html
    assert set(by_name(sent[online])) == {"event.ics"}
    assert "cid:" not in sent[online].html
    assert sent[waitlisted].attachments == ()
    assert "<img" not in sent[waitlisted].html
