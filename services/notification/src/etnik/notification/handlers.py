"""What notification does with each event it consumes: keep its projections, queue messages."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from etnik.common.consumer import EventConsumer
from etnik.common.contracts.registration import EventFormat
from etnik.common.erasure import EraseFunction
from etnik.common.events import CloudEvent
from etnik.notification.domain import (
    CERTIFICATE_ISSUED,
    INVITATION,
    REMINDER,
    SURVEY_INVITATION,
    reminder_times,
)
from etnik.notification.inbound import (
    CertificateIssued,
    EventChanged,
    EventCreated,
    InvitationIssued,
    PersonErased,
    PersonRegistered,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationOffered,
    RegistrationPendingApproval,
    RegistrationRejected,
    RegistrationWaitlisted,
    SignInLinkRequested,
    SurveyRequested,
)
from etnik.notification.messages import MessageStore
from etnik.notification.projections import Projections, organisation_recipient

log = logging.getLogger(__name__)

RegistrationEvent = (
    RegistrationConfirmed
    | RegistrationWaitlisted
    | RegistrationPendingApproval
    | RegistrationRejected
    | RegistrationCancelled
    | RegistrationOffered
)

# The message each registration event sends, and the status it leaves the registration in.
_REGISTRATION_MESSAGES: dict[type[Any], tuple[str, str]] = {
    RegistrationConfirmed: ("registration_confirmed", "confirmed"),
    RegistrationWaitlisted: ("registration_waitlisted", "waitlisted"),
    RegistrationPendingApproval: ("registration_received", "pending_approval"),
    RegistrationRejected: ("registration_rejected", "rejected"),
    RegistrationCancelled: ("registration_cancelled", "cancelled"),
    RegistrationOffered: ("registration_offered", "offered"),
}


class KnownFacts(Protocol):
    """What the handlers keep of people, events and registrations (Projections in MongoDB)."""

    async def upsert_recipient(self, person: PersonRegistered) -> None: ...

    async def upsert_event(self, snapshot: dict[str, Any]) -> dict[str, Any] | None: ...

    async def record_registration(
        self, registration_id: str, event_id: str, person_id: str, status: str, at: datetime
    ) -> None: ...

    async def confirmed_registrations(self, event_id: str) -> list[dict[str, Any]]: ...

    async def event(self, event_id: str) -> dict[str, Any] | None: ...


class MessageQueue(Protocol):
    """Where the handlers queue messages for the dispatcher (MessageStore in MongoDB)."""

    def known(self, what: str) -> None: ...

    async def enqueue(
        self,
        *,
        trigger: str,
        kind: str,
        person_id: str,
        context: Mapping[str, Any],
        due_at: datetime | None = None,
    ) -> bool: ...

    async def drop_reminders(
        self,
        reason: str,
        *,
        event_id: str | None = None,
        registration_id: str | None = None,
        unless_starting_at: str | None = None,
    ) -> int: ...


class Erasures(Protocol):
    """The erasure ledger (etnik.common.erasure.ErasureLedger)."""

    async def erase(self, person_id: str) -> None: ...

    async def is_erased(self, person_id: str | None) -> bool: ...


class NotificationHandlers:
    """Registers a handler for every event type notification acts on."""

    def __init__(
        self,
        projections: KnownFacts,
        messages: MessageQueue,
        reminder_offsets: list[timedelta],
        erasures: Erasures,
    ) -> None:
        self._projections = projections
        self._messages = messages
        self._reminder_offsets = reminder_offsets
        self._erasures = erasures

    def register(self, consumer: EventConsumer) -> None:
        """Attach the handlers to a consumer."""
        consumer.on(PersonRegistered)(self.on_person)
        consumer.on(PersonErased)(self.on_person_erased)
        consumer.on(EventCreated)(self.on_event)
        consumer.on(EventChanged)(self.on_event)
        for contract in _REGISTRATION_MESSAGES:
            consumer.on(contract)(self.on_registration)
        consumer.on(SignInLinkRequested)(self.on_sign_in_link)
        consumer.on(InvitationIssued)(self.on_invitation)
        consumer.on(CertificateIssued)(self.on_certificate)
        consumer.on(SurveyRequested)(self.on_survey_requested)

    async def on_person(self, envelope: CloudEvent, person: PersonRegistered) -> None:
        """Keep the recipient's contact details; messages waiting for them go out now."""
        if await self._erasures.is_erased(person.person_id):
            log.info("person %s was erased: their late record is not kept", person.person_id)
            return
        await self._projections.upsert_recipient(person)
        self._messages.known(f"person:{person.person_id}")

    async def on_person_erased(self, envelope: CloudEvent, erased: PersonErased) -> None:
        """Forget the person's contact details and send them nothing more (recorded first,
        retried until done: see etnik.common.erasure and `erase_person`)."""
        await self._erasures.erase(erased.person_id)

    async def on_event(self, envelope: CloudEvent, event: EventCreated | EventChanged) -> None:
        """Keep the event; when it moves, gets a new online link or is cancelled, tell its
        participants (the link itself is read from registration when the message is sent)."""
        snapshot = event.model_dump()
        previous = await self._projections.upsert_event(snapshot)
        self._messages.known(f"event:{event.event_id}")
        if event.status == "cancelled":
            if previous is not None and previous.get("status") != "cancelled":
                await self._messages.drop_reminders(
                    "the event was cancelled", event_id=event.event_id
                )
                await self._tell_participants(envelope, event.event_id, "event_cancelled")
            return
        moved = previous is not None and not (
            _same_moment(previous.get("starts_at"), event.starts_at)
            and _same_moment(previous.get("ends_at"), event.ends_at)
        )
        # Registrations may have arrived before their event: their reminders start now.
        if previous is None or moved:
            for registration in await self._projections.confirmed_registrations(event.event_id):
                await self._schedule_reminders(
                    registration["_id"], event.event_id, registration["person_id"]
                )
        link_changed = link_changed_for_participants(event)
        if moved or link_changed:
            await self._tell_participants(
                envelope,
                event.event_id,
                "event_changed",
                {"moved": moved, "link_changed": link_changed},
            )

    async def on_registration(self, envelope: CloudEvent, registration: RegistrationEvent) -> None:
        """Tell the person where their registration stands, and keep its reminders right."""
        kind, status = _REGISTRATION_MESSAGES[type(registration)]
        await self._projections.record_registration(
            registration.registration_id,
            registration.event_id,
            registration.person_id,
            status,
            envelope.time,
        )
        context: dict[str, Any] = {
            "event_id": registration.event_id,
            "registration_id": registration.registration_id,
        }
        if isinstance(registration, RegistrationRejected | RegistrationCancelled):
            context["reason"] = registration.reason
        if isinstance(registration, RegistrationOffered):
            context["offer_expires_at"] = registration.offer_expires_at.isoformat()
            context["accept_url"] = registration.accept_url
        await self._messages.enqueue(
            trigger=envelope.id, kind=kind, person_id=registration.person_id, context=context
        )
        if status == "confirmed":
            await self._schedule_reminders(
                registration.registration_id, registration.event_id, registration.person_id
            )
        elif status in {"cancelled", "rejected"}:
            await self._messages.drop_reminders(
                f"the registration was {status}", registration_id=registration.registration_id
            )

    async def on_sign_in_link(self, envelope: CloudEvent, request: SignInLinkRequested) -> None:
        """Send the one-time sign-in link to the address that asked for it."""
        await self._messages.enqueue(
            trigger=envelope.id,
            kind="sign_in_link",
            person_id=request.person_id,
            context={
                "email": request.email,
                "locale": request.locale,
                "link": request.link,
                "link_expires_at": request.expires_at.isoformat(),
            },
        )

    async def on_invitation(self, envelope: CloudEvent, invitation: InvitationIssued) -> None:
        """Queue an invitation to a person, or to an organisation's contact address; quiet
        hours and the campaign's pace apply when sending."""
        context: dict[str, Any] = {
            "event_id": invitation.event_id,
            "campaign_id": invitation.campaign_id,
            "link": invitation.link,
            "link_expires_at": invitation.expires_at.isoformat(),
        }
        if invitation.person_id is not None:
            recipient_id = invitation.person_id
        elif invitation.organisation_id is not None and invitation.email is not None:
            recipient_id = organisation_recipient(invitation.organisation_id)
            context |= {"email": invitation.email, "timezone": invitation.timezone}
        else:
            log.info("invitation %s names no address: not sent", invitation.invitation_id)
            return
        await self._messages.enqueue(
            trigger=envelope.id, kind=INVITATION, person_id=recipient_id, context=context
        )

    async def on_certificate(self, envelope: CloudEvent, certificate: CertificateIssued) -> None:
        """Tell a participant their certificate is ready; the download link, a secret, is read
        from registration when the message is sent."""
        await self._messages.enqueue(
            trigger=envelope.id,
            kind=CERTIFICATE_ISSUED,
            person_id=certificate.person_id,
            context={
                "event_id": certificate.event_id,
                "registration_id": certificate.registration_id,
            },
        )

    async def on_survey_requested(self, envelope: CloudEvent, request: SurveyRequested) -> None:
        """Ask a participant who attended for feedback; the survey link, a secret, is read
        from registration when the message is sent."""
        await self._messages.enqueue(
            trigger=envelope.id,
            kind=SURVEY_INVITATION,
            person_id=request.person_id,
            context={"event_id": request.event_id, "registration_id": request.registration_id},
        )

    async def _schedule_reminders(
        self, registration_id: str, event_id: str, person_id: str
    ) -> None:
        """Reminders at each offset before the event's current start; others are dropped."""
        event = await self._projections.event(event_id)
        if event is None:
            return  # scheduled when the event arrives (on_event reschedules)
        starts_at: datetime = event["starts_at"]
        await self._messages.drop_reminders(
            "the event moved",
            registration_id=registration_id,
            unless_starting_at=starts_at.isoformat(),
        )
        for offset, due_at in reminder_times(starts_at, self._reminder_offsets, datetime.now(UTC)):
            await self._messages.enqueue(
                trigger=f"reminder:{registration_id}:{starts_at.isoformat()}:{offset}",
                kind=REMINDER,
                person_id=person_id,
                context={
                    "event_id": event_id,
                    "registration_id": registration_id,
                    "starts_at": starts_at.isoformat(),
                },
                due_at=due_at,
            )

    async def _tell_participants(
        self,
        envelope: CloudEvent,
        event_id: str,
        kind: str,
        what: dict[str, Any] | None = None,
    ) -> None:
        for registration in await self._projections.confirmed_registrations(event_id):
            await self._messages.enqueue(
                trigger=envelope.id,
                kind=kind,
                person_id=registration["person_id"],
                context={
                    "event_id": event_id,
                    "registration_id": registration["_id"],
                    **(what or {}),
                },
            )


def person_eraser(projections: Projections, messages: MessageStore) -> EraseFunction:
    """What erasing a person means here: no recipient record, and no address, name or free
    text in any of their messages (the messages stay, so the delivery log still counts)."""

    async def erase_person(person_id: str) -> None:
        await projections.erase_recipient(person_id)
        await messages.forget_person(person_id)

    return erase_person


def link_changed_for_participants(event: EventCreated | EventChanged) -> bool:
    """Whether an operator changed the online link of an event people attend online."""
    return (
        isinstance(event, EventChanged)
        and "online_link" in event.changes
        and event.format in {EventFormat.ONLINE, EventFormat.HYBRID}
        and event.status not in {"cancelled", "completed"}
    )


def _same_moment(stored: datetime | None, given: datetime) -> bool:
    """MongoDB keeps milliseconds: compare at that precision."""
    return stored is not None and abs(stored - given) < timedelta(milliseconds=1)
