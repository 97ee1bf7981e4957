"""Durable messages: one per (trigger, kind, recipient), sent by a dispatcher that claims them
with a lease, so that two replicas never send the same message and a crashed replica's
claims are taken over once their lease runs out."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from prometheus_client import CollectorRegistry, Counter
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from etnik.common.contracts.notification import NotificationFailed, NotificationSent
from etnik.common.events import IntegrationEvent
from etnik.common.mongo import Document
from etnik.common.outbox import Outbox, update_with_outbox
from etnik.notification.calendar import event_ics
from etnik.notification.channels import Attachment, Channel, DeliveryError, OutgoingMessage
from etnik.notification.domain import outside_quiet_hours
from etnik.notification.projections import Projections
from etnik.notification.rendering import TemplateRenderer, event_context, moment
from etnik.notification.settings import NotificationSettings
from etnik.notification.unsubscribe import UnsubscribeLinks

log = logging.getLogger(__name__)

MESSAGES = "messages"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REMINDER = "event_reminder"
INVITATION = "invitation"
# Kinds a person may opt out of; the rest answer something they did or must know.
OPTIONAL_KINDS = frozenset({INVITATION})
# Kinds that do not concern one event.
KINDS_WITHOUT_EVENT = frozenset({"sign_in_link"})
# Context fields that are secrets for the recipient alone: removed once the message is sent.
SECRET_FIELDS = ("link", "accept_url")


def message_key(trigger: str, kind: str, person_id: str) -> str:
    """The idempotency key: a redelivered trigger maps to the same message, never a second one."""
    return hashlib.sha256(f"{trigger}|{kind}|{person_id}".encode()).hexdigest()


class MessageStore:
    """The messages collection."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.collection = db[MESSAGES]
        # Set when a message is enqueued, so that an idle dispatcher starts at once.
        self.new_work = asyncio.Event()

    async def ensure_indexes(self) -> None:
        """The dispatcher's query, the delivery log, and look-ups by registration or campaign."""
        await self.collection.create_index([("status", 1), ("due_at", 1)])
        await self.collection.create_index([("person_id", 1), ("created_at", -1)])
        await self.collection.create_index([("context.registration_id", 1), ("kind", 1)])
        await self.collection.create_index([("context.campaign_id", 1), ("status", 1)])

    async def enqueue(
        self,
        *,
        trigger: str,
        kind: str,
        person_id: str,
        context: Mapping[str, Any],
        due_at: datetime | None = None,
    ) -> bool:
        """Schedule a message; False when this trigger already produced it."""
        now = datetime.now(UTC)
        try:
            await self.collection.insert_one(
                {
                    "_id": message_key(trigger, kind, person_id),
                    "kind": kind,
                    "channel": "email",
                    "person_id": person_id,
                    "trigger": trigger,
                    "context": dict(context),
                    "status": "pending",
                    "due_at": due_at or now,
                    "lease_until": EPOCH,
                    "attempts": 0,
                    "created_at": now,
                }
            )
        except DuplicateKeyError:
            return False
        self.new_work.set()
        return True

    async def drop_pending(self, query: Mapping[str, Any], reason: str) -> int:
        """Give up pending messages that no longer make sense (cancelled, erased, moved)."""
        result = await self.collection.update_many(
            {**query, "status": "pending"},
            {
                "$set": {"status": "dropped", "last_error": reason, "lease_until": EPOCH},
                "$unset": {f"context.{field}": "" for field in SECRET_FIELDS},
            },
        )
        return result.modified_count

    async def claim(self, owner: str, lease_s: float) -> Document | None:
        """Take the next due message for a while; nobody else takes it before the lease ends."""
        now = datetime.now(UTC)
        return await self.collection.find_one_and_update(
            {"status": "pending", "due_at": {"$lte": now}, "lease_until": {"$lte": now}},
            {"$set": {"lease_until": now + timedelta(seconds=lease_s), "lease_owner": owner}},
            sort=[("due_at", 1)],
            return_document=ReturnDocument.AFTER,
        )

    async def postpone(self, message: Document, until: datetime, note: str) -> None:
        """Put a claimed message back, due later."""
        await self.collection.update_one(
            {"_id": message["_id"]},
            {"$set": {"due_at": until, "lease_until": EPOCH, "note": note}},
        )

    async def resend(self, message_id: str) -> bool:
        """Queue a sent or failed message again (an operator's action)."""
        result = await self.collection.update_one(
            {"_id": message_id, "status": {"$in": ["sent", "failed"]}},
            {
                "$set": {
                    "status": "pending",
                    "due_at": datetime.now(UTC),
                    "lease_until": EPOCH,
                    "attempts": 0,
                }
            },
        )
        if result.modified_count:
            self.new_work.set()
        return result.modified_count == 1


