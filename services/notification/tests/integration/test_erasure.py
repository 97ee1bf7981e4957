"""Erasure in notification on the real store and SMTP server: a person who received and awaits
messages is erased, and afterwards their address and name are nowhere in the service's
database while the delivery log still counts their messages; an erasure that fails is
recorded, retried and completes; a late record of the person does not bring them back."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from etnik.common.consumer import EventConsumer
from etnik.common.contracts.registration import (
    InvitationIssued,
    ParticipantCategory,
    PersonErased,
    PersonRegistered,
    SignInLinkRequested,
)
from etnik.common.erasure import ERASURES, ErasureLedger
from etnik.common.events import CloudEvent, IntegrationEvent
from etnik.common.outbox import Outbox
from etnik.common.publisher import EventPublisher
from etnik.devstack import Stack
from etnik.notification.channels import EmailChannel
from etnik.notification.dispatcher import Dispatcher
from etnik.notification.handlers import NotificationHandlers, person_eraser
from etnik.notification.messages import MessageStore
from etnik.notification.projections import Projections
from etnik.notification.registration_client import RegistrationUnknown
from etnik.notification.rendering import TemplateRenderer
from etnik.notification.settings import NotificationSettings
from etnik.notification.unsubscribe import UnsubscribeLinks
from helpers import AROUND_THE_CLOCK, Mailpit, wait_until, zone_where

Db = AsyncDatabase[dict[str, Any]]


class ListPublisher:
    """The outbox's publisher, keeping what it publishes (Kafka is not under test here)."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def envelope(self, data: IntegrationEvent) -> CloudEvent:
        return CloudEvent.wrap(data, source="/etnik/test")

    async def publish(self, entry: dict[str, Any]) -> None:
        self.published.append(dict(entry))


class NoRegistrations:
    """Registration's delivery read: these messages name no registration."""

    async def delivery(self, registration_id: str) -> Any:
        raise RegistrationUnknown("no registration in this test")

    async def ticket_pdf(self, registration_id: str) -> bytes:
        raise RegistrationUnknown("no registration in this test")


@pytest.fixture
async def db(infra: Stack) -> AsyncIterator[Db]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    database = client[f"test_notification_erasure_{uuid.uuid4().hex[:8]}"]
    try:
        yield database
    finally:
        await client.drop_database(database.name)
        await client.close()


def body(event: IntegrationEvent) -> bytes:
    return CloudEvent.wrap(event, source="/etnik/registration").model_dump_json().encode()


async def everything_in(db: Db) -> str:
    """Every document of every collection, as one text to search."""
    texts = []
    for name in await db.list_collection_names():
        async for document in db[name].find({}):
            texts.append(json.dumps(document, default=str, ensure_ascii=False))
    return "\n".join(texts)


