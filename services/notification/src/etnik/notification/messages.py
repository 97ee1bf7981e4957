"""Durable messages: one per (trigger, kind, recipient), sent by a dispatcher that claims them
with a lease, so that two replicas never send the same message and a crashed replica's
claims are taken over once their lease runs out."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, stage, update_with_outbox
from etnik.common.publisher import EventPublisher
from etnik.notification.channels import Channel, DeliveryError, OutgoingMessage
from etnik.notification.projections import Projections
from etnik.notification.rendering import TemplateRenderer, event_context
from etnik.notification.settings import NotificationSettings

log = logging.getLogger(__name__)

MESSAGES = "messages"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def message_key(trigger_event_id: str, kind: str, person_id: str) -> str:
    """The idempotency key: a redelivered trigger maps to the same message, never a second one."""
    return hashlib.sha256(f"{trigger_event_id}|{kind}|{person_id}".encode()).hexdigest()


class MessageStore:
    """The messages collection."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[MESSAGES]
        # Set when a message is enqueued, so that an idle dispatcher starts at once.
        self.new_work = asyncio.Event()

    async def ensure_indexes(self) -> None:
        """The dispatcher's query, and the delivery log by person."""
        await self.collection.create_index([("status", 1), ("due_at", 1)])
        await self.collection.create_index([("person_id", 1), ("created_at", -1)])

    async def enqueue(
        self,
        *,
        trigger_event_id: str,
        kind: str,
        person_id: str,
        context: dict[str, Any],
        due_at: datetime | None = None,
    ) -> bool:
        """Schedule a message; False when this trigger already produced it."""
        now = datetime.now(UTC)
        try:
            await self.collection.insert_one(
                {
                    "_id": message_key(trigger_event_id, kind, person_id),
                    "kind": kind,
                    "channel": "email",
                    "person_id": person_id,
                    "trigger_event_id": trigger_event_id,
                    "context": context,
                    "status": "pending",
                    "due_at": due_at or now,
                    "lease_until": _EPOCH,
                    "attempts": 0,
                    "created_at": now,
                }
            )
        except DuplicateKeyError:
            return False
        self.new_work.set()
        return True

    async def claim(self, owner: str, lease_s: float) -> Document | None:
        """Take the next due message for a while; nobody else takes it before the lease ends."""
        now = datetime.now(UTC)
        return await self.collection.find_one_and_update(
            {"status": "pending", "due_at": {"$lte": now}, "lease_until": {"$lte": now}},
            {"$set": {"lease_until": now + timedelta(seconds=lease_s), "lease_owner": owner}},
            sort=[("due_at", 1)],
            return_document=ReturnDocument.AFTER,
        )