class Dispatcher:
    """Sends due messages through their channel and records the outcome with its event."""

    def __init__(
        self,
        *,
        store: MessageStore,
        projections: Projections,
        renderer: TemplateRenderer,
        channel: Channel,
        outbox: Outbox,
        unsubscribe_links: UnsubscribeLinks,
        settings: NotificationSettings,
        registry: CollectorRegistry,
    ) -> None:
        self._store = store
        self._projections = projections
        self._renderer = renderer
        self._channel = channel
        self._outbox = outbox
        self._unsubscribe_links = unsubscribe_links
        self._settings = settings
        self._invitation_pace = AsyncLimiter(settings.invitation_rate_per_s, time_period=1.0)
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
        context = message["context"]
        recipient = await self._recipient(message)
        event = None
        if message["kind"] not in KINDS_WITHOUT_EVENT:
            event = await self._projections.event(context.get("event_id", ""))
        if recipient is None or (event is None and message["kind"] not in KINDS_WITHOUT_EVENT):
            await self._wait_for_context(message, "recipient" if recipient is None else "event")
            return True
        now = datetime.now(UTC)
        if message["kind"] == REMINDER and event is not None and event["starts_at"] <= now:
            await self._drop(message, "the event has started")
            return True
        if message["kind"] in OPTIONAL_KINDS:
            if recipient.get("unsubscribed_at") is not None:
                await self._drop(message, "the recipient unsubscribed from invitations")
                return True
            allowed = outside_quiet_hours(now, recipient.get("timezone") or "Europe/Moscow")
            if allowed > now:
                await self._store.postpone(message, allowed, "quiet hours in the recipient's zone")
                return True
            await self._invitation_pace.acquire()
        outgoing = self._compose(message, recipient, event)
        try:
            await self._channel.send(outgoing)
        except DeliveryError as error:
            await self._record_failure(message, str(error), permanent=error.permanent)
            return True
        await self._record_sent(message)
        return True

    async def _recipient(self, message: Document) -> dict[str, Any] | None:
        recipient = await self._projections.recipient(message["person_id"])
        context = message["context"]
        if recipient is None and context.get("email"):
            # A sign-in link names its address itself, for someone not yet in the projection.
            return {
                "full_name": "",
                "email": context["email"],
                "locale": context.get("locale", "ru"),
                "timezone": "Europe/Moscow",
            }
        return recipient

    def _compose(
        self, message: Document, recipient: dict[str, Any], event: dict[str, Any] | None
    ) -> OutgoingMessage:
        locale = recipient.get("locale") or "ru"
        zone = recipient.get("timezone") or "Europe/Moscow"
        context = message["context"]
        values: dict[str, Any] = {"recipient": recipient}
        if event is not None:
            values["event"] = event_context(event, locale=locale, recipient_zone=zone)
        values["reason"] = context.get("reason")
        for field in ("link", "accept_url"):
            values[field] = context.get(field)
        for source, target in (
            ("offer_expires_at", "offer_expires"),
            ("link_expires_at", "link_expires"),
        ):
            if context.get(source):
                values[target] = moment(
                    datetime.fromisoformat(context[source]), locale=locale, recipient_zone=zone
                )
        headers: dict[str, str] = {}
        if message["kind"] in OPTIONAL_KINDS:
            url = self._unsubscribe_links.url(message["person_id"])
            values["unsubscribe_url"] = url
            headers["List-Unsubscribe"] = f"<{url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        rendered = self._renderer.render(message["kind"], locale, values)
        attachments: tuple[Attachment, ...] = ()
        if message["kind"] == "registration_confirmed" and event is not None:
            ics = event_ics(event, event_id=context["event_id"])
            attachments = (Attachment("event.ics", ics, "text", "calendar"),)
        return OutgoingMessage(
            message_id=message["_id"],
            to_address=recipient["email"],
            to_name=recipient.get("full_name") or "",
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            headers=headers,
            attachments=attachments,
        )

    async def _wait_for_context(self, message: Document, missing: str) -> None:
        """The trigger arrived before the person or event it names: try again shortly."""
        age = datetime.now(UTC) - message["created_at"]
        if age.total_seconds() > self._settings.wait_for_context_s:
            await self._record_failure(message, f"{missing} unknown", permanent=True)
            return
        await self._store.postpone(
            message, datetime.now(UTC) + timedelta(seconds=1), f"waiting for the {missing}"
        )

    async def _drop(self, message: Document, reason: str) -> None:
        await self._store.drop_pending({"_id": message["_id"]}, reason)
        self._outcomes.labels(message["kind"], message["channel"], "dropped").inc()

    async def _record_sent(self, message: Document) -> None:
        now = datetime.now(UTC)
        event = NotificationSent(**_facts(message), sent_at=now)
        await self._finish(message, {"status": "sent", "sent_at": now}, event, "sent")

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
                        "lease_until": EPOCH,
                        "last_error": reason,
                        "attempts": attempts,
                    }
                },
            )
            self._outcomes.labels(message["kind"], message["channel"], "retried").inc()
            log.warning("send failed (attempt %d), retrying in %.0fs: %s", attempts, delay, reason)
            return
        event = NotificationFailed(**_facts(message), reason=reason, failed_at=now)
        fields = {"status": "failed", "failed_at": now, "last_error": reason}
        await self._finish(message, fields, event, "failed")
        log.error("message %s failed: %s", message["_id"], reason)

    async def _finish(
        self, message: Document, fields: dict[str, Any], event: IntegrationEvent, outcome: str
    ) -> None:
        """Record a final outcome and its event in one write; secrets are removed with it."""
        staged = self._outbox.stage(event)
        await self._store.collection.update_one(
            {"_id": message["_id"]},
            update_with_outbox(
                {
                    "$set": {**fields, "lease_until": EPOCH},
                    "$inc": {"attempts": 1},
                    "$unset": {f"context.{field}": "" for field in SECRET_FIELDS},
                },
                staged,
            ),
        )
        self._outcomes.labels(message["kind"], message["channel"], outcome).inc()
        await self._outbox.flush(self._store.collection, message["_id"], staged)


def _facts(message: Document) -> dict[str, Any]:
    """What every notification event says of its message."""
    return {
        "message_id": message["_id"],
        "kind": message["kind"],
        "channel": message["channel"],
        "person_id": message["person_id"],
        "trigger_event_id": message["trigger"],
    }
