"""In-memory stand-ins for the stores behind the notification handlers' protocols.

The protocols are in etnik.notification.handlers; the MongoDB stores behind them are tested
on the real stack in ../integration.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from etnik.common.events import CloudEvent, EventReader
from etnik.notification.domain import REMINDER
from etnik.notification.handlers import NotificationHandlers
from etnik.notification.inbound import (
    EventChanged,
    EventCreated,
    InvitationIssued,
    PersonRegistered,
    RegistrationCancelled,
    RegistrationConfirmed,
)
from etnik.notification.messages import message_key

# Reminders a day and an hour before the start.
REMINDER_OFFSETS = [timedelta(hours=24), timedelta(hours=1)]


@dataclass
class FakeFacts:
    """People, events and registrations as the Projections keep them."""

    recipients: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    registrations: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def upsert_recipient(self, person: PersonRegistered) -> None:
        self.recipients[person.person_id] = person.model_dump()

    async def upsert_event(self, snapshot: dict[str, Any]) -> dict[str, Any] | None:
        previous = self.events.get(snapshot["event_id"])
        self.events[snapshot["event_id"]] = {"_id": snapshot["event_id"], **snapshot}
        return previous

    async def record_registration(
        self, registration_id: str, event_id: str, person_id: str, status: str, at: datetime
    ) -> None:
        known = self.registrations.get(registration_id)
        if known is not None and known["at"] > at:
            return  # an older event changes nothing
        self.registrations[registration_id] = {
            "_id": registration_id,
            "event_id": event_id,
            "person_id": person_id,
            "status": status,
            "at": at,
        }

    async def confirmed_registrations(self, event_id: str) -> list[dict[str, Any]]:
        return [
            r
            for r in self.registrations.values()
            if r["event_id"] == event_id and r["status"] == "confirmed"
        ]

    async def event(self, event_id: str) -> dict[str, Any] | None:
        return self.events.get(event_id)


@dataclass
class FakeQueue:
    """Queued messages by id, with the store's idempotency key and its reminder drops."""

    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    known_facts: list[str] = field(default_factory=list)

    def known(self, what: str) -> None:
        self.known_facts.append(what)

    async def enqueue(
        self,
        *,
        trigger: str,
        kind: str,
        person_id: str,
        context: Mapping[str, Any],
        due_at: datetime | None = None,
    ) -> bool:
        key = message_key(trigger, kind, person_id)
        if key in self.messages:
            return False
        self.messages[key] = {
            "kind": kind,
            "person_id": person_id,
            "context": dict(context),
            "due_at": due_at or datetime.now(UTC),
            "status": "pending",
        }
        return True

    async def drop_reminders(
        self,
        reason: str,
        *,
        event_id: str | None = None,
        registration_id: str | None = None,
        unless_starting_at: str | None = None,
    ) -> int:
        dropped = 0
        for message in self.messages.values():
            context = message["context"]
            if (
                message["kind"] == REMINDER
                and message["status"] == "pending"
                and event_id in (None, context.get("event_id"))
                and registration_id in (None, context.get("registration_id"))
                and (unless_starting_at is None or context.get("starts_at") != unless_starting_at)
            ):
                message["status"] = "dropped"
                message["reason"] = reason
                dropped += 1
        return dropped

    def pending(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Pending messages, of one kind if given."""
        return [
            m
            for m in self.messages.values()
            if m["status"] == "pending" and kind in (None, m["kind"])
        ]


@dataclass
class FakeErasures:
    """The erasure ledger: who was erased."""

    erased: set[str] = field(default_factory=set)

    async def erase(self, person_id: str) -> None:
        self.erased.add(person_id)

    async def is_erased(self, person_id: str | None) -> bool:
        return person_id in self.erased


class Handled:
    """The handlers over fresh fakes, fed one event at a time as the consumer would."""

    def __init__(self) -> None:
        self.facts = FakeFacts()
        self.queue = FakeQueue()
        self.erasures = FakeErasures()
        self.offsets = REMINDER_OFFSETS
        self.handlers = NotificationHandlers(self.facts, self.queue, self.offsets, self.erasures)

    async def deliver(self, event: EventReader, *, envelope_id: str | None = None) -> CloudEvent:
        """Hand an event to its handler in a new envelope (or a redelivered one)."""
        envelope = CloudEvent(
            id=envelope_id or str(uuid.uuid4()),
            source="/etnik/registration",
            type=event.event_type,
            time=datetime.now(UTC),
            data=event.model_dump(mode="json"),
        )
        handler = {
            PersonRegistered: self.handlers.on_person,
            EventCreated: self.handlers.on_event,
            EventChanged: self.handlers.on_event,
            RegistrationConfirmed: self.handlers.on_registration,
            RegistrationCancelled: self.handlers.on_registration,
            InvitationIssued: self.handlers.on_invitation,
        }[type(event)]
        await handler(envelope, event)  # type: ignore[operator]
        return envelope


@pytest.fixture
def handled() -> Handled:
    """The handlers over fresh in-memory stores."""
    return Handled()