class Dispatcher:
    """Sends due messages through their channel and records the outcome with its event."""

    def __init__(
        self,
        *,
        store: MessageStore,
        projections: Projections,
        renderer: TemplateRenderer,
        channel: Channel,
        publisher: EventPublisher,
        outbox: Outbox,
        settings: NotificationSettings,
        registry: CollectorRegistry,
    ) -> None:
        self._store = store
        self._projections = projections
        self._renderer = renderer
        self._channel = channel
        self._publisher = publisher
        self._outbox = outbox
        self._settings = settings
        self.owner = f"dispatcher-{secrets.token_hex(6)}"
        self._outcomes = Counter(
            "etnik_notifications_total",
            "Messages by kind, channel and outcome",
            ["kind", "channel", "outcome"],
            registry=registry,
        )

    async def run(self) -> None:
        """Dispatch until cancelled; sleeps when nothing is due or MongoDB is away."""
        while True:
            try:
                worked = await self.dispatch_one()
            except PyMongoError as error:
                log.warning("dispatcher waiting for MongoDB: %s", error)
                worked = False
            if not worked:
                self._store.new_work.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._store.new_work.wait(),
                        timeout=self._settings.dispatch_idle_interval_s,
                    )

    async def dispatch_one(self) -> bool:
        """Claim and handle one due message; False when none is due."""
        message = await self._store.claim(self.owner, self._settings.dispatch_lease_s)
        if message is None:
            return False
        recipient = await self._projections.recipient(message["person_id"])
        event = await self._projections.event(message["context"].get("event_id", ""))
        if recipient is None or event is None:
            await self._wait_for_context(message, "recipient" if recipient is None else "event")
            return True
        rendered = self._renderer.render(
            message["kind"],
            recipient.get("locale", "ru"),
            {
                "recipient": recipient,
                "event": event_context(
                    event,
                    locale=recipient.get("locale", "ru"),
                    recipient_zone=recipient.get("timezone", "Europe/Moscow"),
                ),
            },
        )
        outgoing = OutgoingMessage(
            message_id=message["_id"],
            to_address=recipient["email"],
            to_name=recipient["full_name"],
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
        )
        try:
            await self._channel.send(outgoing)
        except DeliveryError as error:
            await self._record_failure(message, str(error), permanent=error.permanent)
            return True
        await self._record_sent(message)
        return True

    async def _wait_for_context(self, message: Document, missing: str) -> None:
        """The trigger arrived before the person or event it names: try again shortly."""
        age = datetime.now(UTC) - message["created_at"]
        if age.total_seconds() > self._settings.wait_for_context_s:
            await self._record_failure(message, f"{missing} unknown", permanent=True)
            return
        await self._store.collection.update_one(
            {"_id": message["_id"], "lease_owner": self.owner},
            {"$set": {"due_at": datetime.now(UTC) + timedelta(seconds=1), "lease_until": _EPOCH}},
        )

    async def _record_sent(self, message: Document) -> None:
        now = datetime.now(UTC)
        staged = stage(
            [
                self._publisher.envelope(
                    NotificationSent(
                        message_id=message["_id"],
                        kind=message["kind"],
                        channel=message["channel"],
                        person_id=message["person_id"],
                        trigger_event_id=message["trigger_event_id"],
                        sent_at=now,
                    )
                )
            ]
        )
        await self._store.collection.update_one(
            {"_id": message["_id"]},
            update_with_outbox(
                {
                    "$set": {"status": "sent", "sent_at": now, "lease_until": _EPOCH},
                    "$inc": {"attempts": 1},
                },
                staged,
            ),
        )
        self._outcomes.labels(message["kind"], message["channel"], "sent").inc()
        await self._outbox.flush(self._store.collection, message["_id"], staged)

    async def _record_failure(self, message: Document, reason: str, *, permanent: bool) -> None:
        attempts = int(message.get("attempts", 0)) + 1
        now = datetime.now(UTC)
        if not permanent and attempts < self._settings.max_send_attempts:
            delay = self._settings.retry_base_delay_s * 2 ** (attempts - 1)
            await self._store.collection.update_one(
                {"_id": message["_id"]},
                {
                    "$set": {
                        "due_at": now + timedelta(seconds=delay),
                        "lease_until": _EPOCH,
                        "last_error": reason,
                        "attempts": attempts,
                    }
                },
            )
            self._outcomes.labels(message["kind"], message["channel"], "retried").inc()
            log.warning("send failed (attempt %d), retrying in %.0fs: %s", attempts, delay, reason)
            return
        staged = stage(
            [
                self._publisher.envelope(
                    NotificationFailed(
                        message_id=message["_id"],
                        kind=message["kind"],
                        channel=message["channel"],
                        person_id=message["person_id"],
                        trigger_event_id=message["trigger_event_id"],
                        reason=reason,
                        failed_at=now,
                    )
                )
            ]
        )
        await self._store.collection.update_one(
            {"_id": message["_id"]},
            update_with_outbox(
                {
                    "$set": {
                        "status": "failed",
                        "failed_at": now,
                        "last_error": reason,
                        "attempts": attempts,
                        "lease_until": _EPOCH,
                    }
                },
                staged,
            ),
        )
        self._outcomes.labels(message["kind"], message["channel"], "failed").inc()
        log.error("message %s failed: %s", message["_id"], reason)
        await self._outbox.flush(self._store.collection, message["_id"], staged)