async def test_an_erased_person_leaves_no_address_and_their_messages_still_count(
    infra: Stack, db: Db, mailpit: Mailpit
) -> None:
    person_id = f"person-{uuid.uuid4().hex[:8]}"
    email = f"{person_id}@example.org"
    full_name = "Зарема Эрастовна Удаляева"
    registry = CollectorRegistry()
    projections, messages = Projections(db), MessageStore(db)
    await messages.ensure_indexes()
    ledger = ErasureLedger(
        db, person_eraser(projections, messages), registry, retry_after_s=0, failed_after=3
    )
    await ledger.ensure_indexes()
    consumer = EventConsumer(
        group_id="etnik.notification.test",
        database=db,
        publisher=EventPublisher.__new__(EventPublisher),  # nothing is dead-lettered here
        dead_letter_topic="etnik.notification.deadletter.v1",
        registry=registry,
        retry_backoff_s=0.01,
    )
    NotificationHandlers(projections, messages, [timedelta(hours=1)], ledger).register(consumer)
    origin = {"topic": "test", "partition": 0, "offset": 0}
    now = datetime.now(UTC)
    registered = PersonRegistered(
        person_id=person_id,
        full_name=full_name,
        email=email,
        # An invitation waits out quiet hours; this test wants it sent now.
        timezone=zone_where(night=False, zones=AROUND_THE_CLOCK) or "",
        category=ParticipantCategory.NGO_LEADER,
    )
    for event in (
        registered,
        SignInLinkRequested(
            person_id=person_id,
            email=email,
            link="https://etnik.test/sign-in?token=secret",
            expires_at=now + timedelta(minutes=15),
        ),
        InvitationIssued(
            invitation_id=uuid.uuid4().hex,
            event_id="event-erasure",
            person_id=person_id,
            campaign_id="campaign-erasure",
            link="https://etnik.test/invite?token=secret",
            expires_at=now + timedelta(days=3),
        ),
    ):
        assert await consumer.process(body(event), headers={}, origin=origin) == "handled"
    await db["events"].insert_one(
        {"_id": "event-erasure", "title": "Сессия", "format": "online", "status": "open",
         "starts_at": now + timedelta(days=7), "ends_at": now + timedelta(days=7, hours=2),
         "timezone": "Europe/Moscow"}
    )  # fmt: skip

    # The two messages go out through the real SMTP server.
    settings = NotificationSettings(
        environment="test",
        smtp_host=infra.smtp[0],
        smtp_port=infra.smtp[1],
        dispatch_sweep_interval_s=0.2,  # a send deferred by a slow SMTP reply is found again
        retry_base_delay_s=0.2,
    )
    outbox = Outbox(ListPublisher(), CollectorRegistry())  # type: ignore[arg-type]
    dispatcher = Dispatcher(
        store=messages,
        projections=projections,
        renderer=TemplateRenderer(),
        channel=EmailChannel(settings),
        outbox=outbox,
        unsubscribe_links=UnsubscribeLinks("test-key", "http://gateway.test"),
        registrations=NoRegistrations(),  # type: ignore[arg-type]
        settings=settings,
        registry=CollectorRegistry(),
    )
    try:
        for message in await messages.collection.find({"person_id": person_id}).to_list():
            messages.hint(message["_id"], now - timedelta(seconds=1), 0)
        deadline = asyncio.get_running_loop().time() + 60
        while (
            await messages.collection.count_documents({"person_id": person_id, "status": "sent"})
            < 2
        ):
            statuses = [
                (m["kind"], m["status"], m.get("last_error"))
                async for m in messages.collection.find({"person_id": person_id})
            ]
            assert asyncio.get_running_loop().time() < deadline, f"not sent: {statuses}"
            if not await dispatcher.dispatch_once():
                await asyncio.sleep(0.2)
        await dispatcher.drain()
    finally:
        await outbox.close()
    wait_until(lambda: len(mailpit.messages_to(email)) == 2, timeout=30, what="both emails")
    # One message still waits (a reminder due tomorrow), one failed with an SMTP text that
    # quotes the address (as a refusing relay's answer does).
    await messages.enqueue(
        trigger="later", kind="event_reminder", person_id=person_id,
        context={"event_id": "event-erasure", "email": email}, due_at=now + timedelta(days=1),
    )  # fmt: skip
    await messages.enqueue(
        trigger="refused", kind="invitation", person_id=person_id,
        context={"event_id": "event-erasure", "campaign_id": "campaign-erasure"},
    )  # fmt: skip
    await messages.collection.update_one(
        {"person_id": person_id, "trigger": "refused"},
        {"$set": {"status": "failed", "last_error": f"550 <{email}>: mailbox unavailable"}},
    )
    sent_before = await messages.collection.count_documents(
        {"person_id": person_id, "status": "sent"}
    )
    assert sent_before == 2
    assert email in await everything_in(db)
    assert full_name in await everything_in(db)

    # A fault on the first try: recorded, then retried by the consumer, and done.
    real_forget = messages.forget_person
    failures = ["MongoDB hiccup"]

    async def failing_once(erased_id: str) -> int:
        if failures:
            raise RuntimeError(failures.pop())
        return await real_forget(erased_id)

    messages.forget_person = failing_once  # type: ignore[method-assign]
    erased = PersonErased(person_id=person_id, erased_at=datetime.now(UTC))
    assert await consumer.process(body(erased), headers={}, origin=origin) == "handled"

    record = await db[ERASURES].find_one({"_id": person_id})
    assert record is not None
    assert record["status"] == "done"
    assert record["attempts"] == 2
    assert "MongoDB hiccup" in record["last_error"]
    stored = await everything_in(db)
    assert email not in stored
    assert full_name not in stored
    assert "secret" not in stored
    # The delivery log still counts: the sent messages stay sent, the waiting one is dropped.
    statuses = sorted(
        [m["status"], m["kind"]]
        for m in await messages.collection.find({"person_id": person_id}).to_list()
    )
    assert statuses == [
        ["dropped", "event_reminder"],
        ["failed", "invitation"],
        ["sent", "invitation"],
        ["sent", "sign_in_link"],
    ]
    assert await projections.recipient(person_id) is None
    sent = await messages.collection.find_one({"person_id": person_id, "kind": "sign_in_link"})
    assert sent is not None
    assert sent["sent_at"]
    assert sent["erased"] is True
    # An operator cannot send an erased person's message again: there is no address left.
    assert not await messages.resend(sent["_id"])

    # A late record of the person (a redelivery from before the erasure) is not kept.
    late = PersonRegistered.model_validate(registered.model_dump())
    assert await consumer.process(body(late), headers={}, origin=origin) == "handled"
    assert await projections.recipient(person_id) is None
    assert email not in await everything_in(db)
